"""The key chain's pure verdicts: key URLs, identities, access policies, role definitions (wildcards and
notDataActions), assignment scopes, and the one-line verdict `plan --check` prints."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from core import policy
from core.policy import key_access, keychain
from core.policy.enforcement import load_profile
from core.policy.keychain import Identity, KeyChain

from .compliant import (
    CRYPTO_USER_ROLE,
    NOW,
    RG,
    SUB,
    des_id,
    key_version_fact,
    keyed_facts,
    principal_of,
    request,
    vault_fact,
    vault_id,
    with_chain,
)
from .test_rules import CURRENT, WEST_OS

PRINCIPAL = principal_of(WEST_OS)
KEY = keychain.parse_key_url("https://kv-westus.vault.azure.net/keys/westus-os/0123456789abcdef")
CHAIN = KeyChain(key=KEY, vault_id=vault_id("westus"))


def role(*blocks: dict[str, list[str]], role_id: str = CRYPTO_USER_ROLE) -> dict[str, Any]:
    return {"id": role_id, "name": role_id.rsplit("/", 1)[-1], "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": "r", "type": "BuiltInRole", "permissions": list(blocks)}}


def assignment(scope: str, role_id: str = CRYPTO_USER_ROLE, principal: str = PRINCIPAL) -> dict[str, Any]:
    return {"id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/a1", "name": "a1",
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"roleDefinitionId": role_id, "principalId": principal, "scope": scope}}


def rbac_chain(assignments: list[dict[str, Any]], definitions: list[dict[str, Any]]) -> KeyChain:
    return KeyChain(key=KEY, vault_id=vault_id("westus"), vault=vault_fact("westus", rbac=True),
                    assignments={PRINCIPAL: tuple(assignments)},
                    role_definitions={d["id"].lower(): d for d in definitions})


SERVICE_ENCRYPTION_USER = {"dataActions": list(keychain.NEEDED_DATA_ACTIONS), "notDataActions": []}


def test_key_urls() -> None:
    assert KEY is not None and (KEY.vault_name, KEY.name, KEY.version) == ("kv-westus", "westus-os", "0123456789abcdef")
    assert not KEY.managed_hsm
    hsm = keychain.parse_key_url("https://myhsm.managedhsm.azure.net/keys/k/v1")
    assert hsm is not None and hsm.managed_hsm
    assert keychain.parse_key_url("https://kv.vault.azure.net/keys/k") is not None  # versionless
    assert keychain.parse_key_url("http://kv.vault.azure.net/keys/k/v") is None
    assert keychain.parse_key_url("https://kv.vault.azure.net/secrets/k/v") is None
    assert keychain.parse_key_url(None) is None


def test_identities_system_then_user_assigned() -> None:
    des = {"identity": {"type": "SystemAssigned, UserAssigned", "principalId": "p0",
                        "userAssignedIdentities": {"/subscriptions/s/resourceGroups/r/providers/Microsoft."
                                                   "ManagedIdentity/userAssignedIdentities/uami": {"principalId": "p1"}}}}
    assert keychain.identities(des) == [Identity("system-assigned identity", "p0"),
                                        Identity("user-assigned identity 'uami'", "p1")]


def test_access_policies_add_up_and_all_counts() -> None:
    vault = vault_fact("westus")
    vault["properties"]["accessPolicies"] = [
        {"objectId": PRINCIPAL.upper(), "permissions": {"keys": ["Get"]}},
        {"objectId": PRINCIPAL, "permissions": {"keys": ["WrapKey", "unwrapkey"]}},
    ]
    assert key_access.missing_policy_permissions(vault, PRINCIPAL) == []
    vault["properties"]["accessPolicies"] = [{"objectId": PRINCIPAL, "permissions": {"keys": ["all"]}}]
    assert key_access.missing_policy_permissions(vault, PRINCIPAL) == []
    assert key_access.missing_policy_permissions(vault, "someone-else") == ["get", "wrapKey", "unwrapKey"]


@pytest.mark.parametrize(("blocks", "missing"), [
    ([SERVICE_ENCRYPTION_USER], []),
    ([{"dataActions": ["Microsoft.KeyVault/vaults/*"]}], []),  # Key Vault Administrator
    ([{"dataActions": ["microsoft.keyvault/vaults/keys/*"]}], []),  # case-insensitive
    ([{"dataActions": ["Microsoft.KeyVault/vaults/*/read"]}],  # Key Vault Reader: read only
     ["Microsoft.KeyVault/vaults/keys/wrap/action", "Microsoft.KeyVault/vaults/keys/unwrap/action"]),
    ([{"dataActions": ["Microsoft.KeyVault/vaults/keys/*"],
       "notDataActions": ["Microsoft.KeyVault/vaults/keys/unwrap/action"]}],
     ["Microsoft.KeyVault/vaults/keys/unwrap/action"]),
    # notDataActions only subtract within their own block: another block may grant the action
    ([{"dataActions": ["Microsoft.KeyVault/vaults/keys/*"], "notDataActions": ["Microsoft.KeyVault/vaults/keys/*"]},
      SERVICE_ENCRYPTION_USER], []),
    ([{"actions": ["*"], "dataActions": []}], list(keychain.NEEDED_DATA_ACTIONS)),  # Owner: no data actions
])
def test_role_definitions_wildcards_and_not_data_actions(blocks: list[dict[str, list[str]]], missing: list[str]) -> None:
    chain = rbac_chain([assignment(vault_id("westus"))], [role(*blocks)])
    judged = key_access.access(chain, Identity("system-assigned identity", PRINCIPAL))
    assert (judged.model, list(judged.missing), judged.unknown) == ("RBAC", missing, None)


@pytest.mark.parametrize(("scope", "applies"), [
    (f"/subscriptions/{SUB}", True),
    (f"/subscriptions/{SUB}/resourceGroups/{RG}", True),
    (vault_id("westus"), True),
    (f"{vault_id('westus')}/keys/westus-os", True),
    (f"{vault_id('westus')}/keys/another", False),  # below the vault, on another key
    (vault_id("westus2"), False),  # a vault whose name merely starts alike
    (f"/subscriptions/{SUB}/resourceGroups/{RG}2", False),
])
def test_assignments_apply_at_the_key_and_above(scope: str, applies: bool) -> None:
    chain = rbac_chain([assignment(scope)], [role(SERVICE_ENCRYPTION_USER)])
    assert (not key_access.access(chain, Identity("x", PRINCIPAL)).missing) is applies


def test_roles_add_up_across_assignments_and_unread_definitions_are_unknown_not_missing() -> None:
    read_role = role({"dataActions": ["Microsoft.KeyVault/vaults/keys/read"]}, role_id="/r/read")
    wrap_role = role({"dataActions": ["Microsoft.KeyVault/vaults/keys/wrap/action",
                                      "Microsoft.KeyVault/vaults/keys/unwrap/action"]}, role_id="/r/wrap")
    both = [assignment(vault_id("westus"), "/r/read"), assignment(vault_id("westus"), "/r/wrap")]
    assert not key_access.access(rbac_chain(both, [read_role, wrap_role]), Identity("x", PRINCIPAL)).missing
    judged = key_access.access(rbac_chain(both, [read_role]), Identity("x", PRINCIPAL))
    assert judged.missing == () and judged.unknown and "/r/wrap" in judged.unknown


def test_an_rbac_vault_ignores_access_policies() -> None:
    vault = vault_fact("westus", (PRINCIPAL,), rbac=True)
    chain = KeyChain(key=KEY, vault_id=vault_id("westus"), vault=vault, assignments={})
    assert key_access.access(chain, Identity("x", PRINCIPAL)).missing == keychain.NEEDED_DATA_ACTIONS


@pytest.mark.parametrize(("acls", "blocks"), [
    ({"defaultAction": "Deny", "bypass": "None"}, True),
    ({"defaultAction": "Deny"}, True),
    ({"defaultAction": "Deny", "bypass": "AzureServices"}, False),
    ({"defaultAction": "Allow", "bypass": "None"}, False),
    ({}, False),
])
def test_firewall(acls: dict[str, str], blocks: bool) -> None:
    vault = vault_fact("westus")
    vault["properties"]["networkAcls"] = acls
    assert keychain.firewall_blocks_trusted_services(vault) is blocks


def test_expiry_horizon_and_key_shapes() -> None:
    version = key_version_fact("westus", "k", exp=int((NOW + timedelta(days=29)).timestamp()))
    assert keychain.expiry_state(version, NOW, 30)[0] == "expiring"  # type: ignore[index]
    assert keychain.expiry_state(version, NOW, 7) is None
    assert keychain.expiry_state(version, NOW + timedelta(days=30), 30)[0] == "expired"  # type: ignore[index]
    assert keychain.unsupported_key({"properties": {"kty": "RSA-HSM", "keySize": 4096}}) is None
    assert keychain.unsupported_key({"properties": {"kty": "oct-HSM"}}) == "its type is oct-HSM"
    assert keychain.missing_key_ops({"properties": {}}) == []  # not stated: all the type allows


def test_a_healthy_chain_has_no_findings_and_a_healthy_verdict() -> None:
    gathered = keyed_facts()
    assert policy.evaluate(request(), gathered, config=CURRENT) == []
    des = gathered.des(WEST_OS)
    assert des is not None
    assert key_access.verdict(gathered.key_chains[WEST_OS.lower()], des, NOW).startswith("healthy: key 'westus-os'")


def test_every_key_finding_names_the_disk_region_set_key_and_fix() -> None:
    gathered = with_chain(keyed_facts(), WEST_OS, key_version=key_version_fact("westus", "westus-os", enabled=False))
    [finding] = policy.evaluate(request(), gathered, config=CURRENT)
    assert finding.field == "targetRegions[0].encryption.osDiskImage.diskEncryptionSetId"
    for part in ("'westus-os'", "the OS disk in 'westus'", "key 'westus-os'", "vault 'kv-westus'",
                 "az keyvault key set-attributes"):
        assert part in finding.message


def test_unreadable_is_a_warning_naming_action_and_scope_and_the_build_goes_on() -> None:
    unread = keychain.Unread("vault 'kv-westus'", keychain.READ_VAULT, vault_id("westus"))
    gathered = with_chain(keyed_facts(), WEST_OS, vault=None, key_version=None, unread=(unread,))
    [finding] = policy.evaluate(request(), gathered, config=CURRENT)
    assert finding.severity is policy.Severity.WARNING
    assert keychain.READ_VAULT in finding.message and vault_id("westus") in finding.message


def test_expiring_is_an_error_in_the_hardened_profile_and_the_horizon_is_a_fact() -> None:
    soon = int((NOW + timedelta(days=10)).timestamp())
    gathered = with_chain(keyed_facts(), WEST_OS, key_version=key_version_fact("westus", "westus-os", exp=soon))
    assert [f.severity for f in policy.evaluate(request(), gathered, config=CURRENT)] == [policy.Severity.WARNING]
    assert [f.severity for f in policy.evaluate(request(), gathered, config=load_profile("hardened"))] == [
        policy.Severity.ERROR]
    assert policy.evaluate(request(), replace(gathered, key_horizon_days=5), config=CURRENT) == []


def test_sets_of_other_subscriptions_have_no_chain() -> None:
    """Only sets in the image's subscription are read; a chain is never looked up for another's."""
    assert keyed_facts().key_chain(des_id("westus", "os", sub="99999999-8888-7777-6666-555555555555")) is None


def test_plan_verdicts_name_what_is_wrong_with_each_chain() -> None:
    """One verdict per set the request names: the broken one says what, the others are healthy."""
    expired = int((NOW - timedelta(days=1)).timestamp())
    vault = vault_fact("westus", (PRINCIPAL,))
    vault["properties"]["networkAcls"] = {"defaultAction": "Deny", "bypass": "None"}
    gathered = with_chain(keyed_facts(), WEST_OS, vault=vault,
                          key_version=key_version_fact("westus", "westus-os", exp=expired, enabled=False))
    verdicts = policy.key_chain_verdicts(request(), gathered)
    assert len(verdicts) == 6 and verdicts[0]["diskEncryptionSetId"] == WEST_OS
    assert verdicts[0]["verdict"] == ("key disabled; key expired 2029-12-31; vault firewall blocks trusted services")
    assert all(v["verdict"].startswith("healthy: ") for v in verdicts[1:])
