"""Rules on the key chain behind each disk encryption set: the Key Vault key, the vault, the set's access.

ARM accepts an image-version PUT whose key chain is broken; the failure comes later, in replication or
when VMs made from the image cannot start. These rules read what ``core.policy.key_facts`` gathered
(``Facts.key_chains``) and judge it with ``core.policy.keychain``. Each message names the disks and
regions that use the set, the set, the key and the fix. A read the app was refused is a warning naming
the permission and scope (``KeyChainUnreadable``), never a silent pass and never a rejection by itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.policy import key_access, keychain
from core.policy.facts import Facts
from core.policy.keychain import KeyChain
from core.policy.registry import Violation, rule
from core.policy.views import DesUse, uses_by_des, where_used
from core.request import BuildRequest

Json = dict


def _chains(request: BuildRequest, facts: Facts) -> Iterator[tuple[list[DesUse], Json, KeyChain]]:
    """Each DES that was read, with its uses and its key chain."""
    for key, uses in uses_by_des(request).items():
        des, chain = facts.des(key), facts.key_chain(key)
        if des is not None and chain is not None and chain.key is not None:
            yield uses, des, chain


def _subject(uses: list[DesUse], chain: KeyChain) -> str:
    return f"disk encryption set '{uses[0].des_name}' (for {where_used(uses)}) uses {chain.key_label}"


def _with_key(facts: Facts, request: BuildRequest) -> Iterator[tuple[list[DesUse], Json, KeyChain, Json]]:
    for uses, des, chain in _chains(request, facts):
        if chain.key_version is not None:
            yield uses, des, chain, chain.key_version


def _attributes_fix(chain: KeyChain, change: str) -> str:
    key = chain.key
    assert key is not None
    return (f"az keyvault key set-attributes --vault-name {chain.vault_name} --name {key.name} "
            f"--version {key.version} {change}")


@rule("KeyNotFound")
def key_exists(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The vault and the key version each disk encryption set names exist."""
    for uses, _, chain in _chains(request, facts):
        if not chain.vault_found:
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, but vault {chain.vault_id} was not found; "
                                           "recover the vault (az keyvault recover) or point the set at a key in "
                                           "an existing vault")
        elif not chain.key_found:
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, but that key version was not found in the "
                                           "vault; recover the key (az keyvault key recover) or point the set at "
                                           "an existing key version (az disk-encryption-set update --key-url)")


@rule("KeyDisabled")
def key_enabled(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The Key Vault key version each disk encryption set uses is enabled."""
    for uses, _, chain, version in _with_key(facts, request):
        if not keychain.key_enabled(version):
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, which is disabled: disks cannot be encrypted "
                                           f"or started with it; enable it ({_attributes_fix(chain, '--enabled true')})"
                                           " or rotate the set to an enabled key")


@rule("KeyExpired")
def key_not_expired(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The key version each disk encryption set uses has not expired."""
    for uses, _, chain, version in _with_key(facts, request):
        state = keychain.expiry_state(version, facts.observed_at, facts.key_horizon_days)
        if state is not None and state[0] == "expired":
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, which expired on {state[1].isoformat()}; "
                                           f"extend it ({_attributes_fix(chain, '--expires <date>')}) or rotate "
                                           "the set to a new key version")


@rule("KeyNotYetValid")
def key_already_valid(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The key version each disk encryption set uses is already valid (its not-before date has passed)."""
    for uses, _, chain, version in _with_key(facts, request):
        not_before = keychain.key_not_before(version)
        if not_before is not None and not_before > facts.observed_at:
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, which is not valid before "
                                           f"{not_before.isoformat()}; wait until then, or move its activation date "
                                           f"({_attributes_fix(chain, '--not-before <date>')})")


@rule("KeyExpiringSoon")
def key_not_expiring(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The key version each disk encryption set uses does not expire within the horizon
    (KEY_EXPIRY_WARNING_DAYS, default 30 days)."""
    for uses, _, chain, version in _with_key(facts, request):
        state = keychain.expiry_state(version, facts.observed_at, facts.key_horizon_days)
        if state is not None and state[0] == "expiring":
            days = (state[1] - facts.observed_at).days
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, which expires on {state[1].isoformat()} (in "
                                           f"{days} day(s), within the {facts.key_horizon_days}-day horizon): VMs "
                                           "made from this image will not start after that; rotate the set to a key "
                                           "version with a later expiry, or extend this one")


@rule("KeyOperationsMissing")
def key_wraps(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The key version each disk encryption set uses permits wrapKey and unwrapKey."""
    for uses, _, chain, version in _with_key(facts, request):
        missing = keychain.missing_key_ops(version)
        if missing:
            ops = (version.get("properties") or {}).get("keyOps") or []
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, whose permitted operations ({', '.join(ops)}) "
                                           f"lack {' and '.join(missing)}, which disk encryption needs; allow them "
                                           f"({_attributes_fix(chain, '--ops wrapKey unwrapKey')}) or use another "
                                           "key")


@rule("KeyTypeUnsupported")
def key_type(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The key version each disk encryption set uses is RSA or RSA-HSM of 2048, 3072 or 4096 bits."""
    for uses, _, chain, version in _with_key(facts, request):
        why = keychain.unsupported_key(version)
        if why:
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, which disk encryption cannot use: {why}, and "
                                           f"it takes {' or '.join(keychain.KEY_TYPES)} keys of "
                                           f"{', '.join(str(s) for s in keychain.KEY_SIZES)} bits; create such a key "
                                           "(az keyvault key create --kty RSA --size 3072) and point the set at it")


def _access_fix(chain: KeyChain, judged: key_access.AccessVerdict) -> str:
    principal = judged.identity.principal_id
    if judged.model == "RBAC":
        return (f"assign it the role 'Key Vault Crypto Service Encryption User' on the vault (az role assignment "
                f"create --role {keychain.CRYPTO_SERVICE_ENCRYPTION_USER} --assignee-object-id {principal} "
                f"--assignee-principal-type ServicePrincipal --scope {chain.vault_id})")
    return (f"add an access policy (az keyvault set-policy --name {chain.vault_name} --object-id {principal} "
            "--key-permissions get wrapKey unwrapKey)")


@rule("KeyAccessMissing")
def des_identity_has_access(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Each disk encryption set's identity may get, wrap and unwrap its key (an access policy, or on an
    RBAC vault a role granting keys/read, keys/wrap/action and keys/unwrap/action)."""
    for uses, des, chain in _chains(request, facts):
        if chain.vault is None:
            continue
        if not keychain.identities(des):
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, but the set has no managed identity to reach "
                                           "it with; give the set a system-assigned identity and grant it the key")
            continue
        for identity in keychain.identities(des):
            judged = key_access.access(chain, identity)
            if judged.missing:
                how = "role assignments" if judged.model == "RBAC" else "access policies"
                yield Violation(uses[0].field, f"{_subject(uses, chain)}, but the set's {identity.label} (principal "
                                               f"{identity.principal_id}) lacks {', '.join(judged.missing)} in the "
                                               f"vault's {how}; {_access_fix(chain, judged)}")


@rule("KeyVaultFirewall")
def vault_lets_disks_in(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The vault of each disk encryption set's key lets trusted Azure services through its firewall."""
    for uses, _, chain in _chains(request, facts):
        if chain.vault is not None and keychain.firewall_blocks_trusted_services(chain.vault):
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, and the vault's firewall denies by default "
                                           "without letting trusted Microsoft services through, so the disk service "
                                           "cannot reach the key; allow them (az keyvault update --name "
                                           f"{chain.vault_name} --bypass AzureServices)")


@rule("KeyVaultPurgeProtection")
def vault_keeps_keys(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The vault of each disk encryption set's key has soft delete and purge protection."""
    for uses, _, chain in _chains(request, facts):
        missing = keychain.recovery_missing(chain.vault) if chain.vault is not None else []
        if missing:
            yield Violation(uses[0].field, f"{_subject(uses, chain)}, and the vault has no {' and no '.join(missing)}:"
                                           " a deleted or purged key makes every disk made from the image unusable; "
                                           f"enable it (az keyvault update --name {chain.vault_name} "
                                           "--enable-purge-protection true)")


@rule("KeyChainUnreadable")
def key_chain_readable(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Every part of each key chain could be read (a refused read is reported with the permission to grant)."""
    for uses, _, chain in _chains(request, facts):
        for unread in chain.unread:
            yield Violation(uses[0].field, f"{_subject(uses, chain)}; the app may not read the {unread.what} "
                                           f"(403), so it was not checked; grant the app's identity "
                                           f"{unread.action} at scope {unread.scope} (infra: the key chain role, "
                                           "parameter keyVaultScopes)")


@rule("KeyChainNotChecked")
def key_chain_checked(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Each key chain could be checked through ARM (not a Managed HSM key or a key in another tenant)."""
    for uses, _, chain in _chains(request, facts):
        for note in chain.not_checked:
            yield Violation(uses[0].field, f"{_subject(uses, chain)}; not checked: {note}")
