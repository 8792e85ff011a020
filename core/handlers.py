"""One handler per Functions trigger; `function_app.py` binds them and does nothing else."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.storage.queue import QueueServiceClient

from core import telemetry
from core.api import builds as api_builds
from core.api.http import ApiRequest, ApiResponse
from core.audit import run as audit
from core.clients.storage import queue_service, table_service
from core.config import Settings, SettingsError
from core.events.outbox import Outbox
from core.events.sinks import sinks_from_settings
from core.orchestration.admission import build_id_for
from core.orchestration.budget_store import BudgetStore
from core.orchestration.registration import Registrar
from core.orchestration.runner import Runner
from core.orchestration.step_messages import StepMessage
from core.orchestration.store import BuildStore
from core.orchestration.submissions import UnprocessableMessage, derive_resource_id
from core.snapshots import builds as snapshot_builds
from core.snapshots.eventgrid import event_to_dict

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    queues: QueueServiceClient
    store: BuildStore
    runner: Runner

    def poison(self, queue_name: str, text: str) -> None:
        telemetry.record_poisoned(queue_name)
        poison = self.queues.get_queue_client(f"{queue_name}-poison")
        with contextlib.suppress(Exception):
            poison.create_queue()
        poison.send_message(text)


def check_configuration(env: Mapping[str, str]) -> Settings:
    """Every setting of every trigger, checked at once: SettingsError naming the first bad one.

    The worker calls it before it takes any message, each runtime when it is built, so a bad value
    (``POLL_INITIAL_SECONDS=abc``, a broken ``POLICY_FILE``) is one line at start-up, not a failure of
    every invocation until the messages are poisoned.
    """
    from core.audit.run import AuditConfig
    from core.policy.config import PolicyConfigError, config_from_env
    from core.snapshots.work import SnapshotSettings

    settings = Settings.from_env(env)
    SnapshotSettings.from_env(env)
    AuditConfig.from_env(env)
    try:
        config_from_env(env)
    except PolicyConfigError as error:
        raise SettingsError(str(error).replace("\n", " ")) from None
    return settings


def build_runtime(env: dict[str, str] | None = None, *, storage_options: dict[str, Any] | None = None) -> Runtime:
    """Clients and runner from the environment (app settings); `storage_options` go to the storage clients."""
    env = dict(os.environ if env is None else env)
    telemetry.configure(env)
    settings = check_configuration(env)
    queues = queue_service(env, settings.storage_connection, **(storage_options or {}))
    tables = table_service(env, settings.storage_connection, **(storage_options or {}))
    store = BuildStore(tables, settings.builds_table)
    budget = BudgetStore(tables, settings) if settings.arm_budget_percent else None
    runner = Runner(settings, store, queues, registration=Registrar(tables, settings), budget=budget)
    sinks = sinks_from_settings(settings, queues)
    if sinks:
        runner.outbox = Outbox(store.table, sinks)
    return Runtime(settings, queues, store, runner)


_runtime: Runtime | None = None
_lock = threading.Lock()


def runtime() -> Runtime:
    """The process-wide runtime, built on first use (a Functions worker reuses it across invocations)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime()
        return _runtime


def reset_runtime() -> None:
    """Forget the runtime so the next call reads the environment again (tests, the local worker)."""
    global _runtime
    with _lock:
        _runtime = None


def handle_request_message(msg: func.QueueMessage) -> None:
    """A build request from `image-build-requests`: admit it, or poison it with the reason logged."""
    rt = runtime()
    body = msg.get_body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        log.error("request message %s is not UTF-8 text; moved to the poison queue", msg.id)
        rt.poison(rt.settings.request_queue, body.decode("utf-8", errors="replace"))
        return
    try:
        with telemetry.build_span("build.admit", _build_id_of_request(text), **{"messaging.message.id": msg.id}):
            admission = rt.runner.handle_request_text(text, message_id=msg.id)
    except UnprocessableMessage as exc:
        log.error("request message %s cannot be processed: %s; moved to the poison queue", msg.id, exc)
        rt.poison(rt.settings.request_queue, text)
        return
    log.info("request message %s: %s %s", msg.id, admission.outcome, admission.reason)


def _build_id_of_request(text: str) -> str | None:
    try:
        resource_id = derive_resource_id(json.loads(text))
    except ValueError:
        return None
    return build_id_for(resource_id) if resource_id else None


def _build_id_of_step(text: str) -> str | None:
    try:
        return StepMessage.from_text(text).build_id
    except (ValueError, KeyError, TypeError):
        return None


def handle_step_message(msg: func.QueueMessage) -> None:
    """An internal step message: run the build's next step (a span in the build's trace)."""
    text = msg.get_body().decode("utf-8", errors="replace")
    with telemetry.build_span("build.step", _build_id_of_step(text), **{"messaging.message.id": msg.id}):
        outcome = runtime().runner.handle_step_text(text)
    log.info("step message %s: %s", msg.id, outcome)


def handle_redrive_timer(timer: func.TimerRequest) -> None:
    """Re-send the step message of every build whose next step is overdue."""
    rt = runtime()
    redriven = rt.runner.redrive()
    if rt.runner.outbox is not None:
        events = rt.runner.outbox.redrive(rt.settings.redrive_grace_seconds)
        if events:
            log.warning("re-drive: %d completion event(s) sent late: %s", len(events), ", ".join(events))
    if redriven or timer.past_due:
        log.warning("re-drive: %d overdue build(s) re-sent%s", len(redriven), " (timer past due)" * timer.past_due)


def api_request(req: func.HttpRequest) -> ApiRequest:
    return ApiRequest(method=req.method, url=req.url, route_params=dict(req.route_params), params=dict(req.params),
                      headers=dict(req.headers.items()), body=req.get_body() or b"")


def _http_response(response: ApiResponse) -> func.HttpResponse:
    return func.HttpResponse(response.body, status_code=response.status, mimetype=response.mimetype,
                             headers=dict(response.headers))


def handle_api(route: Callable[[Runtime, ApiRequest], ApiResponse], req: func.HttpRequest) -> func.HttpResponse:
    """An HTTP API route (core/api/builds.py) served against the runtime."""
    return _http_response(route(runtime(), api_request(req)))


def handle_request_schema(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/schemas/request-v1.json: needs no storage, so no runtime."""
    return _http_response(api_builds.request_schema(api_request(req)))


def handle_snapshot_event(event: func.EventGridEvent) -> None:
    """An Event Grid event (either schema): a new snapshot that a template matches becomes a build request."""
    outcome = snapshot_builds.builder(runtime()).handle_event(event_to_dict(event))
    log.debug("event %s: %s", event.id, outcome)


def handle_snapshot_message(msg: func.QueueMessage) -> None:
    """A `snapshot-events` message: look at a snapshot again (still provisioning, or a retry)."""
    text = msg.get_body().decode("utf-8", errors="replace")
    outcome = snapshot_builds.builder(runtime()).handle_work_text(text)
    log.debug("snapshot message %s: %s", msg.id, outcome)


def handle_audit_timer(timer: func.TimerRequest) -> None:
    """The scheduled compliance audit of the configured galleries; findings to the table, a summary to the log."""
    audit.run_scheduled(runtime(), past_due=timer.past_due)
