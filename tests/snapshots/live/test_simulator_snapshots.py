"""The simulator's opt-in snapshot PUT: Creating, then Succeeded after `snapshot_seconds`, through the SDK."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient

from devstack.stack import SEED_WORLD
from simulator import Simulator

SUB = "00000000-0000-0000-0000-000000000000"
RG = "MyResourceGroup"
BODY = {"location": "West US", "tags": {"imageBuilder.template": "seed-linux"},
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": "/x"}, "osType": "Linux"}}


@pytest.fixture(scope="module")
def sim():
    with Simulator(SEED_WORLD, snapshot_seconds=0.6) as started:
        yield started


@pytest.fixture
def client(sim, monkeypatch):
    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    return ComputeManagementClient(DefaultAzureCredential(), SUB, base_url=sim.endpoint, connection_verify=sim.ca_file,
                                   credential_scopes=["https://management.azure.com/.default"])


def test_a_snapshot_put_is_creating_then_succeeded(sim, client):
    started = time.monotonic()
    client.snapshots.begin_create_or_update(RG, "snap-a", BODY, polling=False)
    first = client.snapshots.get(RG, "snap-a").as_dict()
    assert first["properties"]["provisioningState"] == "Creating"
    assert first["tags"] == {"imageBuilder.template": "seed-linux"} and first["location"] == "westus"
    assert first["properties"]["osType"] == "Linux"
    [put] = [r for r in sim.requests if r.method == "PUT" and r.path.endswith("/snap-a")]
    assert put.status == 202
    done = client.snapshots.begin_create_or_update(RG, "snap-b", BODY, polling_interval=0.1).result()
    assert done.provisioning_state == "Succeeded"
    assert time.monotonic() - started >= 0.6
    assert client.snapshots.get(RG, "snap-a").provisioning_state == "Succeeded"


def test_an_update_goes_through_updating(client):
    client.snapshots.begin_create_or_update(RG, "snap-c", BODY, polling_interval=0.1).result()
    client.snapshots.begin_create_or_update(RG, "snap-c", {**BODY, "tags": {"new": "tag"}}, polling=False)
    again = client.snapshots.get(RG, "snap-c")
    assert (again.provisioning_state, again.tags) == ("Updating", {"new": "tag"})


@pytest.mark.parametrize("body, code", [
    ({"properties": {"creationData": {"createOption": "Empty"}}}, "LocationRequired"),
    ({"location": "westus", "properties": {}}, "InvalidParameter"),
    ({**BODY, "tags": {"a/b": "c"}}, "InvalidTagNameCharacters"),
])
def test_invalid_snapshot_puts_are_refused_as_arm_does(client, body, code):
    with pytest.raises(HttpResponseError) as raised:
        client.snapshots.begin_create_or_update(RG, "snap-bad", body, polling=False)
    assert raised.value.status_code == 400 and raised.value.error.code == code
