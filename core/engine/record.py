"""What the engine keeps of every workflow's record: the pending step's bookkeeping, history and decisions.

Each workflow's state is a frozen dataclass of JSON primitives that inherits `StepFields` and has the
attributes of `Record`; its own fields (a build's regions, a snapshot's template) are the workflow's alone.
`decide` functions return a `Decision`; the runner writes its state and history in one conditional write and
schedules the next step message after `delay_seconds`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, Self, TypeVar

from core.base.telemetry import Traced
from core.base.timestamps import utc_iso


class Status(Protocol):
    """A workflow's status: a `StrEnum` whose members say whether they end the record."""

    @property
    def terminal(self) -> bool: ...


@dataclass(frozen=True, kw_only=True)
class StepFields:
    """The engine's fields of a record (keyword-only, so a workflow's own fields keep their order).

    `step_seq` numbers the pending step: a step message carries it, and a message whose number is not the
    current one is stale and dropped. `due_at` is when that step should run; the re-drive timer re-sends
    messages for steps well past it. `lease_until` marks a step being executed right now; `step_claims`
    counts how often a step that writes to ARM was claimed (more than one: it may be a repeat).
    `history_count` numbers the last history entry; `history_from` the first the state row holds in its own
    columns (0: none, as in rows written before the columns) and `history_units` their length (see
    `history_rows`). The store keeps the three; a new state of the same record must carry them over.
    """

    step_seq: int = 0
    due_at: str | None = None
    lease_until: str | None = None
    step_claims: int = 0
    budget_reserved: bool = False  # the pending step's ARM tokens are reserved (it was deferred for budget)
    budget_pushed: float = 0.0  # the budget's `pushed` when this step reserved (see budget.reserve)
    step_retries: int = 0
    message_ids: list[str] = field(default_factory=list)
    history_count: int = 0
    history_from: int = 0
    history_units: int = 0


class Record(Traced, Protocol):
    """What the engine reads of a workflow's state (a `StepFields` dataclass with these attributes, and those
    telemetry reads: the record's ID, resource, status and times)."""

    step_seq: int
    due_at: str | None
    lease_until: str | None
    step_claims: int
    budget_reserved: bool
    budget_pushed: float
    step_retries: int
    message_ids: list[str]
    history_count: int
    history_from: int
    history_units: int

    @property
    def subscription_id(self) -> str: ...

    def replace(self, **changes: Any) -> Self: ...

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Record)
S = TypeVar("S")


class UnknownSchemaVersion(ValueError):
    """Stored state written by a newer version of this app; refuse rather than misread it."""


def state_to_dict(state: Any) -> dict[str, Any]:
    """A state dataclass's fields as JSON primitives, for `json.dumps`: nested values are the state's own (not
    copies), but for a field holding a dataclass (a part, such as an audit's counts), written as its dict; its
    `status` as the status's text."""
    data = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    for name, value in data.items():
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            data[name] = dataclasses.asdict(value)
    data["status"] = str(state.status)
    return data


def state_from_dict(state_type: type[S], data: Mapping[str, Any], *, status_type: type, schema_version: int,
                    what: str, parts: Mapping[str, type] | None = None) -> S:
    """The state `state_to_dict` wrote (fields it does not know are dropped, in its `parts` too: the fields
    holding a dataclass, by name); UnknownSchemaVersion, naming `what`, for a state written in another schema."""
    version = data.get("schema_version", schema_version)
    if version != schema_version:
        raise UnknownSchemaVersion(f"{what} has state schema {version}; this app reads {schema_version}")
    values = _known_fields(state_type, data)
    values["status"] = status_type(values["status"])
    for name, part_type in (parts or {}).items():
        values[name] = part_type(**_known_fields(part_type, values.get(name) or {}))
    return state_type(**values)


def _known_fields(state_type: type, data: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(state_type)}  # type: ignore[arg-type]
    return {key: value for key, value in data.items() if key in names}


class InvalidTransition(ValueError):
    """A decision tried to move a record along an edge its workflow's transition table does not allow."""

    def __init__(self, what: str, from_status: object, to_status: object) -> None:
        super().__init__(f"{what}: {from_status} -> {to_status} is not an allowed transition")
        self.what = what
        self.from_status = from_status
        self.to_status = to_status


def check_transition(what: str, from_status: Any, to_status: Any, transitions: Mapping[Any, frozenset[Any]]) -> None:
    """InvalidTransition unless `to_status` is `from_status` or one of its edges in `transitions` (`what` names
    the record in the error)."""
    if from_status != to_status and to_status not in transitions[from_status]:
        raise InvalidTransition(what, from_status, to_status)


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a record's append-only history."""

    at: str
    kind: str
    status: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The new state, the history to append with it, and the delay before the next step (None: none).

    `rows`: other rows of the record's partition to create in the same transaction (an audit's report page);
    each `{"PartitionKey": record_id, "RowKey": ...}`, a key no earlier decision of the record created.
    """

    state: Any  # the workflow's `Record`
    history: tuple[HistoryEntry, ...] = ()
    delay_seconds: float | None = None
    rows: tuple[dict[str, Any], ...] = ()


def history_of(state: Record) -> dict[str, int]:
    """The store's bookkeeping of `state`'s history, for a new state of the same record (`replace(**...)`)."""
    return {"history_count": state.history_count, "history_from": state.history_from,
            "history_units": state.history_units}


def entry(state: Record, now: datetime, kind: str, **detail: Any) -> HistoryEntry:
    """A history line in the record's current status."""
    return HistoryEntry(at=utc_iso(now), kind=kind, status=str(state.status), detail=detail)


def schedule(state: R, now: datetime, delay_seconds: float) -> R:
    """Number a new pending step, due after `delay_seconds`; any older step message becomes stale."""
    return state.replace(
        step_seq=state.step_seq + 1,
        due_at=utc_iso(now + timedelta(seconds=delay_seconds)),
        lease_until=None,
        step_claims=0,
        budget_reserved=False,
        updated_at=utc_iso(now),
    )


def finish(state: R, now: datetime) -> R:
    """No step is pending any more (the record ended, or waits for someone outside)."""
    return state.replace(
        step_seq=state.step_seq + 1, due_at=None, lease_until=None, step_claims=0, budget_reserved=False,
        updated_at=utc_iso(now),
    )


def then(state: Record, now: datetime, delay: float, *entries: HistoryEntry) -> Decision:
    """The decision to run the next step after `delay` seconds."""
    return Decision(schedule(state, now, delay), entries, delay)


def end(state: Record, now: datetime, *entries: HistoryEntry) -> Decision:
    """The decision that schedules no further step."""
    return Decision(finish(state, now), entries, None)
