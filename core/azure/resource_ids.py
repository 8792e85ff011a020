"""ARM resource IDs: parse and validate before use, compare case-insensitively as ARM does.

A resource ID names a resource under a provider:
``/subscriptions/<guid>/resourceGroups/<rg>/providers/<Namespace>/<type>/<name>[/<type>/<name>...]``.
Parsing canonicalises the fixed segments ("subscriptions", "resourceGroups", "providers"), lower-cases the
subscription GUID and spells the resource types this project uses in their documented casing; names keep
the caller's spelling. Two IDs that differ only in case are the same resource.
"""

import functools
import re
from dataclasses import dataclass

from core.base.problems import clip

IMAGE = "Microsoft.Compute/images"
SNAPSHOT = "Microsoft.Compute/snapshots"
DISK = "Microsoft.Compute/disks"
VIRTUAL_MACHINE = "Microsoft.Compute/virtualMachines"
DISK_ENCRYPTION_SET = "Microsoft.Compute/diskEncryptionSets"
GALLERY = "Microsoft.Compute/galleries"
GALLERY_IMAGE = "Microsoft.Compute/galleries/images"
GALLERY_IMAGE_VERSION = "Microsoft.Compute/galleries/images/versions"
STORAGE_ACCOUNT = "Microsoft.Storage/storageAccounts"

_KNOWN_KINDS = (IMAGE, SNAPSHOT, DISK, VIRTUAL_MACHINE, DISK_ENCRYPTION_SET, GALLERY, GALLERY_IMAGE,
                GALLERY_IMAGE_VERSION, STORAGE_ACCOUNT)
_CANONICAL_KIND = {kind.lower(): kind for kind in _KNOWN_KINDS}

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Resource group names: letters (any script), ASCII digits, '_', '-', '.', '(' and ')', up to 90, not
# ending in '.'. (Python's \w would also take '²' and other digits ARM refuses.)
_RESOURCE_GROUP_PUNCTUATION = frozenset("_-.()")
_ASCII_DIGITS = frozenset("0123456789")
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+")
_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# A segment of an ID never holds these (ARM's reserved characters, ';' and '=' that break header and
# query syntax), whitespace or control characters, and is at most 260 characters.
_FORBIDDEN_IN_NAME = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff<>%&:\\?*#\"'|;=]")
_MAX_NAME = 260
# What a bare resource name given instead of an ID may look like (images, snapshots, disks, DES).
_BARE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?")
# The naming rules of each kind this project reads or writes, by kind (names of every level, outermost first).
_GALLERY_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.]{0,78}[A-Za-z0-9])?")
_IMAGE_DEFINITION_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9])?")
_VERSION_NAME = re.compile(r"[0-9]{1,10}\.[0-9]{1,10}\.[0-9]{1,10}")
_VM_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,62}[A-Za-z0-9])?")
_NAME_RULES: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    IMAGE: ((_BARE_NAME, "1-80 letters, digits, '_', '.', '-', starting with a letter or digit"),),
    SNAPSHOT: ((_BARE_NAME, "1-80 letters, digits, '_', '.', '-', starting with a letter or digit"),),
    DISK: ((_BARE_NAME, "1-80 letters, digits, '_', '.', '-', starting with a letter or digit"),),
    DISK_ENCRYPTION_SET: ((_BARE_NAME, "1-80 letters, digits, '_', '.', '-', starting with a letter or digit"),),
    VIRTUAL_MACHINE: ((_VM_NAME, "1-64 letters, digits, '.', '-', starting and ending with a letter or digit"),),
    GALLERY: ((_GALLERY_NAME, "1-80 letters, digits, '_', '.', starting and ending with a letter or digit"),),
    STORAGE_ACCOUNT: ((re.compile(r"[A-Za-z0-9]{3,24}"), "3-24 lower-case letters and digits"),),
}
_NAME_RULES[GALLERY_IMAGE] = (*_NAME_RULES[GALLERY], (_IMAGE_DEFINITION_NAME, "1-80 letters, digits, '_', '.', "
                                                      "'-', starting and ending with a letter or digit"))
_NAME_RULES[GALLERY_IMAGE_VERSION] = (*_NAME_RULES[GALLERY_IMAGE],
                                      (_VERSION_NAME, "Major.Minor.Patch, each a whole number"))


def is_guid(value: str) -> bool:
    """True when ``value`` is a GUID such as a subscription ID (any case)."""
    return bool(_GUID.fullmatch(value))


def is_resource_group_name(value: str) -> bool:
    """True when ``value`` follows ARM's resource group naming rules."""
    if not 1 <= len(value) <= 90 or value.endswith("."):
        return False
    return all(ch.isalpha() or ch in _ASCII_DIGITS or ch in _RESOURCE_GROUP_PUNCTUATION for ch in value)


def is_bare_name(value: str) -> bool:
    """True when ``value`` can be a resource name (not an ID) of the kinds a request refers to."""
    return bool(_BARE_NAME.fullmatch(value))


@dataclass(frozen=True, eq=False)
class ResourceId:
    """A parsed ARM resource ID. Equality and hashing ignore case, as ARM does."""

    subscription: str
    resource_group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def kind(self) -> str:
        """The resource type with its namespace, e.g. "Microsoft.Compute/galleries/images/versions"."""
        return "/".join((self.namespace, *self.types))

    @property
    def name(self) -> str:
        """The last name segment: the resource's own name."""
        return self.names[-1]

    @property
    def parent(self) -> "ResourceId | None":
        """The ID one level up (a gallery image's gallery), None for a top-level resource."""
        if len(self.types) < 2:
            return None
        return ResourceId(self.subscription, self.resource_group, self.namespace, self.types[:-1],
                          self.names[:-1])

    def is_kind(self, *kinds: str) -> bool:
        """True when this ID's kind is one of ``kinds`` (compared case-insensitively)."""
        return self.kind.lower() in {kind.lower() for kind in kinds}

    def __str__(self) -> str:
        pairs = "/".join(f"{type_}/{name}" for type_, name in zip(self.types, self.names, strict=True))
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/{self.namespace}/{pairs}")

    def _key(self) -> tuple[str, ...]:
        return tuple(part.lower() for part in (self.subscription, self.resource_group, self.namespace,
                                               *self.types, *self.names))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceId):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def _problem(value: str, why: str) -> ValueError:
    return ValueError(f"'{clip(value)}' is not a valid resource ID: {why}")


def _check_name(value: str, name: str, what: str) -> None:
    if _FORBIDDEN_IN_NAME.search(name):
        raise _problem(value, f"the {what} '{clip(name)}' contains whitespace, a control or a reserved character")
    if name.endswith("."):
        raise _problem(value, f"the {what} '{clip(name)}' ends with '.'")
    if len(name) > _MAX_NAME:
        raise _problem(value, f"the {what} is {len(name)} characters long; ARM allows at most {_MAX_NAME}")


def parse_resource_id(value: str) -> ResourceId:
    """Parse and validate ``/subscriptions/<guid>/resourceGroups/<rg>/providers/<ns>/<type>/<name>...``.

    Raises ValueError naming the part that is wrong. Known resource types are returned in their
    canonical casing; names keep the spelling given.
    """
    if not isinstance(value, str):
        raise ValueError(f"a resource ID must be a string, not {type(value).__name__}")
    return _parse(value)


@functools.lru_cache(maxsize=4096)  # a validation parses the same few IDs dozens of times; ResourceId is frozen
def _parse(value: str) -> ResourceId:
    if not value.startswith("/"):
        raise _problem(value, "it must start with '/subscriptions/'")
    segments = value[1:].split("/")
    if any(segment == "" for segment in segments):
        raise _problem(value, "it has an empty segment (a doubled or trailing '/')")
    if len(segments) < 2 or segments[0].lower() != "subscriptions":
        raise _problem(value, "it must start with '/subscriptions/<subscription ID>'")
    subscription = segments[1]
    if not is_guid(subscription):
        raise _problem(value, f"the subscription '{subscription}' is not a GUID")
    if len(segments) < 4 or segments[2].lower() != "resourcegroups":
        raise _problem(value, "the subscription must be followed by '/resourceGroups/<name>'")
    resource_group = segments[3]
    if not is_resource_group_name(resource_group):
        raise _problem(value, f"the resource group '{resource_group}' is not a valid resource group name")
    if len(segments) < 6 or segments[4].lower() != "providers":
        raise _problem(value, "the resource group must be followed by '/providers/<Namespace>/<type>/<name>'")
    namespace = segments[5]
    if not _NAMESPACE.fullmatch(namespace):
        raise _problem(value, f"the provider namespace '{namespace}' is not like 'Microsoft.Compute'")
    rest = segments[6:]
    if not rest or len(rest) % 2:
        raise _problem(value, "after the provider namespace it needs '<type>/<name>' pairs")
    types = tuple(rest[0::2])
    names = tuple(rest[1::2])
    for type_ in types:
        if not _TYPE.fullmatch(type_):
            raise _problem(value, f"the resource type '{type_}' is not a type name")
    for name in names:
        _check_name(value, name, "name")
    canonical = _CANONICAL_KIND.get("/".join((namespace, *types)).lower())
    if canonical:
        namespace, *canonical_types = canonical.split("/")
        types = tuple(canonical_types)
        for name, (pattern, rule) in zip(names, _NAME_RULES.get(canonical, ()), strict=False):
            if not pattern.fullmatch(name):
                raise _problem(value, f"'{clip(name)}' is not a valid {canonical} name: {rule}")
    return ResourceId(subscription.lower(), resource_group, namespace, types, names)


def _build(subscription: str, resource_group: str, kind: str, names: tuple[str, ...]) -> ResourceId:
    namespace, *types = kind.split("/")
    text = str(ResourceId(subscription, resource_group, namespace, tuple(types), names))
    return parse_resource_id(text)


def disk_encryption_set_id(subscription: str, resource_group: str, name: str) -> str:
    """The ID of a disk encryption set, as the Azure CLI builds it from a name. ValueError if invalid."""
    if not is_bare_name(name):
        raise ValueError(f"'{clip(name)}' is not a disk encryption set name: use letters, digits, '_', '.', '-'")
    return str(_build(subscription, resource_group, DISK_ENCRYPTION_SET, (name,)))


def image_version_id(subscription: str, resource_group: str, gallery: str, image: str, version: str) -> str:
    """The ID of a gallery image version. ValueError if a part is invalid."""
    return str(_build(subscription, resource_group, GALLERY_IMAGE_VERSION, (gallery, image, version)))


def named_image_version_id(subscription: str, resource_group: str, gallery: str, image: str, version: str) -> str:
    """The image-version ID a request names, even when a name breaks its kind's rules (``1.0``, ``my-gallery``),
    so that the request can be recorded as a Rejected build. ValueError only for what cannot be in an ID at all
    (not a GUID, an invalid resource group, a reserved or control character)."""
    text = (f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{GALLERY}/{gallery}"
            f"/images/{image}/versions/{version}")
    if not is_guid(subscription):
        raise _problem(text, f"the subscription '{clip(subscription)}' is not a GUID")
    if not is_resource_group_name(resource_group):
        raise _problem(text, f"the resource group '{clip(resource_group)}' is not a valid resource group name")
    for name in (gallery, image, version):
        _check_name(text, name, "name")
    return str(ResourceId(subscription.lower(), resource_group, "Microsoft.Compute",
                          ("galleries", "images", "versions"), (gallery, image, version)))


def resolve_reference(value: str, *, kinds: tuple[str, ...], subscription: str, resource_group: str) -> str:
    """Turn a reference given by name or ID into a validated, canonical resource ID of one of ``kinds``.

    - A full ID is validated and must be of one of ``kinds``.
    - An ID missing its leading '/' ("subscriptions/...", as in the seed's PowerShell sample) is an ID.
      (The Azure CLI checks ``is_valid_resource_id`` and treats such a value as a *name*, building
      ".../diskEncryptionSets/subscriptions/..." - a trap we do not copy.)
    - Anything else without a '/' is a name in ``subscription`` / ``resource_group`` of ``kinds[0]``,
      as the CLI resolves names (the image version's subscription and resource group).
    Raises ValueError naming what is wrong and how to fix it.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a name or resource ID string, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValueError("is empty: give a resource name or a full resource ID")
    wanted = " or ".join(kinds)
    if "/" in text:
        if not text.startswith("/") and text.lower().startswith("subscriptions/"):
            text = "/" + text
        parsed = parse_resource_id(text)
        if not parsed.is_kind(*kinds):
            raise ValueError(f"'{clip(value)}' is a {parsed.kind} ID, but a {wanted} is required here")
        return str(parsed)
    if kinds[0].count("/") > 1:
        raise ValueError(f"'{clip(value)}' is a bare name; a {wanted} must be given by its full resource ID")
    if not is_bare_name(text):
        raise ValueError(
            f"'{clip(value)}' is neither a resource ID nor a valid name (letters, digits, '_', '.', '-', up to 80)"
        )
    return str(_build(subscription, resource_group, kinds[0], (text,)))
