"""The snapshot intake's settings (`SNAPSHOT_*`, `EVENTGRID_TOPIC_ALLOWLIST`, `TEMPLATES_DIR`) and the loaded
templates, cached per folder."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.azure.regions import PUBLIC_REGIONS
from core.azure.settings import read_int
from core.snapshots.eventgrid import ALLOWLIST_SETTING, TopicAllowlist
from core.snapshots.template_loader import load_templates, templates_dir
from core.snapshots.templates import Template


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    return read_int(env, name, default, minimum=1)


@dataclass(frozen=True)
class SnapshotSettings:
    """Settings of the snapshot intake; `from_env` raises SettingsError naming the variable."""

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
