"""Request messages into submissions: what a queue message, an HTTP body or the CLI asks to build.

Whatever can be read is used: a message whose identifying fields are there becomes a build (Rejected,
listing why, if the rest is unusable); only a message naming no image version is unprocessable.
"""

from __future__ import annotations

from typing import Any

from core.azure.regions import PUBLIC_REGIONS
from core.azure.resource_ids import named_image_version_id
from core.base import json_input
from core.base.problems import ProblemList
from core.builds.admission import Submission, build_id_for, fingerprint
from core.engine.store import stored_json
from core.request import RequestInvalid, change, parse_request, request_to_dict

# A request larger than this is refused (queue messages stop at 64 KiB; a build's state row keeps it).
MAX_REQUEST_BYTES = 16 * 1024
# A rejected request of up to this many characters (as stored) is kept with its Rejected build.
MAX_KEPT_CHARS = 24 * 1024


def message_bytes(text: str) -> int:
    """The size of a request message as the request queue carries it and the limit counts it: its UTF-8 bytes.
    The HTTP API and the CLI measure what they send with this, the worker what it received: one number."""
    return len(text.encode("utf-8", errors="surrogatepass"))


def _fits_a_row(raw: Any) -> bool:
    """Whether a request can be kept in its build's state row (a Table string column holds 32K UTF-16 units;
    the rest of the state needs some of them): an oversized request is kept when it fits."""
    return len(stored_json(raw).encode("utf-16-le")) // 2 <= MAX_KEPT_CHARS


class UnprocessableMessage(ValueError):
    """A request message from which no image-version ID can be derived: it belongs in the poison queue."""


def derive_resource_id(raw: Any) -> str | None:
    """The image-version ID a request is about, if its identifying fields are usable."""
    if not isinstance(raw, dict):
        return None
    parts = [raw.get(k) for k in ("subscriptionId", "resourceGroup", "galleryName", "imageDefinition", "version")]
    if not all(isinstance(p, str) and p.strip() for p in parts):
        return None
    try:
        return named_image_version_id(*(str(p).strip() for p in parts))
    except ValueError:
        return None


def change_submission(raw: dict[str, Any], resource_id: str, *, message_id: str | None = None,
                      origin: str = "queue", known_regions: frozenset[str] = PUBLIC_REGIONS) -> Submission:
    """A change of regions: its own build (keyed by the version and the change's content)."""
    try:
        parsed = change.parse_change(raw, known_regions=known_regions)
    except RequestInvalid as exc:
        problems = tuple({"field": p.field, "message": p.message} for p in exc.problems)
        return Submission(resource_id, raw, problems, message_id, origin, build_key=f"{resource_id}#invalid-change")
    canonical = change.change_to_dict(parsed)
    key = f"{parsed.resource_id}#{change.OPERATION}#{fingerprint(canonical)}"
    return Submission(parsed.resource_id, canonical, (), message_id, origin, build_key=key)


def submission_from_text(text: str, *, message_id: str | None = None, origin: str = "queue",
                         known_regions: frozenset[str] = PUBLIC_REGIONS) -> Submission:
    """Parse a request message into a submission; `UnprocessableMessage` if no build ID can be derived.

    Whatever can be read is used: a message too deep, too large or with unusable text, but whose
    identifying fields are there, becomes a Rejected build listing why, never a poisoned message.
    """
    size = message_bytes(text)
    decoded = json_input.decode(text, "(message)")
    if not decoded.complete:
        reason = "; ".join(problem.message for problem in decoded.problems)
        raise UnprocessableMessage(f"the message {reason}; expected one build request object")
    raw = decoded.value
    resource_id = derive_resource_id(raw)
    if resource_id is None:
        raise UnprocessableMessage(
            "cannot tell which image version the message is about: subscriptionId, resourceGroup, galleryName, "
            "imageDefinition and version must all be present and valid"
        )
    problems = ProblemList()
    problems.extend(decoded.problems)
    if size > MAX_REQUEST_BYTES:
        problems.add("(message)", f"request is {size} bytes; the limit is {MAX_REQUEST_BYTES}")
    if not problems and change.is_change(raw):
        return change_submission(raw, resource_id, message_id=message_id, origin=origin, known_regions=known_regions)
    if not problems:
        try:
            request = parse_request(raw, known_regions=known_regions)
        except RequestInvalid as exc:
            problems.extend(exc.problems)
        else:
            return Submission(request.resource_id, request_to_dict(request), (), message_id, origin)
    kept = raw if not decoded.problems and _fits_a_row(raw) else None  # a rejected request stays with its build
    return Submission(resource_id, kept, tuple(problem.to_dict() for problem in problems.final()), message_id, origin)




def find_build_id(reference: str) -> str:
    """A build ID given either itself or the image version's resource ID."""
    text = reference.strip()
    if text.lower().startswith(("/subscriptions/", "subscriptions/")):
        return build_id_for("/" + text.lstrip("/"))
    return text
