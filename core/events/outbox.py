"""The outbox of completion events, rows `outbox-<attempt>` in the build's partition of the builds table.

The row is written in the same Table transaction as the state that ends the build, so an end without its
event (or an event without its end) cannot be stored. It is then delivered by the step that ended the build,
or, if that failed or crashed, by the re-drive timer: a sender first claims the row (an ETag write of
`ClaimedUntil`), so two senders never send the same row at once; a sent row is marked `Sent` and never sent
again. Only a crash between sending and marking leaves a row to send twice: the event's `id` is the same.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables import TableClient

from core.azure.storage import GuardedRows
from core.base.timestamps import utc_iso
from core.events.cloudevent import EndedBuild, completion_event
from core.events.sinks import Sink

log = logging.getLogger(__name__)
OUTBOX_PREFIX = "outbox-"
CLAIM_SECONDS = 60


def outbox_key(attempt: int) -> str:
    return f"{OUTBOX_PREFIX}{attempt:04d}"


def ends_build(before: EndedBuild | None, after: EndedBuild) -> bool:
    """Whether writing `after` over `before` ends an attempt of the build (and so emits its event)."""
    if not after.status.terminal:
        return False
    return before is None or not before.status.terminal or before.attempt != after.attempt


class Outbox:
    """Rows to write with a build's end, and their delivery to every sink."""

    def __init__(self, table: TableClient, sinks: Sequence[Sink], *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.table = table
        self.rows = GuardedRows(table)
        self.sinks = list(sinks)
        self.clock = clock

    def row(self, state: EndedBuild) -> dict[str, Any]:
        """The outbox entity of the state that ends the build (for the same transaction)."""
        return {"PartitionKey": state.build_id, "RowKey": outbox_key(state.attempt), "Sent": False,
                "ClaimedUntil": "", "EndedAt": state.updated_at,
                "Event": json.dumps(completion_event(state), separators=(",", ":"))}

    def deliver(self, build_id: str, row_key: str) -> bool:
        """Claim, send to every sink, mark sent; False when someone else has it, it is sent, or a sink failed."""
        now = self.clock()
        taken = self.rows.take_lease(build_id, row_key, "ClaimedUntil", seconds=CLAIM_SECONDS, now=now)
        if taken is None:
            return False  # absent, another sender holds it, or another sender claimed it first
        entity, etag = taken
        if entity.get("Sent"):
            return False
        event = json.loads(entity["Event"])
        try:
            for sink in self.sinks:
                sink.send(event)
        except Exception:
            log.exception("build %s: completion event %s not sent; the re-drive timer tries again", build_id,
                          event.get("id"))
            # Give the claim up for the next try (unless someone took it meanwhile).
            self.rows.update_if_unchanged({"PartitionKey": build_id, "RowKey": row_key, "ClaimedUntil": ""}, etag)
            return False
        marked = self.rows.update_if_unchanged({"PartitionKey": build_id, "RowKey": row_key, "Sent": True,
                                                "SentAt": utc_iso(now)}, etag)  # fmt: skip
        if marked is None:  # our claim ran out while the sinks were slow and another sender took the row
            log.warning("build %s: completion event %s sent, but its row was claimed again meanwhile (the sinks "
                        "took over %d s); it may be sent twice, with the same id", build_id, event.get("id"),
                        CLAIM_SECONDS)
            return False
        log.info("build %s: completion event %s (%s) sent to %s", build_id, event.get("id"), event.get("type"),
                 ", ".join(sink.name for sink in self.sinks))
        return True

    def redrive(self, grace_seconds: float) -> list[str]:
        """Deliver every unsent row older than `grace_seconds` (its step failed to, or crashed); their IDs."""
        cutoff = utc_iso(self.clock() - timedelta(seconds=grace_seconds))
        rows = self.table.query_entities(
            "RowKey ge @lo and RowKey lt @hi and Sent eq false and EndedAt lt @cutoff",
            parameters={"lo": OUTBOX_PREFIX, "hi": "outbox.", "cutoff": cutoff},
            select=["PartitionKey", "RowKey"],
        )
        delivered = []
        for row in rows:
            if self.deliver(row["PartitionKey"], row["RowKey"]):
                delivered.append(f"{row['PartitionKey']}/{row['RowKey']}")
        return delivered
