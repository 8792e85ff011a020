"""`python -m core` as an operator uses it against the local stack: exit codes that follow the outcome, a
submitted build visible at once, duplicates and no-op cancels said, one line instead of a traceback for
Ctrl-C, a closed pipe, unreachable storage or ARM and a missing credential, local.settings.json read."""

from __future__ import annotations

import copy
import json
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.entry.cli.outcomes import Exit
from devstack.azurite import PROJECT_ROOT
from tests.support.live_app import App, example

SEED = "seed-cli-managed-image.json"
CLOSED = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT5"
          "0uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;"
          "TableEndpoint=http://127.0.0.1:1/devstoreaccount1")


def cli(app: App, *args: str, env: dict[str, str] | None = None, cwd: Path = PROJECT_ROOT,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", *args], env=env or app.env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def request_file(tmp_path: Path, version: str = "1.0.0") -> str:
    request = copy.deepcopy(example(SEED))
    request["version"] = version
    path = tmp_path / f"request-{version}.json"
    path.write_text(json.dumps(request))
    return str(path)


def test_submit_then_status_is_queued_then_exit_codes_follow_the_outcome(app: App, tmp_path: Path):
    submitted = cli(app, "submit", request_file(tmp_path))
    assert submitted.returncode == 0, submitted.stderr
    build_id = submitted.stdout.strip()
    queued = cli(app, "status", build_id)
    assert queued.returncode == Exit.IN_FLIGHT, queued.stderr
    assert "status         Queued" in queued.stdout and "waiting on the request queue" in queued.stdout
    assert json.loads(cli(app, "status", "--json", build_id).stdout)["status"] == "Queued"

    app.run_worker()
    done = cli(app, "status", build_id)
    assert done.returncode == Exit.OK and "Succeeded" in done.stdout
    assert "{'" not in done.stdout, "history shows Python reprs"

    again = cli(app, "submit", request_file(tmp_path))
    assert again.returncode == 0 and again.stdout.strip() == build_id
    assert one_line(again).startswith("duplicate: the same request is already build")

    cancel = cli(app, "cancel", build_id)
    assert cancel.returncode == Exit.REFUSED
    assert one_line(cancel) == f"nothing to cancel: build {build_id} already ended Succeeded"

    missing = cli(app, "status", "0" * 24)
    assert missing.returncode == Exit.NOT_FOUND and "give the ID that `submit` printed" in one_line(missing)


def test_a_rejected_and_a_cancelled_build_exit_non_zero(app: App, tmp_path: Path):
    bad = copy.deepcopy(example("seed-cli-snapshots.json"))
    bad["version"] = "1.0.1"
    path = tmp_path / "rejected.json"
    path.write_text(json.dumps(bad))
    rejected_id = cli(app, "submit", str(path)).stdout.strip()
    # Admitted at once (not through the queue, whose message would start a new attempt after the cancel).
    admission = app.runtime.builds.handle_request_text(Path(request_file(tmp_path, "1.0.2")).read_text())
    cancelled_id = admission.decision.state.build_id
    assert cli(app, "cancel", cancelled_id).returncode == 0
    app.run_worker()
    assert cli(app, "status", rejected_id).returncode == Exit.REJECTED
    status = cli(app, "status", cancelled_id)
    assert status.returncode == Exit.CANCELLED and "cancelled: cancelled by a user" in status.stdout


def test_ctrl_c_in_watch_and_a_closed_pipe_end_without_a_traceback(app: App, tmp_path: Path):
    build_id = cli(app, "submit", request_file(tmp_path)).stdout.strip()
    watching = subprocess.Popen([sys.executable, "-m", "core", "status", "--watch", "--interval", "0.2", build_id],
                                env=app.env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    # Interrupt once it watches (its first block, a time and the build's line, is out), however long a loaded
    # machine takes to start it.
    assert select.select([watching.stdout], [], [], 60)[0], "the watch printed nothing within 60 s"
    first = watching.stdout.readline() + watching.stdout.readline()
    watching.send_signal(signal.SIGINT)
    out, err = watching.communicate(timeout=30)
    assert watching.returncode == Exit.INTERRUPTED
    assert err.strip() == "interrupted" and "Traceback" not in err
    assert "Queued" in first + out

    piped = subprocess.run(f"{sys.executable} -m core status --json {build_id} | head -1", shell=True, env=app.env,
                           cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert piped.stdout == "{\n" and piped.stderr == ""


def test_unreachable_storage_or_arm_and_no_credential_are_one_line_each(app: App):
    started = time.monotonic()
    storage = cli(app, "submit", str(PROJECT_ROOT / "examples" / SEED), env={**app.env, "AzureWebJobsStorage": CLOSED})
    assert storage.returncode == Exit.UNREACHABLE
    assert one_line(storage).startswith("cannot reach storage") and "AzureWebJobsStorage" in storage.stderr
    assert cli(app, "list", env={**app.env, "AzureWebJobsStorage": CLOSED}).returncode == Exit.UNREACHABLE
    assert time.monotonic() - started < 30, "the command line waits on unreachable storage"

    arm = cli(app, "plan", "--check", str(PROJECT_ROOT / "examples" / SEED),
              env={**app.env, "ARM_ENDPOINT": "https://127.0.0.1:1"})
    assert arm.returncode == Exit.UNREACHABLE and one_line(arm).startswith("cannot reach ARM at 127.0.0.1:1")

    no_identity = {k: v for k, v in app.env.items() if k not in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")}
    credential = cli(app, "plan", "--check", str(PROJECT_ROOT / "examples" / SEED), env=no_identity)
    assert credential.returncode == Exit.UNREACHABLE and one_line(credential).startswith("no credential found")


def test_every_verb_reads_local_settings_json_from_the_current_folder(app: App, tmp_path: Path):
    values = {name: app.env[name] for name in ("AzureWebJobsStorage", "ARM_ENDPOINT", "ARM_CA_BUNDLE",
                                               "IDENTITY_ENDPOINT", "IDENTITY_HEADER")}
    (tmp_path / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    bare = {k: v for k, v in app.env.items() if k not in values}
    submitted = cli(app, "submit", request_file(tmp_path), env=bare, cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    listed = cli(app, "status", submitted.stdout.strip(), env=bare, cwd=tmp_path)
    assert listed.returncode == Exit.IN_FLIGHT and "Queued" in listed.stdout
