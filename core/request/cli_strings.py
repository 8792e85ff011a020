"""The Azure CLI's string forms of `az sig image-version create`, parsed and rendered.

``--target-regions``: space-separated ``<region>[=<replica count>][=<storage account type>]``.
``--target-region-encryption``: one space-separated entry per target region, in the same order, each
``<os des>,<lun>,<des>,<lun>,<des>...``.

Parsing follows the CLI's ``process_gallery_image_version_namespace`` (azure-cli vm ``_validators.py``):
an entry is split on the first two '='; with two parts the second is a replica count if it is an integer,
else a storage account type; with three parts the second must be the count and the third the storage
type. Where the CLI is lax or inconsistent we are strict or consistent, and say so on the function.
Each parser raises ValueError with a message that names the entry and the fix; callers attach the field.
"""

import re
from dataclasses import dataclass

from core.azure.regions import normalize_region
from core.base.problems import clip

STORAGE_ACCOUNT_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS")
_STORAGE_BY_LOWER = {value.lower(): value for value in STORAGE_ACCOUNT_TYPES}
# ASCII digits, few enough that int() is cheap and never meets Python's digit limit.
_DIGITS = re.compile(r"[0-9]{1,9}")

# ARM's data disk LUNs: 0-63 (a VM has at most 64 data disks).
MAX_LUN = 63
MIN_REPLICAS = 1
MAX_REPLICAS = 100


@dataclass(frozen=True)
class CliTargetRegion:
    """One ``--target-regions`` entry: region normalised, storage type in canonical casing."""

    name: str
    replica_count: int | None = None
    storage_account_type: str | None = None


@dataclass(frozen=True)
class CliRegionEncryption:
    """One ``--target-region-encryption`` entry, DES references as written (names or IDs)."""

    os_disk_encryption_set: str | None
    data_disks: tuple[tuple[int, str], ...] = ()


def canonical_storage_account_type(value: str) -> str:
    """Return the canonical casing of a storage account type ("standard_lrs" -> "Standard_LRS").

    The CLI passes the user's casing through to ARM; we canonicalise so that requests compare equal and
    the body reads as the REST API documents it. ``PremiumV2_LRS`` is accepted because the SDK and REST
    API know it, although the CLI's own list stops at ``Premium_LRS``. Raises ValueError otherwise.
    """
    if isinstance(value, str):
        canonical = _STORAGE_BY_LOWER.get(value.lower())
        if canonical:
            return canonical
    raise ValueError(f"'{clip(value)}' is not a storage account type: use one of {', '.join(STORAGE_ACCOUNT_TYPES)}")


def parse_replica_count(text: str) -> int:
    """A replica count: ASCII digits only (the CLI's ``int()`` also takes '+2', ' 2', '2_0'), 1-100."""
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"'{clip(text)}' is not a whole number of replicas")
    return check_replica_count(int(text))


def check_replica_count(count: int) -> int:
    """Replicas per region must be 1-100 (the service's limit; the CLI does not check it)."""
    if not MIN_REPLICAS <= count <= MAX_REPLICAS:
        raise ValueError(f"replica count {count} is out of range: use {MIN_REPLICAS} to {MAX_REPLICAS}")
    return count


def split_entries(text: str) -> list[str]:
    """Split a space-separated CLI value into its entries (as the shell splits the arguments)."""
    return text.split()


def parse_target_region(entry: str) -> CliTargetRegion:
    """Parse one ``<region>[=<replica count>][=<storage account type>]`` entry.

    Differences from the CLI, on purpose: the storage type in the third part is compared
    case-insensitively (the CLI compares it case-sensitively against a lower-case list, so
    ``westus=2=Standard_LRS`` fails there while ``westus=Standard_LRS`` passes); an empty or
    non-region name and a count outside 1-100 are errors here rather than at the service.
    """
    parts = entry.split("=", 2)
    try:
        name = normalize_region(parts[0])
    except ValueError as error:
        raise ValueError(f"'{clip(entry)}': {error}") from None
    replica_count = None
    storage_account_type = None
    if len(parts) == 2:
        if _DIGITS.fullmatch(parts[1]):
            replica_count = _entry_count(entry, parts[1])
        else:
            try:
                storage_account_type = canonical_storage_account_type(parts[1])
            except ValueError:
                raise ValueError(
                    f"'{clip(entry)}': the second part is neither a replica count nor a storage account type; "
                    f"write <region>=<count> or <region>=<storage type> "
                    f"({', '.join(STORAGE_ACCOUNT_TYPES)})"
                ) from None
    elif len(parts) == 3:
        if not _DIGITS.fullmatch(parts[1]):
            raise ValueError(
                f"'{clip(entry)}': the second part must be the replica count; write <region>=<count>=<storage type>"
            )
        replica_count = _entry_count(entry, parts[1])
        try:
            storage_account_type = canonical_storage_account_type(parts[2])
        except ValueError:
            raise ValueError(
                f"'{clip(entry)}': the third part is not a storage account type; "
                f"use one of {', '.join(STORAGE_ACCOUNT_TYPES)}"
            ) from None
    return CliTargetRegion(name, replica_count, storage_account_type)


def _entry_count(entry: str, text: str) -> int:
    try:
        return parse_replica_count(text)
    except ValueError as error:
        raise ValueError(f"'{clip(entry)}': {error}") from None


def render_target_region(region: CliTargetRegion) -> str:
    """The CLI form of one target region (the inverse of ``parse_target_region``)."""
    parts = [region.name]
    if region.replica_count is not None:
        parts.append(str(region.replica_count))
    if region.storage_account_type is not None:
        parts.append(region.storage_account_type)
    return "=".join(parts)


def is_null(text: str) -> bool:
    """The CLI's ``null`` placeholder; we accept any case."""
    return text.strip().lower() == "null"


def parse_region_encryption(entry: str) -> CliRegionEncryption | None:
    """Parse one ``<os des>,<lun>,<des>,...`` entry; None when the whole entry is empty or ``null``.

    ``null`` (any case) in the OS slot means no OS-disk encryption set, as in the CLI. Unlike the CLI,
    ``null`` in a data-disk DES slot also means "no encryption set for that LUN" (the CLI would build a
    DES ID named "null"), an empty OS slot is an error rather than a DES with an empty name, and a LUN
    must be a whole number >= 0 (the CLI passes any text through). DES references stay as written;
    the caller resolves names to IDs.
    """
    if not entry.strip() or is_null(entry):
        return None
    terms = [term.strip() for term in entry.split(",")]
    os_slot, data_terms = terms[0], terms[1:]
    if not os_slot:
        raise ValueError(f"'{clip(entry)}': the OS-disk slot is empty; write null for no OS-disk encryption set")
    if len(data_terms) % 2:
        raise ValueError(
            f"'{clip(entry)}': LUN and disk encryption set must come in pairs, e.g. osdes,0,datades0,1,datades1"
        )
    data_disks: list[tuple[int, str]] = []
    seen: set[int] = set()
    for lun_text, des in zip(data_terms[0::2], data_terms[1::2], strict=True):
        if not _DIGITS.fullmatch(lun_text):
            raise ValueError(f"'{clip(entry)}': LUN '{clip(lun_text)}' is not a whole number >= 0")
        lun = int(lun_text)
        if lun > MAX_LUN:
            raise ValueError(f"'{clip(entry)}': LUN {lun} is out of range: use 0 to {MAX_LUN}")
        if lun in seen:
            raise ValueError(f"'{clip(entry)}': LUN {lun} appears twice; give each LUN once")
        seen.add(lun)
        if not des:
            raise ValueError(f"'{clip(entry)}': the disk encryption set for LUN {lun} is empty; write null to skip it")
        if not is_null(des):
            data_disks.append((lun, des))
    if is_null(os_slot) and not data_disks:
        return None
    return CliRegionEncryption(None if is_null(os_slot) else os_slot, tuple(data_disks))


def render_region_encryption(encryption: CliRegionEncryption | None) -> str:
    """The CLI form of one region's encryption (the inverse of ``parse_region_encryption``)."""
    if encryption is None:
        return "null"
    terms = [encryption.os_disk_encryption_set or "null"]
    for lun, des in encryption.data_disks:
        terms += [str(lun), des]
    return ",".join(terms)


# --- confidential VM encryption and edge zones (az CLI 2.91 ``process_gallery_image_version_namespace``) ---

# What ``--target-region-cvm-encryption`` accepts (the CLI's own list, narrower than the REST enum).
CLI_CVM_ENCRYPTION_TYPES = ("EncryptedVMGuestStateOnlyWithPmk", "EncryptedWithPmk", "EncryptedWithCmk",
                            "NonPersistedTPM")
# ``--target-edge-zones`` storage types: the CLI adds StandardSSD_LRS, the edge zones' default.
EDGE_ZONE_STORAGE_ACCOUNT_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS", "StandardSSD_LRS")
_EDGE_ZONE_NAME = re.compile(r"[a-z][a-z0-9]{1,62}")


@dataclass(frozen=True)
class CliCvmEncryption:
    """One ``--target-region-cvm-encryption`` entry: the type, and the secure DES as written (or None)."""

    confidential_vm_encryption_type: str
    secure_disk_encryption_set: str | None


@dataclass(frozen=True)
class CliEdgeZone:
    """One ``--target-edge-zones`` entry: ``<region>=<edge zone>[=<replica count>][=<storage type>]``."""

    name: str
    edge_zone: str
    replica_count: int | None = None
    storage_account_type: str | None = None


def parse_cvm_encryption(entry: str) -> CliCvmEncryption | None:
    """Parse ``<os_cvm_encryption_type>,<os_cvm_des>``; None for ``null`` (no security profile here).

    As in the CLI the entry has exactly two comma-separated parts, the type is one of the CLI's four
    (case-sensitive there; any case here, written canonically) and an empty DES part means none.
    ``null`` for the whole entry is ours: the CLI has no way to leave one region without a profile.
    """
    if is_null(entry):
        return None
    terms = [term.strip() for term in entry.split(",")]
    if len(terms) != 2:
        raise ValueError(f"'{entry}': write <os_cvm_encryption_type>,<os_cvm_des> (both parts, the DES may be "
                         "empty), or null")
    by_lower = {value.lower(): value for value in CLI_CVM_ENCRYPTION_TYPES}
    kind = by_lower.get(terms[0].lower())
    if kind is None:
        raise ValueError(f"'{entry}': '{terms[0]}' is not a confidential VM encryption type: use one of "
                         f"{', '.join(CLI_CVM_ENCRYPTION_TYPES)}")
    return CliCvmEncryption(kind, terms[1] or None)


def check_edge_zone_name(text: str) -> str:
    """An Extended Zone name as ARM writes it ("microsoftlosangeles1"); ValueError otherwise."""
    name = text.strip()
    if not _EDGE_ZONE_NAME.fullmatch(name.lower()):
        raise ValueError(f"'{text}' is not an edge zone name: use its name such as microsoftlosangeles1 "
                         "(az edge-zones extended-zone list)")
    return name.lower()


def canonical_edge_zone_storage_type(value: str) -> str:
    for known in EDGE_ZONE_STORAGE_ACCOUNT_TYPES:
        if isinstance(value, str) and known.lower() == value.strip().lower():
            return known
    raise ValueError(f"'{value}' is not an edge zone storage account type: use one of "
                     f"{', '.join(EDGE_ZONE_STORAGE_ACCOUNT_TYPES)}")


def parse_edge_zone(entry: str) -> CliEdgeZone:
    """Parse ``<region>=<edge zone>[=<replica count>][=<storage account type>]`` as the CLI does.

    Differences, on purpose: an entry without an edge zone is an error (the CLI skips it silently) and
    the count must be 1-100.
    """
    parts = entry.split("=", 3)
    if len(parts) < 2:
        raise ValueError(f"'{entry}': write <region>=<edge zone>[=<replica count>][=<storage type>]")
    try:
        name = normalize_region(parts[0])
        edge_zone = check_edge_zone_name(parts[1])
    except ValueError as error:
        raise ValueError(f"'{entry}': {error}") from None
    replica_count = storage = None
    if len(parts) == 3:
        if _DIGITS.fullmatch(parts[2]):
            replica_count = _entry_count(entry, parts[2])
        else:
            storage = _edge_storage(entry, parts[2], "the third part is neither a replica count nor")
    elif len(parts) == 4:
        if not _DIGITS.fullmatch(parts[2]):
            raise ValueError(f"'{entry}': the third part must be the replica count; write "
                             "<region>=<edge zone>=<count>=<storage type>")
        replica_count = _entry_count(entry, parts[2])
        storage = _edge_storage(entry, parts[3], "the fourth part is not")
    return CliEdgeZone(name, edge_zone, replica_count, storage)


def _edge_storage(entry: str, text: str, what: str) -> str:
    try:
        return canonical_edge_zone_storage_type(text)
    except ValueError:
        raise ValueError(f"'{entry}': {what} a storage account type; use one of "
                         f"{', '.join(EDGE_ZONE_STORAGE_ACCOUNT_TYPES)}") from None


def parse_edge_zone_encryption(entry: str) -> tuple[str, CliRegionEncryption | None]:
    """Parse ``<edge zone>,<os_des>,<lun>,<des>...``: (edge zone, encryption as a region entry has it).

    The CLI matches entries to ``--target-edge-zones`` by position and ignores the zone named here; we
    match by position too and the caller checks that the zone named is that entry's zone.
    """
    zone, comma, rest = entry.partition(",")
    if not comma:
        raise ValueError(f"'{entry}': write <edge zone>,<os des>[,<lun>,<des>...] (null for no OS-disk set)")
    try:
        zone_name = check_edge_zone_name(zone)
    except ValueError as error:
        raise ValueError(f"'{entry}': {error}") from None
    return zone_name, parse_region_encryption(rest)
