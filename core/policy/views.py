"""Views of a BuildRequest that several rules share: where each DES is used, field paths, region names.

Field paths follow the request's canonical REST shape (``core.request.request_to_dict``), e.g.
``targetRegions[1].encryption.dataDiskImages[0].diskEncryptionSetId``, whatever shape it came in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from core.azure import resource_ids
from core.azure.regions import normalize_region
from core.request import BuildRequest, RegionTarget

OS_DISK = "OS disk"
# The OS disk's confidential VM key (``osDiskImage.securityProfile.secureVMDiskEncryptionSetId``).
SECURE_OS_DISK = "confidential OS disk"


@dataclass(frozen=True)
class DesUse:
    """One place a disk encryption set is named: a disk ("OS disk" or "LUN <n>") in a target region."""

    region: str
    disk: str
    des_id: str
    field: str

    @property
    def des_name(self) -> str:
        return name_of(self.des_id)

    @property
    def secure(self) -> bool:
        """A confidential VM's secure set (its own DES type), not an at-rest one."""
        return self.disk == SECURE_OS_DISK


def normalized(name: str) -> str:
    """A region's programmatic name ("East US 2" -> "eastus2"); the text as given if it is not one."""
    try:
        return normalize_region(name)
    except ValueError:
        return name


def region_name(region: RegionTarget) -> str:
    return normalized(region.name)


def region_field(index: int) -> str:
    return f"targetRegions[{index}]"


def lun_label(lun: int) -> str:
    return f"LUN {lun}"


def des_uses(request: BuildRequest) -> Iterator[DesUse]:
    """Every (region, disk, DES) the request names, in request order: target regions, then edge zones
    (whose sets sit in the zone's parent region, ``name``)."""
    places = [(f"{region_field(index)}.encryption", region) for index, region in enumerate(request.target_regions)]
    places += [(f"targetEdgeZones[{index}].encryption", zone) for index, zone in enumerate(request.target_edge_zones)]
    for base, region in places:
        name = normalized(region.name)
        if region.os_disk_encryption_set_id is not None:
            yield DesUse(name, OS_DISK, region.os_disk_encryption_set_id, f"{base}.osDiskImage.diskEncryptionSetId")
        security = getattr(region, "os_security_profile", None)
        if security is not None and security.secure_vm_disk_encryption_set_id is not None:
            yield DesUse(name, SECURE_OS_DISK, security.secure_vm_disk_encryption_set_id,
                         f"{base}.osDiskImage.securityProfile.secureVMDiskEncryptionSetId")
        for position, disk in enumerate(region.data_disk_encryption):
            yield DesUse(name, lun_label(disk.lun), disk.disk_encryption_set_id,
                         f"{base}.dataDiskImages[{position}].diskEncryptionSetId")


def uses_by_des(request: BuildRequest) -> dict[str, list[DesUse]]:
    """The uses of each distinct DES, keyed by lower-case ID, in first-use order."""
    grouped: dict[str, list[DesUse]] = {}
    for use in des_uses(request):
        grouped.setdefault(use.des_id.lower(), []).append(use)
    return grouped


def where_used(uses: list[DesUse]) -> str:
    """"the OS disk in 'westus', LUN 0 in 'eastus2'"."""
    return ", ".join(f"{'the ' if use.disk == OS_DISK else ''}{use.disk} in '{use.region}'" for use in uses)


def is_encrypted(request: BuildRequest) -> bool:
    """Whether the request names a DES for any disk in any region or edge zone."""
    return any(region.encrypted for region in (*request.target_regions, *request.target_edge_zones))


def disks_encrypted_in(region: RegionTarget) -> dict[str, str]:
    """{disk label: DES ID} for one region (the first DES when a LUN is, wrongly, given twice)."""
    disks: dict[str, str] = {}
    if region.os_disk_encryption_set_id is not None:
        disks[OS_DISK] = region.os_disk_encryption_set_id
    secure = region.os_security_profile
    if secure is not None and secure.secure_vm_disk_encryption_set_id is not None:
        disks[SECURE_OS_DISK] = secure.secure_vm_disk_encryption_set_id
    for disk in region.data_disk_encryption:
        disks.setdefault(lun_label(disk.lun), disk.disk_encryption_set_id)
    return disks


def source_field(request: BuildRequest) -> str:
    return f"source.{request.source.kind}"


def name_of(resource_id: str) -> str:
    try:
        return resource_ids.parse_resource_id(resource_id).name
    except ValueError:
        return resource_id
