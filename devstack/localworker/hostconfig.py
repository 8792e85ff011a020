"""The parts of host.json the local worker honours, with the host's defaults and env-var overrides.

The Functions host reads host.json case-insensitively and lets app settings named
`AzureFunctionsJobHost__<path with __ between segments>` override any value in it, e.g.
`AzureFunctionsJobHost__extensions__queues__batchSize=4`. Both rules are kept here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from devstack.localworker.errors import WorkerConfigError
from devstack.localworker.timespan import parse_timespan

ENV_PREFIX = "AzureFunctionsJobHost__"
MIN_POLLING_INTERVAL = timedelta(milliseconds=100)
MAX_BATCH_SIZE = 32  # the Storage queue service returns at most 32 messages per request
ENCODINGS = ("base64", "none")


@dataclass(frozen=True)
class QueueOptions:
    """`extensions.queues` of host.json, with the Functions host's defaults."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: timedelta = timedelta(minutes=1)
    visibility_timeout: timedelta = timedelta(0)
    max_dequeue_count: int = 5
    message_encoding: str = "base64"

    def describe(self) -> str:
        """The options as host.json names them, for the start-up log."""
        return (
            f"batchSize={self.batch_size} newBatchThreshold={self.new_batch_threshold} "
            f"maxPollingInterval={self.max_polling_interval.total_seconds():g}s "
            f"visibilityTimeout={self.visibility_timeout.total_seconds():g}s "
            f"maxDequeueCount={self.max_dequeue_count} messageEncoding={self.message_encoding}"
        )


@dataclass(frozen=True)
class HostConfig:
    """What the worker needs from host.json: queue options and the HTTP route prefix."""

    queues: QueueOptions = field(default_factory=QueueOptions)
    route_prefix: str = "api"


LOCAL_POLLING_ENV = "LOCAL_WORKER_MAX_POLLING_SECONDS"
DEFAULT_LOCAL_POLLING = timedelta(seconds=2)


def local_polling(config: HostConfig, env: Mapping[str, str]) -> HostConfig:
    """The local worker polls at most every LOCAL_WORKER_MAX_POLLING_SECONDS (default 2 s), however long
    host.json's production maxPollingInterval is: an idle empty queue costs nothing on a laptop."""
    raw = env.get(LOCAL_POLLING_ENV, "").strip()
    try:
        cap = timedelta(seconds=float(raw)) if raw else DEFAULT_LOCAL_POLLING
    except ValueError:
        raise WorkerConfigError(f"{LOCAL_POLLING_ENV}={raw!r} is not a number of seconds") from None
    if cap < MIN_POLLING_INTERVAL:
        raise WorkerConfigError(f"{LOCAL_POLLING_ENV}={raw} must be at least 0.1 (100 ms)")
    polling = min(config.queues.max_polling_interval, cap)
    return replace(config, queues=replace(config.queues, max_polling_interval=polling))


def load_host_config(path: Path | None, env: Mapping[str, str]) -> HostConfig:
    """Read `path` (None: the host's defaults), then apply the `AzureFunctionsJobHost__...` overrides."""
    document: dict[str, Any] = {}
    if path is not None:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise WorkerConfigError(
                f"host.json not found at {path}; pass --host-json with the app's host.json"
            ) from None
        except json.JSONDecodeError as error:
            raise WorkerConfigError(f"{path} is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise WorkerConfigError(f"{path} must hold a JSON object")
    settings = _flatten(document)
    settings.update(_env_overrides(env))
    return HostConfig(queues=_queue_options(settings), route_prefix=_route_prefix(settings))


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """{"extensions": {"queues": {"batchSize": 8}}} -> {"extensions:queues:batchsize": 8}."""
    if not isinstance(node, dict):
        return {prefix: node}
    flat: dict[str, Any] = {}
    for key, value in node.items():
        flat.update(_flatten(value, f"{prefix}:{key}".lower() if prefix else str(key).lower()))
    return flat


def _env_overrides(env: Mapping[str, str]) -> dict[str, str]:
    prefix = ENV_PREFIX.lower()
    return {
        name[len(prefix) :].replace("__", ":").lower(): value
        for name, value in env.items()
        if name.lower().startswith(prefix)
    }


def _where(key: str) -> str:
    """How an error names a setting: its host.json path (e.g. host.json extensions.queues.batchSize)."""
    return "host.json " + key.replace(":", ".")


def _override_hint(key: str) -> str:
    return f" ({ENV_PREFIX}{key.replace(':', '__')} overrides it)"


def _int(settings: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    raw = settings.get(key.lower())
    if raw is None:
        return default
    try:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError
        value = int(raw)
    except (TypeError, ValueError):
        raise WorkerConfigError(f"{_where(key)}={raw!r} is not a whole number{_override_hint(key)}") from None
    if not low <= value <= high:
        hint = _override_hint(key)
        raise WorkerConfigError(f"{_where(key)}={value} is out of range; use {low}..{high}{hint}")
    return value


def _timespan(settings: Mapping[str, Any], key: str, default: timedelta) -> timedelta:
    raw = settings.get(key.lower())
    if raw is None:
        return default
    value = parse_timespan(str(raw), field=_where(key))
    if value < timedelta(0):
        raise WorkerConfigError(f"{_where(key)}={raw!r} is negative; use a duration like 00:00:30")
    return value


def _queue_options(settings: Mapping[str, Any]) -> QueueOptions:
    base = "extensions:queues:"
    batch_size = _int(settings, base + "batchSize", QueueOptions.batch_size, 1, MAX_BATCH_SIZE)
    threshold = _int(settings, base + "newBatchThreshold", batch_size // 2, 0, 10_000)
    polling = _timespan(settings, base + "maxPollingInterval", QueueOptions.max_polling_interval)
    if polling < MIN_POLLING_INTERVAL:
        raise WorkerConfigError(f"{_where(base + 'maxPollingInterval')} must be at least 00:00:00.1 (100 ms)")
    encoding_raw = settings.get((base + "messageEncoding").lower(), QueueOptions.message_encoding)
    encoding = str(encoding_raw).strip().lower()
    if encoding not in ENCODINGS:
        raise WorkerConfigError(
            f"{_where(base + 'messageEncoding')}={encoding_raw!r}; use 'base64' or 'none'"
        )
    return QueueOptions(
        batch_size=batch_size,
        new_batch_threshold=threshold,
        max_polling_interval=polling,
        visibility_timeout=_timespan(settings, base + "visibilityTimeout", QueueOptions.visibility_timeout),
        max_dequeue_count=_int(settings, base + "maxDequeueCount", QueueOptions.max_dequeue_count, 1, 10_000),
        message_encoding=encoding,
    )


def _route_prefix(settings: Mapping[str, Any]) -> str:
    raw = settings.get("extensions:http:routeprefix", "api")
    return str(raw if raw is not None else "").strip("/")
