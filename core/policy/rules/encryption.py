"""Rules on the disk encryption sets a request names and on how it maps them to disks and regions.

Messages borrow the service's own error texts (the gallery troubleshooting guide) so that a person who
has seen the ARM error recognises it, and add what to change.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.azure import resource_ids
from core.policy.facts import Facts, encrypted_disks, source_data_luns
from core.policy.registry import Violation, rule
from core.policy.views import (
    OS_DISK,
    DesUse,
    disks_encrypted_in,
    is_encrypted,
    lun_label,
    name_of,
    normalized,
    region_field,
    region_name,
    uses_by_des,
    where_used,
)
from core.request import ENCRYPTION_TYPES, BuildRequest
from core.request.model import CONFIDENTIAL_DES_TYPE


def _subscription(des_id: str) -> str | None:
    try:
        return resource_ids.parse_resource_id(des_id).subscription
    except ValueError:
        return None


def _in_image_subscription(request: BuildRequest, des_id: str) -> bool:
    return _subscription(des_id) == request.subscription_id.lower()


def _found(request: BuildRequest, facts: Facts) -> Iterator[tuple[list[DesUse], dict]]:
    """Each DES that was read and exists, with its uses."""
    for key, uses in uses_by_des(request).items():
        des = facts.des(key)
        if des is not None and _in_image_subscription(request, uses[0].des_id):
            yield uses, des


@rule("DiskEncryptionSetSubscription")
def des_in_image_subscription(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Each disk encryption set is in the same subscription as the image version."""
    for uses in uses_by_des(request).values():
        if not _in_image_subscription(request, uses[0].des_id):
            yield Violation(uses[0].field,
                            f"the disk encryption set '{uses[0].des_id}' (for {where_used(uses)}) must be in the same "
                            f"subscription '{request.subscription_id}' as the gallery resource; create a disk "
                            f"encryption set in subscription {request.subscription_id} in each region and use it")


@rule("DiskEncryptionSetNotFound")
def des_exists(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Each disk encryption set exists."""
    for key, uses in uses_by_des(request).items():
        if _in_image_subscription(request, uses[0].des_id) and facts.des(key) is None:
            yield Violation(uses[0].field,
                            f"the disk encryption set {uses[0].des_id} (for {where_used(uses)}) was not found; "
                            "create it in the region that uses it, or fix the name or resource group")


@rule("DiskEncryptionSetRegion")
def des_in_its_region(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Each disk encryption set is located in the target region it encrypts (a DES is regional)."""
    for uses, des in _found(request, facts):
        location = normalized(str(des.get("location") or ""))
        for use in uses:
            if location != use.region:
                yield Violation(use.field,
                                f"target region '{use.region}' uses disk encryption set '{use.des_name}' for "
                                f"{'the ' if use.disk == OS_DISK else ''}{use.disk}, but that set is located in "
                                f"'{location}': a disk encryption set only encrypts replicas in its own region; "
                                f"use one located in '{use.region}' (or fix the region)")


@rule("EncryptionTypeMismatch")
def des_encryption_type(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Each disk encryption set has the encryption type the request asks for (CMK only, or double); a
    confidential VM's secure set is of type ConfidentialVmEncryptedWithCustomerKey."""
    wanted = (request.encryption_type,) if request.encryption_type else ENCRYPTION_TYPES
    for all_uses, des in _found(request, facts):
        actual = (des.get("properties") or {}).get("encryptionType")
        at_rest = [use for use in all_uses if not use.secure]
        secure = [use for use in all_uses if use.secure]
        if at_rest and actual not in wanted:
            asked = (f"the request asks for {request.encryption_type}" if request.encryption_type
                     else f"image encryption needs one of {', '.join(ENCRYPTION_TYPES)}")
            yield Violation(at_rest[0].field,
                            f"disk encryption set '{at_rest[0].des_name}' (for {where_used(at_rest)}) has encryption "
                            f"type {actual or 'none'}, but {asked}; use a set of that type, or change encryptionType")
        if secure and actual != CONFIDENTIAL_DES_TYPE:
            yield Violation(secure[0].field,
                            f"disk encryption set '{secure[0].des_name}' (for {where_used(secure)}) has encryption "
                            f"type {actual or 'none'}, but a confidential VM's OS disk key needs a set of type "
                            f"{CONFIDENTIAL_DES_TYPE}; create one (az disk-encryption-set create --encryption-type "
                            f"{CONFIDENTIAL_DES_TYPE}) in that region and use it")


@rule("DiskEncryptionSetNoActiveKey")
def des_has_active_key(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Each disk encryption set has an active Key Vault key."""
    for uses, des in _found(request, facts):
        if not ((des.get("properties") or {}).get("activeKey") or {}).get("keyUrl"):
            yield Violation(uses[0].field,
                            f"disk encryption set '{uses[0].des_name}' (for {where_used(uses)}) has no active key; "
                            "set its Key Vault key (activeKey.keyUrl) and grant the set's identity access to it")


@rule("DiskEncryptionSetKeyRotationFailed")
def des_key_rotation(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """No disk encryption set reports an automatic key rotation error."""
    for uses, des in _found(request, facts):
        error = (des.get("properties") or {}).get("autoKeyRotationError")
        if error:
            detail = (error.get("message") or error.get("code")) if isinstance(error, dict) else str(error)
            yield Violation(uses[0].field,
                            f"disk encryption set '{uses[0].des_name}' (for {where_used(uses)}) reports a key "
                            f"rotation error: {detail}; fix the set's access to its Key Vault key")


@rule("DiskEncryptionMissingInRegion")
def encryption_all_or_nothing(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Encryption is all-or-nothing per disk: a disk encrypted in one region is encrypted in every region."""
    per_region = [(index, region_name(region), disks_encrypted_in(region))
                  for index, region in enumerate(request.target_regions)]
    disks: list[str] = []
    for _, _, encrypted in per_region:
        disks += [disk for disk in encrypted if disk not in disks]
    for disk in disks:
        used = next((region, des) for _, region, encrypted in per_region for d, des in encrypted.items() if d == disk)
        for index, region, encrypted in per_region:
            if disk not in encrypted:
                label = "osDiskImage.diskEncryptionSetId" if disk == OS_DISK else disk
                yield Violation(f"{region_field(index)}.encryption",
                                f"a disk encryption set is required for disk '{label}' in target region '{region}' "
                                f"since disk encryption set '{name_of(used[1])}' is used for the corresponding disk "
                                f"in region '{used[0]}'; add a set located in '{region}' for the {disk} there, or "
                                "remove the encryption of that disk everywhere")


@rule("LunNotInSource")
def luns_exist_in_source(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Every LUN named in encryption is a data disk of the source."""
    luns = source_data_luns(request, facts)
    if luns is None:
        return
    valid = ", ".join(str(lun) for lun in sorted(luns)) or "none: the source has no data disks"
    for index, region in enumerate(request.target_regions):
        for position, disk in enumerate(region.data_disk_encryption):
            if disk.lun not in luns:
                yield Violation(f"{region_field(index)}.encryption.dataDiskImages[{position}].lun",
                                f"an invalid lun [{disk.lun}] was specified for target region '{region_name(region)}'"
                                f" in encryption.dataDiskImages: the source's data disk LUNs are {valid}; fix the "
                                "LUN or remove that entry")


@rule("DataDiskNotEncrypted")
def all_data_disks_encrypted(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Optional: when a region encrypts any disk, it encrypts every data disk of the source too."""
    luns = source_data_luns(request, facts)
    if not luns:
        return
    for index, region in enumerate(request.target_regions):
        encrypted = disks_encrypted_in(region)
        if not encrypted:
            continue
        for lun in sorted(luns):
            if lun_label(lun) not in encrypted:
                yield Violation(f"{region_field(index)}.encryption.dataDiskImages",
                                f"target region '{region_name(region)}' encrypts {', '.join(encrypted)} but not data "
                                f"disk LUN {lun}; add a disk encryption set for LUN {lun} in that region (policy: "
                                "every data disk is encrypted when any disk is)")


@rule("EncryptionDowngrade")
def no_going_back(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """No going back: a disk that earlier versions of the definition encrypt with CMK is encrypted here too."""
    encrypted_before: dict[str, list[str]] = {}
    for version in facts.existing_versions:
        for disk in sorted(encrypted_disks(version)):
            encrypted_before.setdefault(disk, []).append(str(version.get("name")))
    if not encrypted_before:
        return
    luns = source_data_luns(request, facts)
    now = {disk for region in request.target_regions for disk in disks_encrypted_in(region)}
    for disk, versions in encrypted_before.items():
        if disk in now or (disk != OS_DISK and luns is not None and disk not in {lun_label(n) for n in luns}):
            continue
        what = "uses no customer-managed key at all" if not is_encrypted(request) else f"leaves the {disk} unencrypted"
        yield Violation("targetRegions",
                        f"version(s) {', '.join(versions)} of image definition '{request.image_definition}' encrypt "
                        f"the {disk} with a customer-managed key, but this version {what}: once an image uses "
                        f"customer-managed keys it cannot go back to platform-managed keys; encrypt the {disk} in "
                        "every target region")
