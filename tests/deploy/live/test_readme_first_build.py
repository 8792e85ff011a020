"""The README's "Your first build", run as a newcomer would run it: the simulator started with the README's own
command (its `export` lines read back), the settings file copied with the README's `cp` line, then each
`python -m core` line of the section in order, and the rejected second example the section promises.

Azurite is the devstack's, on free ports (the README's runs on the default ports, which other tests may hold);
polling is made fast through the environment, which wins over local.settings.json as the README says.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.azurite import PROJECT_ROOT, Azurite
from tests.deploy import doc_text as doc

pytestmark = pytest.mark.integration
SECTION = doc.section(doc.read(PROJECT_ROOT / "README.md"), "Your first build")
LINES = doc.command_lines(SECTION)
FAST = {"POLL_INITIAL_SECONDS": "1", "POLL_MAX_SECONDS": "2", "RETRY_INITIAL_SECONDS": "1",
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.500"}  # fmt: skip


def python_line(line: str) -> list[str]:
    """A README line run with this interpreter (the README's `.venv/bin/python`)."""
    words = shlex.split(line)
    assert words[0] == ".venv/bin/python", line
    return [sys.executable, *words[1:]]


@pytest.fixture
def simulator() -> Iterator[dict[str, str]]:
    """The simulator as the README starts it; the settings its `export` lines print."""
    (line,) = [line for line in LINES if " -m simulator " in line]
    process = subprocess.Popen(python_line(line), cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    exports: dict[str, str] = {}
    try:
        assert process.stdout is not None
        while len(exports) < 4:
            output = process.stdout.readline()
            assert output, "the simulator stopped before printing its export lines"
            if output.startswith("export "):
                name, _, value = output[len("export "):].strip().partition("=")
                exports[name] = shlex.split(value)[0]
        yield exports
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def azurite() -> Iterator[str]:
    with Azurite() as running:
        yield running.connection_string


def test_the_first_build_runs_as_the_readme_says(simulator: dict[str, str], azurite: str, tmp_path: Path):
    # A checkout of its own, so that local.settings.json is made where the README makes it without touching ours.
    for name in ("examples", "local.settings.sample.json", "host.json", "templates"):
        (tmp_path / name).symlink_to(PROJECT_ROOT / name)
    (copy,) = [line for line in LINES if line.startswith("cp ")]
    subprocess.run(shlex.split(copy), cwd=tmp_path, check=True)
    env = {**os.environ, **simulator, **FAST, "AzureWebJobsStorage": azurite, "PYTHONPATH": str(PROJECT_ROOT)}

    def run(line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(python_line(line), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)

    core_lines = [line for line in LINES if " -m core " in line]
    assert [shlex.split(line)[3] for line in core_lines] == ["plan", "submit", "worker", "status", "status", "submit"]
    build_id = ""
    for line in core_lines[:-1]:
        done = run(line.replace("<build ID>", build_id))
        assert done.returncode == 0, f"{line}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        if " submit " in line:
            build_id = done.stdout.strip()
            assert re.fullmatch(r"[0-9a-f]{24}", build_id), done.stdout
    assert "Succeeded" in done.stdout and "published in 2 region(s)" in done.stdout

    # The second example: refused while 1.0.0 is taken; as 1.0.1, Rejected by its DES in the wrong region.
    refused = run(core_lines[-1])
    assert refused.returncode == 7, refused.stdout + refused.stderr
    request = json.loads((PROJECT_ROOT / "examples" / "seed-cli-snapshots.json").read_text())
    (tmp_path / "copy.json").write_text(json.dumps({**request, "version": "1.0.1"}))
    assert '`"version"` to `"1.0.1"`' in SECTION
    worker, status = (next(line for line in core_lines if line.endswith(end)) for end in
                      ("worker --until-idle", "status <build ID>"))  # fmt: skip
    rejected = run(core_lines[-1].replace("examples/seed-cli-snapshots.json", "copy.json")).stdout.strip()
    assert run(worker).returncode == 0
    done = run(status.replace("<build ID>", rejected))
    assert done.returncode == 3, done.stdout
    assert "Rejected" in done.stdout and "DiskEncryptionSetRegion" in done.stdout
