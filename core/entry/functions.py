"""One handler per Functions trigger: the binding's input to the application layer (core/app), its answer
to a log line or an HTTP response. `function_app.py` binds them and does nothing else."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping

import azure.functions as func

from core.app import audits, queue_work
from core.app.callers import AUTH_SETTING, AuthMode
from core.app.runtime import Runtime, runtime
from core.entry.http import routes as api_builds
from core.entry.http.messages import ApiRequest, ApiResponse
from core.snapshots.eventgrid import event_to_dict

log = logging.getLogger(__name__)


def handle_request_message(msg: func.QueueMessage) -> None:
    """A build request from `image-build-requests`: admit it, or poison it with the reason logged."""
    try:
        admission = queue_work.admit_request_message(runtime(), msg.get_body(), message_id=msg.id)
    except queue_work.MessagePoisoned as poisoned:
        log.error("request message %s %s; moved to the poison queue", msg.id, poisoned.reason)
        return
    log.info("request message %s: %s %s", msg.id, admission.outcome, admission.reason)


def handle_step_message(msg: func.QueueMessage) -> None:
    """An internal step message: run the build's next step (a span in the build's trace)."""
    outcome = queue_work.run_step_message(runtime(), msg.get_body(), message_id=msg.id)
    log.info("step message %s: %s", msg.id, outcome)


def handle_poisoned_step(msg: func.QueueMessage) -> None:
    """A step message the host gave up on (`image-build-steps-poison`): recorded by its workflow."""
    outcome = queue_work.handle_poisoned_step(runtime(), msg.get_body())
    log.warning("poisoned step message %s: %s", msg.id, outcome)


def handle_redrive_timer(timer: func.TimerRequest) -> None:
    """Re-send the step message of every build whose next step is overdue."""
    redriven = queue_work.redrive(runtime())
    if redriven.events:
        log.warning("re-drive: %d completion event(s) sent late: %s", len(redriven.events), ", ".join(redriven.events))
    if redriven.builds or timer.past_due:
        log.warning("re-drive: %d overdue build(s) re-sent%s", len(redriven.builds),
                    " (timer past due)" * timer.past_due)


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


def handle_openapi(req: func.HttpRequest) -> func.HttpResponse:
    """GET /api/openapi.json: the OpenAPI 3.1 document of the API (anonymous, no runtime)."""
    from core.entry.http.openapi import openapi_text

    return _http_response(ApiResponse(200, openapi_text().encode(), "application/json"))


def http_auth_level(env: Mapping[str, str] | None = None) -> func.AuthLevel:
    """The authorisation level of the API's routes: anonymous to the Functions host when sign-in is on
    (`API_AUTH=entra`: App Service authentication signs callers in before the host sees them, and function
    keys are off), else a function key."""
    env = os.environ if env is None else env
    signed_in = (env.get(AUTH_SETTING) or "").strip().lower() == AuthMode.ENTRA
    return func.AuthLevel.ANONYMOUS if signed_in else func.AuthLevel.FUNCTION


def handle_snapshot_event(event: func.EventGridEvent) -> None:
    """An Event Grid event (either schema): a snapshot write makes its intake's record at once."""
    record = queue_work.handle_snapshot_event(runtime(), event_to_dict(event))
    log.debug("event %s: %s", event.id, f"record {record.record_id} {record.status}" if record else "no record")


def handle_audit_timer(timer: func.TimerRequest) -> None:
    """Start the scheduled compliance audit of the configured galleries; its steps run as step messages, and
    its end logs one summary line."""
    audits.start_scheduled(runtime(), past_due=timer.past_due)
