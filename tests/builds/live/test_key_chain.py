"""Keys before writes, live: every key-chain rule through the real worker, Azurite and the ARM simulator.

In a world holding each broken chain (tests/support/key_world.py) the build using it is Rejected with
the rule's code and a message naming the fix, and no PUT of its version was sent; a chain the app may not
read, a Managed HSM key and a key in another tenant give warnings and the build goes on. The same requests
against the healthy twin world all Succeed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from core.app import runtime as app_runtime
from devstack.stack import LocalStack
from tests.support import key_world
from tests.support.live_app import FAST, App

pytestmark = pytest.mark.integration

FIXES = {  # a word of the fix each rule's message must give
    "KeyDisabled": "--enabled true", "KeyExpired": "--expires", "KeyNotYetValid": "--not-before",
    "KeyOperationsMissing": "--ops wrapKey unwrapKey", "KeyTypeUnsupported": "az keyvault key create",
    "KeyAccessMissing": "", "KeyVaultFirewall": "--bypass AzureServices",
    "KeyVaultPurgeProtection": "--enable-purge-protection true", "KeyNotFound": "recover",
}
_versions = itertools.count(1)


def _stack_app(world: dict[str, Any]) -> Iterator[App]:
    with pytest.MonkeyPatch.context() as patch, LocalStack(world, replication_seconds=0.3) as stack:
        env = stack.env(**FAST)
        for key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "ARM_ENDPOINT", "ARM_CA_BUNDLE", "AzureWebJobsStorage"):
            patch.setenv(key, env[key])
        app_runtime.reset_runtime()
        yield App(stack, env)
        app_runtime.reset_runtime()


def _run_every_case(app: App) -> dict[str, str]:
    """Queue one build per case, run the worker until idle; {case: build ID}."""
    builds = {}
    for case in key_world.CASES:
        request = key_world.request(case, f"1.{next(_versions)}.0")
        builds[case] = app.put_request(request)
    app.run_worker(timeout=240)
    return builds


@pytest.fixture(scope="module")
def broken() -> Iterator[tuple[App, dict[str, str]]]:
    for app in _stack_app(key_world.world()):
        yield app, _run_every_case(app)


@pytest.fixture(scope="module")
def healthy() -> Iterator[tuple[App, dict[str, str]]]:
    for app in _stack_app(key_world.world(broken=False)):
        yield app, _run_every_case(app)


def _version_puts(app: App, build_id: str) -> list[Any]:
    resource_id = app.state(build_id).resource_id.lower()
    return [r for r in app.sim.requests if r.method == "PUT" and r.path.lower() == resource_id]


def _warnings(app: App, build_id: str) -> list[str]:
    return [w for h in app.runtime.store.history(build_id) if h.kind == "Validated"
            for w in (h.detail or {}).get("warnings", [])]


@pytest.mark.parametrize("case", list(key_world.BROKEN))
def test_a_broken_key_chain_rejects_the_build_before_any_write(broken: tuple[App, dict[str, str]], case: str):
    app, builds = broken
    code = key_world.BROKEN[case][0]
    state = app.state(builds[case])
    assert str(state.status) == "Rejected", (state.status, state.error)
    problems = [p for p in state.problems if p.get("severity") == "error"]
    assert {p["code"] for p in problems} == {code}, problems
    message = problems[0]["message"]
    assert f"des-{case}" in message and "the OS disk in 'westus'" in message
    assert FIXES[code] in message
    assert problems[0]["field"] == "targetRegions[0].encryption.osDiskImage.diskEncryptionSetId"
    assert _version_puts(app, builds[case]) == []


@pytest.mark.parametrize("case", list(key_world.WARNED))
def test_what_could_not_be_checked_warns_and_the_build_goes_on(broken: tuple[App, dict[str, str]], case: str):
    app, builds = broken
    code = key_world.WARNED[case][0]
    state = app.state(builds[case])
    assert str(state.status) == "Succeeded", (state.status, state.error, state.problems)
    warnings = _warnings(app, builds[case])
    assert warnings and {w.split(":", 1)[0] for w in warnings} == {code}, warnings
    assert all(f"des-{case}" in w for w in warnings)


def test_a_refused_read_names_the_permission_and_the_scope(broken: tuple[App, dict[str, str]]):
    app, builds = broken
    """The vault and its key version are both refused: one warning each, naming the action and where to grant it."""
    vault, version = _warnings(app, builds["unreadable"])
    assert "Microsoft.KeyVault/vaults/read at scope " + key_world.vault_id("unreadable") in vault
    assert "Microsoft.KeyVault/vaults/keys/versions/read at scope " + key_world.vault_id("unreadable") in version
    refused = [r for r in app.sim.requests if r.status == 403]
    assert refused and all("kv-unreadable" in r.path for r in refused)


@pytest.mark.parametrize("case", list(key_world.HEALTHY))
def test_roles_that_grant_the_data_actions_are_access(broken: tuple[App, dict[str, str]], case: str):
    """The built-in role on the vault, and Key Vault Administrator's wildcard on the resource group."""
    app, builds = broken
    state = app.state(builds[case])
    assert str(state.status) == "Succeeded" and _warnings(app, builds[case]) == []


def test_the_same_requests_succeed_against_the_healthy_world(healthy: tuple[App, dict[str, str]]):
    app, builds = healthy
    ended = {case: str(app.state(build_id).status) for case, build_id in builds.items()}
    assert set(ended.values()) == {"Succeeded"}, ended
    assert all(_warnings(app, build_id) == [] for build_id in builds.values())


def test_each_vault_and_key_version_is_read_once_per_build(healthy: tuple[App, dict[str, str]]):
    """One build per vault here: each vault and its key version GET once; role reads only for RBAC vaults."""
    app, _ = healthy
    reads = [r.path.lower() for r in app.sim.requests if r.method == "GET" and "microsoft.keyvault" in r.path.lower()]
    vaults = [p for p in reads if "/keys/" not in p]
    assert len(vaults) == len(set(vaults)) == len(key_world.CASES)
    role_reads = [r for r in app.sim.requests if "microsoft.authorization" in r.path.lower()]
    assert {r.path.rsplit("/", 1)[-1].lower() for r in role_reads if "roleassignments" in r.path.lower()} == {
        "roleassignments"}
    assert len([r for r in role_reads if "roleassignments" in r.path.lower()]) == len(key_world.HEALTHY)



@pytest.fixture(scope="module")
def hardened() -> Iterator[tuple[App, str]]:
    for app in _stack_app(key_world.world()):
        app.env["POLICY_PROFILE"] = "hardened"  # the worker's setting: a stricter profile
        build = app.put_request(key_world.request("expiring", f"1.{next(_versions)}.0"))
        app.run_worker(timeout=240)
        yield app, build


def test_a_key_expiring_within_the_horizon_rejects_the_build_under_the_hardened_profile(hardened: tuple[App, str]):
    app, build = hardened
    state = app.state(build)
    assert str(state.status) == "Rejected", (state.status, state.error, state.problems)
    problems = [p for p in state.problems if p.get("severity") == "error"]
    assert {p["code"] for p in problems} == {"KeyExpiringSoon"}, problems
    assert "des-expiring" in problems[0]["message"] and "the OS disk in 'westus'" in problems[0]["message"]
    assert _version_puts(app, build) == []
