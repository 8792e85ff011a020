"""The parser's reader: field lookup with near-miss hints, typed scalars, and every problem collected."""

from __future__ import annotations

import difflib
import json
import re

from core.azure import resource_ids
from core.azure.regions import PUBLIC_REGIONS
from core.base.json_input import OversizedNumber
from core.base.problems import ProblemList, clip
from core.request.model import SOURCE_KINDS

SOURCE_FIELDS = (*SOURCE_KINDS, "dataSnapshots", "dataSnapshotLuns", "osVhdStorageAccount", "dataVhdsUris",
                 "dataVhdsLuns", "dataVhdsStorageAccounts")
# REST and PowerShell target-region keys, compared case-insensitively; ReplicaCount is PowerShell's name.
REGION_FIELDS = ("name", "regionalReplicaCount", "replicaCount", "storageAccountType", "excludeFromLatest",
                  "encryption")
ENCRYPTION_FIELDS = ("osDiskImage", "dataDiskImages")
OS_DISK_FIELDS = ("diskEncryptionSetId", "securityProfile")
SECURITY_PROFILE_FIELDS = ("confidentialVMEncryptionType", "secureVMDiskEncryptionSetId")
EDGE_ZONE_FIELDS = ("name", "extendedLocation", "extendedLocationReplicaCount", "storageAccountType", "encryption")
EXTENDED_LOCATION_FIELDS = ("name", "type")
HOST_CACHING_FIELDS = ("osDiskImage", "dataDiskImages")
HOST_CACHING_DISK_FIELDS = ("lun", "hostCaching")
DATA_DISK_FIELDS = ("lun", "diskEncryptionSetId")

GALLERY_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.]{0,78}[A-Za-z0-9])?")
IMAGE_DEFINITION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9])?")
VERSION_PATTERN = re.compile(r"([0-9]{1,10})\.([0-9]{1,10})\.([0-9]{1,10})")
_INT32_MAX = 2**31 - 1
# Longest text any field of a request may hold (resource IDs are the longest; ARM stops well before).
MAX_TEXT = 2048
# Characters no field of a request may contain: control characters (NUL included) and lone surrogates.
_UNUSABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATETIME_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                       r"([Zz]|[+-][0-9]{2}:[0-9]{2})?")
TAG_NAME_FORBIDDEN = re.compile(r"[<>%&\\?/]")
MAX_TAGS = 50
MAX_TAG_NAME = 512
MAX_TAG_VALUE = 256
# What ConvertTo-Json writes for a nested hashtable beyond its -Depth (default 2).
POWERSHELL_TRUNCATED = "System.Collections.Hashtable"


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$@-]+")


def join_path(path: str, key: str) -> str:
    """``path.key``, or ``path["key"]`` for a key that is empty or has characters a path would hide."""
    if not _PLAIN_KEY.fullmatch(key):
        return f"{path}[{json.dumps(key)}]"
    return f"{path}.{key}" if path else key


def type_name(value: object) -> str:
    if isinstance(value, OversizedNumber):
        return repr(value)
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def did_you_mean(key: str, known: tuple[str, ...]) -> str:
    lowered = {name.lower(): name for name in known}
    match = lowered.get(key.lower()) or next(iter(difflib.get_close_matches(key, known, n=1, cutoff=0.6)), None)
    if match is None:
        match = next(iter(difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)), None)
        match = lowered.get(match) if match else None
    if match:
        return f"unknown field; did you mean '{clip(match)}'?"
    return f"unknown field; remove it (known fields: {', '.join(known)})"


class FieldReader:
    """Collects problems while the request is read; one instance per ``parse_request`` call."""

    def __init__(self, known_regions: frozenset[str] = PUBLIC_REGIONS) -> None:
        self.problems = ProblemList()
        self.subscription = "00000000-0000-0000-0000-000000000000"
        self.resource_group = "placeholder"
        self.known_regions = known_regions

    def add(self, path: str, message: str) -> None:
        self.problems.add(path, message)

    def fields(self, obj: dict, known: tuple[str, ...], path: str, *, ignore_case: bool) -> dict[str, tuple]:
        """Known fields of ``obj`` as {known name: (path as written, value)}; nulls count as absent."""
        lookup = {(name.lower() if ignore_case else name): name for name in known}
        found: dict[str, tuple] = {}
        for key, value in obj.items():
            key_path = join_path(path, str(key))
            name = lookup.get(key.lower() if ignore_case and isinstance(key, str) else key)
            if name is None:
                self.add(key_path, did_you_mean(str(key), known))
            elif name in found:
                self.add(key_path, f"'{found[name][0]}' is given twice (keys ignore case here); keep one")
            elif value is not None:
                found[name] = (key_path, value)
        return found

    def object(self, value: object, path: str, what: str) -> dict | None:
        if isinstance(value, dict):
            return value
        if value == POWERSHELL_TRUNCATED:
            self.add(path, f"is the text '{POWERSHELL_TRUNCATED}': ConvertTo-Json cut the {what} off at its "
                           "default depth; export with ConvertTo-Json -Depth 10")
        else:
            self.add(path, f"must be {what}, not {type_name(value)}")
        return None

    def string(self, value: object, path: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return self.text(value.strip(), path)
        self.add(path, "must be a non-empty string" if isinstance(value, str) else
                 f"must be a string, not {type_name(value)}")
        return None

    def text(self, value: str, path: str) -> str | None:
        """``value`` unless it is too long or holds characters no field may contain (then a problem)."""
        if len(value) > MAX_TEXT:
            self.add(path, f"is {len(value)} characters long; the limit is {MAX_TEXT}")
            return None
        bad = _UNUSABLE.search(value)
        if bad:
            self.add(path, f"contains the control character or unpaired surrogate {bad.group()!a}; "
                           "remove it")
            return None
        return value

    def integer(self, value: object, path: str, *, minimum: int, maximum: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            described = repr(value) if isinstance(value, float) else type_name(value)
            self.add(path, f"must be a whole number, not {described}")
            return None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" to {maximum}" if maximum is not None else " or more"
            self.add(path, f"{clip(value)} is out of range: use {minimum}{upper}")
            return None
        return value

    def boolean(self, value: object, path: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.add(path, f"must be true or false, not {type_name(value)}")
        return None

    def choice(self, value: object, path: str, choices: tuple[str, ...]) -> str | None:
        """One of ``choices``, matched case-insensitively, returned in canonical casing."""
        if isinstance(value, str):
            for choice in choices:
                if choice.lower() == value.strip().lower():
                    return choice
        self.add(path, f"'{clip(value)}' is not allowed: use one of {', '.join(choices)}")
        return None

    def reference(self, value: object, path: str, kinds: tuple[str, ...]) -> str | None:
        """A name or ID resolved to a canonical ID (names in the request's subscription and group)."""
        if not isinstance(value, str):
            self.add(path, f"must be a resource name or ID string, not {type_name(value)}")
            return None
        if self.text(value, path) is None:
            return None
        try:
            return resource_ids.resolve_reference(value, kinds=kinds, subscription=self.subscription,
                                                  resource_group=self.resource_group)
        except ValueError as error:
            self.add(path, f"{error}")
            return None


