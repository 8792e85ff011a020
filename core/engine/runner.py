"""The thin shell around every workflow's `decide`: runs steps, records results, schedules messages.

Order of writes, so that a crash anywhere loses nothing:
1. a step that writes to ARM (the PUT, the verification VM) claims the step first (ETag write of a lease):
   a second delivery of the same message loses the race, and `step_claims` tells a repeat. A step that only
   reads ARM (validation, registration, replication polls) makes no claim: two deliveries cost a few reads,
   and the ETag of the result write decides which one is kept;
2. run the step's ARM calls;
3. write the decided state and its history in one conditional write of the state row (ETag from the claim, the
   read, or the state the message carried; see `store`); a record that ends writes its outbox row with it;
4. enqueue the next step message, delayed, carrying the state just written and its ETag. A crash between 3
   and 4 leaves `due_at` in the past, and the re-drive timer sends the message again (without a state).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.storage.queue import QueueClient, QueueServiceClient

from core.azure import ratelimit
from core.azure.arm import Arm, ArmFailure
from core.azure.arm_pool import ArmPool
from core.azure.settings import Settings
from core.azure.storage import send_message
from core.base import telemetry
from core.base.leases import held, lease_end, seconds_left
from core.base.timestamps import utc_iso
from core.engine.budget import INLINE_WAIT_SECONDS
from core.engine.budget_grants import Slot, StepTaking
from core.engine.budget_store import BudgetStore
from core.engine.messages import Carried, StepMessage, queue_front_due, redrive_cutoff, visibility_seconds
from core.engine.record import Decision, Record, history_of
from core.engine.store import RecordExists, RecordStore, StaleState, stored_json
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

    def _send_step(self, state: Record, delay: float, etag: str | None = None) -> None:
        """Send the step message of `state`, carrying it when `etag` is the ETag it was just written with."""
        carried = None
        if etag:
            carried = Carried(self.store.workflow_of(state), stored_json(state.to_dict()), etag)
        text = StepMessage(state.record_id, state.step_seq, state.due_at, carried).to_text()
        send_message(self.step_queue, text, delay_seconds=visibility_seconds(delay))

    def _after_write(self, before: Record | None, state: Record, etag: str, decision: Decision) -> None:
        if decision.delay_seconds is not None and not state.status.terminal:
            self._send_step(state, decision.delay_seconds, etag)
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
                    state, etag = self.store.create(decision, extra=ending)
                else:
                    state, etag = self.store.save(decision, etag, extra=ending)
            except (RecordExists, StaleState):
                continue  # someone else wrote this record meanwhile: decide again on what they wrote
            self._after_write(existing, state, etag, decision)
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
        """Run one step of a record if the message is current; returns what happened, for logs and tests.

        A message carrying its state (`StepMessage.carried`) runs on it without reading the row. It is stale when
        the record was written since it was sent (a cancel, a duplicate submission, a second delivery's result);
        every write of the step is conditional on its ETag, and each 412 is taken as from a fresh read: a claim
        or a deferral looks at the row and goes on from what it holds (`_fresh`), a result is merged or dropped
        (`_save_result`). A stale carried state can therefore cost a read step's ARM reads, never a write."""
        carried = self._carried(message)
        loaded = carried or self.store.get(message.build_id)
        if loaded is None:
            return "unknown-build"
        state, etag = loaded
        workflow = self.workflow_of(state)
        telemetry.annotate(state)  # every step's span names its record, even one that runs nothing
        now = self.clock()
        waiting = self._not_runnable(message, state, now)
        if waiting is not None:
            return waiting
        cost = workflow.step_cost(state)
        grant = None
        if self.budget is not None:
            slot = self.budget.slot_for(state, cost, now.timestamp())
            if slot is None or slot.wait > INLINE_WAIT_SECONDS:
                return self._defer(message, state, etag, now, slot, carried is not None)
            if slot.wait > 0:  # its slot is this close: wait for it here rather than in the queue
                self.sleep(slot.wait)
                now = self.clock()
            grant = slot.grant
        started = workflow.begin_step(state, now)
        stored, claimed = state, started.state  # what the table holds at `etag`; what the step runs on
        if workflow.writes_to_arm(state):
            for fresh_read in (carried is None, True):
                lease = lease_end(now, self.settings.step_lease_seconds)
                claim = dataclasses.replace(started, state=claimed.replace(lease_until=lease,
                                                                           step_claims=state.step_claims + 1))
                try:
                    stored, etag = self.store.save(claim, etag)
                    break
                except StaleState:
                    if fresh_read:
                        return "lost-claim"
                # The carried state was stale: claim on what the row holds, if its step is still this one.
                fresh = self._fresh(message, now)
                if isinstance(fresh, str):
                    return fresh
                state, etag = fresh
                started = workflow.begin_step(state, now)
                claimed = started.state
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
        result = self._save_result(stored, decision, etag)
        if result is None:
            # Changed while the step ran (a cancel, or the step claimed again): the stored state wins.
            log.warning("%s %s: state changed during step %s; result dropped", workflow.name, state.record_id,
                        state.status)
            return "dropped"
        written, etag = result
        self._after_write(claimed, written, etag, decision)
        telemetry.annotate(written)
        telemetry.record_write(claimed, written)
        log.info("%s %s: %s -> %s (%s)", workflow.name, state.record_id, claimed.status, written.status,
                 type(event).__name__)
        return str(written.status)

    def _carried(self, message: StepMessage) -> tuple[Any, str] | None:
        """The state the message carries and its ETag; None when it carries none, or none of this step that
        this app can read (the step then reads the row)."""
        if message.carried is None:
            return None
        try:
            state = self.store.decode({"Workflow": message.carried.workflow, "State": message.carried.state})
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None
        if state.record_id != message.build_id or state.step_seq != message.seq:
            return None
        return state, message.carried.etag

    def _not_runnable(self, message: StepMessage, state: Record, now: datetime) -> str | None:
        """Why the message's step does not run now on `state` (None: it does)."""
        if state.status.terminal or message.seq != state.step_seq:
            return "stale"
        if held(state.lease_until, now):
            # Another invocation runs this step now; look again when its lease ends, in case it crashed. Not
            # carried: that invocation's result will most likely have moved the record on by then.
            self._send_step(state, seconds_left(state.lease_until, now) + 1)
            return "leased"
        return None

    def _fresh(self, message: StepMessage, now: datetime) -> tuple[Any, str] | str:
        """The record as stored now, with its ETag, if the message's step can still run on it; else the outcome."""
        loaded = self.store.get(message.build_id)
        if loaded is None:
            return "unknown-build"
        return self._not_runnable(message, loaded[0], now) or loaded

    def _defer(self, message: StepMessage, state: Record, etag: str, now: datetime, slot: Slot | None,
               carried: bool) -> str:
        """Not enough ARM budget: run this step in its reserved slot (None: nothing reserved, soon, jittered)."""
        delay = slot.wait if slot is not None else random.uniform(0.5, 2.0)
        deferral = {"due_at": utc_iso(now + timedelta(seconds=delay)), "budget_reserved": slot is not None,
                    "budget_pushed": slot.pushed if slot is not None else 0.0}
        try:
            written, etag = self.store.save(Decision(state.replace(**deferral)), etag)
        except StaleState:
            if not carried:
                return "lost-claim"
            # The carried state was stale (a duplicate submission, say): defer the step as the row holds it.
            fresh = self._fresh(message, now)
            if isinstance(fresh, str):
                return fresh
            try:
                written, etag = self.store.save(Decision(fresh[0].replace(**deferral)), fresh[1])
            except StaleState:
                return "lost-claim"
        # Visible up to a second before its slot (visibility counts whole seconds); the step waits the rest.
        self._send_step(written, max(0.0, delay - INLINE_WAIT_SECONDS) if slot is not None else delay, etag)
        return "budget-wait"

    def _save_result(self, stored: Record, decision: Decision, etag: str) -> tuple[Any, str] | None:
        """Write a step's result over `stored` (the state at `etag`): the state written and its ETag; if only a
        submission's bookkeeping changed meanwhile, keep both; None when the result was dropped.

        A duplicate submission records its message ID and a history line while the step runs; that must not
        drop the step's result (its PUT would be sent again). Anything else (a cancel, another claim, another
        delivery's result of the same step) wins.
        """
        for _ in range(WRITE_TRIES):
            try:
                return self.store.save(decision, etag, extra=self._ending(stored, decision))
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
        cutoff = redrive_cutoff(now, queue_front_due(self.step_queue), lease_seconds=self.settings.step_lease_seconds,
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
