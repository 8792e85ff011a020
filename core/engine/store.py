"""Every workflow's records and their history in one Azure Table (`builds`).

One partition per record: the row `state` holds the current state (ETag-guarded; its column `Workflow`
names the workflow whose state it is) and the newest entries of its append-only history, in columns of its
own; rows `h-<n>` hold the older entries (`history_rows`). A state change and its history are one conditional
write of the state row (a MERGE: the entries already there stay), so a reader never sees one without the other
and a stale writer (412) writes neither. When the row is full, the entries it holds are first copied to `h-`
rows, then the row is replaced without them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, TableTransactionError, UpdateMode

from core.azure.storage import GuardedRows
from core.base.timestamps import utc_iso
from core.engine import history_rows
from core.engine.history_rows import stored_json
from core.engine.record import Decision, HistoryEntry, Record

STATE_ROW = "state"
# A submission on its way through the request queue (written by the CLI and the HTTP API before sending it).
QUEUED_ROW = "queued"


class StaleState(RuntimeError):
    """Someone else changed the record since it was read (ETag mismatch): reload and decide again."""


class RecordExists(RuntimeError):
    """A record with this ID was created concurrently."""


class UnknownWorkflow(ValueError):
    """A state row of a workflow this app does not run (or a state type no workflow decodes)."""


_KEY_FORBIDDEN = frozenset("/\\#?")


def is_table_key(text: str) -> bool:
    """Whether ``text`` can be a PartitionKey: Table storage refuses '/', '\\', '#', '?' and control characters."""
    return 0 < len(text) <= 512 and not any(ch in _KEY_FORBIDDEN or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F
                                            or 0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _queued_columns(entity: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(entity.get(key) or "") for key in ("ResourceId", "SubmittedAt", "Origin", "By", "Fingerprint")}


def _is_precondition_failure(exc: TableTransactionError) -> bool:
    code = str(getattr(exc, "error_code", "") or "")
    return code in ("UpdateConditionNotSatisfied", "ConditionNotMet") or getattr(exc, "status_code", 0) == 412


def _is_conflict(exc: TableTransactionError) -> bool:
    code = str(getattr(exc, "error_code", "") or "")
    return code == "EntityAlreadyExists" or getattr(exc, "status_code", 0) == 409


class RecordStore:
    """Reads and writes the records of every workflow; every method is one or two storage round trips.

    `state_types` maps each workflow's name to its state's type (with `from_dict`); the first is also the
    workflow of state rows written before rows named theirs (builds).
    """

    def __init__(self, service: TableServiceClient, table_name: str, state_types: Mapping[str, type]) -> None:
        self.table: TableClient = service.get_table_client(table_name)
        self._created = GuardedRows(self.table)  # its table created once; record rows are written as below
        self.state_types = dict(state_types)
        self._default = next(iter(self.state_types))
        self._names = {state_type: name for name, state_type in self.state_types.items()}

    def workflow_of(self, state: Record) -> str:
        """The name of the workflow whose state `state` is."""
        try:
            return self._names[type(state)]
        except KeyError:
            raise UnknownWorkflow(f"no workflow of this app keeps a {type(state).__name__}") from None

    def decode(self, entity: Mapping[str, Any]) -> Record:
        """The state of a state row, as its workflow's type."""
        workflow = str(entity.get("Workflow") or self._default)
        state_type = self.state_types.get(workflow)
        if state_type is None:
            raise UnknownWorkflow(f"state row {entity.get('PartitionKey')} is of workflow {workflow!r}, which this "
                                  f"app does not run ({', '.join(self.state_types)})")
        return state_type.from_dict(json.loads(entity["State"]))

    def ensure_table(self) -> None:
        self._created.ensure_table()

    # --- reading -------------------------------------------------------------------------------------
    def get(self, record_id: str) -> tuple[Any, str] | None:
        """The record's state (its workflow's type) and ETag; None when there is none."""
        if not is_table_key(record_id):  # an ID from a URL or a person: never a key of ours, so not found
            return None
        self.ensure_table()
        try:
            entity = self.table.get_entity(partition_key=record_id, row_key=STATE_ROW)
        except ResourceNotFoundError:
            return None
        return self.decode(entity), entity.metadata["etag"]

    def history(self, record_id: str) -> list[HistoryEntry]:
        """The record's whole history, oldest first (none for an ID that cannot be a key).

        The state row first, then the `h-` rows below its first column: an archive that happens between the two
        reads only copies entries of the row read (see `history_rows`), so nothing is missed or read twice."""
        if not is_table_key(record_id):
            return []
        self.ensure_table()
        try:
            entity = self.table.get_entity(partition_key=record_id, row_key=STATE_ROW)
        except ResourceNotFoundError:
            return []
        below = history_rows.first_column(entity)
        if below == 1:
            return history_rows.history([], entity)
        rows = self.table.query_entities(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
            parameters={"pk": record_id, "lo": history_rows.ROW_PREFIX,
                        "hi": history_rows.ROWS_END if below is None else history_rows.row_key(below)},
        )
        return history_rows.history(rows, entity)

    def _states(self, query: str, parameters: dict[str, Any]) -> list[Any]:
        self.ensure_table()
        rows = self.table.query_entities(query, parameters=parameters, select=["State", "Workflow"])
        return [self.decode(r) for r in rows]

    def in_flight(self) -> list[Any]:
        return self._states("RowKey eq @rk and Terminal eq false", {"rk": STATE_ROW})

    def overdue(self, cutoff: datetime, now: datetime) -> list[Any]:
        """Records in flight whose next step was due before `cutoff` and that nobody runs now (one query)."""
        return self._states(
            "RowKey eq @rk and Terminal eq false and DueAt gt @empty and DueAt lt @cutoff and LeaseUntil lt @now",
            {"rk": STATE_ROW, "empty": "", "cutoff": utc_iso(cutoff), "now": utc_iso(now)},
        )

    def page(
        self, query: str, parameters: dict[str, Any], *, top: int, continuation: dict[str, str] | None = None
    ) -> tuple[list[Any], dict[str, str] | None]:
        """One page of at most `top` state rows matching `query` (which must select state rows), and the
        continuation token of the next page (None on the last)."""
        self.ensure_table()
        pages = self.table.query_entities(
            query, parameters=parameters, select=["State", "Workflow"], results_per_page=top
        ).by_page(continuation_token=continuation)
        rows = list(next(pages, []))
        return [self.decode(r) for r in rows], pages.continuation_token

    def put_queued(self, record_id: str, resource_id: str, *, at: str, origin: str,
                   by: Mapping[str, str] | None = None, fingerprint: str | None = None) -> None:
        """Note that a request for this build was just put on the request queue (see `queued`): when, from where,
        by whom (``by``, an actor's dict) and which request (``fingerprint``), for the worker's admission."""
        if not is_table_key(record_id):
            raise ValueError(f"{record_id!r} cannot be a record ID")
        self.ensure_table()
        entity = {"PartitionKey": record_id, "RowKey": QUEUED_ROW, "ResourceId": resource_id, "SubmittedAt": at,
                  "Origin": origin, "By": stored_json(dict(by)) if by else "", "Fingerprint": fingerprint or ""}
        self.table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def queued(self, record_id: str) -> dict[str, str] | None:
        """The last submission sent to the request queue for this build: ResourceId, SubmittedAt, Origin, By (an
        actor as JSON, '' when unknown) and Fingerprint; None when there is none (or the ID cannot be a key)."""
        if not is_table_key(record_id):  # as `get`: never sent to storage, which would answer 400 or worse
            return None
        self.ensure_table()
        try:
            entity = self.table.get_entity(partition_key=record_id, row_key=QUEUED_ROW)
        except ResourceNotFoundError:
            return None
        return _queued_columns(entity)

    def queued_since(self, first: str, last: str, since: str) -> dict[str, dict[str, str]]:
        """The queued rows of the records ``first``..``last`` (their IDs, in key order) written after ``since``:
        one query however many records lie between (a listing page's overlay), by record ID."""
        self.ensure_table()
        rows = self.table.query_entities(
            "RowKey eq @rk and PartitionKey ge @lo and PartitionKey le @hi and SubmittedAt gt @since",
            parameters={"rk": QUEUED_ROW, "lo": first, "hi": last, "since": since})
        return {str(row["PartitionKey"]): _queued_columns(row) for row in rows}

    def recent(self, limit: int = 50) -> list[Any]:
        states = self._states("RowKey eq @rk", {"rk": STATE_ROW})
        return sorted(states, key=lambda s: s.updated_at, reverse=True)[:limit]

    # --- writing -------------------------------------------------------------------------------------
    def _columns(self, state: Any) -> dict[str, Any]:
        return {
            "PartitionKey": state.record_id,
            "RowKey": STATE_ROW,
            "Workflow": self.workflow_of(state),
            "Status": str(state.status),
            "Terminal": state.status.terminal,
            "ResourceId": state.resource_id,
            "DueAt": state.due_at or "",
            "LeaseUntil": state.lease_until or "",
            "UpdatedAt": state.updated_at,
            "State": stored_json(state.to_dict()),
        }

    def create(self, decision: Decision, *, extra: Sequence[dict[str, Any]] = ()) -> tuple[Any, str]:
        """Write a new record and its history (one request); `RecordExists` if another writer created it first.
        `extra` rows (an outbox row) are created in the same transaction."""
        self.ensure_table()
        before = decision.state
        first = before.history_count + 1
        columns, units = history_rows.new_columns(first, decision.history)
        state = before.replace(history_count=before.history_count + len(decision.history), history_from=first,
                               history_units=units)
        entity = {**self._columns(state), **columns}
        try:
            if not extra:
                return state, self.table.create_entity(entity)["etag"]
            results = self.table.submit_transaction([("create", entity), *(("create", e) for e in extra)])
        except ResourceExistsError as exc:
            raise RecordExists(state.record_id) from exc
        except TableTransactionError as exc:
            if _is_conflict(exc):
                raise RecordExists(state.record_id) from exc
            raise
        return state, results[0]["etag"]

    def save(self, decision: Decision, etag: str, *, extra: Sequence[dict[str, Any]] = ()) -> tuple[Any, str]:
        """Replace the state if it is unchanged since `etag` was read and append its history, in one conditional
        write (`StaleState` if it changed); `extra` rows (an outbox row) are created in the same transaction.

        The decision's state must carry the stored state's history bookkeeping (`record.history_of`). When the
        row is full, the entries it holds are first archived (a read and an upsert of their rows: once in
        `history_rows.MAX_ENTRIES` entries or so)."""
        self.ensure_table()
        before = decision.state
        first = before.history_count + 1
        columns, units = history_rows.new_columns(first, decision.history)
        stored_from = before.history_from or first
        stored = first - stored_from
        archive = history_rows.must_archive(stored, before.history_units, len(columns), units)
        state = before.replace(history_count=before.history_count + len(decision.history),
                               history_from=first if archive else stored_from,
                               history_units=units + (0 if archive else before.history_units))  # fmt: skip
        entity = {**self._columns(state), **columns}
        if archive:
            self._archive(state.record_id)
        # MERGE keeps the entries the row holds; after an archive, REPLACE drops them.
        mode = UpdateMode.REPLACE if archive else UpdateMode.MERGE
        try:
            if not extra:
                written = self.table.update_entity(entity, mode=mode, etag=etag,
                                                   match_condition=MatchConditions.IfNotModified)
                return state, written["etag"]
            update = ("update", entity, {"mode": mode, "etag": etag, "match_condition": MatchConditions.IfNotModified})
            results = self.table.submit_transaction([update, *(("create", e) for e in extra)])
        except ResourceModifiedError as exc:
            raise StaleState(state.record_id) from exc
        except TableTransactionError as exc:
            if _is_precondition_failure(exc):
                raise StaleState(state.record_id) from exc
            raise
        return state, results[0]["etag"]

    def _archive(self, record_id: str) -> None:
        """Copy every entry the state row holds now to its `h-` row. Whatever the row's ETag: each is committed."""
        entity = self.table.get_entity(partition_key=record_id, row_key=STATE_ROW)
        rows = history_rows.archive_rows(record_id, entity)
        upserts = [("upsert", row, {"mode": UpdateMode.REPLACE}) for row in rows]
        for start in range(0, len(upserts), 100):  # a transaction takes at most 100 operations
            self.table.submit_transaction(upserts[start:start + 100])
