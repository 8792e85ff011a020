"""Simulator worlds that hold each broken key chain, one disk encryption set per case, and their healthy twin.

Subscription ``KEYS_SUB``, resource group ``keys-rg`` (westus): gallery ``keys`` with definition ``linux``,
managed image ``base`` (no data disks), and per case a DES ``des-<case>`` whose key sits in a vault of its
own (``kv-<case>``). ``world(broken=False)`` declares the same names, every chain healthy: the same request
succeeds there. Each request encrypts the OS disk in westus with the case's set.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from devstack.azurite import PROJECT_ROOT

KEYS_SUB = "cccccccc-cccc-cccc-cccc-cccccccccccc"
RG = "keys-rg"
VERSION = "0123456789abcdef0123456789abcdef"
PREFIX = f"/subscriptions/{KEYS_SUB}/resourceGroups/{RG}/providers"


def des_id(case: str) -> str:
    return f"{PREFIX}/Microsoft.Compute/diskEncryptionSets/des-{case}"


def vault_id(case: str) -> str:
    return f"{PREFIX}/Microsoft.KeyVault/vaults/kv-{case}"


def _healthy_vault(case: str) -> dict[str, Any]:
    return {"name": f"kv-{case}", "location": "westus",
            "accessPolicies": [{"des": f"des-{case}", "keys": ["get", "wrapKey", "unwrapKey"]}],
            "keys": [{"name": "cmk", "versions": [{"version": VERSION, "expiresInDays": 400}]}]}


def _rbac(vault: dict[str, Any]) -> dict[str, Any]:
    vault = {**vault, "enableRbacAuthorization": True}
    vault.pop("accessPolicies")
    return vault


def _version(vault: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    vault = copy.deepcopy(vault)
    vault["keys"][0]["versions"][0].update(attributes)
    return vault


# case -> (rule code it breaks, or None for a warning-only case, and how its vault is broken)
BROKEN: dict[str, tuple[str, dict[str, Any]]] = {
    "disabled": ("KeyDisabled", {"version": {"enabled": False}}),
    "expired": ("KeyExpired", {"version": {"expiresInDays": -1}}),
    "notyet": ("KeyNotYetValid", {"version": {"notBeforeInDays": 2}}),
    "noops": ("KeyOperationsMissing", {"version": {"keyOps": ["encrypt", "decrypt", "wrapKey"]}}),
    "eckey": ("KeyTypeUnsupported", {"version": {"kty": "EC", "keySize": None}}),
    "small": ("KeyTypeUnsupported", {"version": {"keySize": 1024}}),
    "nopolicy": ("KeyAccessMissing", {"vault": {"accessPolicies": []}}),
    "rbacreader": ("KeyAccessMissing", {"rbac": "Key Vault Reader"}),
    "rbacnotdata": ("KeyAccessMissing", {"rbac": "Crypto but no unwrap"}),
    "firewall": ("KeyVaultFirewall", {"vault": {"networkAcls": {"defaultAction": "Deny", "bypass": "None"}}}),
    "nopurge": ("KeyVaultPurgeProtection", {"vault": {"enablePurgeProtection": False}}),
    "nokey": ("KeyNotFound", {"vault": {"keys": [{"name": "other", "versions": [{"version": VERSION}]}]}}),
}
# Cases that warn and go on: (rule code, how).
WARNED: dict[str, tuple[str, dict[str, Any]]] = {
    "expiring": ("KeyExpiringSoon", {"version": {"expiresInDays": 10}}),
    "unreadable": ("KeyChainUnreadable", {"vault": {"appCanRead": False}}),
    "hsm": ("KeyChainNotChecked", {"hsm": True}),
    "foreign": ("KeyChainNotChecked", {"federated": True}),
}
# Healthy in both worlds: an RBAC vault with the built-in role on the vault, and a wildcard role on the group.
HEALTHY = {"rbacuser": "Key Vault Crypto Service Encryption User", "rbacadmin": "Key Vault Administrator"}
CRYPTO_NO_UNWRAP = "5b1f1a9e-0000-4000-8000-00000000c0de"


def _case(case: str, how: dict[str, Any], broken: bool) -> tuple[dict[str, Any], dict[str, Any] | None, list[Any]]:
    """(the DES, its vault or None, role assignments) of one case."""
    des: dict[str, Any] = {"name": f"des-{case}", "location": "westus",
                           "activeKey": {"vault": f"kv-{case}", "key": "cmk", "version": VERSION}}
    vault: dict[str, Any] | None = _healthy_vault(case)
    assignments: list[dict[str, Any]] = []
    if not broken:
        return des, vault, assignments
    if how.get("hsm"):
        des["activeKey"] = {"keyUrl": f"https://hsm-{case}.managedhsm.azure.net/keys/cmk/{VERSION}"}
        vault = None
    if how.get("federated"):
        des["federatedClientId"] = "22222222-3333-4444-5555-666666666666"
    if "version" in how:
        vault = _version(vault, **how["version"])  # type: ignore[arg-type]
        for name, value in how["version"].items():
            if value is None:
                vault["keys"][0]["versions"][0].pop(name)
    if "vault" in how:
        vault = {**vault, **how["vault"]}  # type: ignore[dict-item]
    if "rbac" in how:
        vault = _rbac(vault)  # type: ignore[arg-type]
        assignments.append({"scope": vault_id(case), "des": des_id(case), "role": how["rbac"]})
    return des, vault, assignments


def _healthy_rbac(case: str, role: str) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    des = {"name": f"des-{case}", "location": "westus",
           "activeKey": {"vault": f"kv-{case}", "key": "cmk", "version": VERSION}}
    scope = vault_id(case) if role.endswith("User") else f"/subscriptions/{KEYS_SUB}/resourceGroups/{RG}"
    return des, _rbac(_healthy_vault(case)), [{"scope": scope, "des": des_id(case), "role": role}]


CASES = (*BROKEN, *WARNED, *HEALTHY)


def world(*, broken: bool = True) -> dict[str, Any]:
    """The seed world plus ``KEYS_SUB`` holding every case (broken, or all healthy)."""
    sets, vaults, assignments = [], [], []
    for case, (_, how) in {**BROKEN, **WARNED}.items():
        des, vault, assigned = _case(case, how, broken)
        sets.append(des)
        vaults += [vault] if vault else []
        assignments += assigned
    for case, role in HEALTHY.items():
        des, vault, assigned = _healthy_rbac(case, role)
        sets.append(des)
        vaults.append(vault)
        assignments += assigned
    data = json.loads((PROJECT_ROOT / "simulator" / "worlds" / "seed.json").read_text(encoding="utf-8"))
    data["subscriptions"].append({
        "subscriptionId": KEYS_SUB,
        "providers": {"Microsoft.Compute": "Registered"},
        "roleDefinitions": [{"name": CRYPTO_NO_UNWRAP, "roleName": "Crypto but no unwrap",
                             "permissions": [{"dataActions": ["Microsoft.KeyVault/vaults/keys/*"],
                                              "notDataActions": ["Microsoft.KeyVault/vaults/keys/unwrap/action"]}]}],
        "roleAssignments": assignments,
        "resourceGroups": [{
            "name": RG, "location": "westus",
            "keyVaults": vaults,
            "diskEncryptionSets": sets,
            "galleries": [{"name": "keys", "images": [{"name": "linux", "osType": "Linux"}]}],
            "managedImages": [{"name": "base", "location": "westus", "osType": "Linux"}],
        }],
    })
    return data


def request(case: str, version: str) -> dict[str, Any]:
    """A build of version ``version`` encrypting the OS disk in westus with the case's set."""
    return {"subscriptionId": KEYS_SUB, "resourceGroup": RG, "galleryName": "keys", "imageDefinition": "linux",
            "version": version, "location": "westus",
            "source": {"managedImage": f"{PREFIX}/Microsoft.Compute/images/base"},
            "targetRegions": "westus", "targetRegionEncryption": f"des-{case}"}
