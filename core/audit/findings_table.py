"""Table `auditfindings`: each gallery's rows read by their PartitionKey range, a page's rows written one
transaction per version, and the whole table read for `python -m core audit --recorded`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from azure.data.tables import TableServiceClient, TableTransactionError, UpdateMode

from core.audit.findings_rows import OPEN, TABLE, Reconciled, gallery_partitions, reconcile, row_document
from core.audit.rules import AuditFinding
from core.azure.storage import GuardedRows

BATCH = 100  # operations in one Table transaction


class FindingsTable:
    """The findings ledger (`core.audit.findings_rows` decides what it holds)."""

    def __init__(self, tables: TableServiceClient) -> None:
        self.rows = GuardedRows(tables.get_table_client(TABLE))  # created once, on first use

    def gallery_rows(self, gallery_id: str) -> list[dict[str, Any]]:
        """Every row (open and resolved) of the gallery's versions: one range query."""
        self.rows.ensure_table()
        low, high = gallery_partitions(gallery_id)
        return list(self.rows.table.query_entities("PartitionKey ge @low and PartitionKey lt @high",
                                                   parameters={"low": low, "high": high}))

    def record(self, gallery_id: str, findings: Sequence[AuditFinding], *, audit_id: str, at: str,
               gallery_done: bool) -> Reconciled:
        """Write one page of an audit into the ledger (see `findings_rows.reconcile`); what was written."""
        if not findings and not gallery_done:
            return Reconciled([], {}, 0, [])  # nothing seen, nothing to resolve yet: no need to read the rows
        reconciled = reconcile(self.gallery_rows(gallery_id), findings, audit_id=audit_id, at=at,
                               gallery_done=gallery_done)
        self._write(reconciled.rows)
        return reconciled

    def _write(self, rows: list[dict[str, Any]]) -> None:
        """Upsert rows, one transaction per partition (a version's findings change together)."""
        by_partition: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_partition.setdefault(row["PartitionKey"], []).append(row)
        for partition_rows in by_partition.values():
            for start in range(0, len(partition_rows), BATCH):
                chunk = partition_rows[start:start + BATCH]
                try:
                    self.rows.table.submit_transaction([("upsert", row, {"mode": UpdateMode.REPLACE}) for row in chunk])
                except TableTransactionError:
                    for row in chunk:
                        self.rows.table.upsert_entity(row, mode=UpdateMode.REPLACE)

    def recorded(self, *, include_resolved: bool = False) -> list[dict[str, Any]]:
        """The ledger as it stands: open findings (and resolved ones too with ``include_resolved``)."""
        self.rows.ensure_table()
        table = self.rows.table
        rows = table.list_entities() if include_resolved else table.query_entities(
            "Status eq @status", parameters={"status": OPEN})
        return sorted((row_document(row) for row in rows), key=lambda r: (str(r["versionId"]).lower(), r["code"]))
