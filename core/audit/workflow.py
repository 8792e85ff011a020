"""The compliance audit on the engine: `AuditWorkflow` is what the runner runs for every audit record.

An audit is started by `core.app.audits` (the timer `compliance_audit`, `python -m core audit`) with
`Runner.apply(audit_id, decide.start(...))`; from then on its steps are step messages like a build's, paced
by the ARM budget of the subscription each one reads, retried with the engine's backoff, re-driven when a
message is lost. Its report is its report rows (`core.audit.pages`); the findings ledger, Table
`auditfindings`, is kept as each gallery is read (unless the audit was started with `record_findings` off);
key-health findings go to the completion-event sinks as CloudEvents (`core.audit.announce`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.audit import costs, decide, steps
from core.audit.events import Event, ReadFailed, StepRaised
from core.audit.findings_table import FindingsTable
from core.audit.partition import AuditRows
from core.audit.report import summary
from core.audit.state import AuditState, AuditStatus
from core.azure.arm import ArmFailure
from core.azure.settings import Settings
from core.base import telemetry
from core.engine.budget import StepCost
from core.engine.record import Decision
from core.engine.workflow import StepContext
from core.events.sinks import Sink

log = logging.getLogger(__name__)


class AuditWorkflow:
    """The engine's view of audits (see `core.engine.workflow.Workflow`)."""

    name = "audit"
    state_type = AuditState

    def __init__(self, settings: Settings, rows: AuditRows, ledger: FindingsTable,
                 sinks: Sequence[Sink] = ()) -> None:  # fmt: skip
        self.settings = settings
        self.rows = rows
        self.ledger = ledger
        self.sinks = list(sinks)  # where key-health CloudEvents go (the completion-event sinks)

    def begin_step(self, state: AuditState, now: datetime) -> Decision:
        return Decision(state)

    def run_step(self, state: AuditState, ctx: StepContext) -> Event:
        event = steps.run_step(state, ctx, self.rows, self.ledger, self.sinks)
        if isinstance(event, ReadFailed):
            if event.failure.status == 429:
                telemetry.record_throttled(f"audit {state.status}")
            log.warning("audit %s: could not read %s: %s: %s", state.audit_id, state.resource_id,
                        event.failure.code, event.failure.message)
        return event

    def step_raised(self, state: AuditState, failure: ArmFailure) -> Event:
        return StepRaised(failure)

    def decide(self, state: AuditState, event: Any, now: datetime) -> Decision:
        return decide.decide(state, event, now, self.settings)

    def cancel(self, state: AuditState, reason: str, now: datetime) -> Decision:
        return decide.cancel(state, reason, now)

    def poisoned(self, state: AuditState, now: datetime) -> Decision:
        return decide.poisoned(state, now)

    def writes_to_arm(self, state: AuditState) -> bool:
        """An audit only reads ARM: no lease (a repeated step costs its reads; the first result written wins)."""
        return False

    def step_cost(self, state: AuditState) -> StepCost:
        return costs.step_cost(state)

    def ending_rows(self, before: AuditState | None, after: AuditState) -> list[dict[str, Any]]:
        return []  # each decision carries its own report page (`Decision.rows`)

    def written(self, before: AuditState | None, after: AuditState) -> None:
        """An audit that just ended says so in one log line (its summary, or why it failed)."""
        if not after.status.terminal or (before is not None and before.status.terminal):
            return
        if after.status is AuditStatus.SUCCEEDED:
            problems = after.counts.findings or after.counts.unreadable
            log.log(logging.WARNING if problems else logging.INFO, "%s", summary(after.counts))
        else:
            log.error("audit %s %s: %s", after.audit_id, after.status, (after.error or {}).get("message", ""))
