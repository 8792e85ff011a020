"""Replication progress as a pure function of time."""

from __future__ import annotations

from simulator.replication import RegionRun, VersionRun


def test_region_progresses_then_completes():
    run = RegionRun("eastus2", start=10.0, duration=4.0)
    assert run.status(10.0) == ("Replicating", 0, None)
    assert run.status(12.0) == ("Replicating", 50, None)
    assert run.status(13.99)[1] == 99
    assert run.status(14.0) == ("Completed", 100, None)


def test_failed_region_keeps_the_progress_it_had():
    run = RegionRun("westus", start=0.0, duration=10.0, fail_at=3.0, fail_message="boom")
    assert run.status(2.0)[0] == "Replicating"
    assert run.status(20.0) == ("Failed", 30, "boom")


def test_version_aggregates_and_reports_failure_text():
    version = VersionRun([RegionRun("westus", 0.0, 2.0), RegionRun("eastus2", 0.0, 4.0, fail_at=3.0)])
    assert version.aggregated_state(1.0) == "InProgress" and version.provisioning_state(1.0) == "Creating"
    assert version.aggregated_state(2.5) == "InProgress"  # one done, one still running
    assert version.failure(2.5) is None
    assert version.aggregated_state(3.0) == "Failed" and version.provisioning_state(3.0) == "Failed"
    failure = version.failure(3.0)
    assert failure is not None and failure["code"] == "ReplicationFailed"
    assert "{region:eastus2, detail:Failed with internal server error.}" in failure["message"]
    summary = version.replication_status(3.0)["summary"]
    assert [s["region"] for s in summary] == ["West US", "East US 2"]


def test_fail_does_not_change_a_finished_region():
    version = VersionRun([RegionRun("westus", 0.0, 1.0), RegionRun("eastus", 0.0, 5.0)])
    version.fail("westus", 2.0, "X", "late")
    version.fail("eastus", 2.0, "X", "early")
    assert version.replication_status(6.0)["summary"] == [
        {"region": "West US", "state": "Completed", "progress": 100},
        {"region": "East US", "state": "Failed", "progress": 40, "details": "early"},
    ]
