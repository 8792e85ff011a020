"""Where a record's history is stored: its newest entries in columns of the state row, older ones in rows. Pure.

A history is append-only and numbered from 1 (the state's `history_count` is the last number). The state row
holds the newest entries, one column each (`H<seq:08d>`, `[at, kind, status, detail]` as compact JSON), so a
step writes its state and its history in one conditional write. Before the row would hold more than
`MAX_ENTRIES` entries or `MAX_UNITS` UTF-16 units of them (a string property holds 32K units, an entity 1 MiB),
the entries it already holds are copied to rows of their own (`h-<seq:08d>`, columns At, Kind, Status, Detail:
the rows records written before the columns keep all their history in) and the state row is written without
them. Only entries already stored are archived, never those of a write that may still lose its ETag race, so an
archived row's content is what was committed, whoever writes it.

A reader takes the `h-` rows numbered below the state row's first column, then the columns: an archive whose
state write never came (a crash, a lost ETag race) leaves copies in both places, and only the columns' are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.engine.record import HistoryEntry

ROW_PREFIX = "h-"
ROWS_END = "h."  # the first RowKey after every `h-` row
MAX_ENTRIES = 48
MAX_UNITS = 12_000
_COLUMN = re.compile(r"H(\d{8})")


def stored_json(value: Any) -> str:
    """Compact JSON for a Table string column: non-ASCII kept as it is (a CJK character is one UTF-16 unit of the
    column's 32K, not the six of a ``\\uXXXX`` escape), escaped only when the text holds a lone surrogate."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"), default=str)
    return text


def utf16_units(text: str) -> int:
    """The UTF-16 code units of `text`, which is what Table storage counts in a string property."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def column_name(seq: int) -> str:
    return f"H{seq:08d}"


def row_key(seq: int) -> str:
    return f"{ROW_PREFIX}{seq:08d}"


def entry_text(entry: HistoryEntry) -> str:
    """An entry as its column holds it."""
    return stored_json([entry.at, entry.kind, entry.status, entry.detail])


def entry_of_text(text: str) -> HistoryEntry:
    at, kind, status, detail = json.loads(text)
    return HistoryEntry(at=at, kind=kind, status=status, detail=detail)


def entry_of_row(row: Mapping[str, Any]) -> HistoryEntry:
    """The entry of an `h-` row."""
    detail = json.loads(row.get("Detail") or "{}")
    return HistoryEntry(at=row["At"], kind=row["Kind"], status=row["Status"], detail=detail)


def new_columns(first: int, entries: Sequence[HistoryEntry]) -> tuple[dict[str, str], int]:
    """The columns of `entries` numbered from `first`, and their UTF-16 units."""
    columns = {column_name(first + i): entry_text(entry) for i, entry in enumerate(entries)}
    return columns, sum(utf16_units(text) for text in columns.values())


def columns_of(entity: Mapping[str, Any]) -> list[tuple[int, str]]:
    """The history columns a state row holds, oldest first, as (seq, text)."""
    found = [(int(match.group(1)), str(value)) for name, value in entity.items()
             if (match := _COLUMN.fullmatch(str(name))) is not None]  # fmt: skip
    return sorted(found)


def must_archive(stored: int, stored_units: int, new: int, new_units: int) -> bool:
    """Whether the entries the row holds (`stored` of them, `stored_units` long) move to rows before `new` more
    (`new_units` long) are written: when the row would pass a bound. A row holding none archives nothing."""
    return stored > 0 and new > 0 and (stored + new > MAX_ENTRIES or stored_units + new_units > MAX_UNITS)


def archive_rows(record_id: str, entity: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `h-` rows of every entry the state row `entity` holds (to upsert: the same whoever writes them)."""
    rows = []
    for seq, text in columns_of(entity):
        entry = entry_of_text(text)
        rows.append({"PartitionKey": record_id, "RowKey": row_key(seq), "At": entry.at, "Kind": entry.kind,
                     "Status": entry.status, "Detail": stored_json(entry.detail)})
    return rows


def first_column(entity: Mapping[str, Any]) -> int | None:
    """The number of the oldest entry the state row holds (None: none); every older one is in an `h-` row."""
    columns = columns_of(entity)
    return columns[0][0] if columns else None


def history(archived: Iterable[Mapping[str, Any]], entity: Mapping[str, Any]) -> list[HistoryEntry]:
    """The whole history, oldest first: the `h-` rows `archived` numbered below the state row's first column
    (the others are copies of its columns), then the columns of the state row `entity`."""
    columns = columns_of(entity)
    below = columns[0][0] if columns else None
    older = sorted(((int(str(row["RowKey"])[len(ROW_PREFIX):]), row) for row in archived), key=lambda pair: pair[0])
    return [entry_of_row(row) for seq, row in older if below is None or seq < below] + [
        entry_of_text(text) for _, text in columns]
