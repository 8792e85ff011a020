"""What ARM refuses in a VM PUT from a gallery image version (pure over the body and the world).

In ARM's order as far as it is known: the OS profile (user name, computer name, password), the security
type against the image definition's ``SecurityType`` and the VM size, then each disk's disk encryption
set (exists, in the VM's region, of the right type for its slot). Texts are the service's where a recorded
answer was found (the source is named beside each); the rest are marked ``# simulator wording``. This
module never imports the app: its rules are written from the service's answers, not from ``core``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import ids, regions
from .errors import ArmError, invalid_parameter
from .world import World

CONFIDENTIAL_DES = "ConfidentialVmEncryptedWithCustomerKey"
SECURITY_TYPES = ("Standard", "TrustedLaunch", "ConfidentialVM")
ENCRYPTION_TYPES = ("VMGuestStateOnly", "DiskWithVMGuestState", "NonPersistedTPM")
# osProfile.adminUsername "Disallowed values" (REST spec, Microsoft.Compute OSProfile).
DISALLOWED_ADMINS = frozenset({
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a",
    "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root",
    "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5"})
_COMPUTER_NAME_CHARS = set("`~!@#$%^&*()=+_[]{}\\|;:.'\",<>/? ")
# DC/EC families of AMD SEV-SNP (as, ads) and Intel TDX (es, eds), v5 and v6: the sizes a confidential VM runs on.
_CONFIDENTIAL_SIZE = re.compile(r"standard_[de]c\d+i?[ae]d?s_v[56]")


@dataclass(frozen=True)
class DiskRequest:
    """One disk the VM gets: its slot (``os`` or the LUN), name, at-rest DES, confidential DES and type."""

    lun: int | None
    name: str
    des_id: str | None
    secure_des_id: str | None = None
    security_type: str | None = None  # the disk's securityProfile.securityType, when the VM is TL or CVM


def _ci(value: Any, allowed: tuple[str, ...]) -> str | None:
    return next((a for a in allowed if isinstance(value, str) and value.lower() == a.lower()), None)


def check_os_profile(profile: dict[str, Any], os_type: str) -> None:
    """The OS profile of a VM from a generalized image."""
    admin = str(profile.get("adminUsername") or "")
    if admin.lower() in DISALLOWED_ADMINS:
        # Recorded: hashicorp/terraform#5793 (azurerm_windows_virtual_machine).
        raise invalid_parameter("The Admin Username specified is not allowed.", "adminUsername")
    name = str(profile.get("computerName") or "")
    if os_type == "Windows" and (len(name) > 15 or name.isdigit() or set(name) & _COMPUTER_NAME_CHARS):
        # Recorded: an `az vm create` deployment error quoted in a public repository (target computerName).
        raise invalid_parameter(
            "Windows computer name cannot be more than 15 characters long, be entirely numeric, or contain the "
            "following characters: ` ~ ! @ # $ % ^ & * ( ) = + _ [ ] { } \\ | ; : . ' \" , < > / ?.", "computerName")
    password = profile.get("adminPassword")
    keys = (((profile.get("linuxConfiguration") or {}).get("ssh") or {}).get("publicKeys")) or []
    if not password and (os_type == "Windows" or not keys):
        # Recorded: Azure/azure-cli#228 ({"code": "InvalidParameter", "target": "adminPassword", ...}).
        raise invalid_parameter("Required parameter 'adminPassword' is missing (null).", "adminPassword")
    if password:
        low, high = (8, 123) if os_type == "Windows" else (6, 72)
        text = str(password)
        classes = sum((any(c.islower() for c in text), any(c.isupper() for c in text),
                       any(c.isdigit() for c in text), any(not c.isalnum() for c in text)))
        if not low <= len(text) <= high or classes < 3 or any(ord(c) < 32 for c in text):
            # The service's text, as public templates quote it.
            raise invalid_parameter(
                f"The supplied password must be between {low}-{high} characters long and must satisfy at least 3 "
                "of password complexity requirements from the following:\r\n1) Contains an uppercase character\r\n"
                "2) Contains a lowercase character\r\n3) Contains a numeric digit\r\n4) Contains a special "
                "character\r\n5) Control characters are not allowed", "adminPassword")


def image_security_type(image: dict[str, Any]) -> str:
    """The image definition's ``SecurityType`` feature ("" for none)."""
    return next((str(f.get("value")) for f in image["properties"].get("features", [])
                 if str(f.get("name", "")).lower() == "securitytype"), "")


def check_security(properties: dict[str, Any], image: dict[str, Any]) -> str:
    """The VM's security type against its image and size; returns the type (``Standard`` when absent)."""
    given = (properties.get("securityProfile") or {}).get("securityType")
    vm_type = _ci(given, SECURITY_TYPES) if given is not None else "Standard"
    if vm_type is None:
        raise invalid_parameter(f"The value '{given}' is not valid for securityProfile.securityType. Allowed "
                                f"values are {', '.join(SECURITY_TYPES)}.", "securityProfile.securityType")
    image_type = image_security_type(image).lower()
    if image_type in ("trustedlaunch", "confidentialvm") and vm_type.lower() != image_type:
        required = "TrustedLaunch" if image_type == "trustedlaunch" else "ConfidentialVM"
        # Recorded for TrustedLaunch: kubermatic/machine-controller#2013, hashicorp/terraform-provider-azurerm#23148;
        # the ConfidentialVM text is the same sentence (simulator wording).
        raise ArmError(400, "BadRequest", "The provided gallery image only supports creation of VMs and VM Scale Sets "
                                          f"with '{required}' security type.")
    supports = {"TrustedLaunch": ("trustedlaunch", "trustedlaunchsupported", "trustedlaunchandconfidentialvmsupported"),
                "ConfidentialVM": ("confidentialvm", "confidentialvmsupported",
                                   "trustedlaunchandconfidentialvmsupported")}
    if vm_type in supports and image_type not in supports[vm_type]:
        # Recorded for TrustedLaunch: Azure/azure-cli#27975; the ConfidentialVM text follows it (simulator wording).
        label = "Trusted Launch" if vm_type == "TrustedLaunch" else "Confidential VM"
        raise ArmError(400, "BadRequest", f"Use of {vm_type} setting is not supported for the provided image. Please "
                                          f"select {label} Supported Gen2 OS Image. For more information, see "
                                          "https://aka.ms/TrustedLaunch-FAQ.")
    os_security = (((properties.get("storageProfile") or {}).get("osDisk") or {}).get("managedDisk") or {}).get(
        "securityProfile")
    if os_security is not None and vm_type != "ConfidentialVM":
        # Recorded: hashicorp/terraform-provider-azurerm#30782.
        raise ArmError(400, "BadRequest", "The parameter 'managedDisk.securityProfile' can only be set for "
                                          "Confidential VMs.")
    encryption = (os_security or {}).get("securityEncryptionType")
    if vm_type == "ConfidentialVM" and _ci(encryption, ENCRYPTION_TYPES) is None:
        raise invalid_parameter(  # simulator wording (ARM's "Required parameter" sentence)
            "Required parameter 'managedDisk.securityProfile.securityEncryptionType' is missing (null).",
            "storageProfile.osDisk.managedDisk.securityProfile.securityEncryptionType")
    size = str((properties.get("hardwareProfile") or {}).get("vmSize") or "")
    confidential_size = _CONFIDENTIAL_SIZE.fullmatch(size.lower()) is not None
    if vm_type == "ConfidentialVM" and not confidential_size:
        # Recorded: confidential-containers/cloud-api-adaptor#1742.
        raise ArmError(400, "BadRequest", f"The VM size '{size}' is not supported for creation of VMs and Virtual "
                                          "Machine Scale Set with 'ConfidentialVM' security type and managedDisk."
                                          f"securityProfile.securityEncryptionType set as '{encryption}'")
    if vm_type != "ConfidentialVM" and confidential_size:
        # Recorded (a VM without a security type): skyplane-project/skyplane#755.
        shown = "<NULL>" if given is None else vm_type
        raise ArmError(400, "BadRequest", f"The VM size '{size}' is not supported for creation of VMs and Virtual "
                                          f"Machine Scale Set with '{shown}' security type.")
    return vm_type


def _des(world: World, sub_id: str, des_id: str, location: str, target: str) -> dict[str, Any]:
    des = world.data.resources.get(ids.key(des_id))
    parsed = ids.parse(des_id)
    if parsed is None or parsed.resource_type != "microsoft.compute/diskencryptionsets":
        raise invalid_parameter(f"The value of parameter {target} is invalid.", target)  # simulator wording
    if des is None:
        raise ArmError(404, "NotFound", f"The disk encryption set {des_id} was not found")
    if parsed.subscription_id.lower() != sub_id.lower():
        raise invalid_parameter(  # simulator wording
            f"The disk encryption set '{des_id}' must be in the same subscription '{sub_id}' as the disk.", target)
    if regions.normalize(des["location"]) != location:
        raise invalid_parameter(  # simulator wording
            f"Disk encryption set {des_id} is in '{des['location']}'; a disk in '{location}' needs a disk "
            f"encryption set in '{location}'.", target)
    return des


def check_disks(world: World, sub_id: str, location: str, storage: dict[str, Any], vm_type: str,
                disks: list[DiskRequest]) -> list[DiskRequest]:
    """Each disk's sets: an at-rest set is not a confidential one, a confidential OS disk's set is one (and
    only with ``DiskWithVMGuestState``). Returns the disks with their ``security_type`` filled in."""
    security = ((storage.get("osDisk") or {}).get("managedDisk") or {}).get("securityProfile") or {}
    encryption = _ci(security.get("securityEncryptionType"), ENCRYPTION_TYPES)
    checked = []
    for disk in disks:
        where = "osDisk" if disk.lun is None else "dataDisks"
        if disk.des_id:
            des = _des(world, sub_id, disk.des_id, location, f"{where}.managedDisk.diskEncryptionSet.id")
            if des["properties"].get("encryptionType") == CONFIDENTIAL_DES:
                raise invalid_parameter(  # simulator wording
                    f"The disk encryption set '{disk.des_id}' has encryption type '{CONFIDENTIAL_DES}'. It can only "
                    "be used in managedDisk.securityProfile.diskEncryptionSet of a confidential VM's OS disk.",
                    f"{where}.managedDisk.diskEncryptionSet.id")
        disk_type = None
        if disk.lun is None and vm_type == "TrustedLaunch":
            disk_type = "TrustedLaunch"
        elif disk.lun is None and vm_type == "ConfidentialVM":
            disk_type = {"VMGuestStateOnly": "ConfidentialVM_VMGuestStateOnlyEncryptedWithPlatformKey",
                         "NonPersistedTPM": "ConfidentialVM_NonPersistedTPM"}.get(
                encryption or "", "ConfidentialVM_DiskEncryptedWithPlatformKey")
        if disk.secure_des_id:
            target = "osDisk.managedDisk.securityProfile.diskEncryptionSet.id"
            des = _des(world, sub_id, disk.secure_des_id, location, target)
            if des["properties"].get("encryptionType") != CONFIDENTIAL_DES:
                raise invalid_parameter(  # simulator wording
                    f"The disk encryption set '{disk.secure_des_id}' has encryption type "
                    f"'{des['properties'].get('encryptionType')}'. A confidential VM OS disk requires a disk "
                    f"encryption set of type '{CONFIDENTIAL_DES}'.", target)
            if encryption != "DiskWithVMGuestState":
                raise invalid_parameter(  # simulator wording
                    "managedDisk.securityProfile.diskEncryptionSet can only be set when securityEncryptionType is "
                    "DiskWithVMGuestState.", target)
            disk_type = "ConfidentialVM_DiskEncryptedWithCustomerKey"
        checked.append(DiskRequest(disk.lun, disk.name, disk.des_id, disk.secure_des_id, disk_type))
    return checked
