"""The simulator world the live policy tests run against: the seed's resources plus a varied subscription.

Subscription ``SUB_A`` holds private, direct-shared and community galleries (each with a ``linux``
definition), disk encryption sets in westus, eastus2 and eastus, and sources of every kind, some in the
wrong region and some CMK-encrypted; ``SUB_B`` holds a DES and managed images (one encrypted) that
``SUB_A``'s builds may wrongly refer to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
SEED_WORLD = ROOT / "simulator" / "worlds" / "seed.json"
SUB_A = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
SUB_B = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
RG_A = "prop-rg"
RG_B = "other-rg"
A = f"/subscriptions/{SUB_A}/resourceGroups/{RG_A}/providers/Microsoft.Compute"
B = f"/subscriptions/{SUB_B}/resourceGroups/{RG_B}/providers/Microsoft.Compute"

# DES names in SUB_A by the region they are located in.
DES_BY_REGION = {"westus": ("des-westus-a", "des-westus-b"), "eastus2": ("des-eastus2-a", "des-eastus2-b"),
                 "eastus": ("des-eastus-a",)}
WRONG_DES = (f"{A}/diskEncryptionSets/des-missing", f"{B}/diskEncryptionSets/des-westus-other")
ALL_DES = tuple(f"{A}/diskEncryptionSets/{name}" for names in DES_BY_REGION.values() for name in names) + WRONG_DES


def des_a(name: str) -> str:
    return f"{A}/diskEncryptionSets/{name}"


def _des(name: str, location: str) -> dict[str, Any]:
    return {"name": name, "location": location, "encryptionType": "EncryptionAtRestWithCustomerKey",
            "activeKey": {"keyUrl": f"https://{location}-kv.vault.azure.net/keys/{name}/0123456789abcdef"}}


def _subscription_a() -> dict[str, Any]:
    sources_definition = {
        "name": "sources",
        "osType": "Linux",
        "versions": [
            {"name": "0.1.0", "publishingProfile": {"targetRegions": [{"name": "westus"}, {"name": "eastus2"}]},
             "storageProfile": {"osDiskImage": {"sizeInGB": 30}, "dataDiskImages": [{"lun": 0, "sizeInGB": 32}]}},
            {"name": "0.2.0", "publishingProfile": {"targetRegions": [
                {"name": "westus", "encryption": {"osDiskImage": {"diskEncryptionSetId": des_a("des-westus-a")}}}]},
             "storageProfile": {"osDiskImage": {"sizeInGB": 30}}},
        ],
    }
    return {
        "subscriptionId": SUB_A,
        "features": {"Microsoft.Compute/SIGEncryption": "Registered"},
        "providers": {"Microsoft.Compute": "Registered"},
        "resourceGroups": [{
            "name": RG_A,
            "location": "westus",
            "diskEncryptionSets": [_des(name, region) for region, names in DES_BY_REGION.items() for name in names],
            "galleries": [
                {"name": "private", "sharing": "private", "images": [{"name": "linux", "osType": "Linux"},
                                                                     sources_definition]},
                {"name": "direct", "sharing": "groups", "sharedWith": [SUB_B],
                 "images": [{"name": "linux", "osType": "Linux"}]},
                {"name": "community", "sharing": "community", "images": [{"name": "linux", "osType": "Linux"}]},
            ],
            "managedImages": [
                {"name": "img-westus", "location": "westus", "dataDisks": [{"lun": 0}, {"lun": 1}]},
                {"name": "img-eastus", "location": "eastus", "dataDisks": [{"lun": 0}]},
                {"name": "img-cmk", "location": "westus", "dataDisks": [{"lun": 0}],
                 "diskEncryptionSet": "des-westus-a"},
            ],
            "virtualMachines": [{"name": "vm-westus", "location": "westus", "dataDisks": [{"lun": 0}, {"lun": 2}]}],
            "snapshots": [
                {"name": "os-westus", "location": "westus", "osType": "Linux"},
                {"name": "data-westus-0", "location": "westus"},
                {"name": "data-westus-1", "location": "westus"},
                {"name": "data-eastus", "location": "eastus"},
            ],
        }],
    }


def _subscription_b() -> dict[str, Any]:
    return {
        "subscriptionId": SUB_B,
        "providers": {"Microsoft.Compute": "Registered"},
        "resourceGroups": [{
            "name": RG_B,
            "location": "westus",
            "diskEncryptionSets": [_des("des-westus-other", "westus")],
            "managedImages": [
                {"name": "img-other", "location": "westus", "dataDisks": [{"lun": 0}]},
                {"name": "img-other-cmk", "location": "westus", "dataDisks": [{"lun": 0}],
                 "diskEncryptionSet": "des-westus-other"},
            ],
        }],
    }


def world() -> dict[str, Any]:
    """The seed world (subscription 0000...) with ``SUB_A`` and ``SUB_B`` added."""
    data = json.loads(SEED_WORLD.read_text(encoding="utf-8"))
    data["subscriptions"] += [_subscription_a(), _subscription_b()]
    return data
