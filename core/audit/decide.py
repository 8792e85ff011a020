"""An audit's decisions: its start, and after each step the next state, its history, its report page and
when the next step runs. Pure: no I/O, no clock; every transition is tested on constructed events.

Steps run one after another, each as soon as the subscription's ARM budget allows (`costs.step_cost`):
first one listing per subscription in scope, then one step per gallery (a page of a large gallery's
versions). A read ARM refuses for a reason that may pass is retried with the engine's backoff; once the
retries are spent, or for a permanent refusal, the gallery (or subscription) is reported as not read and
the audit goes on. Only a step that cannot run at all (storage out of reach) fails the audit.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from core.audit.costs import MAX_PAGE_READS, next_page_reads
from core.audit.events import Event, GalleriesListed, PageAudited, ReadFailed, StepRaised
from core.audit.key_health import KEY_HEALTH_CODES
from core.audit.pages import GALLERY, SUBSCRIPTION, Page, key_row, report_row, scope_rows
from core.audit.report import summary
from core.audit.scope import AuditConfig
from core.audit.state import AuditState, AuditStatus
from core.azure.arm import ArmFailure
from core.azure.settings import Settings
from core.base.timestamps import parse_iso, utc_iso
from core.engine.record import Decision, HistoryEntry, end, entry, then
from core.engine.retries import given_up, retry, will_retry

# Scope rows one write may create (a Table transaction holds 100 operations, with the state row).
MAX_SCOPE_ROWS = 90


class UnexpectedEvent(ValueError):
    """An event arrived in a status where it cannot happen: a bug in a step, not bad input."""


def start(audit_id: str, config: AuditConfig, now: datetime, *, origin: str, record_findings: bool) -> Decision:
    """A new audit of `config`'s scope: its first step runs at once; the galleries named are its scope rows."""
    if config.empty:
        raise ValueError("an audit needs galleries or subscriptions in scope")
    galleries = list(config.galleries)
    rows, starts = scope_rows(audit_id, 0, galleries)
    if len(rows) > MAX_SCOPE_ROWS:
        raise ValueError(f"{len(galleries)} galleries named; at most {MAX_SCOPE_ROWS * 100} can be: audit their "
                         "subscriptions (AUDIT_SUBSCRIPTIONS) instead")
    at = utc_iso(now)
    listing = bool(config.subscriptions)
    state = AuditState(
        audit_id=audit_id, status=AuditStatus.LISTING if listing else AuditStatus.AUDITING, created_at=at,
        updated_at=at, resource_id=f"/subscriptions/{config.subscriptions[0]}" if listing else galleries[0],
        origin=origin, record_findings=record_findings, require_customer_key=config.policy.require_customer_key,
        eol_warning_days=config.policy.eol_warning_days, key_horizon_days=config.policy.key_horizon_days,
        subscriptions=list(config.subscriptions),
        gallery_count=len(galleries), scope_starts=starts, page_reads=MAX_PAGE_READS,
    )  # fmt: skip
    line = entry(state, now, "AuditStarted", origin=origin, galleries=len(galleries),
                 subscriptions=len(config.subscriptions), recordFindings=record_findings)  # fmt: skip
    return dataclasses.replace(then(state, now, 0, line), rows=tuple(rows))


def _seconds(started_at: str, now: datetime) -> float:
    started = parse_iso(started_at)
    return round((now - started).total_seconds(), 3) if started else 0.0


def _end(state: AuditState, status: AuditStatus, now: datetime, *entries: HistoryEntry,
         rows: tuple[dict[str, Any], ...] = (), **changes: Any) -> Decision:  # fmt: skip
    ended = state.replace(status=status, ended_at=utc_iso(now), **changes)
    kind = {AuditStatus.SUCCEEDED: "Succeeded", AuditStatus.FAILED: "Failed"}.get(status, "Cancelled")
    detail = {"summary": summary(ended.counts)} if status is AuditStatus.SUCCEEDED else dict(ended.error or {})
    return dataclasses.replace(end(ended, now, *entries, entry(ended, now, kind, **detail)), rows=rows)


def _go_on(state: AuditState, now: datetime, gallery: str | None, entries: list[HistoryEntry],
           rows: tuple[dict[str, Any], ...], *, reads: int = MAX_PAGE_READS) -> Decision:  # fmt: skip
    """After a listing or a gallery: the next subscription to list, else the next gallery to audit, else the end.

    `gallery` is the ID of the gallery the audit goes on with (the step read it from the scope rows)."""
    moving = state.replace(step_retries=0, cursor=None)
    if moving.status is AuditStatus.LISTING and moving.listed < len(moving.subscriptions):
        listing = moving.replace(resource_id=f"/subscriptions/{moving.subscriptions[moving.listed]}")
        return dataclasses.replace(then(listing, now, 0, *entries), rows=rows)
    index = moving.gallery_index + (moving.status is AuditStatus.AUDITING)
    if index >= moving.gallery_count:
        return _end(moving, AuditStatus.SUCCEEDED, now, *entries, rows=rows)
    if gallery is None:  # the step could not name it: the scope rows are not as the state says
        error = {"code": "ScopeRowMissing", "message": f"gallery {index} of {moving.gallery_count} is in no scope row"}
        return _end(moving, AuditStatus.FAILED, now, *entries, rows=rows, error=error)
    auditing = moving.replace(status=AuditStatus.AUDITING, gallery_index=index, resource_id=gallery,
                              page_reads=next_page_reads(reads))  # fmt: skip
    return dataclasses.replace(then(auditing, now, 0, *entries), rows=rows)


def _listed(state: AuditState, event: GalleriesListed, now: datetime) -> Decision:
    found = list(event.galleries)[: MAX_SCOPE_ROWS * 100]
    rows, starts = scope_rows(state.audit_id, state.gallery_count, found)
    listed = state.replace(listed=state.listed + 1, gallery_count=state.gallery_count + len(found),
                           scope_starts=[*state.scope_starts, *starts])  # fmt: skip
    line = entry(listed, now, "GalleriesListed", subscription=event.subscription, galleries=len(found),
                 reads=event.reads, seconds=_seconds(event.started_at, now))  # fmt: skip
    return _go_on(listed, now, event.first_gallery, [line], tuple(rows))


def _page_audited(state: AuditState, event: PageAudited, now: datetime) -> Decision:
    page = event.page
    errors = sum(str(f.get("severity")) == "error" for f in page.findings)
    counts = state.counts.plus(versions=len(page.versions), noncompliant=len({f["versionId"] for f in page.findings}),
                               errors=errors, warnings=len(page.findings) - errors, new=event.new,
                               resolved=len(page.resolved) + page.resolved_omitted, galleries=int(page.done),
                               key_health=sum(f["code"] in KEY_HEALTH_CODES for f in page.findings),
                               events_sent=event.events_sent)  # fmt: skip
    audited = state.replace(counts=counts, pages=state.pages + 1)
    detail: dict[str, Any] = {"gallery": page.subject, "versions": len(page.versions),
                              "findings": len(page.findings), "reads": event.reads,
                              "seconds": _seconds(event.started_at, now)}
    if event.cursor is not None:
        detail["continuesAt"] = event.cursor
    line = entry(audited, now, "GalleryAudited", **detail)
    rows = (report_row(state.audit_id, state.step_seq, page),
            *((key_row(state.audit_id, state.step_seq, event.key_reads),) if event.key_reads else ()))
    if event.cursor is not None:  # the next page of the same gallery
        paging = audited.replace(cursor=event.cursor, page_reads=MAX_PAGE_READS, step_retries=0)
        return dataclasses.replace(then(paging, now, 0, line), rows=rows)
    return _go_on(audited, now, event.next_gallery, [line], rows, reads=event.reads)


def unreadable_text(subject: str, failure: ArmFailure, message: str) -> str:
    """How the report names what could not be read, and why."""
    if failure.status == 404 and "/galleries/" in subject.lower():
        return f"{subject}: not found; fix AUDIT_GALLERIES"
    return f"{subject}: {failure.code}: {message}"


def _not_read(state: AuditState, event: ReadFailed, now: datetime, settings: Settings) -> Decision:
    failure = event.failure
    if will_retry(state, failure, settings):
        return retry(state, now, failure, settings, action=str(state.status))
    listing = state.status is AuditStatus.LISTING
    subject = state.resource_id
    text = unreadable_text(subject, failure, given_up(state, failure))
    page = Page(kind=SUBSCRIPTION if listing else GALLERY, subject=subject, done=False, unreadable=text)
    counts = state.counts.plus(unreadable=1)
    skipped = state.replace(counts=counts, pages=state.pages + 1, listed=state.listed + listing)
    line = entry(skipped, now, "SubscriptionNotListed" if listing else "GalleryNotRead", subject=subject,
                 code=failure.code, message=text, seconds=_seconds(event.started_at, now))  # fmt: skip
    rows = (report_row(state.audit_id, state.step_seq, page),)
    return _go_on(skipped, now, event.next_gallery, [line], rows)


def decide(state: AuditState, event: Event, now: datetime, settings: Settings) -> Decision:
    """The decision after the pending step of `state` reported `event`."""
    if state.status.terminal:
        raise UnexpectedEvent(f"audit {state.audit_id}: {type(event).__name__} after it ended {state.status}")
    if isinstance(event, StepRaised):
        if will_retry(state, event.failure, settings):
            return retry(state, now, event.failure, settings, action=str(state.status))
        error = {"code": event.failure.code, "message": given_up(state, event.failure)}
        return _end(state, AuditStatus.FAILED, now, error=error)
    if isinstance(event, ReadFailed):
        return _not_read(state, event, now, settings)
    if isinstance(event, GalleriesListed) and state.status is AuditStatus.LISTING:
        return _listed(state, event, now)
    if isinstance(event, PageAudited) and state.status is AuditStatus.AUDITING:
        return _page_audited(state, event, now)
    raise UnexpectedEvent(f"audit {state.audit_id}: {type(event).__name__} cannot happen in {state.status}")


def cancel(state: AuditState, reason: str, now: datetime) -> Decision:
    """Stop the audit: what it found so far stays in its report (an ended audit is left as it is)."""
    if state.status.terminal:
        return Decision(state, (entry(state, now, "CancelIgnored", reason=f"audit is already {state.status}"),))
    return _end(state, AuditStatus.CANCELLED, now, error={"code": "Cancelled", "message": reason})


def poisoned(state: AuditState, now: datetime) -> Decision:
    """The host gave up on the pending step's message: the audit ends Failed, naming what the step read."""
    message = (f"the step that reads {state.resource_id} failed every delivery of its message (moved to the poison "
               "queue); start a new audit")
    return _end(state, AuditStatus.FAILED, now, error={"code": "StepPoisoned", "message": message})
