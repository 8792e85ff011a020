"""`python -m bench.targets --budget off` end to end, small: 6 builds through one worker process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devstack.azurite import PROJECT_ROOT


def test_the_off_scenario_prints_its_targets_and_saves_its_figures(tmp_path: Path) -> None:
    saved = tmp_path / "off.json"
    done = subprocess.run([sys.executable, "-m", "bench.targets", "--budget", "off", "--builds", "6", "--workers", "1",
                           "--save", str(saved)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "worker process CPU per step" in done.stdout
    report = json.loads(saved.read_text())
    off = report["scenarios"]["off"]
    assert off["figures"]["statuses"] == {"Succeeded": 6}
    assert off["target_figures"]["floor_cpu_ms_per_step"] > 0
    assert [t["scenario"] for t in report["targets"]] == ["off", "off"]
