"""A compliant build (request + facts as ARM would report them) that each rule test breaks in one place.

The request publishes a managed image with data disks at LUN 0 and 1 to westus (home) and eastus2,
encrypting the OS disk and both data disks in each region with a DES located there; an earlier version
of the definition is encrypted the same way. Facts are literal REST JSON dicts, as ``as_dict()`` gives.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from core.policy.facts import Facts
from core.policy.keychain import KeyChain, parse_key_url
from core.request import BuildRequest, DataDiskEncryption, ImageSource, RegionTarget

SUB = "00000000-0000-0000-0000-000000000000"
OTHER_SUB = "99999999-8888-7777-6666-555555555555"
RG = "rg1"
PREFIX = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute"
IMAGE_ID = f"{PREFIX}/images/golden"
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
REGIONS = ("westus", "eastus2")
CMK = "EncryptionAtRestWithCustomerKey"
DOUBLE = "EncryptionAtRestWithPlatformAndCustomerKeys"


def des_id(region: str, disk: str, sub: str = SUB) -> str:
    """The DES for ``disk`` ("os", "lun0", ...) in ``region``, named after both."""
    return f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Compute/diskEncryptionSets/{region}-{disk}"


def region_target(name: str, *, os_disk: bool = True, luns: tuple[int, ...] = (0, 1), **extra: Any) -> RegionTarget:
    return RegionTarget(
        name=name,
        replica_count=extra.pop("replica_count", 1),
        storage_account_type=extra.pop("storage_account_type", "Standard_LRS"),
        os_disk_encryption_set_id=des_id(name, "os") if os_disk else None,
        data_disk_encryption=tuple(DataDiskEncryption(lun, des_id(name, f"lun{lun}")) for lun in luns),
        **extra,
    )


def request(**changes: Any) -> BuildRequest:
    base = BuildRequest(
        subscription_id=SUB,
        resource_group=RG,
        gallery_name="gallery1",
        image_definition="linux",
        version="2.0.0",
        location="westus",
        source=ImageSource("managedImage", IMAGE_ID),
        target_regions=tuple(region_target(name) for name in REGIONS),
        replica_count=1,
        storage_account_type="Standard_LRS",
        end_of_life_date="2031-12-01T12:59:59Z",
        encryption_type=CMK,
    )
    return replace(base, **changes)


def unencrypted(built: BuildRequest) -> BuildRequest:
    return replace(built, encryption_type=None, target_regions=tuple(
        replace(r, os_disk_encryption_set_id=None, data_disk_encryption=()) for r in built.target_regions))


def des_fact(des: str, location: str, encryption_type: str = CMK) -> dict[str, Any]:
    name = des.rsplit("/", 1)[1]
    return {
        "id": des, "name": name, "type": "Microsoft.Compute/diskEncryptionSets", "location": location,
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "encryptionType": encryption_type,
            "activeKey": {"keyUrl": f"https://kv-{location}.vault.azure.net/keys/{name}/0123456789abcdef"},
            "provisioningState": "Succeeded",
        },
    }


def gallery_fact(permissions: str = "Private", **sharing: Any) -> dict[str, Any]:
    return {"id": f"{PREFIX}/galleries/gallery1", "name": "gallery1", "type": "Microsoft.Compute/galleries",
            "location": "westus", "properties": {"sharingProfile": {"permissions": permissions, **sharing},
                                                 "provisioningState": "Succeeded"}}


def definition_fact(**properties: Any) -> dict[str, Any]:
    return {"id": f"{PREFIX}/galleries/gallery1/images/linux", "name": "linux",
            "type": "Microsoft.Compute/galleries/images", "location": "westus",
            "properties": {"osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V1",
                           "identifier": {"publisher": "p", "offer": "o", "sku": "s"}, **properties}}


def image_fact(location: str = "westus", luns: tuple[int, ...] = (0, 1), des: str | None = None,
               os_type: str = "Linux", generation: str = "V1", image_id: str = IMAGE_ID) -> dict[str, Any]:
    encryption = {"diskEncryptionSet": {"id": des}} if des else {}
    return {
        "id": image_id, "name": image_id.rsplit("/", 1)[1], "type": "Microsoft.Compute/images",
        "location": location,
        "properties": {
            "storageProfile": {
                "osDisk": {"osType": os_type, "osState": "Generalized", "diskSizeGB": 30, **encryption},
                "dataDisks": [{"lun": lun, "diskSizeGB": 32, **encryption} for lun in luns],
            },
            "hyperVGeneration": generation,
            "provisioningState": "Succeeded",
        },
    }


def snapshot_fact(snapshot_id: str, location: str = "westus", des: str | None = None) -> dict[str, Any]:
    encryption = {"type": CMK, "diskEncryptionSetId": des} if des else {"type": "EncryptionAtRestWithPlatformKey"}
    return {"id": snapshot_id, "name": snapshot_id.rsplit("/", 1)[1], "type": "Microsoft.Compute/snapshots",
            "location": location, "properties": {"diskSizeGB": 30, "encryption": encryption}}


def version_fact(name: str, regions: tuple[str, ...] = REGIONS, *, encrypted: bool = True, luns: tuple[int, ...] = (0, 1),
                 state: str = "Succeeded") -> dict[str, Any]:
    targets = []
    for region in regions:
        target: dict[str, Any] = {"name": region, "regionalReplicaCount": 1, "storageAccountType": "Standard_LRS"}
        if encrypted:
            target["encryption"] = {
                "osDiskImage": {"diskEncryptionSetId": des_id(region, "os")},
                "dataDiskImages": [{"lun": lun, "diskEncryptionSetId": des_id(region, f"lun{lun}")} for lun in luns],
            }
        targets.append(target)
    return {
        "id": f"{PREFIX}/galleries/gallery1/images/linux/versions/{name}", "name": name,
        "type": "Microsoft.Compute/galleries/images/versions", "location": "westus",
        "properties": {
            "publishingProfile": {"targetRegions": targets},
            "storageProfile": {"osDiskImage": {"hostCaching": "ReadWrite"},
                               "dataDiskImages": [{"lun": lun, "hostCaching": "None"} for lun in luns]},
            "provisioningState": state,
        },
    }


def all_des(built: BuildRequest) -> dict[str, dict[str, Any] | None]:
    """A DES fact, located where its name says, for every DES the request names."""
    return {d.lower(): des_fact(d, d.rsplit("/", 1)[1].split("-")[0]) for d in built.disk_encryption_set_ids()}


def facts(built: BuildRequest | None = None, **changes: Any) -> Facts:
    base = Facts(
        gallery=gallery_fact(),
        image_definition=definition_fact(),
        source=image_fact(),
        disk_encryption_sets=all_des(built or request()),
        target_version=None,
        existing_versions=(version_fact("1.0.0"),),
        observed_at=NOW,
    )
    return replace(base, **changes)


def edited(fact: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``fact`` with the dotted ``path`` set to ``value`` (None deletes it)."""
    result = copy.deepcopy(fact)
    *parents, last = path.split(".")
    node = result
    for key in parents:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return result


# --- the key chain behind each DES (core.policy.keychain) ------------------------------------------------------

KEY_VERSION = "0123456789abcdef"
CRYPTO_USER_ROLE = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/" \
                   "e147488a-f6f5-4113-8e2d-b22465e65bf6"


def vault_id(location: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/kv-{location}"


def principal_of(des: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, des.lower()))


def vault_fact(location: str, principals: tuple[str, ...] = (), *, rbac: bool = False) -> dict[str, Any]:
    """A healthy vault: soft delete, purge protection, an open firewall; access policies for ``principals``."""
    policies = [{"tenantId": SUB, "objectId": p, "permissions": {"keys": ["get", "wrapKey", "unwrapKey"]}}
                for p in principals]
    return {"id": vault_id(location), "name": f"kv-{location}", "type": "Microsoft.KeyVault/vaults",
            "location": location,
            "properties": {"tenantId": SUB, "sku": {"family": "A", "name": "premium"}, "accessPolicies": policies,
                           "enableSoftDelete": True, "enablePurgeProtection": True, "enableRbacAuthorization": rbac,
                           "networkAcls": {"defaultAction": "Allow", "bypass": "AzureServices"}}}


def key_version_fact(location: str, key: str, **attributes: Any) -> dict[str, Any]:
    """A healthy RSA 3072 key version that permits wrapKey and unwrapKey (``attributes`` override)."""
    return {"id": f"{vault_id(location)}/keys/{key}/versions/{KEY_VERSION}", "name": KEY_VERSION,
            "type": "Microsoft.KeyVault/vaults/keys/versions", "location": location,
            "properties": {"attributes": {"enabled": True, "created": 1700000000, **attributes}, "kty": "RSA",
                           "keySize": 3072, "keyOps": ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
                           "keyUriWithVersion": f"https://kv-{location}.vault.azure.net/keys/{key}/{KEY_VERSION}"}}


def keyed_des(des: dict[str, Any]) -> dict[str, Any]:
    """The DES fact with its system-assigned principal and its source vault, as ARM shows them."""
    result = copy.deepcopy(des)
    result["identity"]["principalId"] = principal_of(des["id"])
    result["properties"]["activeKey"]["sourceVault"] = {"id": vault_id(des["location"])}
    return result


def key_chain(des: dict[str, Any]) -> KeyChain:
    """The healthy chain of a ``keyed_des``: its vault grants its principal an access policy."""
    key = parse_key_url(des["properties"]["activeKey"]["keyUrl"])
    assert key is not None
    return KeyChain(key=key, vault_id=vault_id(des["location"]),
                    vault=vault_fact(des["location"], (principal_of(des["id"]),)),
                    key_version=key_version_fact(des["location"], key.name))


def keyed_facts(built: BuildRequest | None = None, **changes: Any) -> Facts:
    """``facts`` with each DES's key chain read and healthy."""
    sets = {key: keyed_des(des) for key, des in all_des(built or request()).items() if des is not None}
    base = facts(built, disk_encryption_sets=sets, key_chains={key: key_chain(des) for key, des in sets.items()})
    return replace(base, **changes)


def with_chain(gathered: Facts, des: str, **changes: Any) -> Facts:
    """``gathered`` with one DES's key chain changed."""
    chains = dict(gathered.key_chains)
    chains[des.lower()] = replace(chains[des.lower()], **changes)
    return replace(gathered, key_chains=chains)
