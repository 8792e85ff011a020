"""The thin shell around every workflow's `decide`: runs steps, records results, schedules messages.

Order of writes, so that a crash anywhere loses nothing:
1. a step that writes to ARM (the PUT, the verification VM) claims the step first (ETag write of a lease):
   a second delivery of the same message loses the race, and `step_claims` tells a repeat. A step that only
   reads ARM (validation, registration, replication polls) makes no claim: two deliveries cost a few reads,
   and the ETag of the result write decides which one is kept;
2. run the step's ARM calls;
3. write the decided state and its history in one conditional write of the state row (ETag from the read,
   or from the claim; see `store`);
4. enqueue the next step message, delayed. A crash between 3 and 4 leaves `due_at` in the past,
   and the re-drive timer sends the message again.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueServiceClient

from core.azure import ratelimit
from core.azure.arm import Arm, ArmFailure
from core.azure.arm_pool import ArmPool
from core.azure.settings import Settings
from core.azure.storage import send_message
from core.base import telemetry
from core.base.leases import held, lease_end, seconds_left
from core.base.timestamps import parse_iso, utc_iso
from core.engine.budget import INLINE_WAIT_SECONDS
from core.engine.budget_store import BudgetStore, Slot, StepTaking
from core.engine.messages import StepMessage, redrive_cutoff, visibility_seconds
from core.engine.record import Decision, Record, history_of
from core.engine.store import RecordExists, RecordStore, StaleState
from core.engine.workflow import StepContext, Workflow

log = logging.getLogger(__name__)

# Tries of a write that lost an ETag race before giving up (the caller's invocation fails and is retried).
WRITE_TRIES = 5


class Runner:
    """Executes every workflow's decisions against Table storage, the step queue and ARM."""

    def __init__(
        self,
        settings: Settings,
        store: RecordStore,
        queues: QueueServiceClient,
        workflows: Sequence[Workflow],
        *,
        arm_for: Callable[[str], Arm] | None = None,
        budget: BudgetStore | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.store = store
        self.queues = queues
        self.workflows = {workflow.name: workflow for workflow in workflows}
        self.arm_for = arm_for or ArmPool(settings)
        self.budget = budget
        self.clock = clock
        self.sleep = sleep
        self._step_queue: QueueClient | None = None

    def workflow_of(self, state: Record) -> Workflow:
        return self.workflows[self.store.workflow_of(state)]

    # --- queues --------------------------------------------------------------------------------------
    @property
    def step_queue(self) -> QueueClient:
        if self._step_queue is None:
            self._step_queue = self.queues.get_queue_client(self.settings.step_queue)
        return self._step_queue

    def _send_step(self, state: Record, delay: float) -> None:
        visibility = visibility_seconds(delay)
        text = StepMessage(state.record_id, state.step_seq, state.due_at).to_text()
        send_message(self.step_queue, text, delay_seconds=visibility)

    def _after_write(self, before: Record | None, state: Record, decision: Decision) -> None:
        if decision.delay_seconds is not None and not state.status.terminal:
            self._send_step(state, decision.delay_seconds)
        self.workflow_of(state).written(before, state)

    def _ending(self, before: Record | None, decision: Decision) -> list[dict[str, Any]]:
        """The rows created with the decided state: the workflow's ending rows and the decision's own."""
        return [*self.workflow_of(decision.state).ending_rows(before, decision.state), *decision.rows]

    # --- changes from outside (a submission, a cancel) -----------------------------------------------
    def apply(self, record_id: str, change: Callable[[Any | None, datetime], Decision | None]) -> Decision | None:
        """Write what `change(current state or None, now)` decides for the record, under its ETag (decided
        again on what another writer wrote meanwhile); None when it decides nothing. The written decision
        carries the state as stored."""
        for _ in range(WRITE_TRIES):
            now = self.clock()
            loaded = self.store.get(record_id)
            existing, etag = loaded if loaded else (None, None)
            decision = change(existing, now)
            if decision is None:
                return None
            try:
                ending = self._ending(existing, decision)
                if etag is None:
                    state, _ = self.store.create(decision, extra=ending)
                else:
                    state, _ = self.store.save(decision, etag, extra=ending)
            except (RecordExists, StaleState):
                continue  # someone else wrote this record meanwhile: decide again on what they wrote
            self._after_write(existing, state, decision)
            telemetry.annotate(state)
            telemetry.record_write(existing, state)
            return dataclasses.replace(decision, state=state)
        raise StaleState(f"record {record_id}: too much contention while writing a change")

    def cancel(self, record_id: str, reason: str = "cancelled by a user", *,
               by: dict[str, str] | None = None) -> Any | None:
        """Cancel a record of any workflow (``by``: who asks, an actor's dict); its state afterwards (unchanged
        if it had ended), None if unknown."""
        written = self.apply(record_id, lambda state, now: None if state is None
                             else self.workflow_of(state).cancel(state, reason, now, by))  # fmt: skip
        return written.state if written is not None else None

    # --- steps ---------------------------------------------------------------------------------------
    def handle_step(self, message: StepMessage) -> str:
        """Run one step of a record if the message is current; returns what happened, for logs and tests."""
        loaded = self.store.get(message.build_id)
        if loaded is None:
            return "unknown-build"
        state, etag = loaded
        workflow = self.workflow_of(state)
        telemetry.annotate(state)  # every step's span names its record, even one that runs nothing
        now = self.clock()
        if state.status.terminal or message.seq != state.step_seq:
            return "stale"
        if held(state.lease_until, now):
            # Another invocation runs this step now; look again when its lease ends, in case it crashed.
            self._send_step(state, seconds_left(state.lease_until, now) + 1)
            return "leased"
        cost = workflow.step_cost(state)
        grant = None
        if self.budget is not None:
            slot = self.budget.slot_for(state, cost, now.timestamp())
            if slot is None or slot.wait > INLINE_WAIT_SECONDS:
                return self._defer(state, etag, now, slot)
            if slot.wait > 0:  # its slot is this close: wait for it here rather than in the queue
                self.sleep(slot.wait)
                now = self.clock()
            grant = slot.grant
        started = workflow.begin_step(state, now)
        stored, claimed = state, started.state  # what the table holds at `etag`; what the step runs on
        if workflow.writes_to_arm(state):
            lease = lease_end(now, self.settings.step_lease_seconds)
            claim = dataclasses.replace(started, state=claimed.replace(lease_until=lease,
                                                                       step_claims=state.step_claims + 1))
            try:
                stored, etag = self.store.save(claim, etag)
            except StaleState:
                return "lost-claim"
            claimed, started = stored, Decision(stored)
        telemetry.annotate(claimed)
        ratelimit.begin(pacer=grant)
        taking = StepTaking(self.budget, claimed, cost, grant)
        try:
            context = StepContext(self.settings, self.arm_for(claimed.subscription_id), now, taking.take)
            event = workflow.run_step(claimed, context)
        except Exception as exc:  # a bug or a broken dependency: retried with backoff, then the record fails
            log.exception("%s %s: step %s raised", workflow.name, state.record_id, claimed.status)
            event = workflow.step_raised(claimed, ArmFailure(
                transient=True, status=None, code="InternalError", message=f"{type(exc).__name__}: {exc}"))
        finally:
            seen = ratelimit.seen()
            ratelimit.begin()  # no pacer left on this thread for calls made outside a step
        if self.budget is not None:
            self.budget.settle(state, cost, seen, grant)
        decision = workflow.decide(claimed, event, self.clock())
        if started.history:  # a first step's start (an Accepted build's ValidationStarted), written with its result
            decision = dataclasses.replace(decision, history=started.history + decision.history)
        written = self._save_result(stored, decision, etag)
        if written is None:
            # Changed while the step ran (a cancel, or the step claimed again): the stored state wins.
            log.warning("%s %s: state changed during step %s; result dropped", workflow.name, state.record_id,
                        state.status)
            return "dropped"
        self._after_write(claimed, written, decision)
        telemetry.annotate(written)
        telemetry.record_write(claimed, written)
        log.info("%s %s: %s -> %s (%s)", workflow.name, state.record_id, claimed.status, written.status,
                 type(event).__name__)
        return str(written.status)

    def _defer(self, state: Record, etag: str, now: datetime, slot: Slot | None) -> str:
        """Not enough ARM budget: run this step in its reserved slot (None: nothing reserved, soon, jittered)."""
        delay = slot.wait if slot is not None else random.uniform(0.5, 2.0)
        deferred = state.replace(due_at=utc_iso(now + timedelta(seconds=delay)), budget_reserved=slot is not None,
                                 budget_pushed=slot.pushed if slot is not None else 0.0)  # fmt: skip
        try:
            written, _ = self.store.save(Decision(deferred), etag)
        except StaleState:
            return "lost-claim"
        # Visible up to a second before its slot (visibility counts whole seconds); the step waits the rest.
        self._send_step(written, max(0.0, delay - INLINE_WAIT_SECONDS) if slot is not None else delay)
        return "budget-wait"

    def _save_result(self, stored: Record, decision: Decision, etag: str) -> Any | None:
        """Write a step's result over `stored` (the state at `etag`); if only a submission's bookkeeping
        changed meanwhile, keep both.

        A duplicate submission records its message ID and a history line while the step runs; that must not
        drop the step's result (its PUT would be sent again). Anything else (a cancel, another claim, another
        delivery's result of the same step) wins.
        """
        for _ in range(WRITE_TRIES):
            try:
                return self.store.save(decision, etag, extra=self._ending(stored, decision))[0]
            except StaleState:
                loaded = self.store.get(stored.record_id)
                if loaded is None:
                    return None
                current, etag = loaded
                same_step = (current.status, current.step_seq, current.lease_until, current.step_claims) == (
                    stored.status, stored.step_seq, stored.lease_until, stored.step_claims
                )
                if not same_step:
                    return None
                # Its entries follow the other writer's (a MERGE keeps those in the row).
                decision = dataclasses.replace(decision, state=decision.state.replace(
                    message_ids=current.message_ids, **history_of(current)))  # fmt: skip
        return None

    def handle_step_text(self, text: str) -> str:
        try:
            message = StepMessage.from_text(text)
        except (ValueError, KeyError, TypeError):
            log.error("step message is malformed and was dropped: %.200s", text)
            return "malformed"
        return self.handle_step(message)

    def handle_poisoned_step(self, text: str) -> str:
        """A step message the host moved to the poison queue (every delivery failed): the record's workflow
        decides what is recorded (`Workflow.poisoned`); a message of a step no longer pending changes nothing."""
        try:
            message = StepMessage.from_text(text)
        except (ValueError, KeyError, TypeError):
            log.error("poisoned step message is malformed and was dropped: %.200s", text)
            return "malformed"
        outcome = "stale"

        def change(state: Any | None, now: datetime) -> Decision | None:
            nonlocal outcome
            if state is None or state.status.terminal or state.step_seq != message.seq:
                return None
            decision = self.workflow_of(state).poisoned(state, now)
            outcome = "re-drive" if decision is None else str(decision.state.status)
            return decision

        self.apply(message.build_id, change)
        log.warning("record %s: step %s poisoned: %s", message.build_id, message.seq, outcome)
        return outcome

    # --- the re-drive timer --------------------------------------------------------------------------
    def redrive(self) -> list[str]:
        """Send the step message again for every record whose message can no longer be in the queue.

        Such a message was lost (a worker died between writing the state and sending the message, or it
        went to the poison queue). Each candidate is read again and re-sent only if its step is unchanged.
        """
        now = self.clock()
        cutoff = redrive_cutoff(now, self._queue_front_due(), lease_seconds=self.settings.step_lease_seconds,
                                grace_seconds=self.settings.redrive_grace_seconds)  # fmt: skip
        redriven = []
        for candidate in self.store.overdue(cutoff, now):
            loaded = self.store.get(candidate.record_id)
            if loaded is None:
                continue
            state = loaded[0]
            if state.step_seq != candidate.step_seq or state.status.terminal or held(state.lease_until, now):
                continue
            self._send_step(state, 0)
            redriven.append(state.record_id)
            log.warning("%s %s: step %s overdue since %s; re-driven", self.store.workflow_of(state), state.record_id,
                        state.step_seq, state.due_at)
        return redriven

    def _queue_front_due(self) -> datetime | None:
        """When the oldest messages still visible in the step queue were due (None: nothing is waiting)."""
        try:
            peeked = self.step_queue.peek_messages(max_messages=32)
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
