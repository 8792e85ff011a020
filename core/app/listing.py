"""Listing builds: one page of status documents with the filters of `GET /api/builds` (statuses, creation
time, image definition) and a continuation, or the most recently updated builds (`python -m core list`)."""

from __future__ import annotations

from dataclasses import dataclass

from core.app.runtime import Runtime
from core.app.status import StatusDocument, record_document
from core.audit.state import AuditState
from core.builds.state import BuildState, BuildStatus
from core.engine.store import STATE_ROW
from core.snapshots.state import SnapshotStatus

DEFAULT_TOP = 100


@dataclass(frozen=True)
class ListQuery:
    """Which builds a page holds; ``continuation`` is where the previous page ended (None: from the start)."""

    statuses: tuple[BuildStatus | SnapshotStatus, ...] = ()
    created_from: str | None = None
    created_to: str | None = None
    image: str | None = None
    top: int = DEFAULT_TOP
    continuation: dict[str, str] | None = None

    def table_filter(self) -> tuple[str, dict[str, str]]:
        """The Table query: state rows, with the status filter applied by the service."""
        parameters = {"rk": STATE_ROW}
        query = "RowKey eq @rk"
        if self.statuses:
            names = [f"@s{index}" for index in range(len(self.statuses))]
            query += " and ( " + " or ".join(f"Status eq {name}" for name in names) + " )"  # @name needs spaces
            parameters.update({name[1:]: str(status) for name, status in zip(names, self.statuses, strict=True)})
        return query, parameters

    def matches(self, state: BuildState) -> bool:
        """The filters the Table query cannot express (state rows of older builds have no CreatedAt column)."""
        if self.created_from and state.created_at < self.created_from:
            return False
        if self.created_to and state.created_at > self.created_to:
            return False
        if self.image:
            definition = state.resource_id.lower().rsplit("/versions/", 1)[0]
            wanted = self.image.lower().rstrip("/")
            return definition == wanted if wanted.startswith("/") else definition.rsplit("/", 1)[-1] == wanted
        return True


@dataclass(frozen=True)
class BuildPage:
    """Status documents (no history), newest first within the page; ``continuation`` None on the last page."""

    documents: list[StatusDocument]
    continuation: dict[str, str] | None


@dataclass(frozen=True)
class BuildLine:
    """A build in one line of a list: what, where it stands, since when."""

    build_id: str
    status: str
    updated_at: str
    resource_id: str


def list_builds(runtime: Runtime, query: ListQuery) -> BuildPage:
    """One page of the builds ``query`` selects (a page may hold fewer than ``top``, even none, and still
    have a next one: the time and image filters apply after the Table query)."""
    table_query, parameters = query.table_filter()
    states, token = runtime.store.page(table_query, parameters, top=query.top, continuation=query.continuation)
    shown = sorted((state for state in states if query.matches(state)), key=lambda s: s.updated_at, reverse=True)
    queued = _queued_overlay(runtime, shown)
    documents = [record_document(runtime, state, queued.get(state.record_id), with_history=False) for state in shown]
    return BuildPage([document for document in documents if document is not None], token)


def _queued_overlay(runtime: Runtime, states: list[BuildState]) -> dict[str, dict[str, str]]:
    """The `queued` rows that can change how an ended build of the page shows (a new attempt on its way): one
    query over the page's key range, written after the oldest end, instead of one read per build."""
    ended = [state for state in states if state.status.terminal]
    if not ended:
        return {}
    keys = sorted(state.record_id for state in states)
    return runtime.store.queued_since(keys[0], keys[-1], min(state.updated_at for state in ended))


def recent_builds(runtime: Runtime, *, limit: int, in_flight: bool = False) -> list[BuildLine]:
    """The most recently updated builds (``limit`` of them), or every build that has not ended."""
    states = runtime.store.in_flight() if in_flight else runtime.store.recent(limit)
    return [BuildLine(state.record_id, str(state.status), state.updated_at, state.resource_id) for state in states
            if not isinstance(state, AuditState)]  # an audit is no build


def any_in_flight(runtime: Runtime) -> bool:
    """Whether any build has not ended (a delayed step message is not an empty queue)."""
    return bool(runtime.store.in_flight())
