"""Session-wide test support: every ARM request any simulator records is also collected here, so that
tests/deploy/test_least_privilege.py, which runs last, can compare the app's calls with infra/'s roles.

`make test` runs the suite on several xdist workers, each a session of its own. With ``ARM_CALLS_DIR`` set,
every session also writes the calls it saw and the test files it ran to that folder as JSON lines, and the
``after_all_tests`` tests, run afterwards in one session of their own, read them all back.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

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


# The live app (Azurite, the ARM simulator, the app's runtime and worker) for every live/ folder.
pytest_plugins = ["tests.support.live_app"]

ARM_CALLS = pytest.StashKey[list[ArmCall]]()
LAST = "after_all_tests"
CALLS_DIR_SETTING = "ARM_CALLS_DIR"


def calls_dir() -> Path | None:
    """The folder sessions share their calls through (``ARM_CALLS_DIR``), or None for one session alone."""
    value = os.environ.get(CALLS_DIR_SETTING, "").strip()
    return Path(value) if value else None


def shared_record() -> tuple[list[ArmCall], set[str]]:
    """Every call and every test file the earlier sessions of this run wrote to ``ARM_CALLS_DIR``."""
    calls: list[ArmCall] = []
    files: set[str] = set()
    folder = calls_dir()
    for path in sorted(folder.glob("*.jsonl")) if folder else ():
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if "file" in entry:
                files.add(entry["file"])
            else:
                calls.append(ArmCall(**entry))
    return calls, files


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
    _sort_and_mark(items)


def pytest_sessionfinish(session: pytest.Session) -> None:
    folder = calls_dir()
    if folder is None or not hasattr(session, "items"):
        return
    folder.mkdir(parents=True, exist_ok=True)
    files = sorted({item.nodeid.split("::")[0] for item in session.items})
    lines = [json.dumps({"file": name}) for name in files]
    lines += [json.dumps(asdict(call)) for call in session.config.stash[ARM_CALLS]]
    (folder / f"{uuid.uuid4().hex}.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


@pytest.fixture
def arm_calls(request: pytest.FixtureRequest) -> Iterator[list[ArmCall]]:
    """The ARM requests recorded so far in this run: this session's, and those of earlier sessions."""
    yield list(request.config.stash[ARM_CALLS]) + shared_record()[0]


# The fast lane (`pytest -m "not integration"`) needs neither Azurite nor the ARM simulator. Tests that do live in
# a `live/` folder beside the fast tests of their package, or in tests/simulator/ and tests/devstack/ (the local
# stand-ins, tested by running them); each of those gets the `integration` marker from its folder.
ROOT = Path(__file__).resolve().parents[1]
LIVE_FOLDER = "live"
LIVE_PACKAGES = ("simulator", "devstack")
# Fixtures that start Azurite or the simulator (directly or through the live app): asked for outside a live
# folder, they are a collection error naming the fix.
LIVE_FIXTURES = frozenset({"app", "stack", "sim", "rich", "worker_azurite"})


def is_live(path: Path) -> bool:
    """Whether the test file at ``path`` is in a folder whose tests need Azurite or the simulator."""
    parts = path.resolve().relative_to(ROOT / "tests").parts
    return LIVE_FOLDER in parts[:-1] or parts[0] in LIVE_PACKAGES


def _sort_and_mark(items: list[pytest.Item]) -> None:
    misplaced = []
    for item in items:
        if is_live(item.path):
            item.add_marker(pytest.mark.integration)
        elif LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            misplaced.append(item.nodeid)
    if misplaced:
        raise pytest.UsageError("these tests start Azurite or the simulator but are not in a live/ folder (move them "
                                "to tests/<package>/live/): " + ", ".join(misplaced[:10]))
    items.sort(key=lambda item: item.get_closest_marker(LAST) is not None)  # stable: the others keep their order


@pytest.fixture(autouse=True)
def _fast_lane_starts_no_service(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test outside the live folders that starts Azurite or the simulator all the same fails, saying where to go."""
    if is_live(request.node.path):
        return
    from devstack.azurite import Azurite

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(f"{request.node.nodeid} starts a local service: move it to a live/ folder")

    monkeypatch.setattr(Azurite, "start", refuse)
    monkeypatch.setattr(Simulator, "start", refuse)
