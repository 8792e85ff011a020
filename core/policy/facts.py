"""Facts about a build gathered from ARM before anything is written: one read per distinct resource.

Each fact is the resource's REST JSON (as the SDK model's ``as_dict()`` gives it: camelCase, as on the
wire) or None when ARM answers 404. Any other error propagates: the step that gathers facts retries or
fails on it. The views at the bottom (``source_data_luns``, ``sharing_kind``, ...) read those dicts and
are pure, so rules stay pure and tests can use literal dicts.

What is read, each resource once however often the request names it:
- every disk encryption set the request names *in the image version's subscription* (one in another
  subscription is wrong whatever it holds, and reading it may be forbidden, so it is not read);
- the gallery, the image definition (when the gallery exists), and the target version (one GET of it);
- the source, and each data-disk source of an ``osSnapshot`` source (not VHDs or a community gallery
  image: they are not ARM resources of this subscription);
- the versions under the definition (one list), only when the request leaves a disk of the source
  unencrypted: only then can an earlier version make it a downgrade (rule ``EncryptionDowngrade``).
  A CMK build that encrypts every disk never reads the list, which grows with every release;
- the key chain of every DES found: its vault, its key version and, on an RBAC vault, its identities'
  role assignments and their role definitions (``core.policy.key_facts``: each read once, a 403 kept as
  a fact to warn about rather than raised).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from core.azure import resource_ids
from core.azure.arm import Arm
from core.azure.regions import normalize_region
from core.azure.settings import read_int
from core.base.json_input import dig as _get
from core.policy.key_facts import read_key_chains
from core.policy.keychain import DEFAULT_EXPIRY_HORIZON_DAYS, KeyChain
from core.request import BuildRequest

Json = dict[str, Any]

PLATFORM_KEY = "EncryptionAtRestWithPlatformKey"
# Days before a key's expiry from which rule KeyExpiringSoon (and the audit's key health) warns.
KEY_HORIZON_SETTING = "KEY_EXPIRY_WARNING_DAYS"


def key_horizon_days(env: Mapping[str, str]) -> int:
    """``KEY_EXPIRY_WARNING_DAYS`` (default 30); SettingsError names a value that is not a whole number."""
    return read_int(env, KEY_HORIZON_SETTING, DEFAULT_EXPIRY_HORIZON_DAYS, minimum=0, unit="days")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Facts:
    """Everything the rules look at. IDs in the dicts are keyed in lower case (ARM compares IDs so).

    ``observed_at`` is when the facts were gathered: time-dependent rules (an end-of-life date in the
    past, a key's expiry) compare against it, so they stay pure. ``key_chains``: each DES's key chain by
    lower-case DES ID; ``key_horizon_days``: how far ahead an expiring key is warned about.
    """

    gallery: Json | None
    image_definition: Json | None
    source: Json | None
    disk_encryption_sets: dict[str, Json | None] = field(default_factory=dict)
    target_version: Json | None = None
    data_disk_sources: dict[int, Json | None] = field(default_factory=dict)
    existing_versions: tuple[Json, ...] = ()
    observed_at: datetime = field(default_factory=_now)
    key_chains: dict[str, KeyChain] = field(default_factory=dict)
    key_horizon_days: int = DEFAULT_EXPIRY_HORIZON_DAYS

    def des(self, des_id: str) -> Json | None:
        return self.disk_encryption_sets.get(des_id.lower())

    def key_chain(self, des_id: str) -> KeyChain | None:
        return self.key_chains.get(des_id.lower())


# --- gathering (I/O) ---------------------------------------------------------------------------------------


def _read(call: Callable[[], Any]) -> Json | None:
    try:
        return call().as_dict()
    except ResourceNotFoundError:
        return None


def _arm_for(arm: Arm, subscription: str) -> Arm:
    """The same credential and settings, scoped to ``subscription`` (SDK clients are per subscription)."""
    return arm.for_subscription(subscription)


def read_source(arm: Arm, source_id: str) -> Json | None:
    """Read a managed image, VM, snapshot, disk or gallery image version by its ID (None when absent)."""
    rid = resource_ids.parse_resource_id(source_id)
    compute = _arm_for(arm, rid.subscription).compute
    rg = rid.resource_group
    readers: dict[str, Callable[[], Any]] = {
        resource_ids.IMAGE: lambda: compute.images.get(rg, rid.name),
        resource_ids.VIRTUAL_MACHINE: lambda: compute.virtual_machines.get(rg, rid.name),
        resource_ids.SNAPSHOT: lambda: compute.snapshots.get(rg, rid.name),
        resource_ids.DISK: lambda: compute.disks.get(rg, rid.name),
        resource_ids.GALLERY_IMAGE_VERSION: lambda: compute.gallery_image_versions.get(
            rg, rid.names[0], rid.names[1], rid.names[2]
        ),
    }
    reader = readers.get(rid.kind)
    if reader is None:
        raise ValueError(f"{source_id} is a {rid.kind}, which cannot be an image source; give an image, VM, "
                         "snapshot, disk or gallery image version")
    return _read(reader)


def read_disk_encryption_set(arm: Arm, des_id: str) -> Json | None:
    rid = resource_ids.parse_resource_id(des_id)
    compute = _arm_for(arm, rid.subscription).compute
    return _read(lambda: compute.disk_encryption_sets.get(rid.resource_group, rid.name))


def read_disk_encryption_sets(arm: Arm, des_ids: list[str], kept: dict[str, Json]) -> dict[str, Json | None]:
    """Each DES by lower-cased ID, read unless ``kept`` holds it (sets an earlier try found).

    Each set found is added to ``kept`` as soon as it is read, so a caller whose later read fails still
    has what was read before the failure.
    """
    found: dict[str, Json | None] = {}
    for des_id in des_ids:
        key = des_id.lower()
        if key in found:
            continue
        body = kept.get(key)
        if body is None:
            body = read_disk_encryption_set(arm, des_id)
            if body is not None:
                kept[key] = body
        found[key] = body
    return found


def _list_versions(arm: Arm, request: BuildRequest) -> tuple[Json, ...]:
    pages = arm.compute.gallery_image_versions.list_by_gallery_image(
        request.resource_group, request.gallery_name, request.image_definition
    )
    return tuple(version.as_dict() for version in pages)


def every_disk_encrypted(request: BuildRequest, source: Json | None) -> bool:
    """Whether the request encrypts the OS disk and every data disk of the source in some region."""
    os_disk = any(region.os_disk_encryption_set_id for region in request.target_regions)
    encrypted_luns = {disk.lun for region in request.target_regions for disk in region.data_disk_encryption}
    luns = source_data_luns(request, Facts(gallery=None, image_definition=None, source=source))
    return os_disk and luns is not None and luns <= encrypted_luns


def same_subscription_des(request: BuildRequest) -> list[str]:
    """The DES IDs of a request that are read: those in the image version's subscription."""
    return [des_id for des_id in request.disk_encryption_set_ids()
            if resource_ids.parse_resource_id(des_id).subscription == request.subscription_id.lower()]


def gather(arm: Arm, request: BuildRequest, *, kept_des: dict[str, Json] | None = None) -> Facts:
    """Read everything the pre-flight rules look at, sequentially, each distinct resource once.

    ``kept_des``: sets (and key-chain resources) read by an earlier try of the same validation, not read
    again (and filled with each one this call reads, see ``read_disk_encryption_sets``).
    """
    compute = arm.compute
    rg, gallery_name, image = request.resource_group, request.gallery_name, request.image_definition
    kept = {} if kept_des is None else kept_des
    des = read_disk_encryption_sets(arm, same_subscription_des(request), kept)
    key_chains = read_key_chains(arm, des, kept)
    gallery = _read(lambda: compute.galleries.get(rg, gallery_name))
    definition = _read(lambda: compute.gallery_images.get(rg, gallery_name, image)) if gallery else None
    target = (_read(lambda: compute.gallery_image_versions.get(rg, gallery_name, image, request.version))
              if definition else None)
    sources: dict[str, Json | None] = {}

    def source(source_id: str) -> Json | None:
        key = source_id.lower()
        if key not in sources:
            sources[key] = read_source(arm, source_id)
        return sources[key]

    # A VHD or community gallery image is not a resource the source readers know (nothing to read).
    main_source = source(request.source.id) if request.source.is_resource else None
    versions = () if not definition or every_disk_encrypted(request, main_source) else _list_versions(arm, request)
    return Facts(
        gallery=gallery,
        image_definition=definition,
        source=main_source,
        disk_encryption_sets=des,
        target_version=target,
        data_disk_sources={disk.lun: source(disk.id) for disk in request.source.resource_data_disks()},
        existing_versions=tuple(v for v in versions if str(v.get("name", "")).lower() != request.version.lower()),
        key_chains=key_chains,
        key_horizon_days=key_horizon_days(arm.settings.env or os.environ),
    )


# --- pure views over the facts -----------------------------------------------------------------------------



def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def resource_kind(resource: Json) -> str:
    """The resource's type in canonical casing ("Microsoft.Compute/snapshots"), or as given when unknown."""
    kind = str(resource.get("type") or "")
    return next((k for k in (resource_ids.IMAGE, resource_ids.SNAPSHOT, resource_ids.DISK,
                             resource_ids.VIRTUAL_MACHINE, resource_ids.GALLERY_IMAGE_VERSION)
                 if k.lower() == kind.lower()), kind)


def _region(name: object) -> str | None:
    try:
        return normalize_region(str(name))
    except ValueError:
        return None


def version_regions(version: Json) -> set[str]:
    """The normalised target regions of a gallery image version."""
    targets = _list(_get(version, "properties", "publishingProfile", "targetRegions"))
    return {region for region in (_region(_get(t, "name")) for t in targets) if region}


def source_regions(source: Json) -> set[str]:
    """Where a source can be used from: its location, or a gallery image version's target regions."""
    if resource_kind(source) == resource_ids.GALLERY_IMAGE_VERSION:
        return version_regions(source)
    region = _region(source.get("location"))
    return {region} if region else set()


def source_data_luns(request: BuildRequest, facts: Facts) -> frozenset[int] | None:
    """The data-disk LUNs the image version will have; None while the source is unknown (not found).

    An ``osSnapshot`` source brings exactly the data snapshots the request lists; a managed image or VM
    brings ``storageProfile.dataDisks``; a gallery image version its ``storageProfile.dataDiskImages``.
    """
    if request.source.kind in ("osSnapshot", "osVhdUri"):
        return frozenset(disk.lun for disk in request.source.data_disks)
    if facts.source is None:
        return None
    storage = _get(facts.source, "properties", "storageProfile")
    key = "dataDiskImages" if resource_kind(facts.source) == resource_ids.GALLERY_IMAGE_VERSION else "dataDisks"
    return frozenset(d["lun"] for d in _list(_get(storage, key)) if isinstance(_get(d, "lun"), int))


def _disk_des(disk: object) -> str | None:
    """A DES on a disk entry of an image (``diskEncryptionSet``) or VM (``managedDisk.diskEncryptionSet``)."""
    return _get(disk, "diskEncryptionSet", "id") or _get(disk, "managedDisk", "diskEncryptionSet", "id")


def encrypted_disks(version: Json) -> set[str]:
    """The disks a gallery image version encrypts with a DES in any region: "OS disk", "LUN <n>"."""
    disks: set[str] = set()
    for target in _list(_get(version, "properties", "publishingProfile", "targetRegions")):
        if _get(target, "encryption", "osDiskImage", "diskEncryptionSetId"):
            disks.add("OS disk")
        for data in _list(_get(target, "encryption", "dataDiskImages")):
            if _get(data, "diskEncryptionSetId") and isinstance(_get(data, "lun"), int):
                disks.add(f"LUN {data['lun']}")
    return disks


def is_customer_key_encrypted(resource: Json) -> bool:
    """Whether a source carries customer-managed-key encryption on any of its disks."""
    kind = resource_kind(resource)
    properties = resource.get("properties") or {}
    if kind in (resource_ids.SNAPSHOT, resource_ids.DISK):
        encryption = properties.get("encryption") or {}
        return bool(encryption.get("diskEncryptionSetId")) or encryption.get("type") not in (None, PLATFORM_KEY)
    if kind == resource_ids.GALLERY_IMAGE_VERSION:
        return bool(encrypted_disks(resource))
    storage = properties.get("storageProfile") or {}
    return any(_disk_des(disk) for disk in [storage.get("osDisk"), *_list(storage.get("dataDisks"))])


def source_os_type(source: Json) -> str | None:
    """Linux/Windows as the source states it (images and VMs on the OS disk, disks and snapshots on top)."""
    properties = source.get("properties") or {}
    value = properties.get("osType") or _get(properties, "storageProfile", "osDisk", "osType")
    return str(value) if value else None


def source_generation(source: Json) -> str | None:
    """The Hyper-V generation a managed image, disk or snapshot states (V1/V2), else None."""
    value = _get(source, "properties", "hyperVGeneration")
    return str(value) if value else None


def sharing_kind(gallery: Json) -> str:
    """"private", "direct-shared" or "community", from ``properties.sharingProfile``.

    ``permissions`` "Groups" is direct sharing (to subscriptions or tenants) unless community gallery
    information is present; "Community" is a community gallery; absent or "Private" is private.
    """
    profile = _get(gallery, "properties", "sharingProfile") or {}
    permissions = str(profile.get("permissions") or "Private").lower()
    if permissions == "community" or (permissions == "groups" and profile.get("communityGalleryInfo")):
        return "community"
    if permissions == "groups":
        return "direct-shared"
    return "private"


def is_shared(gallery: Json) -> bool:
    """Any sharing at all: a sharing profile other than private, or groups it is shared with."""
    profile = _get(gallery, "properties", "sharingProfile") or {}
    return sharing_kind(gallery) != "private" or bool(_list(profile.get("groups")))


def feature(definition: Json, name: str) -> str | None:
    """The value of an image definition feature (``properties.features[{name, value}]``), by name."""
    for item in _list(_get(definition, "properties", "features")):
        if str(_get(item, "name") or "").lower() == name.lower():
            return str(item.get("value"))
    return None
