"""The routes of the HTTP API, one function each, modelled on Durable Functions' instance management:

| route | Durable's | answers |
|---|---|---|
| `POST /api/builds` | start an orchestration | 202 + `Location`, management URLs; 200 duplicate; 400/409/413/415 |
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
from typing import Any

from azure.core.exceptions import AzureError

from core.app import audits
from core.app.status import TERMINAL_STATUSES, build_status
from core.app.submit import submit_request
from core.builds.admission import Outcome, Submission
from core.builds.state import BuildState, BuildStatus
from core.builds.submissions import MAX_REQUEST_BYTES, change_submission, find_build_id
from core.entry.http.listing import CONTINUATION_HEADER, encode_continuation, parse_list_query
from core.entry.http.messages import ApiRequest, ApiResponse, json_response, not_found, problem
from core.request import RequestInvalid, change, parse_request
from core.request.schema import schema_text

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "10"

Route = Callable[[Any, ApiRequest], ApiResponse]


def _storage_guard(route: Route) -> Route:
    """Storage that cannot be reached is a 503 naming the setting, not a bare 500."""

    @wraps(route)
    def guarded(runtime: Any, request: ApiRequest) -> ApiResponse:
        try:
            return route(runtime, request)
        except AzureError as error:
            log.exception("HTTP %s %s: storage call failed", request.method, request.url)
            return problem(503, "storage-unavailable", "Storage is not reachable",
                           f"{type(error).__name__}: the app's storage ({runtime.settings.storage_connection}) did "
                           "not answer; try again later, or check the setting", instance=_path(request))
    return guarded


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


def _invalid(request: ApiRequest, problems: list[Any], detail: str) -> ApiResponse:
    errors = [{"field": p.field, "message": p.message} for p in problems]
    return problem(400, "request-invalid", "The build request is invalid",
                   f"{len(errors)} problem(s): {detail}", instance=_path(request), errors=errors)


@_storage_guard
def submit_build(runtime: Any, request: ApiRequest) -> ApiResponse:
    """Validate a request at once and put it on the request queue."""
    from core.entry.cli import InputInvalid, load_request_bytes

    content_type = (request.header("Content-Type") or "application/json").lower()
    if "json" not in content_type:
        return problem(415, "unsupported-media-type", "The body must be JSON",
                       f"Content-Type {content_type!r}: send the request as application/json",
                       instance=_path(request))
    if len(request.body) > MAX_REQUEST_BYTES:
        return problem(413, "request-too-large", "The build request is too large",
                       f"the body is {len(request.body)} bytes; the limit is {MAX_REQUEST_BYTES}",
                       instance=_path(request))
    try:
        raw = load_request_bytes(request.body, "request body")
        parse_request(raw, known_regions=runtime.settings.known_regions)
    except (InputInvalid, RequestInvalid) as invalid:
        return _invalid(request, invalid.problems, "; ".join(str(p) for p in invalid.problems[:3]))
    assert isinstance(raw, dict)  # parse_request accepted it
    result = submit_request(runtime, raw, origin="http")
    urls = management_urls(request, result.build_id)
    if result.outcome is Outcome.CONFLICT:
        return problem(409, "build-conflict", "The image version is already being built or published",
                       result.reason, instance=_path(request), id=result.build_id, **urls)
    body = {"id": result.build_id, "resourceId": result.resource_id, "status": result.status,
            "outcome": str(result.outcome), "detail": result.reason, **urls}
    if result.outcome is Outcome.DUPLICATE:
        return json_response(200, body)
    return json_response(202, body, {"Location": urls["statusQueryGetUri"], "Retry-After": RETRY_AFTER_SECONDS})


@_storage_guard
def list_builds(runtime: Any, request: ApiRequest) -> ApiResponse:
    """One page of builds, newest first within the page, each without its history."""
    query, problems = parse_list_query(request.params, request.header(CONTINUATION_HEADER))
    if problems:
        return problem(400, "query-invalid", "The list parameters are invalid",
                       f"{len(problems)} problem(s): " + "; ".join(f"{p['field']}: {p['message']}" for p in problems),
                       instance=_path(request), errors=problems)
    table_query, parameters = query.table_filter()
    states, token = runtime.store.page(table_query, parameters, top=query.top, continuation=query.continuation)
    documents = [build_status(runtime.store, state.build_id, with_history=False)
                 for state in sorted(states, key=lambda s: s.updated_at, reverse=True)
                 if isinstance(state, BuildState) and query.matches(state)]  # an audit is no build
    headers = {}
    encoded = encode_continuation(token)
    if encoded:
        headers[CONTINUATION_HEADER] = encoded
    return json_response(200, [document for document in documents if document], headers)


@_storage_guard
def get_build(runtime: Any, request: ApiRequest) -> ApiResponse:
    """The status document (with its history unless `showHistory=false`)."""
    reference = request.route_params.get("id", "")
    with_history = request.params.get("showHistory", "true").lower() != "false"
    document = build_status(runtime.store, find_build_id(reference), with_history=with_history)
    if document is None:
        return not_found(reference, _path(request))
    if document["status"] in TERMINAL_STATUSES:
        return json_response(200, document)
    location = management_urls(request, document["buildId"])["statusQueryGetUri"]
    return json_response(202, document, {"Location": location, "Retry-After": RETRY_AFTER_SECONDS})


def _admitted(runtime: Any, request: ApiRequest) -> BuildState | ApiResponse:
    """The build of the route's `{id}`, or the 404 / 409 (still on the request queue) to answer instead."""
    reference = request.route_params.get("id", "")
    build_id = find_build_id(reference)
    loaded = runtime.store.get(build_id)
    if loaded is not None and isinstance(loaded[0], BuildState):  # another workflow's record is no build
        return loaded[0]
    if runtime.store.queued(build_id):
        return problem(409, "build-not-admitted", "The build is still on the request queue",
                       "no worker has admitted it yet; try again in a few seconds", instance=_path(request))
    return not_found(reference, _path(request))


@_storage_guard
def terminate_build(runtime: Any, request: ApiRequest) -> ApiResponse:
    """Cancel a build that has not ended (Durable's terminate)."""
    state = _admitted(runtime, request)
    if isinstance(state, ApiResponse):
        return state
    build_id = state.build_id
    if state.status.terminal:
        return problem(410, "build-ended", "The build has already ended",
                       f"build {build_id} is {state.status}: there is nothing to cancel", instance=_path(request),
                       buildStatus=str(state.status))
    reason = request.params.get("reason") or "cancelled over the HTTP API"
    cancelled = runtime.runner.cancel(build_id, reason)
    body = {"id": build_id, "status": str(cancelled.status), "detail": (cancelled.error or {}).get("message", "")}
    return json_response(202, body)


@_storage_guard
def retry_build(runtime: Any, request: ApiRequest) -> ApiResponse:
    """Start a new attempt of a Failed build with the request it was given (Durable's rewind)."""
    state = _admitted(runtime, request)
    if isinstance(state, ApiResponse):
        return state
    build_id = state.build_id
    if state.status is not BuildStatus.FAILED or state.request is None:
        fix = {BuildStatus.REJECTED: "fix the request and submit it again",
               BuildStatus.CANCELLED: "submit the request again"}.get(state.status, "only a Failed build is retried")
        return problem(409, "build-not-failed", "Only a Failed build can be retried",
                       f"build {build_id} is {state.status}: {fix}", instance=_path(request))
    submission = Submission(state.resource_id, state.request, (), None, "retry")
    if change.is_change(state.request):  # a change of regions is keyed by its content, not the version alone
        submission = change_submission(state.request, state.resource_id, origin="retry")
    admission = runtime.builds.submit(submission)
    urls = management_urls(request, build_id)
    body = {"id": build_id, "resourceId": state.resource_id, "status": str(BuildStatus.ACCEPTED),
            "outcome": str(admission.outcome), "detail": admission.reason, **urls}
    return json_response(202, body, {"Location": urls["statusQueryGetUri"], "Retry-After": RETRY_AFTER_SECONDS})


def request_schema(request: ApiRequest) -> ApiResponse:
    """The JSON Schema of request v1 (anonymous: editors fetch it without a key)."""
    return ApiResponse(200, schema_text().encode(), "application/schema+json")


@_storage_guard
def get_audit(runtime: Any, request: ApiRequest) -> ApiResponse:
    """An audit's report (`{id}`: an audit ID, or `latest`): 200 once it ended, 202 while its steps run."""
    reference = request.route_params.get("id", "")
    try:
        report = audits.report(runtime, reference)
    except audits.AuditNotFound:
        return problem(404, "audit-not-found", "No such audit",
                       f"no audit {reference!r}: give the ID an audit was started with, or latest",
                       instance=_path(request))
    document = report.to_dict()
    if report.state.status.terminal:
        return json_response(200, document)
    path = _path(request)
    location = request.link(path[: path.lower().rfind("/audits")] + f"/audits/{report.state.audit_id}")
    return json_response(202, document, {"Location": location, "Retry-After": RETRY_AFTER_SECONDS})
