"""Discovery of functions and bindings, HTTP route templates, connection resolution, payload decoding."""

from __future__ import annotations

import base64
import importlib.util
from datetime import UTC, datetime
from types import ModuleType

import azure.functions as func
import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from devstack.azurite import PROJECT_ROOT
from devstack.localworker.connections import queue_service_client
from devstack.localworker.discovery import (
    EventGridFunction,
    HttpFunction,
    QueueFunction,
    TimerFunction,
    discover,
    load_app,
)
from devstack.localworker.errors import WorkerConfigError
from devstack.localworker.eventgrid import BadEventPayload, event_list, to_event, validation_code
from devstack.localworker.messages import UndecodableMessage, decode_body
from devstack.localworker.routes import compile_route
from tests.devstack.localworker.apps import Recorder, build_app

SETTINGS = {"TINY_QUEUE": "Orders-In", "TINY_SCHEDULE": "0 */5 * * * *"}


def module_with(*apps: object) -> ModuleType:
    module = ModuleType("probe")
    for index, app in enumerate(apps):
        setattr(module, f"app{index}", app)
    return module


def test_discovery_reads_every_trigger_of_the_tiny_app():
    found = discover(build_app(Recorder()), SETTINGS, zone=UTC)
    assert found.problems == []
    [queue] = found.of_type(QueueFunction)
    assert (queue.name, queue.arg_name, queue.queue_name, queue.connection) == (
        "work",
        "msg",
        "orders-in",
        "TinyStorage",
    )
    [timer] = found.of_type(TimerFunction)
    assert (timer.schedule_text, timer.run_on_startup) == ("0 */5 * * * *", False)
    http = {f.name: f for f in found.of_type(HttpFunction)}
    assert http["item"].methods == {"GET", "POST"} and http["item"].auth_level == "function"
    assert http["boom"].auth_level == "anonymous"
    [grid] = found.of_type(EventGridFunction)
    assert grid.arg_name == "event"


def test_discovery_reads_the_real_function_app():
    """The project's function_app.py indexes with no problem (its bindings are served as written)."""
    # A private copy of the module: its FunctionApp can be indexed only once per instance.
    spec = importlib.util.spec_from_file_location("function_app_copy", PROJECT_ROOT / "function_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = discover(module, {"AUDIT_SCHEDULE": "0 0 6 * * *"}, zone=UTC)
    assert found.problems == []
    assert {f.queue_name for f in found.of_type(QueueFunction)} >= {"image-build-requests"}


def test_missing_setting_and_disabled_functions_are_skipped_with_a_reason():
    env = {"TINY_SCHEDULE": "0 */5 * * * *", "AzureWebJobs.item.Disabled": "true"}
    found = discover(build_app(Recorder()), env, zone=UTC)
    names = {f.name for f in found.functions}
    assert "work" not in names and "item" not in names and "tick" in names
    assert any("'work' skipped" in p and "app setting 'TINY_QUEUE'" in p for p in found.problems)
    assert any("AzureWebJobs.item.Disabled" in p for p in found.problems)


def test_unsupported_triggers_and_bindings_are_reported_and_skipped():
    app = func.FunctionApp()

    @app.service_bus_queue_trigger(arg_name="m", queue_name="q", connection="SB")
    def on_bus(m: func.ServiceBusMessage) -> None: ...

    @app.queue_trigger(arg_name="m", queue_name="in-queue", connection="S")
    @app.queue_output(arg_name="out", queue_name="out-queue", connection="S")
    def relay(m: func.QueueMessage, out: func.Out[str]) -> None: ...

    @app.queue_trigger(arg_name="m", queue_name="Bad_Name", connection="S")
    def bad_name(m: func.QueueMessage) -> None: ...

    found = discover(module_with(app), {}, zone=UTC)
    assert found.functions == []
    text = "\n".join(found.problems)
    assert "'on_bus' skipped: trigger type 'serviceBusTrigger' is not supported" in text
    assert "'relay' skipped: binding type(s) queue are not supported" in text
    assert "'bad_name' skipped: queueName 'bad_name' is not a valid queue name" in text


def test_the_app_module_must_hold_exactly_one_function_app():
    with pytest.raises(WorkerConfigError, match=r"defines no azure\.functions\.FunctionApp"):
        load_app(module_with())
    with pytest.raises(WorkerConfigError, match="defines 2 FunctionApp instances"):
        load_app(module_with(func.FunctionApp(), func.FunctionApp()))
    with pytest.raises(WorkerConfigError, match="app module 'no_such_app_module' not found"):
        load_app("no_such_app_module")


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("builds/{id}", "builds/42", {"id": "42"}),
        ("builds/{id}", "BUILDS/a%20b/", {"id": "a b"}),
        ("builds/{id}", "builds", None),
        ("builds/{id}", "builds/1/2", None),
        ("items/{id:int}", "items/-5", {"id": "-5"}),
        ("items/{id:int}", "items/x", None),
        (
            "items/{id:guid}",
            "items/0f8fad5b-d9cb-469f-a165-70867728950e",
            {"id": "0f8fad5b-d9cb-469f-a165-70867728950e"},
        ),
        ("items/{id?}", "items", {}),
        ("items/{page=1}", "items", {"page": "1"}),
        ("files/{*rest}", "files/a/b/c", {"rest": "a/b/c"}),
        ("files/{name}.{ext}", "files/report.tar.gz", {"name": "report.tar", "ext": "gz"}),
    ],
)
def test_route_templates(template, path, expected):
    assert compile_route(template).match(path) == expected


def test_route_precedence_and_unenforced_constraints():
    literal, parameter, catch_all = compile_route("a/b"), compile_route("a/{x}"), compile_route("{*all}")
    ordered = sorted([catch_all, parameter, literal], key=lambda r: r.precedence)
    assert ordered == [literal, parameter, catch_all]
    assert compile_route("u/{name:minlength(3)}").unenforced == ("{name:minlength(3)}",)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("a//b", "empty segment"),
        ("{*rest}/more", "must be the last segment"),
        ("{x}/{x}", "twice"),
        ("{1x}", "not a parameter"),
    ],
)
def test_bad_routes(template, message):
    with pytest.raises(WorkerConfigError, match=message):
        compile_route(template)


AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
)


def test_connection_string_by_name_and_legacy_prefix():
    assert queue_service_client("Storage", env={"Storage": AZURITE}).account_name == "devstoreaccount1"
    assert queue_service_client("Storage", env={"AzureWebJobsStorage": AZURITE}).url.startswith(
        "http://127.0.0.1:10001"
    )
    assert queue_service_client("", env={"AzureWebJobsStorage": "UseDevelopmentStorage=true"}).url.startswith(
        "http://127.0.0.1:10001/devstoreaccount1"
    )


def test_identity_based_connections():
    client = queue_service_client("Q", env={"Q__accountName": "acct"})
    assert client.url.startswith("https://acct.queue.core.windows.net")
    assert isinstance(client.credential, DefaultAzureCredential)
    client = queue_service_client(
        "Q",
        env={
            "Q__queueServiceUri": "https://x.example/",
            "Q__credential": "managedidentity",
            "Q__clientId": "c1",
        },
    )
    assert client.url.startswith("https://x.example")
    assert isinstance(client.credential, ManagedIdentityCredential)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "storage connection 'Q' is not configured: set Q to a connection string"),
        ({"Q__queueServiceUri": "http://x/"}, "must be an https:// URL"),
        ({"Q__accountName": "a", "Q__credential": "password"}, "Q__credential='password' is not supported"),
    ],
)
def test_connection_errors_name_the_setting(env, message):
    with pytest.raises(WorkerConfigError, match=message):
        queue_service_client("Q", env=env)


def test_decode_body():
    assert decode_body(base64.b64encode(b"\x00\x01").decode(), "base64") == b"\x00\x01"
    assert decode_body("aGk=", "none") == b"aGk="
    assert decode_body(None, "base64") == b""
    with pytest.raises(UndecodableMessage, match="set messageEncoding to 'none'"):
        decode_body("{not base64}", "base64")


def test_event_grid_and_cloud_events_payloads():
    grid = to_event(
        {"id": "1", "eventType": "T", "topic": "top", "subject": "s", "eventTime": "2024-05-01T10:00:00.1234567Z",
         "data": {"a": 1}, "dataVersion": "2"}
    )  # fmt: skip
    assert (grid.id, grid.event_type, grid.topic, grid.subject, grid.data_version) == (
        "1",
        "T",
        "top",
        "s",
        "2",
    )
    assert grid.event_time == datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert grid.get_json() == {"a": 1}
    cloud = to_event(
        {"specversion": "1.0", "id": "2", "type": "C", "source": "/src", "time": "2024-05-01T10:00:00Z"}
    )
    assert (cloud.event_type, cloud.topic) == ("C", "/src")
    assert len(event_list({"id": "x"})) == 1
    with pytest.raises(BadEventPayload, match=r"\[0\]\.eventType is required"):
        to_event({"id": "1"})
    with pytest.raises(BadEventPayload, match="validationCode is required"):
        validation_code([{"data": {}}])
    with pytest.raises(BadEventPayload, match=r"\[1\] must be a JSON object"):
        event_list([{}, "text"])
