"""The world file's key chain: key vaults with their keys and key versions, role assignments and role
definitions, as the ARM bodies the Key Vault and Authorization management planes serve.

Shapes follow the REST specs (Microsoft.KeyVault stable 2023-07-01 ``Vault``/``Key``, Microsoft.Authorization
2022-04-01 ``RoleAssignment``/``RoleDefinition``). Every DES whose key vault the world does not declare gets
a healthy one (``add_implied_vaults``): the vault its ``keyUrl`` names, in the DES's resource group, with
the key version, soft delete, purge protection and an access policy for the DES's identity, so that worlds
written before key vaults existed stay healthy.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from . import ids
from .world_reader import LoadedWorld, WorldReader, add_resource

KEYVAULT = "Microsoft.KeyVault"
AUTHORIZATION = "Microsoft.Authorization"
VAULT_DNS = {"AzureCloud": "vault.azure.net", "AzureChinaCloud": "vault.azure.cn",
             "AzureUSGovernment": "vault.usgovcloudapi.net"}
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
POLICY_KEY_PERMISSIONS = ("all", "encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "get", "list",
                          "create", "update", "import", "delete", "backup", "restore", "recover", "purge", "release",
                          "rotate", "getrotationpolicy", "setrotationpolicy")
KEY_TYPES = ("EC", "EC-HSM", "RSA", "RSA-HSM")
KEY_OPS = ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "release")
DAY = 86400

# Built-in roles every subscription has (learn.microsoft.com "Azure built-in roles", Security section).
BUILT_IN_ROLES: dict[str, dict[str, Any]] = {
    "e147488a-f6f5-4113-8e2d-b22465e65bf6": {
        "roleName": "Key Vault Crypto Service Encryption User",
        "description": "Read metadata of keys and perform wrap/unwrap operations. Only works for key vaults that "
                       "use the 'Azure role-based access control' permission model.",
        "permissions": [{"actions": ["Microsoft.EventGrid/eventSubscriptions/write",
                                     "Microsoft.EventGrid/eventSubscriptions/read",
                                     "Microsoft.EventGrid/eventSubscriptions/delete"], "notActions": [],
                         "dataActions": ["Microsoft.KeyVault/vaults/keys/read",
                                         "Microsoft.KeyVault/vaults/keys/wrap/action",
                                         "Microsoft.KeyVault/vaults/keys/unwrap/action"], "notDataActions": []}],
    },
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": {
        "roleName": "Key Vault Administrator",
        "description": "Perform all data plane operations on a key vault and all objects in it, including "
                       "certificates, keys, and secrets.",
        "permissions": [{"actions": ["Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*",
                                     "Microsoft.Resources/deployments/*",
                                     "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*",
                                     "Microsoft.KeyVault/checkNameAvailability/read",
                                     "Microsoft.KeyVault/deletedVaults/read", "Microsoft.KeyVault/locations/*/read",
                                     "Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/operations/read"],
                         "notActions": [], "dataActions": ["Microsoft.KeyVault/vaults/*"], "notDataActions": []}],
    },
    "21090545-7ca7-4776-b22c-e363652d74d2": {
        "roleName": "Key Vault Reader",
        "description": "Read metadata of key vaults and its certificates, keys, and secrets.",
        "permissions": [{"actions": ["Microsoft.Authorization/*/read", "Microsoft.KeyVault/vaults/*/read"],
                         "notActions": [],
                         "dataActions": ["Microsoft.KeyVault/vaults/*/read",
                                         "Microsoft.KeyVault/vaults/secrets/readMetadata/action"],
                         "notDataActions": []}],
    },
    "12338af0-0e69-4776-bea7-57ae8d297424": {
        "roleName": "Key Vault Crypto User",
        "description": "Perform cryptographic operations using keys.",
        "permissions": [{"actions": [], "notActions": [],
                         "dataActions": ["Microsoft.KeyVault/vaults/keys/read",
                                         "Microsoft.KeyVault/vaults/keys/update/action",
                                         "Microsoft.KeyVault/vaults/keys/backup/action",
                                         "Microsoft.KeyVault/vaults/keys/encrypt/action",
                                         "Microsoft.KeyVault/vaults/keys/decrypt/action",
                                         "Microsoft.KeyVault/vaults/keys/wrap/action",
                                         "Microsoft.KeyVault/vaults/keys/unwrap/action",
                                         "Microsoft.KeyVault/vaults/keys/sign/action",
                                         "Microsoft.KeyVault/vaults/keys/verify/action"], "notDataActions": []}],
    },
}


def vault_id(sub_id: str, rg: str, name: str) -> str:
    return f"{ids.resource_group_id(sub_id, rg)}/providers/{KEYVAULT}/vaults/{name}"


def des_principal(sub_id: str, rg: str, name: str) -> str:
    """The principal ID of a DES's system-assigned identity (stable per DES)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub_id}/{rg}/{name}"))


def role_definition_id(sub_id: str, guid: str) -> str:
    return f"/subscriptions/{sub_id}/providers/{AUTHORIZATION}/roleDefinitions/{guid}"


def _vault_body(vault_id_: str, location: str, *, rbac: bool = False, soft_delete: bool = True,
                purge_protection: bool = True, acls: dict[str, Any] | None = None,
                policies: list[dict[str, Any]] | None = None, dns: str = VAULT_DNS["AzureCloud"]) -> dict[str, Any]:
    name = vault_id_.rsplit("/", 1)[-1]
    properties: dict[str, Any] = {
        "sku": {"family": "A", "name": "premium"},
        "tenantId": TENANT_ID,
        "accessPolicies": policies or [],
        "enabledForDeployment": False,
        "enabledForDiskEncryption": True,
        "enabledForTemplateDeployment": False,
        "enableSoftDelete": soft_delete,
        "softDeleteRetentionInDays": 90,
        "enableRbacAuthorization": rbac,
        "networkAcls": acls or {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [],
                                "virtualNetworkRules": []},
        "vaultUri": f"https://{name}.{dns}/",
        "provisioningState": "Succeeded",
        "publicNetworkAccess": "Enabled",
    }
    if purge_protection:  # ARM leaves the property out unless it was enabled (it cannot be disabled)
        properties["enablePurgeProtection"] = True
    return {"id": vault_id_, "name": name, "type": f"{KEYVAULT}/vaults", "location": location, "tags": {},
            "properties": properties}


def _policy(object_id: str, keys: list[str]) -> dict[str, Any]:
    return {"tenantId": TENANT_ID, "objectId": object_id, "permissions": {"keys": keys, "secrets": [],
                                                                          "certificates": []}}


def _key_bodies(vault: dict[str, Any], key: str, version: str, *, enabled: bool = True, exp: int | None = None,
                nbf: int | None = None, kty: str = "RSA", size: int | None = 3072,
                ops: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the key, the key version) as ``Keys_Get`` and ``Keys_GetVersion`` answer them."""
    created = 1700000000
    attributes: dict[str, Any] = {"enabled": enabled, "created": created, "updated": created,
                                  "recoveryLevel": "Recoverable+Purgeable", "exportable": False}
    if exp is not None:
        attributes["exp"] = exp
    if nbf is not None:
        attributes["nbf"] = nbf
    uri = vault["properties"]["vaultUri"].rstrip("/")
    properties: dict[str, Any] = {"attributes": attributes, "kty": kty,
                                  "keyOps": ops if ops is not None else ["encrypt", "decrypt", "sign", "verify",
                                                                         "wrapKey", "unwrapKey"],
                                  "keyUri": f"{uri}/keys/{key}", "keyUriWithVersion": f"{uri}/keys/{key}/{version}"}
    if size is not None:
        properties["keySize"] = size
    key_id = f"{vault['id']}/keys/{key}"
    key_body = {"id": key_id, "name": key, "type": f"{KEYVAULT}/vaults/keys", "location": vault["location"],
                "tags": {}, "properties": properties}
    version_body = {"id": f"{key_id}/versions/{version}", "name": version, "type": f"{KEYVAULT}/vaults/keys/versions",
                    "location": vault["location"], "tags": {}, "properties": properties}
    return key_body, version_body


def _epoch(reader: WorldReader, item: dict[str, Any], name: str, days_name: str, path: str) -> int | None:
    if item.get(days_name) is not None:
        days = item[days_name]
        if not isinstance(days, int | float) or isinstance(days, bool):
            reader.fail(f"{path}.{days_name}", f"expected a number of days from now, got {days!r}")
            return None
        return int(time.time() + days * DAY)
    value = item.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        reader.fail(f"{path}.{name}", f"expected seconds since 1970-01-01 (an integer), got {value!r}")
        return None
    return value


def _principal(reader: WorldReader, item: dict[str, Any], sub_id: str, rg: str, path: str) -> str:
    """``objectId``/``principalId`` as given, or ``des``: a DES name (this resource group) or ID."""
    if item.get("des"):
        des = str(item["des"])
        parsed = ids.parse(des) if des.startswith("/") else None
        if des.startswith("/") and parsed is None:
            reader.fail(f"{path}.des", f"{des!r} is not a resource ID")
            return ""
        return des_principal(parsed.subscription_id, parsed.resource_group, parsed.name) if parsed else \
            des_principal(sub_id, rg, des)
    return reader.text(item, "objectId" if "objectId" in item else "principalId", path)


def read_key_vault(reader: WorldReader, loaded: LoadedWorld, sub_id: str, rg: str, rg_location: str,
                   vault: dict[str, Any], path: str) -> None:
    """A declared vault: ``name``, ``location``, ``enableRbacAuthorization``, ``enableSoftDelete``,
    ``enablePurgeProtection``, ``networkAcls``, ``accessPolicies`` [{objectId | des, keys}], ``appCanRead``
    (false: the app's reads of the vault, its keys and role assignments under it answer 403) and ``keys``
    [{name, versions: [{version, enabled, exp | expiresInDays, nbf | notBeforeInDays, kty, keySize, keyOps}]}]."""
    known = {"name", "location", "enableRbacAuthorization", "enableSoftDelete", "enablePurgeProtection",
             "networkAcls", "accessPolicies", "appCanRead", "keys"}
    for extra in sorted(set(vault) - known):
        reader.fail(f"{path}.{extra}", f"unknown key; a key vault holds {', '.join(sorted(known))}")
    name = reader.text(vault, "name", path)
    location = reader.location(vault, "location", path, rg_location)
    policies = []
    for p_path, policy in reader.items(vault, "accessPolicies", path):
        keys = policy.get("keys", [])
        if not isinstance(keys, list) or any(str(k).lower() not in {p.lower() for p in POLICY_KEY_PERMISSIONS}
                                             for k in keys):
            reader.fail(f"{p_path}.keys", f"expected a list of key permissions ({', '.join(POLICY_KEY_PERMISSIONS)})")
            keys = []
        policies.append(_policy(_principal(reader, policy, sub_id, rg, p_path), [str(k) for k in keys]))
    acls = vault.get("networkAcls")
    if acls is not None:
        acls = reader.obj(acls, f"{path}.networkAcls")
        acls = {"bypass": acls.get("bypass", "AzureServices"), "defaultAction": acls.get("defaultAction", "Allow"),
                "ipRules": acls.get("ipRules", []), "virtualNetworkRules": acls.get("virtualNetworkRules", [])}
    body = _vault_body(vault_id(sub_id, rg, name), location, rbac=bool(vault.get("enableRbacAuthorization", False)),
                       soft_delete=bool(vault.get("enableSoftDelete", True)),
                       purge_protection=bool(vault.get("enablePurgeProtection", True)), acls=acls, policies=policies,
                       dns=VAULT_DNS[reader.cloud])
    add_resource(reader, loaded, body, path)
    if vault.get("appCanRead", True) is False:
        loaded.app_denied_scopes.add(ids.key(body["id"]))
    for k_path, key in reader.items(vault, "keys", path):
        key_name = reader.text(key, "name", k_path)
        versions = reader.items(key, "versions", k_path)
        if not versions:
            reader.fail(f"{k_path}.versions", "add at least one version ({\"version\": \"<32 hex digits>\"})")
        key_body = None
        for v_path, version in versions:
            kty = version.get("kty", "RSA")
            if kty not in KEY_TYPES:
                reader.fail(f"{v_path}.kty", f"{kty!r} is not one of {', '.join(KEY_TYPES)}")
            ops = version.get("keyOps")
            if ops is not None and (not isinstance(ops, list) or any(op not in KEY_OPS for op in ops)):
                reader.fail(f"{v_path}.keyOps", f"expected a list of {', '.join(KEY_OPS)}")
            key_body, version_body = _key_bodies(
                body, key_name, reader.text(version, "version", v_path), enabled=version.get("enabled", True) is True,
                exp=_epoch(reader, version, "exp", "expiresInDays", v_path),
                nbf=_epoch(reader, version, "nbf", "notBeforeInDays", v_path), kty=str(kty),
                size=version.get("keySize", 3072 if str(kty).startswith("RSA") else None), ops=ops)
            add_resource(reader, loaded, version_body, v_path)
        if key_body is not None:  # the key shows its latest (last listed) version
            add_resource(reader, loaded, key_body, k_path)


def des_key(reader: WorldReader, active_key: dict[str, Any], sub_id: str, rg: str, path: str) -> dict[str, Any] | None:
    """The shorthand ``{"vault": name or ID, "key": name, "version": v}`` as ``{keyUrl, sourceVault}``."""
    if "vault" not in active_key:
        return None
    vault = str(active_key["vault"])
    parsed = ids.parse(vault) if vault.startswith("/") else None
    vault_resource = vault if parsed else vault_id(sub_id, rg, vault)
    name = vault_resource.rsplit("/", 1)[-1]
    key = reader.text(active_key, "key", path)
    version = reader.text(active_key, "version", path)
    return {"keyUrl": f"https://{name}.{VAULT_DNS[reader.cloud]}/keys/{key}/{version}",
            "sourceVault": {"id": vault_resource}}


def add_implied_vaults(loaded: LoadedWorld) -> None:
    """Give each DES without a declared source vault a healthy one (see the module docstring)."""
    for des in [body for body in loaded.resources.values() if body["type"] == "Microsoft.Compute/diskEncryptionSets"]:
        active = des["properties"].get("activeKey") or {}
        host = urlsplit(str(active.get("keyUrl", ""))).hostname or ""
        parts = urlsplit(str(active.get("keyUrl", ""))).path.strip("/").split("/")
        if "sourceVault" in active or ".managedhsm." in host or len(parts) != 3 or parts[0] != "keys":
            continue
        parsed = ids.parse(des["id"])
        assert parsed is not None
        vault_resource = vault_id(parsed.subscription_id, parsed.resource_group, host.split(".", 1)[0])
        active["sourceVault"] = {"id": vault_resource}
        vault = loaded.resources.get(ids.key(vault_resource))
        if vault is None:
            vault = _vault_body(vault_resource, des["location"], dns=host.split(".", 1)[1])
            loaded.resources[ids.key(vault_resource)] = vault
            loaded.implied_vaults.add(ids.key(vault_resource))
        if ids.key(vault_resource) not in loaded.implied_vaults:
            continue  # a declared vault: the world says what it holds
        vault["properties"]["accessPolicies"].append(_policy(des["identity"]["principalId"],
                                                             ["get", "wrapKey", "unwrapKey"]))
        key_body, version_body = _key_bodies(vault, parts[1], parts[2])
        loaded.resources.setdefault(ids.key(version_body["id"]), version_body)
        loaded.resources.setdefault(ids.key(key_body["id"]), key_body)


def read_role_definitions(reader: WorldReader, loaded: LoadedWorld, sub_id: str, sub: dict[str, Any],
                          path: str) -> None:
    """Built-in roles, and the subscription's custom ``roleDefinitions`` [{name (GUID), roleName, permissions}]."""
    definitions = loaded.role_definitions.setdefault(sub_id.lower(), {})
    for guid, role in BUILT_IN_ROLES.items():
        definitions[guid] = {"id": role_definition_id(sub_id, guid), "name": guid,
                             "type": f"{AUTHORIZATION}/roleDefinitions",
                             "properties": {**role, "type": "BuiltInRole", "assignableScopes": ["/"]}}
    for r_path, role in reader.items(sub, "roleDefinitions", path):
        guid = reader.text(role, "name", r_path).lower()
        permissions = role.get("permissions", [])
        if not isinstance(permissions, list):
            reader.fail(f"{r_path}.permissions", "expected a list of {actions, dataActions, notDataActions}")
            permissions = []
        definitions[guid] = {"id": role_definition_id(sub_id, guid), "name": guid,
                             "type": f"{AUTHORIZATION}/roleDefinitions",
                             "properties": {"roleName": reader.text(role, "roleName", r_path), "type": "CustomRole",
                                            "description": str(role.get("description", "")),
                                            "assignableScopes": [f"/subscriptions/{sub_id}"],
                                            "permissions": [{"actions": [], "notActions": [], "dataActions": [],
                                                             "notDataActions": [], **p} for p in permissions]}}


def read_role_assignments(reader: WorldReader, loaded: LoadedWorld, sub_id: str, sub: dict[str, Any],
                          path: str) -> None:
    """``roleAssignments`` [{scope, principalId | des, role: a role name or GUID}]."""
    definitions = loaded.role_definitions.get(sub_id.lower(), {})
    by_name = {d["properties"]["roleName"].lower(): guid for guid, d in definitions.items()}
    for a_path, item in reader.items(sub, "roleAssignments", path):
        scope = reader.text(item, "scope", a_path)
        if scope and not scope.lower().startswith(f"/subscriptions/{sub_id.lower()}"):
            reader.fail(f"{a_path}.scope", f"must be this subscription or a scope in it (/subscriptions/{sub_id}...)")
        role = reader.text(item, "role", a_path).lower()
        guid = role if role in definitions else by_name.get(role)
        if guid is None:
            reader.fail(f"{a_path}.role", f"{role!r} is neither a built-in role name nor a role definition of the "
                                          f"subscription ({', '.join(sorted(by_name))})")
            continue
        if item.get("des") and not str(item["des"]).startswith("/"):
            reader.fail(f"{a_path}.des", "give the disk encryption set's full resource ID")
            continue
        principal = _principal(reader, item, sub_id, "", a_path)
        name = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}|{principal}|{guid}".lower()))
        loaded.role_assignments.append({
            "id": f"{scope.rstrip('/')}/providers/{AUTHORIZATION}/roleAssignments/{name}", "name": name,
            "type": f"{AUTHORIZATION}/roleAssignments",
            "properties": {"roleDefinitionId": role_definition_id(sub_id, guid), "principalId": principal,
                           "principalType": "ServicePrincipal", "scope": scope.rstrip("/"),
                           "createdOn": "2024-01-01T00:00:00.0000000Z", "updatedOn": "2024-01-01T00:00:00.0000000Z"},
        })
