"""The bench's worker processes (`python -m bench.counted_worker --until-idle`) and their CPU clock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.azurite import PROJECT_ROOT


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (Linux /proc), 0 where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Workers:
    """The bench's worker processes: started, SIGKILLed one at a time and replaced (`--kill-every`)."""

    def __init__(self, env: dict[str, str], folder: Path, profile: dict[str, str]) -> None:
        self.env, self.folder, self.profile = env, folder, profile
        self.running: list[subprocess.Popen[bytes]] = []
        self.stats_files: list[Path] = []
        self.killed = 0

    def start(self) -> None:
        n = len(self.stats_files)
        path = self.folder / f"worker-{n}.json"
        self.stats_files.append(path)
        extra = {"BENCH_STATS_FILE": str(path), "BENCH_TRACE_FILE": f"{path}.trace", **(self.profile if n == 0 else {})}
        with open(self.folder / f"worker-{n}.log", "w") as log:
            self.running.append(subprocess.Popen(
                [sys.executable, "-m", "bench.counted_worker", "--until-idle"], env={**self.env, **extra},
                cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=log,
            ))  # fmt: skip

    def wait(self, *, timeout: float, kill_every: float | None, busy: Callable[[], bool]) -> None:
        """Until every worker has stopped by itself (`--until-idle`), killing and replacing one every
        `kill_every` seconds while `busy()` (builds are in flight); after `timeout`, stop them."""
        deadline = time.monotonic() + timeout
        next_kill = time.monotonic() + kill_every if kill_every else None
        try:
            while any(worker.poll() is None for worker in self.running):
                if time.monotonic() > deadline:
                    print("timed out: stopping the workers", flush=True)
                    return
                if kill_every and next_kill is not None and time.monotonic() >= next_kill and busy():
                    victim = next(w for w in self.running if w.poll() is None)
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    self.running.remove(victim)
                    self.killed += 1
                    self.start()
                    next_kill = time.monotonic() + kill_every
                time.sleep(0.2)
        finally:
            for worker in self.running:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(timeout=60)

    def stats(self) -> list[dict[str, Any]]:
        """The figures of every worker that stopped by itself (a killed one writes none)."""
        found = [json.loads(path.read_text()) for path in self.stats_files if path.exists()]
        if len(found) < len(self.stats_files) - self.killed:
            for log in sorted(self.folder.glob("worker-*.log")):
                print(log.read_text()[-2000:], file=sys.stderr)
        return found
