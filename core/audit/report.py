"""An audit's report: its state and its report pages, as one document (the CLI's `--json`, the HTTP API),
a summary line (the log, the CLI) and a table for a person. Pure."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.audit.key_health import KEY_HEALTH_CODES
from core.audit.pages import GALLERY, Page
from core.audit.state import AuditCounts, AuditState
from core.azure import resource_ids


def summary(counts: AuditCounts) -> str:
    """The one line an audit ends with (the timer's log line)."""
    text = (f"audit: {counts.versions} version(s) in {counts.galleries} gallery(ies); {counts.findings} open "
            f"finding(s) on {counts.noncompliant} version(s) ({counts.errors} error, {counts.warnings} warning); "
            f"{counts.new} new, {counts.resolved} resolved")
    return text + (f"; {counts.unreadable} gallery(ies) not read" if counts.unreadable else "")


@dataclass
class AuditReport:
    """What one audit found: the galleries read to their end, every version read, the findings (with first
    and last seen when the audit keeps the findings ledger), the findings it resolved, what it could not read."""

    state: AuditState
    galleries: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, state: AuditState, pages: Iterable[Page]) -> AuditReport:
        """The report of `state` from its report pages, in step order."""
        report = cls(state)
        for page in pages:
            report.versions += page.versions
            report.findings += page.findings
            report.resolved += page.resolved
            if page.unreadable:
                report.unreadable.append(page.unreadable)
            elif page.kind == GALLERY and page.done:
                report.galleries.append(page.subject)
        return report

    @property
    def noncompliant_versions(self) -> list[str]:
        return sorted({str(finding["versionId"]) for finding in self.findings}, key=str.lower)

    @property
    def key_health(self) -> list[dict[str, Any]]:
        """The findings of a key-health code (each also sent as a CloudEvent)."""
        return [finding for finding in self.findings if finding.get("code") in KEY_HEALTH_CODES]

    @property
    def events_sent(self) -> int:
        """Key-health CloudEvents handed to the completion-event sinks."""
        return self.state.counts.events_sent

    @property
    def has_errors(self) -> bool:
        """An error finding, or something in scope that was not read: the CLI's exit code 1."""
        return bool(self.unreadable) or any(finding.get("severity") == "error" for finding in self.findings)

    def summary(self) -> str:
        return summary(self.state.counts)

    def to_dict(self) -> dict[str, Any]:
        state = self.state
        return {"auditId": state.audit_id, "status": str(state.status), "origin": state.origin,
                "auditedAt": state.created_at, "endedAt": state.ended_at, "recordFindings": state.record_findings,
                "galleries": self.galleries, "versions": self.versions,
                "noncompliantVersions": self.noncompliant_versions, "findings": self.findings,
                "resolved": self.resolved, "unreadable": self.unreadable, "error": state.error,
                "keyHealthFindings": len(self.key_health), "keyHealthEventsSent": self.events_sent,
                "summary": self.summary()}  # fmt: skip


# --- for a person ----------------------------------------------------------------------------------------------


def short_version(version_id: str) -> str:
    """gallery/image/version, for tables."""
    try:
        return "/".join(resource_ids.parse_resource_id(version_id).names)
    except ValueError:
        return version_id


def _short_subject(subject: str) -> str:
    return subject.rsplit("/", 1)[-1] if subject.startswith("/") else subject


def format_findings(rows: list[dict[str, Any]], *, width: int = 110) -> str:
    """Findings (report or ledger documents) as a table, each message wrapped under its row."""
    if not rows:
        return "no findings"
    header = ("VERSION", "SEVERITY", "CODE", "SUBJECT", "FIRST SEEN")
    lines_data = [(short_version(str(r["versionId"])), str(r["severity"]), str(r["code"]),
                   _short_subject(str(r["subject"])), str(r.get("firstSeen") or "")[:19]) for r in rows]
    widths = [max(len(header[i]), *(len(line[i]) for line in lines_data)) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for row, data in zip(rows, lines_data, strict=True):
        out.append("  ".join(d.ljust(w) for d, w in zip(data, widths, strict=True)).rstrip())
        status = f"[resolved {row['resolvedAt']}] " if row.get("resolvedAt") else ""
        out += textwrap.wrap(status + str(row["message"]), width=width, initial_indent="    ",
                             subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)
    return "\n".join(out)
