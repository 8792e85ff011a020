"""Reading the key chain of each disk encryption set from ARM's management plane (I/O; no data-plane call).

Per DES (``core.policy.keychain`` judges what is read):
- the vault ``activeKey.sourceVault.id`` names (``Microsoft.KeyVault/vaults/read``);
- the key version ``activeKey.keyUrl`` names, as the ARM resource ``vaults/<v>/keys/<k>/versions/<ver>``
  (``Microsoft.KeyVault/vaults/keys/versions/read``);
- on a vault with ``enableRbacAuthorization``: each DES identity's role assignments that apply at the
  key's scope (one list per identity and key, ``$filter=principalId eq '<id>'``, which returns the
  assignments at the scope and above it; ``Microsoft.Authorization/roleAssignments/read``) and each role
  definition they name (``Microsoft.Authorization/roleDefinitions/read``).

Only the parts the verdicts read are kept (``keychain.slim_*``: the build's record of its reads is bounded).
Each vault, key version, assignment list and role definition is read once per build: ``Reads`` remembers
every answer of this validation (404s and 403s too), and ``kept`` holds the bodies an earlier try of the
same validation read (the build's DES cache, ``core.builds.des_cache``), keyed by lower-case ARM ID.

A read refused with 403 is recorded as ``Unread`` (the action to grant and the scope), never raised: a
rule turns it into a warning. A Managed HSM key or a key in another tenant (``federatedClientId``) is
read as far as ARM allows and the rest is said in ``not_checked``. Any other error propagates, as for
every other fact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from core.azure import resource_ids
from core.azure.arm import Arm
from core.policy import keychain
from core.policy.keychain import KeyChain, Unread

Json = dict[str, Any]
_NOT_FOUND = object()
_FORBIDDEN = object()

MANAGED_HSM_NOTE = ("the key is in a Managed HSM: its attributes and access (HSM local RBAC) are on the HSM's "
                    "data plane, which ARM does not show; check them with `az keyvault key show --hsm-name`")
FEDERATED_NOTE = ("the key is in another tenant (federatedClientId {client}): the vault, the key and the "
                  "application's access there cannot be read from this tenant; check them in the key's tenant")
NO_VAULT_NOTE = ("the set names no source vault (activeKey.sourceVault.id), so the vault and the key's ARM "
                 "resource cannot be found")


def _forbidden(error: HttpResponseError) -> bool:
    return error.status_code == 403


def _grouped_in_dict(items: list[Json]) -> Json:
    return {"value": items}


_REFUSALS = {"notFound": _NOT_FOUND, "forbidden": _FORBIDDEN}


class Reads:
    """One validation's key-chain reads: each ARM ID once, answers (bodies, 404, 403) remembered.

    ``kept`` (lower-case ID -> body) holds bodies read by an earlier try and receives every body read now;
    ``refused`` (lower-case ID -> 'notFound' / 'forbidden') the answers without a body an earlier reader had
    (an audit's earlier steps, `refusals()`). ``made`` counts the ARM reads this reader made.
    """

    def __init__(self, arm: Arm, kept: dict[str, Json], refused: dict[str, str] | None = None) -> None:
        self.arm = arm
        self.kept = kept
        self.answers: dict[str, object] = {key.lower(): _REFUSALS[mark] for key, mark in (refused or {}).items()
                                           if mark in _REFUSALS}
        self.made = 0

    def refusals(self) -> dict[str, str]:
        """Every answer without a body (lower-case ID -> 'notFound' / 'forbidden'), to hand to a later reader."""
        marks = {id(marker): mark for mark, marker in _REFUSALS.items()}
        return {key: marks[id(answer)] for key, answer in self.answers.items() if id(answer) in marks}

    def _once(self, key: str, call: Callable[[], Json]) -> object:
        key = key.lower()
        if key in self.answers:
            return self.answers[key]
        body: object = self.kept.get(key)
        if body is None:
            self.made += 1
            try:
                body = call()
                self.kept[key] = body  # type: ignore[assignment]
            except ResourceNotFoundError:
                body = _NOT_FOUND
            except HttpResponseError as error:
                if not _forbidden(error):
                    raise
                body = _FORBIDDEN
        self.answers[key] = body
        return body

    def vault(self, vault_id: str) -> object:
        rid = resource_ids.parse_resource_id(vault_id)
        client = self.arm.for_subscription(rid.subscription).keyvault
        return self._once(vault_id, lambda: keychain.slim_vault(client.vaults.get(rid.resource_group,
                                                                                   rid.name).as_dict()))

    def key_version(self, vault_id: str, key: keychain.KeyRef) -> object:
        rid = resource_ids.parse_resource_id(vault_id)
        client = self.arm.for_subscription(rid.subscription).keyvault
        return self._once(keychain.key_version_id(vault_id, key), lambda: keychain.slim_key_version(
            client.keys.get_version(rid.resource_group, rid.name, key.name, str(key.version)).as_dict()))

    def assignments(self, scope: str, principal_id: str) -> object:
        rid = resource_ids.parse_resource_id(scope)
        client = self.arm.for_subscription(rid.subscription).authorization

        def read() -> Json:
            pages = client.role_assignments.list_for_scope(scope.lstrip("/"),
                                                           filter=f"principalId eq '{principal_id}'")
            return _grouped_in_dict([keychain.slim_assignment(item.serialize(keep_readonly=True)) for item in pages])

        return self._once(f"{scope}|roleAssignments|{principal_id}", read)

    def role_definition(self, role_id: str, subscription: str) -> object:
        client = self.arm.for_subscription(subscription).authorization
        return self._once(role_id, lambda: keychain.slim_role_definition(
            client.role_definitions.get_by_id(role_id).serialize(keep_readonly=True)))


def _vault_kind(vault_id: str) -> str | None:
    try:
        return resource_ids.parse_resource_id(vault_id).kind
    except ValueError:
        return None


def read_key_chain(reads: Reads, des: Json) -> KeyChain:
    """What ARM shows of one DES's key chain (see the module docstring)."""
    key = keychain.active_key(des)
    if key is None:
        return KeyChain()
    federated = keychain.federated_client_id(des)
    if federated:
        return KeyChain(key=key, vault_id=keychain.source_vault_id(des),
                        not_checked=(FEDERATED_NOTE.format(client=federated),))
    vault_id = keychain.source_vault_id(des)
    if key.managed_hsm or (vault_id and str(_vault_kind(vault_id)).lower() != "microsoft.keyvault/vaults"):
        return KeyChain(key=key, vault_id=vault_id, not_checked=(MANAGED_HSM_NOTE,))
    if not vault_id:
        return KeyChain(key=key, not_checked=(NO_VAULT_NOTE,))
    unread: list[Unread] = []
    vault_name = vault_id.rstrip("/").rsplit("/", 1)[-1]
    vault = reads.vault(vault_id)
    if vault is _FORBIDDEN:
        unread.append(Unread(f"vault '{vault_name}'", keychain.READ_VAULT, vault_id))
    version: object = None
    if vault is not _NOT_FOUND and key.version:
        version = reads.key_version(vault_id, key)
        if version is _FORBIDDEN:
            unread.append(Unread(f"key '{key.name}' version {key.version}", keychain.READ_KEY_VERSION,
                                 keychain.key_id(vault_id, key)))
    vault_body = vault if isinstance(vault, dict) else None
    assignments, definitions = None, {}
    if vault_body is not None and keychain.rbac_vault(vault_body):
        assignments, definitions = _rbac(reads, des, vault_id, key, unread)
    return KeyChain(key=key, vault_id=vault_id, vault=vault_body, vault_found=vault is not _NOT_FOUND,
                    key_version=version if isinstance(version, dict) else None,
                    key_found=version is not _NOT_FOUND, assignments=assignments, role_definitions=definitions,
                    unread=tuple(unread))


def _rbac(reads: Reads, des: Json, vault_id: str, key: keychain.KeyRef,
          unread: list[Unread]) -> tuple[dict[str, tuple[Json, ...]] | None, dict[str, Json]]:
    scope = keychain.key_id(vault_id, key)
    subscription = resource_ids.parse_resource_id(vault_id).subscription
    assignments: dict[str, tuple[Json, ...]] = {}
    definitions: dict[str, Json] = {}
    for identity in keychain.identities(des):
        listed = reads.assignments(scope, identity.principal_id)
        if not isinstance(listed, dict):
            unread.append(Unread(f"role assignments of the set's {identity.label}", keychain.READ_ROLE_ASSIGNMENTS,
                                 scope))
            return None, definitions
        items = tuple(listed.get("value") or [])
        assignments[identity.principal_id.lower()] = items
        for item in items:
            role = str((item.get("properties") or {}).get("roleDefinitionId") or "")
            if not role or role.lower() in definitions:
                continue
            body = reads.role_definition(role, subscription)
            if isinstance(body, dict):
                definitions[role.lower()] = body
            elif body is _FORBIDDEN:
                unread.append(Unread(f"role definition {role.rsplit('/', 1)[-1]}", keychain.READ_ROLE_DEFINITIONS,
                                     f"/subscriptions/{subscription}"))
    return assignments, definitions


def read_key_chains(arm: Arm, sets: dict[str, Json | None], kept: dict[str, Json]) -> dict[str, KeyChain]:
    """The key chain of each DES found (by lower-case DES ID), each vault and key version read once."""
    reads = Reads(arm, kept)
    return {des_id: read_key_chain(reads, body) for des_id, body in sets.items() if body is not None}
