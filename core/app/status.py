"""A record's status for people (`python -m core status ID`) and programs (`--json`, the HTTP API).

Every document names its workflow (`name`, as Durable's status does) and its record (`id`); a build's is
rendered here, a snapshot intake's by `core.snapshots.status_view`. An audit's ID is no build here (its
report is `core.app.audits.report`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from core.app.build_lookup import BuildNotFound
from core.app.runtime import Runtime
from core.audit.state import AuditState
from core.builds.state import BuildState, BuildStatus
from core.builds.submissions import find_build_id
from core.builds.workflow import BuildWorkflow
from core.snapshots.state import SnapshotState, SnapshotStatus
from core.snapshots.status_view import snapshot_document

QUEUED = "Queued"
TERMINAL_STATUSES = tuple(dict.fromkeys(str(status) for statuses in (BuildStatus, SnapshotStatus)
                                        for status in statuses if status.terminal))

# The public JSON of a build (camelCase keys, as the HTTP API and `status --json` print it).
StatusDocument = dict[str, Any]


def is_terminal(status: str) -> bool:
    """Whether a status document's ``status`` is one a build ends in."""
    return status in TERMINAL_STATUSES


def _queued_document(build_id: str, queued: dict[str, str]) -> StatusDocument:
    """A build submitted but not yet admitted by a worker: only what the submission said."""
    return {
        "name": BuildWorkflow.name, "id": build_id, "buildId": build_id, "resourceId": queued["ResourceId"],
        "status": QUEUED, "attempt": 1,
        "origin": queued["Origin"], "createdAt": queued["SubmittedAt"], "updatedAt": queued["SubmittedAt"],
        "nextStepDueAt": None, "regions": {}, "verification": {}, "problems": [], "error": None, "registration": {},
        "submittedBy": _by(queued.get("By", "")), "cancelledBy": None, "history": [],
    }


def _by(text: str) -> dict[str, str] | None:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def status_document(state: BuildState, queued: dict[str, str] | None) -> StatusDocument:
    """The status document of an admitted build (no history) from its state and its `queued` row. Pure."""
    document: StatusDocument = {
        "name": BuildWorkflow.name,
        "id": state.build_id,
        "buildId": state.build_id,
        "resourceId": state.resource_id,
        "status": str(state.status),
        "attempt": state.attempt,
        "origin": state.origin,
        "createdAt": state.created_at,
        "updatedAt": state.updated_at,
        "nextStepDueAt": state.due_at,
        "regions": state.regions,
        "verification": state.verification,
        "problems": state.problems,
        "error": state.error,
        "registration": state.registration,
        "submittedBy": state.submitted_by,
        "cancelledBy": state.cancelled_by,
    }
    if state.started_by:
        document["startedBy"] = state.started_by
    if queued and state.status.terminal and queued["SubmittedAt"] > state.updated_at:
        document.update(status=QUEUED, queuedAt=queued["SubmittedAt"])
    return document


def build_status(runtime: Runtime, build_id: str, *, with_history: bool = True) -> StatusDocument | None:
    """The status document of build ``build_id``, or None if there is no such build.

    A request on the request queue that no worker has admitted yet shows as `Queued` (also when it starts a
    new attempt of a build that ended), so that `status` right after `submit` finds the build."""
    store = runtime.store
    loaded = store.get(build_id)
    queued = store.queued(build_id) if loaded is None or isinstance(loaded[0], BuildState) else None
    if loaded is None:
        return _queued_document(build_id, queued) if queued else None
    return record_document(runtime, loaded[0], queued, with_history=with_history)


def record_document(runtime: Runtime, state: Any, queued: dict[str, str] | None, *,
                    with_history: bool) -> StatusDocument | None:
    """The status document of a record the build doors show: a build's (with its `queued` row) or a snapshot
    intake's; None for an audit, which is no build (its report: `core.app.audits`)."""
    if isinstance(state, AuditState):
        return None
    if isinstance(state, SnapshotState):
        return snapshot_document(runtime.store, state, with_history=with_history)
    document = status_document(state, queued)
    if with_history:
        document["history"] = [asdict(entry) for entry in runtime.store.history(state.record_id)]
    return document


def get_status(runtime: Runtime, reference: str, *, with_history: bool = True) -> StatusDocument:
    """The status document of the build ``reference`` names (its ID or the image version's resource ID);
    BuildNotFound when there is none."""
    document = build_status(runtime, find_build_id(reference), with_history=with_history)
    if document is None:
        raise BuildNotFound(reference)
    return document
