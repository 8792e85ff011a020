"""A tiny Function app for the local worker's tests, built fresh for each worker.

`get_functions()` can be called once per FunctionApp, so every worker gets a new module from
`build_app`. Queue names and the timer schedule are app-setting references (`%TINY_QUEUE%`,
`%TINY_SCHEDULE%`) so each test picks its own. Every invocation is appended to a `Recorder`
(in memory, and as JSON lines in a file when the app runs in another process).

The queue function reads its message body as a command:
- `fail...` raises;
- `sleep:<seconds>` sleeps that long;
- `sleep-first:<seconds>` sleeps only on the first delivery (dequeue count 1);
- anything else succeeds at once.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func


class Recorder:
    """Invocations seen by the tiny app, thread-safe; also appended to `path` when given."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._items: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, **item: Any) -> None:
        item.setdefault("pid", os.getpid())
        item.setdefault("at", time.time())
        with self._lock:
            self._items.append(item)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as file:
                    file.write(json.dumps(item) + "\n")

    def items(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(i) for i in self._items if kind is None or i["kind"] == kind]

    def wait_for(self, kind: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The first `count` items of `kind`, waiting up to `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.items(kind)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"saw {len(self.items(kind))} {kind} invocations, wanted {count}: {self.items()}"
        )


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_app(recorder: Recorder, *, run_on_startup: bool = False) -> ModuleType:
    """A new module holding a new FunctionApp with one function per trigger type."""
    module = ModuleType(f"tinyapp_{uuid.uuid4().hex}")
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.queue_trigger(arg_name="msg", queue_name="%TINY_QUEUE%", connection="TinyStorage")
    def work(msg: func.QueueMessage) -> None:
        body = msg.get_body()
        text = body.decode("utf-8", errors="replace")
        recorder.add(
            kind="queue",
            id=msg.id,
            body=text,
            raw=list(body),
            dequeue_count=msg.dequeue_count,
            has_times=None not in (msg.insertion_time, msg.expiration_time, msg.time_next_visible),
        )
        if text.startswith("fail"):
            raise RuntimeError(f"asked to fail on dequeue {msg.dequeue_count}")
        if text.startswith("sleep:"):
            time.sleep(float(text.split(":", 1)[1]))
        if text.startswith("sleep-first:") and msg.dequeue_count == 1:
            time.sleep(float(text.split(":", 1)[1]))
        recorder.add(kind="queue-done", id=msg.id, dequeue_count=msg.dequeue_count)

    @app.timer_trigger(arg_name="timer", schedule="%TINY_SCHEDULE%", run_on_startup=run_on_startup)
    def tick(timer: func.TimerRequest) -> None:
        recorder.add(kind="timer", past_due=timer.past_due, next=timer.schedule_status.get("Next"))

    @app.route(route="items/{id:int}", methods=["GET", "POST"])
    def item(req: func.HttpRequest) -> func.HttpResponse:
        answer = {
            "id": req.route_params["id"],
            "method": req.method,
            "params": dict(req.params),
            "body": req.get_body().decode(),
            "key": req.headers.get("x-functions-key"),
        }
        return func.HttpResponse(json.dumps(answer), status_code=201, mimetype="application/json")

    @app.route(route="boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def boom(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError("boom")

    @app.event_grid_trigger(arg_name="event")
    def on_event(event: func.EventGridEvent) -> None:
        recorder.add(
            kind="event", id=event.id, type=event.event_type, subject=event.subject, data=event.get_json()
        )

    module.app = app  # type: ignore[attr-defined]
    return module
