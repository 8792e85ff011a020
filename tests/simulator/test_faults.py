"""Injected faults (throttling, 5xx, resets, slow answers) and the /_simulator/ admin endpoints."""

from __future__ import annotations

import time

import pytest
import requests

from simulator import Fault

from .helpers import COMPUTE, RG, SEED_TARGETS, raw, token, version_body

DES_PATH = f"{COMPUTE}/diskEncryptionSets/WestUSDiskEncryptionSet1"
VERSION_PATH = f"{COMPUTE}/galleries/MyGallery/images/MyImage/versions/5.0.0"


def test_429_carries_arm_throttling_headers_and_body(sim):
    sim.inject(Fault(method="PUT", path_regex=r"/versions/", status=429, headers={"Retry-After": "7"}))
    answer = raw(sim, "PUT", VERSION_PATH, token=token(sim), json=version_body(SEED_TARGETS))
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert (
        answer.headers["x-ms-ratelimit-remaining-resource"] == "Microsoft.Compute/CreateUpdateGalleryImageVersion3Min;0"
    )
    error = answer.json()["error"]
    assert error["code"] == "OperationNotAllowed"
    assert error["details"][0]["code"] == "TooManyRequests"
    assert sim.requests[-1].status == 429
    nothing_created = "5.0.0" not in str(sim.world_snapshot()["resources"])
    assert nothing_created


def test_fault_is_used_up_after_its_times(sim):
    sim.inject(Fault(path_regex="WestUSDiskEncryptionSet1", status=500, times=2))
    access = token(sim)
    statuses = [raw(sim, "GET", DES_PATH, token=access).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]


def test_500_body_is_an_arm_error(sim):
    sim.inject(
        Fault(
            path_regex="WestUSDiskEncryptionSet1",
            status=500,
            error_code="InternalExecutionError",
            message="An internal execution error occurred.",
        )
    )
    answer = raw(sim, "GET", DES_PATH, token=token(sim))
    assert answer.json() == {
        "error": {"code": "InternalExecutionError", "message": "An internal execution error occurred."}
    }
    assert answer.headers["x-ms-request-id"]


def test_sdk_retries_a_throttled_read_after_retry_after(sim, compute):
    sim.inject(
        Fault(
            method="GET",
            path_regex="/diskEncryptionSets/WestUSDiskEncryptionSet2$",
            status=429,
            headers={"Retry-After": "1"},
        )
    )
    before = sim.count("GET", "WestUSDiskEncryptionSet2")
    started = time.monotonic()
    des = compute.disk_encryption_sets.get(RG, "WestUSDiskEncryptionSet2")
    assert des.name == "WestUSDiskEncryptionSet2"
    assert time.monotonic() - started >= 1.0
    assert sim.count("GET", "WestUSDiskEncryptionSet2") == before + 2


def test_reset_connection_answers_nothing(sim):
    sim.inject(Fault(path_regex="WestUSDiskEncryptionSet1", reset_connection=True))
    with pytest.raises(requests.ConnectionError):
        raw(sim, "GET", DES_PATH, token=token(sim))
    assert sim.requests[-1].status == 0
    assert raw(sim, "GET", DES_PATH, token=token(sim)).status_code == 200


def test_delay_only_slows_the_normal_answer(sim):
    sim.inject(Fault(path_regex="WestUSDiskEncryptionSet1", delay_seconds=0.4))
    access = token(sim)
    started = time.monotonic()
    answer = raw(sim, "GET", DES_PATH, token=access)
    assert answer.status_code == 200 and time.monotonic() - started >= 0.4


def test_unlimited_fault_lasts_until_cleared(sim):
    sim.inject(Fault(method="GET", path_regex="WestUSDiskEncryptionSet1", status=503, times=None))
    access = token(sim)
    assert [raw(sim, "GET", DES_PATH, token=access).status_code for _ in range(3)] == [503, 503, 503]
    assert raw(sim, "PUT", DES_PATH, token=access, json={}).status_code == 405  # other methods unaffected
    sim.clear_faults()
    assert raw(sim, "GET", DES_PATH, token=access).status_code == 200


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"status": 200}, {"status": 500, "times": 0}, {"status": 500, "path_regex": "("}],
)
def test_fault_refuses_what_it_cannot_serve(kwargs):
    with pytest.raises(ValueError):
        Fault(**kwargs)


def test_count_filters_by_method_and_path(sim):
    access = token(sim)
    before_get, before_any = sim.count("GET", "westusdiskencryptionset1"), sim.count(path_contains="DiskEncryptionSet")
    raw(sim, "GET", DES_PATH, token=access)
    raw(sim, "GET", DES_PATH.replace("Set1", "Set2"), token=access)
    assert sim.count("GET", "westusdiskencryptionset1") == before_get + 1
    assert sim.count(path_contains="DiskEncryptionSet") == before_any + 2


def admin(sim, method: str, route: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{sim.endpoint}/_simulator/{route}", verify=sim.ca_file, timeout=10, **kwargs)


def test_admin_endpoints_drive_a_running_simulator(sim):
    created = admin(
        sim,
        "POST",
        "faults",
        json={
            "method": "GET",
            "path_regex": "WestUSDiskEncryptionSet1",
            "status": 429,
            "headers": {"Retry-After": "2"},
        },
    )
    assert created.status_code == 201
    assert [f["status"] for f in admin(sim, "GET", "faults").json()["value"]] == [429]
    throttled = raw(sim, "GET", DES_PATH, token=token(sim))
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "2")
    recorded = admin(sim, "GET", "requests").json()["value"]
    assert recorded[-1]["path"] == DES_PATH and recorded[-1]["status"] == 429
    assert not any(r["path"].startswith("/_simulator/") for r in recorded)
    admin(sim, "POST", "faults", json={"path_regex": "WestUSDiskEncryptionSet1", "status": 500, "times": None})
    assert admin(sim, "DELETE", "faults").status_code == 204
    assert raw(sim, "GET", DES_PATH, token=token(sim)).status_code == 200


def test_admin_fail_replication(sim, compute):
    assert admin(sim, "POST", "fail-replication", json={"region": "East US 2", "message": "quota"}).status_code == 204
    poller = compute.gallery_image_versions.begin_create_or_update(
        RG, "MyGallery", "MyImage", "5.1.0", version_body(SEED_TARGETS), polling_interval=0.1
    )
    with pytest.raises(Exception, match="quota"):
        poller.result()


def test_admin_rejects_bad_input(sim):
    bad = admin(sim, "POST", "faults", json={"status": 429, "colour": "red"})
    assert bad.status_code == 400 and "colour" in bad.json()["error"]["message"]
    assert admin(sim, "POST", "fail-replication", json={}).status_code == 400
    assert admin(sim, "GET", "nothing-here").status_code == 404
    assert "resources" in admin(sim, "GET", "world").json()
