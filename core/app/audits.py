"""The compliance audit, written once for every door: its scope (the settings, or the galleries and
subscriptions given), start one (the timer, the CLI), drive one to its end in this process (the CLI), read
its report (the CLI, the HTTP API), read the findings ledger (the CLI).

Behind `python -m core audit`, `GET /api/audits/{id|latest}` and the `compliance_audit` timer.

An audit is a record of the audit workflow (`core.audit.workflow`): starting one writes its record and sends
its first step message; the workers (the Functions host, `python -m core worker`) run its steps. `drive`
runs them here instead, through the same runner, as each falls due; a worker that takes one of their
messages afterwards finds the step already done.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from core.app.runtime import Runtime
from core.audit import decide
from core.audit.report import AuditReport
from core.audit.scope import AuditConfig
from core.audit.state import ID_PREFIX, AuditState, is_audit_id
from core.base.timestamps import parse_iso
from core.engine.messages import StepMessage
from core.engine.record import Decision

log = logging.getLogger(__name__)
LATEST = "latest"
# The longest a drive sleeps before it looks at the record again (another worker may have run the step).
LOOK_AGAIN_SECONDS = 5.0


class AuditNotFound(LookupError):
    """No audit has this ID (or no audit was ever started, for `latest`); ``reference`` as it was given."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"no audit {reference!r}")
        self.reference = reference


class NothingToAudit(ValueError):
    """Neither AUDIT_GALLERIES nor AUDIT_SUBSCRIPTIONS is set, and no gallery or subscription was given."""


def scope(runtime: Runtime, *, galleries: Iterable[str] = (), subscriptions: Iterable[str] = ()) -> AuditConfig:
    """What an audit covers: ``galleries`` / every gallery of ``subscriptions``, or when neither is given the
    configured scope; the policy from the settings. SettingsError for a setting or an ID that cannot be used,
    NothingToAudit for an empty scope."""
    config = AuditConfig.from_env(runtime.settings.env or os.environ, galleries=galleries, subscriptions=subscriptions)
    if config.empty:
        raise NothingToAudit("no gallery or subscription to audit")
    return config


def new_audit_id(now: datetime) -> str:
    """A new audit's ID: audits sort by when they started (`latest` is the greatest)."""
    return f"{ID_PREFIX}{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def start(runtime: Runtime, config: AuditConfig, *, origin: str, record_findings: bool = True) -> AuditState:
    """Write a new audit record of `config`'s scope and send its first step message; its state as written."""
    audit_id = new_audit_id(runtime.runner.clock())

    def create(existing: Any | None, now: datetime) -> Decision | None:
        if existing is not None:
            return None
        return decide.start(audit_id, config, now, origin=origin, record_findings=record_findings)

    written = runtime.runner.apply(audit_id, create)
    assert written is not None, f"audit ID {audit_id} is taken"
    return written.state


def start_scheduled(runtime: Runtime, *, past_due: bool = False) -> AuditState | None:
    """The timer's audit of the configured scope (None: nothing configured, or an audit is still running)."""
    try:
        config = scope(runtime)
    except NothingToAudit:
        log.warning("audit: nothing to audit; set AUDIT_GALLERIES (gallery IDs) or AUDIT_SUBSCRIPTIONS")
        return None
    running = runtime.audit_workflow.rows.in_flight_ids()
    if running:
        log.warning("audit: %s has not ended yet; no new audit started%s", running[-1],
                    " (timer past due)" * past_due)
        return None
    state = start(runtime, config, origin="timer")
    log.info("audit %s started: %d gallery(ies), %d subscription(s)%s", state.audit_id, state.gallery_count,
             len(state.subscriptions), " (timer past due)" * past_due)
    return state


def drive(runtime: Runtime, audit_id: str, *, on_step: Callable[[str, float], None] | None = None) -> AuditState:
    """Run the audit's steps in this process as each falls due, until it ends; its final state.

    `on_step(outcome, seconds)` hears of each step the runner handled and how long it took (tests, progress).
    """
    runner = runtime.runner
    while True:
        loaded = runtime.store.get(audit_id)
        if loaded is None or not isinstance(loaded[0], AuditState):
            raise AuditNotFound(audit_id)
        state: AuditState = loaded[0]
        if state.status.terminal:
            return state
        due = parse_iso(state.due_at)
        wait = (due - runner.clock()).total_seconds() if due is not None else LOOK_AGAIN_SECONDS
        if wait > 0:
            time.sleep(min(wait, LOOK_AGAIN_SECONDS))
            continue
        began = time.monotonic()
        outcome = runner.handle_step(StepMessage(audit_id, state.step_seq, state.due_at))
        if on_step is not None:
            on_step(outcome, time.monotonic() - began)


def run(runtime: Runtime, config: AuditConfig, *, origin: str = "cli", record_findings: bool = True,
        on_step: Callable[[str, float], None] | None = None) -> AuditReport:  # fmt: skip
    """Start an audit and drive it to its end here; its report."""
    state = start(runtime, config, origin=origin, record_findings=record_findings)
    drive(runtime, state.audit_id, on_step=on_step)
    return report(runtime, state.audit_id)


def resolve_id(runtime: Runtime, reference: str) -> str:
    """The audit ID `reference` names: itself, or the most recently started audit for `latest`."""
    if reference.strip().lower() != LATEST:
        return reference.strip()
    latest = runtime.audit_workflow.rows.latest_id()
    if latest is None:
        raise AuditNotFound(LATEST)
    return latest


def report(runtime: Runtime, reference: str) -> AuditReport:
    """The report of the audit `reference` names (an ID or `latest`), as far as it has gone."""
    audit_id = resolve_id(runtime, reference)
    loaded = runtime.store.get(audit_id) if is_audit_id(audit_id) else None
    if loaded is None or not isinstance(loaded[0], AuditState):
        raise AuditNotFound(reference)
    return AuditReport.of(loaded[0], runtime.audit_workflow.rows.pages(audit_id))


def recorded(runtime: Runtime, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """The findings ledger (Table `auditfindings`): open findings, and resolved ones with `include_resolved`."""
    return runtime.audit_workflow.ledger.recorded(include_resolved=include_resolved)
