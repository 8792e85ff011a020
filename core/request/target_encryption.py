"""A target's `encryption` object (REST and PowerShell shapes): the OS disk's DES, the data disks' DES by LUN,
and the confidential-VM security profile, read into the model or problems."""

from __future__ import annotations

from core.azure import resource_ids
from core.request.cli_strings import MAX_LUN
from core.request.model import (
    CONFIDENTIAL_VM_ENCRYPTION_TYPES,
    CUSTOMER_KEY_CVM_TYPES,
    DataDiskEncryption,
    SecurityProfile,
)
from core.request.reader import (
    DATA_DISK_FIELDS,
    ENCRYPTION_FIELDS,
    OS_DISK_FIELDS,
    SECURITY_PROFILE_FIELDS,
    FieldReader,
    join_path,
    type_name,
)

# What an encryption object holds: the OS disk's DES, the data disks' DES by LUN, the security profile.
EncryptionParts = tuple[str | None, tuple[DataDiskEncryption, ...], SecurityProfile | None]


def encryption_object(parser: FieldReader, path: str, value: object, *,
                      confidential: bool = True) -> EncryptionParts | None:
    """A REST/PowerShell ``encryption`` object: (OS-disk DES, data-disk DES by LUN, security profile).

    ``confidential=False`` (edge zones: ``GalleryTargetExtendedLocation`` has no security profile) refuses
    ``osDiskImage.securityProfile``.
    """
    obj = parser.object(value, path, "an object with osDiskImage and/or dataDiskImages")
    if obj is None:
        return None
    problems_before = len(parser.problems)
    found = parser.fields(obj, ENCRYPTION_FIELDS, path, ignore_case=True)
    os_des = security = None
    if "osDiskImage" in found:
        os_path, os_value = found["osDiskImage"]
        os_obj = parser.object(os_value, os_path, "an object with diskEncryptionSetId")
        if os_obj is not None:
            known = OS_DISK_FIELDS if confidential else OS_DISK_FIELDS[:1]
            os_fields = parser.fields(os_obj, known, os_path, ignore_case=True)
            if "diskEncryptionSetId" in os_fields:
                os_des = parser.reference(os_fields["diskEncryptionSetId"][1], os_fields["diskEncryptionSetId"][0],
                                          (resource_ids.DISK_ENCRYPTION_SET,))
            if "securityProfile" in os_fields:
                security = _security_profile(parser, *os_fields["securityProfile"])
            if not os_fields:
                parser.add(join_path(os_path, "diskEncryptionSetId"),
                           "is required; remove osDiskImage for no OS-disk encryption set")
    data: list[DataDiskEncryption] = []
    if "dataDiskImages" in found:
        data = _data_disk_encryption(parser, *found["dataDiskImages"])
    if len(parser.problems) > problems_before:
        return None
    return os_des, tuple(data), security


def _security_profile(parser: FieldReader, path: str, value: object) -> SecurityProfile | None:
    obj = parser.object(value, path, "an object with confidentialVMEncryptionType and secureVMDiskEncryptionSetId")
    if obj is None:
        return None
    found = parser.fields(obj, SECURITY_PROFILE_FIELDS, path, ignore_case=True)
    if "confidentialVMEncryptionType" not in found:
        parser.add(join_path(path, "confidentialVMEncryptionType"),
                   f"is required: one of {', '.join(CONFIDENTIAL_VM_ENCRYPTION_TYPES)}")
        return None
    kind = parser.choice(found["confidentialVMEncryptionType"][1], found["confidentialVMEncryptionType"][0],
                         CONFIDENTIAL_VM_ENCRYPTION_TYPES)
    des = None
    if "secureVMDiskEncryptionSetId" in found:
        des = parser.reference(found["secureVMDiskEncryptionSetId"][1], found["secureVMDiskEncryptionSetId"][0],
                               (resource_ids.DISK_ENCRYPTION_SET,))
    if kind is None:
        return None
    return checked_security_profile(parser, path, SecurityProfile(kind, des))


def checked_security_profile(parser: FieldReader, path: str, profile: SecurityProfile) -> SecurityProfile | None:
    """The offline rule of a security profile: a customer key type needs its secure DES, and only those."""
    kind, des = profile.confidential_vm_encryption_type, profile.secure_vm_disk_encryption_set_id
    if kind in CUSTOMER_KEY_CVM_TYPES and des is None:
        parser.add(path, f"{kind} encrypts with a customer-managed key: give secureVMDiskEncryptionSetId, a disk "
                         "encryption set of type ConfidentialVmEncryptedWithCustomerKey in this region")
        return None
    if kind not in CUSTOMER_KEY_CVM_TYPES and des is not None:
        parser.add(path, f"{kind} uses platform-managed keys, so a secure disk encryption set has no effect; use "
                         "EncryptedWithCmk with the set, or remove the set")
        return None
    return profile


def _data_disk_encryption(parser: FieldReader, path: str, value: object) -> list[DataDiskEncryption]:
    if not isinstance(value, list):
        parser.add(path, f"must be a list of {{lun, diskEncryptionSetId}} objects, not {type_name(value)}")
        return []
    result: list[DataDiskEncryption] = []
    seen: set[int] = set()
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        obj = parser.object(item, item_path, "an object with lun and diskEncryptionSetId")
        if obj is None:
            continue
        item_fields = parser.fields(obj, DATA_DISK_FIELDS, item_path, ignore_case=True)
        for required in DATA_DISK_FIELDS:
            if required not in item_fields:
                parser.add(join_path(item_path, required), "is required")
        lun = des = None
        if "lun" in item_fields:
            lun = parser.integer(item_fields["lun"][1], item_fields["lun"][0], minimum=0, maximum=MAX_LUN)
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
