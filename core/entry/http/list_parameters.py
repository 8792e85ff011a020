"""`GET /api/builds` parameters (Durable's names: runtimeStatus, createdTimeFrom, createdTimeTo, top) as the
application's list query, and the continuation token of the next page as it travels (the
`x-ms-continuation-token` header, as Durable sends it). Pure."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from core.app.listing import ListQuery
from core.base.problems import clip
from core.base.timestamps import utc_iso
from core.builds.state import BuildStatus
from core.snapshots.state import SnapshotStatus

CONTINUATION_HEADER = "x-ms-continuation-token"
MAX_TOP = 1000
KNOWN_PARAMETERS = ("runtimeStatus", "createdTimeFrom", "createdTimeTo", "image", "top", "code")
TOKEN_KEYS = frozenset({"PartitionKey", "RowKey"})
MAX_TOKEN_CHARS = 2048
MAX_TOKEN_KEY_CHARS = 512
MAX_IMAGE_CHARS = 1024
_DIGITS = re.compile(r"[0-9]{1,4}")


def _moment(raw: str) -> datetime:
    text = raw.strip().replace("Z", "+00:00").replace("z", "+00:00")
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def encode_continuation(token: Mapping[str, str] | None) -> str | None:
    if not token:
        return None
    return base64.urlsafe_b64encode(json.dumps(dict(token), separators=(",", ":")).encode()).decode()


def decode_continuation(text: str) -> dict[str, str]:
    """The Table continuation a token this API returned holds; ValueError for anything else.

    Tokens are validated strictly rather than signed: exactly the two keys Table storage returns, each a short
    printable-ASCII string, the whole at most ``MAX_TOKEN_CHARS``. A token carries no authority (the filters and
    the caller's role apply to every page), so a made-up one can only start a page elsewhere among the builds
    the caller may list anyway; what it must never do is reach storage malformed (a 503, a 500)."""
    refused = ValueError("is not a continuation token this API returned; repeat the request without it")
    if len(text) > MAX_TOKEN_CHARS or not text.isascii():
        raise refused
    try:
        token = json.loads(base64.urlsafe_b64decode(text.encode()).decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise refused from None
    if not isinstance(token, dict) or set(token) != TOKEN_KEYS or not all(
            isinstance(value, str) and 0 < len(value) <= MAX_TOKEN_KEY_CHARS and value.isascii() and value.isprintable()
            for value in token.values()):
        raise refused
    return token


def _top(raw: str) -> int | None:
    """A page size in ASCII digits from 1 to MAX_TOP (not `isdigit`, which takes '²' that `int` refuses)."""
    return int(raw) if _DIGITS.fullmatch(raw) and 1 <= int(raw) <= MAX_TOP else None


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
                problems.append({"field": "runtimeStatus", "message": f"{clip(part.strip(), 40)} is not a status; use "
                                 f"{', '.join(known)} (comma-separated)"})
            else:
                statuses.append(status)
        values["statuses"] = tuple(dict.fromkeys(statuses))
    for name, key in (("createdTimeFrom", "created_from"), ("createdTimeTo", "created_to")):
        if params.get(name, "").strip():
            try:
                values[key] = utc_iso(_moment(params[name]))
            except (ValueError, OverflowError):  # 9999-12-31T23:59:59-01:00 is past the last moment in UTC
                problems.append({"field": name, "message": f"{clip(params[name], 60)} is not an ISO 8601 time "
                                 "between years 0001 and 9999 in UTC; use e.g. 2026-12-01T00:00:00Z"})
    if params.get("image", "").strip():
        image = params["image"].strip()
        if len(image) > MAX_IMAGE_CHARS or not image.isprintable():
            problems.append({"field": "image", "message": f"is not an image definition's name or resource ID "
                             f"(at most {MAX_IMAGE_CHARS} printable characters)"})
        else:
            values["image"] = image
    if params.get("top", "").strip():
        raw = params["top"].strip()
        top = _top(raw)
        if top is None:
            problems.append({"field": "top", "message": f"{clip(raw, 20)} is not a page size; use 1 to {MAX_TOP}"})
        else:
            values["top"] = top
    if continuation:
        try:
            values["continuation"] = decode_continuation(continuation)
        except ValueError as error:
            problems.append({"field": CONTINUATION_HEADER, "message": str(error)})
    return ListQuery(**values), problems  # type: ignore[arg-type]
