"""The thin shell around `decide`: admits requests, runs steps, records results, schedules messages.

Order of writes, so that a crash anywhere loses nothing:
1. a step that writes to ARM (the PUT, the verification VM) claims the step first (ETag write of a lease):
   a second delivery of the same message loses the race, and `step_claims` tells a repeat. A step that only
   reads ARM (validation, registration, replication polls) makes no claim: two deliveries cost a few reads,
   and the ETag of the result write decides which one is kept;
2. run the step's ARM calls;
3. write the decided state and its history in one transaction (ETag from the read, or from the claim);
4. enqueue the next step message, delayed. A crash between 3 and 4 leaves `due_at` in the past,
   and the re-drive timer sends the message again.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable
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
from core.builds.admission import Admission, Outcome, Submission, admit
from core.builds.decide import Decision, begin_step, decide
from core.builds.events import ArmCallFailed, CancelRequested, Event
from core.builds.state import BuildState, parse_iso, utc_iso
from core.builds.steps import StepContext, run_step, writes_to_arm
from core.builds.submissions import submission_from_text
from core.engine.budget import EARLY_SECONDS
from core.engine.budget_store import BudgetStore, Slot, StepTaking
from core.engine.messages import StepMessage, redrive_cutoff, visibility_seconds
from core.engine.store import BuildExists, BuildStore, StaleState
from core.events.outbox import ends_build, outbox_key

log = logging.getLogger(__name__)



class Runner:
    """Executes decisions against Table storage, the step queue and ARM."""

    def __init__(
        self,
        settings: Settings,
        store: BuildStore,
        queues: QueueServiceClient,
        *,
        arm_for: Callable[[str], Arm] | None = None,
        registration: Any = None,
        budget: BudgetStore | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.queues = queues
        self.arm_for = arm_for or ArmPool(settings)
        self.registration = registration
        self.budget = budget
        self.clock = clock
        self._step_queue: QueueClient | None = None
        self.outbox: Any = None  # core.events.outbox.Outbox when completion events are configured

    # --- queues --------------------------------------------------------------------------------------
    @property
    def step_queue(self) -> QueueClient:
        if self._step_queue is None:
            self._step_queue = self.queues.get_queue_client(self.settings.step_queue)
        return self._step_queue

    def _send_step(self, state: BuildState, delay: float) -> None:
        visibility = visibility_seconds(delay)
        text = StepMessage(state.build_id, state.step_seq, state.due_at).to_text()
        send_message(self.step_queue, text, delay_seconds=visibility)

    def _after_write(self, state: BuildState, decision: Decision) -> None:
        if decision.delay_seconds is not None and not state.status.terminal:
            self._send_step(state, decision.delay_seconds)
        if state.status.terminal and self.outbox is not None:
            try:
                self.outbox.deliver(state.build_id, outbox_key(state.attempt))
            except Exception:  # the re-drive timer delivers it
                log.exception("build %s: completion event not delivered now", state.build_id)

    def _ending(self, before: BuildState | None, decision: Decision) -> list[dict[str, Any]]:
        """The outbox row to write with `decision` if it ends the build (none without completion events)."""
        if self.outbox is None or not ends_build(before, decision.state):
            return []
        return [self.outbox.row(decision.state)]

    # --- requests ------------------------------------------------------------------------------------
    def submit(self, submission: Submission) -> Admission:
        """Admit a submission (from the request queue, the CLI or Event Grid) and start its build."""
        for _ in range(5):
            now = self.clock()
            loaded = self.store.get(submission.build_id)
            existing, etag = loaded if loaded else (None, None)
            admission = admit(existing, submission, now=now)
            if admission.decision is None:
                return admission
            try:
                ending = self._ending(existing, admission.decision)
                if etag is None:
                    state, _ = self.store.create(admission.decision, extra=ending)
                else:
                    state, _ = self.store.save(admission.decision, etag, extra=ending)
            except (BuildExists, StaleState):
                continue  # someone else wrote this build meanwhile: decide again on what they wrote
            self._after_write(state, admission.decision)
            telemetry.annotate(state)
            telemetry.record_write(existing, state)
            level = logging.WARNING if admission.outcome is Outcome.CONFLICT else logging.INFO
            log.log(level, "build %s: submission %s %s", state.build_id, admission.outcome, admission.reason)
            return admission
        raise StaleState(f"build {submission.build_id}: too much contention while admitting a submission")

    def handle_request_text(self, text: str, *, message_id: str | None = None, origin: str = "queue") -> Admission:
        return self.submit(submission_from_text(text, message_id=message_id, origin=origin,
                                                known_regions=self.settings.known_regions))

    # --- steps ---------------------------------------------------------------------------------------
    def handle_step(self, message: StepMessage) -> str:
        """Run one step of a build if the message is current; returns what happened, for logs and tests."""
        loaded = self.store.get(message.build_id)
        if loaded is None:
            return "unknown-build"
        state, etag = loaded
        telemetry.annotate(state)  # every step's span names its build, even one that runs nothing
        now = self.clock()
        if state.status.terminal or message.seq != state.step_seq:
            return "stale"
        if state.lease_until and state.lease_until > utc_iso(now):
            # Another invocation runs this step now; look again when its lease ends, in case it crashed.
            remaining = (parse_iso(state.lease_until) - now).total_seconds()  # type: ignore[operator]
            self._send_step(state, remaining + 1)
            return "leased"
        if self.budget is not None:
            slot = self.budget.slot_for(state, now.timestamp())
            if slot is None or slot.wait > EARLY_SECONDS:
                return self._defer(state, etag, now, slot)
        started = begin_step(state, now)
        stored, claimed = state, started.state  # what the table holds at `etag`; what the step runs on
        if writes_to_arm(state):
            lease = utc_iso(now + timedelta(seconds=self.settings.step_lease_seconds))
            claim = dataclasses.replace(started, state=claimed.replace(lease_until=lease,
                                                                       step_claims=state.step_claims + 1))
            try:
                stored, etag = self.store.save(claim, etag)
            except StaleState:
                return "lost-claim"
            claimed, started = stored, Decision(stored)
        telemetry.annotate(claimed)
        ratelimit.begin()
        taking = StepTaking(self.budget, claimed)
        try:
            context = StepContext(self.settings, self.arm_for(claimed.subscription_id), now, self.registration,
                                  taking.take)  # fmt: skip
            event: Event = run_step(claimed, context)
        except Exception as exc:  # a bug or a broken dependency: retried with backoff, then the build fails
            log.exception("build %s: step %s raised", state.build_id, claimed.status)
            failure = ArmFailure(
                transient=True, status=None, code="InternalError", message=f"{type(exc).__name__}: {exc}"
            )
            event = ArmCallFailed(action=str(claimed.status), failure=failure)
        if isinstance(event, ArmCallFailed) and event.failure.status == 429:
            telemetry.record_throttled(event.action)
        if self.budget is not None:
            self.budget.settle(state, ratelimit.seen(), taking.taken)
        decision = decide(claimed, event, now=self.clock(), settings=self.settings)
        if started.history:  # an Accepted build's ValidationStarted, written with the step's result
            decision = dataclasses.replace(decision, history=started.history + decision.history)
        written = self._save_result(stored, decision, etag)
        if written is None:
            # Changed while the step ran (a cancel, or the step claimed again): the stored state wins.
            log.warning("build %s: state changed during step %s; result dropped", state.build_id, state.status)
            return "dropped"
        self._after_write(written, decision)
        telemetry.annotate(written)
        telemetry.record_write(claimed, written)
        log.info("build %s: %s -> %s (%s)", state.build_id, claimed.status, written.status, type(event).__name__)
        return str(written.status)

    def _defer(self, state: BuildState, etag: str, now: datetime, slot: Slot | None) -> str:
        """Not enough ARM budget: run this step in its reserved slot (None: nothing reserved, soon, jittered)."""
        delay = slot.wait if slot is not None else random.uniform(0.5, 2.0)
        deferred = state.replace(due_at=utc_iso(now + timedelta(seconds=delay)), budget_reserved=slot is not None,
                                 budget_pushed=slot.pushed if slot is not None else 0.0)  # fmt: skip
        try:
            written, _ = self.store.save(Decision(deferred), etag)
        except StaleState:
            return "lost-claim"
        self._send_step(written, delay)
        return "budget-wait"

    def _save_result(self, stored: BuildState, decision: Decision, etag: str) -> BuildState | None:
        """Write a step's result over `stored` (the state at `etag`); if only a submission's bookkeeping
        changed meanwhile, keep both.

        A duplicate submission records its message ID and a history line while the step runs; that must not
        drop the step's result (its PUT would be sent again). Anything else (a cancel, another claim, another
        delivery's result of the same step) wins.
        """
        for _ in range(5):
            try:
                return self.store.save(decision, etag, extra=self._ending(stored, decision))[0]
            except StaleState:
                loaded = self.store.get(stored.build_id)
                if loaded is None:
                    return None
                current, etag = loaded
                same_step = (current.status, current.step_seq, current.lease_until, current.step_claims) == (
                    stored.status, stored.step_seq, stored.lease_until, stored.step_claims
                )
                if not same_step:
                    return None
                decision = dataclasses.replace(decision, state=decision.state.replace(
                    message_ids=current.message_ids, history_count=current.history_count
                ))  # fmt: skip
        return None

    def handle_step_text(self, text: str) -> str:
        try:
            message = StepMessage.from_text(text)
        except (ValueError, KeyError, TypeError):
            log.error("step message is malformed and was dropped: %.200s", text)
            return "malformed"
        return self.handle_step(message)

    # --- timers and people ---------------------------------------------------------------------------
    def redrive(self) -> list[str]:
        """Send the step message again for every build whose message can no longer be in the queue.

        Such a message was lost (a worker died between writing the state and sending the message, or it
        went to the poison queue). Each candidate is read again and re-sent only if its step is unchanged.
        """
        now = self.clock()
        cutoff = redrive_cutoff(now, self._queue_front_due(), lease_seconds=self.settings.step_lease_seconds,
                                grace_seconds=self.settings.redrive_grace_seconds)  # fmt: skip
        redriven = []
        for candidate in self.store.overdue(cutoff, now):
            loaded = self.store.get(candidate.build_id)
            if loaded is None:
                continue
            state = loaded[0]
            leased = bool(state.lease_until and state.lease_until > utc_iso(now))
            if state.step_seq != candidate.step_seq or state.status.terminal or leased:
                continue
            self._send_step(state, 0)
            redriven.append(state.build_id)
            log.warning("build %s: step %s overdue since %s; re-driven", state.build_id, state.step_seq, state.due_at)
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

    def cancel(self, build_id: str, reason: str = "cancelled by a user") -> BuildState | None:
        for _ in range(5):
            loaded = self.store.get(build_id)
            if loaded is None:
                return None
            state, etag = loaded
            decision = decide(state, CancelRequested(reason), now=self.clock(), settings=self.settings)
            try:
                written, _ = self.store.save(decision, etag, extra=self._ending(state, decision))
            except StaleState:
                continue
            self._after_write(written, decision)
            telemetry.record_write(state, written)
            return written
        raise StaleState(f"build {build_id}: too much contention while cancelling")
