"""The ARM token goes to the configured ARM endpoint only: every SDK path is refused before it leaves.

A second HTTPS listener on another port, with a certificate the client trusts (its CA is in the same
bundle as the simulator's), records every request that reaches it. Without the guard the SDK would
follow a `nextLink`, a status URL or a redirect there with `Authorization: Bearer ...`.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from azure.core.exceptions import HttpResponseError

from core.azure.arm import Arm, UntrustedUrl, classify
from core.azure.settings import Settings
from simulator import Fault, Simulator

SEED = Path(__file__).resolve().parents[3] / "simulator" / "worlds" / "seed.json"
SUB = "00000000-0000-0000-0000-000000000000"
CREDENTIAL_ENV_PREFIXES = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_", "ARM_")

pytestmark = pytest.mark.integration


class Listener:
    """An HTTPS server on another port of 127.0.0.1 that records the headers of every request it gets."""

    def __init__(self, directory: Path) -> None:
        ca = trustme.CA(organization_name="foreign listener")
        self.ca_file = directory / "listener-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.received: list[dict[str, str]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                received.append(dict(self.headers))
                body = json.dumps({"value": [], "status": "Succeeded"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(SEED, replication_seconds=0.5) as simulator:
        yield simulator


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    foreign = Listener(tmp_path)
    yield foreign
    foreign.close()


@pytest.fixture
def arm(sim: Simulator, listener: Listener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Arm]:
    """The app's ARM clients, trusting both the simulator and the listener (so only the guard stands between)."""
    for name in list(os.environ):
        if name.startswith(CREDENTIAL_ENV_PREFIXES):
            monkeypatch.delenv(name)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(Path(sim.ca_file).read_text() + listener.ca_file.read_text())
    env = {**sim.env(), "ARM_CA_BUNDLE": str(bundle)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield Arm(Settings.from_env(env), SUB)
    sim.clear_faults()


def test_the_listener_is_reachable_and_trusted_so_the_guard_is_what_stops_the_token(arm, listener):
    import requests

    assert requests.get(listener.url + "/probe", verify=arm.settings.arm_ca_bundle, timeout=5).status_code == 200
    assert len(listener.received) == 1


def test_a_foreign_next_link_is_refused_and_the_token_never_reaches_it(sim, arm, listener):
    sim.inject(Fault(method="GET", path_regex=r"/images/MyImage/versions$", next_link=f"{listener.url}/page2"))
    pages = arm.compute.gallery_image_versions.list_by_gallery_image("MyResourceGroup", "MyGallery", "MyImage")
    with pytest.raises(UntrustedUrl) as raised:
        list(pages)
    assert listener.url.removeprefix("https://") in str(raised.value)
    assert listener.received == []
    assert sim.count("GET", "/images/MyImage/versions") >= 1  # the first page did come from ARM
    failure = classify(raised.value)
    assert (failure.transient, failure.code) == (False, "UntrustedUrl")


@pytest.mark.parametrize("client", ["resources", "features"])
def test_every_client_of_the_factory_has_the_guard(sim, arm, listener, client):
    sim.inject(Fault(method="GET", path_regex=r"/providers$|/features$", next_link=f"{listener.url}/page2"))
    pages = arm.resources.providers.list() if client == "resources" else arm.features.features.list_all()
    with pytest.raises(UntrustedUrl):
        list(pages)
    assert listener.received == []


def test_the_key_chain_clients_have_the_guard(sim, arm, listener):
    """The Key Vault and Authorization clients (the key chain reads) refuse a nextLink elsewhere, token unsent."""
    sim.inject(Fault(method="GET", path_regex=r"/roleAssignments$", next_link=f"{listener.url}/page2"))
    with pytest.raises(UntrustedUrl):
        list(arm.authorization.role_assignments.list_for_scope("subscriptions/00000000-0000-0000-0000-000000000000"))
    sim.inject(Fault(method="GET", path_regex=r"/vaults/westuskv$", status=302,
                     headers={"Location": f"{listener.url}/vaults/westuskv"}))
    with pytest.raises(HttpResponseError):
        arm.keyvault.vaults.get("MyResourceGroup", "westuskv")
    assert listener.received == []


@pytest.mark.parametrize("foreign", [
    "{listener}/status", "http://127.0.0.1:{port}/status", "https://user@{host}/status", "https://localhost:{port}/s",
    "https://[::1]:{port}/s", "https://2130706433:{port}/s", "https://127.1:{port}/s", "https://{host}\\@evil/s",
])
def test_an_operation_status_url_elsewhere_is_refused(sim, arm, listener, foreign):
    host = sim.endpoint.removeprefix("https://")
    url = foreign.format(listener=listener.url, host=host, port=host.rsplit(":", 1)[1])
    with pytest.raises(UntrustedUrl):
        arm.get_url(url)
    assert listener.received == []


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_not_followed(sim, arm, listener, status):
    sim.inject(Fault(method="GET", path_regex=r"/galleries/MyGallery$", status=status,
                     headers={"Location": f"{listener.url}/galleries/MyGallery"}))
    with pytest.raises(HttpResponseError) as raised:
        arm.compute.galleries.get("MyResourceGroup", "MyGallery")
    assert raised.value.status_code == status
    assert listener.received == []
    assert classify(raised.value).transient is False


def test_a_redirect_to_arm_itself_is_not_followed_either(sim, arm, listener):
    sim.inject(Fault(method="GET", path_regex=r"/galleries/MyGallery$", status=307,
                     headers={"Location": f"{sim.endpoint}/subscriptions/{SUB}/resourceGroups/MyResourceGroup/"
                                          "providers/Microsoft.Compute/galleries/MyGallery?api-version=2026-03-03"}))
    with pytest.raises(HttpResponseError):
        arm.compute.galleries.get("MyResourceGroup", "MyGallery")
    assert arm.compute.galleries.get("MyResourceGroup", "MyGallery").name == "MyGallery"


def test_the_audit_command_through_a_foreign_next_link_reports_the_gallery_unread(sim, arm, listener):
    """`python -m core audit` lists versions with paging: the foreign page is refused, the gallery reported.
    (The audit is a record of the app's storage, and its reads are paced by the budget kept there.)"""

    from devstack.azurite import Azurite

    azurite = Azurite()
    azurite.start()
    try:
        _audit_through_a_foreign_next_link(sim, listener, azurite.connection_string)
    finally:
        azurite.stop()


def _audit_through_a_foreign_next_link(sim: Simulator, listener: Listener, storage: str) -> None:
    import subprocess
    import sys

    gallery = f"/subscriptions/{SUB}/resourceGroups/MyResourceGroup/providers/Microsoft.Compute/galleries/MyGallery"
    sim.inject(Fault(method="GET", path_regex=r"/images/MyImage/versions$", next_link=f"{listener.url}/page2",
                     times=None))
    env = {**os.environ, "AzureWebJobsStorage": storage, "AUDIT_GALLERIES": gallery}
    done = subprocess.run([sys.executable, "-m", "core", "audit", "--no-record"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=Path(__file__).resolve().parents[3])
    assert done.returncode != 0
    assert "not audited" in done.stderr and listener.url.removeprefix("https://") in done.stderr
    assert "Traceback" not in done.stderr
    assert listener.received == []
