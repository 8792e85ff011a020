"""The step queue's message: which build, which step, when it was due, and the state it was sent with; and when a
step counts as lost."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from core.base import json_input
from core.base.timestamps import parse_iso

# Azure Storage queues accept a visibility delay of at most 7 days.
MAX_DELAY_SECONDS = 7 * 24 * 3600 - 60
# A message carrying its state stays this far below the queue's 64 KiB (XML escapes of '&' and '<' grow it).
MAX_CARRYING_BYTES = 48_000


def visibility_seconds(delay: float) -> int:
    """The whole seconds a queue message waits for a delay: rounded up, so it is never visible before it is
    due (a budget slot must not start early), and at most the queue's limit."""
    return math.ceil(min(max(0.0, delay), MAX_DELAY_SECONDS))


@dataclass(frozen=True)
class Carried:
    """The state row as the sender wrote it: its workflow, its column `State` (JSON text) and its ETag."""

    workflow: str
    state: str
    etag: str


@dataclass(frozen=True)
class StepMessage:
    """A build's pending step; `due` (when it is meant to run) lets the re-drive see how far behind the queue is.

    `carried`: the state the sender wrote with this step pending, so the step need not read it; it may be stale
    by the time the step runs (the ETag then says so). Not sent when the message would grow past
    `MAX_CARRYING_BYTES`; a message whose carried state cannot be read is taken without it."""

    build_id: str
    seq: int
    due: str | None = None
    carried: Carried | None = None

    def to_text(self) -> str:
        data: dict[str, Any] = {"buildId": self.build_id, "seq": self.seq}
        if self.due:
            data["due"] = self.due
        if self.carried is not None:
            carrying = {**data, "workflow": self.carried.workflow, "state": self.carried.state,
                        "etag": self.carried.etag}  # fmt: skip
            text = json.dumps(carrying, separators=(",", ":"))  # ASCII: its length is its size in bytes
            if len(text) <= MAX_CARRYING_BYTES:
                return text
        return json.dumps(data)

    @classmethod
    def from_text(cls, text: str) -> StepMessage:
        data = json_input.load(text, "(step message)")  # ValueError, never RecursionError, for a bad one
        due = data.get("due")
        seq = data["seq"]
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise ValueError("seq must be a whole number")
        workflow, state, etag = data.get("workflow"), data.get("state"), data.get("etag")
        carried = None
        if isinstance(workflow, str) and isinstance(state, str) and isinstance(etag, str) and state and etag:
            carried = Carried(workflow, state, etag)
        return cls(build_id=str(data["buildId"]), seq=seq, due=str(due) if due else None, carried=carried)


def redrive_cutoff(
    now: datetime, queue_front_due: datetime | None, *, lease_seconds: float, grace_seconds: float
) -> datetime:
    """Steps due before this cannot still have their message waiting in the queue. Pure.

    A step message is due at `due_at`; consumers take messages roughly in that order, so while the oldest
    message still visible in the queue was due at `queue_front_due`, anything due later may simply be
    waiting behind it (a backlog). Past that point, a step whose message was taken has had its step lease
    to run; `grace_seconds` covers the queue's loose ordering.
    """
    front = min(now, queue_front_due) if queue_front_due is not None else now
    return front - timedelta(seconds=lease_seconds + grace_seconds)


def queue_front_due(queue: QueueClient) -> datetime | None:
    """When the oldest messages still visible in the step queue were due (None: nothing is waiting)."""
    try:
        peeked = queue.peek_messages(max_messages=32)
    except ResourceNotFoundError:
        return None
    dues = []
    for message in peeked:
        try:
            due = parse_iso(StepMessage.from_text(message.content).due)
        except (ValueError, KeyError, TypeError):
            continue
        dues.append(due or message.inserted_on)
    return min((d for d in dues if d is not None), default=None)
