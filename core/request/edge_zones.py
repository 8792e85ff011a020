"""Target edge zones (``publishingProfile.targetExtendedLocations``) in all three shapes, with their encryption.

The CLI string is ``--target-edge-zones`` (``<region>=<edge zone>[=<count>][=<storage type>]``, space
separated) with ``--target-edge-zone-encryption`` (``<edge zone>,<os des>,<lun>,<des>...``, one per zone,
in order); objects take the REST shape (``name``, ``extendedLocation: {name, type: EdgeZone}``,
``extendedLocationReplicaCount``, ``storageAccountType``, ``encryption``) or the PowerShell hashtables
of ``New-AzGalleryImageVersion -TargetExtendedLocation`` (the same keys, any case).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.azure.regions import check_known
from core.request import cli_strings
from core.request.fields import read_location
from core.request.model import EdgeZoneTarget
from core.request.reader import EDGE_ZONE_FIELDS, EXTENDED_LOCATION_FIELDS, FieldReader, join_path, type_name
from core.request.target_encryption import encryption_object
from core.request.targets import cli_entries, given_twice, resolve_entry

EDGE_ZONE_TYPE = "EdgeZone"


@dataclass
class EdgeEntry:
    path: str
    target: EdgeZoneTarget | None
    has_encryption: bool = False


def read_edge_zones(parser: FieldReader, value: object, path: str) -> list[EdgeEntry]:
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value)):
        entries = cli_entries(parser, value, path, "westus=microsoftlosangeles1")
        if not entries:
            parser.add(path, "lists no edge zone; leave targetEdgeZones out for none")
        return [EdgeEntry(entry_path, _cli_zone(parser, entry, entry_path, label))
                for entry, entry_path, label in entries or []]
    if not isinstance(value, list) or not value:
        parser.add(path, f"must be the CLI string or a non-empty list of edge zone objects, not {type_name(value)}")
        return []
    zones = []
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if isinstance(item, dict):
            zones.append(_object_zone(parser, item, item_path))
        else:
            parser.add(item_path, f"must be an edge zone object or a '<region>=<edge zone>' string, not "
                                  f"{type_name(item)}")
            zones.append(EdgeEntry(item_path, None))
    _check_unique(parser, zones)
    return zones


def _cli_zone(parser: FieldReader, entry: str, path: str, label: str) -> EdgeZoneTarget | None:
    try:
        parsed = cli_strings.parse_edge_zone(entry.strip())
        check_known(parsed.name, parser.known_regions)
    except ValueError as error:
        parser.add(path, f"{label}{error}")
        return None
    return EdgeZoneTarget(parsed.name, parsed.edge_zone, parsed.replica_count, parsed.storage_account_type)


def _object_zone(parser: FieldReader, item: dict, path: str) -> EdgeEntry:
    found = parser.fields(item, EDGE_ZONE_FIELDS, path, ignore_case=True)
    before = len(parser.problems)
    name = zone = None
    if "name" not in found:
        parser.add(join_path(path, "name"), "is required: the edge zone's parent region, e.g. 'westus'")
    else:
        name = read_location(parser, found["name"][1], found["name"][0])
    if "extendedLocation" not in found:
        parser.add(join_path(path, "extendedLocation"), "is required: {\"name\": \"<edge zone>\", \"type\": "
                                                        "\"EdgeZone\"}")
    else:
        zone = _extended_location(parser, *found["extendedLocation"])
    count = storage = None
    if "extendedLocationReplicaCount" in found:
        count = parser.integer(found["extendedLocationReplicaCount"][1], found["extendedLocationReplicaCount"][0],
                               minimum=cli_strings.MIN_REPLICAS, maximum=cli_strings.MAX_REPLICAS)
    if "storageAccountType" in found:
        storage = parser.choice(found["storageAccountType"][1], found["storageAccountType"][0],
                                cli_strings.EDGE_ZONE_STORAGE_ACCOUNT_TYPES)
    os_des, data = None, ()
    if "encryption" in found:
        parts = encryption_object(parser, *found["encryption"], confidential=False)
        os_des, data = (parts[0], parts[1]) if parts else (None, ())
    if len(parser.problems) > before or name is None or zone is None:
        return EdgeEntry(path, None, "encryption" in found)
    return EdgeEntry(path, EdgeZoneTarget(name, zone, count, storage, os_des, data), "encryption" in found)


def _extended_location(parser: FieldReader, path: str, value: object) -> str | None:
    obj = parser.object(value, path, "an object {\"name\": \"<edge zone>\", \"type\": \"EdgeZone\"}")
    if obj is None:
        return None
    found = parser.fields(obj, EXTENDED_LOCATION_FIELDS, path, ignore_case=True)
    if "type" in found and str(found["type"][1]).lower() != EDGE_ZONE_TYPE.lower():
        parser.add(found["type"][0], f"'{found['type'][1]}' is not allowed: use {EDGE_ZONE_TYPE}")
    if "name" not in found:
        parser.add(join_path(path, "name"), "is required: the edge zone, e.g. microsoftlosangeles1")
        return None
    text = parser.string(found["name"][1], found["name"][0])
    if text is None:
        return None
    try:
        return cli_strings.check_edge_zone_name(text)
    except ValueError as error:
        parser.add(found["name"][0], str(error))
        return None


def _check_unique(parser: FieldReader, zones: list[EdgeEntry]) -> None:
    seen: dict[str, str] = {}
    for zone in zones:
        if zone.target is None:
            continue
        if zone.target.edge_zone in seen:
            parser.add(zone.path, f"edge zone '{zone.target.edge_zone}' is already listed at "
                                  f"{seen[zone.target.edge_zone]}; list each edge zone once")
        else:
            seen[zone.target.edge_zone] = zone.path


def apply_edge_zone_encryption(parser: FieldReader, value: object, path: str, zones: list[EdgeEntry]) -> None:
    """Merge ``targetEdgeZoneEncryption`` (one entry per edge zone, in order) into ``zones``.

    The zone each entry names must be the zone at its position (the CLI ignores that name and goes by
    position alone, so a reordered list would silently encrypt with the wrong set).
    """
    entries = cli_entries(parser, value, path, "microsoftlosangeles1,osdes,0,datades")
    if entries is None:
        return
    if given_twice(parser, path, zones, "give encryption in one place only"):
        return
    if len(entries) != len(zones):
        parser.add(path, f"has {len(entries)} entries but there are {len(zones)} target edge zones; give one entry "
                         "per edge zone in the same order")
        return
    for (entry, entry_path, label), zone in zip(entries, zones, strict=True):
        try:
            zone_name, parsed = cli_strings.parse_edge_zone_encryption(entry)
        except ValueError as error:
            parser.add(entry_path, f"{label}{error}")
            continue
        if zone.target is None:
            continue
        if zone_name != zone.target.edge_zone:
            parser.add(entry_path, f"{label}names edge zone '{zone_name}' but the edge zone at this position is "
                                   f"'{zone.target.edge_zone}'; list the entries in the order of targetEdgeZones")
            continue
        if parsed is None:
            continue
        os_des, data = resolve_entry(parser, parsed, entry_path, label)
        zone.target = replace(zone.target, os_disk_encryption_set_id=os_des, data_disk_encryption=data)
