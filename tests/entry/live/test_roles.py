"""Signed-in operations: every app role against every route (allowed, or a 403 naming the role the route
needs), 401 without a caller, and a build's history, status and completion event saying who did each thing.

Sign-in cannot run here (no Entra ID): the caller arrives as App Service authentication hands it to the app,
in the X-MS-CLIENT-PRINCIPAL headers (``devstack.localworker.sign_in.principal_headers`` makes them), with the
app configured as behind the platform (API_AUTH=entra, WEBSITE_AUTH_ENABLED=True)."""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from core.app.callers import Role
from core.app.queue_work import admit_request_message
from core.builds.state import BuildStatus
from core.engine.record import Decision
from core.entry.http import routes as api
from core.entry.http.messages import PROBLEM_JSON, ApiRequest, ApiResponse
from core.events.cloudevent import completion_event
from devstack.localworker.sign_in import principal_headers
from tests.entry.live.test_http_routes import CHANGE, SEED, admit_queued, request_queue
from tests.support.live_app import App, example

BASE = "https://builds.contoso.com/api/builds"
pytestmark = pytest.mark.app_settings(API_AUTH="entra", WEBSITE_AUTH_ENABLED="True",
                                      API_BASE_URL="https://builds.contoso.com")
ROUTED = {spec.function: spec for spec in api.ROUTES if spec.role is not None}
HANDLERS: dict[str, Callable[..., ApiResponse]] = {
    "submit_build": api.submit_build, "change_regions": api.change_regions, "list_builds": api.list_builds,
    "build_status": api.get_build, "terminate_build": api.terminate_build, "retry_build": api.retry_build,
    "audit_report": api.get_audit,
}
BUILD = "0123456789abcdef01234567"


def call(app: App, function: str, headers: dict[str, str]) -> ApiResponse:
    spec = ROUTED[function]
    url = f"https://builds.contoso.com/api/{spec.route.replace('{id}', BUILD)}"
    body = b""
    if function == "submit_build":
        body = json.dumps(example(SEED)).encode()
    elif function == "change_regions":
        body = json.dumps(CHANGE).encode()
    request = ApiRequest(spec.method, url, route_params={"id": BUILD} if "{id}" in spec.route else {},
                         headers={"Content-Type": "application/json", **headers}, body=body)
    return HANDLERS[function](app.runtime, request)


def test_the_table_covers_every_route_with_a_role():
    assert set(HANDLERS) == set(ROUTED)
    assert {spec.role for spec in ROUTED.values()} == set(Role)


@pytest.mark.parametrize("function", sorted(ROUTED))
@pytest.mark.parametrize("role", [*Role, None])
def test_each_role_against_each_route(app: App, function: str, role: Role | None):
    """The route's own role passes the door (whatever the build's state then says); any other is a 403
    problem naming the role the route needs."""
    needed = ROUTED[function].role
    response = call(app, function, principal_headers("dana@contoso.com", [str(role)] if role else []))
    if role == needed:
        assert response.status not in (401, 403), response.json()
    else:
        assert response.status == 403 and response.mimetype == PROBLEM_JSON
        document = response.json()
        assert document["type"].endswith("role-required") and document["role"] == str(needed)
        assert str(needed) in document["title"] and "dana@contoso.com" in document["detail"]


@pytest.mark.parametrize("function", sorted(ROUTED))
def test_without_a_caller_every_route_is_a_401(app: App, function: str):
    response = call(app, function, {})
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["type"].endswith("sign-in-required")


@pytest.mark.parametrize("header", ["not base64!", "e30", "W10", "eyJjbGFpbXMiOiA1fQ", "eyJjbGFpbXMiOiBbXX0"])
def test_a_principal_that_is_not_the_platforms_is_a_401(app: App, header: str):
    """'{}', '[]', claims not a list, no object ID: refused, never half-read."""
    assert call(app, "list_builds", {"X-MS-CLIENT-PRINCIPAL": header}).status == 401


def test_the_history_says_who_submitted_cancelled_and_retried(app: App):
    alice = principal_headers("alice@contoso.com", ["Builds.Submit", "Builds.Read"])
    bob = principal_headers("bob@contoso.com", ["Builds.Operate"])
    submit = ApiRequest("POST", BASE, headers={"Content-Type": "application/json", **alice},
                        body=json.dumps(example(SEED)).encode())
    build_id = api.submit_build(app.runtime, submit).json()["id"]
    queued = api.get_build(app.runtime, ApiRequest("GET", f"{BASE}/{build_id}", route_params={"id": build_id},
                                                   headers=alice)).json()
    assert queued["status"] == "Queued" and queued["submittedBy"]["name"] == "alice@contoso.com"
    admit_queued(app)  # the worker's admission reads who queued this request from its queued row
    terminate = ApiRequest("POST", f"{BASE}/{build_id}/terminate", route_params={"id": build_id},
                           params={"reason": "wrong version"}, headers=bob)
    assert api.terminate_build(app.runtime, terminate).status == 202

    document = api.get_build(app.runtime, ApiRequest("GET", f"{BASE}/{build_id}", route_params={"id": build_id},
                                                     headers=alice)).json()
    assert document["submittedBy"] == {"kind": "user", "id": alice["X-MS-CLIENT-PRINCIPAL-ID"],
                                       "name": "alice@contoso.com"}
    assert document["cancelledBy"]["name"] == "bob@contoso.com"
    by_kind = {entry["kind"]: entry["detail"].get("by", {}).get("name") for entry in document["history"]}
    assert by_kind["Submitted"] == "alice@contoso.com" and by_kind["Cancelled"] == "bob@contoso.com"
    assert document["history"][0]["detail"]["origin"] == "http"
    event = completion_event(app.runtime.store.get(build_id)[0])
    assert event["data"]["submittedBy"]["name"] == "alice@contoso.com"
    assert event["data"]["cancelledBy"]["name"] == "bob@contoso.com"

    state, etag = app.runtime.store.get(build_id)
    app.runtime.store.save(Decision(state.replace(status=BuildStatus.FAILED)), etag)
    carol = principal_headers("carol@contoso.com", ["Builds.Operate"])
    retry = ApiRequest("POST", f"{BASE}/{build_id}/retry", route_params={"id": build_id}, headers=carol)
    assert api.retry_build(app.runtime, retry).status == 202
    retried = app.runtime.store.get(build_id)[0]
    assert retried.submitted_by["name"] == "carol@contoso.com" and retried.cancelled_by is None
    assert app.runtime.store.history(build_id)[-1].detail["by"]["name"] == "carol@contoso.com"


def test_a_request_dropped_on_the_queue_is_recorded_as_the_queue_message(app: App):
    build_id = app.put_request(copy.deepcopy(example(SEED)))
    [message] = request_queue(app).receive_messages()
    admit_request_message(app.runtime, message.content.encode(), message_id=message.id)
    [submitted] = app.runtime.store.history(build_id)[:1]
    assert submitted.detail["by"] == {"kind": "queue", "id": message.id, "name": "image-build-requests"}
    assert submitted.detail["origin"] == "queue"


def _call(method: str, url: str, body: object = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_local_worker_signs_requests_in_as_the_caller_it_is_given(app: App):
    with app.http_worker("--sign-in-as", "alice@contoso.com=Builds.Submit,Builds.Read") as base:
        status, body = _call("POST", f"{base}/builds", example("seed-cli-managed-image.json"))
        assert status == 202, body
        status, document = _call("GET", f"{base}/builds/{body['id']}")
        assert status == 202 and document["submittedBy"]["name"] == "alice@contoso.com"
        status, refused = _call("POST", f"{base}/builds/{body['id']}/terminate")
        assert status == 403 and refused["role"] == "Builds.Operate"
