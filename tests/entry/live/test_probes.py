"""The hostile probe of issue 21, one test per finding: each failed on the code before the fix.

Links from the request's Host, the caller's key in them; a 202 followed by a size rejection and the request
lost; 500s from list parameters; unsigned, unbounded continuation tokens; client errors reported as storage
outages after seconds of retries; an unbounded reason; Content-Type by substring; two storage reads per build
in a listing; principal headers trusted where nothing strips them."""

from __future__ import annotations

import base64
import copy
import json
import socket
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from core.app import runtime as app_runtime
from core.app.callers import ApiSettings
from core.azure.settings import SettingsError
from core.builds.state import BuildState, BuildStatus
from core.builds.submissions import MAX_REQUEST_BYTES, message_bytes
from core.entry.http import routes as api
from core.entry.http.messages import PROBLEM_JSON, ApiRequest
from devstack.localworker.sign_in import principal_headers
from tests.entry.live.test_http_routes import SEED, admit_queued, request_queue
from tests.support.live_app import App, example

ORIGIN = "https://img.example.net"
BASE = ORIGIN + "/api/builds"
pytestmark = pytest.mark.app_settings(API_BASE_URL=ORIGIN)
JSON = {"Content-Type": "application/json"}


def post(url: str, body: bytes, headers: dict[str, str] | None = None, **params: str) -> ApiRequest:
    return ApiRequest("POST", url, params=params, headers=JSON if headers is None else headers, body=body)


def listing(**params: str) -> ApiRequest:
    return ApiRequest("GET", BASE, params=params)


def problem_fields(response: Any) -> set[str]:
    assert response.mimetype == PROBLEM_JSON, response.body
    return {error["field"] for error in response.json().get("errors", [])}


# --- links ----------------------------------------------------------------------------------------------------

def test_links_come_from_the_configured_origin_never_the_host_header_nor_with_the_key(app: App):
    """Before: `Host: evil.example` gave `Location: http://evil.example:443/...?code=<key>`."""
    request = post("http://evil.example:443/api/builds?code=s3cr3t", json.dumps(example(SEED)).encode(),
                   headers={**JSON, "Host": "evil.example"}, code="s3cr3t")
    response = api.submit_build(app.runtime, request)
    assert response.status == 202
    assert response.headers["Location"] == f"{BASE}/{response.json()['id']}"
    assert "evil" not in response.body.decode() and "s3cr3t" not in response.body.decode()


def test_the_local_host_builds_links_from_its_own_address_not_the_clients_host(app: App):
    with app.http_worker() as base:
        port = int(base.split(":")[2].split("/")[0])
        body = json.dumps(example(SEED)).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(b"POST /api/builds?code=k3y HTTP/1.0\r\nHost: evil.example\r\nContent-Type: "
                               b"application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.0 202")
    [location] = [line for line in head.split("\r\n") if line.lower().startswith("location:")]
    assert location.split(": ", 1)[1].startswith(ORIGIN + "/api/builds/")  # API_BASE_URL is configured
    assert "evil" not in answer.decode() and "k3y" not in answer.decode()


def test_without_a_configured_origin_links_use_the_platforms_host_name_or_are_paths():
    assert ApiSettings.from_env({"WEBSITE_HOSTNAME": "cmk.azurewebsites.net"}).base_url == "https://cmk.azurewebsites.net"
    assert ApiSettings.from_env({"WEBSITE_HOSTNAME": "localhost:7071"}).base_url == "http://localhost:7071"
    assert ApiSettings.from_env({}).base_url == ""
    with pytest.raises(SettingsError, match="API_BASE_URL"):
        ApiSettings.from_env({"API_BASE_URL": "https://x.example/api?code=1"})


# --- 202, then rejected --------------------------------------------------------------------------------------

def _cjk_request(target_bytes: int) -> bytes:
    request = copy.deepcopy(example(SEED))
    request["tags"] = {}
    body = json.dumps(request, ensure_ascii=False).encode()
    index = 0
    while len(body) < target_bytes - 200:
        request["tags"][f"说明{index}"] = "加密镜像版本" * 40
        body = json.dumps(request, ensure_ascii=False).encode()
        index += 1
    return body


def test_a_cjk_request_that_gets_a_202_is_admitted_not_rejected_for_its_size(app: App):
    """Before: 15,200 bytes of CJK tag values passed the 16 KiB check, got 202, and the worker rejected them as
    "29600 bytes" because the API re-serialised them with ASCII escapes; the request was lost."""
    body = _cjk_request(15200)
    assert 15000 < len(body) < MAX_REQUEST_BYTES < len(json.dumps(json.loads(body)).encode())
    response = api.submit_build(app.runtime, post(BASE, body))
    assert response.status == 202, response.json()
    [message] = request_queue(app).peek_messages()
    assert message_bytes(message.content) == len(body)  # sent as received
    admit_queued(app)
    state = app.runtime.store.get(response.json()["id"])[0]
    assert state.status is BuildStatus.ACCEPTED and state.problems == []
    assert state.request["tags"] == json.loads(body)["tags"]


def test_a_body_too_large_as_the_worker_counts_it_is_a_413_at_once(app: App):
    body = _cjk_request(MAX_REQUEST_BYTES + 600)
    response = api.submit_build(app.runtime, post(BASE, body))
    assert response.status == 413 and str(len(body)) in response.json()["detail"]
    assert request_queue(app).peek_messages() == []


def test_a_request_the_worker_rejects_is_kept_with_its_build(app: App):
    """A request put on the queue by hand, over the limit: Rejected, and its request kept for a fix and a retry."""
    request = copy.deepcopy(example(SEED))
    request["tags"] = {f"t{n}-" + "n" * 120: "v" * 256 for n in range(45)}
    text = json.dumps(request)
    assert MAX_REQUEST_BYTES < len(text) < 24 * 1024
    state = app.runtime.builds.handle_request_text(text, message_id="m1").decision.state
    assert state.status is BuildStatus.REJECTED and state.request == request
    assert [p["message"] for p in state.problems] == [f"request is {len(text)} bytes; the limit is {MAX_REQUEST_BYTES}"]
    assert app.runtime.store.get(state.build_id)[0].request == request  # stored with its build


# --- list parameters -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "field"), [
    ({"top": "²"}, "top"),
    ({"top": "\u0661\u0660"}, "top"),  # Arabic-Indic digits: isdigit() says yes
    ({"createdTimeFrom": "9999-12-31T23:59:59-01:00"}, "createdTimeFrom"),
    ({"createdTimeTo": "0001-01-01T00:00:00+01:00"}, "createdTimeTo"),
    ({"image": "x" * 5000}, "image"),
])
def test_list_parameters_that_were_500s_are_400s_naming_the_parameter(app: App, params: dict[str, str], field: str):
    response = api.list_builds(app.runtime, listing(**params))
    assert response.status == 400 and problem_fields(response) == {field}


def _token(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize("token", [
    _token({"PartitionKey": "\ud800", "RowKey": "state"}),  # a lone surrogate: a 500 before
    _token({"PartitionKey": "a" * 30000, "RowKey": "state"}),  # 30 KB: a 503 "Storage is not reachable" before
    _token({"x": "y"}),  # any dict of strings was accepted
    _token({"PartitionKey": "a", "RowKey": "state", "TableName": "other"}),
    _token(["PartitionKey"]),
    "%%%",
])
def test_a_continuation_token_this_api_did_not_return_is_a_400(app: App, token: str):
    request = ApiRequest("GET", BASE, headers={"x-ms-continuation-token": token})
    response = api.list_builds(app.runtime, request)
    assert response.status == 400 and problem_fields(response) == {"x-ms-continuation-token"}


# --- client errors are not outages ---------------------------------------------------------------------------

@pytest.fixture
def counted(app: App) -> Iterator[tuple[App, list[str]]]:
    """The app with every storage request its runtime sends (each try) counted."""
    sent: list[str] = []
    app.runtime = app_runtime.build_runtime(app.env, storage_options={
        "raw_request_hook": lambda request: sent.append(f"{request.http_request.method} {request.http_request.url}")})
    yield app, sent


@pytest.mark.parametrize("route", ["get", "terminate", "retry"])
def test_an_id_that_cannot_be_a_table_key_is_a_404_without_a_storage_call(counted: tuple[App, list[str]], route: str):
    """Before: 4.8 s of storage retries, then 503, because store.queued() skipped the table-key check."""
    app, sent = counted
    reference = "../../builds"
    request = ApiRequest("GET" if route == "get" else "POST", f"{BASE}/..%2F..%2Fbuilds/{route}",
                         route_params={"id": reference})
    handler = {"get": api.get_build, "terminate": api.terminate_build, "retry": api.retry_build}[route]
    response = handler(app.runtime, request)
    assert response.status == 404 and response.json()["type"].endswith("build-not-found")
    assert sent == []


def _failing_runtime(error: Exception) -> Any:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    store = SimpleNamespace(get=fail, queued=fail, history=fail)
    return SimpleNamespace(api=ApiSettings(base_url=ORIGIN), store=store,
                           settings=SimpleNamespace(storage_connection="AzureWebJobsStorage"))


@pytest.mark.parametrize(("status", "answer"), [(400, 400), (404, 404), (409, 409), (412, 409), (413, 400)])
def test_a_storage_4xx_is_the_callers_4xx(status: int, answer: int):
    error = HttpResponseError(message="refused", response=SimpleNamespace(status_code=status, reason="x",
                                                                          headers={}, text=lambda: ""))
    error.status_code = status
    response = api.get_build(_failing_runtime(error), ApiRequest("GET", f"{BASE}/abc", route_params={"id": "abc"}))
    assert response.status == answer and response.json()["type"].endswith("storage-refused")


def test_only_a_storage_outage_is_a_503():
    error = HttpResponseError(message="busy")
    error.status_code = 503
    response = api.get_build(_failing_runtime(error), ApiRequest("GET", f"{BASE}/abc", route_params={"id": "abc"}))
    assert response.status == 503 and response.json()["type"].endswith("storage-unavailable")


# --- reason and Content-Type ---------------------------------------------------------------------------------

@pytest.mark.parametrize("reason", ["x" * 501, "line\nbreak", "nul\x00"])
def test_a_reason_that_is_too_long_or_not_printable_is_a_400(app: App, reason: str):
    request = ApiRequest("POST", f"{BASE}/abc/terminate", route_params={"id": "abc"}, params={"reason": reason})
    response = api.terminate_build(app.runtime, request)
    assert response.status == 400 and problem_fields(response) == {"reason"}


@pytest.mark.parametrize(("content_type", "status"), [
    ("text/plain; charset=json", 415),  # accepted before: "json" was a substring
    ("text/json", 415),
    ("application/jsonx", 415),
    ("application/x-www-form-urlencoded", 415),
    ("", 415),
    ("application/json", 202),
    ("Application/JSON; charset=UTF-8", 202),
    ('application/json; charset="utf-8"', 202),
    ("application/vnd.cmk.build+json", 202),
])
def test_only_json_media_types_are_accepted(app: App, content_type: str, status: int):
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.submit_build(app.runtime, post(BASE, json.dumps(example(SEED)).encode(), headers=headers))
    assert response.status == status, response.json()


# --- listing cost --------------------------------------------------------------------------------------------

def test_a_page_of_1000_builds_costs_a_bounded_number_of_storage_calls(counted: tuple[App, list[str]]):
    """Before: two reads per build (state and queued row), about 2,000 sequential calls for top=1000."""
    app, sent = counted
    version = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute" \
              "/galleries/g/images/MyImage/versions/1.0.{}"
    table = app.runtime.store.table
    app.runtime.store.ensure_table()
    for n in range(1000):
        state = BuildState(f"{n:024x}", version.format(n), BuildStatus.FAILED, "2026-12-01T00:00:00.000Z",
                           f"2026-12-01T00:{n // 60 % 60:02d}:{n % 60:02d}.000Z")
        table.create_entity({"PartitionKey": state.build_id, "RowKey": "state", "Workflow": "build",
                             "Status": "Failed", "Terminal": True, "ResourceId": state.resource_id, "DueAt": "",
                             "LeaseUntil": "", "UpdatedAt": state.updated_at,
                             "State": json.dumps(state.to_dict())})
    app.runtime.store.put_queued(f"{7:024x}", version.format(7), at="2026-12-02T00:00:00.000Z", origin="http")
    sent.clear()
    page = api.list_builds(app.runtime, listing(top="1000", runtimeStatus="Failed"))
    assert page.status == 200 and len(page.json()) == 1000
    assert len(sent) <= 3, sent  # the page query and one query of the queued rows in its key range
    assert {d["buildId"]: d["status"] for d in page.json()}[f"{7:024x}"] == "Queued"  # a new attempt on its way


# --- sign-in settings ----------------------------------------------------------------------------------------

def test_principal_headers_are_ignored_when_nothing_strips_them(app: App):
    """With function keys (sign-in off) anyone can send X-MS-CLIENT-PRINCIPAL: it names nobody."""
    forged = principal_headers("ceo@contoso.com", ["Builds.Submit"])
    response = api.submit_build(app.runtime, post(BASE, json.dumps(example(SEED)).encode(), headers={**JSON, **forged}))
    assert response.status == 202
    assert app.runtime.store.queued(response.json()["id"])["By"] == json.dumps(
        {"kind": "function-key", "id": "", "name": "function key holder"}, separators=(",", ":"))


def test_sign_in_without_the_platform_in_front_is_a_configuration_error():
    with pytest.raises(SettingsError, match="WEBSITE_AUTH_ENABLED"):
        ApiSettings.from_env({"API_AUTH": "entra"})
    with pytest.raises(SettingsError, match="API_AUTH"):
        ApiSettings.from_env({"API_AUTH": "aad"})
    assert ApiSettings.from_env({"API_AUTH": "entra", "WEBSITE_AUTH_ENABLED": "True"}).sign_in

