"""Session-wide test support: every ARM request any simulator records is also collected here, so that
tests/deploy/test_least_privilege.py, which runs last, can compare the app's calls with infra/'s roles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from simulator.http_types import RecordedRequest
from simulator.simulator import Simulator


@dataclass(frozen=True)
class ArmCall:
    method: str
    path: str
    user_agent: str
    status: int
    test: str  # the node ID of the test that was running


ARM_CALLS = pytest.StashKey[list[ArmCall]]()
LAST = "after_all_tests"


def pytest_configure(config: pytest.Config) -> None:
    calls: list[ArmCall] = []
    config.stash[ARM_CALLS] = calls
    original = Simulator.record

    def record(self: Simulator, recorded: RecordedRequest) -> None:
        original(self, recorded)
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
        user_agent = next((v for k, v in recorded.headers.items() if k.lower() == "user-agent"), "")
        calls.append(ArmCall(recorded.method.upper(), recorded.path, user_agent, recorded.status, test))

    Simulator.record = record  # type: ignore[method-assign]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker(LAST) is not None)  # stable: the others keep their order


@pytest.fixture
def arm_calls(request: pytest.FixtureRequest) -> Iterator[list[ArmCall]]:
    """The ARM requests recorded so far in this session, by every simulator."""
    yield list(request.config.stash[ARM_CALLS])
