"""The routes of the HTTP API, one function each, modelled on Durable Functions' instance management. Each
reads its HTTP request, calls the application layer (core/app) and renders the result or its typed error:

| route | Durable's | app role | answers |
|---|---|---|---|
| `POST /api/builds` | start an orchestration | Builds.Submit | 202 + `Location`, links; 200 duplicate; 4xx |
| `POST /api/builds/change-regions` | start an orchestration | Builds.Operate | the same, for a change of regions |
| `GET /api/builds` | list instances | Builds.Read | 200, a JSON array; `x-ms-continuation-token` when there is more |
| `GET /api/builds/{id}` | get instance status | Builds.Read | 200 once ended, 202 + `Location` while in flight; 404 |
| `POST /api/builds/{id}/terminate?reason=` | terminate | Builds.Operate | 202; 404; 409 not yet admitted; 410 ended |
| `POST /api/builds/{id}/retry` | rewind | Builds.Operate | 202 a new attempt of a Failed build; 404; 409 |
| `GET /api/schemas/request-v1.json` | - | anonymous | the JSON Schema of request v1 |
| `GET /api/openapi.json` | - | anonymous | the OpenAPI 3.1 document of this API |
| `GET /api/audits/{id}` (or `latest`) | get instance status | Builds.Read | an audit's report: 200 ended, 202; 404 |

Every route needing a role answers 401 when sign-in is on and the request carries no caller, 403 naming the
missing role when the caller lacks it (core/app/callers.py, core/entry/http/principal.py). Errors are
`application/problem+json` (RFC 9457) with every problem in `errors[]` ({field, message}). Storage that
cannot be reached is a 503; a storage refusal (a 4xx) is the caller's 4xx at once.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from azure.core.exceptions import AzureError, HttpResponseError

from core.app import audits, listing, retry, submit
from core.app.build_lookup import BuildNotAdmitted, BuildNotFound
from core.app.callers import Caller, Forbidden, Role, SignInRequired
from core.app.cancel import BuildEnded, cancel_build
from core.app.request_input import RequestTooLarge
from core.app.retry import NotRetryable
from core.app.runtime import Runtime
from core.app.status import get_status, is_terminal
from core.app.submit import BuildConflict, SubmitResult
from core.base.problems import clip
from core.entry.http.list_parameters import CONTINUATION_HEADER, encode_continuation, parse_list_query
from core.entry.http.messages import (
    ApiRequest,
    ApiResponse,
    is_json_media_type,
    json_response,
    link,
    not_found,
    problem,
)
from core.entry.http.principal import caller_of
from core.request import RequestInvalid
from core.request.schema import schema_text

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "10"
MAX_REASON_CHARS = 500

Route = Callable[[Runtime, ApiRequest], ApiResponse]
Served = Callable[[Runtime, ApiRequest, Caller], ApiResponse]
Submit = Callable[..., SubmitResult]
_REFUSALS = (BuildNotFound, BuildNotAdmitted, BuildEnded, NotRetryable, BuildConflict, audits.AuditNotFound)


@dataclass(frozen=True)
class RouteSpec:
    """A route as `function_app.py` binds it and the OpenAPI document describes it: the function's name, the
    method, the route below the prefix, the app role it needs (None: anonymous) and a one-line summary."""

    function: str
    method: str
    route: str
    role: Role | None
    summary: str


def _served(role: Role) -> Callable[[Served], Route]:
    """A route that needs ``role``: the caller identified (401 when sign-in is on and there is none) and
    authorised (403 naming the role), the application's refusals as their problems, storage errors as a 503
    (unreachable) or the caller's 4xx (refused), never a bare 500."""

    def decorate(route: Served) -> Route:
        @wraps(route)
        def served(runtime: Runtime, request: ApiRequest) -> ApiResponse:
            try:
                caller = caller_of(runtime.api, request.headers)
                caller.require(role)
                return route(runtime, request, caller)
            except SignInRequired as missing:
                response = problem(401, "sign-in-required", "Sign in first", missing.reason, instance=request.path)
                return dataclasses.replace(response, headers={"WWW-Authenticate": "Bearer"})
            except Forbidden as forbidden:
                return problem(403, "role-required", f"The app role {forbidden.role} is required",
                               f"{forbidden.caller.actor} does not hold the app role {forbidden.role}; ask an "
                               "administrator to assign it (Enterprise applications, Users and groups)",
                               instance=request.path, role=str(forbidden.role))
            except _REFUSALS as refusal:
                return _refused(runtime, refusal, request)
            except HttpResponseError as error:
                if error.status_code is not None and 400 <= error.status_code < 500:
                    return _storage_refused(error, request)
                return _storage_unavailable(runtime, error, request)
            except AzureError as error:
                return _storage_unavailable(runtime, error, request)
        return served
    return decorate


def _storage_unavailable(runtime: Runtime, error: AzureError, request: ApiRequest) -> ApiResponse:
    log.exception("HTTP %s %s: storage call failed", request.method, request.path)
    return problem(503, "storage-unavailable", "Storage is not reachable",
                   f"{type(error).__name__}: the app's storage ({runtime.settings.storage_connection}) did not "
                   "answer; try again later, or check the setting", instance=request.path)


def _storage_refused(error: HttpResponseError, request: ApiRequest) -> ApiResponse:
    """Storage refused what this request asked of it (a 4xx): the caller's own mistake, said at once."""
    status = error.status_code or 400
    log.warning("HTTP %s %s: storage refused the call (%s %s)", request.method, request.path, status,
                getattr(error, "error_code", ""))
    answer = 409 if status in (409, 412) else 404 if status == 404 else 400
    return problem(answer, "storage-refused", "Storage refused the request",
                   f"storage answered {status} ({clip(getattr(error, 'error_code', '') or 'no code', 60)}): "
                   "check the build ID or the parameters", instance=request.path)


def _refused(runtime: Runtime, refusal: Exception, request: ApiRequest) -> ApiResponse:
    instance = request.path
    if isinstance(refusal, BuildNotFound):
        return not_found(clip(refusal.reference, 200), instance)
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
                   instance=instance, id=refusal.build_id, **management_urls(runtime, request, refusal.build_id))


def _builds_path(request: ApiRequest) -> str:
    """`/api/builds` as this request reached it (so a custom routePrefix is kept): the path up to its first
    `/builds` segment (a build ID in the path cannot move it)."""
    path = request.path
    index = path.lower().find("/builds")
    return (path[:index] if index >= 0 else "") + "/builds"


def management_urls(runtime: Runtime, request: ApiRequest, build_id: str) -> dict[str, str]:
    """The build's URLs, as Durable's `createCheckStatusResponse` payload lists an instance's: on the configured
    origin (core/app/callers.py ApiSettings), never the request's `Host`, never the caller's key."""
    base, origin = f"{_builds_path(request)}/{build_id}", runtime.api.base_url
    return {
        "statusQueryGetUri": link(origin, base),
        "terminatePostUri": link(origin, base + "/terminate", reason="{text}"),
        "retryPostUri": link(origin, base + "/retry"),
    }


def _accepted(runtime: Runtime, request: ApiRequest, build_id: str, body: dict[str, object]) -> ApiResponse:
    """202 with the build's management URLs and where to poll, as Durable answers a start."""
    urls = management_urls(runtime, request, build_id)
    return json_response(202, {**body, **urls}, {"Location": urls["statusQueryGetUri"],
                                                 "Retry-After": RETRY_AFTER_SECONDS})


def _submitted(runtime: Runtime, request: ApiRequest, caller: Caller, operation: Submit, noun: str) -> ApiResponse:
    """A JSON body handed to a submit operation of the application; ``noun`` names the body in problems."""
    kind, _ = request.media_type()
    if not is_json_media_type(kind):
        given = clip(request.header("Content-Type") or "none", 80)
        return problem(415, "unsupported-media-type", "The body must be JSON",
                       f"Content-Type {given}: send the request as application/json", instance=request.path)
    try:
        result = operation(runtime, request.body, where="request body", origin="http", by=caller.actor)
    except RequestTooLarge as large:
        return problem(413, "request-too-large", f"The {noun} is too large",
                       f"the body is {large.size} bytes as UTF-8; the limit is {large.limit}", instance=request.path)
    except RequestInvalid as invalid:
        errors = [{"field": p.field, "message": p.message} for p in invalid.problems]
        detail = "; ".join(str(p) for p in invalid.problems[:3])
        return problem(400, "request-invalid", f"The {noun} is invalid", f"{len(errors)} problem(s): {detail}",
                       instance=request.path, errors=errors)
    body = {"id": result.build_id, "resourceId": result.resource_id, "status": result.status,
            "outcome": str(result.outcome), "detail": result.reason}
    if result.duplicate:
        return json_response(200, {**body, **management_urls(runtime, request, result.build_id)})
    return _accepted(runtime, request, result.build_id, body)


@_served(Role.SUBMIT)
def submit_build(runtime: Runtime, request: ApiRequest, caller: Caller) -> ApiResponse:
    """Validate a build request at once and put it on the request queue."""
    return _submitted(runtime, request, caller, submit.submit_build, "build request")


@_served(Role.OPERATE)
def change_regions(runtime: Runtime, request: ApiRequest, caller: Caller) -> ApiResponse:
    """Validate a change of regions (its ``operation`` may be left out) at once and put it on the request queue."""
    return _submitted(runtime, request, caller, submit.submit_change, "change of regions")


@_served(Role.READ)
def list_builds(runtime: Runtime, request: ApiRequest, caller: Caller) -> ApiResponse:
    """One page of builds, newest first within the page, each without its history."""
    query, problems = parse_list_query(request.params, request.header(CONTINUATION_HEADER))
    if problems:
        return problem(400, "query-invalid", "The list parameters are invalid",
                       f"{len(problems)} problem(s): " + "; ".join(f"{p['field']}: {p['message']}" for p in problems),
                       instance=request.path, errors=problems)
    page = listing.list_builds(runtime, query)
    encoded = encode_continuation(page.continuation)
    return json_response(200, page.documents, {CONTINUATION_HEADER: encoded} if encoded else {})


@_served(Role.READ)
def get_build(runtime: Runtime, request: ApiRequest, caller: Caller) -> ApiResponse:
    """The status document (with its history unless `showHistory=false`)."""
    flag = request.params.get("showHistory", "true").strip().lower()
    if flag not in ("true", "false"):
        return problem(400, "query-invalid", "The parameters are invalid", "showHistory: use true or false",
                       instance=request.path, errors=[{"field": "showHistory", "message": "use true or false"}])
    document = get_status(runtime, request.route_params.get("id", ""), with_history=flag == "true")
    if is_terminal(document["status"]):
        return json_response(200, document)
    location = management_urls(runtime, request, document["id"])["statusQueryGetUri"]
    return json_response(202, document, {"Location": location, "Retry-After": RETRY_AFTER_SECONDS})


@_served(Role.OPERATE)
def terminate_build(runtime: Runtime, request: ApiRequest, caller: Caller) -> ApiResponse:
    """Cancel a build that has not ended (Durable's terminate); `reason` is recorded with who asked."""
    reason = request.params.get("reason", "").strip() or f"cancelled over the HTTP API by {caller.actor}"
    if len(reason) > MAX_REASON_CHARS or not reason.isprintable():
        message = f"at most {MAX_REASON_CHARS} printable characters (it is recorded in the build's history)"
        return problem(400, "query-invalid", "The parameters are invalid", f"reason: {message}",
                       instance=request.path, errors=[{"field": "reason", "message": message}])
    cancelled = cancel_build(runtime, request.route_params.get("id", ""), reason, by=caller.actor)
    return json_response(202, {"id": cancelled.build_id, "status": cancelled.status, "detail": cancelled.detail})


@_served(Role.OPERATE)
def retry_build(runtime: Runtime, request: ApiRequest, caller: Caller) -> ApiResponse:
    """Start a new attempt of a Failed build with the request it was given (Durable's rewind)."""
    retried = retry.retry_build(runtime, request.route_params.get("id", ""), by=caller.actor)
    return _accepted(runtime, request, retried.build_id, {
        "id": retried.build_id, "resourceId": retried.resource_id, "status": retried.status,
        "outcome": str(retried.outcome), "detail": retried.detail})


def request_schema(request: ApiRequest) -> ApiResponse:
    """The JSON Schema of request v1 (anonymous: editors fetch it without a key)."""
    return ApiResponse(200, schema_text().encode(), "application/schema+json")


ROUTES = (
    RouteSpec("submit_build", "POST", "builds", Role.SUBMIT, "Submit a build request"),
    RouteSpec("change_regions", "POST", "builds/change-regions", Role.OPERATE,
              "Submit a change of the regions of a published image version"),
    RouteSpec("list_builds", "GET", "builds", Role.READ, "List builds, a page at a time"),
    RouteSpec("build_status", "GET", "builds/{id}", Role.READ, "Read a build's status and history"),
    RouteSpec("terminate_build", "POST", "builds/{id}/terminate", Role.OPERATE, "Cancel a build that has not ended"),
    RouteSpec("retry_build", "POST", "builds/{id}/retry", Role.OPERATE, "Start a new attempt of a Failed build"),
    RouteSpec("audit_report", "GET", "audits/{id}", Role.READ, "Read an audit's report (an audit ID, or latest)"),
    RouteSpec("request_schema", "GET", "schemas/request-v1.json", None, "The JSON Schema of request v1"),
    RouteSpec("openapi_document", "GET", "openapi.json", None, "This document"),
)


@_served(Role.READ)
def get_audit(runtime: Runtime, request: ApiRequest, caller: Caller) -> ApiResponse:
    """An audit's report (`{id}`: an audit ID, or `latest`): 200 once it ended, 202 while its steps run."""
    report = audits.report(runtime, request.route_params.get("id", ""))
    document = report.to_dict()
    if report.state.status.terminal:
        return json_response(200, document)
    path = request.path
    location = link(runtime.api.base_url, path[: path.lower().rfind("/audits")] + f"/audits/{report.state.audit_id}")
    return json_response(202, document, {"Location": location, "Retry-After": RETRY_AFTER_SECONDS})
