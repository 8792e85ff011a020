"""Version reservations in Table `snapshotbuilds`: two snapshots of one image never get one version number.

One partition per image definition (`versions<definition ID as a key>`), one row per reserved version (its
RowKey; `create_entity` is the guard), naming the snapshot and the intake attempt that reserved it. A
reservation outlives the intake: the build may not have published its version yet when the next snapshot
comes. A repeat of the same step (two deliveries, a worker that died before the result was written) finds
its own row and keeps that version.

The rows are kept here rather than in the records table: the versions reserved for one image are one
partition query, which the records table (one partition per record) cannot answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from azure.data.tables import TableServiceClient

from core.azure.storage import GuardedRows
from core.base.timestamps import utc_iso

TABLE = "snapshotbuilds"
MAX_RESERVATION_TRIES = 10


def table_key(resource_id: str) -> str:
    """A resource ID as a Table key ('/' is not allowed in keys; IDs compare case-insensitively)."""
    return resource_id.strip().lower().replace("/", "|")


def owner_of(record_id: str, attempt: int) -> str:
    """Who holds a reservation: one attempt of one snapshot's intake."""
    return f"{record_id}/{attempt}"


class VersionReservations:
    """The reserved versions of each image definition; every method is one or two storage round trips."""

    def __init__(self, tables: TableServiceClient, table_name: str = TABLE) -> None:
        self.rows = GuardedRows(tables.get_table_client(table_name))

    def _partition(self, definition_id: str) -> str:
        return "versions" + table_key(definition_id)

    def reserve(self, definition_id: str, *, owner: str, snapshot_id: str, template: str, taken: list[str],
                choose: Callable[[list[str]], str], now: datetime) -> str:
        """The version `owner` holds for the definition: its earlier reservation, else the first that
        `choose` picks from the versions `taken` in ARM and those reserved here (RuntimeError after
        MAX_RESERVATION_TRIES versions taken by others meanwhile). `choose` may raise ValueError."""
        self.rows.ensure_table()
        partition = self._partition(definition_id)
        rows = list(self.rows.table.query_entities("PartitionKey eq @pk", parameters={"pk": partition},
                                                   select=["RowKey", "Owner"]))
        mine = [str(row["RowKey"]) for row in rows if row.get("Owner") == owner]
        if mine:
            return mine[0]
        names = [*taken, *(str(row["RowKey"]) for row in rows)]
        for _ in range(MAX_RESERVATION_TRIES):
            version = choose(names)
            row = {"PartitionKey": partition, "RowKey": version, "SnapshotId": snapshot_id, "Template": template,
                   "Owner": owner, "ReservedAt": utc_iso(now)}
            if self.rows.put(row, None) is not None:
                return version
            holder = self.rows.get(partition, version)
            if holder is not None and holder.get("Owner") == owner:  # another delivery of this step, just now
                return version
            names.append(version)
        raise RuntimeError(f"could not reserve a version of {definition_id} after {MAX_RESERVATION_TRIES} tries")

    def hand_over(self, definition_id: str, version: str, *, owner: str, to: str) -> None:
        """Mark `owner`'s reservation of `version` as held by `to` (a build that has the version already, from
        another request): the next `reserve` by `owner` counts the version as taken and picks another."""
        partition = self._partition(definition_id)
        row = self.rows.get(partition, version)
        if row is None:
            self.rows.put({"PartitionKey": partition, "RowKey": version, "Owner": to}, None)
        elif row.get("Owner") == owner:
            self.rows.update_if_unchanged({"PartitionKey": partition, "RowKey": version, "Owner": to},
                                          str(row.metadata["etag"]))
