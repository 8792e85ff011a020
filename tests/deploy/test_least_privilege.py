"""Least privilege, both ways: every ARM call the app made in this session's integration and end-to-end
tests maps to an action its custom roles in infra/ hold, and the roles hold no action the app never used.

The simulator records every request; tests/conftest.py collects them all, and this test runs after
every other. The app's calls are told from a test's own SDK calls by the User-Agent prefix the app sets
(core/azure/arm.py). A call with no row in tests/deploy/arm_actions.py fails the test, naming it.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from core.azure.arm import USER_AGENT
from devstack.azurite import PROJECT_ROOT
from tests.conftest import CALLS_DIR_SETTING, ArmCall, calls_dir, shared_record
from tests.deploy import arm_actions, bicep

# The suites that drive the app against the simulator (every live/ folder but the simulator's own and the local
# host's); without them in the session there is nothing to compare.
DRIVERS = "tests/*/live/"


# Tests that call ARM through the app's clients to test the clients themselves, not anything the app does.
NOT_APP_BEHAVIOUR = {
    "tests/azure/live/test_arm_guard.py::test_every_client_of_the_factory_has_the_guard":
        "lists providers and features only to see the endpoint guard on every client",
    "tests/azure/live/test_arm_guard.py::test_the_key_chain_clients_have_the_guard":
        "lists role assignments at subscription scope only to see the endpoint guard on the key chain clients",
}


def app_calls(calls: list[ArmCall]) -> list[ArmCall]:
    return [c for c in calls if c.user_agent.startswith(USER_AGENT) and c.test.split("[")[0] not in NOT_APP_BEHAVIOUR]


def required_actions(calls: list[ArmCall]) -> tuple[dict[tuple[str, str], set[str]], list[str]]:
    """(role variable, action) -> the tests whose calls need it; and the calls no rule maps."""
    needed: dict[tuple[str, str], set[str]] = defaultdict(set)
    unmapped: list[str] = []
    for call in calls:
        rule = arm_actions.rule_for(call.method, call.path)
        if rule is None:
            unmapped.append(f"{call.method} {call.path}  (in {call.test})")
            continue
        for action, roles in ((rule.action, rule.roles), *rule.linked):
            for role in roles:
                needed[(role, action)].add(call.test)
    return needed, sorted(set(unmapped))


def compare(needed: dict[tuple[str, str], set[str]], roles: dict[str, list[str]]) -> list[str]:
    """Every difference between what the calls need and what the roles hold, one line each."""
    problems = []
    held = {(role, action) for role, actions in roles.items() for action in actions}
    for role, action in sorted(set(needed) - held):
        tests = ", ".join(sorted(needed[(role, action)])[:2])
        problems.append(f"infra/app/roles.bicep {role} lacks {action}: Azure would refuse the app (used in {tests})")
    for role, action in sorted(held - set(needed)):
        problems.append(f"infra/app/roles.bicep {role} holds {action}, which no ARM call of the app needs: remove it")
    for role, actions in roles.items():
        problems.extend(f"infra/app/roles.bicep {role} lists {a} twice" for a in sorted({a for a in actions if actions.count(a) > 1}))
    return problems


@pytest.mark.after_all_tests
def test_the_custom_roles_hold_exactly_the_actions_the_app_uses(request: pytest.FixtureRequest, arm_calls: list[ArmCall]):
    ran = {item.nodeid.split("::")[0] for item in request.session.items} | shared_record()[1]
    drivers = {str(p.relative_to(PROJECT_ROOT)) for p in PROJECT_ROOT.glob(DRIVERS + "test_*.py")}
    if not drivers <= ran:
        # make test shares the record through ARM_CALLS_DIR: an incomplete one there is a failure, not a skip.
        assert calls_dir() is None, f"{CALLS_DIR_SETTING} lacks the calls of {sorted(drivers - ran)}"
        pytest.skip(f"needs every test file of {DRIVERS} in the same run, as `make test` runs them "
                    f"({len(drivers - ran)} not selected)")
    calls = app_calls(arm_calls)
    assert len(calls) > 100, f"only {len(calls)} ARM calls by the app were recorded; is the collector in tests/conftest.py working?"
    needed, unmapped = required_actions(calls)
    assert not unmapped, "ARM calls with no RBAC action: add a row to tests/deploy/arm_actions.py and the action to " \
                         "infra/app/roles.bicep:\n" + "\n".join(unmapped)
    problems = compare(needed, bicep.role_actions())
    assert not problems, "\n".join(problems)


def test_a_missing_or_extra_action_is_reported():
    """The comparison itself: one action short and one too many are both named."""
    needed = {("builderActions", "Microsoft.Compute/galleries/read"): {"t1"},
              ("builderActions", "Microsoft.Compute/galleries/images/versions/write"): {"t2"}}  # fmt: skip
    roles = {"builderActions": ["Microsoft.Compute/galleries/read", "Microsoft.Compute/disks/read"]}
    assert compare(needed, roles) == [
        "infra/app/roles.bicep builderActions lacks Microsoft.Compute/galleries/images/versions/write: Azure would "
        "refuse the app (used in t2)",
        "infra/app/roles.bicep builderActions holds Microsoft.Compute/disks/read, which no ARM call of the app needs: "
        "remove it",
    ]


def test_every_rule_names_a_role_and_an_action_of_its_namespace():
    roles = bicep.role_actions()
    for rule in arm_actions.RULES:
        assert rule.roles and all(role in roles for role in rule.roles), rule
        namespace = rule.action.split("/", 1)[0]
        assert namespace in ("Microsoft.Compute", "Microsoft.Features", "Microsoft.Resources", "Microsoft.Network",
                             "Microsoft.KeyVault", "Microsoft.Authorization"), rule
    assert arm_actions.rule_for("PUT", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/"
                                       "images/i/versions/1.0.0").action.endswith("versions/write")  # fmt: skip
    assert arm_actions.rule_for("DELETE", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/"
                                          "images/i/versions/1.0.0") is None  # fmt: skip
    vault = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
    assert arm_actions.rule_for("GET", f"{vault}/keys/k/versions/v").action == "Microsoft.KeyVault/vaults/keys/versions/read"
    assert arm_actions.rule_for("GET", f"{vault}/keys/k") is None  # the app reads the version the set names only
    assert arm_actions.rule_for("GET", f"{vault}/keys/k/providers/Microsoft.Authorization/roleAssignments").roles == (
        "keyChainActions",)
    nic = arm_actions.rule_for("PUT", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/n")
    assert nic.linked == (("Microsoft.Network/virtualNetworks/subnets/join/action", ("networkActions",)),)
