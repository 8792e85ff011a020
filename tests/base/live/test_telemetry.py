"""Spans, log records and metrics of a build, caught by the OpenTelemetry SDK's in-memory exporters while the
real handlers drive a build (request message, step messages) against Azurite and the ARM simulator."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.functions.queue import QueueMessage
from opentelemetry import metrics, trace
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from core.app import runtime as app_runtime
from core.base import telemetry
from core.entry import functions as handlers
from tests.support.live_app import FAST, App, example

SEED = "seed-cli-managed-image.json"
ATTRIBUTES = ("build.id", "image_version.id", "build.status", "cloud.region")


class Exporters:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.logs = InMemoryLogRecordExporter()
        self.metrics = InMemoryMetricReader()

    def metric_points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        if data is None:  # nothing recorded yet (this test may be the first of its xdist worker)
            return []
        return [point for resource in data.resource_metrics for scope in resource.scope_metrics
                for metric in scope.metrics if metric.name == name for point in metric.data.data_points]


@pytest.fixture(scope="module")
def exporters() -> Iterator[Exporters]:
    found = Exporters()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(found.spans))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[found.metrics]))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(found.logs))
    handler = LoggingHandler(logger_provider=logger_provider)
    core_logger = logging.getLogger("core")
    core_logger.addHandler(handler)
    level = core_logger.level
    core_logger.setLevel(logging.INFO)
    telemetry.install_log_attributes()
    yield found
    core_logger.removeHandler(handler)
    core_logger.setLevel(level)


def deliver(app: App, queue_name: str) -> int:
    """What the host does with the visible messages of a queue: hand each to its handler, then delete it."""
    queue = app.runtime.queues.get_queue_client(queue_name)
    with contextlib.suppress(ResourceExistsError):
        queue.create_queue()
    handler = handlers.handle_request_message if queue_name == "image-build-requests" else handlers.handle_step_message
    count = 0
    for message in queue.receive_messages(visibility_timeout=30):
        handler(QueueMessage(id=message.id, body=message.content.encode(), dequeue_count=message.dequeue_count))
        queue.delete_message(message)
        count += 1
    return count


def test_a_builds_spans_logs_and_metrics_carry_its_attributes_in_one_trace(app: App, exporters: Exporters,
                                                                          monkeypatch: pytest.MonkeyPatch):
    for name, value in FAST.items():  # the handlers' runtime reads os.environ: poll as the worker tests do
        monkeypatch.setenv(name, value)
    app_runtime.reset_runtime()
    build_id = app.put_request(example(SEED))
    deadline = time.monotonic() + 90
    while str(app.runtime.store.get(build_id)[0].status if app.runtime.store.get(build_id) else "") != "Succeeded":
        assert time.monotonic() < deadline
        if not deliver(app, "image-build-requests") + deliver(app, "image-build-steps"):
            time.sleep(0.3)

    spans = [span for span in exporters.spans.get_finished_spans() if span.attributes.get("build.id") == build_id]
    names = [span.name for span in spans]
    assert names[0] == "build.admit" and names.count("build.step") >= 4
    assert {span.context.trace_id for span in spans} == {telemetry.trace_id_of(build_id)}, "one trace per build"
    for span in spans:
        assert all(span.attributes.get(key) for key in ATTRIBUTES), (span.name, dict(span.attributes))
    assert spans[-1].attributes["build.status"] == "Succeeded"
    assert spans[-1].attributes["cloud.region"] == "westus" and spans[-1].attributes["build.regions"] == \
        "westus,eastus2"

    records = [r.log_record for r in exporters.logs.get_finished_logs()
               if (r.log_record.attributes or {}).get("build.id") == build_id]
    assert any("Replicating -> Succeeded" in str(record.body) for record in records)
    assert all(record.attributes.get("image_version.id", "").endswith("/versions/1.0.0") for record in records)

    completed = [p for p in exporters.metric_points("builds.completed") if p.attributes == {"outcome": "Succeeded"}]
    assert completed and completed[0].value >= 1
    assert exporters.metric_points("build.duration")
    regions = {p.attributes["cloud.region"] for p in exporters.metric_points("replication.region.duration")}
    assert regions >= {"westus", "eastus2"}


def test_a_poison_message_is_counted(app: App, exporters: Exporters):
    before = sum(p.value for p in exporters.metric_points("messages.poisoned"))
    handlers.handle_request_message(QueueMessage(id="m1", body=b"not json", dequeue_count=1))
    after = [p for p in exporters.metric_points("messages.poisoned")]
    assert sum(p.value for p in after) == before + 1
    assert {"queue": "image-build-requests"} in [dict(p.attributes) for p in after]


def test_without_a_connection_string_the_azure_monitor_distro_is_not_configured():
    provider = trace.get_tracer_provider()
    assert telemetry.configure({}) is False
    assert trace.get_tracer_provider() is provider


def test_a_snapshot_intake_that_ends_is_not_counted_as_a_build(exporters: Exporters):
    """`builds.completed` (the failed-build alert reads it) counts builds only, not the records of other workflows."""
    from datetime import UTC, datetime

    from core.snapshots.decide import receive
    from core.snapshots.eventgrid import SnapshotWritten
    from core.snapshots.state import SnapshotStatus

    snapshot = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/" \
               "snapshots/s1"
    waiting = receive(None, SnapshotWritten("e1", "/subscriptions/x", snapshot), datetime.now(UTC)).state
    before = sum(p.value for p in exporters.metric_points("builds.completed"))
    telemetry.record_write(waiting, waiting.replace(status=SnapshotStatus.FAILED))
    assert sum(p.value for p in exporters.metric_points("builds.completed")) == before
