"""The audit's decisions (pure): constructed events in, the next state, history, report rows and delay out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.audit import costs
from core.audit.decide import UnexpectedEvent, cancel, decide, poisoned, start
from core.audit.events import GalleriesListed, PageAudited, ReadFailed, StepRaised
from core.audit.pages import Page, page_of, scope_galleries
from core.audit.rules import AuditPolicy
from core.audit.scope import AuditConfig
from core.audit.state import AuditState, AuditStatus
from core.azure.arm import ArmFailure
from core.azure.settings import Settings
from core.base.timestamps import utc_iso
from core.engine.record import UnknownSchemaVersion

NOW = datetime(2030, 6, 1, 6, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=2)
SETTINGS = Settings(retry_initial_seconds=5, retry_max_seconds=600, transient_retry_limit=2)
SUB_A, SUB_B = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
ID = "audit-20300601T060000000Z-abcdef"


def gallery(n: int, sub: str = SUB_A) -> str:
    return f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g{n}"


def started(*galleries: str, subscriptions: tuple[str, ...] = ()) -> AuditState:
    return start(ID, AuditConfig(galleries=galleries, subscriptions=subscriptions), NOW, origin="test",
                 record_findings=True).state


def finding(version: str, severity: str = "error") -> dict:
    return {"code": "ReplicationFailed", "severity": severity, "versionId": version, "subject": "westus",
            "message": "m", "firstSeen": None, "lastSeen": None}


def audited(subject: str, *, versions: int = 2, findings: tuple[dict, ...] = (), cursor: dict | None = None,
            next_gallery: str | None = None, reads: int = 6, new: int = 0) -> PageAudited:
    page = Page(kind="gallery", subject=subject, done=cursor is None,
                versions=tuple(f"{subject}/images/i/versions/1.0.{n}" for n in range(versions)), findings=findings)
    return PageAudited(page, cursor, next_gallery, new, reads, utc_iso(NOW))


def failed(status: int | None, transient: bool, next_gallery: str | None = None, **extra) -> ReadFailed:
    failure = ArmFailure(transient=transient, status=status, code=extra.pop("code", f"Http{status}"),
                         message="no", **extra)
    return ReadFailed(failure, next_gallery, utc_iso(NOW))


def kinds(decision) -> list[str]:
    return [h.kind for h in decision.history]


def test_an_audit_of_named_galleries_starts_auditing_the_first_with_its_scope_in_rows():
    galleries = [gallery(n) for n in range(250)]
    decision = start(ID, AuditConfig(galleries=tuple(galleries)), NOW, origin="timer", record_findings=False)
    state = decision.state
    assert (state.status, state.resource_id, state.subscription_id) == (AuditStatus.AUDITING, galleries[0], SUB_A)
    assert (state.gallery_count, state.scope_starts, state.record_findings) == (250, [0, 100, 200], False)
    assert [row["RowKey"] for row in decision.rows] == ["g-0000000", "g-0000100", "g-0000200"]
    assert [g for row in decision.rows for g in scope_galleries(row)] == galleries
    assert decision.delay_seconds == 0 and kinds(decision) == ["AuditStarted"]
    assert state.step_seq == 1 and state.due_at == utc_iso(NOW)


def test_an_audit_of_subscriptions_lists_each_first_and_needs_a_scope():
    state = started(subscriptions=(SUB_A, SUB_B))
    assert (state.status, state.resource_id) == (AuditStatus.LISTING, f"/subscriptions/{SUB_A}")
    assert costs.step_cost(state).reads == costs.LISTING_READS
    with pytest.raises(ValueError, match="galleries or subscriptions"):
        start(ID, AuditConfig(), NOW, origin="test", record_findings=True)


def test_listings_append_scope_rows_then_the_audit_goes_on_with_the_first_gallery():
    state = started(gallery(0), subscriptions=(SUB_A, SUB_B))
    first = decide(state, GalleriesListed(SUB_A, (gallery(1), gallery(2)), gallery(0), 1, utc_iso(NOW)), LATER,
                   SETTINGS)
    listed = first.state
    assert (listed.status, listed.resource_id, listed.listed) == (AuditStatus.LISTING, f"/subscriptions/{SUB_B}", 1)
    assert (listed.gallery_count, listed.scope_starts) == (3, [0, 1])
    assert [(row["RowKey"], scope_galleries(row)) for row in first.rows] == [("g-0000001", [gallery(1), gallery(2)])]
    assert first.history[0].detail == {"subscription": SUB_A, "galleries": 2, "reads": 1, "seconds": 2.0}
    second = decide(listed, GalleriesListed(SUB_B, (), gallery(0), 1, utc_iso(NOW)), LATER, SETTINGS)
    assert (second.state.status, second.state.resource_id, second.state.gallery_index) == (
        AuditStatus.AUDITING, gallery(0), 0)
    assert second.rows == () and second.delay_seconds == 0


def test_subscriptions_without_galleries_end_the_audit_at_once():
    state = started(subscriptions=(SUB_A,))
    decision = decide(state, GalleriesListed(SUB_A, (), None, 1, utc_iso(NOW)), LATER, SETTINGS)
    assert decision.state.status is AuditStatus.SUCCEEDED and decision.delay_seconds is None
    assert kinds(decision) == ["GalleriesListed", "Succeeded"]
    assert decision.history[-1].detail["summary"].startswith("audit: 0 version(s) in 0 gallery(ies)")


def test_a_page_of_a_large_gallery_is_followed_by_its_next_page():
    state = started(gallery(0), gallery(1))
    cursor = {"image": "linux", "after": "1.0.7"}
    decision = decide(state, audited(gallery(0), versions=8, cursor=cursor, reads=20), LATER, SETTINGS)
    paging = decision.state
    assert (paging.status, paging.resource_id, paging.gallery_index, paging.cursor) == (
        AuditStatus.AUDITING, gallery(0), 0, cursor)
    assert paging.page_reads == costs.MAX_PAGE_READS and paging.counts.galleries == 0
    assert paging.counts.versions == 8 and paging.step_seq == state.step_seq + 1
    [row] = decision.rows
    assert row["RowKey"] == f"r-{state.step_seq:08d}" and page_of(row).done is False
    assert decision.history[0].detail["continuesAt"] == cursor


def test_a_gallery_done_moves_to_the_next_reserving_what_it_took():
    state = started(gallery(0), gallery(1))
    found = (finding(f"{gallery(0)}/images/i/versions/1.0.0"), finding(f"{gallery(0)}/images/i/versions/1.0.0",
                                                                           "warning"))
    decision = decide(state, audited(gallery(0), findings=found, next_gallery=gallery(1), reads=6, new=2), LATER,
                      SETTINGS)
    moved = decision.state
    assert (moved.resource_id, moved.gallery_index, moved.cursor, moved.page_reads) == (gallery(1), 1, None, 6)
    counts = moved.counts
    assert (counts.galleries, counts.versions, counts.noncompliant, counts.errors, counts.warnings, counts.new) == (
        1, 2, 1, 1, 1, 2)
    assert page_of(decision.rows[0]).findings == found
    assert decision.history[0].detail == {"gallery": gallery(0), "versions": 2, "findings": 2, "reads": 6,
                                          "seconds": 2.0}


def test_the_last_gallery_ends_the_audit_with_its_summary():
    state = started(gallery(0))
    decision = decide(state, audited(gallery(0), reads=3), LATER, SETTINGS)
    done = decision.state
    assert done.status is AuditStatus.SUCCEEDED and done.ended_at == utc_iso(LATER) and done.due_at is None
    assert kinds(decision) == ["GalleryAudited", "Succeeded"]
    assert decision.history[-1].detail["summary"] == ("audit: 2 version(s) in 1 gallery(ies); 0 open finding(s) on "
                                                      "0 version(s) (0 error, 0 warning); 0 new, 0 resolved")
    assert len(decision.rows) == 1


def test_a_transient_failure_is_retried_after_the_backoff_and_retry_after():
    state = started(gallery(0), gallery(1))
    decision = decide(state, failed(429, True, gallery(1), retry_after_seconds=30.0), LATER, SETTINGS)
    assert decision.state.step_retries == 1 and decision.state.resource_id == gallery(0)
    assert decision.delay_seconds == 30.0 and decision.rows == ()
    assert kinds(decision) == ["RetryScheduled"] and decision.history[0].detail["action"] == "Auditing"
    again = decide(decision.state, failed(503, True, gallery(1)), LATER, SETTINGS)
    assert again.delay_seconds == 10.0  # 5 s doubled on the second retry


def test_a_gallery_given_up_on_is_reported_not_read_and_the_audit_goes_on():
    state = started(gallery(0), gallery(1)).replace(step_retries=SETTINGS.transient_retry_limit)
    decision = decide(state, failed(503, True, gallery(1)), LATER, SETTINGS)
    assert decision.state.resource_id == gallery(1) and decision.state.counts.unreadable == 1
    assert kinds(decision) == ["GalleryNotRead"]
    [row] = decision.rows
    assert page_of(row).unreadable == f"{gallery(0)}: Http503: gave up after 2 retries: no"


def test_a_gallery_not_found_names_the_setting_to_fix():
    decision = decide(started(gallery(0)), failed(404, False, code="ResourceNotFound"), LATER, SETTINGS)
    assert decision.state.status is AuditStatus.SUCCEEDED and decision.state.counts.unreadable == 1
    assert page_of(decision.rows[0]).unreadable == f"{gallery(0)}: not found; fix AUDIT_GALLERIES"
    assert decision.history[-1].detail["summary"].endswith("; 1 gallery(ies) not read")


def test_a_subscription_not_listed_is_reported_and_the_next_one_listed():
    state = started(subscriptions=(SUB_A, SUB_B))
    decision = decide(state, failed(403, False, code="AuthorizationFailed"), LATER, SETTINGS)
    assert (decision.state.listed, decision.state.resource_id) == (1, f"/subscriptions/{SUB_B}")
    assert kinds(decision) == ["SubscriptionNotListed"]
    assert page_of(decision.rows[0]).unreadable == f"/subscriptions/{SUB_A}: AuthorizationFailed: no"


def test_a_step_that_raised_is_retried_then_fails_the_audit():
    failure = ArmFailure(transient=True, status=None, code="InternalError", message="TableUnreachable: down")
    state = started(gallery(0))
    retried = decide(state, StepRaised(failure), LATER, SETTINGS)
    assert kinds(retried) == ["RetryScheduled"] and retried.state.status is AuditStatus.AUDITING
    spent = state.replace(step_retries=SETTINGS.transient_retry_limit)
    decision = decide(spent, StepRaised(failure), LATER, SETTINGS)
    assert decision.state.status is AuditStatus.FAILED
    assert decision.state.error == {"code": "InternalError", "message": "gave up after 2 retries: TableUnreachable: down"}


def test_a_missing_scope_row_fails_the_audit_rather_than_skip_galleries():
    decision = decide(started(gallery(0), gallery(1)), audited(gallery(0), next_gallery=None), LATER, SETTINGS)
    assert decision.state.status is AuditStatus.FAILED and decision.state.error["code"] == "ScopeRowMissing"


def test_cancel_and_poison_end_the_audit_and_an_ended_audit_stays_as_it_is():
    state = started(gallery(0))
    cancelled = cancel(state, "stop", NOW).state
    assert cancelled.status is AuditStatus.CANCELLED and cancelled.error == {"code": "Cancelled", "message": "stop"}
    ignored = cancel(cancelled, "again", LATER)
    assert ignored.state == cancelled and kinds(ignored) == ["CancelIgnored"]
    poison = poisoned(state, NOW)
    assert poison.state.status is AuditStatus.FAILED and poison.state.error["code"] == "StepPoisoned"
    assert gallery(0) in poison.state.error["message"]


def test_events_that_cannot_happen_are_bugs():
    with pytest.raises(UnexpectedEvent):
        decide(started(subscriptions=(SUB_A,)), audited(gallery(0)), LATER, SETTINGS)
    with pytest.raises(UnexpectedEvent):
        decide(cancel(started(gallery(0)), "x", NOW).state, audited(gallery(0)), LATER, SETTINGS)


def test_each_step_reserves_its_reads_in_the_subscription_it_reads():
    state = started(gallery(0, SUB_B)).replace(page_reads=7)
    cost = costs.step_cost(state)
    assert (cost.kind, cost.reads, cost.writes, cost.floor, cost.gives_way) == ("AuditGallery", 7, 0, 0.5, False)
    assert state.subscription_id == SUB_B
    assert costs.next_page_reads(1) == costs.MIN_PAGE_READS and costs.next_page_reads(99) == costs.MAX_PAGE_READS
    assert costs.step_cost(cancel(state, "x", NOW).state).calls == (0, 0)


def test_the_state_round_trips_and_a_newer_schema_is_refused():
    state = decide(started(gallery(0), gallery(1)), audited(gallery(0), next_gallery=gallery(1)), LATER,
                   SETTINGS).state
    assert AuditState.from_dict(state.to_dict()) == state
    with pytest.raises(UnknownSchemaVersion):
        AuditState.from_dict({**state.to_dict(), "schema_version": 2})


def test_the_policy_is_kept_in_the_state():
    config = AuditConfig(galleries=(gallery(0),), policy=AuditPolicy(require_customer_key=False, eol_warning_days=5))
    state = start(ID, config, NOW, origin="cli", record_findings=True).state
    assert (state.require_customer_key, state.eol_warning_days) == (False, 5)
