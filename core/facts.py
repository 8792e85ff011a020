"""Facts about a build gathered from ARM before anything is written: one read per distinct resource.

Each fact is the resource's REST JSON (as the SDK model's `as_dict()` gives it) or None when ARM
answers 404. Any other error propagates: the step that gathers facts retries or fails on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from core.azure import Arm
from core.request import BuildRequest
from core.resource_ids import parse_resource_id

Json = dict[str, Any]


def _read(call: Callable[[], Any]) -> Json | None:
    try:
        return call().as_dict()
    except ResourceNotFoundError:
        return None


@dataclass(frozen=True)
class Facts:
    gallery: Json | None
    image_definition: Json | None
    source: Json | None
    disk_encryption_sets: dict[str, Json | None] = field(default_factory=dict)  # keyed by lower-case ID
    target_version: Json | None = None
    data_disk_sources: dict[int, Json | None] = field(default_factory=dict)

    def des(self, des_id: str) -> Json | None:
        return self.disk_encryption_sets.get(des_id.lower())


def read_source(arm: Arm, source_id: str) -> Json | None:
    """Read a managed image, VM, snapshot, disk or gallery image version by its ID."""
    rid = parse_resource_id(source_id)
    if rid.subscription.lower() != arm.subscription_id.lower():
        return read_source(Arm(arm.settings, rid.subscription, arm.credential), source_id)
    compute = arm.compute
    kind = rid.kind.lower()
    rg = rid.resource_group
    readers: dict[str, Callable[[], Any]] = {
        "microsoft.compute/images": lambda: compute.images.get(rg, rid.name),
        "microsoft.compute/virtualmachines": lambda: compute.virtual_machines.get(rg, rid.name),
        "microsoft.compute/snapshots": lambda: compute.snapshots.get(rg, rid.name),
        "microsoft.compute/disks": lambda: compute.disks.get(rg, rid.name),
        "microsoft.compute/galleries/images/versions": lambda: compute.gallery_image_versions.get(
            rg, rid.names[0], rid.names[1], rid.names[2]
        ),
    }
    if kind not in readers:
        raise ValueError(f"{source_id} is a {rid.kind}, which cannot be an image source")
    return _read(readers[kind])


def gather(arm: Arm, request: BuildRequest) -> Facts:
    """Read everything the pre-flight rules look at (sequentially; a build reads each resource once)."""
    compute = arm.compute
    rg, gallery, image = request.resource_group, request.gallery_name, request.image_definition
    des: dict[str, Json | None] = {}
    for des_id in request.disk_encryption_set_ids():
        rid = parse_resource_id(des_id)
        des[des_id.lower()] = _read(lambda rid=rid: compute.disk_encryption_sets.get(rid.resource_group, rid.name))
    gallery_fact = _read(lambda: compute.galleries.get(rg, gallery))
    definition = _read(lambda: compute.gallery_images.get(rg, gallery, image)) if gallery_fact else None
    target = (
        _read(lambda: compute.gallery_image_versions.get(rg, gallery, image, request.version)) if definition else None
    )
    data_sources = {d.lun: read_source(arm, d.id) for d in request.source.data_disks}
    return Facts(
        gallery=gallery_fact,
        image_definition=definition,
        source=read_source(arm, request.source.id),
        disk_encryption_sets=des,
        target_version=target,
        data_disk_sources=data_sources,
    )
