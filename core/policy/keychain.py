"""The key chain behind a disk encryption set, as facts and pure verdicts (no I/O).

A DES names its Key Vault key in ``properties.activeKey`` (``keyUrl``, ``sourceVault.id``) and reaches it
with its managed identity. What can break between the DES and the disks made from an image:

- the key version: disabled, expired, not yet valid, without ``wrapKey``/``unwrapKey``, or of a type or
  size the disk service does not take (RSA or RSA-HSM of 2048, 3072 or 4096 bits);
- the identity's access: on a vault with ``enableRbacAuthorization`` only role assignments count (data
  actions ``keys/read``, ``keys/wrap/action``, ``keys/unwrap/action``, wildcards understood,
  ``notDataActions`` honoured); on any other vault only access policies count (keys: get, wrapKey,
  unwrapKey);
- the vault: a firewall that denies by default without letting trusted Azure services through
  (``networkAcls.bypass`` AzureServices), and soft delete / purge protection (DES creation requires both).

``KeyChain`` holds what was read from ARM's management plane for one DES (``core.policy.key_facts``
gathers it); the functions below judge it. Everything here is pure: tests use literal dicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from core.base.json_input import dig as _get

Json = dict[str, Any]

# The data actions the disk service performs with the DES identity (what the built-in "Key Vault Crypto
# Service Encryption User", e147488a-f6f5-4113-8e2d-b22465e65bf6, grants).
NEEDED_DATA_ACTIONS = (
    "Microsoft.KeyVault/vaults/keys/read",
    "Microsoft.KeyVault/vaults/keys/wrap/action",
    "Microsoft.KeyVault/vaults/keys/unwrap/action",
)
# The same, as vault access policy key permissions.
NEEDED_KEY_PERMISSIONS = ("get", "wrapKey", "unwrapKey")
NEEDED_KEY_OPS = ("wrapKey", "unwrapKey")
KEY_TYPES = ("RSA", "RSA-HSM")
KEY_SIZES = (2048, 3072, 4096)
CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
DEFAULT_EXPIRY_HORIZON_DAYS = 30

# The management-plane reads of the key chain, as the RBAC actions ARM checks for them.
READ_VAULT = "Microsoft.KeyVault/vaults/read"
READ_KEY_VERSION = "Microsoft.KeyVault/vaults/keys/versions/read"
READ_ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments/read"
READ_ROLE_DEFINITIONS = "Microsoft.Authorization/roleDefinitions/read"



# --- what the DES names ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRef:
    """A key named by URL: ``https://<vault>.vault.azure.net/keys/<name>/<version>``."""

    url: str
    host: str
    name: str
    version: str | None

    @property
    def vault_name(self) -> str:
        return self.host.split(".", 1)[0]

    @property
    def managed_hsm(self) -> bool:
        """A Managed HSM key (``*.managedhsm.azure.net`` and the sovereign clouds' equivalents)."""
        return ".managedhsm." in self.host


_KEY_PATH = re.compile(r"^/keys/(?P<name>[^/]+)(?:/(?P<version>[^/]+))?/?$")


def parse_key_url(url: object) -> KeyRef | None:
    """The key a URL names, or None when it is not a Key Vault key URL."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    match = _KEY_PATH.match(parts.path)
    if parts.scheme.lower() != "https" or not parts.hostname or match is None:
        return None
    return KeyRef(url.strip(), parts.hostname.lower(), match["name"], match["version"])


def active_key(des: Json) -> KeyRef | None:
    return parse_key_url(_get(des, "properties", "activeKey", "keyUrl"))


def source_vault_id(des: Json) -> str | None:
    value = _get(des, "properties", "activeKey", "sourceVault", "id")
    return str(value) if value else None


def federated_client_id(des: Json) -> str | None:
    """A DES whose key is in another tenant names the multi-tenant application it reaches it with."""
    value = _get(des, "properties", "federatedClientId")
    return str(value) if value and str(value).lower() != "none" else None


@dataclass(frozen=True)
class Identity:
    """A principal the DES reaches its key with: "system-assigned" or the user-assigned identity's ID."""

    label: str
    principal_id: str


def identities(des: Json) -> list[Identity]:
    """The DES's managed identities that have a principal ID, system-assigned first."""
    found = []
    principal = _get(des, "identity", "principalId")
    if principal:
        found.append(Identity("system-assigned identity", str(principal)))
    for resource_id, user in (_get(des, "identity", "userAssignedIdentities") or {}).items():
        if _get(user, "principalId"):
            found.append(Identity(f"user-assigned identity '{resource_id.rstrip('/').rsplit('/', 1)[-1]}'",
                                  str(user["principalId"])))
    return found


def key_version_id(vault_id: str, key: KeyRef) -> str:
    """The ARM ID of the key version a DES uses (``.../vaults/<v>/keys/<k>/versions/<ver>``)."""
    return f"{vault_id.rstrip('/')}/keys/{key.name}/versions/{key.version}"


def key_id(vault_id: str, key: KeyRef) -> str:
    return f"{vault_id.rstrip('/')}/keys/{key.name}"


# --- what was read -----------------------------------------------------------------------------------------


def _pick(body: object, *keys: str) -> Json:
    return {key: body[key] for key in keys if isinstance(body, dict) and body.get(key) is not None}


def slim_vault(vault: Json) -> Json:
    """The parts of a vault the verdicts read (a build keeps what it read in a Table row of bounded size,
    keyed by the ARM ID, so the body leaves its ID out)."""
    properties = vault.get("properties") or {}
    policies = [{"objectId": _get(p, "objectId"), "permissions": {"keys": _get(p, "permissions", "keys") or []}}
                for p in properties.get("accessPolicies") or []]
    slim = _pick(properties, "enableSoftDelete", "enablePurgeProtection", "enableRbacAuthorization")
    acls = _pick(properties.get("networkAcls"), "defaultAction", "bypass")
    return {**_pick(vault, "location"),
            "properties": {**slim, "accessPolicies": policies, **({"networkAcls": acls} if acls else {})}}


def slim_key_version(version: Json) -> Json:
    properties = version.get("properties") or {}
    return {"properties": {**_pick(properties, "kty", "keySize", "keyOps"),
                           "attributes": _pick(properties.get("attributes"), "enabled", "nbf", "exp")}}


def slim_role_definition(definition: Json) -> Json:
    blocks = [{"dataActions": _get(b, "dataActions") or [], "notDataActions": _get(b, "notDataActions") or []}
              for b in _get(definition, "properties", "permissions") or []]
    return {"properties": {"permissions": blocks}}


def slim_assignment(assignment: Json) -> Json:
    return {"properties": _pick(assignment.get("properties"), "scope", "roleDefinitionId", "principalId")}


@dataclass(frozen=True)
class Unread:
    """A read the app was refused (403): the RBAC action to grant and the scope to grant it at."""

    what: str
    action: str
    scope: str


@dataclass(frozen=True)
class KeyChain:
    """What ARM showed of one DES's key chain.

    ``vault`` / ``key_version``: the REST bodies, None when not read (see ``unread``, ``not_checked``) or
    absent (``vault_found`` / ``key_found`` False). ``assignments``: per principal ID (lower case), the
    role assignments that apply at the key's scope, read for RBAC vaults only (None: not read).
    ``role_definitions``: by lower-case ID. ``not_checked``: what ARM cannot show, in words.
    """

    key: KeyRef | None = None
    vault_id: str | None = None
    vault: Json | None = None
    vault_found: bool = True
    key_version: Json | None = None
    key_found: bool = True
    assignments: dict[str, tuple[Json, ...]] | None = None
    role_definitions: dict[str, Json] = field(default_factory=dict)
    unread: tuple[Unread, ...] = ()
    not_checked: tuple[str, ...] = ()

    @property
    def vault_name(self) -> str:
        if self.vault_id:
            return self.vault_id.rstrip("/").rsplit("/", 1)[-1]
        return self.key.vault_name if self.key else "?"

    @property
    def key_label(self) -> str:
        """"key 'cmk' (version 0123...) in vault 'kv1'"."""
        if self.key is None:
            return "its key"
        version = f" (version {self.key.version})" if self.key.version else ""
        return f"key '{self.key.name}'{version} in vault '{self.vault_name}'"


# --- verdicts ------------------------------------------------------------------------------------------------


def _epoch(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def key_attributes(version: Json) -> Json:
    return _get(version, "properties", "attributes") or {}


def key_enabled(version: Json) -> bool:
    return key_attributes(version).get("enabled") is not False


def key_expires(version: Json) -> datetime | None:
    return _epoch(key_attributes(version).get("exp"))


def key_not_before(version: Json) -> datetime | None:
    return _epoch(key_attributes(version).get("nbf"))


def expiry_state(version: Json, now: datetime, horizon_days: int) -> tuple[str, datetime] | None:
    """("expired" | "expiring", exp) when the key has expired or expires within ``horizon_days``."""
    expires = key_expires(version)
    if expires is None:
        return None
    if expires <= now:
        return "expired", expires
    if expires <= now + timedelta(days=horizon_days):
        return "expiring", expires
    return None


def missing_key_ops(version: Json) -> list[str]:
    """wrapKey / unwrapKey when the key's permitted operations (``keyOps``) leave them out."""
    ops = _get(version, "properties", "keyOps")
    if not isinstance(ops, list):
        return []  # not stated: every operation the key type allows
    have = {str(op).lower() for op in ops}
    return [op for op in NEEDED_KEY_OPS if op.lower() not in have]


def unsupported_key(version: Json) -> str | None:
    """Why the disk service cannot use the key's type or size, or None."""
    properties = _get(version, "properties") or {}
    kty, size = properties.get("kty"), properties.get("keySize")
    if kty is not None and str(kty).upper() not in KEY_TYPES:
        return f"its type is {kty}"
    if isinstance(size, int) and not isinstance(size, bool) and size not in KEY_SIZES:
        return f"its size is {size} bits"
    return None


def rbac_vault(vault: Json) -> bool:
    return _get(vault, "properties", "enableRbacAuthorization") is True


def firewall_blocks_trusted_services(vault: Json) -> bool:
    """A firewall that denies by default and does not let trusted Microsoft services through."""
    acls = _get(vault, "properties", "networkAcls") or {}
    denies = str(acls.get("defaultAction") or "Allow").lower() == "deny"
    return denies and "azureservices" not in str(acls.get("bypass") or "None").lower().replace(" ", "")


def recovery_missing(vault: Json) -> list[str]:
    """"soft delete" / "purge protection" when the vault lacks them."""
    properties = _get(vault, "properties") or {}
    missing = []
    if properties.get("enableSoftDelete") is False:
        missing.append("soft delete")
    if properties.get("enablePurgeProtection") is not True:
        missing.append("purge protection")
    return missing
