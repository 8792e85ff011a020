"""Event Grid's door into the snapshot intake: a snapshot write makes its record at once.

1. the event is classified (`core.snapshots.eventgrid`): only snapshot writes from an allowed topic go on;
   other events are ignored (debug), events from elsewhere refused (a warning); a snapshot write of ours that
   cannot be used (its subject or `data.resourceUri`) is recorded as a Failed record saying why;
2. the snapshot's record is written through the engine (`Runner.apply`, ETag-guarded): a new one waits for
   the snapshot; a record that ended without a build starts a new attempt; any other (a duplicate delivery,
   a second write event) gets a history line. The record is the claim: one build per snapshot, whatever
   arrives twice, in whatever order;
3. its steps run on the step queue, paced by the ARM budget (`core.snapshots.workflow`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from core.engine.runner import Runner
from core.snapshots.decide import receive, refuse
from core.snapshots.eventgrid import Ignored, Refused, Unusable, classify
from core.snapshots.state import SnapshotState, event_record_id, record_id_for
from core.snapshots.workflow import SnapshotWorkflow

log = logging.getLogger(__name__)


class SnapshotIntake:
    """Turns Event Grid events into snapshot records (see the module docstring)."""

    def __init__(self, runner: Runner, workflow: SnapshotWorkflow) -> None:
        self.runner = runner
        self.workflow = workflow

    def handle_event(self, event: Mapping[str, Any]) -> SnapshotState | None:
        """One Event Grid event (either schema): the snapshot's record as written, None for an event ignored
        or refused. Invalid templates raise TemplatesInvalid (each problem logged) before the event is even
        classified, so Event Grid delivers it again once they are fixed; storage errors propagate likewise."""
        self.workflow.templates()  # cached: only the first invocation (or one after a fix) reads the files
        result = classify(event, self.workflow.snapshot_settings.allowlist)
        if isinstance(result, Ignored):
            log.debug("event %s ignored: %s", result.event_id, result.reason)
            return None
        if isinstance(result, Unusable):
            log.warning("event %s refused and recorded: %s", result.event_id, result.reason)
            unusable = result
            written = self.runner.apply(event_record_id(unusable.event_id),
                                        lambda existing, now: refuse(existing, unusable, now))
            return written.state if written is not None else None
        if isinstance(result, Refused):
            log.warning("event %s refused: %s", result.event_id, result.reason)
            return None
        snapshot = result
        written = self.runner.apply(record_id_for(snapshot.snapshot_id),
                                    lambda existing, now: receive(existing, snapshot, now))
        if written is None:
            return None
        state: SnapshotState = written.state
        log.info("event %s: snapshot %s was written (topic %s): record %s %s", snapshot.event_id,
                 snapshot.snapshot_id, snapshot.topic, state.record_id, state.status)
        return state
