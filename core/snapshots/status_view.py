"""A snapshot record's status document (`status --json`, the HTTP API) and its lines for people.

The document has the keys every record's has (`name`: the workflow, `id`, `resourceId`, `status`, `origin`,
`createdAt`, `updatedAt`, `nextStepDueAt`, `error`, `problems`, `history`) and the intake's own: the
template, the data disks, the version reserved, and `buildId`, the build it started (with `buildStatus`,
that build's status now, when the history is asked for).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from core.engine.store import RecordStore
from core.snapshots.state import WORKFLOW, SnapshotState, SnapshotStatus
from core.snapshots.steps import ORIGIN


def is_snapshot_document(document: dict[str, Any]) -> bool:
    return document.get("name") == WORKFLOW


def snapshot_document(store: RecordStore, state: SnapshotState, *, with_history: bool = True) -> dict[str, Any]:
    """The public status document of a snapshot record (with its history and its build's status now, unless
    `with_history` is False: a list shows many records and reads only theirs)."""
    version_id = f"{state.image_definition_id}/versions/{state.version}" if state.version else None
    document: dict[str, Any] = {
        "name": WORKFLOW,
        "id": state.record_id,
        "resourceId": state.resource_id,
        "status": str(state.status),
        "attempt": state.attempt,
        "origin": ORIGIN,
        "createdAt": state.created_at,
        "updatedAt": state.updated_at,
        "nextStepDueAt": state.due_at,
        "eventId": state.event_id,
        "template": state.template,
        "imageDefinitionId": state.image_definition_id,
        "dataDisks": state.data_disks,
        "version": state.version,
        "imageVersionId": version_id,
        "buildId": state.started_build_id,
        "reason": state.reason,
        "error": state.error,
        "problems": state.problems,
    }
    if with_history:
        document["history"] = [asdict(entry) for entry in store.history(state.record_id)]
        build = store.get(state.started_build_id) if state.started_build_id else None
        document["buildStatus"] = str(build[0].status) if build else None
    return document


_WORDS = {
    SnapshotStatus.WAITING_FOR_SNAPSHOT: "reading the snapshot until it is Succeeded, then choosing its template",
    SnapshotStatus.WAITING_FOR_DATA_DISKS: "waiting for the data-disk snapshots its tags name to be Succeeded",
    SnapshotStatus.RESERVING_VERSION: "choosing and reserving the image version's number",
    SnapshotStatus.STARTING_BUILD: "submitting the build request",
}


def snapshot_words(document: dict[str, Any]) -> str:
    """What the intake is doing or how it ended, in words."""
    status = document["status"]
    if status in _WORDS:
        return _WORDS[SnapshotStatus(status)]
    if status == SnapshotStatus.BUILD_STARTED:
        build = f" (now {document['buildStatus']})" if document.get("buildStatus") else ""
        return f"started build {document.get('buildId')}{build} of {document.get('imageVersionId')}"
    reason = document.get("reason") or {}
    return f"{status.lower()}: {reason.get('message') or reason.get('code') or 'no detail'}"


def snapshot_lines(document: dict[str, Any]) -> list[str]:
    """A few readable lines (the history is the caller's): what, where it stands, its build, its problems."""
    lines = [
        f"Snapshot intake {document['id']}  (attempt {document['attempt']}, from {document['origin']})",
        f"  snapshot       {document['resourceId']}",
        f"  status         {document['status']}",
        f"  now            {snapshot_words(document)}",
        f"  updated        {document['updatedAt']}",
    ]
    if document.get("nextStepDueAt") and not SnapshotStatus(document["status"]).terminal:
        lines.append(f"  next step at   {document['nextStepDueAt']}")
    if document.get("template"):
        lines.append(f"  template       {document['template']}  ({document.get('imageDefinitionId')})")
    if document.get("version"):
        lines.append(f"  version        {document['version']}")
    if document.get("buildId"):
        status = f"  ({document['buildStatus']})" if document.get("buildStatus") else ""
        lines.append(f"  build          {document['buildId']}{status}: python -m core status {document['buildId']}")
    if document.get("dataDisks"):
        lines.append("Data disks:")
        lines.extend(f"  LUN {disk.get('lun'):<3} {disk.get('state') or 'not read yet':<12} {disk.get('id')}"
                     for disk in document["dataDisks"])
    if document.get("problems"):
        lines.append(f"Problems ({len(document['problems'])}):")
        lines.extend(f"  - {problem.get('field', '')}: {problem.get('message', '')}"
                     for problem in document["problems"])
    if document.get("reason"):
        lines.append(f"Reason: {document['reason'].get('code', '')}: {document['reason'].get('message', '')}")
    return lines
