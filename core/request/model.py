"""Build request v1: the model every trigger produces (design.md §5), and the problems a bad one has.

The parser (``core.request.parse``) turns each of the three input shapes into a ``BuildRequest`` or
raises ``RequestInvalid`` listing every problem; ``core.request.canonical`` writes one back as JSON.
"""

from dataclasses import dataclass, field
from typing import Literal

from core.azure import resource_ids
from core.base.problems import Problem

SCHEMA_VERSION = 1
ENCRYPTION_TYPES = ("EncryptionAtRestWithCustomerKey", "EncryptionAtRestWithPlatformAndCustomerKeys")
# The DES type a confidential VM's OS disk needs (``securityProfile.secureVMDiskEncryptionSetId``).
CONFIDENTIAL_DES_TYPE = "ConfidentialVmEncryptedWithCustomerKey"
# ``osDiskImage.securityProfile.confidentialVMEncryptionType`` (REST 2025-03-03); the CLI knows the first four.
CONFIDENTIAL_VM_ENCRYPTION_TYPES = ("EncryptedVMGuestStateOnlyWithPmk", "EncryptedWithPmk", "EncryptedWithCmk",
                                    "NonPersistedTPM", "DataDiskEncryptedWithCmk")
CUSTOMER_KEY_CVM_TYPES = ("EncryptedWithCmk", "DataDiskEncryptedWithCmk")
REPLICATION_MODES = ("Full", "Shallow")
STORAGE_ACCOUNT_STRATEGIES = ("PreferStandard_ZRS", "DefaultStandard_LRS")
HOST_CACHING = ("None", "ReadOnly", "ReadWrite")
SOURCE_KINDS = ("managedImage", "imageVersion", "virtualMachine", "osSnapshot", "osVhdUri", "communityGalleryImage")

SourceKind = Literal["managedImage", "imageVersion", "virtualMachine", "osSnapshot", "osVhdUri",
                     "communityGalleryImage"]
# Sources that are not ARM resources of the image's kind (a blob URI, a community gallery image path).
NON_RESOURCE_SOURCES = ("osVhdUri", "communityGalleryImage")

# Resource kinds each source may be, the first being the kind a bare name resolves to (as the CLI does).
SOURCE_RESOURCE_KINDS: dict[str, tuple[str, ...]] = {
    "managedImage": (resource_ids.IMAGE,),
    "imageVersion": (resource_ids.GALLERY_IMAGE_VERSION,),
    "virtualMachine": (resource_ids.VIRTUAL_MACHINE,),
    "osSnapshot": (resource_ids.SNAPSHOT, resource_ids.DISK),
}
DATA_DISK_RESOURCE_KINDS = (resource_ids.SNAPSHOT, resource_ids.DISK)

# "$schema" points an editor at core/request/schema.json; the parser accepts and ignores it.
TOP_LEVEL_FIELDS = (
    "schemaVersion", "subscriptionId", "resourceGroup", "galleryName", "imageDefinition", "version",
    "location", "source", "targetRegions", "targetRegionEncryption", "replicaCount", "storageAccountType",
    "endOfLifeDate", "excludeFromLatest", "replicationMode", "tags", "encryptionType",
    "targetRegionCvmEncryption", "targetEdgeZones", "targetEdgeZoneEncryption", "allowDeletionOfReplicatedLocations",
    "blockDeletionBeforeEndOfLife", "storageAccountStrategy", "hostCaching", "verification", "$schema",
)


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
class SecurityProfile:
    """``osDiskImage.securityProfile``: how a confidential VM's OS disk (and VM guest state) is encrypted."""

    confidential_vm_encryption_type: str
    secure_vm_disk_encryption_set_id: str | None = None


@dataclass(frozen=True)
class RegionTarget:
    """One target region: ``name`` normalised ("eastus2"), DES references resolved to canonical IDs."""

    name: str
    replica_count: int | None = None
    storage_account_type: str | None = None
    os_disk_encryption_set_id: str | None = None
    data_disk_encryption: tuple[DataDiskEncryption, ...] = ()
    exclude_from_latest: bool | None = None
    os_security_profile: SecurityProfile | None = None

    @property
    def encrypted(self) -> bool:
        """Whether any disk here names a DES (an at-rest set, or a confidential VM's secure set)."""
        secure = self.os_security_profile is not None and self.os_security_profile.secure_vm_disk_encryption_set_id
        return self.os_disk_encryption_set_id is not None or bool(self.data_disk_encryption) or bool(secure)


@dataclass(frozen=True)
class EdgeZoneTarget:
    """One ``targetExtendedLocations`` entry: an Azure Extended Zone (``edge_zone``) of region ``name``."""

    name: str
    edge_zone: str
    replica_count: int | None = None
    storage_account_type: str | None = None
    os_disk_encryption_set_id: str | None = None
    data_disk_encryption: tuple[DataDiskEncryption, ...] = ()

    @property
    def encrypted(self) -> bool:
        return self.os_disk_encryption_set_id is not None or bool(self.data_disk_encryption)


@dataclass(frozen=True)
class DataDiskSource:
    """A data disk of the version: a snapshot or disk ``id``, or (``storage_account_id`` set) a VHD blob URI."""

    lun: int
    id: str
    storage_account_id: str | None = None

    @property
    def is_vhd(self) -> bool:
        return self.storage_account_id is not None


@dataclass(frozen=True)
class ImageSource:
    """Where the image version comes from; ``data_disks`` only with an ``osSnapshot`` or ``osVhdUri`` source.

    ``id`` is a resource ID, except for ``osVhdUri`` (the blob URI, its account in ``storage_account_id``)
    and ``communityGalleryImage`` (``/communityGalleries/<name>/images/<image>[/versions/<v>]``).
    """

    kind: SourceKind
    id: str
    data_disks: tuple[DataDiskSource, ...] = ()
    storage_account_id: str | None = None

    @property
    def is_resource(self) -> bool:
        """Whether ``id`` is an ARM resource ID that can be read (not a VHD or community image)."""
        return self.kind not in NON_RESOURCE_SOURCES

    def resource_data_disks(self) -> tuple[DataDiskSource, ...]:
        """The data disks that are ARM resources (snapshots, disks), not VHDs."""
        return tuple(disk for disk in self.data_disks if not disk.is_vhd)


@dataclass(frozen=True)
class VerificationRegion:
    """Where a verification VM boots: a target region, a subnet there, and a VM size (None: the size
    ``VERIFICATION_VM_SIZES`` gives for the region and the image's security type)."""

    name: str
    subnet_id: str
    vm_size: str | None = None


@dataclass(frozen=True)
class Verification:
    """A VM booted from the version after it succeeds (``core.request.verification``). Without an SSH key
    (and always for a Windows image) the VM gets a password generated for it alone, never stored."""

    admin_username: str
    ssh_public_key: str | None
    regions: tuple[VerificationRegion, ...]


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
    target_edge_zones: tuple[EdgeZoneTarget, ...] = ()
    allow_deletion_of_replicated_locations: bool | None = None
    block_deletion_before_end_of_life: bool | None = None
    storage_account_strategy: str | None = None
    os_host_caching: str | None = None
    data_host_caching: tuple[tuple[int, str], ...] = ()
    verification: Verification | None = None

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
        for region in (*self.target_regions, *self.target_edge_zones):
            data_ids = (disk.disk_encryption_set_id for disk in region.data_disk_encryption)
            secure = getattr(region, "os_security_profile", None)
            secure_id = secure.secure_vm_disk_encryption_set_id if secure else None
            for des_id in (region.os_disk_encryption_set_id, secure_id, *data_ids):
                if des_id is not None:
                    seen.setdefault(des_id.lower(), des_id)
        return list(seen.values())

