"""`python -m core worker` with counters, for `bench.scale`: step messages, worker CPU per step, storage
operations per step, re-drives. At exit it writes them as JSON to the file named by `BENCH_STATS_FILE`.

The counters wrap the app from outside (the storage client factories and two Runner methods) before the
worker imports them; nothing in `core/` knows about the bench.
"""

from __future__ import annotations

import collections
import cProfile
import json
import os
import sys
import threading
import time
from typing import Any

from core.clients import storage

_lock = threading.Lock()
stats: dict[str, Any] = {"steps": 0, "step_cpu_seconds": 0.0, "redriven": 0, "storage": collections.Counter(),
                         "step_storage": 0, "outcomes": collections.Counter()}
_in_step = threading.local()
_profiles: list[cProfile.Profile] = []  # one per worker thread, when BENCH_PROFILE_FILE is set


def _hook(response: Any) -> None:
    request = response.http_request
    kind = "queue" if f":{os.environ.get('BENCH_QUEUE_PORT', '-')}/" in request.url else "table"
    with _lock:
        stats["storage"][f"{kind} {request.method}"] += 1
        if getattr(_in_step, "active", False):
            stats["step_storage"] += 1


def _counted(factory: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("raw_response_hook", _hook)
        return factory(*args, **kwargs)

    return make


storage.queue_service = _counted(storage.queue_service)  # type: ignore[assignment]
storage.table_service = _counted(storage.table_service)  # type: ignore[assignment]

from core import cli  # noqa: E402  (after the factories are wrapped)
from core.orchestration.runner import Runner  # noqa: E402

_handle_step_text, _redrive = Runner.handle_step_text, Runner.redrive


def handle_step_text(self: Runner, text: str) -> str:
    started = time.thread_time()
    _in_step.active = True
    outcome = "raised"
    profile = _thread_profile()
    if profile is not None:
        profile.enable()
    try:
        outcome = _handle_step_text(self, text)
        return outcome
    finally:
        if profile is not None:
            profile.disable()
        _in_step.active = False
        with _lock:
            stats["steps"] += 1
            stats["outcomes"][outcome] += 1
            stats["step_cpu_seconds"] += time.thread_time() - started


def _thread_profile() -> cProfile.Profile | None:
    if not os.environ.get("BENCH_PROFILE_FILE"):
        return None
    profile = getattr(_in_step, "profile", None)
    if profile is None:
        profile = _in_step.profile = cProfile.Profile()
        with _lock:
            _profiles.append(profile)
    return profile


def redrive(self: Runner) -> list[str]:
    redriven = _redrive(self)
    with _lock:
        stats["redriven"] += len(redriven)
    return redriven


Runner.handle_step_text = handle_step_text  # type: ignore[method-assign]
Runner.redrive = redrive  # type: ignore[method-assign]


def main() -> int:
    try:
        return cli.main(["worker", *sys.argv[1:]])
    finally:
        profile_path = os.environ.get("BENCH_PROFILE_FILE")
        if profile_path and _profiles:
            import pstats

            pstats.Stats(*_profiles).dump_stats(profile_path)
        path = os.environ.get("BENCH_STATS_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump({**stats, "storage": dict(stats["storage"]), "outcomes": dict(stats["outcomes"])}, handle)


if __name__ == "__main__":
    sys.exit(main())
