"""A record's history in its state row's columns and archived rows, on Azurite with the real Tables SDK: a long
history reads whole and in order, an archive whose state write never came reads without duplicates, and a record
written before the columns (history in `h-` rows alone) reads and grows as before."""

from __future__ import annotations

import json
from typing import Any

from core.builds.state import BuildState
from core.builds.workflow import BuildSubmissions
from core.engine import history_rows
from core.engine.record import Decision, HistoryEntry
from core.engine.store import STATE_ROW, RecordStore, StaleState
from tests.support.live_app import App, example


def _build(app: App) -> tuple[RecordStore, str]:
    runner = app.runtime.runner
    request = json.dumps(example("seed-cli-managed-image.json"))
    admission = BuildSubmissions(runner, runner.settings).handle_request_text(request)
    return runner.store, admission.decision.state.build_id  # type: ignore[union-attr]


def _entries(start: int, count: int) -> tuple[HistoryEntry, ...]:
    # Long, non-ASCII detail (CJK and emoji) so that the bound on UTF-16 units comes into play as well.
    return tuple(HistoryEntry(at=f"2026-12-07T12:{n // 60:02d}:{n % 60:02d}Z", kind=f"Note{n}", status="Accepted",
                              detail={"n": n, "text": "镜像版本 🚀 " * (40 if n % 7 == 0 else 1)})
                 for n in range(start, start + count))  # fmt: skip


def _append(store: RecordStore, build_id: str, entries: tuple[HistoryEntry, ...]) -> BuildState:
    loaded = store.get(build_id)
    assert loaded is not None
    state, etag = loaded
    return store.save(Decision(state, entries), etag)[0]


def _row(store: RecordStore, build_id: str) -> dict[str, Any]:
    return dict(store.table.get_entity(build_id, STATE_ROW))


def _archived(store: RecordStore, build_id: str) -> list[str]:
    rows = store.table.query_entities("PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
                                      parameters={"pk": build_id, "lo": "h-", "hi": "h."}, select=["RowKey"])
    return sorted(str(row["RowKey"]) for row in rows)


def test_a_history_of_many_entries_reads_whole_and_in_order(app: App):
    store, build_id = _build(app)
    before = store.history(build_id)
    added: list[HistoryEntry] = []
    n = 0
    for size in [1, 3, 2, 1] * 12:  # 84 entries, some several in one write
        entries = _entries(n, size)
        state = _append(store, build_id, entries)
        added.extend(entries)
        n += size
        row = _row(store, build_id)
        columns = history_rows.columns_of(row)
        assert len(columns) <= history_rows.MAX_ENTRIES
        assert sum(history_rows.utf16_units(text) for _, text in columns) <= history_rows.MAX_UNITS + 2000
        assert (state.history_from, state.history_units) == (
            columns[0][0], sum(history_rows.utf16_units(text) for _, text in columns))
    history = store.history(build_id)
    assert history == before + added
    assert state.history_count == len(history)
    assert _archived(store, build_id)  # the oldest went to rows of their own


def test_an_archive_whose_state_write_never_came_reads_without_duplicates(app: App):
    store, build_id = _build(app)
    _append(store, build_id, _entries(0, 10))
    whole = store.history(build_id)
    store._archive(build_id)  # the archive, then a crash before the state row is written
    assert len(_archived(store, build_id)) == len(whole)
    assert store.history(build_id) == whole
    # The next writes go on as if nothing happened: copies are upserted again when the row is archived for real.
    for start in range(10, 70, 6):
        _append(store, build_id, _entries(start, 6))
    assert store.history(build_id) == whole + list(_entries(10, 60))


def test_an_archive_by_a_stale_writer_writes_nothing_but_copies(app: App):
    store, build_id = _build(app)
    _append(store, build_id, _entries(0, history_rows.MAX_ENTRIES - 1))
    state, etag = store.get(build_id)  # type: ignore[misc]
    _append(store, build_id, _entries(100, 1))  # another writer came first (no archive yet: the row had room)
    try:
        store.save(Decision(state, _entries(200, 2)), etag)  # would archive: copies, then a 412
    except StaleState:
        pass
    else:
        raise AssertionError("a stale write was not refused")
    history = store.history(build_id)
    assert [h.kind for h in history][-1] == "Note100" and "Note200" not in [h.kind for h in history]
    assert len(history) == store.get(build_id)[0].history_count  # type: ignore[index]


def test_a_record_written_before_the_columns_reads_and_grows(app: App):
    store, build_id = _build(app)
    old = list(_entries(0, 5))
    row = _row(store, build_id)
    # As the store wrote it before: the history in `h-` rows alone, the state row without columns or their numbers.
    legacy_state = {**json.loads(row["State"]), "history_count": len(old)}
    for key in ("history_from", "history_units"):
        legacy_state.pop(key)
    legacy = {k: v for k, v in row.items() if not history_rows.columns_of({k: v})}
    legacy["State"] = json.dumps(legacy_state)
    store.table.delete_entity(build_id, STATE_ROW)
    store.table.create_entity(legacy)
    for seq, entry in enumerate(old, 1):
        store.table.create_entity({"PartitionKey": build_id, "RowKey": f"h-{seq:08d}", "At": entry.at,
                                   "Kind": entry.kind, "Status": entry.status, "Detail": json.dumps(entry.detail)})
    assert store.history(build_id) == old
    _append(store, build_id, _entries(5, 2))
    assert store.history(build_id) == old + list(_entries(5, 2))
    for start in range(7, 67, 5):  # enough to archive the columns too
        _append(store, build_id, _entries(start, 5))
    history = store.history(build_id)
    assert history == list(_entries(0, 67))
    assert store.get(build_id)[0].history_count == 67  # type: ignore[index]
