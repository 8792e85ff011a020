"""A build's status document as a person reads it: `python -m core status`, the live view, `make demo`."""

from __future__ import annotations

from typing import Any

from core.app.status import StatusDocument, is_terminal
from core.snapshots.status_view import is_snapshot_document, snapshot_lines, snapshot_words


def _bar(progress: Any, width: int = 20) -> str:
    try:
        value = max(0, min(100, int(progress)))
    except (TypeError, ValueError):
        value = 0
    filled = value * width // 100
    return "#" * filled + "." * (width - filled)


def format_regions(regions: dict[str, dict[str, Any]]) -> list[str]:
    return [
        f"  {name:<18} {info.get('state', '?')!s:<12} [{_bar(info.get('progress'))}] {info.get('progress', 0):>3}%"
        + (f"  {info['details']}" if info.get("details") else "")
        for name, info in sorted(regions.items())
    ]


def format_status(document: StatusDocument, *, history_lines: int = 15) -> str:
    """A few readable lines: what, where it stands, each region, every problem, recent history."""
    lines = snapshot_lines(document) if is_snapshot_document(document) else _build_lines(document)
    history = document.get("history") or []
    if history:
        lines.append("History:")
        for entry in history[-history_lines:]:
            summary = detail_text(entry.get("detail") or {})
            lines.append(f"  {entry['at']}  {entry['kind']:<28} {entry['status']:<12} {shorten(summary, DETAIL_WIDTH)}")
    return "\n".join(lines)


def _build_lines(document: StatusDocument) -> list[str]:
    lines = [
        f"Build {document['buildId']}  (attempt {document['attempt']}, from {document['origin']})",
        f"  image version  {document['resourceId']}",
        f"  status         {document['status']}",
        f"  now            {step_words(document)}",
        f"  updated        {document['updatedAt']}",
    ]
    if document.get("startedBy"):
        starter = document["startedBy"]
        lines.append(f"  started by     {starter.get('workflow')} {starter.get('id')}  ({starter.get('resourceId')})")
    if document.get("nextStepDueAt") and not is_terminal(document["status"]):
        lines.append(f"  next step at   {document['nextStepDueAt']}")
    if document.get("regions"):
        lines.append("Regions:")
        lines.extend(format_regions(document["regions"]))
    if document.get("verification"):
        lines.append("Verification VM:")
        for name, info in sorted(document["verification"].items()):
            lines.append(f"  {name:<18} {info.get('result') or info.get('phase', '?')!s:<12} {info.get('reason', '')}")
            lines.extend(f"    {'ok  ' if check.get('passed') else 'FAIL'} {check.get('check')}: {check.get('detail')}"
                         for check in info.get("checks") or [])
    if document.get("problems"):
        lines.append(f"Problems ({len(document['problems'])}):")
        for problem in document["problems"]:
            code = f"[{problem['code']}] " if problem.get("code") else ""
            lines.append(f"  - {code}{problem.get('field', '')}: {problem.get('message', '')}")
    if document.get("error"):
        error = document["error"]
        lines.append(f"Error: {error.get('code', '')}: {error.get('message', '')}")
    return lines


DETAIL_WIDTH = 160


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters, the cut marked with an ellipsis."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "\u2026"


def _brief(value: Any) -> str:
    """A history value as a person reads it: no Python reprs, nested records in a few words."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {_brief(item)}" for key, item in value.items())
    if isinstance(value, list):
        return "; ".join(_brief(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def detail_text(detail: dict[str, Any]) -> str:
    """A history entry's detail in one line (problems are listed in their own section)."""
    parts = []
    for key, value in detail.items():
        if key == "problems" or value in (None, "", [], {}):
            continue
        parts.append(f"{key}: {_brief(value)}" if isinstance(value, dict | list) else f"{key}={_brief(value)}")
    return "; ".join(parts)


_STEP_WORDS = {
    "Queued": "waiting on the request queue for a worker to admit it",
    "Accepted": "accepted; validation starts next",
    "Validating": "checking the request, then reading the gallery, source and disk encryption sets",
    "Registering": "registering the preview feature and the Microsoft.Compute provider",
    "Creating": "creating the image version in Azure (one PUT across all regions)",
    "Verifying": "published; booting a verification VM from it in each chosen region, then deleting it",
}


def step_words(document: StatusDocument) -> str:
    """What the build (or snapshot intake) is doing or how it ended, in words (never an internal event name)."""
    if is_snapshot_document(document):
        return snapshot_words(document)
    status = document["status"]
    regions = document.get("regions") or {}
    if status in _STEP_WORDS:
        return _STEP_WORDS[status]
    if status == "Replicating":
        done = sum(1 for info in regions.values() if info.get("state") == "Completed")
        return f"replicating: {done} of {len(regions)} region(s) complete" if regions else "replicating"
    if status == "Succeeded":
        failed = sorted(n for n, i in (document.get("verification") or {}).items() if i.get("result") != "passed")
        note = f"; verification failed in {', '.join(failed)}" if failed else ""
        return (f"published in {len(regions)} region(s)" if regions else "published") + note
    error = document.get("error") or {}
    if status == "Rejected":
        problems = document.get("problems") or []
        first = f": {problems[0].get('field', '')}: {problems[0].get('message', '')}" if problems else ""
        return f"rejected with {len(problems)} problem(s){first}"
    if status in ("Failed", "Cancelled"):
        return f"{status.lower()}: {error.get('message') or error.get('code') or 'no detail'}"
    return status
