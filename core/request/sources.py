"""The image source of a v1 request (a resource, a community image, VHDs) and its data disks, read into a
normalised `ImageSource` or problems."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from core.azure import resource_ids
from core.request.cli_strings import MAX_LUN
from core.request.model import (
    DATA_DISK_RESOURCE_KINDS,
    SOURCE_KINDS,
    SOURCE_RESOURCE_KINDS,
    DataDiskSource,
    ImageSource,
)
from core.request.reader import (
    SOURCE_FIELDS,
    FieldReader,
    join_path,
)


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
    data_keys = [key for key in ("dataSnapshots", "dataSnapshotLuns", *_DATA_VHD_FIELDS) if key in found]
    if data_keys:
        if kinds and kinds[0] not in _DISK_SOURCES:
            parser.add(found[data_keys[0]][0], f"data disks go with an osSnapshot source only (or "
                                               f"osVhdUri); a {kinds[0]} brings its own data disks - remove them")
        else:
            data_disks = _data_snapshots(parser, found, path) if {"dataSnapshots", "dataSnapshotLuns"} & set(found) \
                else ()
            data_disks += read_data_vhds(parser, found, path)
            _check_unique_luns(parser, data_disks, path)
    if "osVhdStorageAccount" in found and kinds != ["osVhdUri"]:
        parser.add(found["osVhdStorageAccount"][0], "goes with osVhdUri only (--os-vhd-uri and "
                                                    "--os-vhd-storage-account are used together)")
    if len(kinds) != 1:
        return None
    kind = kinds[0]
    kind_path, raw_id = found[kind]
    if kind == "osVhdUri":
        if "osVhdStorageAccount" not in found:
            parser.add(join_path(path, "osVhdStorageAccount"), "is required with osVhdUri: the storage account "
                                                               "(name or ID) that holds the VHD")
            return None
        vhd = read_vhd(parser, raw_id, kind_path, *found["osVhdStorageAccount"][::-1])
        return ImageSource(kind, vhd[0], data_disks, vhd[1]) if vhd else None
    if kind == "communityGalleryImage":
        community_id = read_community_image(parser, raw_id, kind_path)
        return ImageSource(kind, community_id, data_disks) if community_id else None
    source_id = parser.reference(raw_id, kind_path, SOURCE_RESOURCE_KINDS[kind])
    return ImageSource(kind, source_id, data_disks) if source_id else None


_DISK_SOURCES = ("osSnapshot", "osVhdUri")
_DATA_VHD_FIELDS = ("dataVhdsUris", "dataVhdsLuns", "dataVhdsStorageAccounts")
_COMMUNITY_IMAGE = re.compile(r"/communityGalleries/([A-Za-z0-9][A-Za-z0-9_.-]{0,126})/images/"
                              r"([A-Za-z0-9][A-Za-z0-9_.-]{0,79})(/versions/([0-9]+\.[0-9]+\.[0-9]+|latest))?",
                              re.IGNORECASE)
_BLOB_HOST = re.compile(r"([a-z0-9]{3,24})\.blob\.[a-z0-9.-]+")
_STORAGE_ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")


def read_community_image(parser: FieldReader, value: object, path: str) -> str | None:
    """``/communityGalleries/<public name>/images/<image>[/versions/<version>|latest]``, as written."""
    text = parser.string(value, path)
    if text is not None and not _COMMUNITY_IMAGE.fullmatch(text):
        parser.add(path, f"'{text}' is not a community gallery image ID: use /communityGalleries/<public gallery "
                         "name>/images/<image>[/versions/<version>] (az sig image-definition show-community)")
        return None
    return text


def read_vhd(parser: FieldReader, uri_value: object, uri_path: str, account_value: object,
             account_path: str) -> tuple[str, str] | None:
    """A VHD blob URI and its storage account (name or ID): (uri, storage account ID), or None.

    The account must be in the image version's subscription (the service reads the blob through it)
    and be the account the URI points at.
    """
    uri = parser.string(uri_value, uri_path)
    account_id = None
    if isinstance(account_value, str) and "/" not in account_value.strip() \
            and not _STORAGE_ACCOUNT_NAME.fullmatch(account_value.strip()):
        parser.add(account_path, f"'{account_value}' is not a storage account name: 3-24 lower-case letters and "
                                 "digits, or give its resource ID")
    else:
        account_id = parser.reference(account_value, account_path, (resource_ids.STORAGE_ACCOUNT,))
    if uri is None or account_id is None:
        return None
    parsed_account = resource_ids.parse_resource_id(account_id)
    ok = True
    if parsed_account.subscription != parser.subscription.lower():
        parser.add(account_path, f"storage account '{parsed_account.name}' is in subscription "
                                 f"{parsed_account.subscription}, not the image version's {parser.subscription}; "
                                 "copy the VHD to a storage account in the image version's subscription")
        ok = False
    parts = urlsplit(uri)
    host = _BLOB_HOST.fullmatch(parts.hostname or "")
    blob_path = [segment for segment in parts.path.split("/") if segment]
    if parts.scheme != "https" or host is None or len(blob_path) < 2 or parts.query or parts.fragment:
        parser.add(uri_path, f"'{uri}' is not a VHD blob URI: use https://<account>.blob.core.windows.net/"
                             "<container>/<name>.vhd without a query (no SAS token: the service reads it through "
                             "the storage account)")
        return None
    if host.group(1) != parsed_account.name.lower():
        parser.add(uri_path, f"the VHD is in storage account '{host.group(1)}' but the storage account given is "
                             f"'{parsed_account.name}'; give the account that holds the blob")
        ok = False
    return (uri, account_id) if ok else None


def read_data_vhds(parser: FieldReader, found: dict[str, tuple], path: str) -> tuple[DataDiskSource, ...]:
    """``dataVhdsUris`` + ``dataVhdsStorageAccounts`` (+ ``dataVhdsLuns``, default 0..n-1), as the CLI pairs them."""
    given = {key: found[key] for key in _DATA_VHD_FIELDS if key in found}
    if not given:
        return ()
    if "dataVhdsUris" not in given or "dataVhdsStorageAccounts" not in given:
        parser.add(join_path(path, "dataVhdsUris" if "dataVhdsUris" not in given else "dataVhdsStorageAccounts"),
                   "is required: dataVhdsUris and dataVhdsStorageAccounts are used together")
        return ()
    lists = {}
    for key, (key_path, value) in given.items():
        if not isinstance(value, list) or not value:
            parser.add(key_path, "must be a non-empty list")
            return ()
        lists[key] = value
    uris = lists["dataVhdsUris"]
    luns = lists.get("dataVhdsLuns", list(range(len(uris))))
    if len(luns) != len(uris) or len(lists["dataVhdsStorageAccounts"]) != len(uris):
        parser.add(given["dataVhdsUris"][0], "dataVhdsUris, dataVhdsLuns and dataVhdsStorageAccounts must have "
                                             "the same length")
        return ()
    luns_path = given["dataVhdsLuns"][0] if "dataVhdsLuns" in given else "dataVhdsLuns (default)"
    disks = []
    for index, (uri, lun, account) in enumerate(zip(uris, luns, lists["dataVhdsStorageAccounts"], strict=True)):
        number = parser.integer(lun, f"{luns_path}[{index}]", minimum=0, maximum=MAX_LUN)
        vhd = read_vhd(parser, uri, f"{given['dataVhdsUris'][0]}[{index}]", account,
                       f"{given['dataVhdsStorageAccounts'][0]}[{index}]")
        if number is not None and vhd is not None:
            disks.append(DataDiskSource(number, vhd[0], vhd[1]))
    return tuple(disks)


def _check_unique_luns(parser: FieldReader, disks: tuple[DataDiskSource, ...], path: str) -> None:
    seen: set[int] = set()
    for disk in disks:
        if disk.lun in seen and disk.is_vhd:
            parser.add(join_path(path, "dataVhdsLuns"), f"LUN {disk.lun} is used twice; give each data disk its "
                                                        "own LUN")
        seen.add(disk.lun)


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
        lun = parser.integer(raw_lun, lun_path, minimum=0, maximum=MAX_LUN)
        disk_id = parser.reference(raw_id, id_path, DATA_DISK_RESOURCE_KINDS)
        if lun is not None and lun in seen:
            parser.add(lun_path, f"LUN {lun} is used twice; give each data disk its own LUN")
        elif lun is not None and disk_id is not None:
            seen.add(lun)
            disks.append(DataDiskSource(lun, disk_id))
    return tuple(disks)
