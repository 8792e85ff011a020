"""Changing the regions of a published CMK version, from the request queue through the worker, against
Azurite and the ARM simulator: an added region with its sets, a set missing in an added region, a removal."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

from core.builds.submissions import change_submission
from core.entry.cli.outcomes import Exit
from core.request.change import change_to_dict, parse_change
from devstack.azurite import PROJECT_ROOT
from tests.support.live_app import App, example, http, poll_until_ended

DES = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MyResourceGroup/providers/"
       "Microsoft.Compute/diskEncryptionSets/")
WEST = {"osDiskImage": {"diskEncryptionSetId": DES + "WestUSDiskEncryptionSet1"},
        "dataDiskImages": [{"lun": 0, "diskEncryptionSetId": DES + "WestUSDiskEncryptionSet2"}]}


def _publish_west_only(app: App, **fields: object) -> None:
    request = copy.deepcopy(example("seed-cli-managed-image.json"))
    request.update(targetRegions="westus=2=standard_lrs",
                   targetRegionEncryption="WestUSDiskEncryptionSet1,0,WestUSDiskEncryptionSet2", **fields)
    build_id = app.put_request(request)
    app.run_worker()
    assert str(app.state(build_id).status) == "Succeeded"


def _change(**fields: object) -> dict:
    return {"operation": "changeRegions", "subscriptionId": "00000000-0000-0000-0000-000000000000",
            "resourceGroup": "MyResourceGroup", "galleryName": "MyGallery", "imageDefinition": "MyImage",
            "version": "1.0.0", **fields}


def _submit(app: App, raw: dict) -> str:
    app.put_request(json.dumps(raw))
    return change_submission(raw, parse_change(raw).resource_id).build_id


def _regions(app: App) -> dict[str, dict]:
    version = app.runtime.runner.arm_for("00000000-0000-0000-0000-000000000000").compute.gallery_image_versions.get(
        "MyResourceGroup", "MyGallery", "MyImage", "1.0.0").as_dict()
    return {t["name"]: t for t in version["properties"]["publishingProfile"]["targetRegions"]}


def test_adding_a_region_keeps_the_existing_encryption_and_replicates_the_new_one(app: App, tmp_path):
    _publish_west_only(app)
    raw = _change(addRegions="eastus2", addRegionEncryption="EastUS2DiskEncryptionSet1,0,EastUS2DiskEncryptionSet2")
    (tmp_path / "change.json").write_text(json.dumps(raw))
    planned = subprocess.run([sys.executable, "-m", "core", "change-regions", "--plan", str(tmp_path / "change.json")],
                             env=app.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    build_id = _submit(app, raw)
    app.run_worker()
    state = app.state(build_id)
    assert str(state.status) == "Succeeded", (state.error, state.problems)
    assert state.regions["eastus2"]["state"] == "Completed"
    *_, put = app.puts()
    assert put.json == plan["body"]  # what --plan printed is what was sent
    west, east = put.json["properties"]["publishingProfile"]["targetRegions"]
    assert west["encryption"] == WEST  # the CLI's update would have sent it without encryption
    assert east["encryption"]["dataDiskImages"] == [{"lun": 0, "diskEncryptionSetId": DES + "EastUS2DiskEncryptionSet2"}]
    regions = _regions(app)
    assert regions["West US"]["encryption"] == WEST
    assert regions["East US 2"]["encryption"]["osDiskImage"]["diskEncryptionSetId"] == DES + "EastUS2DiskEncryptionSet1"


def test_a_set_missing_or_absent_in_an_added_region_rejects_the_change_before_any_write(app: App):
    """One change leaves LUN 0 without a set in the added region (offline plan), another names a set that does
    not exist (the pre-flight read): both Rejected, no PUT, the version as it was."""
    _publish_west_only(app)
    puts_before = len(app.puts())
    missing = _submit(app, _change(addRegions="eastus2", addRegionEncryption="EastUS2DiskEncryptionSet1"))
    absent = _submit(app, _change(addRegions="eastus2", addRegionEncryption="NoSuchSet,0,EastUS2DiskEncryptionSet2"))
    app.run_worker()
    state = app.state(missing)
    assert str(state.status) == "Rejected"
    assert [p["field"] for p in state.problems] == ["addRegions[0].encryption"]
    assert "required for the LUN 0 in target region 'eastus2'" in state.problems[0]["message"]
    assert str(app.state(absent).status) == "Rejected"
    assert {p["code"] for p in app.state(absent).problems} == {"DiskEncryptionSetNotFound"}
    assert len(app.puts()) == puts_before
    assert list(_regions(app)) == ["West US"]


def test_removing_a_region_needs_allow_deletion_then_leaves_the_rest_as_it_was(app: App):
    """Published with allowDeletionOfReplicatedLocations false: a removal must set it true."""
    _publish_west_only(app, allowDeletionOfReplicatedLocations=False)
    added = _submit(app, _change(addRegions="eastus2",
                                 addRegionEncryption="EastUS2DiskEncryptionSet1,0,EastUS2DiskEncryptionSet2"))
    app.run_worker()
    assert str(app.state(added).status) == "Succeeded"
    refused = _submit(app, _change(removeRegions="eastus2"))
    app.run_worker()
    assert str(app.state(refused).status) == "Rejected"
    assert app.state(refused).problems[0]["field"] == "allowDeletionOfReplicatedLocations"
    removed = _submit(app, _change(removeRegions="eastus2", allowDeletionOfReplicatedLocations=True))
    app.run_worker()
    assert str(app.state(removed).status) == "Succeeded", app.state(removed).error
    regions = _regions(app)
    assert list(regions) == ["West US"] and regions["West US"]["encryption"] == WEST


ADD_EAST = {"addRegions": "eastus2", "addRegionEncryption": "EastUS2DiskEncryptionSet1,0,EastUS2DiskEncryptionSet2"}


def _cli(app: App, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", *args], env=app.env, cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60)


def test_a_change_from_the_cli_is_queued_at_once_like_any_submission(app: App, tmp_path):
    """`change-regions` writes the change's `Queued` row before its message: `status` finds it at once; the
    worker then runs it; the same change again is said to be a duplicate and nothing is queued."""
    _publish_west_only(app)
    raw = {key: value for key, value in _change(**ADD_EAST).items() if key != "operation"}
    path = tmp_path / "change.json"
    path.write_text(json.dumps(raw))
    submitted = _cli(app, "change-regions", str(path))
    assert submitted.returncode == 0, submitted.stderr
    build_id = submitted.stdout.strip()
    assert build_id == change_submission(change_to_dict(parse_change(_change(**ADD_EAST))), "").build_id
    queued = _cli(app, "status", "--json", build_id)
    assert queued.returncode == Exit.IN_FLIGHT, queued.stderr
    document = json.loads(queued.stdout)
    assert document["status"] == "Queued" and document["origin"] == "cli"
    assert document["resourceId"].endswith("/images/MyImage/versions/1.0.0")
    app.run_worker()
    assert str(app.state(build_id).status) == "Succeeded", app.state(build_id).error
    again = _cli(app, "change-regions", str(path))
    assert again.returncode == 0 and again.stdout.strip() == build_id
    assert again.stderr.startswith("duplicate: the same request is already build")
    assert app.runtime.store.queued(build_id)["SubmittedAt"] == document["createdAt"]


def test_a_change_over_http_through_the_local_host_runs_to_its_end(app: App):
    """POST /api/builds/change-regions as function_app.py binds it, then the status URL polled to Succeeded."""
    _publish_west_only(app)
    with app.http_worker() as base:
        status, headers, body = http("POST", f"{base}/builds/change-regions", _change(**ADD_EAST))
        assert status == 202, body
        location = headers["Location"]
        assert location == body["statusQueryGetUri"] == f"{base}/builds/{body['id']}"
        document, seen = poll_until_ended(location)
        assert document["status"] == "Succeeded", document.get("error")
        assert seen[0] in ("Queued", "Accepted", "Validating") and document["regions"]["eastus2"]["state"] == "Completed"
        invalid, _, problem = http("POST", f"{base}/builds/change-regions", _change(version="one"))
        assert invalid == 400 and {e["field"] for e in problem["errors"]} == {"version", "addRegions"}
    assert list(_regions(app)) == ["West US", "East US 2"]
