"""The rows an audit writes (pure): report pages that round-trip whatever their size, the scope's rows, and
the findings ledger's reconciliation, which a repeated step leaves as its first try did."""

from __future__ import annotations

from core.audit.findings_rows import OPEN, RESOLVED, gallery_partitions, reconcile, table_key
from core.audit.pages import PROPERTY_CHARS, Page, page_of, report_row, scope_position, scope_rows
from core.audit.rules import AuditFinding
from core.policy import Severity
from tests.audit.world import GOLDEN, version_id

AT0, AT1 = "2030-06-01T06:00:00.000Z", "2030-06-02T06:00:00.000Z"


def found(version: str, code: str = "ReplicationFailed", subject: str = "westus") -> AuditFinding:
    return AuditFinding(code, Severity.ERROR, version_id(version), subject, "message")


def test_a_report_page_round_trips_even_when_its_findings_fill_several_properties():
    findings = tuple({"code": "C", "severity": "error", "versionId": version_id(f"1.0.{n}"), "subject": "s",
                      "message": "x" * 500} for n in range(200))
    page = Page(kind="gallery", subject=GOLDEN, done=False, versions=tuple(version_id(f"1.0.{n}") for n in range(200)),
                findings=findings, resolved=({"code": "R"},))
    row = report_row("audit-x", 7, page)
    assert row["RowKey"] == "r-00000007" and "Findings_3" in row
    assert all(len(value) <= PROPERTY_CHARS for value in row.values() if isinstance(value, str))
    assert page_of(row) == page


def test_resolved_findings_beyond_the_limit_are_counted_not_listed():
    page = Page(kind="gallery", subject=GOLDEN, resolved=tuple({"n": n} for n in range(250)))
    read = page_of(report_row("audit-x", 1, page))
    assert len(read.resolved) == 200 and read.resolved_omitted == 50


def test_scope_rows_hold_a_hundred_galleries_each_and_are_found_by_index():
    rows, starts = scope_rows("audit-x", 5, [f"g{n}" for n in range(150)])
    assert [row["RowKey"] for row in rows] == ["g-0000005", "g-0000105"] and starts == [5, 105]
    assert scope_position([0, 5, 105], 104) == ("g-0000005", 99)
    assert scope_position([0, 5, 105], 105) == ("g-0000105", 0)
    assert scope_position([5], 0) is None


def test_a_gallery_s_rows_are_one_partition_key_range():
    low, high = gallery_partitions(GOLDEN)
    assert low <= table_key(version_id("1.0.0")) < high
    assert not low <= table_key(version_id("1.0.0", GOLDEN + "2")) < high


def test_a_new_finding_is_opened_and_counted_new_again_when_the_step_repeats():
    first = reconcile([], [found("1.0.0")], audit_id="a1", at=AT0, gallery_done=True)
    assert first.new == 1 and [row["Status"] for row in first.rows] == [OPEN]
    assert first.rows[0]["FirstSeen"] == AT0 and first.rows[0]["FirstSeenBy"] == "a1"
    repeated = reconcile(first.rows, [found("1.0.0")], audit_id="a1", at=AT0, gallery_done=True)
    assert repeated.new == 1 and repeated.rows == first.rows


def test_an_open_finding_keeps_its_first_seen_and_one_no_longer_seen_is_resolved_once_the_gallery_is_done():
    stored = reconcile([], [found("1.0.0"), found("1.1.0")], audit_id="a1", at=AT0, gallery_done=True).rows
    partial = reconcile(stored, [found("1.0.0")], audit_id="a2", at=AT1, gallery_done=False)
    assert partial.new == 0 and partial.resolved == []  # the gallery's next page may still see 1.1.0
    assert partial.rows[0]["FirstSeen"] == AT0 and partial.rows[0]["LastSeen"] == AT1
    done = reconcile(stored, [found("1.0.0")], audit_id="a2", at=AT1, gallery_done=True)
    [resolved] = done.resolved
    assert (resolved["VersionId"], resolved["Status"], resolved["ResolvedAt"], resolved["ResolvedBy"]) == (
        version_id("1.1.0"), RESOLVED, AT1, "a2")
    # The same step once more (its first result was lost): the same resolved finding, found by who resolved it.
    written = {(row["PartitionKey"], row["RowKey"]): row for row in [*stored, *done.rows]}
    again = reconcile(written.values(), [found("1.0.0")], audit_id="a2", at=AT1, gallery_done=True)
    assert [row["VersionId"] for row in again.resolved] == [version_id("1.1.0")]


def test_a_finding_an_earlier_page_of_the_same_audit_saw_is_not_resolved_by_the_last_page():
    stored = reconcile([], [found("1.0.0"), found("1.1.0")], audit_id="a1", at=AT0, gallery_done=True).rows
    page_one = reconcile(stored, [found("1.0.0")], audit_id="a2", at=AT1, gallery_done=False).rows
    written = {(row["PartitionKey"], row["RowKey"]): row for row in [*stored, *page_one]}
    last = reconcile(written.values(), [found("1.1.0")], audit_id="a2", at=AT1, gallery_done=True)
    assert last.resolved == []


def test_key_rows_round_trip_and_later_steps_read_no_answer_again():
    from core.audit.key_chains import KeyChains
    from core.audit.pages import KeyReads, key_reads_of, key_row

    vault = "/subscriptions/s/resourcegroups/kv/providers/microsoft.keyvault/vaults/kv-1"
    first = key_row("audit-x", 3, KeyReads({vault: {"properties": {"x": "y" * 40_000}}}, {}))
    second = key_row("audit-x", 5, KeyReads({}, {vault + "/keys/cmk/versions/0": "notFound"}))
    assert (first["RowKey"], second["RowKey"]) == ("k-00000003", "k-00000005") and "Kept_1" in first
    known = key_reads_of([first, second])
    assert known.kept[vault]["properties"]["x"] == "y" * 40_000
    assert known.refused == {vault + "/keys/cmk/versions/0": "notFound"}
    des = "/subscriptions/s/resourcegroups/kv/providers/microsoft.compute/diskencryptionsets/des-1"
    keys = KeyChains(lambda: KeyReads({des: {"id": des}}, {}))
    assert keys.disk_encryption_set(None, des, des) == ({"id": des}, 0)  # read by an earlier step: no ARM read
    assert not keys.new_reads()
