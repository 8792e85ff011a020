"""The rows of Table `auditfindings`, the findings ledger kept across audits: first seen, last seen,
resolved. Pure (the table's reads and writes are `core.audit.findings_table`).

PartitionKey = the version ID (lower case, '/' as '|'), RowKey = code|subject. Each row also names the audit
that first saw it open (`FirstSeenBy`), last saw it (`LastSeenBy`) and resolved it (`ResolvedBy`), so a step
repeated after a crash counts the same findings new and resolved as its first try did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.audit.rules import AuditFinding
from core.azure import resource_ids

TABLE = "auditfindings"
OPEN, RESOLVED = "open", "resolved"


def table_key(text: str) -> str:
    """Table keys may not hold '/', '\\', '#' or '?'."""
    return "".join("|" if ch in "/\\#?" else ch for ch in text.strip().lower())


def gallery_of(version_id: str) -> str:
    """The gallery ID (lower case) of an image version ID."""
    parsed = resource_ids.parse_resource_id(version_id)
    return str(parsed.parent.parent).lower() if parsed.parent and parsed.parent.parent else version_id.lower()


def gallery_partitions(gallery_id: str) -> tuple[str, str]:
    """The PartitionKey range [low, high) of every version of the gallery: its key and '|', up to the next."""
    prefix = table_key(gallery_id) + "|"
    return prefix, prefix[:-1] + chr(ord("|") + 1)


@dataclass(frozen=True)
class Reconciled:
    """What one page of an audit changes in the ledger: `rows` to write (the page's findings, open, and the
    gallery's findings resolved now), `seen` (the page's findings as stored, by finding key), how many of the
    page's findings this audit opened (`new`), and the rows this audit resolved in the gallery (`resolved`)."""

    rows: list[dict[str, Any]]
    seen: dict[tuple[str, str], dict[str, Any]]
    new: int
    resolved: list[dict[str, Any]]


def finding_key(finding: AuditFinding) -> tuple[str, str]:
    """The (PartitionKey, RowKey) of a finding's ledger row."""
    return table_key(finding.version_id), table_key(finding.key)


def reconcile(stored: Iterable[Mapping[str, Any]], findings: Sequence[AuditFinding], *, audit_id: str, at: str,
              gallery_done: bool) -> Reconciled:
    """The ledger after one page of audit `audit_id` (at `at`) over `stored`, every row of the page's gallery.

    A finding already open keeps its FirstSeen; a new one (or one seen again after being resolved) starts at
    `at`. Once the gallery has been read to its end (`gallery_done`), an open row this audit did not see is
    resolved (a gallery not read to its end resolves nothing).
    """
    rows_by_key = {(str(row["PartitionKey"]), str(row["RowKey"])): row for row in stored}
    previous = {key: row for key, row in rows_by_key.items() if row.get("Status") == OPEN}
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for finding in findings:
        key = finding_key(finding)
        before = previous.get(key)
        row = {"PartitionKey": key[0], "RowKey": key[1], "VersionId": finding.version_id,
               "GalleryId": gallery_of(finding.version_id), "Code": finding.code, "Severity": str(finding.severity),
               "Subject": finding.subject, "Message": finding.message,
               "FirstSeen": before["FirstSeen"] if before else at, "LastSeen": at, "ResolvedAt": "", "Status": OPEN,
               "FirstSeenBy": str(before.get("FirstSeenBy") or "") if before else audit_id, "LastSeenBy": audit_id,
               "ResolvedBy": ""}  # fmt: skip
        rows.append(row)
        seen[key] = row
    new = sum(row["FirstSeenBy"] == audit_id for row in seen.values())
    resolved: list[dict[str, Any]] = []
    if gallery_done:
        resolved = [{**row, "Status": RESOLVED, "ResolvedAt": at, "ResolvedBy": audit_id}
                    for key, row in previous.items() if key not in seen and row.get("LastSeenBy") != audit_id]
        rows += resolved
        resolved += [row for row in rows_by_key.values()
                     if row.get("Status") == RESOLVED and row.get("ResolvedBy") == audit_id]  # by an earlier try
    return Reconciled(rows, seen, new, resolved)


def row_document(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ledger row as the CLI and the report show it."""
    return {"code": row.get("Code"), "severity": row.get("Severity"), "versionId": row.get("VersionId"),
            "subject": row.get("Subject"), "message": row.get("Message"), "firstSeen": row.get("FirstSeen"),
            "lastSeen": row.get("LastSeen"), "resolvedAt": row.get("ResolvedAt") or None, "status": row.get("Status")}


def finding_document(finding: AuditFinding, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """A finding with the first and last time the ledger saw it (None for an audit that keeps no ledger)."""
    stored = stored or {}
    return {**finding.to_dict(), "firstSeen": stored.get("FirstSeen"), "lastSeen": stored.get("LastSeen")}
