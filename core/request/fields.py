"""Scalar fields and the image source of a v1 request, each read into a normalised value or a problem."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from core.request import resource_ids
from core.request.model import (
    DATA_DISK_RESOURCE_KINDS,
    SOURCE_KINDS,
    SOURCE_RESOURCE_KINDS,
    DataDiskSource,
    ImageSource,
)
from core.request.reader import (
    _INT32_MAX,
    DATE_PATTERN,
    DATETIME_PATTERN,
    MAX_TAG_NAME,
    MAX_TAG_VALUE,
    MAX_TAGS,
    SOURCE_FIELDS,
    TAG_NAME_FORBIDDEN,
    VERSION_PATTERN,
    FieldReader,
    join_path,
    type_name,
)
from core.request.regions import normalize_region

# --- scalar fields ---------------------------------------------------------------------------------------


def read_subscription(parser: FieldReader, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is not None and not resource_ids.is_guid(text):
        parser.add(path, f"'{text}' is not a subscription ID: give the GUID, e.g. from 'az account show'")
        return None
    return text.lower() if text else None


def read_named(parser: FieldReader, value: object, path: str, pattern: re.Pattern[str], rule: str) -> str | None:
    text = parser.string(value, path)
    if text is not None and not pattern.fullmatch(text):
        parser.add(path, f"'{text}' is not a valid name: {rule}")
        return None
    return text


def read_resource_group(parser: FieldReader, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is not None and not resource_ids.is_resource_group_name(text):
        parser.add(path, f"'{text}' is not a valid resource group name: up to 90 letters, digits, '_', '-', "
                         "'.', '(' or ')', not ending in '.'")
        return None
    return text


def read_version(parser: FieldReader, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is None:
        return None
    match = VERSION_PATTERN.fullmatch(text)
    if not match or any(int(part) > _INT32_MAX for part in match.groups()):
        parser.add(path, f"'{text}' is not a version: use Major.Minor.Patch with whole numbers up to "
                         f"{_INT32_MAX}, e.g. 1.0.0")
        return None
    return text


def read_location(parser: FieldReader, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is None:
        return None
    try:
        return normalize_region(text)
    except ValueError as error:
        parser.add(path, str(error))
        return None


def normalize_end_of_life_date(text: str) -> str:
    """A date or ISO datetime as the request and the ARM body carry it (UTC, 'Z').

    A date alone gets the time the Azure CLI appends (``fix_gallery_image_date_info``: ``T12:59:59Z``);
    a datetime is converted to UTC and written as the SDK serialises it (a naive time is UTC, as there).
    Raises ValueError when the text is neither.
    """
    given = text.strip()
    if DATE_PATTERN.fullmatch(given):
        text = given + "T12:59:59Z"
    elif DATETIME_PATTERN.fullmatch(given):
        text = given.upper()  # 't' and 'z' are valid ISO 8601 but fromisoformat wants capitals
    else:
        raise ValueError(f"'{given}' is not a date: use YYYY-MM-DD or an ISO datetime such as "
                         "2030-12-01T12:59:59Z")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{given}' is not a calendar date and time: check the day, month and hour") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


def read_end_of_life(parser: FieldReader, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is None:
        return None
    try:
        return normalize_end_of_life_date(text)
    except ValueError as error:
        parser.add(path, str(error))
        return None


def read_tags(parser: FieldReader, value: object, path: str) -> dict[str, str]:
    obj = parser.object(value, path, "an object of tag names to string values")
    if obj is None:
        return {}
    if len(obj) > MAX_TAGS:
        parser.add(path, f"has {len(obj)} tags; ARM allows at most {MAX_TAGS}")
    tags: dict[str, str] = {}
    for name, tag_value in obj.items():
        tag_path = join_path(path, str(name))
        valid_name = isinstance(name, str) and name.strip() and len(name) <= MAX_TAG_NAME
        if not valid_name or TAG_NAME_FORBIDDEN.search(name):
            parser.add(tag_path, f"is not a valid tag name: 1-{MAX_TAG_NAME} characters without < > % & \\ ? /")
        elif not isinstance(tag_value, str):
            parser.add(tag_path, f"must be a string, not {type_name(tag_value)}; quote the value")
        elif len(tag_value) > MAX_TAG_VALUE:
            parser.add(tag_path, f"is {len(tag_value)} characters long; ARM allows at most {MAX_TAG_VALUE}")
        else:
            tags[name] = tag_value
    return tags


# --- source ----------------------------------------------------------------------------------------------


def read_source(parser: FieldReader, value: object, path: str) -> ImageSource | None:
    obj = parser.object(value, path, "an object with one of " + ", ".join(SOURCE_KINDS))
    if obj is None:
        return None
    found = parser.fields(obj, SOURCE_FIELDS, path, ignore_case=False)
    kinds = [kind for kind in SOURCE_KINDS if kind in found]
    if len(kinds) != 1:
        given = f" (given: {', '.join(kinds)})" if kinds else ""
        parser.add(path, f"give exactly one of {', '.join(SOURCE_KINDS)}{given}")
    data_disks: tuple[DataDiskSource, ...] = ()
    if "dataSnapshots" in found or "dataSnapshotLuns" in found:
        if kinds and kinds[0] != "osSnapshot":
            where = found.get("dataSnapshots", found.get("dataSnapshotLuns"))[0]
            parser.add(where, f"data snapshots go with an osSnapshot source only; a {kinds[0]} brings its own "
                              "data disks - remove them or use osSnapshot")
        else:
            data_disks = _data_snapshots(parser, found, path)
    if len(kinds) != 1:
        return None
    kind = kinds[0]
    kind_path, raw_id = found[kind]
    source_id = parser.reference(raw_id, kind_path, SOURCE_RESOURCE_KINDS[kind])
    return ImageSource(kind, source_id, data_disks) if source_id else None


def _data_snapshots(parser: FieldReader, found: dict[str, tuple], path: str) -> tuple[DataDiskSource, ...]:
    if "dataSnapshots" not in found:
        parser.add(found["dataSnapshotLuns"][0], "needs dataSnapshots: give the snapshots these LUNs belong to")
        return ()
    snapshots_path, snapshots = found["dataSnapshots"]
    if not isinstance(snapshots, list) or not snapshots:
        parser.add(snapshots_path, "must be a non-empty list of {\"lun\": n, \"id\": \"...\"} objects or of IDs")
        return ()
    pairs: list[tuple[str, object, str, object]] = []  # (lun path, lun, id path, id)
    if all(isinstance(item, dict) for item in snapshots):
        if "dataSnapshotLuns" in found:
            parser.add(found["dataSnapshotLuns"][0], "cannot be combined with {lun, id} objects in "
                                                     "dataSnapshots; put each LUN in its object")
        for index, item in enumerate(snapshots):
            item_path = f"{snapshots_path}[{index}]"
            item_fields = parser.fields(item, ("lun", "id"), item_path, ignore_case=False)
            for required in ("lun", "id"):
                if required not in item_fields:
                    parser.add(join_path(item_path, required), "is required")
            if "lun" in item_fields and "id" in item_fields:
                pairs.append((*item_fields["lun"], *item_fields["id"]))
    elif all(isinstance(item, str) for item in snapshots):
        # The CLI's pair: LUNs default to 0..n-1, as --data-snapshot-luns does.
        luns: list[object] = list(range(len(snapshots)))
        luns_path = "dataSnapshotLuns (default)"
        if "dataSnapshotLuns" in found:
            luns_path, given = found["dataSnapshotLuns"]
            if not isinstance(given, list) or len(given) != len(snapshots):
                parser.add(luns_path, f"must be a list with one LUN per data snapshot ({len(snapshots)})")
                return ()
            luns = given
        pairs = [(f"{luns_path}[{index}]", luns[index], f"{snapshots_path}[{index}]", item)
                 for index, item in enumerate(snapshots)]
    else:
        parser.add(snapshots_path, "mixes IDs and objects: use only {\"lun\": n, \"id\": \"...\"} objects, "
                                   "or only IDs with dataSnapshotLuns")
        return ()
    disks: list[DataDiskSource] = []
    seen: set[int] = set()
    for lun_path, raw_lun, id_path, raw_id in pairs:
        lun = parser.integer(raw_lun, lun_path, minimum=0)
        disk_id = parser.reference(raw_id, id_path, DATA_DISK_RESOURCE_KINDS)
        if lun is not None and lun in seen:
            parser.add(lun_path, f"LUN {lun} is used twice; give each data disk its own LUN")
        elif lun is not None and disk_id is not None:
            seen.add(lun)
            disks.append(DataDiskSource(lun, disk_id))
    return tuple(disks)


