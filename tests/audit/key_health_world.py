"""A world of 50 published versions over 10 key vaults, with a key problem seeded in eight of the vaults.

Version ``1.0.<n>`` encrypts its OS disk in westus with ``des-<n % 10>``, whose key is ``cmk`` in vault
``kv-<n % 10>``: each seeded problem shows in five versions. ``key_health_world(broken=False)`` is the
same world with every chain healthy.
"""

from __future__ import annotations

from typing import Any

SUB = "dddddddd-dddd-dddd-dddd-dddddddddddd"
RG = "kh"
VERSION = "fedcba9876543210fedcba9876543210"
GALLERY = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/galleries/fleet"
VERSIONS = 50
VAULTS = 10
# vault index -> (the audit code its versions get, how the vault or set is broken)
SEEDED: dict[int, tuple[str, dict[str, Any]]] = {
    1: ("KeyDisabled", {"version": {"enabled": False}}),
    2: ("KeyExpired", {"version": {"expiresInDays": -3}}),
    3: ("KeyExpiringSoon", {"version": {"expiresInDays": 12}}),
    4: ("KeyAccessMissing", {"vault": {"accessPolicies": []}}),
    5: ("KeyAccessMissing", {"vault": {"enableRbacAuthorization": True}}),
    6: ("KeyNotFound", {"vault": {"keys": [{"name": "cmk", "versions": [{"version": "0" * 32}]}]}}),
    7: ("KeyChainUnreadable", {"vault": {"appCanRead": False}}),
    8: ("DiskEncryptionSetKeyRotationFailed", {"des": {"autoKeyRotationError": {
        "code": "KeyVaultAccessForbidden", "message": "The disk encryption set cannot access key vault."}}}),
}


def version_id(n: int) -> str:
    return f"{GALLERY}/images/linux/versions/1.0.{n}"


def des_id(index: int) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/diskEncryptionSets/des-{index}"


def expected() -> set[tuple[str, str]]:
    """(version ID, code) of every finding the seeded problems must give."""
    return {(version_id(n), SEEDED[n % VAULTS][0]) for n in range(VERSIONS) if n % VAULTS in SEEDED}


def key_health_world(*, broken: bool = True) -> dict[str, Any]:
    vaults, sets = [], []
    for index in range(VAULTS):
        how = SEEDED[index][1] if broken and index in SEEDED else {}
        version = {"version": VERSION, "expiresInDays": 365, **how.get("version", {})}
        vault = {"name": f"kv-{index}", "location": "westus",
                 "accessPolicies": [{"des": f"des-{index}", "keys": ["get", "wrapKey", "unwrapKey"]}],
                 "keys": [{"name": "cmk", "versions": [version]}], **how.get("vault", {})}
        vaults.append(vault)
        sets.append({"name": f"des-{index}", "location": "westus",
                     "activeKey": {"vault": f"kv-{index}", "key": "cmk", "version": VERSION}, **how.get("des", {})})
    versions = [{"name": f"1.0.{n}", "location": "westus",
                 "publishingProfile": {"targetRegions": [
                     {"name": "westus", "encryption": {"osDiskImage": {"diskEncryptionSetId": des_id(n % VAULTS)}}}]},
                 "storageProfile": {"osDiskImage": {"sizeInGB": 30}}} for n in range(VERSIONS)]
    return {
        "description": "Key health: 50 published versions over 10 key vaults.",
        "subscriptions": [{
            "subscriptionId": SUB,
            "providers": {"Microsoft.Compute": "Registered"},
            "resourceGroups": [{"name": RG, "location": "westus", "keyVaults": vaults, "diskEncryptionSets": sets,
                                "galleries": [{"name": "fleet", "images": [{"name": "linux", "versions": versions}]}]}],
        }],
    }
