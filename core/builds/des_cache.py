"""Disk encryption sets a validation has read, kept in the build state for its retry (pure).

The same record keeps the key chain behind the sets (vaults, key versions, role assignment lists and role
definitions, each by its lower-case ARM ID; ``core.policy.key_facts``), under the same rules.

A validation that fails on a transient error is tried again; without this record it would read every
set again. What may be trusted, and for how long: a set can change between tries (its key rotated, its
identity's access revoked, the set deleted). The validation's findings are already trusted until the
PUT, which comes later (after registration, after budget waits), and ARM checks every set again when it
accepts the PUT, failing it with its own error if a set stopped being usable. A read reused within
``KEEP_SECONDS`` in the same validation therefore adds no staleness of a new kind. Only sets that were
found are kept (one that was absent may be being created now). The record is bounded (``MAX_CHARS``, and
the room the state row has left; what does not fit is read again) and dropped when the build leaves
Validating.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from core.azure.arm import classify
from core.base.timestamps import parse_iso, utc_iso
from core.builds.events import ArmCallFailed
from core.builds.state import BuildState

KEEP_SECONDS = 600
MAX_CHARS = 8 * 1024
# Azure Table keeps at most 32K characters in one property; the state row is one (with slack).
ROW_CHARS = 30_000


def _chars(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":")))  # as the store writes it (ASCII, escaped)


def usable(state: BuildState, now: datetime) -> dict[str, dict[str, Any]]:
    """The kept sets read within ``KEEP_SECONDS`` of ``now``, by lower-cased ID (a copy the caller may fill)."""
    oldest = now - timedelta(seconds=KEEP_SECONDS)
    kept = {}
    for key, entry in state.des_reads.items():
        read_at = parse_iso(entry.get("at"))
        if read_at is not None and oldest <= read_at <= now and isinstance(entry.get("body"), dict):
            kept[key] = entry["body"]
    return kept


def record(state: BuildState, kept: dict[str, dict[str, Any]], now: datetime) -> dict[str, dict[str, Any]]:
    """The record to store after a try that read ``kept``: a set read before keeps its time, a new one is
    stamped ``now``; sets are added while the record stays within ``MAX_CHARS`` and the row's room."""
    room = min(MAX_CHARS, ROW_CHARS - _chars(state.replace(des_reads={}).to_dict()))
    entries: dict[str, dict[str, Any]] = {}
    size = 2
    for key, body in kept.items():
        before = state.des_reads.get(key)
        entry = before if before is not None and before.get("body") == body else {"at": utc_iso(now), "body": body}
        cost = _chars({key: entry})
        if size + cost > room:
            continue
        entries[key] = entry
        size += cost
    return entries


def failed(state: BuildState, exc: Exception, kept: dict[str, dict[str, Any]], now: datetime) -> ArmCallFailed:
    """The event of a validation whose ARM call raised ``exc``, keeping the sets read so far."""
    return ArmCallFailed(action=str(state.status), failure=classify(exc), des_reads=record(state, kept, now))
