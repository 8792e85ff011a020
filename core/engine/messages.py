"""The step queue's message: which build, which step, when it was due; and when a step counts as lost."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.base import json_input

# Azure Storage queues accept a visibility delay of at most 7 days.
MAX_DELAY_SECONDS = 7 * 24 * 3600 - 60


def visibility_seconds(delay: float) -> int:
    """The whole seconds a queue message waits for a delay: rounded up, so it is never visible before it is
    due (a budget slot must not start early), and at most the queue's limit."""
    return math.ceil(min(max(0.0, delay), MAX_DELAY_SECONDS))


@dataclass(frozen=True)
class StepMessage:
    """A build's pending step; `due` (when it is meant to run) lets the re-drive see how far behind the queue is."""

    build_id: str
    seq: int
    due: str | None = None

    def to_text(self) -> str:
        data: dict[str, Any] = {"buildId": self.build_id, "seq": self.seq}
        if self.due:
            data["due"] = self.due
        return json.dumps(data)

    @classmethod
    def from_text(cls, text: str) -> StepMessage:
        data = json_input.load(text, "(step message)")  # ValueError, never RecursionError, for a bad one
        due = data.get("due")
        seq = data["seq"]
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise ValueError("seq must be a whole number")
        return cls(build_id=str(data["buildId"]), seq=seq, due=str(due) if due else None)


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
