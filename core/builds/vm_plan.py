"""The verification VM of one region, planned (pure): which VM the image needs and the bodies to PUT.

The image definition decides the operating system and, with the region's ``osDiskImage.securityProfile``,
the VM's security type; the version's data disk LUNs decide its data disks; the request's region decides
every disk's DES; ``VERIFICATION_VM_SIZES`` (or the region's ``vmSize``) decides the size. The VM body has
the shape ``az vm create --image <version id> --os-disk-encryption-set ... --data-disk-encryption-sets ...
[--security-type TrustedLaunch|ConfidentialVM --enable-secure-boot true --enable-vtpm true
--os-disk-security-encryption-type ... --os-disk-secure-vm-disk-encryption-set ...]`` sends as the VM
resource of its deployment template (az CLI 2.91, ``_template_builder.build_vm_resource``; recorded in
``tests/fixtures/az_vm_create/``, compared in ``tests/builds/test_vm_plan.py``), plus what this app adds
on purpose: disk names (to read and delete them), ``deleteOption: Delete``, a short Windows computer name
and the build's tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.azure.vm_sizes import CONFIDENTIAL_VM, STANDARD, TRUSTED_LAUNCH, SizeRule, hosting_problem, size_for
from core.request import BuildRequest, RegionTarget, VerificationRegion

VM_BUILD_TAG = "imageBuilder.buildId"  # the tag the image-version PUT carries too: whose VM this is
WINDOWS, LINUX = "Windows", "Linux"
OS_DISK = "OS disk"
# osDiskImage.securityProfile.confidentialVMEncryptionType -> the VM OS disk's securityEncryptionType.
SECURITY_ENCRYPTION = {
    "EncryptedVMGuestStateOnlyWithPmk": "VMGuestStateOnly",
    "EncryptedWithPmk": "DiskWithVMGuestState",
    "EncryptedWithCmk": "DiskWithVMGuestState",
    "NonPersistedTPM": "NonPersistedTPM",
}
NO_PROFILE_ENCRYPTION = "VMGuestStateOnly"  # a confidential image whose region names no security profile


@dataclass(frozen=True)
class ImageFacts:
    """What the image definition and version say that the VM depends on."""

    os_type: str  # Windows | Linux
    security_type: str  # the definition's SecurityType feature, "" without one
    luns: tuple[int, ...]  # the version's data disk LUNs

    @classmethod
    def from_arm(cls, definition: dict[str, Any], version: dict[str, Any]) -> ImageFacts:
        """From a GET of the image definition and of the version (REST shape: ``as_dict()`` of the SDK's models)."""
        properties = definition.get("properties") or {}
        security = next((str(f.get("value") or "") for f in properties.get("features") or []
                         if str(f.get("name") or "").lower() == "securitytype"), "")
        os_type = WINDOWS if str(properties.get("osType") or "").lower() == "windows" else LINUX
        data = ((version.get("properties") or {}).get("storageProfile") or {}).get("dataDiskImages") or []
        return cls(os_type, security, tuple(sorted(int(d["lun"]) for d in data)))


@dataclass(frozen=True)
class VmPlan:
    """One region's verification VM: everything its bodies and its proof need, nothing secret."""

    region: str
    vm_name: str
    build_id: str
    image_id: str
    os_type: str
    security_type: str  # Standard | TrustedLaunch | ConfidentialVM
    security_encryption_type: str | None  # confidential VMs only
    vm_size: str
    os_des: str | None
    secure_des: str | None  # the confidential OS disk's DES (managedDisk.securityProfile.diskEncryptionSet)
    data_des: tuple[tuple[int, str | None], ...]  # every image LUN, with its DES in this region (or None)
    admin_username: str
    ssh_public_key: str | None
    nic_id: str
    subnet_id: str

    @property
    def needs_password(self) -> bool:
        """Windows always; Linux when no SSH key was given (as ``az vm create --authentication-type password``)."""
        return self.os_type == WINDOWS or self.ssh_public_key is None

    @property
    def computer_name(self) -> str:
        """Windows allows 15 characters, not all digits: ``vfy`` and the build ID's start."""
        return f"vfy{self.build_id[:12]}" if self.os_type == WINDOWS else self.vm_name

    def disk_name(self, label: str) -> str:
        return f"{self.vm_name}-os" if label == OS_DISK else f"{self.vm_name}-lun{label.split()[1]}"

    def expected(self) -> dict[str, str | None]:
        """{disk label: the DES it must carry (None: a platform-managed key)}, OS disk first."""
        return {OS_DISK: self.os_des, **{f"LUN {lun}": des for lun, des in self.data_des}}

    def to_info(self) -> dict[str, Any]:
        """The facts the status shows and the later phases need (JSON, stored with the build)."""
        return {"os": self.os_type, "securityType": self.security_type, "vmSize": self.vm_size,
                "luns": [lun for lun, _ in self.data_des],
                **({"securityEncryptionType": self.security_encryption_type}
                   if self.security_encryption_type else {})}


def vm_name(build_id: str, region: str) -> str:
    return f"verify-{build_id[:10]}-{region}"[:64]


def nic_id(request: BuildRequest, vm: str) -> str:
    return (f"/subscriptions/{request.subscription_id}/resourceGroups/{request.resource_group}/providers/"
            f"Microsoft.Network/networkInterfaces/{vm}-nic")


def security_type(image_security: str, target: RegionTarget) -> str:
    """The VM's security type for an image definition's SecurityType: what the image requires, else the
    strongest it supports that the region's encryption asks for (a security profile means confidential)."""
    kind = image_security.lower()
    profile = target.os_security_profile is not None
    if kind == "confidentialvm" or (kind in ("confidentialvmsupported", "trustedlaunchandconfidentialvmsupported")
                                    and profile):
        return CONFIDENTIAL_VM
    if kind in ("trustedlaunch", "trustedlaunchsupported", "trustedlaunchandconfidentialvmsupported"):
        return TRUSTED_LAUNCH
    return STANDARD


def plan_vm(request: BuildRequest, target: RegionTarget, where: VerificationRegion, facts: ImageFacts,
         sizes: tuple[SizeRule, ...], build_id: str) -> VmPlan | str:
    """The region's VM, or why none can prove this image here (a sentence naming the fix)."""
    kind = security_type(facts.security_type, target)
    encryption = None
    if kind == CONFIDENTIAL_VM:
        profile = target.os_security_profile
        cvm_type = profile.confidential_vm_encryption_type if profile else None
        if cvm_type is not None and cvm_type not in SECURITY_ENCRYPTION:
            return (f"a confidential VM cannot be planned for confidentialVMEncryptionType {cvm_type} (it encrypts "
                    "data disks, which a VM asks for per disk): not verified")
        encryption = SECURITY_ENCRYPTION[cvm_type] if cvm_type else NO_PROFILE_ENCRYPTION
    size = where.vm_size or size_for(sizes, target.name, kind)
    if size is None:
        return f"no VM size for a {kind} VM in {target.name}: set VERIFICATION_VM_SIZES or the region's vmSize"
    if problem := hosting_problem(size, kind):
        source = "the region's vmSize" if where.vm_size else "VERIFICATION_VM_SIZES"
        return f"{problem} (from {source}; the image needs a {kind} VM)"
    return _build(request, target, where, build_id, facts.os_type, kind, encryption, size, facts.luns)


def from_info(request: BuildRequest, target: RegionTarget, where: VerificationRegion, build_id: str,
              info: dict[str, Any]) -> VmPlan:
    """The plan again, from the choices stored with the region (``VmPlan.to_info``): no image read."""
    return _build(request, target, where, build_id, info["os"], info["securityType"],
                  info.get("securityEncryptionType"), info["vmSize"], tuple(info["luns"]))


def _build(request: BuildRequest, target: RegionTarget, where: VerificationRegion, build_id: str, os_type: str,
           kind: str, encryption: str | None, size: str, image_luns: tuple[int, ...]) -> VmPlan:
    assert request.verification is not None
    profile = target.os_security_profile
    secure_des = profile.secure_vm_disk_encryption_set_id if profile and kind == CONFIDENTIAL_VM else None
    data = {d.lun: d.disk_encryption_set_id for d in target.data_disk_encryption}
    vm = vm_name(build_id, target.name)
    return VmPlan(
        region=target.name, vm_name=vm, build_id=build_id, image_id=request.resource_id, os_type=os_type,
        security_type=kind, security_encryption_type=encryption, vm_size=size,
        os_des=target.os_disk_encryption_set_id, secure_des=secure_des,
        data_des=tuple((lun, data.get(lun)) for lun in sorted({*image_luns, *data})),
        admin_username=request.verification.admin_username, ssh_public_key=request.verification.ssh_public_key,
        nic_id=nic_id(request, vm), subnet_id=where.subnet_id)


def nic_body(plan: VmPlan) -> dict[str, Any]:
    """The NIC: one dynamic private IP in the region's subnet, no public IP (nobody logs in)."""
    return {"location": plan.region, "tags": {VM_BUILD_TAG: plan.build_id}, "properties": {"ipConfigurations": [
        {"name": "ipconfig1", "properties": {"subnet": {"id": plan.subnet_id},
                                             "privateIPAllocationMethod": "Dynamic"}}]}}


def _managed_disk(des: str | None) -> dict[str, Any]:
    return {"diskEncryptionSet": {"id": des}} if des else {}


def _os_profile(plan: VmPlan, password: str | None) -> dict[str, Any]:
    profile: dict[str, Any] = {"computerName": plan.computer_name, "adminUsername": plan.admin_username}
    if plan.needs_password:
        if not password:
            raise ValueError(f"a {plan.os_type} VM without an SSH key needs its generated password")
        profile["adminPassword"] = password
    else:
        profile["linuxConfiguration"] = {"disablePasswordAuthentication": True, "ssh": {"publicKeys": [
            {"keyData": plan.ssh_public_key, "path": f"/home/{plan.admin_username}/.ssh/authorized_keys"}]}}
    return profile


def vm_body(plan: VmPlan, password: str | None) -> dict[str, Any]:
    """The VM PUT body. ``password`` (from ``admin_password.new_password``) only when ``needs_password``;
    the body holding it is for the one PUT and is never stored."""
    os_disk: dict[str, Any] = {"createOption": "FromImage", "name": plan.disk_name(OS_DISK), "deleteOption": "Delete",
                               "managedDisk": _managed_disk(plan.os_des)}
    if plan.security_encryption_type:
        secure: dict[str, Any] = {"securityEncryptionType": plan.security_encryption_type}
        if plan.secure_des:
            secure["diskEncryptionSet"] = {"id": plan.secure_des}
        os_disk["managedDisk"]["securityProfile"] = secure
    properties: dict[str, Any] = {
        "hardwareProfile": {"vmSize": plan.vm_size},
        "networkProfile": {"networkInterfaces": [{"id": plan.nic_id, "properties": {"primary": True,
                                                                                     "deleteOption": "Delete"}}]},
        "storageProfile": {
            "osDisk": os_disk,
            "imageReference": {"id": plan.image_id},
            "dataDisks": [{"lun": lun, "name": plan.disk_name(f"LUN {lun}"), "createOption": "FromImage",
                           "deleteOption": "Delete", "managedDisk": _managed_disk(des)} for lun, des in plan.data_des],
        },
        "osProfile": _os_profile(plan, password),
    }
    if not plan.data_des:
        del properties["storageProfile"]["dataDisks"]
    if plan.security_type != STANDARD:
        properties["securityProfile"] = {"securityType": plan.security_type,
                                         "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True}}
    return {"location": plan.region, "tags": {VM_BUILD_TAG: plan.build_id}, "properties": properties}
