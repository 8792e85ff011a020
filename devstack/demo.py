"""`make demo`: the seed's example builds, from the request queue to their end, with live progress.

Starts Azurite and the ARM simulator (seed world), shows the offline plan of the seed's first CLI
example, submits it and the seed's second CLI example to the request queue, runs the local worker
(`python -m core worker --until-idle`, the same handlers the Functions host would run), and draws each
build's status and per-region replication while it runs. Ends with the final status and the image
version as ARM returns it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

from devstack.azurite import PROJECT_ROOT
from devstack.stack import LocalStack

EXAMPLES = PROJECT_ROOT / "examples"
BUILDS = [
    ("seed CLI example 1 (managed image, westus + eastus2)", EXAMPLES / "seed-cli-managed-image.json"),
    ("seed CLI example 2 (snapshots, eastus with EastUS2 DES)", EXAMPLES / "seed-cli-snapshots.json"),
]
DEMO_SETTINGS = {"POLL_INITIAL_SECONDS": "1", "POLL_MAX_SECONDS": "2", "RETRY_INITIAL_SECONDS": "1"}


def _run_cli(env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    """Run `python -m core ARGS`; `ok` are the exit codes expected (status exits 3 for a Rejected build)."""
    done = subprocess.run(
        [sys.executable, "-m", "core", *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    if done.returncode not in ok:
        raise SystemExit(f"python -m core {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def _heading(text: str) -> None:
    width = shutil.get_terminal_size((100, 24)).columns
    print(f"\n== {text} " + "=" * max(0, width - 4 - len(text)), flush=True)


def _watch(env: dict[str, str], builds: list[tuple[str, str]], worker: subprocess.Popen[bytes]) -> None:
    """The live view (core/entry/cli/live.py) of every build until all have ended and the worker has stopped."""
    from core.app.runtime import build_runtime
    from core.app.status import build_status, is_terminal
    from core.entry.cli.live import watch

    runtime = build_runtime(env)

    def fetch() -> list[tuple[str, dict[str, Any] | None]]:
        return [(label, build_status(runtime, build_id, with_history=False)) for label, build_id in builds]

    def stop(items: Any) -> bool:
        done = all(document and is_terminal(document["status"]) for _, document in items)
        if worker.poll() is not None and not done:
            raise SystemExit(f"the worker stopped (exit {worker.returncode}) before every build ended; see its log")
        return done and worker.poll() is not None

    watch(fetch, interval=0.5, stop=stop)


def main() -> int:
    started = time.monotonic()
    _heading("Starting Azurite and the ARM simulator (seed world)")
    with LocalStack(
        replication_seconds=8.0, feature_registration_seconds=3.0, provider_registration_seconds=1.0
    ) as stack:
        env = stack.env(**DEMO_SETTINGS)
        print(f"  Azurite queues/tables : 127.0.0.1:{stack.azurite.queue_port} / :{stack.azurite.table_port}")
        print(f"  ARM simulator         : {stack.simulator.endpoint}  (CA {stack.simulator.ca_file})")
        print(f"  managed identity      : {stack.simulator.identity_endpoint}")

        _heading("python -m core plan examples/seed-cli-managed-image.json   (offline: the ARM PUT it will send)")
        print(_run_cli(env, "plan", str(BUILDS[0][1])))

        _heading("python -m core submit ...   (to the image-build-requests queue)")
        builds = []
        run_dir = PROJECT_ROOT / ".run"
        run_dir.mkdir(exist_ok=True)
        for index, (label, path) in enumerate(BUILDS):
            if index:
                # The seed's examples all publish MyImage 1.0.0: one build per version, so the next gets 1.0.<n>.
                request = json.loads(path.read_text())
                request["version"] = f"1.0.{index}"
                path = run_dir / f"{path.stem}-1.0.{index}.json"
                path.write_text(json.dumps(request, indent=2))
                label += f", version 1.0.{index}"
            build_id = _run_cli(env, "submit", str(path)).strip()
            builds.append((label, build_id))
            print(f"  {path.name:<30} -> build {build_id}")

        _heading("python -m core worker --until-idle   (function_app.py served locally; live progress)")
        log_path = run_dir / "demo-worker.log"
        with open(log_path, "wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "core", "worker", "--until-idle"],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                _watch(env, builds, worker)
            finally:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(timeout=30)
        print(f"  (worker log: {log_path.relative_to(PROJECT_ROOT)})")

        for label, build_id in builds:
            _heading(f"python -m core status {build_id}   ({label})")
            print(_run_cli(env, "status", build_id, ok=(0, 1, 3, 4)))

        _heading("The image version as ARM returns it ($expand=ReplicationStatus)")
        os.environ.update({k: env[k] for k in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")})
        from core.azure.arm import Arm
        from core.azure.settings import Settings

        request = json.loads(BUILDS[0][1].read_text())
        arm = Arm(Settings.from_env(env), request["subscriptionId"])
        version = arm.compute.gallery_image_versions.get(
            request["resourceGroup"],
            request["galleryName"],
            request["imageDefinition"],
            request["version"],
            expand="ReplicationStatus",
        ).as_dict()
        print(json.dumps(version, indent=2))

        _heading("Figures")
        requests = stack.simulator.requests
        print(f"  ARM requests served by the simulator : {len(requests)}")
        by_method: dict[str, int] = {}
        for r in requests:
            by_method[r.method] = by_method.get(r.method, 0) + 1
        print("  by method                           : " + ", ".join(f"{m} {n}" for m, n in sorted(by_method.items())))
        print(f"  demo wall time                      : {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
