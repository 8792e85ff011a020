"""The CloudEvents 1.0 event of a build's end. Pure."""

from __future__ import annotations

from typing import Any, Protocol


class EndedBuild(Protocol):
    """What the completion event reads of a build's state (`core.builds.state.BuildState`)."""

    build_id: str
    resource_id: str
    created_at: str
    updated_at: str
    attempt: int
    request: dict[str, Any] | None
    regions: dict[str, dict[str, Any]]
    error: dict[str, Any] | None
    problems: list[dict[str, Any]]
    submitted_by: dict[str, str] | None
    cancelled_by: dict[str, str] | None

    @property
    def status(self) -> Any: ...


EVENT_TYPE_PREFIX = "CmkImageBuilder.ImageVersion."
SOURCE = "/cmk-image-builder"


def _regions(state: EndedBuild) -> list[dict[str, Any]]:
    """Each target region with its replication outcome and its disks' encryption sets."""
    request = state.request or {}
    targets = request.get("targetRegions")
    named = [t for t in targets if isinstance(t, dict) and isinstance(t.get("name"), str)] \
        if isinstance(targets, list) else []
    if not named and isinstance(request.get("location"), str):
        named = [{"name": request["location"]}]
    regions = []
    for target in named:
        progress = state.regions.get(target["name"], {})
        entry: dict[str, Any] = {"name": target["name"], "state": progress.get("state")}
        for key in ("regionalReplicaCount", "storageAccountType"):
            if key in target:
                entry[key] = target[key]
        if isinstance(target.get("encryption"), dict):
            entry["encryption"] = target["encryption"]
        regions.append(entry)
    return regions


def completion_event(state: EndedBuild) -> dict[str, Any]:
    """`CmkImageBuilder.ImageVersion.<Succeeded|Failed|Rejected|Cancelled>`; `id` is stable per build end
    (build ID and attempt), so a consumer that sees it twice knows it is the same end."""
    status = str(state.status)
    request = state.request or {}
    data: dict[str, Any] = {
        "buildId": state.build_id,
        "attempt": state.attempt,
        "status": status,
        "imageVersionId": state.resource_id,
        "regions": _regions(state),
        "encryptionType": request.get("encryptionType"),
        "createdAt": state.created_at,
        "endedAt": state.updated_at,
    }
    for key, attribute in (("submittedBy", "submitted_by"), ("cancelledBy", "cancelled_by")):
        actor = getattr(state, attribute, None)  # who started this attempt, who cancelled it (core.base.actors)
        if actor:
            data[key] = actor
    if state.error:
        data["error"] = state.error
    if state.problems:
        data["problems"] = state.problems
    return {
        "specversion": "1.0",
        "type": EVENT_TYPE_PREFIX + status,
        "source": SOURCE,
        "subject": state.resource_id,
        "id": f"{state.build_id}-{state.attempt}",
        "time": state.updated_at,
        "datacontenttype": "application/json",
        "data": data,
    }
