"""Image version PUT/GET/DELETE as long-running operations, with per-region replication progress."""

from __future__ import annotations

import itertools
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from .helpers import COMPUTE, RG, SEED_TARGETS, SUB, raw, region, token, version_body

_versions = itertools.count(1)


def fresh_version() -> str:
    """A version name no other test uses (the session simulator keeps every version created)."""
    return f"1.{next(_versions)}.0"


def put(sim, version: str, body: dict) -> object:
    path = f"{COMPUTE}/galleries/MyGallery/images/MyImage/versions/{version}"
    return raw(sim, "PUT", path, token=token(sim), json=body)


def test_put_answers_201_creating_with_only_an_async_operation_header(sim):
    version = fresh_version()
    answer = put(sim, version, version_body(SEED_TARGETS))
    assert answer.status_code == 201
    assert "Location" not in answer.headers
    operation_url = answer.headers["Azure-AsyncOperation"]
    assert operation_url.startswith(f"{sim.endpoint}/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westus/")
    assert "/capsOperations/" in operation_url and "api-version=2026-03-03" in operation_url
    assert "CreateUpdateGalleryImageVersion3Min" in answer.headers["x-ms-ratelimit-remaining-resource"]
    body = answer.json()
    assert body["properties"]["provisioningState"] == "Creating"
    assert [t["name"] for t in body["properties"]["publishingProfile"]["targetRegions"]] == ["West US", "East US 2"]
    assert body["id"].endswith(f"/galleries/MyGallery/images/MyImage/versions/{version}")


def test_operation_status_goes_in_progress_then_succeeded(sim, monkeypatch):
    monkeypatch.setattr(sim.settings, "replication_seconds", 1.5)  # room for a slow machine between calls
    answer = put(sim, fresh_version(), version_body(SEED_TARGETS))
    operation_url = answer.headers["Azure-AsyncOperation"]
    first = raw(sim, "GET", operation_url.removeprefix(sim.endpoint).split("?")[0], token=token(sim)).json()
    assert first["status"] == "InProgress" and "endTime" not in first
    assert set(first) == {"name", "startTime", "status"}
    time.sleep(sim.settings.replication_seconds + 0.1)
    done = raw(sim, "GET", operation_url.removeprefix(sim.endpoint).split("?")[0], token=token(sim)).json()
    assert done["status"] == "Succeeded" and done["endTime"] >= done["startTime"]
    assert done["name"] == first["name"]


def test_sdk_create_watches_replication_progress_then_succeeds(sim, compute):
    version = fresh_version()
    poller = compute.gallery_image_versions.begin_create_or_update(
        RG, "MyGallery", "MyImage", version, version_body(SEED_TARGETS), polling_interval=0.1
    )
    seen: list[tuple[str, int]] = []
    while True:
        current = compute.gallery_image_versions.get(RG, "MyGallery", "MyImage", version, expand="ReplicationStatus")
        status = current.replication_status
        seen.extend((s.state, s.progress) for s in status.summary)
        if status.aggregated_state != "InProgress":
            break
        assert current.provisioning_state == "Creating"
        time.sleep(0.1)
    assert ("Replicating", 0) in seen or any(state == "Replicating" and 0 < p < 100 for state, p in seen)
    assert status.aggregated_state == "Completed"
    assert {(s.region, s.state, s.progress) for s in status.summary} == {
        ("West US", "Completed", 100),
        ("East US 2", "Completed", 100),
    }
    result = poller.result()
    assert result.provisioning_state == "Succeeded"
    west = result.publishing_profile.target_regions[0]
    assert west.regional_replica_count == 2
    assert west.encryption.data_disk_images[0].lun == 0
    assert [d.lun for d in result.storage_profile.data_disk_images] == [0]


def test_get_without_expand_has_no_replication_status(sim, compute):
    version = fresh_version()
    compute.gallery_image_versions.begin_create_or_update(
        RG, "MyGallery", "MyImage", version, version_body(SEED_TARGETS), polling_interval=0.1
    ).result()
    plain = compute.gallery_image_versions.get(RG, "MyGallery", "MyImage", version)
    assert plain.replication_status is None
    listed = [v.name for v in compute.gallery_image_versions.list_by_gallery_image(RG, "MyGallery", "MyImage")]
    assert version in listed


def test_put_while_creating_is_409_operation_not_allowed(sim, compute, monkeypatch):
    monkeypatch.setattr(sim.settings, "replication_seconds", 5.0)  # still creating when the second PUT comes
    version = fresh_version()
    assert put(sim, version, version_body(SEED_TARGETS)).status_code == 201
    with pytest.raises(ResourceExistsError) as caught:
        compute.gallery_image_versions.begin_create_or_update(
            RG, "MyGallery", "MyImage", version, version_body(SEED_TARGETS), polling_interval=0.1
        )
    assert caught.value.status_code == 409
    assert caught.value.error.code == "OperationNotAllowed"
    assert version in caught.value.error.message


def test_failed_region_fails_the_operation_with_the_service_error(sim, compute):
    sim.fail_replication("eastus2", code="ReplicationFailed", message="Failed with internal server error.")
    version = fresh_version()
    poller = compute.gallery_image_versions.begin_create_or_update(
        RG, "MyGallery", "MyImage", version, version_body(SEED_TARGETS), polling_interval=0.1
    )
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert "Gallery replication jobs failed" in str(caught.value)
    assert "eastus2" in str(caught.value)
    stored = compute.gallery_image_versions.get(RG, "MyGallery", "MyImage", version, expand="ReplicationStatus")
    assert stored.provisioning_state == "Failed"
    states = {s.region: (s.state, s.details) for s in stored.replication_status.summary}
    assert states == {"West US": ("Completed", None), "East US 2": ("Failed", "Failed with internal server error.")}
    assert stored.replication_status.aggregated_state == "Failed"


def test_fail_replication_during_a_running_replication(sim, compute, monkeypatch):
    monkeypatch.setattr(sim.settings, "replication_seconds", 2.0)  # still replicating when the failure comes
    version = fresh_version()
    put(sim, version, version_body(SEED_TARGETS))
    sim.fail_replication("West US", code="InternalError", message="disk copy failed")
    time.sleep(sim.settings.replication_seconds + 0.1)
    stored = compute.gallery_image_versions.get(RG, "MyGallery", "MyImage", version, expand="ReplicationStatus")
    by_region = {s.region: s for s in stored.replication_status.summary}
    assert by_region["West US"].state == "Failed" and by_region["West US"].progress < 100
    assert by_region["East US 2"].state == "Completed"


def test_delete_is_a_long_running_operation(sim, compute, monkeypatch):
    version = fresh_version()
    compute.gallery_image_versions.begin_create_or_update(
        RG, "MyGallery", "MyImage", version, version_body([region("westus")]), polling_interval=0.1
    ).result()
    monkeypatch.setattr(sim.settings, "replication_seconds", 2.0)  # deletion then takes 1 s
    path = f"{COMPUTE}/galleries/MyGallery/images/MyImage/versions/{version}"
    answer = raw(sim, "DELETE", path, token=token(sim))
    assert answer.status_code == 202
    assert "/capsOperations/" in answer.headers["Azure-AsyncOperation"]
    assert "monitor=true" in answer.headers["Location"]
    deleting = raw(sim, "GET", path, token=token(sim)).json()
    assert deleting["properties"]["provisioningState"] == "Deleting"
    time.sleep(sim.settings.delete_seconds + 0.1)
    assert raw(sim, "GET", path, token=token(sim)).status_code == 404
    assert raw(sim, "DELETE", path, token=token(sim)).status_code == 204


def test_sdk_begin_delete_completes(sim, compute):
    version = fresh_version()
    compute.gallery_image_versions.begin_create_or_update(
        RG, "MyGallery", "MyImage", version, version_body([region("westus")]), polling_interval=0.1
    ).result()
    compute.gallery_image_versions.begin_delete(RG, "MyGallery", "MyImage", version, polling_interval=0.1).result()
    assert f"versions/{version}".lower() not in " ".join(sim.world_snapshot()["resources"]).lower()


def test_world_snapshot_holds_the_version_as_stored(sim, compute):
    version = fresh_version()
    compute.gallery_image_versions.begin_create_or_update(
        RG, "MyGallery", "MyImage", version, version_body(SEED_TARGETS), polling_interval=0.1
    ).result()
    resources = sim.world_snapshot()["resources"]
    stored = resources[f"{COMPUTE}/galleries/MyGallery/images/MyImage/versions/{version}"]
    targets = stored["properties"]["publishingProfile"]["targetRegions"]
    assert targets[1]["encryption"]["osDiskImage"]["diskEncryptionSetId"].endswith("EastUS2DiskEncryptionSet1")
    assert stored["properties"]["provisioningState"] == "Succeeded"


def test_update_keeps_replicated_regions_and_replicates_new_ones(sim, compute, monkeypatch):
    version = fresh_version()
    compute.gallery_image_versions.begin_create_or_update(
        RG, "MyGallery", "MyImage", version, version_body([region("westus")]), polling_interval=0.1
    ).result()
    monkeypatch.setattr(sim.settings, "replication_seconds", 5.0)  # the new region is still replicating
    answer = put(sim, version, version_body([region("westus"), region("eastus")]))
    assert answer.status_code == 200
    current = compute.gallery_image_versions.get(RG, "MyGallery", "MyImage", version, expand="ReplicationStatus")
    states = {s.region: s.state for s in current.replication_status.summary}
    assert states == {"West US": "Completed", "East US": "Replicating"}
