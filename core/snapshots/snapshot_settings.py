"""The snapshot path's pieces: its settings, its queue message, its table keys and the template cache."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.azure import resource_ids
from core.azure.regions import PUBLIC_REGIONS
from core.azure.settings import read_int
from core.base import json_input
from core.base.timestamps import parse_iso
from core.snapshots.eventgrid import ALLOWLIST_SETTING, TopicAllowlist
from core.snapshots.template_loader import load_templates, templates_dir
from core.snapshots.templates import Template

QUEUE = "snapshot-events"
TABLE = "snapshotbuilds"
CLAIM_ROW = "build"
MAX_RESERVATION_TRIES = 10


class Outcome(StrEnum):
    IGNORED = "ignored"
    REFUSED = "refused"
    WAITING = "waiting"
    TIMED_OUT = "timed-out"
    NOT_FOUND = "snapshot-not-found"
    SNAPSHOT_FAILED = "snapshot-failed"
    NO_TEMPLATE = "no-template"
    AMBIGUOUS = "ambiguous-templates"
    NOT_OS_DISK = "not-an-os-snapshot"
    BAD_DATA_DISKS = "bad-data-disks"
    CLAIMED_ELSEWHERE = "claimed-elsewhere"
    DUPLICATE = "duplicate"
    SUBMITTED = "submitted"
    RETRYING = "retrying"
    ARM_ERROR = "arm-error"
    MALFORMED = "malformed"


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    return read_int(env, name, default, minimum=1)


@dataclass(frozen=True)
class SnapshotSettings:
    """Settings of the snapshot path; `from_env` raises SettingsError naming the variable."""

    templates_dir: Path
    allowlist: TopicAllowlist
    poll_seconds: int = 30
    wait_timeout_seconds: int = 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SnapshotSettings:
        return cls(
            templates_dir=templates_dir(env),
            allowlist=TopicAllowlist.parse(env.get(ALLOWLIST_SETTING)),
            poll_seconds=_seconds(env, "SNAPSHOT_POLL_SECONDS", cls.poll_seconds),
            wait_timeout_seconds=_seconds(env, "SNAPSHOT_WAIT_TIMEOUT_SECONDS", cls.wait_timeout_seconds),
        )


_templates: dict[tuple[Path, frozenset[str]], tuple[Template, ...]] = {}
_templates_lock = threading.Lock()


def cached_templates(directory: Path, known_regions: frozenset[str] = PUBLIC_REGIONS) -> tuple[Template, ...]:
    """The templates of ``directory``, loaded on first use; TemplatesInvalid (not cached) when any is wrong."""
    key = (directory.resolve(), known_regions)
    with _templates_lock:
        if key not in _templates:
            _templates[key] = load_templates(directory, known_regions)
        return _templates[key]


def forget_templates() -> None:
    with _templates_lock:
        _templates.clear()


@dataclass(frozen=True)
class SnapshotWork:
    """One snapshot being looked at: the message on `snapshot-events`. ``token`` names this chain of
    attempts (a duplicate event starts another chain); ``retries`` counts transient failures."""

    snapshot_id: str
    event_id: str
    first_seen: str
    token: str
    retries: int = 0

    def to_text(self) -> str:
        return json.dumps({"snapshotId": self.snapshot_id, "eventId": self.event_id, "firstSeen": self.first_seen,
                           "token": self.token, "retries": self.retries})

    @classmethod
    def from_text(cls, text: str) -> SnapshotWork:
        """ValueError (naming the field) unless the message is a work item for a snapshot resource ID."""
        data = json_input.load(text, "(message)")
        if not isinstance(data, dict):
            raise ValueError("the message must be a JSON object")
        snapshot = resource_ids.parse_resource_id(str(data.get("snapshotId")))
        if not snapshot.is_kind(resource_ids.SNAPSHOT):
            raise ValueError(f"snapshotId {data.get('snapshotId')} is not a snapshot ID")
        if parse_iso(str(data.get("firstSeen"))) is None:
            raise ValueError(f"firstSeen {data.get('firstSeen')!r} is not a timestamp")
        retries = data.get("retries", 0)
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries {retries!r} is not a count")
        return cls(str(snapshot), str(data.get("eventId") or ""), str(data["firstSeen"]),
                   str(data.get("token") or uuid.uuid4()), retries)


def table_key(resource_id: str) -> str:
    """A resource ID as a Table key ('/' is not allowed in keys; IDs compare case-insensitively)."""
    return resource_id.strip().lower().replace("/", "|")

