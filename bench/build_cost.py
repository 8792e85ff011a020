"""What one build costs: ARM calls (counted by the simulator) and storage operations (counted by a hook
on the storage clients), for the seed's first CLI example driven step by step through the real runner.

Run: .venv/bin/python -m bench.build_cost   (prints figures; needs `make setup`)
"""

from __future__ import annotations

import collections
import os
import time
from pathlib import Path
from typing import Any

from core.app.runtime import record_store
from core.azure.settings import Settings
from core.azure.storage import queue_service, table_service
from core.builds.registration import Registrar
from core.builds.workflow import BuildSubmissions, BuildWorkflow
from core.engine.runner import Runner
from devstack.stack import LocalStack

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "seed-cli-managed-image.json"


def main() -> None:
    counts: collections.Counter[str] = collections.Counter()

    def hook(response: Any) -> None:
        request = response.http_request
        service = "queue" if "/messages" in request.url or "/image-build" in request.url else "table"
        counts[f"{service} {request.method}"] += 1

    with LocalStack(
        replication_seconds=3.0, feature_registration_seconds=0.5, provider_registration_seconds=0.3
    ) as stack:
        env = stack.env(POLL_INITIAL_SECONDS="1", POLL_MAX_SECONDS="1")
        os.environ.update({k: env[k] for k in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")})
        settings = Settings.from_env(env)
        tables = table_service(env, raw_response_hook=hook)
        queues = queue_service(env, raw_response_hook=hook)
        store = record_store(tables)
        store.ensure_table()
        runner = Runner(settings, store, queues, [BuildWorkflow(settings, Registrar(tables, settings))])
        counts.clear()
        started = time.monotonic()
        admission = BuildSubmissions(runner, settings).handle_request_text(EXAMPLE.read_text(), message_id="bench")
        build_id = admission.decision.state.build_id
        steps = runner.step_queue
        handled = 0
        while True:
            for message in steps.receive_messages(max_messages=8, visibility_timeout=30):
                runner.handle_step_text(message.content)
                steps.delete_message(message)
                handled += 1
            state, _ = store.get(build_id)
            if state.status.terminal:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        arm = collections.Counter(f"{r.method}" for r in stack.simulator.requests)
        print(f"build {build_id}: {state.status} in {elapsed:.1f} s, {handled} step messages")
        print(f"ARM calls: {sum(arm.values())} ({', '.join(f'{k} {v}' for k, v in sorted(arm.items()))})")
        print(
            f"storage operations: {sum(counts.values())} ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})"
        )


if __name__ == "__main__":
    main()
