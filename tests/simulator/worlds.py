"""A small world beyond the seed: every resource kind, shared galleries, an existing version, other subs."""

from __future__ import annotations

from typing import Any

OTHER_SUB = "11111111-1111-1111-1111-111111111111"
MAIN_SUB = "22222222-2222-2222-2222-222222222222"
MAIN_RG = f"/subscriptions/{MAIN_SUB}/resourceGroups/Build-RG/providers/Microsoft.Compute"
MAIN_DES = f"{MAIN_RG}/diskEncryptionSets/des-eastus"
OTHER_RG = f"/subscriptions/{OTHER_SUB}/resourceGroups/other-rg/providers/Microsoft.Compute"


def rich_world() -> dict[str, Any]:
    return {
        "subscriptions": [
            {
                "subscriptionId": MAIN_SUB,
                "features": {"Microsoft.Compute/SIGEncryption": "Registered"},
                "providers": {"Microsoft.Compute": "Registered", "Microsoft.Network": "Registered"},
                "resourceGroups": [
                    {
                        "name": "Build-RG",
                        "location": "eastus",
                        "galleries": [
                            {
                                "name": "PrivateGallery",
                                "location": "eastus",
                                "images": [
                                    {
                                        "name": "ubuntu",
                                        "osType": "Linux",
                                        "hyperVGeneration": "V2",
                                        "features": [{"name": "SecurityType", "value": "TrustedLaunch"}],
                                        "versions": [
                                            {
                                                "name": "0.9.0",
                                                "publishingProfile": {
                                                    "targetRegions": [
                                                        {
                                                            "name": "eastus",
                                                            "encryption": {
                                                                "osDiskImage": {"diskEncryptionSetId": MAIN_DES}
                                                            },
                                                        },
                                                        {"name": "westus"},
                                                    ]
                                                },
                                                "storageProfile": {"osDiskImage": {"sizeInGB": 30}},
                                                "replicationStatus": {"westus": "Failed"},
                                            }
                                        ],
                                    }
                                ],
                            },
                            {
                                "name": "SharedGallery",
                                "location": "eastus",
                                "sharing": "groups",
                                "sharedWith": [OTHER_SUB],
                                "images": [{"name": "ubuntu", "osType": "Linux"}],
                            },
                            {
                                "name": "CommunityGallery",
                                "location": "eastus",
                                "sharing": "community",
                                "images": [{"name": "ubuntu", "osType": "Linux"}],
                            },
                        ],
                        "virtualMachines": [
                            {
                                "name": "builder-vm",
                                "location": "eastus",
                                "osType": "Linux",
                                "dataDisks": [{"lun": 0}, {"lun": 3}],
                                "diskEncryptionSet": "des-eastus",
                            }
                        ],
                        "disks": [{"name": "os-disk", "location": "eastus", "osType": "Linux", "sizeGB": 64}],
                        "snapshots": [
                            {"name": "os-snap", "location": "eastus", "osType": "Linux"},
                            {
                                "name": "encrypted-snap",
                                "location": "eastus",
                                "osType": "Linux",
                                "diskEncryptionSet": "des-eastus",
                            },
                        ],
                        "diskEncryptionSets": [
                            {
                                "name": "des-eastus",
                                "location": "eastus",
                                "encryptionType": "EncryptionAtRestWithPlatformAndCustomerKeys",
                                "activeKey": {"keyUrl": "https://kv.vault.azure.net/keys/k/1"},
                                "lastKeyRotationTimestamp": "2024-05-01T10:00:00+00:00",
                                "autoKeyRotationError": {
                                    "code": "KeyVaultAccessForbidden",
                                    "message": "The DES identity lost access to the key.",
                                },
                            },
                            {"name": "des-westus", "location": "westus"},
                        ],
                    }
                ],
            },
            {
                "subscriptionId": OTHER_SUB,
                "providers": {"Microsoft.Compute": "NotRegistered"},
                "resourceGroups": [
                    {
                        "name": "other-rg",
                        "location": "eastus",
                        "snapshots": [
                            {
                                "name": "foreign-encrypted",
                                "location": "eastus",
                                "osType": "Linux",
                                "diskEncryptionSet": "foreign-des",
                            },
                            {"name": "foreign-plain", "location": "eastus", "osType": "Linux"},
                        ],
                        "diskEncryptionSets": [{"name": "foreign-des", "location": "eastus"}],
                        "galleries": [{"name": "g", "location": "eastus", "images": [{"name": "i"}]}],
                    }
                ],
            },
        ]
    }
