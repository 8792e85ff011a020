"""The build workflow on the engine: validate, register, create, replicate, verify (and changes of regions).

`BuildWorkflow` is what the engine runs for every build record; `BuildSubmissions` admits the requests that
start or restart builds (from the request queue, the HTTP API, the CLI and snapshot intake).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from core.azure.arm import ArmFailure
from core.azure.settings import Settings
from core.base import telemetry
from core.base.actors import Actor
from core.base.timestamps import utc_iso
from core.builds import costs, steps
from core.builds.admission import Admission, Outcome, Submission, admit
from core.builds.decide import begin_step, decide
from core.builds.events import ArmCallFailed, CancelRequested
from core.builds.registration import Registrar
from core.builds.state import BuildState, BuildStatus
from core.builds.submissions import submission_from_text
from core.engine.budget import INLINE_WAIT_SECONDS, StepCost
from core.engine.budget_grants import Slot
from core.engine.record import Decision
from core.engine.runner import Runner
from core.engine.workflow import StepContext
from core.events.outbox import Outbox, ends_build, outbox_key

log = logging.getLogger(__name__)


class BuildWorkflow:
    """The engine's view of builds (see `core.engine.workflow.Workflow`)."""

    name = "build"
    state_type = BuildState

    def __init__(self, settings: Settings, registration: Registrar | None = None, outbox: Outbox | None = None) -> None:
        self.settings = settings
        self.registration = registration
        self.outbox = outbox  # completion events, when sinks are configured

    def begin_step(self, state: BuildState, now: datetime) -> Decision:
        return begin_step(state, now)

    def run_step(self, state: BuildState, ctx: StepContext) -> object:
        event = steps.run_step(state, steps.StepContext(ctx.settings, ctx.arm, ctx.now, self.registration,
                                                        ctx.take_budget))  # fmt: skip
        if isinstance(event, ArmCallFailed) and event.failure.status == 429:
            telemetry.record_throttled(event.action)
        return event

    def step_raised(self, state: BuildState, failure: ArmFailure) -> object:
        return ArmCallFailed(action=str(state.status), failure=failure)

    def decide(self, state: BuildState, event: object, now: datetime) -> Decision:
        return decide(state, event, now=now, settings=self.settings)  # type: ignore[arg-type]

    def cancel(self, state: BuildState, reason: str, now: datetime, by: dict[str, str] | None = None) -> Decision:
        return decide(state, CancelRequested(reason, by), now=now, settings=self.settings)

    def poisoned(self, state: BuildState, now: datetime) -> Decision | None:
        """A build's step is sent again by the re-drive timer (the state says what the step is)."""
        return None

    def writes_to_arm(self, state: BuildState) -> bool:
        return steps.writes_to_arm(state)

    def step_cost(self, state: BuildState) -> StepCost:
        return costs.step_cost(state)

    def ending_rows(self, before: BuildState | None, after: BuildState) -> list[dict[str, Any]]:
        """The outbox row written with the state that ends an attempt (none without completion events)."""
        if self.outbox is None or not ends_build(before, after):
            return []
        return [self.outbox.row(after)]

    def written(self, before: BuildState | None, after: BuildState) -> None:
        if after.status.terminal and self.outbox is not None:
            try:
                self.outbox.deliver(after.build_id, outbox_key(after.attempt))
            except Exception:  # the re-drive timer delivers it
                log.exception("build %s: completion event not delivered now", after.build_id)


def _actor(text: str) -> dict[str, str] | None:
    """The actor a `queued` row's By column holds (JSON), or None."""
    try:
        actor = Actor.from_dict(json.loads(text)) if text else None
    except ValueError:
        return None
    return actor.to_dict() if actor else None


class BuildSubmissions:
    """Admits submissions: one build per image-version resource ID (see `core.builds.admission`)."""

    def __init__(self, runner: Runner, settings: Settings) -> None:
        self.runner = runner
        self.settings = settings

    def submit(self, submission: Submission, *, reserve_first_step: bool = False) -> Admission:
        """Admit a submission (from the request queue, the HTTP API, the CLI or snapshot intake), start its build.

        With `reserve_first_step` (the ARM budget is short), a build started reserves its validation's slot
        now and its first step message waits for that slot, rather than coming at once to be deferred.
        """
        admitted: list[Admission] = []
        reserved: list[Slot | None] = []

        def change(existing: BuildState | None, now: datetime) -> Decision | None:
            admitted[:] = [admit(existing, submission, now=now)]
            decision = admitted[0].decision
            budget = self.runner.budget
            if not reserve_first_step or budget is None or decision is None or decision.delay_seconds != 0 \
                    or decision.state.status is not BuildStatus.ACCEPTED:
                return decision
            if not reserved:  # once, however often a contended write decides again
                reserved.append(budget.acquire(decision.state, costs.step_cost(decision.state)))
            slot = reserved[0]
            if slot is None:
                return decision
            state = decision.state.replace(due_at=utc_iso(now + timedelta(seconds=slot.wait)), budget_reserved=True,
                                           budget_pushed=slot.pushed)
            return dataclasses.replace(decision, state=state,
                                       delay_seconds=max(0.0, slot.wait - INLINE_WAIT_SECONDS))

        written = self.runner.apply(submission.build_id, change)
        admission = admitted[0]
        if written is not None:
            level = logging.WARNING if admission.outcome is Outcome.CONFLICT else logging.INFO
            log.log(level, "build %s: submission %s %s", submission.build_id, admission.outcome, admission.reason)
        return admission

    def handle_request_text(self, text: str, *, message_id: str | None = None, origin: str = "queue",
                            by: dict[str, str] | None = None, reserve_first_step: bool = False) -> Admission:
        """Admit a request message. Who sent it is what its build's `queued` row says, when that row notes this
        very request (the HTTP API and the CLI write it before sending); else ``origin`` and ``by`` as given."""
        submission = submission_from_text(text, message_id=message_id, origin=origin,
                                          known_regions=self.settings.known_regions)
        noted = self.runner.store.queued(submission.build_id)
        if noted and noted["Fingerprint"] and noted["Fingerprint"] == submission.fingerprint:
            origin, by = noted["Origin"] or origin, _actor(noted["By"]) or by
        return self.submit(dataclasses.replace(submission, origin=origin, by=by), reserve_first_step=reserve_first_step)
