"""Rules on the request's own shape: version name, regions, replica counts, storage types, dates, LUNs.

``parse_request`` already refuses most of these; they are checked again here because a BuildRequest
can be built by other code (Event Grid templates, a replayed store entry), and because the service
answers each with an error only after the PUT.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

from core.policy.facts import Facts
from core.policy.registry import Violation, rule
from core.policy.views import normalized, region_field, region_name, source_field
from core.request import BuildRequest
from core.request.cli_strings import MAX_REPLICAS, MIN_REPLICAS, STORAGE_ACCOUNT_TYPES

_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_INT32_MAX = 2**31 - 1
_STORAGE_TYPES = {value.lower() for value in STORAGE_ACCOUNT_TYPES}


@rule("VersionNameInvalid")
def version_name(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The version name is Major.Minor.Patch, each a whole number up to 2147483647."""
    parts = request.version.split(".")
    if not _VERSION.fullmatch(request.version) or any(int(part) > _INT32_MAX for part in parts):
        yield Violation("version", f"'{request.version}' is not a valid image version name: the service wants "
                                   "Major(int).Minor(int).Patch(int), e.g. 1.0.0 or 2018.12.1; rename the version")


@rule("DuplicateRegion")
def duplicate_regions(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """No region is listed twice in the target regions, comparing names after normalisation."""
    first: dict[str, int] = {}
    for index, region in enumerate(request.target_regions):
        name = region_name(region)
        if name in first:
            yield Violation(f"{region_field(index)}.name",
                            f"region '{region.name}' duplicates targetRegions[{first[name]}] "
                            f"('{request.target_regions[first[name]].name}'): duplicate regions are not allowed "
                            "in target publishing regions ('East US 2' = 'eastus2'); list each region once")
        else:
            first[name] = index


@rule("LocationNotInTargetRegions")
def location_in_target_regions(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The image version's home location is one of its target regions."""
    names = [region_name(region) for region in request.target_regions]
    if names and normalized(request.location) not in names:
        yield Violation("targetRegions", f"publishing regions {', '.join(names)} must contain the location of the "
                                         f"image version '{request.location}'; add '{request.location}' to "
                                         "targetRegions or change location")


@rule("ReplicaCountOutOfRange")
def replica_counts(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Replica counts, overall and per region, are between 1 and 100."""
    counts = [("replicaCount", "the default replica count", request.replica_count)]
    counts += [(f"{region_field(i)}.regionalReplicaCount", f"region '{region_name(r)}'", r.replica_count)
               for i, r in enumerate(request.target_regions)]
    for field, what, count in counts:
        if count is not None and not MIN_REPLICAS <= count <= MAX_REPLICAS:
            yield Violation(field, f"{what} asks for {count} replicas; the service allows {MIN_REPLICAS} to "
                                   f"{MAX_REPLICAS} per region; set a count in that range")


@rule("StorageAccountTypeInvalid")
def storage_account_types(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Storage account types are ones the gallery knows (Standard_LRS, Standard_ZRS, Premium_LRS, PremiumV2_LRS)."""
    types = [("storageAccountType", "the default storage account type", request.storage_account_type)]
    types += [(f"{region_field(i)}.storageAccountType", f"region '{region_name(r)}'", r.storage_account_type)
              for i, r in enumerate(request.target_regions)]
    for field, what, value in types:
        if value is not None and value.lower() not in _STORAGE_TYPES:
            yield Violation(field, f"{what}: '{value}' is not a storage account type for image replicas; use one "
                                   f"of {', '.join(STORAGE_ACCOUNT_TYPES)}")


@rule("EndOfLifeDateInPast")
def end_of_life_in_future(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The end-of-life date, when given, lies in the future."""
    if request.end_of_life_date is None:
        return
    try:
        moment = datetime.fromisoformat(request.end_of_life_date)
    except ValueError:
        yield Violation("endOfLifeDate", f"'{request.end_of_life_date}' is not a date; use YYYY-MM-DD")
        return
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= facts.observed_at:
        yield Violation("endOfLifeDate", f"end-of-life date {request.end_of_life_date} is not in the future (now "
                                         f"{facts.observed_at.isoformat(timespec='seconds')}); a version would be "
                                         "published already retired: give a later date or leave it out")


@rule("DuplicateLun")
def duplicate_luns(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """No LUN is given twice in one target region's data-disk encryption."""
    for index, region in enumerate(request.target_regions):
        counts = Counter(disk.lun for disk in region.data_disk_encryption)
        for lun in sorted(lun for lun, count in counts.items() if count > 1):
            yield Violation(f"{region_field(index)}.encryption.dataDiskImages",
                            f"duplicate LUN {lun} in target region '{region_name(region)}' "
                            "encryption.dataDiskImages; give each LUN one disk encryption set")


@rule("DuplicateSourceDisk")
def duplicate_source_disks(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Each source disk or snapshot is used once, and each data-disk source has its own LUN."""
    seen_ids = {request.source.id.lower(): source_field(request)}
    seen_luns: dict[int, str] = {}
    for index, disk in enumerate(request.source.data_disks):
        field = f"source.dataSnapshots[{index}]"
        if disk.id.lower() in seen_ids:
            yield Violation(f"{field}.id", f"{disk.id} is already the source at {seen_ids[disk.id.lower()]}: source "
                                           "ids must be unique for each disk; give each disk its own snapshot")
        else:
            seen_ids[disk.id.lower()] = f"{field}.id"
        if disk.lun in seen_luns:
            yield Violation(f"{field}.lun", f"LUN {disk.lun} is already used by {seen_luns[disk.lun]}: lun numbers "
                                            "must be unique for each data disk; renumber one of them")
        else:
            seen_luns[disk.lun] = field
