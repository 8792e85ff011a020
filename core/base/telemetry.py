"""OpenTelemetry for builds: spans, log attributes and metrics, exported to Application Insights through the
Azure Monitor distro when `APPLICATIONINSIGHTS_CONNECTION_STRING` is set (otherwise the API's no-op providers).

- Every span and every log record written while a build is handled carries `build.id`, `image_version.id`,
  `build.status` and `cloud.region` (the home region; `build.regions` lists the targets).
- One trace per build: its trace ID is derived from the build ID, so every step (a separate queue message,
  perhaps on another instance) lands in the same trace with no change to the messages.
- Metrics: `builds.completed` (by outcome), `build.duration` (s, by outcome), `replication.region.duration`
  (s from the build's creation to the region's Completed, by region), `arm.throttled` (429s seen, by step),
  `messages.poisoned` (by queue).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from opentelemetry import metrics, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from core.base.timestamps import parse_iso

CONNECTION_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
NAME = "cmk-image-builder"
_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("build_attributes", default=None)
_configured = False
_factory_installed = False
_instruments_by_provider: dict[int, dict[str, Any]] = {}


def configure(env: Mapping[str, str] | None = None) -> bool:
    """Send traces, logs and metrics to Application Insights if the connection string is set; once per process."""
    global _configured
    env = os.environ if env is None else env
    install_log_attributes()
    if _configured or not env.get(CONNECTION_SETTING):
        return _configured
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(connection_string=env[CONNECTION_SETTING], logger_name="core")
    _configured = True
    return True


class Traced(Protocol):
    """What telemetry reads of a workflow's record; a build's `request`, `attempt` and `regions` when it has them.
    A record whose class says `counts_as_build = False` is left out of the builds' metrics."""

    resource_id: str
    created_at: str
    updated_at: str

    @property
    def record_id(self) -> str: ...

    @property
    def status(self) -> Any: ...


def attributes(state: Traced) -> dict[str, str]:
    request = getattr(state, "request", None) or {}
    regions = [t.get("name") for t in request.get("targetRegions") or [] if isinstance(t, dict)]
    return {
        "build.id": state.record_id,
        "image_version.id": state.resource_id,
        "build.status": str(state.status),
        "build.attempt": str(getattr(state, "attempt", 1)),
        "cloud.region": str(request.get("location") or ""),
        "build.regions": ",".join(str(r) for r in regions if r),
    }


def install_log_attributes() -> None:
    """Every log record made while a build is handled gets its attributes (OpenTelemetry's log handler exports
    a record's extra attributes), whichever logger and handler it goes through."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        for key, value in (_context.get() or {}).items():
            setattr(record, key, value)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def trace_id_of(build_id: str) -> int:
    return int.from_bytes(hashlib.sha256(build_id.encode()).digest()[:16], "big")


def _trace_parent(build_id: str) -> Any:
    digest = hashlib.sha256(build_id.encode()).digest()
    parent = SpanContext(trace_id=trace_id_of(build_id), span_id=int.from_bytes(digest[16:24], "big"),
                         is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(parent))


@contextlib.contextmanager
def build_span(name: str, build_id: str | None, **extra: str) -> Iterator[trace.Span]:
    """A span of one invocation for a build, in the build's trace; `annotate` fills in the rest."""
    tracer = trace.get_tracer(NAME)
    context = _trace_parent(build_id) if build_id else None
    initial = {"build.id": build_id, **extra} if build_id else dict(extra)
    token = _context.set(dict(initial))
    try:
        with tracer.start_as_current_span(name, context=context, attributes=initial) as span:
            yield span
    finally:
        _context.reset(token)


def annotate(state: Traced) -> None:
    """The current span and log records get the build's attributes as they are now."""
    values = attributes(state)
    _context.set({**(_context.get() or {}), **values})
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(values)


def _instruments() -> dict[str, Any]:
    """The instruments, created once per meter provider."""
    provider = metrics.get_meter_provider()
    if id(provider) in _instruments_by_provider:
        return _instruments_by_provider[id(provider)]
    meter = metrics.get_meter(NAME)
    _instruments_by_provider[id(provider)] = {
        "completed": meter.create_counter("builds.completed", description="builds ended, by outcome"),
        "duration": meter.create_histogram("build.duration", unit="s", description="creation to end"),
        "region": meter.create_histogram("replication.region.duration", unit="s",
                                         description="build creation to the region's replication Completed"),
        "throttled": meter.create_counter("arm.throttled", description="ARM 429 responses seen"),
        "poisoned": meter.create_counter("messages.poisoned", description="messages moved to a poison queue"),
        "key_health": meter.create_counter("audit.key_health", description="key-health findings of an audit run, "
                                                                            "by code and severity"),
    }
    return _instruments_by_provider[id(provider)]


def _seconds(start: str | None, end: str | None) -> float | None:
    begin, finish = parse_iso(start), parse_iso(end)
    return (finish - begin).total_seconds() if begin and finish else None


def record_write(before: Traced | None, after: Traced) -> None:
    """Metrics of a state change: a record's end, a build's regions newly replicated."""
    instruments = _instruments()
    earlier = getattr(before, "regions", None) or {}
    for name, info in (getattr(after, "regions", None) or {}).items():
        was = earlier.get(name, {}).get("state")
        if info.get("state") == "Completed" and was != "Completed":
            seconds = _seconds(after.created_at, after.updated_at)
            if seconds is not None:
                instruments["region"].record(seconds, {"cloud.region": name})
    if not getattr(after, "counts_as_build", True):  # another workflow's record (a snapshot's intake)
        return
    if after.status.terminal and (before is None or not before.status.terminal
                                  or getattr(before, "attempt", 1) != getattr(after, "attempt", 1)):
        outcome = {"outcome": str(after.status)}
        instruments["completed"].add(1, outcome)
        seconds = _seconds(after.created_at, after.updated_at)
        if seconds is not None:
            instruments["duration"].record(seconds, outcome)


def record_throttled(step: str) -> None:
    _instruments()["throttled"].add(1, {"build.step": step})


def record_poisoned(queue: str) -> None:
    _instruments()["poisoned"].add(1, {"queue": queue})


def record_key_health(code: str, severity: str, region: str | None) -> None:
    """One key-health finding of an audit run (the key-health alert sums these)."""
    _instruments()["key_health"].add(1, {"code": code, "severity": severity, "cloud.region": region or ""})
