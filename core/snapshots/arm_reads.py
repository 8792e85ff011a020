"""ARM reads of the snapshot path: one call at a time, 404 apart from every other failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from azure.core.exceptions import (
    ResourceNotFoundError,
)

from core.azure import resource_ids
from core.azure.arm import ARM_ERRORS, Arm


class ArmCallFailed(Exception):
    """An ARM call failed (not with 404); ``error`` is the SDK's exception, for `core.azure.arm.classify`."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def arm_call(call: Callable[[], Any]) -> Any:
    """Run one ARM call; 404 propagates as ResourceNotFoundError, other failures as ArmCallFailed."""
    try:
        return call()
    except ResourceNotFoundError:
        raise
    except ARM_ERRORS as error:
        raise ArmCallFailed(error) from error


def read_snapshot(arm: Arm, snapshot_id: str) -> dict[str, Any] | None:
    """The snapshot's REST JSON (tags, location, provisioning state), or None when ARM answers 404."""
    rid = resource_ids.parse_resource_id(snapshot_id)
    if rid.subscription != arm.subscription_id.lower():  # the client reads its own subscription only
        raise ValueError(f"snapshot {snapshot_id} is not in subscription {arm.subscription_id}")
    try:
        return arm_call(lambda: arm.compute.snapshots.get(rid.resource_group, rid.name).as_dict())
    except ResourceNotFoundError:
        return None
