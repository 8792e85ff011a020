"""The pure parts of the application layer's submit and plan: a change of regions read once into the build it
makes, a request too large refused before it is read, a build planned offline, one list of end states."""

import json
from pathlib import Path

import pytest

from core.app.plan import plan_build
from core.app.request_input import InputInvalid, RequestTooLarge, load_submitted_bytes
from core.app.status import TERMINAL_STATUSES, is_terminal
from core.app.submit import read_change
from core.azure.regions import PUBLIC_REGIONS
from core.builds.state import BuildStatus
from core.builds.submissions import MAX_REQUEST_BYTES, change_submission
from core.entry.cli.outcomes import Exit, exit_for_status
from core.request import RequestInvalid

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
VERSION = {"subscriptionId": "00000000-0000-0000-0000-000000000000", "resourceGroup": "MyResourceGroup",
           "galleryName": "MyGallery", "imageDefinition": "MyImage", "version": "1.0.0"}
ADD_EAST = {**VERSION, "addRegions": "eastus2=1",
            "addRegionEncryption": "EastUS2DiskEncryptionSet1,0,EastUS2DiskEncryptionSet2"}


def test_a_change_without_its_operation_reads_as_the_same_build_as_with_it():
    """The CLI and the HTTP route take a change file without `operation`; the worker keys it the same."""
    parsed, submission = read_change(ADD_EAST, known_regions=PUBLIC_REGIONS, origin="http")
    _, explicit = read_change({"operation": "changeRegions", **ADD_EAST}, known_regions=PUBLIC_REGIONS, origin="cli")
    assert submission.build_id == explicit.build_id
    assert submission.request == explicit.request and submission.request["operation"] == "changeRegions"
    assert submission.origin == "http" and submission.resource_id == parsed.resource_id
    # What goes on the request queue is admitted by the worker as this very build.
    assert change_submission(json.loads(json.dumps(submission.request)), parsed.resource_id).build_id == \
        submission.build_id


def test_a_bad_change_is_every_problem_naming_its_field():
    bad = {**VERSION, "version": "one", "colour": "blue", "removeRegions": 5}
    with pytest.raises(RequestInvalid) as raised:
        read_change(bad, known_regions=PUBLIC_REGIONS, origin="http")
    assert [p.field for p in raised.value.problems] == ["colour", "version", "removeRegions"]
    with pytest.raises(RequestInvalid) as empty:
        read_change(VERSION, known_regions=PUBLIC_REGIONS, origin="http")
    assert [p.field for p in empty.value.problems] == ["addRegions"]
    with pytest.raises(RequestInvalid):
        read_change(["not", "an", "object"], known_regions=PUBLIC_REGIONS, origin="http")


def test_a_request_too_large_is_refused_before_it_is_read_and_bytes_that_are_not_json_are_problems():
    with pytest.raises(RequestTooLarge) as large:
        load_submitted_bytes(b" " * (MAX_REQUEST_BYTES + 1), "request body")
    assert (large.value.size, large.value.limit) == (MAX_REQUEST_BYTES + 1, MAX_REQUEST_BYTES)
    assert str(large.value) == f"the request is {MAX_REQUEST_BYTES + 1} bytes; the limit is {MAX_REQUEST_BYTES}"
    with pytest.raises(InputInvalid) as not_json:
        load_submitted_bytes(b"{nope", "request body")
    assert isinstance(not_json.value, RequestInvalid) and not_json.value.problems[0].field == "request body"
    assert load_submitted_bytes(b"\xef\xbb\xbf{}", "request body") == {}


def test_a_build_is_planned_offline():
    plan = plan_build(json.loads((EXAMPLES / "seed-cli-managed-image.json").read_text()), known_regions=PUBLIC_REGIONS)
    assert plan.resource_id.endswith("/images/MyImage/versions/1.0.0") and plan.request.resource_id == plan.resource_id
    assert [r["name"] for r in plan.body["properties"]["publishingProfile"]["targetRegions"]] == ["westus", "eastus2"]


def test_the_end_states_are_one_list_that_every_door_reads():
    """Derived from the workflows' models; the CLI's exit codes give each end state its own code."""
    from core.snapshots.state import SnapshotStatus

    assert set(TERMINAL_STATUSES) == {str(s) for statuses in (BuildStatus, SnapshotStatus) for s in statuses
                                      if s.terminal}
    assert all(is_terminal(status) for status in TERMINAL_STATUSES) and not is_terminal("Queued")
    assert {exit_for_status(status) for status in TERMINAL_STATUSES} == \
        {Exit.OK, Exit.FAILED, Exit.REJECTED, Exit.CANCELLED}
    assert all(exit_for_status(str(s)) is Exit.IN_FLIGHT for s in BuildStatus if not s.terminal)
