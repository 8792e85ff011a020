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

from core.request.regions import normalize_region

STORAGE_ACCOUNT_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS")
_STORAGE_BY_LOWER = {value.lower(): value for value in STORAGE_ACCOUNT_TYPES}
_DIGITS = re.compile(r"[0-9]+")

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
    raise ValueError(f"'{value}' is not a storage account type: use one of {', '.join(STORAGE_ACCOUNT_TYPES)}")


def parse_replica_count(text: str) -> int:
    """A replica count: ASCII digits only (the CLI's ``int()`` also takes '+2', ' 2', '2_0'), 1-100."""
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"'{text}' is not a whole number of replicas")
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
        raise ValueError(f"'{entry}': {error}") from None
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
                    f"'{entry}': the second part is neither a replica count nor a storage account type; "
                    f"write <region>=<count> or <region>=<storage type> "
                    f"({', '.join(STORAGE_ACCOUNT_TYPES)})"
                ) from None
    elif len(parts) == 3:
        if not _DIGITS.fullmatch(parts[1]):
            raise ValueError(
                f"'{entry}': the second part must be the replica count; write <region>=<count>=<storage type>"
            )
        replica_count = _entry_count(entry, parts[1])
        try:
            storage_account_type = canonical_storage_account_type(parts[2])
        except ValueError:
            raise ValueError(
                f"'{entry}': the third part is not a storage account type; "
                f"use one of {', '.join(STORAGE_ACCOUNT_TYPES)}"
            ) from None
    return CliTargetRegion(name, replica_count, storage_account_type)


def _entry_count(entry: str, text: str) -> int:
    try:
        return parse_replica_count(text)
    except ValueError as error:
        raise ValueError(f"'{entry}': {error}") from None


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
        raise ValueError(f"'{entry}': the OS-disk slot is empty; write null for no OS-disk encryption set")
    if len(data_terms) % 2:
        raise ValueError(
            f"'{entry}': LUN and disk encryption set must come in pairs, e.g. osdes,0,datades0,1,datades1"
        )
    data_disks: list[tuple[int, str]] = []
    seen: set[int] = set()
    for lun_text, des in zip(data_terms[0::2], data_terms[1::2], strict=True):
        if not _DIGITS.fullmatch(lun_text):
            raise ValueError(f"'{entry}': LUN '{lun_text}' is not a whole number >= 0")
        lun = int(lun_text)
        if lun in seen:
            raise ValueError(f"'{entry}': LUN {lun} appears twice; give each LUN once")
        seen.add(lun)
        if not des:
            raise ValueError(f"'{entry}': the disk encryption set for LUN {lun} is empty; write null to skip it")
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
