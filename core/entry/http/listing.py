"""`GET /api/builds` filters (Durable's names: runtimeStatus, createdTimeFrom, createdTimeTo, top) and the
continuation token of the next page (the `x-ms-continuation-token` header, as Durable sends it). Pure."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from core.base.timestamps import utc_iso
from core.builds.state import BuildState, BuildStatus
from core.engine.store import STATE_ROW
from core.snapshots.state import SnapshotStatus

CONTINUATION_HEADER = "x-ms-continuation-token"
DEFAULT_TOP = 100
MAX_TOP = 1000
KNOWN_PARAMETERS = ("runtimeStatus", "createdTimeFrom", "createdTimeTo", "image", "top", "code")


@dataclass(frozen=True)
class ListQuery:
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


def _moment(raw: str) -> datetime:
    text = raw.strip().replace("Z", "+00:00").replace("z", "+00:00")
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def encode_continuation(token: Mapping[str, str] | None) -> str | None:
    if not token:
        return None
    return base64.urlsafe_b64encode(json.dumps(dict(token), separators=(",", ":")).encode()).decode()


def decode_continuation(text: str) -> dict[str, str]:
    """ValueError when the token was not one this API returned."""
    try:
        token = json.loads(base64.urlsafe_b64decode(text.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError("is not a continuation token this API returned; repeat the request without it") from None
    if not isinstance(token, dict) or not all(isinstance(v, str) for v in token.values()):
        raise ValueError("is not a continuation token this API returned; repeat the request without it")
    return token


def parse_list_query(params: Mapping[str, str], continuation: str | None) -> tuple[ListQuery, list[dict[str, str]]]:
    """The query, and every problem with the parameters (each names its parameter and the fix)."""
    problems: list[dict[str, str]] = []
    values: dict[str, object] = {}
    for name in params:
        if name not in KNOWN_PARAMETERS:
            problems.append({"field": name, "message": f"unknown parameter; use {', '.join(KNOWN_PARAMETERS[:-1])}"})
    if params.get("runtimeStatus", "").strip():
        statuses = []
        known = list(dict.fromkeys((*BuildStatus, *SnapshotStatus)))  # a name both have is the build's
        by_name = {status.value.lower(): status for status in reversed(known)}
        for part in params["runtimeStatus"].split(","):
            status = by_name.get(part.strip().lower())
            if status is None:
                problems.append({"field": "runtimeStatus", "message": f"{part.strip()!r} is not a status; use "
                                 f"{', '.join(known)} (comma-separated)"})
            else:
                statuses.append(status)
        values["statuses"] = tuple(dict.fromkeys(statuses))
    for name, key in (("createdTimeFrom", "created_from"), ("createdTimeTo", "created_to")):
        if params.get(name, "").strip():
            try:
                values[key] = utc_iso(_moment(params[name]))
            except ValueError:
                problems.append({"field": name, "message": f"{params[name]!r} is not an ISO 8601 time; "
                                 "use e.g. 2026-12-01T00:00:00Z"})
    if params.get("image", "").strip():
        values["image"] = params["image"].strip()
    if params.get("top", "").strip():
        raw = params["top"].strip()
        if raw.isdigit() and 1 <= int(raw) <= MAX_TOP:
            values["top"] = int(raw)
        else:
            problems.append({"field": "top", "message": f"{raw!r} is not a page size; use 1 to {MAX_TOP}"})
    if continuation:
        try:
            values["continuation"] = decode_continuation(continuation)
        except ValueError as error:
            problems.append({"field": CONTINUATION_HEADER, "message": str(error)})
    return ListQuery(**values), problems  # type: ignore[arg-type]
