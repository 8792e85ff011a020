"""Target regions in all three shapes and their encryption, including the CLI's encryption strings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from core.azure import resource_ids
from core.azure.regions import MAX_TARGET_REGIONS, check_known
from core.request import cli_strings
from core.request.fields import read_location
from core.request.model import (
    DataDiskEncryption,
    RegionTarget,
    SecurityProfile,
)
from core.request.reader import (
    REGION_FIELDS,
    FieldReader,
    join_path,
    type_name,
)
from core.request.target_encryption import checked_security_profile, encryption_object

# --- target regions --------------------------------------------------------------------------------------


@dataclass
class RegionEntry:
    """A target region as read, before the encryption string is merged in."""

    path: str
    target: RegionTarget | None
    has_encryption: bool = False
    label: str = ""

    @property
    def where(self) -> str:
        return self.label or self.path


def read_target_regions(parser: FieldReader, value: object, path: str) -> list[RegionEntry]:
    count = len(cli_strings.split_entries(value)) if isinstance(value, str) else \
        len(value) if isinstance(value, list) else 0
    if count > MAX_TARGET_REGIONS:
        parser.add(path, f"lists {count} regions; an image version has at most {MAX_TARGET_REGIONS} (each region "
                         "once)")
        return []
    if isinstance(value, str):
        entries = cli_strings.split_entries(value)
        if not entries:
            parser.add(path, "lists no region; leave targetRegions out to publish to the location only")
        regions = []
        for number, entry in enumerate(entries, start=1):
            target = _cli_region(parser, entry, path, f"entry {number} ")
            regions.append(RegionEntry(path, target, label=f"entry {number} of {path}"))
        return regions
    if not isinstance(value, list):
        parser.add(path, f"must be the CLI string or a list of regions, not {type_name(value)}")
        return []
    if not value:
        parser.add(path, "is an empty list; leave targetRegions out to publish to the location only")
    regions = []
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if isinstance(item, str):
            regions.append(RegionEntry(item_path, _cli_region(parser, item, item_path, "")))
        elif isinstance(item, dict):
            regions.append(_object_region(parser, item, item_path))
        else:
            parser.add(item_path, f"must be a '<region>[=<count>][=<storage type>]' string or a region object, "
                                  f"not {type_name(item)}")
            regions.append(RegionEntry(item_path, None))
    return regions


def _cli_region(parser: FieldReader, entry: str, path: str, label: str) -> RegionTarget | None:
    if parser.text(entry, path) is None:
        return None
    try:
        parsed = cli_strings.parse_target_region(entry.strip())
        check_known(parsed.name, parser.known_regions)
    except ValueError as error:
        parser.add(path, f"{label}{error}")
        return None
    return RegionTarget(parsed.name, parsed.replica_count, parsed.storage_account_type)


def _object_region(parser: FieldReader, item: dict, path: str) -> RegionEntry:
    found = parser.fields(item, REGION_FIELDS, path, ignore_case=True)
    ok = True
    name = None
    if "name" not in found:
        parser.add(join_path(path, "name"), "is required: give the region, e.g. 'eastus2' or 'East US 2'")
        ok = False
    else:
        name = read_location(parser, found["name"][1], found["name"][0])
    if "regionalReplicaCount" in found and "replicaCount" in found:
        parser.add(found["replicaCount"][0], "duplicates regionalReplicaCount (ReplicaCount is PowerShell's "
                                             "name for it); keep one")
    count_field = found.get("regionalReplicaCount") or found.get("replicaCount")
    count = None
    if count_field:
        count = parser.integer(count_field[1], count_field[0], minimum=cli_strings.MIN_REPLICAS,
                               maximum=cli_strings.MAX_REPLICAS)
        ok = ok and count is not None
    storage = None
    if "storageAccountType" in found:
        storage = parser.choice(found["storageAccountType"][1], found["storageAccountType"][0],
                                cli_strings.STORAGE_ACCOUNT_TYPES)
        ok = ok and storage is not None
    exclude = None
    if "excludeFromLatest" in found:
        exclude = parser.boolean(found["excludeFromLatest"][1], found["excludeFromLatest"][0])
        ok = ok and exclude is not None
    os_des, data, security = None, (), None
    if "encryption" in found:
        parsed = encryption_object(parser, *found["encryption"])
        ok = ok and parsed is not None
        os_des, data, security = parsed or (None, (), None)
    if not ok or name is None:
        return RegionEntry(path, None, "encryption" in found)
    target = RegionTarget(name, count, storage, os_des, data, exclude, security)
    return RegionEntry(path, target, "encryption" in found)




def apply_encryption_strings(parser: FieldReader, value: object, path: str, regions: list[RegionEntry]) -> None:
    """Merge ``targetRegionEncryption`` (one entry per target region, in order) into ``regions``.

    Without ``targetRegions`` the one target region is the home location, and the encryption applies to
    it: the Azure CLI silently drops ``--target-region-encryption`` when ``--target-regions`` is absent,
    publishing an unencrypted image; we do not. A count that does not match is an error, never a guess.
    """
    if isinstance(value, str):
        entries = cli_strings.split_entries(value)
        paths = [path] * len(entries)
        labels = [f"entry {number} " for number in range(1, len(entries) + 1)]
    elif isinstance(value, list) and all(isinstance(item, str | None) for item in value):
        entries = ["" if item is None else item for item in value]
        paths = [f"{path}[{index}]" for index in range(len(entries))]
        labels = [""] * len(entries)
    else:
        parser.add(path, "must be the CLI string or a list of per-region strings like 'osdes,0,datades'")
        return
    if given_twice(parser, path, regions, "give encryption in one place only"):
        return
    count_matches = len(entries) == len(regions)
    if regions and not count_matches:  # no regions: targetRegions itself is wrong and already reported
        defaulted = " (without targetRegions the location is the only one)" if regions[0].path == "location" else ""
        parser.add(path, f"has {len(entries)} entries but there are {len(regions)} target regions{defaulted}; "
                         "give one entry per target region in the same order (null for a region without "
                         "encryption)")
    for index, (entry, entry_path, label) in enumerate(zip(entries, paths, labels, strict=True)):
        try:
            parsed = cli_strings.parse_region_encryption(entry)
        except ValueError as error:
            parser.add(entry_path, f"{label}{error}")
            continue
        region = regions[index] if count_matches else None
        if parsed is None:
            continue
        os_des, data = resolve_entry(parser, parsed, entry_path, label)
        if region is not None and region.target is not None:
            region.target = replace(region.target, os_disk_encryption_set_id=os_des, data_disk_encryption=data)


def resolve_entry(parser: FieldReader, parsed: cli_strings.CliRegionEncryption, path: str,
                  label: str) -> tuple[str | None, tuple[DataDiskEncryption, ...]]:
    """The DES references of one parsed CLI encryption entry resolved to IDs (a problem for each that is not)."""
    os_des = None
    if parsed.os_disk_encryption_set is not None:
        os_des = entry_reference(parser, parsed.os_disk_encryption_set, path, f"{label}OS disk: ")
    data = []
    for lun, des in parsed.data_disks:
        des_id = entry_reference(parser, des, path, f"{label}LUN {lun}: ")
        if des_id is not None:
            data.append(DataDiskEncryption(lun, des_id))
    return os_des, tuple(data)


def entry_reference(parser: FieldReader, value: str, path: str, label: str) -> str | None:
    try:
        return resource_ids.resolve_reference(value, kinds=(resource_ids.DISK_ENCRYPTION_SET,),
                                              subscription=parser.subscription,
                                              resource_group=parser.resource_group)
    except ValueError as error:
        parser.add(path, f"{label}{error}")
        return None


def check_regions(parser: FieldReader, regions: list[RegionEntry], path: str, location: str | None) -> None:
    seen: dict[str, str] = {}
    for region in regions:
        if region.target is None:
            continue
        name = region.target.name
        if name in seen:
            parser.add(region.path, f"{region.label + ': ' if region.label else ''}region '{name}' is already "
                                    f"listed at {seen[name]} (names are compared after normalisation, "
                                    "'East US 2' = 'eastus2'); list each region once")
        else:
            seen[name] = region.where
    complete = all(region.target is not None for region in regions)
    if location and regions and complete and location not in seen:
        parser.add(path, f"must include the image version's location '{location}' (ARM requires it); "
                         f"add '{location}'")




class _Target(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def has_encryption(self) -> bool: ...


def given_twice(parser: FieldReader, path: str, targets: Sequence[_Target], fix: str) -> bool:
    """CLI strings at ``path`` while some of ``targets`` (regions or edge zones) have encryption objects: the
    problem is reported, naming those objects and ``fix``."""
    with_objects = [target.path for target in targets if target.has_encryption]
    if with_objects:
        parser.add(path, f"contradicts the encryption objects in {', '.join(with_objects)}; {fix}")
    return bool(with_objects)


def cli_entries(parser: FieldReader, value: object, path: str, example: str) -> list[tuple[str, str, str]] | None:
    """A CLI per-region value as (entry, path, label) triples: a space-separated string or a list of strings."""
    if isinstance(value, str):
        entries = cli_strings.split_entries(value)
        return [(entry, path, f"entry {number} ") for number, entry in enumerate(entries, start=1)]
    if isinstance(value, list) and all(isinstance(item, str | None) for item in value):
        return [("null" if item is None else item, f"{path}[{index}]", "") for index, item in enumerate(value)]
    parser.add(path, f"must be the CLI string or a list of per-region strings like '{example}'")
    return None


def apply_cvm_strings(parser: FieldReader, value: object, path: str, regions: list[RegionEntry]) -> None:
    """Merge ``targetRegionCvmEncryption`` (``--target-region-cvm-encryption``: one entry per target region,
    in order, ``<os_cvm_encryption_type>,<os_cvm_des>``) into ``regions``' OS-disk security profiles."""
    entries = cli_entries(parser, value, path, "EncryptedWithCmk,cvmdes")
    if entries is None:
        return
    if given_twice(parser, path, regions, "give the security profile there "
                   "(encryption.osDiskImage.securityProfile) or use CLI strings only"):  # fmt: skip
        return
    if regions and len(entries) != len(regions):
        parser.add(path, f"has {len(entries)} entries but there are {len(regions)} target regions; give one entry "
                         "per target region in the same order (null for a region without one)")
        return
    for (entry, entry_path, label), region in zip(entries, regions, strict=False):
        try:
            parsed = cli_strings.parse_cvm_encryption(entry)
        except ValueError as error:
            parser.add(entry_path, f"{label}{error}")
            continue
        if parsed is None or region.target is None:
            continue
        des_id = None
        if parsed.secure_disk_encryption_set is not None:
            des_id = entry_reference(parser, parsed.secure_disk_encryption_set, entry_path, f"{label}secure DES: ")
            if des_id is None:
                continue
        profile = SecurityProfile(parsed.confidential_vm_encryption_type, des_id)
        if checked_security_profile(parser, entry_path, profile) is not None:
            region.target = replace(region.target, os_security_profile=profile)
