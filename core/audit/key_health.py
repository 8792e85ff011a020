"""Key health of published versions (pure): the key chain behind each DES a version uses, per region.

A key that expires, is disabled or loses its access under a published image does not break the image at
once: the disks and VMs made from it later fail. These audit rules report, per image version and region,
a key disabled, expired or expiring within the horizon, access lost, a key or vault gone, and a chain the
app may not read; the DES's own rotation error is ``DiskEncryptionSetKeyRotationFailed`` (``rules``).
Each finding also becomes a CloudEvent ``CmkImageBuilder.KeyHealth.<code>`` (``key_health_event``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from core.audit.rules import AuditFacts, AuditFinding, Severity, audit_rule, target_regions
from core.policy import keychain
from core.policy.key_access import access as identity_access
from core.policy.keychain import KeyChain

Json = dict[str, Any]
EVENT_TYPE_PREFIX = "CmkImageBuilder.KeyHealth."
SOURCE = "/cmk-image-builder/audit"
# The audit codes that are key health: each finding of these is also sent as an event.
KEY_HEALTH_CODES = frozenset({"KeyNotFound", "KeyDisabled", "KeyExpired", "KeyExpiringSoon", "KeyAccessMissing",
                              "KeyChainUnreadable", "DiskEncryptionSetKeyRotationFailed"})


def _uses(facts: AuditFacts) -> Iterator[tuple[str, str, list[str], Json, KeyChain]]:
    """(region, DES ID, disks it encrypts there, DES, key chain) for each DES with a chain, per region."""
    for region, disks in target_regions(facts.version):
        by_des: dict[str, list[str]] = {}
        for disk, des_id in disks.items():
            by_des.setdefault(des_id, []).append(disk)
        for des_id, used_for in by_des.items():
            des, chain = facts.des.get(des_id.lower()), facts.key_chains.get(des_id.lower())
            if des is not None and chain is not None and chain.key is not None:
                yield region, des_id, used_for, des, chain


def _name(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def _where(region: str, des_id: str, disks: list[str], chain: KeyChain) -> tuple[str, str]:
    """(subject, the start of a message): stable per region and set."""
    return (f"{region} {_name(des_id)}",
            f"in '{region}' the {', '.join(disks)} use(s) disk encryption set '{_name(des_id)}', whose "
            f"{chain.key_label}")


@audit_rule("KeyNotFound", Severity.ERROR)
def key_exists(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """The vault and key version behind each disk encryption set still exist."""
    for region, des_id, disks, _, chain in _uses(facts):
        if not chain.vault_found or not chain.key_found:
            subject, start = _where(region, des_id, disks, chain)
            gone = "vault" if not chain.vault_found else "key version"
            yield subject, (f"{start} is gone (its {gone} was not found): disks and VMs made from this version "
                            "there cannot be created; recover it (az keyvault recover / az keyvault key recover)")


@audit_rule("KeyDisabled", Severity.ERROR)
def key_enabled(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """The key version behind each disk encryption set is enabled."""
    for region, des_id, disks, _, chain in _uses(facts):
        if chain.key_version is not None and not keychain.key_enabled(chain.key_version):
            subject, start = _where(region, des_id, disks, chain)
            yield subject, (f"{start} is disabled: VMs made from this version there cannot start; enable the key "
                            "version or rotate the set to an enabled key")


@audit_rule("KeyExpired", Severity.ERROR)
def key_not_expired(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """The key version behind each disk encryption set has not expired."""
    for region, des_id, disks, _, chain in _uses(facts):
        state = keychain.expiry_state(chain.key_version or {}, facts.now, facts.policy.key_horizon_days)
        if state is not None and state[0] == "expired":
            subject, start = _where(region, des_id, disks, chain)
            yield subject, (f"{start} expired on {state[1].date().isoformat()}: VMs made from this version there "
                            "cannot start; extend it or rotate the set to a new key version")


@audit_rule("KeyExpiringSoon", Severity.WARNING)
def key_not_expiring(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """The key version behind each disk encryption set does not expire within the horizon."""
    for region, des_id, disks, _, chain in _uses(facts):
        state = keychain.expiry_state(chain.key_version or {}, facts.now, facts.policy.key_horizon_days)
        if state is not None and state[0] == "expiring":
            subject, start = _where(region, des_id, disks, chain)
            days = (state[1] - facts.now).days
            yield subject, (f"{start} expires on {state[1].date().isoformat()} (in {days} day(s); horizon "
                            f"{facts.policy.key_horizon_days}): after that VMs made from this version there will "
                            "not start; rotate the set to a key version with a later expiry, or extend this one")


@audit_rule("KeyAccessMissing", Severity.ERROR)
def key_access(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """Each disk encryption set's identity may still get, wrap and unwrap its key."""
    for region, des_id, disks, des, chain in _uses(facts):
        lacking = [f"{v.identity.label} lacks {', '.join(v.missing)}"
                   for v in (identity_access(chain, i) for i in keychain.identities(des)) if v.missing]
        if chain.vault is not None and lacking:
            subject, start = _where(region, des_id, disks, chain)
            yield subject, (f"{start} is no longer reachable: the set's {'; '.join(lacking)}; grant it again (an "
                            "access policy with get, wrapKey, unwrapKey, or on an RBAC vault the role 'Key Vault "
                            "Crypto Service Encryption User')")


@audit_rule("KeyChainUnreadable", Severity.WARNING)
def key_chain_readable(facts: AuditFacts) -> Iterator[tuple[str, str]]:
    """The app could read each key chain (a refused read names the permission to grant)."""
    for region, des_id, disks, _, chain in _uses(facts):
        if chain.unread:
            subject, start = _where(region, des_id, disks, chain)
            refused = "; ".join(f"{u.what} ({u.action} at {u.scope})" for u in chain.unread)
            yield subject, f"{start} could not be checked: the app may not read {refused}; grant those reads"


def key_health_event(finding: AuditFinding, audited_at: datetime) -> dict[str, Any]:
    """The CloudEvent of one key-health finding; ``id`` is stable per finding and audit run."""
    at = audited_at.isoformat().replace("+00:00", "Z")
    region, _, des = ("", "", finding.subject) if finding.subject.startswith("/") else finding.subject.partition(" ")
    digest = hashlib.sha256(f"{finding.version_id.lower()}|{finding.key}|{at}".encode()).hexdigest()[:32]
    return {
        "specversion": "1.0",
        "type": EVENT_TYPE_PREFIX + finding.code,
        "source": SOURCE,
        "subject": finding.version_id,
        "id": digest,
        "time": at,
        "datacontenttype": "application/json",
        "data": {"code": finding.code, "severity": str(finding.severity), "imageVersionId": finding.version_id,
                 "region": region or None, "diskEncryptionSet": des or None, "message": finding.message,
                 "auditedAt": at},
    }
