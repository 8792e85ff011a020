"""One handler per Functions trigger; `function_app.py` binds them and does nothing else."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import azure.functions as func

from core.app import audits
from core.app.runtime import Runtime, runtime
from core.base import telemetry
from core.builds.admission import build_id_for
from core.builds.submissions import UnprocessableMessage, derive_resource_id
from core.engine.messages import StepMessage
from core.entry.http import routes as api_builds
from core.entry.http.messages import ApiRequest, ApiResponse
from core.snapshots import intake as snapshot_builds
from core.snapshots.eventgrid import event_to_dict

log = logging.getLogger(__name__)


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
            admission = rt.builds.handle_request_text(text, message_id=msg.id)
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


def handle_poisoned_step(msg: func.QueueMessage) -> None:
    """A step message the host gave up on (`image-build-steps-poison`): recorded by its workflow."""
    text = msg.get_body().decode("utf-8", errors="replace")
    telemetry.record_poisoned(runtime().settings.step_queue)
    outcome = runtime().runner.handle_poisoned_step(text)
    log.warning("poisoned step message %s: %s", msg.id, outcome)


def handle_redrive_timer(timer: func.TimerRequest) -> None:
    """Re-send the step message of every build whose next step is overdue."""
    rt = runtime()
    redriven = rt.runner.redrive()
    if rt.build_workflow.outbox is not None:
        events = rt.build_workflow.outbox.redrive(rt.settings.redrive_grace_seconds)
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
    """An HTTP API route (core/entry/http/routes.py) served against the runtime."""
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
    """Start the scheduled compliance audit of the configured galleries; its steps run as step messages, and
    its end logs one summary line."""
    audits.start_scheduled(runtime(), past_due=timer.past_due)
