"""Builds from the request queue to their end, through function_app.py's handlers served by the local
worker, against Azurite and the ARM simulator with the real SDK clients and managed-identity tokens."""

from __future__ import annotations

import copy
import json
import signal
import time

import pytest

from core.builds.admission import build_id_for
from core.builds.submissions import derive_resource_id
from core.request import parse_request
from core.request.encryption import to_body
from simulator import Fault
from tests.support.live_app import App, example

SEED = "seed-cli-managed-image.json"
DES = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MyResourceGroup/providers/Microsoft.Compute/diskEncryptionSets/"


def build_id_of(raw: dict) -> str:
    resource_id = derive_resource_id(raw)
    assert resource_id is not None
    return build_id_for(resource_id)


def versioned(version: str) -> dict:
    request = copy.deepcopy(example(SEED))
    request["version"] = version
    return request


def test_seed_example_goes_from_queue_to_succeeded_with_the_exact_put_body(app: App):
    """The seed's first CLI example: one PUT whose body is what the CLI sends, every region replicated."""
    build_id = app.put_request(example(SEED))
    app.run_worker()

    state = app.state(build_id)
    assert str(state.status) == "Succeeded", state.error
    assert {name: info["state"] for name, info in state.regions.items()} == {
        "westus": "Completed",
        "eastus2": "Completed",
    }
    assert all(info["progress"] == 100 for info in state.regions.values())

    [put] = app.puts()
    assert put.path.endswith("/galleries/MyGallery/images/MyImage/versions/1.0.0")
    body = put.json
    # The body is what the CLI sends, plus the tag that marks the version as this build's.
    assert body["tags"] == {"imageBuilder.buildId": build_id}
    assert {**body, "tags": {}} == to_body(parse_request(example(SEED)))
    assert body["location"] == "westus"
    west, east = body["properties"]["publishingProfile"]["targetRegions"]
    assert west["name"] == "westus" and west["regionalReplicaCount"] == 2 and west["storageAccountType"] == "Standard_LRS"
    assert west["encryption"]["osDiskImage"]["diskEncryptionSetId"] == DES + "WestUSDiskEncryptionSet1"
    assert west["encryption"]["dataDiskImages"] == [{"lun": 0, "diskEncryptionSetId": DES + "WestUSDiskEncryptionSet2"}]
    assert east["name"] == "eastus2" and "regionalReplicaCount" not in east
    assert east["encryption"]["osDiskImage"]["diskEncryptionSetId"] == DES + "EastUS2DiskEncryptionSet1"
    assert east["encryption"]["dataDiskImages"] == [{"lun": 0, "diskEncryptionSetId": DES + "EastUS2DiskEncryptionSet2"}]
    assert body["properties"]["storageProfile"]["source"]["id"].endswith("/Microsoft.Compute/images/myImage")

    kinds = app.history_kinds(build_id)
    assert kinds[0] == "Submitted" and kinds[-1] == "Succeeded"
    assert "CreateAccepted" in kinds and "RegistrationComplete" in kinds
    # One read per poll: the version with its replication status, never also the operation status.
    assert app.sim.count("GET", "capsOperations") == 0
    polls = [r for r in app.sim.requests if r.query.get("$expand") == "ReplicationStatus"]
    assert 1 <= len(polls) <= 4  # 2 s of replication, polls planned from its progress
    # Every ARM call carried a token the simulator's managed-identity endpoint issued.
    assert all(r.status != 401 for r in app.sim.requests)


def test_the_same_request_delivered_twice_is_one_build_and_one_put(app: App):
    build_id = app.put_request(example(SEED))
    assert app.put_request(example(SEED)) == build_id
    app.run_worker()
    assert str(app.state(build_id).status) == "Succeeded"
    assert len(app.puts()) == 1
    assert app.history_kinds(build_id).count("DuplicateSubmission") == 1


def test_a_different_request_for_a_version_in_flight_is_refused(app: App):
    build_id = app.put_request(example(SEED))
    other = example(SEED)
    other["targetRegions"] = "westus"
    other["targetRegionEncryption"] = "WestUSDiskEncryptionSet1,0,WestUSDiskEncryptionSet2"
    app.put_request(other)
    app.run_worker()
    history = app.runtime.store.history(build_id)
    refused = [h for h in history if h.kind == "ConflictingSubmissionRefused"]
    assert len(refused) == 1 and "being built" in refused[0].detail["reason"]
    assert len(app.puts()) == 1


def test_two_workers_complete_every_build_once_without_lost_updates(app: App):
    ids = [app.put_request(versioned(f"1.0.{n}")) for n in range(4)]
    workers = [app.start_worker("--until-idle"), app.start_worker("--until-idle")]
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, out
    for build_id in ids:
        state = app.state(build_id)
        assert str(state.status) == "Succeeded", state.error
        history = app.runtime.store.history(build_id)
        # One history row per recorded event, none lost or doubled by concurrent writers.
        assert len(history) == state.history_count
        assert [h.kind for h in history].count("CreateAccepted") == 1
    puts = app.puts()
    assert sorted(p.path.rsplit("/", 1)[1] for p in puts) == ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]


def test_a_worker_killed_mid_build_is_replaced_and_the_build_completes(app: App):
    build_id = app.put_request(example(SEED))
    first = app.start_worker()
    try:
        app.wait_for(build_id, "Replicating", timeout=60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert str(app.state(build_id).status) == "Replicating"
    app.run_worker()
    assert str(app.state(build_id).status) == "Succeeded"
    assert len(app.puts()) == 1


def test_a_region_failing_replication_fails_the_build_naming_it(app: App):
    app.sim.fail_replication("eastus2", code="ReplicationFailed", message="Key vault key is disabled")
    build_id = app.put_request(example(SEED))
    app.run_worker()
    state = app.state(build_id)
    assert str(state.status) == "Failed"
    assert state.error["regions"] == ["eastus2"]
    assert "eastus2" in state.error["message"]
    assert state.regions["westus"]["state"] == "Completed"
    assert state.regions["eastus2"]["state"] == "Failed"


def test_throttling_and_server_errors_are_retried_as_scheduled_steps(app: App):
    """A 429 whose Retry-After exceeds the inline cap, then a 500 that outlasts the SDK's own retries."""
    app.env["RETRY_AFTER_INLINE_CAP_SECONDS"] = "1"
    app.sim.inject(Fault(method="PUT", path_regex="/versions/", status=429, headers={"Retry-After": "2"},
                         error_code="TooManyRequests", message="throttled", times=1))  # fmt: skip
    app.sim.inject(Fault(method="GET", path_regex=r"/versions/1\.0\.0$", status=500, error_code="InternalServerError",
                         message="boom", times=3))  # fmt: skip
    build_id = app.put_request(example(SEED))
    started = time.monotonic()
    app.run_worker()
    state = app.state(build_id)
    assert str(state.status) == "Succeeded", state.error
    retries = [h.detail for h in app.runtime.store.history(build_id) if h.kind == "RetryScheduled"]
    assert [r["status"] for r in retries] == [500, 429]  # the validation's read of the version, then the PUT
    assert retries[1]["delaySeconds"] >= 2  # Retry-After honoured by rescheduling, not by sleeping
    assert time.monotonic() - started < 60


@pytest.mark.parametrize(
    ("text", "reason"),
    [("{not json", "not valid JSON"), ('{"version": "1.0.0"}', "cannot tell which image version")],
)
def test_a_message_with_no_derivable_build_goes_to_the_poison_queue(app: App, text: str, reason: str):
    app.put_request(text)
    done = app.run_worker()
    poison = app.runtime.queues.get_queue_client("image-build-requests-poison")
    bodies = [m.content for m in poison.receive_messages(max_messages=10)]
    assert bodies == [text]
    assert reason in done.stdout + done.stderr


def test_a_wrong_schema_is_recorded_rejected_with_every_problem(app: App):
    bad = example(SEED)
    bad["targetRegions"] = "westus=0=bogus eastus2"
    bad["colour"] = "blue"
    app.put_request(json.dumps(bad))
    app.run_worker()
    state = app.state(build_id_of(bad))
    assert str(state.status) == "Rejected"
    fields = [p["field"] for p in state.problems]
    assert "colour" in fields and any(f.startswith("targetRegions") for f in fields)
    assert app.puts() == []


def test_an_oversized_request_is_recorded_rejected(app: App):
    big = example(SEED)
    big["tags"] = {f"t{n}": "x" * 250 for n in range(80)}
    app.put_request(json.dumps(big))
    app.run_worker()
    state = app.state(build_id_of(big))
    assert str(state.status) == "Rejected"
    assert "limit" in state.problems[0]["message"]


def test_a_request_for_a_gallery_that_does_not_exist_is_rejected_before_any_write(app: App):
    request = example(SEED)
    request["galleryName"] = "NoSuchGallery"
    build_id = app.put_request(request)
    app.run_worker()
    state = app.state(build_id)
    assert str(state.status) == "Rejected"
    assert [p["code"] for p in state.problems] == ["GalleryNotFound"]
    assert app.puts() == []
