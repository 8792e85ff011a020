"""The rows an audit keeps in its own partition of Table `builds`, beside its state and history. Pure.

- **Scope rows** `g-<first index>`: the galleries to audit, in order, up to `SCOPE_ROW_GALLERIES` a row (the
  galleries named in the settings, written with the record; those a subscription listing found, written
  with that step's result).
- **Report rows** `r-<step number>`: what one step found (a `Page`): the versions it read and their
  findings (with first and last seen), the findings it resolved, or why its gallery or subscription could
  not be read. The report is these rows in order (`core.audit.report`).
- **Key rows** `k-<step number>`: the key-chain answers one step read from ARM (vault and key version bodies,
  role reads; IDs answered 404 or 403), so that each is read once per audit whatever step needs it again.

Each is created in the same transaction as the state that counts it (`Decision.rows`), so a report never
holds a page the state does not know of, nor misses one it does.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SCOPE_PREFIX = "g-"
REPORT_PREFIX = "r-"
KEYS_PREFIX = "k-"
SCOPE_ROW_GALLERIES = 100
# A Table string property holds 64 KiB of UTF-16: JSON longer than this is split over numbered properties.
PROPERTY_CHARS = 30_000
# Resolved findings listed in one page (a gallery whose versions were all deleted may resolve many more).
MAX_RESOLVED_LISTED = 200

GALLERY, SUBSCRIPTION = "gallery", "subscription"


@dataclass(frozen=True)
class Page:
    """What one step of an audit found, as its report row keeps it.

    `kind` is `GALLERY` (a gallery or a page of its versions) or `SUBSCRIPTION` (a listing); `done`: the
    gallery was read to its end in this step. `findings` are `AuditFinding.to_dict()` with `firstSeen` and
    `lastSeen`; `resolved` the findings table's rows this step resolved (`findings_rows.row_document`).
    """

    kind: str
    subject: str
    done: bool = True
    versions: tuple[str, ...] = ()
    findings: tuple[dict[str, Any], ...] = ()
    resolved: tuple[dict[str, Any], ...] = ()
    resolved_omitted: int = 0
    unreadable: str = ""


def _pack(entity: dict[str, Any], name: str, value: Any) -> None:
    text = json.dumps(value, separators=(",", ":"))
    parts = [text[i:i + PROPERTY_CHARS] for i in range(0, len(text), PROPERTY_CHARS)] or [""]
    for index, part in enumerate(parts):
        entity[name if index == 0 else f"{name}_{index}"] = part


def _unpack(entity: Mapping[str, Any], name: str, default: Any) -> Any:
    if name not in entity:
        return default
    parts, index = [str(entity[name])], 1
    while f"{name}_{index}" in entity:
        parts.append(str(entity[f"{name}_{index}"]))
        index += 1
    return json.loads("".join(parts))


def report_key(seq: int) -> str:
    """The RowKey of the report row of the step numbered `seq` (keys sort in step order)."""
    return f"{REPORT_PREFIX}{seq:08d}"


def report_row(audit_id: str, seq: int, page: Page) -> dict[str, Any]:
    """The report row of the step numbered `seq` (each step's result is written once, so the key is new)."""
    resolved = list(page.resolved[:MAX_RESOLVED_LISTED])
    omitted = page.resolved_omitted + len(page.resolved) - len(resolved)
    entity: dict[str, Any] = {"PartitionKey": audit_id, "RowKey": report_key(seq), "Kind": page.kind,
                              "Subject": page.subject, "Done": page.done, "Unreadable": page.unreadable,
                              "ResolvedOmitted": omitted}
    _pack(entity, "Versions", list(page.versions))
    _pack(entity, "Findings", list(page.findings))
    _pack(entity, "Resolved", resolved)
    return entity


def page_of(entity: Mapping[str, Any]) -> Page:
    """A report row read back."""
    return Page(kind=str(entity.get("Kind", GALLERY)), subject=str(entity.get("Subject", "")),
                done=bool(entity.get("Done", True)), versions=tuple(_unpack(entity, "Versions", [])),
                findings=tuple(_unpack(entity, "Findings", [])), resolved=tuple(_unpack(entity, "Resolved", [])),
                resolved_omitted=int(entity.get("ResolvedOmitted") or 0),
                unreadable=str(entity.get("Unreadable") or ""))  # fmt: skip


def scope_key(start: int) -> str:
    """The RowKey of the scope row whose first gallery is number `start`."""
    return f"{SCOPE_PREFIX}{start:07d}"


def scope_rows(audit_id: str, start: int, galleries: Sequence[str]) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows holding `galleries` as indexes `start`, `start + 1`, ...; and the first index of each row."""
    rows, starts = [], []
    for offset in range(0, len(galleries), SCOPE_ROW_GALLERIES):
        first = start + offset
        chunk = list(galleries[offset:offset + SCOPE_ROW_GALLERIES])
        rows.append({"PartitionKey": audit_id, "RowKey": scope_key(first), "Galleries": json.dumps(chunk)})
        starts.append(first)
    return rows, starts


def scope_galleries(entity: Mapping[str, Any]) -> list[str]:
    """The gallery IDs of a scope row, in order."""
    return [str(gallery) for gallery in json.loads(str(entity.get("Galleries") or "[]"))]


def scope_position(starts: Sequence[int], index: int) -> tuple[str, int] | None:
    """The scope row that holds gallery number `index`, and its place in that row (None: before any row)."""
    row = bisect.bisect_right(starts, index) - 1
    if row < 0:
        return None
    return scope_key(starts[row]), index - starts[row]


@dataclass(frozen=True)
class KeyReads:
    """Key-chain answers read from ARM: bodies by lower-case ARM ID (`core.policy.key_facts.Reads.kept`) and
    the IDs answered without one ('notFound' / 'forbidden', `Reads.refusals`)."""

    kept: Mapping[str, Any]
    refused: Mapping[str, str]

    def __bool__(self) -> bool:
        return bool(self.kept or self.refused)


def key_row(audit_id: str, seq: int, reads: KeyReads) -> dict[str, Any]:
    """The key row of the step numbered `seq`: the key-chain answers it read."""
    entity: dict[str, Any] = {"PartitionKey": audit_id, "RowKey": f"{KEYS_PREFIX}{seq:08d}"}
    _pack(entity, "Kept", dict(reads.kept))
    _pack(entity, "Refused", dict(reads.refused))
    return entity


def key_reads_of(entities: Iterable[Mapping[str, Any]]) -> KeyReads:
    """The key-chain answers of an audit's key rows, together."""
    kept: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for entity in entities:
        kept.update(_unpack(entity, "Kept", {}))
        refused.update(_unpack(entity, "Refused", {}))
    return KeyReads(kept, refused)
