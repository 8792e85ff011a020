"""``python -m simulator``: starts, prints its endpoint and the export lines, serves, stops on a signal."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from .helpers import SEED

ROOT = Path(__file__).resolve().parents[2]


def test_command_line_prints_endpoint_and_exports_then_serves():
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--world", str(SEED), "--port", "0", "--replication-seconds", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(7)]
        endpoint = re.fullmatch(r"ARM simulator listening on (https://127\.0\.0\.1:\d+)", lines[0]).group(1)
        ca_file = lines[1].removeprefix("CA file: ")
        exports = dict(line.removeprefix("export ").split("=", 1) for line in lines[3:])
        assert exports["ARM_ENDPOINT"] == endpoint and exports["ARM_CA_BUNDLE"] == ca_file
        assert exports["IDENTITY_ENDPOINT"].startswith("http://127.0.0.1:")
        answer = requests.get(f"{endpoint}/_simulator/requests", verify=ca_file, timeout=10)
        assert answer.json() == {"value": []}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_command_line_reports_an_invalid_world(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"subscriptions": []}')
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--world", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "$.subscriptions: is empty; add at least one subscription" in result.stderr
