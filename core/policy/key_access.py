"""Whether a Disk Encryption Set's identity may use its key: the vault's access policies, or on an RBAC vault
the role assignments that grant the data actions (wildcards understood, `notDataActions` honoured); and the
one-line verdict on a whole key chain. Pure, over what `core.policy.key_facts` read."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime

from core.base.json_input import dig as _get
from core.policy.keychain import (
    DEFAULT_EXPIRY_HORIZON_DAYS,
    NEEDED_DATA_ACTIONS,
    NEEDED_KEY_PERMISSIONS,
    Identity,
    Json,
    KeyChain,
    expiry_state,
    firewall_blocks_trusted_services,
    identities,
    key_enabled,
    key_id,
    key_not_before,
    missing_key_ops,
    rbac_vault,
    recovery_missing,
    unsupported_key,
)


def policy_permissions(vault: Json, principal_id: str) -> set[str]:
    """The key permissions the vault's access policies give ``principal_id`` (lower case; policies add up)."""
    granted: set[str] = set()
    for policy in _get(vault, "properties", "accessPolicies") or []:
        if str(_get(policy, "objectId") or "").lower() == principal_id.lower():
            granted |= {str(p).lower() for p in _get(policy, "permissions", "keys") or []}
    return granted


def missing_policy_permissions(vault: Json, principal_id: str) -> list[str]:
    granted = policy_permissions(vault, principal_id)
    if "all" in granted:
        return []
    return [p for p in NEEDED_KEY_PERMISSIONS if p.lower() not in granted]


def action_matches(pattern: str, action: str) -> bool:
    """An RBAC action pattern (``*`` wildcards, case-insensitive) against one action."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower().replace("[", "[[]"))


def granted_data_actions(definition: Json, wanted: tuple[str, ...] = NEEDED_DATA_ACTIONS) -> set[str]:
    """Which of ``wanted`` a role definition grants: per permission block, a matching ``dataActions``
    entry and no matching ``notDataActions`` entry (blocks add up)."""
    granted: set[str] = set()
    for block in _get(definition, "properties", "permissions") or []:
        allowed = [str(a) for a in _get(block, "dataActions") or []]
        denied = [str(a) for a in _get(block, "notDataActions") or []]
        for action in wanted:
            if any(action_matches(p, action) for p in allowed) and not any(action_matches(p, action) for p in denied):
                granted.add(action)
    return granted


def scope_covers(scope: str, resource_id: str) -> bool:
    """Whether a role assignment at ``scope`` applies to ``resource_id`` (the same or an ancestor scope)."""
    outer = [s for s in scope.lower().split("/") if s]
    inner = [s for s in resource_id.lower().split("/") if s]
    return not outer or inner[: len(outer)] == outer


def role_grants(chain: KeyChain, principal_id: str) -> tuple[set[str], list[str]]:
    """(data actions granted at the key's scope, role definitions that could not be read) for a principal."""
    granted: set[str] = set()
    unreadable: list[str] = []
    scope = key_id(chain.vault_id, chain.key) if chain.vault_id and chain.key else chain.vault_id or ""
    for assignment in (chain.assignments or {}).get(principal_id.lower(), ()):
        assigned_at = str(_get(assignment, "properties", "scope") or "")
        if assigned_at and scope and not scope_covers(assigned_at, scope):
            continue
        role = str(_get(assignment, "properties", "roleDefinitionId") or "")
        definition = chain.role_definitions.get(role.lower())
        if definition is None:
            unreadable.append(role)
            continue
        granted |= granted_data_actions(definition)
    return granted, unreadable


@dataclass(frozen=True)
class AccessVerdict:
    """Whether one identity can use the key: ``missing`` names what it lacks (empty: it has access);
    ``unknown`` says why it could not be told (then ``missing`` is empty)."""

    identity: Identity
    model: str  # "access policy" | "RBAC"
    missing: tuple[str, ...] = ()
    unknown: str | None = None


def access(chain: KeyChain, identity: Identity) -> AccessVerdict:
    """Judge one identity's access under the vault's permission model (RBAC or access policies)."""
    if chain.vault is None:
        return AccessVerdict(identity, "?", unknown="the vault was not read")
    if not rbac_vault(chain.vault):
        return AccessVerdict(identity, "access policy",
                             tuple(missing_policy_permissions(chain.vault, identity.principal_id)))
    if chain.assignments is None:
        return AccessVerdict(identity, "RBAC", unknown="the role assignments were not read")
    granted, unreadable = role_grants(chain, identity.principal_id)
    missing = tuple(a for a in NEEDED_DATA_ACTIONS if a not in granted)
    if missing and unreadable:
        return AccessVerdict(identity, "RBAC", unknown=f"role definition(s) {', '.join(unreadable)} were not read")
    return AccessVerdict(identity, "RBAC", missing)


def verdict(chain: KeyChain, des: Json, now: datetime, horizon_days: int = DEFAULT_EXPIRY_HORIZON_DAYS) -> str:
    """One line on the whole chain, for a person (``python -m core plan --check``): "healthy: ..." or the
    first things wrong."""
    problems: list[str] = []
    if chain.key is None:
        return "no active key"
    if not chain.vault_found:
        problems.append(f"vault '{chain.vault_name}' not found")
    if not chain.key_found:
        problems.append(f"{chain.key_label} not found")
    if chain.key_version is not None:
        if not key_enabled(chain.key_version):
            problems.append("key disabled")
        state = expiry_state(chain.key_version, now, horizon_days)
        if state:
            problems.append(f"key {state[0]} {state[1].date().isoformat()}")
        not_before = key_not_before(chain.key_version)
        if not_before is not None and not_before > now:
            problems.append(f"key not valid before {not_before.date().isoformat()}")
        if missing_key_ops(chain.key_version):
            problems.append(f"key operations lack {', '.join(missing_key_ops(chain.key_version))}")
        why = unsupported_key(chain.key_version)
        if why:
            problems.append(f"key unusable for disks ({why})")
    if chain.vault is not None:
        for identity in identities(des):
            judged = access(chain, identity)
            if judged.missing:
                problems.append(f"{identity.label} lacks {', '.join(judged.missing)}")
        if firewall_blocks_trusted_services(chain.vault):
            problems.append("vault firewall blocks trusted services")
        problems += [f"vault without {m}" for m in recovery_missing(chain.vault)]
    unread = [f"not read: {u.what} (grant {u.action})" for u in chain.unread]
    notes = [*problems, *unread, *(f"not checked: {n}" for n in chain.not_checked)]
    return "; ".join(notes) if notes else f"healthy: {chain.key_label}"
