"""The outbox of completion events, rows `outbox-<attempt>` in the build's partition of the builds table.

The row is written in the same Table transaction as the state that ends the build, so an end without its
event (or an event without its end) cannot be stored. It is then delivered by the step that ended the build,
or, if that failed or crashed, by the re-drive timer: a sender first claims the row (an ETag write of
`ClaimedUntil`), so two senders never send the same row at once, and renews the claim every
`RENEW_SECONDS` while the sinks send (the send runs on a helper thread; the sender's thread watches it), so a
sink slower than the claim still has the row to itself; a sent row is marked `Sent` and never sent again.
Only a sender that stops between sending and marking (a crash, or a pause longer than the claim) leaves a row
to send twice: the event's `id` is the same. One row that cannot be delivered never stops the re-drive of the
others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_future
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables import TableClient

from core.azure.storage import GuardedRows
from core.base.leases import lease_end
from core.base.timestamps import utc_iso
from core.events.cloudevent import EndedBuild, completion_event
from core.events.sinks import Sink

log = logging.getLogger(__name__)
OUTBOX_PREFIX = "outbox-"
CLAIM_SECONDS = 60
RENEW_SECONDS = CLAIM_SECONDS / 3  # a renewal may fail twice before the claim runs out

# Wait up to the seconds given for a send to end: True when it has (the tests pass a clock of their own).
SendWait = Callable[["Future[None]", float], bool]


def _wait(send: Future[None], seconds: float) -> bool:
    return bool(wait_for_future([send], timeout=seconds).done)


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
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), wait: SendWait = _wait) -> None:
        self.table = table
        self.rows = GuardedRows(table)
        self.sinks = list(sinks)
        self.clock = clock
        self.wait = wait

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
            etag = self._send_holding(build_id, row_key, etag, event)
        except Exception:
            log.exception("build %s: completion event %s not sent; the re-drive timer tries again", build_id,
                          event.get("id"))
            # Give the claim up for the next try (unless someone took it meanwhile).
            self.rows.update_if_unchanged({"PartitionKey": build_id, "RowKey": row_key, "ClaimedUntil": ""}, etag)
            return False
        marked = self.rows.update_if_unchanged({"PartitionKey": build_id, "RowKey": row_key, "Sent": True,
                                                "SentAt": utc_iso(self.clock())}, etag)  # fmt: skip
        if marked is None:  # the claim was lost while the sinks sent (a renewal came too late) and retaken
            log.warning("build %s: completion event %s sent, but its row was claimed again meanwhile; it may be "
                        "sent twice, with the same id", build_id, event.get("id"))
            return False
        log.info("build %s: completion event %s (%s) sent to %s", build_id, event.get("id"), event.get("type"),
                 ", ".join(sink.name for sink in self.sinks))
        return True

    def _send_all(self, event: dict[str, Any]) -> None:
        for sink in self.sinks:
            sink.send(event)

    def _send_holding(self, build_id: str, row_key: str, etag: str, event: dict[str, Any]) -> str:
        """Send ``event`` to every sink on a helper thread, renewing the row's claim every RENEW_SECONDS until
        the send ends; the ETag of the last claim write. Raises what a sink raised."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-send") as pool:
            send = pool.submit(self._send_all, event)
            holding = True
            while not self.wait(send, RENEW_SECONDS):
                if not holding:
                    continue
                claim = {"PartitionKey": build_id, "RowKey": row_key,
                         "ClaimedUntil": lease_end(self.clock(), CLAIM_SECONDS)}
                renewed = self.rows.update_if_unchanged(claim, etag)
                if renewed is None:
                    holding = False
                    log.warning("build %s: the claim of completion event %s was lost while sending",
                                build_id, event.get("id"))
                else:
                    etag = renewed
            send.result()
        return etag

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
            try:
                sent = self.deliver(row["PartitionKey"], row["RowKey"])
            except Exception:  # one row (corrupt, or its table call refused) never stops the others
                log.exception("completion event %s/%s: delivery failed; the next re-drive tries again",
                              row["PartitionKey"], row["RowKey"])
                continue
            if sent:
                delivered.append(f"{row['PartitionKey']}/{row['RowKey']}")
        return delivered
