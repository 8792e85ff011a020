"""Build request v1: the model every trigger produces, and its parser from JSON (design.md §5).

``parse_request`` accepts the three input shapes (Azure CLI strings, REST objects, PowerShell hashtables
as ConvertTo-Json emits them), resolves names to resource IDs as the CLI does, and either returns one
normalised ``BuildRequest`` or raises ``RequestInvalid`` listing every problem found, each naming its
field by JSON path and saying how to fix it. Only offline rules live here; checks that need ARM
(does the DES exist, is it in the right region) belong to the policy checks.
"""

import difflib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from core import cli_strings, resource_ids
from core.regions import normalize_region

SCHEMA_VERSION = 1
ENCRYPTION_TYPES = ("EncryptionAtRestWithCustomerKey", "EncryptionAtRestWithPlatformAndCustomerKeys")
REPLICATION_MODES = ("Full", "Shallow")
SOURCE_KINDS = ("managedImage", "imageVersion", "virtualMachine", "osSnapshot")

SourceKind = Literal["managedImage", "imageVersion", "virtualMachine", "osSnapshot"]

# Resource kinds each source may be, the first being the kind a bare name resolves to (as the CLI does).
SOURCE_RESOURCE_KINDS: dict[str, tuple[str, ...]] = {
    "managedImage": (resource_ids.IMAGE,),
    "imageVersion": (resource_ids.GALLERY_IMAGE_VERSION,),
    "virtualMachine": (resource_ids.VIRTUAL_MACHINE,),
    "osSnapshot": (resource_ids.SNAPSHOT, resource_ids.DISK),
}
DATA_DISK_RESOURCE_KINDS = (resource_ids.SNAPSHOT, resource_ids.DISK)

TOP_LEVEL_FIELDS = (
    "schemaVersion", "subscriptionId", "resourceGroup", "galleryName", "imageDefinition", "version",
    "location", "source", "targetRegions", "targetRegionEncryption", "replicaCount", "storageAccountType",
    "endOfLifeDate", "excludeFromLatest", "replicationMode", "tags", "encryptionType",
)
_SOURCE_FIELDS = (*SOURCE_KINDS, "dataSnapshots", "dataSnapshotLuns")
# REST and PowerShell target-region keys, compared case-insensitively; ReplicaCount is PowerShell's name.
_REGION_FIELDS = ("name", "regionalReplicaCount", "replicaCount", "storageAccountType", "excludeFromLatest",
                  "encryption")
_ENCRYPTION_FIELDS = ("osDiskImage", "dataDiskImages")
_OS_DISK_FIELDS = ("diskEncryptionSetId",)
_DATA_DISK_FIELDS = ("lun", "diskEncryptionSetId")

_GALLERY_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.]{0,78}[A-Za-z0-9])?")
_IMAGE_DEFINITION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9])?")
_VERSION = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)")
_INT32_MAX = 2**31 - 1
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                       r"([Zz]|[+-][0-9]{2}:[0-9]{2})?")
_TAG_NAME_FORBIDDEN = re.compile(r"[<>%&\\?/]")
_MAX_TAGS = 50
_MAX_TAG_NAME = 512
_MAX_TAG_VALUE = 256
# What ConvertTo-Json writes for a nested hashtable beyond its -Depth (default 2).
_POWERSHELL_TRUNCATED = "System.Collections.Hashtable"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: ``field`` is a JSON path such as ``targetRegions[1].name``."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class RequestInvalid(ValueError):
    """A request that cannot be built; ``problems`` lists every problem found, in input order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


@dataclass(frozen=True)
class DataDiskEncryption:
    lun: int
    disk_encryption_set_id: str


@dataclass(frozen=True)
class RegionTarget:
    """One target region: ``name`` normalised ("eastus2"), DES references resolved to canonical IDs."""

    name: str
    replica_count: int | None = None
    storage_account_type: str | None = None
    os_disk_encryption_set_id: str | None = None
    data_disk_encryption: tuple[DataDiskEncryption, ...] = ()
    exclude_from_latest: bool | None = None

    @property
    def encrypted(self) -> bool:
        return self.os_disk_encryption_set_id is not None or bool(self.data_disk_encryption)


@dataclass(frozen=True)
class DataDiskSource:
    lun: int
    id: str


@dataclass(frozen=True)
class ImageSource:
    """Where the image version comes from; ``data_disks`` only with an ``osSnapshot`` source."""

    kind: SourceKind
    id: str
    data_disks: tuple[DataDiskSource, ...] = ()


@dataclass(frozen=True)
class BuildRequest:
    """A validated, normalised request to create one gallery image version.

    ``target_regions`` is never empty: without target regions the home ``location`` is the only one,
    as the Azure CLI defaults it. ``encryption_type`` is the DES type every referenced DES must have.
    """

    subscription_id: str
    resource_group: str
    gallery_name: str
    image_definition: str
    version: str
    location: str
    source: ImageSource
    target_regions: tuple[RegionTarget, ...]
    replica_count: int | None = None
    storage_account_type: str | None = None
    end_of_life_date: str | None = None
    exclude_from_latest: bool | None = None
    replication_mode: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    encryption_type: str | None = None

    @property
    def resource_id(self) -> str:
        """The ARM ID of the image version this request creates."""
        return resource_ids.image_version_id(self.subscription_id, self.resource_group, self.gallery_name,
                                             self.image_definition, self.version)

    @property
    def gallery_id(self) -> str:
        return str(resource_ids.parse_resource_id(self.resource_id).parent.parent)

    @property
    def image_definition_id(self) -> str:
        return str(resource_ids.parse_resource_id(self.resource_id).parent)

    def disk_encryption_set_ids(self) -> list[str]:
        """Every DES the request references, each once (compared case-insensitively), in first-use order."""
        seen: dict[str, str] = {}
        for region in self.target_regions:
            data_ids = (disk.disk_encryption_set_id for disk in region.data_disk_encryption)
            for des_id in (region.os_disk_encryption_set_id, *data_ids):
                if des_id is not None:
                    seen.setdefault(des_id.lower(), des_id)
        return list(seen.values())


# --- parsing helpers -----------------------------------------------------------------------------------


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$@-]+")


def _join(path: str, key: str) -> str:
    """``path.key``, or ``path["key"]`` for a key that is empty or has characters a path would hide."""
    if not _PLAIN_KEY.fullmatch(key):
        return f"{path}[{json.dumps(key)}]"
    return f"{path}.{key}" if path else key


def _type_name(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    lowered = {name.lower(): name for name in known}
    match = lowered.get(key.lower()) or next(iter(difflib.get_close_matches(key, known, n=1, cutoff=0.6)), None)
    if match is None:
        match = next(iter(difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)), None)
        match = lowered.get(match) if match else None
    if match:
        return f"unknown field; did you mean '{match}'?"
    return f"unknown field; remove it (known fields: {', '.join(known)})"


class _Parser:
    """Collects problems while the request is read; one instance per ``parse_request`` call."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.subscription = "00000000-0000-0000-0000-000000000000"
        self.resource_group = "placeholder"

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def fields(self, obj: dict, known: tuple[str, ...], path: str, *, ignore_case: bool) -> dict[str, tuple]:
        """Known fields of ``obj`` as {known name: (path as written, value)}; nulls count as absent."""
        lookup = {(name.lower() if ignore_case else name): name for name in known}
        found: dict[str, tuple] = {}
        for key, value in obj.items():
            key_path = _join(path, str(key))
            name = lookup.get(key.lower() if ignore_case and isinstance(key, str) else key)
            if name is None:
                self.add(key_path, _did_you_mean(str(key), known))
            elif name in found:
                self.add(key_path, f"'{found[name][0]}' is given twice (keys ignore case here); keep one")
            elif value is not None:
                found[name] = (key_path, value)
        return found

    def object(self, value: object, path: str, what: str) -> dict | None:
        if isinstance(value, dict):
            return value
        if value == _POWERSHELL_TRUNCATED:
            self.add(path, f"is the text '{_POWERSHELL_TRUNCATED}': ConvertTo-Json cut the {what} off at its "
                           "default depth; export with ConvertTo-Json -Depth 10")
        else:
            self.add(path, f"must be {what}, not {_type_name(value)}")
        return None

    def string(self, value: object, path: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.add(path, "must be a non-empty string" if isinstance(value, str) else
                 f"must be a string, not {_type_name(value)}")
        return None

    def integer(self, value: object, path: str, *, minimum: int, maximum: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            described = repr(value) if isinstance(value, float) else _type_name(value)
            self.add(path, f"must be a whole number, not {described}")
            return None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" to {maximum}" if maximum is not None else " or more"
            self.add(path, f"{value} is out of range: use {minimum}{upper}")
            return None
        return value

    def boolean(self, value: object, path: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.add(path, f"must be true or false, not {_type_name(value)}")
        return None

    def choice(self, value: object, path: str, choices: tuple[str, ...]) -> str | None:
        """One of ``choices``, matched case-insensitively, returned in canonical casing."""
        if isinstance(value, str):
            for choice in choices:
                if choice.lower() == value.strip().lower():
                    return choice
        self.add(path, f"'{value}' is not allowed: use one of {', '.join(choices)}")
        return None

    def reference(self, value: object, path: str, kinds: tuple[str, ...]) -> str | None:
        """A name or ID resolved to a canonical ID (names in the request's subscription and group)."""
        if not isinstance(value, str):
            self.add(path, f"must be a resource name or ID string, not {_type_name(value)}")
            return None
        try:
            return resource_ids.resolve_reference(value, kinds=kinds, subscription=self.subscription,
                                                  resource_group=self.resource_group)
        except ValueError as error:
            self.add(path, f"{error}")
            return None


# --- scalar fields ---------------------------------------------------------------------------------------


def _subscription(parser: _Parser, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is not None and not resource_ids.is_guid(text):
        parser.add(path, f"'{text}' is not a subscription ID: give the GUID, e.g. from 'az account show'")
        return None
    return text.lower() if text else None


def _named(parser: _Parser, value: object, path: str, pattern: re.Pattern[str], rule: str) -> str | None:
    text = parser.string(value, path)
    if text is not None and not pattern.fullmatch(text):
        parser.add(path, f"'{text}' is not a valid name: {rule}")
        return None
    return text


def _resource_group(parser: _Parser, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is not None and not resource_ids.is_resource_group_name(text):
        parser.add(path, f"'{text}' is not a valid resource group name: up to 90 letters, digits, '_', '-', "
                         "'.', '(' or ')', not ending in '.'")
        return None
    return text


def _version(parser: _Parser, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is None:
        return None
    match = _VERSION.fullmatch(text)
    if not match or any(int(part) > _INT32_MAX for part in match.groups()):
        parser.add(path, f"'{text}' is not a version: use Major.Minor.Patch with whole numbers up to "
                         f"{_INT32_MAX}, e.g. 1.0.0")
        return None
    return text


def _location(parser: _Parser, value: object, path: str) -> str | None:
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
    if _DATE.fullmatch(given):
        text = given + "T12:59:59Z"
    elif _DATETIME.fullmatch(given):
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


def _end_of_life(parser: _Parser, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is None:
        return None
    try:
        return normalize_end_of_life_date(text)
    except ValueError as error:
        parser.add(path, str(error))
        return None


def _tags(parser: _Parser, value: object, path: str) -> dict[str, str]:
    obj = parser.object(value, path, "an object of tag names to string values")
    if obj is None:
        return {}
    if len(obj) > _MAX_TAGS:
        parser.add(path, f"has {len(obj)} tags; ARM allows at most {_MAX_TAGS}")
    tags: dict[str, str] = {}
    for name, tag_value in obj.items():
        tag_path = _join(path, str(name))
        valid_name = isinstance(name, str) and name.strip() and len(name) <= _MAX_TAG_NAME
        if not valid_name or _TAG_NAME_FORBIDDEN.search(name):
            parser.add(tag_path, f"is not a valid tag name: 1-{_MAX_TAG_NAME} characters without < > % & \\ ? /")
        elif not isinstance(tag_value, str):
            parser.add(tag_path, f"must be a string, not {_type_name(tag_value)}; quote the value")
        elif len(tag_value) > _MAX_TAG_VALUE:
            parser.add(tag_path, f"is {len(tag_value)} characters long; ARM allows at most {_MAX_TAG_VALUE}")
        else:
            tags[name] = tag_value
    return tags


# --- source ----------------------------------------------------------------------------------------------


def _source(parser: _Parser, value: object, path: str) -> ImageSource | None:
    obj = parser.object(value, path, "an object with one of " + ", ".join(SOURCE_KINDS))
    if obj is None:
        return None
    found = parser.fields(obj, _SOURCE_FIELDS, path, ignore_case=False)
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


def _data_snapshots(parser: _Parser, found: dict[str, tuple], path: str) -> tuple[DataDiskSource, ...]:
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
                    parser.add(_join(item_path, required), "is required")
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


# --- target regions --------------------------------------------------------------------------------------


@dataclass
class _Region:
    """A target region as read, before the encryption string is merged in."""

    path: str
    target: RegionTarget | None
    has_encryption: bool = False
    label: str = ""

    @property
    def where(self) -> str:
        return self.label or self.path


def _target_regions(parser: _Parser, value: object, path: str) -> list[_Region]:
    if isinstance(value, str):
        entries = cli_strings.split_entries(value)
        if not entries:
            parser.add(path, "lists no region; leave targetRegions out to publish to the location only")
        regions = []
        for number, entry in enumerate(entries, start=1):
            target = _cli_region(parser, entry, path, f"entry {number} ")
            regions.append(_Region(path, target, label=f"entry {number} of {path}"))
        return regions
    if not isinstance(value, list):
        parser.add(path, f"must be the CLI string or a list of regions, not {_type_name(value)}")
        return []
    if not value:
        parser.add(path, "is an empty list; leave targetRegions out to publish to the location only")
    regions = []
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if isinstance(item, str):
            regions.append(_Region(item_path, _cli_region(parser, item, item_path, "")))
        elif isinstance(item, dict):
            regions.append(_object_region(parser, item, item_path))
        else:
            parser.add(item_path, f"must be a '<region>[=<count>][=<storage type>]' string or a region object, "
                                  f"not {_type_name(item)}")
            regions.append(_Region(item_path, None))
    return regions


def _cli_region(parser: _Parser, entry: str, path: str, label: str) -> RegionTarget | None:
    try:
        parsed = cli_strings.parse_target_region(entry.strip())
    except ValueError as error:
        parser.add(path, f"{label}{error}")
        return None
    return RegionTarget(parsed.name, parsed.replica_count, parsed.storage_account_type)


def _object_region(parser: _Parser, item: dict, path: str) -> _Region:
    found = parser.fields(item, _REGION_FIELDS, path, ignore_case=True)
    ok = True
    name = None
    if "name" not in found:
        parser.add(_join(path, "name"), "is required: give the region, e.g. 'eastus2' or 'East US 2'")
        ok = False
    else:
        name = _location(parser, found["name"][1], found["name"][0])
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
    os_des, data = None, ()
    if "encryption" in found:
        parsed = _encryption_object(parser, *found["encryption"])
        ok = ok and parsed is not None
        os_des, data = parsed or (None, ())
    if not ok or name is None:
        return _Region(path, None, "encryption" in found)
    return _Region(path, RegionTarget(name, count, storage, os_des, data, exclude), "encryption" in found)


def _encryption_object(parser: _Parser, path: str, value: object) -> tuple[str | None, tuple] | None:
    obj = parser.object(value, path, "an object with osDiskImage and/or dataDiskImages")
    if obj is None:
        return None
    problems_before = len(parser.problems)
    found = parser.fields(obj, _ENCRYPTION_FIELDS, path, ignore_case=True)
    os_des = None
    if "osDiskImage" in found:
        os_path, os_value = found["osDiskImage"]
        os_obj = parser.object(os_value, os_path, "an object with diskEncryptionSetId")
        if os_obj is not None:
            os_fields = parser.fields(os_obj, _OS_DISK_FIELDS, os_path, ignore_case=True)
            if "diskEncryptionSetId" not in os_fields:
                parser.add(_join(os_path, "diskEncryptionSetId"),
                           "is required; remove osDiskImage for no OS-disk encryption set")
            else:
                os_des = parser.reference(os_fields["diskEncryptionSetId"][1], os_fields["diskEncryptionSetId"][0],
                                          (resource_ids.DISK_ENCRYPTION_SET,))
    data: list[DataDiskEncryption] = []
    if "dataDiskImages" in found:
        data = _data_disk_encryption(parser, *found["dataDiskImages"])
    if len(parser.problems) > problems_before:
        return None
    return os_des, tuple(data)


def _data_disk_encryption(parser: _Parser, path: str, value: object) -> list[DataDiskEncryption]:
    if not isinstance(value, list):
        parser.add(path, f"must be a list of {{lun, diskEncryptionSetId}} objects, not {_type_name(value)}")
        return []
    result: list[DataDiskEncryption] = []
    seen: set[int] = set()
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        obj = parser.object(item, item_path, "an object with lun and diskEncryptionSetId")
        if obj is None:
            continue
        item_fields = parser.fields(obj, _DATA_DISK_FIELDS, item_path, ignore_case=True)
        for required in _DATA_DISK_FIELDS:
            if required not in item_fields:
                parser.add(_join(item_path, required), "is required")
        lun = des = None
        if "lun" in item_fields:
            lun = parser.integer(item_fields["lun"][1], item_fields["lun"][0], minimum=0)
            if lun is not None and lun in seen:
                parser.add(item_fields["lun"][0], f"LUN {lun} appears twice in this region; give each LUN once")
                lun = None
        if "diskEncryptionSetId" in item_fields:
            des = parser.reference(item_fields["diskEncryptionSetId"][1], item_fields["diskEncryptionSetId"][0],
                                   (resource_ids.DISK_ENCRYPTION_SET,))
        if lun is not None:
            seen.add(lun)
        if lun is not None and des is not None:
            result.append(DataDiskEncryption(lun, des))
    return result


def _apply_encryption_strings(parser: _Parser, value: object, path: str, regions: list[_Region]) -> None:
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
    encrypted_objects = [region.path for region in regions if region.has_encryption]
    if encrypted_objects:
        parser.add(path, f"contradicts the encryption objects in {', '.join(encrypted_objects)}; give "
                         "encryption in one place only")
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
        os_des = None
        if parsed.os_disk_encryption_set is not None:
            os_des = _entry_reference(parser, parsed.os_disk_encryption_set, entry_path, f"{label}OS disk: ")
        data = []
        for lun, des in parsed.data_disks:
            des_id = _entry_reference(parser, des, entry_path, f"{label}LUN {lun}: ")
            if des_id is not None:
                data.append(DataDiskEncryption(lun, des_id))
        if region is not None and region.target is not None:
            region.target = replace(region.target, os_disk_encryption_set_id=os_des, data_disk_encryption=tuple(data))


def _entry_reference(parser: _Parser, value: str, path: str, label: str) -> str | None:
    try:
        return resource_ids.resolve_reference(value, kinds=(resource_ids.DISK_ENCRYPTION_SET,),
                                              subscription=parser.subscription,
                                              resource_group=parser.resource_group)
    except ValueError as error:
        parser.add(path, f"{label}{error}")
        return None


def _check_regions(parser: _Parser, regions: list[_Region], path: str, location: str | None) -> None:
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


# --- the request -----------------------------------------------------------------------------------------


def parse_request(raw: object) -> BuildRequest:
    """Validate and normalise a v1 request (a JSON object already decoded). Raises ``RequestInvalid``."""
    parser = _Parser()
    obj = parser.object(raw, "request", "a JSON object")
    if obj is None:
        raise RequestInvalid(parser.problems)
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
    subscription = required("subscriptionId", _subscription)
    resource_group = required("resourceGroup", _resource_group)
    gallery = required("galleryName", _named, _GALLERY_NAME,
                       "letters and digits, with '_' and '.' allowed in the middle, up to 80 characters")
    image = required("imageDefinition", _named, _IMAGE_DEFINITION_NAME,
                     "letters and digits, with '_', '.' and '-' allowed in the middle, up to 80 characters")
    version = required("version", _version)
    location = required("location", _location)
    if subscription:
        parser.subscription = subscription
    if resource_group:
        parser.resource_group = resource_group
    source = required("source", _source)

    if "targetRegions" in found:
        regions = _target_regions(parser, found["targetRegions"][1], "targetRegions")
        _check_regions(parser, regions, "targetRegions", location)
    else:
        regions = [_Region("location", RegionTarget(location) if location else None)]
    if "targetRegionEncryption" in found:
        _apply_encryption_strings(parser, found["targetRegionEncryption"][1], "targetRegionEncryption", regions)

    optional: dict[str, Any] = {}
    if "replicaCount" in found:
        optional["replica_count"] = parser.integer(found["replicaCount"][1], "replicaCount",
                                                   minimum=cli_strings.MIN_REPLICAS, maximum=cli_strings.MAX_REPLICAS)
    if "storageAccountType" in found:
        optional["storage_account_type"] = parser.choice(found["storageAccountType"][1], "storageAccountType",
                                                         cli_strings.STORAGE_ACCOUNT_TYPES)
    if "endOfLifeDate" in found:
        optional["end_of_life_date"] = _end_of_life(parser, found["endOfLifeDate"][1], "endOfLifeDate")
    if "excludeFromLatest" in found:
        optional["exclude_from_latest"] = parser.boolean(found["excludeFromLatest"][1], "excludeFromLatest")
    if "replicationMode" in found:
        optional["replication_mode"] = parser.choice(found["replicationMode"][1], "replicationMode",
                                                     REPLICATION_MODES)
    if "tags" in found:
        optional["tags"] = _tags(parser, found["tags"][1], "tags")
    if "encryptionType" in found:
        optional["encryption_type"] = parser.choice(found["encryptionType"][1], "encryptionType", ENCRYPTION_TYPES)
        complete = all(region.target is not None for region in regions)
        if complete and not any(region.target.encrypted for region in regions):
            parser.add("encryptionType", "is given but no target region names a disk encryption set; add "
                                         "encryption to the target regions or remove encryptionType")
    if source and source.kind == "imageVersion" and all((subscription, resource_group, gallery, image, version)):
        own_id = resource_ids.image_version_id(subscription, resource_group, gallery, image, version)
        if resource_ids.parse_resource_id(source.id) == resource_ids.parse_resource_id(own_id):
            parser.add("source.imageVersion", "is the image version this request creates; give another source")

    if parser.problems:
        raise RequestInvalid(parser.problems)
    return BuildRequest(
        subscription_id=subscription, resource_group=resource_group, gallery_name=gallery,
        image_definition=image, version=version, location=location, source=source,
        target_regions=tuple(region.target for region in regions), **optional,
    )


def request_to_dict(request: BuildRequest) -> dict:
    """The canonical v1 JSON of a request: REST-shaped target regions, IDs resolved, optional fields only
    when set. ``parse_request(request_to_dict(r)) == r``."""
    source: dict[str, Any] = {request.source.kind: request.source.id}
    if request.source.data_disks:
        source["dataSnapshots"] = [{"lun": disk.lun, "id": disk.id} for disk in request.source.data_disks]
    result: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "subscriptionId": request.subscription_id,
        "resourceGroup": request.resource_group,
        "galleryName": request.gallery_name,
        "imageDefinition": request.image_definition,
        "version": request.version,
        "location": request.location,
        "source": source,
        "targetRegions": [region_to_dict(region) for region in request.target_regions],
    }
    optional = {
        "replicaCount": request.replica_count,
        "storageAccountType": request.storage_account_type,
        "endOfLifeDate": request.end_of_life_date,
        "excludeFromLatest": request.exclude_from_latest,
        "replicationMode": request.replication_mode,
        "tags": dict(request.tags) if request.tags else None,
        "encryptionType": request.encryption_type,
    }
    result.update({key: value for key, value in optional.items() if value is not None})
    return result


def region_to_dict(region: RegionTarget) -> dict:
    """A target region in REST shape (camelCase keys as ARM and the SDK write them)."""
    result: dict[str, Any] = {"name": region.name}
    if region.replica_count is not None:
        result["regionalReplicaCount"] = region.replica_count
    if region.storage_account_type is not None:
        result["storageAccountType"] = region.storage_account_type
    if region.encrypted:
        encryption: dict[str, Any] = {}
        if region.os_disk_encryption_set_id is not None:
            encryption["osDiskImage"] = {"diskEncryptionSetId": region.os_disk_encryption_set_id}
        if region.data_disk_encryption:
            encryption["dataDiskImages"] = [{"lun": disk.lun, "diskEncryptionSetId": disk.disk_encryption_set_id}
                                            for disk in region.data_disk_encryption]
        result["encryption"] = encryption
    if region.exclude_from_latest is not None:
        result["excludeFromLatest"] = region.exclude_from_latest
    return result
