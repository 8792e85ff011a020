"""Reads of an audit's own rows in Table `builds` (its partition's scope, report and key rows, `core.audit.pages`)
and of which audits exist. The rows are written by the engine, with the state (`Decision.rows`)."""

from __future__ import annotations

from azure.core.exceptions import ResourceNotFoundError

from core.audit.pages import (
    KEYS_PREFIX,
    REPORT_PREFIX,
    SCOPE_PREFIX,
    KeyReads,
    Page,
    key_reads_of,
    page_of,
    scope_galleries,
    scope_position,
)
from core.audit.state import ID_PREFIX, AuditState
from core.engine.store import STATE_ROW, RecordStore

SCOPE_ROWS_KEPT = 64  # scope rows a process keeps read (each up to 100 gallery IDs)


def _after(prefix: str) -> str:
    """The first key after every key that starts with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class AuditRows:
    """The audits' rows of the records' table (the store's)."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self.table = store.table
        self._scope_rows: dict[tuple[str, str], list[str]] = {}  # a scope row never changes once written

    def _rows(self, audit_id: str, prefix: str) -> list[dict[str, object]]:
        self.store.ensure_table()
        return list(self.table.query_entities("PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
                                              parameters={"pk": audit_id, "lo": prefix, "hi": _after(prefix)}))

    def gallery_at(self, state: AuditState, index: int) -> str | None:
        """The ID of gallery number `index` of the audit's scope (one row read); None past the last."""
        position = scope_position(state.scope_starts, index) if index < state.gallery_count else None
        if position is None:
            return None
        key, offset = position
        galleries = self._scope_rows.get((state.audit_id, key))
        if galleries is None:
            self.store.ensure_table()
            try:
                galleries = scope_galleries(self.table.get_entity(partition_key=state.audit_id, row_key=key))
            except ResourceNotFoundError:
                return None
            if len(self._scope_rows) >= SCOPE_ROWS_KEPT:
                self._scope_rows.clear()
            self._scope_rows[(state.audit_id, key)] = galleries
        return galleries[offset] if offset < len(galleries) else None

    def scope(self, audit_id: str) -> list[str]:
        """Every gallery of the audit's scope so far, in order."""
        return [gallery for row in self._rows(audit_id, SCOPE_PREFIX) for gallery in scope_galleries(row)]

    def pages(self, audit_id: str) -> list[Page]:
        """The audit's report pages, in step order."""
        return [page_of(row) for row in self._rows(audit_id, REPORT_PREFIX)]

    def key_reads(self, audit_id: str) -> KeyReads:
        """The key-chain answers the audit's earlier steps read (its key rows)."""
        return key_reads_of(self._rows(audit_id, KEYS_PREFIX))

    def latest_id(self) -> str | None:
        """The most recently started audit (audit IDs sort by their start), or None when there is none."""
        self.store.ensure_table()
        rows = self.table.query_entities("PartitionKey ge @lo and PartitionKey lt @hi and RowKey eq @rk",
                                         parameters={"lo": ID_PREFIX, "hi": _after(ID_PREFIX), "rk": STATE_ROW},
                                         select=["PartitionKey"])  # fmt: skip
        return max((str(row["PartitionKey"]) for row in rows), default=None)

    def in_flight_ids(self) -> list[str]:
        """Audits that have not ended."""
        self.store.ensure_table()
        rows = self.table.query_entities(
            "PartitionKey ge @lo and PartitionKey lt @hi and RowKey eq @rk and Terminal eq false",
            parameters={"lo": ID_PREFIX, "hi": _after(ID_PREFIX), "rk": STATE_ROW}, select=["PartitionKey"])
        return sorted(str(row["PartitionKey"]) for row in rows)
