"""A record's history in columns of its state row and archived rows (pure)."""

from __future__ import annotations

from core.engine import history_rows
from core.engine.history_rows import (
    MAX_ENTRIES,
    MAX_UNITS,
    archive_rows,
    column_name,
    columns_of,
    entry_of_text,
    entry_text,
    history,
    must_archive,
    new_columns,
    row_key,
    utf16_units,
)
from core.engine.record import HistoryEntry


def _entry(n: int, detail: dict | None = None) -> HistoryEntry:
    return HistoryEntry(at=f"2026-12-07T12:00:{n:02d}Z", kind=f"K{n}", status="Running", detail=detail or {"n": n})


def _row(entries: dict[int, HistoryEntry]) -> dict:
    """A state row holding `entries` (by number) in its columns."""
    row = {"PartitionKey": "b1", "RowKey": "state", "State": "{}", "Workflow": "builds"}
    row.update({column_name(seq): entry_text(entry) for seq, entry in entries.items()})
    return row


def test_an_entry_reads_back_as_it_was_written_cjk_and_emoji_included():
    entry = HistoryEntry(at="2026-12-07T12:00:00Z", kind="Failed", status="Failed",
                         detail={"message": "镜像版本已存在 🚀", "nested": {"a": [1, 2.5, None, True]}})
    assert entry_of_text(entry_text(entry)) == entry
    assert "镜像" in entry_text(entry)  # kept as it is: one UTF-16 unit, not a six-character escape


def test_utf16_units_count_what_table_storage_counts():
    assert utf16_units("abc") == 3
    assert utf16_units("镜像") == 2  # a BMP character is one unit (three UTF-8 bytes)
    assert utf16_units("🚀") == 2  # outside the BMP: a surrogate pair


def test_new_columns_are_numbered_from_the_first_and_measured():
    columns, units = new_columns(7, [_entry(1), _entry(2)])
    assert list(columns) == ["H00000007", "H00000008"]
    assert units == sum(utf16_units(text) for text in columns.values())


def test_columns_of_a_row_are_its_history_columns_oldest_first():
    row = _row({12: _entry(12), 10: _entry(10), 11: _entry(11)})
    row["History"] = "not a column of ours"
    row["H123"] = "neither"
    assert [seq for seq, _ in columns_of(row)] == [10, 11, 12]


def test_the_row_is_archived_when_it_would_pass_the_bound_on_entries():
    assert not must_archive(MAX_ENTRIES - 1, 100, 1, 10)
    assert must_archive(MAX_ENTRIES - 1, 100, 2, 10)
    assert must_archive(MAX_ENTRIES, 100, 1, 10)


def test_the_row_is_archived_when_it_would_pass_the_bound_on_utf16_units():
    cjk = _entry(1, {"message": "镜" * 3000})
    emoji = _entry(2, {"message": "🚀" * 1500})
    (_, cjk_units), (_, emoji_units) = new_columns(1, [cjk]), new_columns(2, [emoji])
    assert cjk_units > 3000 and emoji_units > 3000  # a CJK character one unit, an emoji two
    stored = 3 * cjk_units
    assert stored < MAX_UNITS
    assert not must_archive(3, stored, 1, MAX_UNITS - stored)
    assert must_archive(3, stored, 1, emoji_units + MAX_UNITS - stored)


def test_a_row_holding_nothing_or_a_write_adding_nothing_archives_nothing():
    assert not must_archive(0, 0, MAX_ENTRIES + 5, MAX_UNITS * 2)  # the new entries are never archived
    assert not must_archive(MAX_ENTRIES + 5, MAX_UNITS * 2, 0, 0)


def test_archive_rows_copy_exactly_the_entries_the_row_holds():
    entries = {5: _entry(5), 6: _entry(6, {"message": "镜像 🚀"})}
    rows = archive_rows("b1", _row(entries))
    assert [row["RowKey"] for row in rows] == [row_key(5), row_key(6)] == ["h-00000005", "h-00000006"]
    assert all(row["PartitionKey"] == "b1" for row in rows)
    assert [history_rows.entry_of_row(row) for row in rows] == list(entries.values())


def test_history_is_the_archived_rows_then_the_columns():
    archived = archive_rows("b1", _row({1: _entry(1), 2: _entry(2)}))
    assert history(reversed(archived), _row({3: _entry(3)})) == [_entry(1), _entry(2), _entry(3)]
    assert history([], _row({1: _entry(1)})) == [_entry(1)]


def test_a_crash_between_archive_and_state_write_reads_without_duplicates():
    """The archive copied 1..3 to rows but the state row was never written without them: both copies exist."""
    row = _row({1: _entry(1), 2: _entry(2), 3: _entry(3)})
    archived = archive_rows("b1", row)
    assert history(archived, row) == [_entry(1), _entry(2), _entry(3)]
    # A later archive (rows 1..4) whose state write was lost too: still each entry once, in order.
    later = _row({1: _entry(1), 2: _entry(2), 3: _entry(3), 4: _entry(4)})
    assert history(archived + archive_rows("b1", later), later) == [_entry(n) for n in range(1, 5)]


def test_a_row_written_before_the_columns_reads_its_history_from_rows_alone():
    legacy_rows = archive_rows("b1", _row({1: _entry(1), 2: _entry(2)}))
    assert history(legacy_rows, {"PartitionKey": "b1", "RowKey": "state", "State": "{}"}) == [_entry(1), _entry(2)]
    # Its first write since: the new entries in columns, numbered after the rows.
    assert history(legacy_rows, _row({3: _entry(3)})) == [_entry(1), _entry(2), _entry(3)]


def test_an_h_row_with_no_detail_reads_as_an_empty_detail():
    row = {"RowKey": "h-00000001", "At": "t", "Kind": "k", "Status": "s"}
    assert history([row], {}) == [HistoryEntry("t", "k", "s", {})]
