"""`python -m core plan --check` against the simulator: the live pre-flight checks, read-only."""

from __future__ import annotations

import json
import subprocess
import sys

from devstack.azurite import PROJECT_ROOT
from tests.support.live_app import App


def plan_check(app: App, example_name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", "plan", "--check", str(PROJECT_ROOT / "examples" / example_name)],
        env=app.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )


def test_seed_example_passes_the_live_checks_without_writing(app: App):
    done = plan_check(app, "seed-cli-managed-image.json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["resourceId"].endswith("/versions/1.0.0")
    assert [f for f in plan["findings"] if f["severity"] == "error"] == []
    assert {r.method for r in app.sim.requests} == {"GET"}


def test_plan_check_shows_the_key_chain_verdict_of_each_set_without_writing(app: App):
    """One verdict per set, in the JSON and one line each on stderr: the seed's implied vaults are healthy."""
    done = plan_check(app, "seed-cli-managed-image.json")
    assert done.returncode == 0, done.stderr
    chains = json.loads(done.stdout)["keyChains"]
    assert [c["diskEncryptionSetId"].rsplit("/", 1)[-1] for c in chains] == [
        "WestUSDiskEncryptionSet1", "WestUSDiskEncryptionSet2", "EastUS2DiskEncryptionSet1", "EastUS2DiskEncryptionSet2"]
    assert all(c["verdict"].startswith("healthy: key ") for c in chains), chains
    lines = [line for line in done.stderr.splitlines() if line.startswith("key chain: ")]
    assert len(lines) == 4 and "vault 'westuskv'" in lines[0]
    assert any("/providers/Microsoft.KeyVault/vaults/" in r.path for r in app.sim.requests)
    assert {r.method for r in app.sim.requests} == {"GET"}


def test_seed_second_example_is_refused_for_the_region_mismatch(app: App):
    """Region eastus with EastUS2... disk encryption sets: each DES named with both regions."""
    done = plan_check(app, "seed-cli-snapshots.json")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    mismatch = [line for line in errors if "EastUS2DiskEncryptionSet1" in line]
    assert mismatch, done.stderr
    assert "eastus2" in mismatch[0] and "eastus" in mismatch[0].replace("eastus2", "")
    assert {r.method for r in app.sim.requests} == {"GET"}
