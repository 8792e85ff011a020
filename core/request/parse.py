"""``parse_request``: a decoded JSON request in any of the three shapes -> ``BuildRequest``.

It accepts Azure CLI strings, REST objects and PowerShell hashtables as ConvertTo-Json emits them,
resolves names to resource IDs as the CLI does, and either returns one normalised request or raises
``RequestInvalid`` listing every problem found, each naming its field by JSON path and saying how to fix
it. Only offline rules live here; checks that need ARM belong to the policy checks."""

from __future__ import annotations

import json
from typing import Any

from core.azure import resource_ids
from core.azure.regions import PUBLIC_REGIONS
from core.base.problems import Problem
from core.request import cli_strings
from core.request.canonical import request_to_dict
from core.request.edge_zones import apply_edge_zone_encryption, read_edge_zones
from core.request.fields import (
    read_end_of_life,
    read_host_caching,
    read_location,
    read_named,
    read_resource_group,
    read_subscription,
    read_tags,
    read_version,
)
from core.request.model import (
    ENCRYPTION_TYPES,
    REPLICATION_MODES,
    SCHEMA_VERSION,
    STORAGE_ACCOUNT_STRATEGIES,
    TOP_LEVEL_FIELDS,
    BuildRequest,
    ImageSource,
    RegionTarget,
    RequestInvalid,
)
from core.request.reader import GALLERY_NAME, IMAGE_DEFINITION_NAME, FieldReader
from core.request.sources import read_source
from core.request.targets import (
    RegionEntry,
    apply_cvm_strings,
    apply_encryption_strings,
    check_regions,
    read_target_regions,
)
from core.request.verification import read_verification

# A build's state row holds its request, beside status, history counters and per-region progress; Azure Table
# stores at most 32K characters (64 KiB of UTF-16) in one property.
MAX_STORED_REQUEST_CHARS = 20_000

# --- the request -----------------------------------------------------------------------------------------


def parse_request(raw: object, *, known_regions: frozenset[str] = PUBLIC_REGIONS) -> BuildRequest:
    """Validate and normalise a v1 request (a JSON object already decoded). Raises ``RequestInvalid``.

    ``known_regions``: the regions of the configured cloud (``Settings.known_regions``).
    """
    parser = FieldReader(known_regions)
    obj = parser.object(raw, "request", "a JSON object")
    if obj is None:
        raise RequestInvalid(parser.problems.final())
    found = parser.fields(obj, TOP_LEVEL_FIELDS, "", ignore_case=False)

    def required(name: str, read: Any, *args: Any) -> Any:
        if name not in found:
            parser.add(name, "is required")
            return None
        return read(parser, found[name][1], found[name][0], *args)

    if "schemaVersion" in found:
        version_value = found["schemaVersion"][1]
        if isinstance(version_value, bool) or version_value != SCHEMA_VERSION:
            parser.add("schemaVersion", f"{version_value!r} is not supported: use {SCHEMA_VERSION} (or leave it out)")
    subscription = required("subscriptionId", read_subscription)
    resource_group = required("resourceGroup", read_resource_group)
    gallery = required("galleryName", read_named, GALLERY_NAME,
                       "letters and digits, with '_' and '.' allowed in the middle, up to 80 characters")
    image = required("imageDefinition", read_named, IMAGE_DEFINITION_NAME,
                     "letters and digits, with '_', '.' and '-' allowed in the middle, up to 80 characters")
    version = required("version", read_version)
    location = required("location", read_location)
    if subscription:
        parser.subscription = subscription
    if resource_group:
        parser.resource_group = resource_group
    source = required("source", read_source)

    if "targetRegions" in found:
        regions = read_target_regions(parser, found["targetRegions"][1], "targetRegions")
        check_regions(parser, regions, "targetRegions", location)
    else:
        regions = [RegionEntry("location", RegionTarget(location) if location else None)]
    if "targetRegionEncryption" in found:
        apply_encryption_strings(parser, found["targetRegionEncryption"][1], "targetRegionEncryption", regions)
    if "targetRegionCvmEncryption" in found:
        apply_cvm_strings(parser, found["targetRegionCvmEncryption"][1], "targetRegionCvmEncryption", regions)
    zones = read_edge_zones(parser, found["targetEdgeZones"][1], "targetEdgeZones") if "targetEdgeZones" in found \
        else []
    if "targetEdgeZoneEncryption" in found:
        if "targetEdgeZones" not in found:
            parser.add("targetEdgeZoneEncryption", "needs targetEdgeZones: give the edge zones it encrypts")
        else:
            apply_edge_zone_encryption(parser, found["targetEdgeZoneEncryption"][1], "targetEdgeZoneEncryption", zones)

    optional: dict[str, Any] = {}
    if "replicaCount" in found:
        optional["replica_count"] = parser.integer(found["replicaCount"][1], "replicaCount",
                                                   minimum=cli_strings.MIN_REPLICAS, maximum=cli_strings.MAX_REPLICAS)
    if "storageAccountType" in found:
        optional["storage_account_type"] = parser.choice(found["storageAccountType"][1], "storageAccountType",
                                                         cli_strings.STORAGE_ACCOUNT_TYPES)
    if "endOfLifeDate" in found:
        optional["end_of_life_date"] = read_end_of_life(parser, found["endOfLifeDate"][1], "endOfLifeDate")
    if "excludeFromLatest" in found:
        optional["exclude_from_latest"] = parser.boolean(found["excludeFromLatest"][1], "excludeFromLatest")
    if "replicationMode" in found:
        optional["replication_mode"] = parser.choice(found["replicationMode"][1], "replicationMode",
                                                     REPLICATION_MODES)
    if "tags" in found:
        optional["tags"] = read_tags(parser, found["tags"][1], "tags")
    for name, key in (("allowDeletionOfReplicatedLocations", "allow_deletion_of_replicated_locations"),
                      ("blockDeletionBeforeEndOfLife", "block_deletion_before_end_of_life")):
        if name in found:
            optional[key] = parser.boolean(found[name][1], name)
    if optional.get("block_deletion_before_end_of_life") and "endOfLifeDate" not in found:
        parser.add("blockDeletionBeforeEndOfLife", "blocks deletion until the end of life, but no endOfLifeDate is "
                                                   "given; add endOfLifeDate or remove blockDeletionBeforeEndOfLife")
    if "storageAccountStrategy" in found:
        optional["storage_account_strategy"] = parser.choice(found["storageAccountStrategy"][1],
                                                             "storageAccountStrategy", STORAGE_ACCOUNT_STRATEGIES)
    if "hostCaching" in found:
        optional["os_host_caching"], optional["data_host_caching"] = read_host_caching(parser, found["hostCaching"][1],
                                                                                       "hostCaching")
        _check_host_caching_luns(parser, source, optional["data_host_caching"])
    if "verification" in found:
        names = {region.target.name for region in regions if region.target is not None}
        optional["verification"] = read_verification(parser, found["verification"][1], "verification", names)
    if "encryptionType" in found:
        optional["encryption_type"] = parser.choice(found["encryptionType"][1], "encryptionType", ENCRYPTION_TYPES)
        complete = all(region.target is not None for region in (*regions, *zones))
        if complete and not any(region.target.encrypted for region in (*regions, *zones)):
            parser.add("encryptionType", "is given but no target region names a disk encryption set; add "
                                         "encryption to the target regions or remove encryptionType")
    if source and source.kind == "imageVersion" and all((subscription, resource_group, gallery, image, version)):
        own_id = resource_ids.image_version_id(subscription, resource_group, gallery, image, version)
        if resource_ids.parse_resource_id(source.id) == resource_ids.parse_resource_id(own_id):
            parser.add("source.imageVersion", "is the image version this request creates; give another source")

    if parser.problems:
        raise RequestInvalid(parser.problems.final())
    request = BuildRequest(
        subscription_id=subscription, resource_group=resource_group, gallery_name=gallery,
        image_definition=image, version=version, location=location, source=source,
        target_regions=tuple(region.target for region in regions),
        target_edge_zones=tuple(zone.target for zone in zones), **optional,
    )
    size = stored_size(request_to_dict(request))
    if size > MAX_STORED_REQUEST_CHARS:
        raise RequestInvalid([Problem("(request)", f"is {size} characters once names are resolved to IDs; a build "
                                      f"stores at most {MAX_STORED_REQUEST_CHARS} (Azure Table's property limit): "
                                      "split it into fewer regions or disks")])
    return request


def stored_size(document: object) -> int:
    """Characters ``document`` takes in a Table string property (UTF-16 code units of its compact JSON)."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def _check_host_caching_luns(parser: FieldReader, source: ImageSource | None,
                             data: tuple[tuple[int, str], ...]) -> None:
    """Host caching for a data disk the request itself lists (snapshots, VHDs) must name one of its LUNs."""
    if source is None or (not source.data_disks and source.kind not in ("osSnapshot", "osVhdUri")):
        return
    luns = {disk.lun for disk in source.data_disks}
    for index, (lun, _) in enumerate(data):
        if lun not in luns:
            valid = ", ".join(str(n) for n in sorted(luns)) or "none"
            parser.add(f"hostCaching.dataDiskImages[{index}].lun", f"LUN {lun} is not a data disk of the source "
                                                                   f"(its LUNs: {valid}); fix the LUN")


