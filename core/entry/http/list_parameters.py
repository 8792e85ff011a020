"""`GET /api/builds` parameters (Durable's names: runtimeStatus, createdTimeFrom, createdTimeTo, top) as the
application's list query, and the continuation token of the next page as it travels (the
`x-ms-continuation-token` header, as Durable sends it). Pure."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from core.app.listing import ListQuery
from core.base.timestamps import utc_iso
from core.builds.state import BuildStatus
from core.snapshots.state import SnapshotStatus

CONTINUATION_HEADER = "x-ms-continuation-token"
MAX_TOP = 1000
KNOWN_PARAMETERS = ("runtimeStatus", "createdTimeFrom", "createdTimeTo", "image", "top", "code")


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
