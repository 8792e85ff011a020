"""The simulator's state: what the world file described plus everything that happened since.

All reads and writes happen under :attr:`World.lock` (the server is threaded); :meth:`World.advance`
applies what time has done (registrations finishing, replications progressing) before each request.
"""

from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import ids, regions
from .replication import RegionRun, VersionRun
from .world_reader import LoadedWorld

VERSION_TYPE = "microsoft.compute/galleries/images/versions"


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Transition:
    """A registration state that becomes ``target`` at monotonic time ``at``."""

    target: str
    at: float


@dataclass
class Operation:
    """An asynchronous operation (``capsOperations``) of an image version PUT or DELETE."""

    operation_id: str
    kind: str  # "create" | "delete" | "snapshot"
    version_key: str
    start_time: str
    done_at: float | None = None  # for deletes and snapshots
    end_time: str | None = None


@dataclass
class World:
    data: LoadedWorld
    lock: threading.RLock = field(default_factory=threading.RLock)
    runs: dict[str, VersionRun] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    deleting: dict[str, str] = field(default_factory=dict)  # version key -> operation id
    feature_transitions: dict[tuple[str, str], Transition] = field(default_factory=dict)
    provider_transitions: dict[tuple[str, str], Transition] = field(default_factory=dict)
    failing_regions: dict[str, tuple[str, str]] = field(default_factory=dict)  # region -> (code, message)
    failing_vm_regions: dict[str, tuple[str, str]] = field(default_factory=dict)  # region -> (code, message)
    vm_runs: dict[str, tuple[float, tuple[str, str] | None]] = field(default_factory=dict)  # VM key -> (done, fail)
    vm_passwords: dict[str, str] = field(default_factory=dict)  # VM key -> SHA-256 of its admin password
    provisioning: dict[str, str] = field(default_factory=dict)  # snapshot key -> operation id (snapshots_api)

    def __post_init__(self) -> None:
        for version_key, states in self.data.replication_states.items():
            self.runs[version_key] = VersionRun(
                [RegionRun(region, 0.0, 0.0, fixed_state=state) for region, state in states.items()]
            )

    # --- time -------------------------------------------------------------------------------------------
    def advance(self, now: float) -> None:
        """Apply every change that is due at monotonic time ``now``."""
        for (sub, name), transition in list(self.feature_transitions.items()):
            if now >= transition.at:
                self.data.features[sub][name]["state"] = transition.target
                del self.feature_transitions[(sub, name)]
        for (sub, namespace), transition in list(self.provider_transitions.items()):
            if now >= transition.at:
                self.data.providers[sub][namespace]["state"] = transition.target
                del self.provider_transitions[(sub, namespace)]
        for version_key, run in self.runs.items():
            body = self.data.resources.get(version_key)
            if body is not None and version_key not in self.deleting and not _fixed(run):
                body["properties"]["provisioningState"] = run.provisioning_state(now)
        for version_key, operation_id in list(self.deleting.items()):
            operation = self.operations[operation_id]
            if operation.done_at is not None and now >= operation.done_at:
                self.data.resources.pop(version_key, None)
                self.runs.pop(version_key, None)
                del self.deleting[version_key]
                operation.end_time = utc_now_iso()
        for snapshot_key, operation_id in list(self.provisioning.items()):
            operation = self.operations[operation_id]
            if operation.done_at is not None and now >= operation.done_at:
                snapshot = self.data.resources.get(snapshot_key)
                if snapshot is not None:
                    snapshot["properties"]["provisioningState"] = "Succeeded"
                operation.end_time = utc_now_iso()
                del self.provisioning[snapshot_key]
        for operation in self.operations.values():
            if operation.kind == "create" and operation.end_time is None:
                run = self.runs.get(operation.version_key)
                if run is None or run.aggregated_state(now) != "InProgress":
                    operation.end_time = utc_now_iso()

    # --- lookups ----------------------------------------------------------------------------------------
    def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        return self.data.subscriptions.get(subscription_id.lower())

    def resource_group(self, subscription_id: str, name: str) -> dict[str, Any] | None:
        return self.data.resource_groups.get(ids.key(ids.resource_group_id(subscription_id, name)))

    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self.data.resources.get(ids.key(resource_id))

    def children(self, parent_id: str, resource_type: str) -> list[dict[str, Any]]:
        """Resources of ``resource_type`` (e.g. ``Microsoft.Compute/galleries``) under ``parent_id``."""
        prefix = ids.key(parent_id) + "/"
        wanted = resource_type.lower()
        return [
            body for k, body in self.data.resources.items() if k.startswith(prefix) and body["type"].lower() == wanted
        ]

    def resource_groups(self, subscription_id: str) -> list[dict[str, Any]]:
        prefix = f"/subscriptions/{subscription_id.lower()}/"
        return [rg for k, rg in self.data.resource_groups.items() if k.startswith(prefix)]

    # --- image versions ---------------------------------------------------------------------------------
    def version_body(self, version_key: str, now: float, expand_replication: bool) -> dict[str, Any]:
        body = copy.deepcopy(self.data.resources[version_key])
        if expand_replication:
            run = self.runs.get(version_key)
            if run is not None:
                body["properties"]["replicationStatus"] = run.replication_status(now)
        return body

    def start_replication(self, version_key: str, target_regions: list[str], now: float, duration: float) -> VersionRun:
        runs = []
        for region in target_regions:
            run = RegionRun(regions.normalize(region), now, duration)
            if run.region in self.failing_regions:
                run.fail_at = now + duration / 2
                run.fail_code, run.fail_message = self.failing_regions[run.region]
            runs.append(run)
        self.runs[version_key] = VersionRun(runs)
        return self.runs[version_key]

    def fail_region(self, region: str, code: str, message: str, now: float) -> None:
        """Replications to ``region`` fail: those running now, and those that start later."""
        region = regions.normalize(region)
        self.failing_regions[region] = (code, message)
        for run in self.runs.values():
            run.fail(region, now, code, message)

    def new_operation(self, kind: str, version_key: str, done_at: float | None = None) -> Operation:
        operation = Operation(str(uuid.uuid4()), kind, version_key, utc_now_iso(), done_at)
        self.operations[operation.operation_id] = operation
        return operation

    def operation_in_progress(self, version_key: str, now: float) -> Operation | None:
        for operation in self.operations.values():
            if operation.version_key == version_key and operation.end_time is None:
                return operation
        return None

    def operation_status(self, operation: Operation, now: float) -> dict[str, Any]:
        """The ``capsOperations`` body: InProgress until the work is done, then Succeeded or Failed."""
        body: dict[str, Any] = {
            "startTime": operation.start_time,
            "status": "InProgress",
            "name": operation.operation_id,
        }
        if operation.end_time is None:
            return body
        body["endTime"] = operation.end_time
        run = self.runs.get(operation.version_key)
        failure = run.failure(now) if (operation.kind == "create" and run is not None) else None
        if failure:
            body["status"] = "Failed"
            body["error"] = failure
        else:
            body["status"] = "Succeeded"
        return body

    # --- registrations ----------------------------------------------------------------------------------
    def schedule_feature(self, sub: str, name_key: str, target: str, at: float) -> None:
        self.feature_transitions[(sub, name_key)] = Transition(target, at)

    def schedule_provider(self, sub: str, namespace_key: str, target: str, at: float) -> None:
        self.provider_transitions[(sub, namespace_key)] = Transition(target, at)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the current state, keyed by resource ID as stored."""
        return copy.deepcopy(
            {
                "subscriptions": list(self.data.subscriptions.values()),
                "resourceGroups": {rg["id"]: rg for rg in self.data.resource_groups.values()},
                "resources": {body["id"]: body for body in self.data.resources.values()},
                "features": {
                    sub: {f"{f['namespace']}/{f['name']}": f["state"] for f in features.values()}
                    for sub, features in self.data.features.items()
                },
                "providers": {
                    sub: {p["namespace"]: p["state"] for p in providers.values()}
                    for sub, providers in self.data.providers.items()
                },
            }
        )


def _fixed(run: VersionRun) -> bool:
    return any(r.fixed_state is not None for r in run.regions)
