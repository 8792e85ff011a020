"""The compliance audit of published image versions, as `core.audit` runs it today: audit the configured
galleries (or those given) now, read the recorded findings, or run the timer's audit.

Behind `python -m core audit` and the `compliance_audit` timer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from core.app.runtime import Runtime
from core.audit.auditor import AuditConfig, AuditReport, auditor, run_scheduled


class NothingToAudit(ValueError):
    """Neither AUDIT_GALLERIES nor AUDIT_SUBSCRIPTIONS is set, and no gallery or subscription was given."""


def run_audit(runtime: Runtime, *, galleries: Iterable[str] = (), subscriptions: Iterable[str] = (),
              record: bool = True) -> AuditReport:
    """Audit ``galleries`` / every gallery of ``subscriptions`` (when neither is given, the configured scope),
    recording the findings unless ``record`` is false.

    Raises SettingsError for a setting or an ID that cannot be used, NothingToAudit for an empty scope."""
    config = AuditConfig.from_env(runtime.settings.env or os.environ, galleries=galleries, subscriptions=subscriptions)
    if config.empty:
        raise NothingToAudit("no gallery or subscription to audit")
    return auditor(runtime, record=record).run(config)


def recorded_findings(runtime: Runtime, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """The findings table as it stands: open findings (resolved ones too with ``include_resolved``)."""
    return auditor(runtime).recorded(include_resolved=include_resolved)


def run_scheduled_audit(runtime: Runtime, *, past_due: bool = False) -> AuditReport | None:
    """The timer's audit of the configured scope, its summary logged (None: nothing is configured)."""
    return run_scheduled(runtime, past_due=past_due)
