"""The clients read proxy settings from the environment only when a proxy is configured."""

from __future__ import annotations

import pytest

from core.azure.storage import queue_service, table_service
from core.azure.transport import environment_options


def test_no_proxy_variables_mean_no_environment_reads():
    assert environment_options({"PATH": "/bin", "WEBSITE_SITE_NAME": "app"}) == {"use_env_settings": False}


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "no_proxy"])
def test_a_proxy_variable_leaves_the_transport_reading_the_environment(name: str):
    assert environment_options({name: "http://proxy:3128", "REQUESTS_CA_BUNDLE": "/ca.pem"}) == {}


def test_an_empty_proxy_variable_is_no_proxy():
    assert environment_options({"HTTPS_PROXY": ""}) == {"use_env_settings": False}


def test_the_environments_ca_bundle_is_passed_as_requests_would_use_it():
    both = {"REQUESTS_CA_BUNDLE": "/requests.pem", "CURL_CA_BUNDLE": "/curl.pem"}
    assert environment_options(both) == {"use_env_settings": False, "connection_verify": "/requests.pem"}
    assert environment_options({"CURL_CA_BUNDLE": "/curl.pem"})["connection_verify"] == "/curl.pem"


def _transport(client: object) -> object:
    inner = client._client  # type: ignore[attr-defined]
    pipeline = inner._client._pipeline if hasattr(inner, "_client") else inner._pipeline
    transport = pipeline._transport
    while hasattr(transport, "_transport"):  # the storage SDKs wrap it
        transport = transport._transport
    return transport


def test_the_storage_clients_are_built_with_the_options(monkeypatch: pytest.MonkeyPatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    env = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    for client in (queue_service(env), table_service(env)):
        assert _transport(client)._use_env_settings is False  # type: ignore[attr-defined]
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    for client in (queue_service(env), table_service(env)):
        assert _transport(client)._use_env_settings is True  # type: ignore[attr-defined]


def test_the_arm_clients_are_built_with_the_options_and_arm_ca_bundle_wins(monkeypatch: pytest.MonkeyPatch):
    from core.azure.arm import Arm
    from core.azure.settings import Settings

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/requests.pem")
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    arm = Arm(Settings.from_env({}), "00000000-0000-0000-0000-000000000000", credential=object())  # type: ignore[arg-type]
    transport = arm.compute._client._pipeline._transport
    assert transport._use_env_settings is False and transport.connection_config.verify == "/requests.pem"
    arm.settings = Settings.from_env({"ARM_CA_BUNDLE": __file__})
    transport = arm.resources._client._pipeline._transport
    assert transport.connection_config.verify == __file__
