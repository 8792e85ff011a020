"""The local stand-ins clean up after themselves: a run leaves nothing in the temp folder."""

from __future__ import annotations

import tempfile

from devstack.azurite import Azurite
from devstack.stack import SEED_WORLD
from simulator import Simulator


def test_azurite_and_simulator_leave_the_temp_folder_empty(tmp_path, monkeypatch):
    """Azurite's log and the simulator's TLS files live only as long as their processes."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with Azurite():
        assert list(tmp_path.iterdir()) != []  # while running, the log is there
    with Simulator(SEED_WORLD):
        pass
    assert list(tmp_path.iterdir()) == []
