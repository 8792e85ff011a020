"""Scalar fields of a v1 request (names, version, location, dates, tags, host caching), each read into a
normalised value or a problem."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from core.azure import resource_ids
from core.azure.regions import check_known, normalize_region
from core.base.problems import clip
from core.request.cli_strings import MAX_LUN
from core.request.model import (
    HOST_CACHING,
)
from core.request.reader import (
    _INT32_MAX,
    DATE_PATTERN,
    DATETIME_PATTERN,
    HOST_CACHING_DISK_FIELDS,
    HOST_CACHING_FIELDS,
    MAX_TAG_NAME,
    MAX_TAG_VALUE,
    MAX_TAGS,
    TAG_NAME_FORBIDDEN,
    VERSION_PATTERN,
    FieldReader,
    join_path,
    type_name,
)

# An end of life far enough from the calendar's edges that adding days or time zones never overflows.
MIN_END_OF_LIFE_YEAR = 1970
MAX_END_OF_LIFE_YEAR = 9000

# --- scalar fields ---------------------------------------------------------------------------------------


def read_subscription(parser: FieldReader, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is not None and not resource_ids.is_guid(text):
        parser.add(path, f"'{clip(text)}' is not a subscription ID: give the GUID, e.g. from 'az account show'")
        return None
    return text.lower() if text else None


def read_named(parser: FieldReader, value: object, path: str, pattern: re.Pattern[str], rule: str) -> str | None:
    text = parser.string(value, path)
    if text is not None and not pattern.fullmatch(text):
        parser.add(path, f"'{clip(text)}' is not a valid name: {rule}")
        return None
    return text


def read_resource_group(parser: FieldReader, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is not None and not resource_ids.is_resource_group_name(text):
        parser.add(path, f"'{clip(text)}' is not a valid resource group name: up to 90 letters, digits, '_', '-', "
                         "'.', '(' or ')', not ending in '.'")
        return None
    return text


def read_version(parser: FieldReader, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is None:
        return None
    match = VERSION_PATTERN.fullmatch(text)
    if not match or any(int(part) > _INT32_MAX for part in match.groups()):
        parser.add(path, f"'{clip(text)}' is not a version: use Major.Minor.Patch with whole numbers up to "
                         f"{_INT32_MAX}, e.g. 1.0.0")
        return None
    return text


def read_location(parser: FieldReader, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is None:
        return None
    try:
        return check_known(normalize_region(text), parser.known_regions)
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
        raise ValueError(f"'{clip(given)}' is not a date: use YYYY-MM-DD or an ISO datetime such as "
                         "2030-12-01T12:59:59Z")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{clip(given)}' is not a calendar date and time: check the day, month and hour") from None
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        moment = datetime.max.replace(tzinfo=UTC)  # forces the range problem below
    if not MIN_END_OF_LIFE_YEAR <= moment.year <= MAX_END_OF_LIFE_YEAR:
        raise ValueError(f"'{clip(given)}' is outside the dates an end of life can have: use a year from "
                         f"{MIN_END_OF_LIFE_YEAR} to {MAX_END_OF_LIFE_YEAR}")
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
        elif parser.text(name, tag_path) is not None and parser.text(tag_value, tag_path) is not None:
            tags[name] = tag_value
    return tags


# --- source ----------------------------------------------------------------------------------------------


def read_host_caching(parser: FieldReader, value: object, path: str) -> tuple[str | None, tuple[tuple[int, str], ...]]:
    """``{"osDiskImage": "ReadOnly", "dataDiskImages": [{"lun": 1, "hostCaching": "None"}]}`` (keys any case):
    the host caching of the OS disk image and of data disk images by LUN."""
    obj = parser.object(value, path, "an object with osDiskImage and/or dataDiskImages")
    if obj is None:
        return None, ()
    found = parser.fields(obj, HOST_CACHING_FIELDS, path, ignore_case=True)
    os_caching = None
    if "osDiskImage" in found:
        os_caching = parser.choice(found["osDiskImage"][1], found["osDiskImage"][0], HOST_CACHING)
    data: list[tuple[int, str]] = []
    if "dataDiskImages" in found:
        list_path, items = found["dataDiskImages"]
        if not isinstance(items, list):
            parser.add(list_path, "must be a list of {\"lun\": n, \"hostCaching\": \"None\"} objects")
            items = []
        seen: set[int] = set()
        for index, item in enumerate(items):
            item_path = f"{list_path}[{index}]"
            disk = parser.object(item, item_path, "an object with lun and hostCaching")
            if disk is None:
                continue
            fields = parser.fields(disk, HOST_CACHING_DISK_FIELDS, item_path, ignore_case=True)
            for required in HOST_CACHING_DISK_FIELDS:
                if required not in fields:
                    parser.add(join_path(item_path, required), "is required")
            if len(fields) != len(HOST_CACHING_DISK_FIELDS):
                continue
            lun = parser.integer(fields["lun"][1], fields["lun"][0], minimum=0, maximum=MAX_LUN)
            caching = parser.choice(fields["hostCaching"][1], fields["hostCaching"][0], HOST_CACHING)
            if lun is not None and lun in seen:
                parser.add(fields["lun"][0], f"LUN {lun} appears twice; give each LUN once")
            elif lun is not None and caching is not None:
                seen.add(lun)
                data.append((lun, caching))
    return os_caching, tuple(data)
