"""The completion event of a build's end, and which writes end a build. Pure."""

from core.builds.state import BuildState, BuildStatus
from core.events.cloudevent import completion_event
from core.events.outbox import ends_build

VERSION = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0"
DES = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/"


def state(status: BuildStatus, attempt: int = 1, **changes) -> BuildState:
    return BuildState("b1", VERSION, status, "t0", "t9", attempt=attempt, **changes)


def test_a_succeeded_build_is_one_cloudevent_with_version_regions_and_encryption():
    request = {"location": "westus", "encryptionType": "EncryptionAtRestWithCustomerKey", "targetRegions": [
        {"name": "westus", "regionalReplicaCount": 2, "encryption": {"osDiskImage": {"diskEncryptionSetId": DES + "w"}}},
        {"name": "eastus2", "encryption": {"osDiskImage": {"diskEncryptionSetId": DES + "e"}}}]}
    regions = {"westus": {"state": "Completed", "progress": 100}, "eastus2": {"state": "Completed", "progress": 100}}
    event = completion_event(state(BuildStatus.SUCCEEDED, request=request, regions=regions))
    assert {k: event[k] for k in ("specversion", "type", "subject", "id", "time", "datacontenttype")} == {
        "specversion": "1.0", "type": "CmkImageBuilder.ImageVersion.Succeeded", "subject": VERSION, "id": "b1-1",
        "time": "t9", "datacontenttype": "application/json"}
    data = event["data"]
    assert data["imageVersionId"] == VERSION and data["status"] == "Succeeded"
    assert data["encryptionType"] == "EncryptionAtRestWithCustomerKey"
    assert data["regions"] == [
        {"name": "westus", "state": "Completed", "regionalReplicaCount": 2,
         "encryption": {"osDiskImage": {"diskEncryptionSetId": DES + "w"}}},
        {"name": "eastus2", "state": "Completed", "encryption": {"osDiskImage": {"diskEncryptionSetId": DES + "e"}}},
    ]
    assert "error" not in data and "problems" not in data


def test_failed_and_rejected_events_carry_the_error_and_the_problems():
    failed = completion_event(state(BuildStatus.FAILED, 2, error={"code": "X", "message": "m"}))
    assert failed["type"].endswith(".Failed") and failed["id"] == "b1-2" and failed["data"]["error"]["code"] == "X"
    rejected = completion_event(state(BuildStatus.REJECTED, problems=[{"field": "f", "message": "m"}],
                                      request={"location": "westus"}))
    assert rejected["type"].endswith(".Rejected") and rejected["data"]["problems"] == [{"field": "f", "message": "m"}]
    assert rejected["data"]["regions"] == [{"name": "westus", "state": None}]


def test_only_the_write_that_ends_an_attempt_ends_the_build():
    assert ends_build(state(BuildStatus.REPLICATING), state(BuildStatus.SUCCEEDED))
    assert ends_build(None, state(BuildStatus.REJECTED))
    assert ends_build(state(BuildStatus.FAILED, 1), state(BuildStatus.REJECTED, 2))
    assert not ends_build(state(BuildStatus.SUCCEEDED), state(BuildStatus.SUCCEEDED))  # a duplicate, CancelIgnored
    assert not ends_build(state(BuildStatus.VALIDATING), state(BuildStatus.CREATING))
