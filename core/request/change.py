"""A change of an existing image version's target regions: add regions (each with its DES), remove regions.

``az sig image-version update --target-regions`` rebuilds the regions from the string and drops the
encryption already there. Here a change is planned against the version as ARM returns it: every kept
region goes back exactly as it was (encryption included), each added region must encrypt every disk
that is encrypted elsewhere (all-or-nothing per disk, as the service requires), nothing may lose its
customer-managed key, and a region is only removed when ``allowDeletionOfReplicatedLocations`` is true.

``parse_change`` reads the request (offline); ``plan_change`` is pure over (change, version GET) and
returns the full PUT body or the problems, each naming its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.azure.regions import PUBLIC_REGIONS, normalize_region
from core.azure.resource_ids import image_version_id
from core.request import cli_strings
from core.request.canonical import region_to_dict
from core.request.fields import read_named, read_resource_group, read_subscription, read_version
from core.request.model import Problem, RegionTarget, RequestInvalid
from core.request.reader import GALLERY_NAME, IMAGE_DEFINITION_NAME, FieldReader, type_name
from core.request.targets import apply_cvm_strings, apply_encryption_strings, check_regions, read_target_regions

OPERATION = "changeRegions"
CHANGE_FIELDS = ("operation", "subscriptionId", "resourceGroup", "galleryName", "imageDefinition", "version",
                 "addRegions", "addRegionEncryption", "addRegionCvmEncryption", "removeRegions",
                 "allowDeletionOfReplicatedLocations")
# Read-only properties of a GET that a PUT must not send back.
_READ_ONLY_PUBLISHING = ("publishedDate",)
_READ_ONLY_SAFETY = ("reportedForPolicyViolation", "policyViolations")
_READ_ONLY_DISK = ("sizeInGB",)
# The tag naming the change that last wrote the version (its build ID): a repeat of the change's PUT is
# recognised by it. ``imageBuilder.buildId``, the build that created the version, is kept as it was.
CHANGE_TAG = "imageBuilder.changeId"


@dataclass(frozen=True)
class RegionChange:
    subscription_id: str
    resource_group: str
    gallery_name: str
    image_definition: str
    version: str
    add: tuple[RegionTarget, ...] = ()
    remove: tuple[str, ...] = ()
    allow_deletion_of_replicated_locations: bool | None = None

    @property
    def resource_id(self) -> str:
        return image_version_id(self.subscription_id, self.resource_group, self.gallery_name,
                                self.image_definition, self.version)


def is_change(raw: object) -> bool:
    return isinstance(raw, dict) and raw.get("operation") == OPERATION


def parse_change(raw: object, *, known_regions: frozenset[str] = PUBLIC_REGIONS) -> RegionChange:
    """Validate a change request (a decoded JSON object). Raises ``RequestInvalid`` listing every problem."""
    parser = FieldReader(known_regions)
    obj = parser.object(raw, "request", "a JSON object")
    if obj is None:
        raise RequestInvalid(parser.problems)
    found = parser.fields(obj, CHANGE_FIELDS, "", ignore_case=False)
    values: dict[str, Any] = {}
    for name, read, args in (
        ("subscriptionId", read_subscription, ()),
        ("resourceGroup", read_resource_group, ()),
        ("galleryName", read_named, (GALLERY_NAME, "letters, digits, '_' and '.', up to 80 characters")),
        ("imageDefinition", read_named, (IMAGE_DEFINITION_NAME, "letters, digits, '_', '.' and '-', up to 80")),
        ("version", read_version, ()),
    ):
        if name not in found:
            parser.add(name, "is required")
        else:
            values[name] = read(parser, found[name][1], found[name][0], *args)
    if values.get("subscriptionId"):
        parser.subscription = values["subscriptionId"]
    if values.get("resourceGroup"):
        parser.resource_group = values["resourceGroup"]
    added = []
    if "addRegions" in found:
        entries = read_target_regions(parser, found["addRegions"][1], "addRegions")
        check_regions(parser, entries, "addRegions", None)
        if "addRegionEncryption" in found:
            apply_encryption_strings(parser, found["addRegionEncryption"][1], "addRegionEncryption", entries)
        if "addRegionCvmEncryption" in found:
            apply_cvm_strings(parser, found["addRegionCvmEncryption"][1], "addRegionCvmEncryption", entries)
        added = [entry.target for entry in entries]
    else:
        for name in ("addRegionEncryption", "addRegionCvmEncryption"):
            if name in found:
                parser.add(name, "needs addRegions: give the regions it encrypts")
    removed = _read_removed(parser, found["removeRegions"][1]) if "removeRegions" in found else []
    if not added and not removed and "addRegions" not in found and "removeRegions" not in found:
        parser.add("addRegions", "a change needs addRegions and/or removeRegions")
    both = sorted({t.name for t in added if t} & set(removed))
    if both:
        parser.add("removeRegions", f"{', '.join(both)} is both added and removed; keep it in one list")
    allow = None
    if "allowDeletionOfReplicatedLocations" in found:
        allow = parser.boolean(found["allowDeletionOfReplicatedLocations"][1], "allowDeletionOfReplicatedLocations")
    if parser.problems:
        raise RequestInvalid(parser.problems)
    return RegionChange(values["subscriptionId"], values["resourceGroup"], values["galleryName"],
                        values["imageDefinition"], values["version"], tuple(added), tuple(removed), allow)


def _read_removed(parser: FieldReader, value: object) -> list[str]:
    items = cli_strings.split_entries(value) if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) for item in items):
        parser.add("removeRegions", f"must be a space-separated string or a list of region names, not "
                                    f"{type_name(value)}")
        return []
    names: list[str] = []
    for index, item in enumerate(items):
        try:
            name = normalize_region(item)
        except ValueError as error:
            parser.add(f"removeRegions[{index}]", str(error))
            continue
        if name in names:
            parser.add(f"removeRegions[{index}]", f"'{name}' is listed twice")
        names.append(name)
    return names


def change_to_dict(change: RegionChange) -> dict[str, Any]:
    """The canonical JSON of a change (the inverse of ``parse_change``)."""
    result: dict[str, Any] = {
        "operation": OPERATION, "subscriptionId": change.subscription_id, "resourceGroup": change.resource_group,
        "galleryName": change.gallery_name, "imageDefinition": change.image_definition, "version": change.version,
    }
    if change.add:
        result["addRegions"] = [region_to_dict(region) for region in change.add]
    if change.remove:
        result["removeRegions"] = list(change.remove)
    if change.allow_deletion_of_replicated_locations is not None:
        result["allowDeletionOfReplicatedLocations"] = change.allow_deletion_of_replicated_locations
    return result


# --- planning against the version as ARM returns it (pure) ------------------------------------------------


def _region_key(name: object) -> str:
    try:
        return normalize_region(str(name))
    except ValueError:
        return str(name)


def _disks(region: dict[str, Any]) -> dict[str, str]:
    """{disk label: DES ID} of a region in REST shape ("OS disk", "confidential OS disk", "LUN <n>")."""
    encryption = region.get("encryption") or {}
    os_disk = encryption.get("osDiskImage") or {}
    disks: dict[str, str] = {}
    if os_disk.get("diskEncryptionSetId"):
        disks["OS disk"] = os_disk["diskEncryptionSetId"]
    secure = (os_disk.get("securityProfile") or {}).get("secureVMDiskEncryptionSetId")
    if secure:
        disks["confidential OS disk"] = secure
    for disk in encryption.get("dataDiskImages") or []:
        if disk.get("diskEncryptionSetId"):
            disks[f"LUN {disk.get('lun')}"] = disk["diskEncryptionSetId"]
    return disks


def plan_change(change: RegionChange, version: dict[str, Any], *,
                change_id: str | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """The PUT body that applies ``change`` to ``version`` (a GET), and the problems that forbid it.

    ``change_id`` (the change's build ID) goes into the body's tags as ``CHANGE_TAG``.
    """
    properties = version.get("properties") or {}
    publishing = dict(properties.get("publishingProfile") or {})
    location = _region_key(version.get("location"))
    existing = [dict(region) for region in publishing.get("targetRegions") or []]
    existing_names = {_region_key(region.get("name")): region for region in existing}
    problems: list[Problem] = []
    for index, name in enumerate(change.remove):
        if name not in existing_names:
            problems.append(Problem(f"removeRegions[{index}]", f"'{name}' is not a target region of "
                                    f"{change.version} (its regions: {', '.join(sorted(existing_names))})"))
        elif name == location:
            problems.append(Problem(f"removeRegions[{index}]", f"'{name}' is the image version's location, which "
                                    "ARM requires among its target regions; it cannot be removed"))
    allow = change.allow_deletion_of_replicated_locations
    if allow is None:
        allow = (properties.get("safetyProfile") or {}).get("allowDeletionOfReplicatedLocations")
    if change.remove and allow is not True:
        problems.append(Problem("allowDeletionOfReplicatedLocations", "removing a replicated region needs the "
                                "version's safetyProfile.allowDeletionOfReplicatedLocations to be true; set "
                                "allowDeletionOfReplicatedLocations: true in this change"))
    kept = [region for region in existing if _region_key(region.get("name")) not in change.remove]
    added = [region_to_dict(region) for region in change.add]
    for index, region in enumerate(change.add):
        if region.name in existing_names:
            problems.append(Problem(f"addRegions[{index}]", f"'{region.name}' is already a target region; its "
                                    "encryption is kept as it is"))
    problems += _all_or_nothing(kept, added)
    body: dict[str, Any] = {"location": version.get("location"), "tags": dict(version.get("tags") or {})}
    if change_id is not None:
        body["tags"][CHANGE_TAG] = change_id
    for key in _READ_ONLY_PUBLISHING:
        publishing.pop(key, None)
    publishing["targetRegions"] = kept + added
    new_properties: dict[str, Any] = {"publishingProfile": publishing,
                                      "storageProfile": _storage_profile(properties.get("storageProfile") or {})}
    safety = {k: v for k, v in (properties.get("safetyProfile") or {}).items() if k not in _READ_ONLY_SAFETY}
    if change.allow_deletion_of_replicated_locations is not None:
        safety["allowDeletionOfReplicatedLocations"] = change.allow_deletion_of_replicated_locations
    if safety:
        new_properties["safetyProfile"] = safety
    body["properties"] = new_properties
    return body, problems


def carries(change: RegionChange, version: dict[str, Any], change_id: str) -> bool:
    """Whether ``version`` (a GET) already has this change, written by it: every added region there, every
    removed one gone, and ``CHANGE_TAG`` naming ``change_id`` (an earlier try of the change's PUT reached ARM).
    Regions alone do not tell: someone else may have made the same edit."""
    names = {_region_key(region.get("name"))
             for region in ((version.get("properties") or {}).get("publishingProfile") or {}).get("targetRegions")
             or []}
    tagged = (version.get("tags") or {}).get(CHANGE_TAG) == change_id
    return tagged and all(r.name in names for r in change.add) and not names & set(change.remove)


def _all_or_nothing(kept: list[dict[str, Any]], added: list[dict[str, Any]]) -> list[Problem]:
    """Every disk encrypted in a kept region is encrypted in each added region, and an added region
    encrypts no disk that the kept regions leave on platform keys (CMK is never half-applied)."""
    problems = []
    elsewhere: dict[str, tuple[str, str]] = {}
    for region in kept:
        for disk, des in _disks(region).items():
            elsewhere.setdefault(disk, (str(region.get("name")), des))
    for index, region in enumerate(added):
        disks = _disks(region)
        for disk, (where, des) in elsewhere.items():
            if disk not in disks:
                problems.append(Problem(f"addRegions[{index}].encryption", f"a disk encryption set is required for "
                                        f"the {disk} in target region '{region['name']}' since disk encryption set "
                                        f"'{des.rsplit('/', 1)[-1]}' is used for it in region '{where}'; add a set "
                                        f"located in '{region['name']}' for it (addRegionEncryption)"))
        for disk in disks:
            if kept and disk not in elsewhere:
                problems.append(Problem(f"addRegions[{index}].encryption", f"the {disk} is encrypted here but not in "
                                        "the version's other regions, and their encryption cannot change; remove "
                                        "it from this region"))
    return problems


def _storage_profile(storage: dict[str, Any]) -> dict[str, Any]:
    """The storage profile to send back: sources and host caching, without the sizes a GET adds."""
    result: dict[str, Any] = {}
    if storage.get("source"):
        result["source"] = storage["source"]
    if storage.get("osDiskImage"):
        result["osDiskImage"] = {k: v for k, v in storage["osDiskImage"].items() if k not in _READ_ONLY_DISK}
    if storage.get("dataDiskImages"):
        result["dataDiskImages"] = [{k: v for k, v in disk.items() if k not in _READ_ONLY_DISK}
                                    for disk in storage["dataDiskImages"]]
    return result
