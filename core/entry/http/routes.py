"""The routes of the HTTP API, one function each, modelled on Durable Functions' instance management. Each
reads its HTTP request, calls the application layer (core/app) and renders the result or its typed error:

| route | Durable's | answers |
|---|---|---|
| `POST /api/builds` | start an orchestration | 202 + `Location`, management URLs; 200 duplicate; 400/409/413/415 |
| `POST /api/builds/change-regions` | start an orchestration | the same, for a change of regions |
| `GET /api/builds` | list instances | 200, a JSON array; `x-ms-continuation-token` when there is more |
| `GET /api/builds/{id}` | get instance status | 200 once ended, 202 + `Location` while in flight; 404 |
| `POST /api/builds/{id}/terminate?reason=` | terminate | 202; 404; 409 not yet admitted; 410 already ended |
| `POST /api/builds/{id}/retry` | rewind | 202 a new attempt of a Failed build; 404; 409 |
| `GET /api/schemas/request-v1.json` | - | the JSON Schema of request v1 |
| `GET /api/audits/{id}` (or `latest`) | get instance status | an audit's report: 200 ended, 202 in flight; 404 |

Errors are `application/problem+json` (RFC 9457) with every problem in `errors[]` ({field, message}).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from azure.core.exceptions import AzureError

from core.app import audits, listing, retry, submit
from core.app.build_lookup import BuildNotAdmitted, BuildNotFound
from core.app.cancel import BuildEnded, cancel_build
from core.app.request_input import RequestTooLarge
from core.app.retry import NotRetryable
from core.app.runtime import Runtime
from core.app.status import get_status, is_terminal
from core.app.submit import BuildConflict, SubmitResult
from core.entry.http.list_parameters import CONTINUATION_HEADER, encode_continuation, parse_list_query
from core.entry.http.messages import ApiRequest, ApiResponse, json_response, not_found, problem
from core.request import RequestInvalid
from core.request.schema import schema_text

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "10"

Route = Callable[[Runtime, ApiRequest], ApiResponse]
Submit = Callable[..., SubmitResult]
_REFUSALS = (BuildNotFound, BuildNotAdmitted, BuildEnded, NotRetryable, BuildConflict, audits.AuditNotFound)


def _answered(route: Route) -> Route:
    """The application's refusals as their problem responses; storage that cannot be reached is a 503 naming
    the setting, not a bare 500."""

    @wraps(route)
    def answered(runtime: Runtime, request: ApiRequest) -> ApiResponse:
        try:
            return route(runtime, request)
        except _REFUSALS as refusal:
            return _refused(refusal, request)
        except AzureError as error:
            log.exception("HTTP %s %s: storage call failed", request.method, request.url)
            return problem(503, "storage-unavailable", "Storage is not reachable",
                           f"{type(error).__name__}: the app's storage ({runtime.settings.storage_connection}) did "
                           "not answer; try again later, or check the setting", instance=_path(request))
    return answered


def _refused(refusal: Exception, request: ApiRequest) -> ApiResponse:
    instance = _path(request)
    if isinstance(refusal, BuildNotFound):
        return not_found(refusal.reference, instance)
    if isinstance(refusal, BuildNotAdmitted):
        return problem(409, "build-not-admitted", "The build is still on the request queue",
                       "no worker has admitted it yet; try again in a few seconds", instance=instance)
    if isinstance(refusal, BuildEnded):
        return problem(410, "build-ended", "The build has already ended",
                       f"build {refusal.build_id} is {refusal.status}: there is nothing to cancel", instance=instance,
                       buildStatus=refusal.status)
    if isinstance(refusal, audits.AuditNotFound):
        return problem(404, "audit-not-found", "No such audit",
                       f"no audit {refusal.reference!r}: give the ID an audit was started with, or latest",
                       instance=instance)
    if isinstance(refusal, NotRetryable):
        return problem(409, "build-not-failed", "Only a Failed build can be retried", str(refusal), instance=instance)
    assert isinstance(refusal, BuildConflict)
    return problem(409, "build-conflict", "The image version is already being built or published", refusal.reason,
                   instance=instance, id=refusal.build_id, **management_urls(request, refusal.build_id))


def _path(request: ApiRequest) -> str:
    return request.url[len(request.base_url):].split("?", 1)[0]


def _builds_path(request: ApiRequest) -> str:
    """`/api/builds` as this request reached it (so a custom routePrefix is kept)."""
    path = _path(request)
    return path[: path.lower().rfind("/builds")] + "/builds"


def management_urls(request: ApiRequest, build_id: str) -> dict[str, str]:
    """The build's URLs, as Durable's `createCheckStatusResponse` payload lists an instance's."""
    base = f"{_builds_path(request)}/{build_id}"
    return {
        "statusQueryGetUri": request.link(base),
        "terminatePostUri": request.link(base + "/terminate", reason="{text}"),
        "retryPostUri": request.link(base + "/retry"),
    }


def _accepted(request: ApiRequest, build_id: str, body: dict[str, object]) -> ApiResponse:
    """202 with the build's management URLs and where to poll, as Durable answers a start."""
    urls = management_urls(request, build_id)
    return json_response(202, {**body, **urls}, {"Location": urls["statusQueryGetUri"],
                                                 "Retry-After": RETRY_AFTER_SECONDS})


def _submitted(runtime: Runtime, request: ApiRequest, operation: Submit, noun: str) -> ApiResponse:
    """A JSON body handed to a submit operation of the application; ``noun`` names the body in problems."""
    content_type = (request.header("Content-Type") or "application/json").lower()
    if "json" not in content_type:
        return problem(415, "unsupported-media-type", "The body must be JSON",
                       f"Content-Type {content_type!r}: send the request as application/json",
                       instance=_path(request))
    try:
        result = operation(runtime, request.body, where="request body", origin="http")
    except RequestTooLarge as large:
        return problem(413, "request-too-large", f"The {noun} is too large",
                       f"the body is {large.size} bytes; the limit is {large.limit}", instance=_path(request))
    except RequestInvalid as invalid:
        errors = [{"field": p.field, "message": p.message} for p in invalid.problems]
        detail = "; ".join(str(p) for p in invalid.problems[:3])
        return problem(400, "request-invalid", f"The {noun} is invalid", f"{len(errors)} problem(s): {detail}",
                       instance=_path(request), errors=errors)
    body = {"id": result.build_id, "resourceId": result.resource_id, "status": result.status,
            "outcome": str(result.outcome), "detail": result.reason}
    if result.duplicate:
        return json_response(200, {**body, **management_urls(request, result.build_id)})
    return _accepted(request, result.build_id, body)


@_answered
def submit_build(runtime: Runtime, request: ApiRequest) -> ApiResponse:
    """Validate a build request at once and put it on the request queue."""
    return _submitted(runtime, request, submit.submit_build, "build request")


@_answered
def change_regions(runtime: Runtime, request: ApiRequest) -> ApiResponse:
    """Validate a change of regions (its ``operation`` may be left out) at once and put it on the request queue."""
    return _submitted(runtime, request, submit.submit_change, "change of regions")


@_answered
def list_builds(runtime: Runtime, request: ApiRequest) -> ApiResponse:
    """One page of builds, newest first within the page, each without its history."""
    query, problems = parse_list_query(request.params, request.header(CONTINUATION_HEADER))
    if problems:
        return problem(400, "query-invalid", "The list parameters are invalid",
                       f"{len(problems)} problem(s): " + "; ".join(f"{p['field']}: {p['message']}" for p in problems),
                       instance=_path(request), errors=problems)
    page = listing.list_builds(runtime, query)
    encoded = encode_continuation(page.continuation)
    return json_response(200, page.documents, {CONTINUATION_HEADER: encoded} if encoded else {})


@_answered
def get_build(runtime: Runtime, request: ApiRequest) -> ApiResponse:
    """The status document (with its history unless `showHistory=false`)."""
    with_history = request.params.get("showHistory", "true").lower() != "false"
    document = get_status(runtime, request.route_params.get("id", ""), with_history=with_history)
    if is_terminal(document["status"]):
        return json_response(200, document)
    location = management_urls(request, document["id"])["statusQueryGetUri"]
    return json_response(202, document, {"Location": location, "Retry-After": RETRY_AFTER_SECONDS})


@_answered
def terminate_build(runtime: Runtime, request: ApiRequest) -> ApiResponse:
    """Cancel a build that has not ended (Durable's terminate)."""
    reason = request.params.get("reason") or "cancelled over the HTTP API"
    cancelled = cancel_build(runtime, request.route_params.get("id", ""), reason)
    return json_response(202, {"id": cancelled.build_id, "status": cancelled.status, "detail": cancelled.detail})


@_answered
def retry_build(runtime: Runtime, request: ApiRequest) -> ApiResponse:
    """Start a new attempt of a Failed build with the request it was given (Durable's rewind)."""
    retried = retry.retry_build(runtime, request.route_params.get("id", ""))
    return _accepted(request, retried.build_id, {"id": retried.build_id, "resourceId": retried.resource_id,
                                                 "status": retried.status, "outcome": str(retried.outcome),
                                                 "detail": retried.detail})


def request_schema(request: ApiRequest) -> ApiResponse:
    """The JSON Schema of request v1 (anonymous: editors fetch it without a key)."""
    return ApiResponse(200, schema_text().encode(), "application/schema+json")


@_answered
def get_audit(runtime: Runtime, request: ApiRequest) -> ApiResponse:
    """An audit's report (`{id}`: an audit ID, or `latest`): 200 once it ended, 202 while its steps run."""
    report = audits.report(runtime, request.route_params.get("id", ""))
    document = report.to_dict()
    if report.state.status.terminal:
        return json_response(200, document)
    path = _path(request)
    location = request.link(path[: path.lower().rfind("/audits")] + f"/audits/{report.state.audit_id}")
    return json_response(202, document, {"Location": location, "Retry-After": RETRY_AFTER_SECONDS})
