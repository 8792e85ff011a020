"""Each route of the HTTP API called as the Functions host calls it (an `ApiRequest` built from a
`func.HttpRequest`), against Azurite: status codes, headers, problem documents, what is stored and queued."""

from __future__ import annotations

import contextlib
import copy
import json

import azure.functions as func
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from core.builds.state import BuildStatus
from core.builds.submissions import change_submission
from core.entry.functions import api_request
from core.entry.http import routes as api
from core.entry.http.messages import PROBLEM_JSON, ApiRequest
from core.request.change import change_to_dict, parse_change
from tests.support.live_app import App, example

SEED = "seed-cli-managed-image.json"
BASE = "https://img.example.net/api/builds"


def post(body: object, *, url: str = BASE, headers: dict[str, str] | None = None) -> ApiRequest:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api_request(func.HttpRequest("POST", url, headers=headers or {"Content-Type": "application/json"},
                                        params={}, route_params={}, body=data))


def get(url: str, **route_params: str) -> ApiRequest:
    _, _, query = url.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if part)
    return api_request(func.HttpRequest("GET", url, headers={}, params=params, route_params=route_params, body=b""))


def request_queue(app: App) -> QueueClient:
    queue = app.runtime.queues.get_queue_client(app.runtime.settings.request_queue)
    with contextlib.suppress(ResourceExistsError):
        queue.create_queue()
    return queue


def admit_queued(app: App) -> None:
    """What the build_request trigger does with every message on the request queue."""
    queue = request_queue(app)
    for message in queue.receive_messages():
        app.runtime.builds.handle_request_text(message.content, message_id=message.id)
        queue.delete_message(message)


def test_submit_answers_202_with_the_management_urls_and_the_build_is_queued_at_once(app: App):
    response = api.submit_build(app.runtime, post(example(SEED)))
    assert response.status == 202
    body = response.json()
    build_id = body["id"]
    assert body["status"] == "Queued" and body["outcome"] == "created"
    assert body["statusQueryGetUri"] == f"{BASE}/{build_id}" == response.headers["Location"]
    assert body["terminatePostUri"] == f"{BASE}/{build_id}/terminate?reason={{text}}"
    assert body["retryPostUri"] == f"{BASE}/{build_id}/retry"
    assert response.headers["Retry-After"] == "10"

    status = api.get_build(app.runtime, get(f"{BASE}/{build_id}", id=build_id))
    assert status.status == 202 and status.json()["status"] == "Queued"
    assert status.headers["Location"] == f"{BASE}/{build_id}"
    # The request went to the queue as written, for the build_request trigger.
    [message] = request_queue(app).peek_messages()
    assert json.loads(message.content) == example(SEED)


def test_the_function_key_is_carried_into_the_urls_as_durable_does(app: App):
    request = api_request(func.HttpRequest("POST", BASE + "?code=k3y", headers={}, params={"code": "k3y"},
                                           route_params={}, body=json.dumps(example(SEED)).encode()))
    body = api.submit_build(app.runtime, request).json()
    assert body["statusQueryGetUri"] == f"{BASE}/{body['id']}?code=k3y"
    assert body["terminatePostUri"] == f"{BASE}/{body['id']}/terminate?reason={{text}}&code=k3y"


def test_an_invalid_request_is_a_400_problem_listing_every_problem_and_nothing_is_queued(app: App):
    bad = copy.deepcopy(example(SEED))
    bad["version"] = "one"
    bad["replicaCount"] = 0
    bad["colour"] = "blue"
    response = api.submit_build(app.runtime, post(bad))
    assert response.status == 400 and response.mimetype == PROBLEM_JSON
    document = response.json()
    assert document["type"].endswith("request-invalid") and document["status"] == 400
    assert document["instance"] == "/api/builds"
    assert {error["field"] for error in document["errors"]} == {"version", "replicaCount", "colour"}
    assert all(error["message"] for error in document["errors"])
    assert request_queue(app).peek_messages() == []


def test_bodies_that_are_not_a_request_are_problems(app: App):
    not_json = api.submit_build(app.runtime, post(b"{nope"))
    assert not_json.status == 400 and "not valid JSON" in not_json.json()["errors"][0]["message"]
    xml = api.submit_build(app.runtime, post(b"<a/>", headers={"Content-Type": "application/xml"}))
    assert xml.status == 415 and xml.mimetype == PROBLEM_JSON
    huge = api.submit_build(app.runtime, post(b" " * 20000))
    assert huge.status == 413


def test_a_duplicate_is_200_and_says_so_and_a_conflict_is_409(app: App):
    first = api.submit_build(app.runtime, post(example(SEED))).json()
    admit_queued(app)
    again = api.submit_build(app.runtime, post(example(SEED)))
    assert again.status == 200
    assert again.json()["outcome"] == "duplicate" and again.json()["status"] == "Accepted"
    assert first["id"] in again.json()["detail"]
    changed = copy.deepcopy(example(SEED))
    changed["replicaCount"] = 3
    conflict = api.submit_build(app.runtime, post(changed))
    assert conflict.status == 409 and conflict.mimetype == PROBLEM_JSON
    assert "different request" in conflict.json()["detail"]
    assert request_queue(app).peek_messages() == []


def test_get_is_404_for_an_unknown_build_and_accepts_the_resource_id(app: App):
    missing = api.get_build(app.runtime, get(f"{BASE}/nope", id="nope"))
    assert missing.status == 404 and missing.mimetype == PROBLEM_JSON
    submitted = api.submit_build(app.runtime, post(example(SEED))).json()
    admit_queued(app)
    by_resource = api.get_build(app.runtime, get(f"{BASE}/x", id=submitted["resourceId"]))
    assert by_resource.status == 202 and by_resource.json()["buildId"] == submitted["id"]
    assert by_resource.json()["history"][0]["kind"] == "Submitted"
    short = api.get_build(app.runtime, get(f"{BASE}/{submitted['id']}?showHistory=false", id=submitted["id"]))
    assert "history" not in short.json()


def test_terminate_cancels_a_build_in_flight_then_410_and_retry_only_for_failed(app: App):
    build_id = api.submit_build(app.runtime, post(example(SEED))).json()["id"]
    not_yet = api.terminate_build(app.runtime, _with(build_id, f"{BASE}/{build_id}/terminate"))
    assert not_yet.status == 409
    admit_queued(app)
    cancel = api.terminate_build(app.runtime, _with(build_id, f"{BASE}/{build_id}/terminate?reason=no+longer+needed"))
    assert cancel.status == 202 and cancel.json()["status"] == "Cancelled"
    assert app.runtime.store.get(build_id)[0].error["message"] == "no longer needed"
    again = api.terminate_build(app.runtime, _with(build_id, f"{BASE}/{build_id}/terminate"))
    assert again.status == 410 and again.json()["buildStatus"] == "Cancelled"
    retry = api.retry_build(app.runtime, _with(build_id, f"{BASE}/{build_id}/retry"))
    assert retry.status == 409 and "submit the request again" in retry.json()["detail"]
    done = api.get_build(app.runtime, get(f"{BASE}/{build_id}", id=build_id))
    assert done.status == 200 and "Location" not in done.headers


def test_retry_starts_a_new_attempt_of_a_failed_build(app: App):
    build_id = api.submit_build(app.runtime, post(example(SEED))).json()["id"]
    admit_queued(app)
    state, etag = app.runtime.store.get(build_id)
    from core.engine.record import Decision

    failed = state.replace(status=BuildStatus.FAILED, error={"code": "X", "message": "boom"}, due_at=None)
    app.runtime.store.save(Decision(failed), etag)
    retry = api.retry_build(app.runtime, _with(build_id, f"{BASE}/{build_id}/retry"))
    assert retry.status == 202 and retry.json()["outcome"] == "restarted"
    state = app.runtime.store.get(build_id)[0]
    assert str(state.status) == "Accepted" and state.attempt == 2 and state.origin == "retry"


def test_list_filters_by_status_and_image_and_pages_with_a_continuation_token(app: App):
    ids = []
    for version in ("1.0.0", "1.0.1", "1.0.2"):
        request = copy.deepcopy(example(SEED))
        request["version"] = version
        ids.append(api.submit_build(app.runtime, post(request)).json()["id"])
    admit_queued(app)
    api.terminate_build(app.runtime, _with(ids[0], f"{BASE}/{ids[0]}/terminate"))

    everything = api.list_builds(app.runtime, get(BASE))
    assert everything.status == 200 and {d["buildId"] for d in everything.json()} == set(ids)
    assert all("history" not in d for d in everything.json())
    cancelled = api.list_builds(app.runtime, get(BASE + "?runtimeStatus=cancelled")).json()
    assert [d["buildId"] for d in cancelled] == [ids[0]]
    assert api.list_builds(app.runtime, get(BASE + "?image=OtherImage")).json() == []
    assert len(api.list_builds(app.runtime, get(BASE + "?image=MyImage")).json()) == 3

    seen, token, pages = [], None, 0
    while True:
        request = get(BASE + "?top=2")
        if token:
            request = ApiRequest("GET", request.url, params=request.params, headers={"x-ms-continuation-token": token})
        page = api.list_builds(app.runtime, request)
        pages += 1
        seen += [d["buildId"] for d in page.json()]
        token = page.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert sorted(seen) == sorted(ids) and pages == 2

    bad = api.list_builds(app.runtime, get(BASE + "?runtimeStatus=Done&top=0&createdTimeFrom=soon&colour=1"))
    assert bad.status == 400 and bad.mimetype == PROBLEM_JSON
    assert {e["field"] for e in bad.json()["errors"]} == {"runtimeStatus", "top", "createdTimeFrom", "colour"}


CHANGE = {"subscriptionId": "00000000-0000-0000-0000-000000000000", "resourceGroup": "MyResourceGroup",
          "galleryName": "MyGallery", "imageDefinition": "MyImage", "version": "1.0.0", "addRegions": "eastus2",
          "addRegionEncryption": "EastUS2DiskEncryptionSet1,0,EastUS2DiskEncryptionSet2"}


def test_a_change_of_regions_answers_as_a_submit_and_is_queued_at_once(app: App):
    """202 with the management URLs of its own build, `Queued` at once (its row written before the message),
    the canonical change on the request queue; the same change again is a 200 duplicate, nothing sent."""
    response = api.change_regions(app.runtime, post(CHANGE, url=BASE + "/change-regions"))
    assert response.status == 202, response.json()
    body = response.json()
    build_id = body["id"]
    canonical = change_to_dict(parse_change({"operation": "changeRegions", **CHANGE}))
    assert build_id == change_submission(canonical, body["resourceId"]).build_id
    assert body["resourceId"].endswith("/images/MyImage/versions/1.0.0")
    assert body["status"] == "Queued" and body["outcome"] == "created"
    assert body["statusQueryGetUri"] == f"{BASE}/{build_id}" == response.headers["Location"]
    assert body["terminatePostUri"] == f"{BASE}/{build_id}/terminate?reason={{text}}"
    assert body["retryPostUri"] == f"{BASE}/{build_id}/retry" and response.headers["Retry-After"] == "10"
    assert app.runtime.store.queued(build_id)["Origin"] == "http"

    status = api.get_build(app.runtime, get(f"{BASE}/{build_id}", id=build_id))
    assert status.status == 202 and status.json()["status"] == "Queued"
    assert status.json()["resourceId"] == body["resourceId"]
    [message] = request_queue(app).peek_messages()
    assert json.loads(message.content) == canonical

    admit_queued(app)
    assert str(app.runtime.store.get(build_id)[0].status) == "Accepted"
    again = api.change_regions(app.runtime, post({"operation": "changeRegions", **CHANGE},
                                                 url=BASE + "/change-regions"))
    assert again.status == 200 and again.json()["outcome"] == "duplicate" and again.json()["id"] == build_id
    assert request_queue(app).peek_messages() == []


def test_a_bad_change_of_regions_is_a_400_listing_every_problem_and_nothing_is_queued(app: App):
    url = BASE + "/change-regions"
    bad = {**CHANGE, "version": "one", "colour": "blue", "removeRegions": 5}
    response = api.change_regions(app.runtime, post(bad, url=url))
    assert response.status == 400 and response.mimetype == PROBLEM_JSON
    document = response.json()
    assert document["type"].endswith("request-invalid") and document["title"] == "The change of regions is invalid"
    assert document["instance"] == "/api/builds/change-regions"
    assert {error["field"] for error in document["errors"]} == {"version", "colour", "removeRegions"}
    assert all(error["message"] for error in document["errors"])
    assert api.change_regions(app.runtime, post(b"{nope", url=url)).status == 400
    assert api.change_regions(app.runtime, post(b"<a/>", url=url, headers={"Content-Type": "text/xml"})).status == 415
    assert api.change_regions(app.runtime, post(b" " * 20000, url=url)).status == 413
    assert request_queue(app).peek_messages() == []
    assert app.runtime.store.queued(change_submission(change_to_dict(parse_change(
        {"operation": "changeRegions", **CHANGE})), "").build_id) is None


def test_unreachable_storage_is_a_503_problem(app: App):
    app.stack.azurite.stop()
    response = api.get_build(app.runtime, get(f"{BASE}/abc", id="abc"))
    assert response.status == 503 and response.mimetype == PROBLEM_JSON
    assert "AzureWebJobsStorage" in response.json()["detail"]


def test_the_schema_is_served():
    response = api.request_schema(get("https://img.example.net/api/schemas/request-v1.json"))
    assert response.status == 200 and response.mimetype == "application/schema+json"
    assert response.json()["title"].startswith("CMK gallery image build request")


def _with(build_id: str, url: str) -> ApiRequest:
    _, _, query = url.partition("?")
    params = {k: v.replace("+", " ") for k, v in (p.split("=", 1) for p in query.split("&") if p)}
    return ApiRequest("POST", url, route_params={"id": build_id}, params=params)
