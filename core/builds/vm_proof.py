"""What a verification VM proves (pure): the checks over the VM and its disks as ARM returns them.

Per region: the VM reached ``Succeeded`` with the security type asked for; its data disks are attached at
the image's LUNs; each disk's ``encryption.diskEncryptionSetId`` is the region's DES for that disk (or a
platform-managed key where the region names none); a confidential VM's OS disk carries the region's secure
DES in ``securityProfile.secureVMDiskEncryptionSetId``. Each check is ``{"check", "passed", "detail"}``,
so the build's status says which one failed and why.
"""

from __future__ import annotations

from typing import Any

from core.azure.vm_sizes import STANDARD
from core.builds.vm_plan import OS_DISK, VmPlan


def provisioning(vm: dict[str, Any]) -> tuple[str, str]:
    """(``Succeeded`` | ``Failed`` | the state while it runs, the failure's detail from the instance view)."""
    properties = vm.get("properties") or {}
    state = str(properties.get("provisioningState") or "")
    if state != "Failed":
        return state, ""
    statuses = (properties.get("instanceView") or {}).get("statuses") or []
    return state, "; ".join(str(s.get("message") or s.get("code")) for s in statuses) or "no detail"


def _check(name: str, passed: bool, detail: str) -> dict[str, Any]:
    return {"check": name, "passed": passed, "detail": detail}


def _compare(name: str, found: Any, wanted: Any, says: str, text: Any = str) -> dict[str, Any]:
    """A check that ``found`` is ``wanted`` (strings ignore case); ``says`` holds ``{}`` for the value."""
    passed = str(found or "").lower() == str(wanted or "").lower() if isinstance(wanted, str | None) \
        else found == wanted
    return _check(name, passed, says.format(text(found)) + ("" if passed else f", not {text(wanted)}"))


def _key(des: str | None) -> str:
    return des or "a platform-managed key"


def _luns(luns: list[int]) -> str:
    return ", ".join(map(str, luns)) or "none"


def prove(plan: VmPlan, vm: dict[str, Any], disks: dict[str, dict[str, Any] | None]) -> list[dict[str, Any]]:
    """The checks of a ``Succeeded`` VM; ``disks`` by label (``OS disk``, ``LUN <n>``), None for one not found."""
    properties = vm.get("properties") or {}
    found_type = (properties.get("securityProfile") or {}).get("securityType") or STANDARD
    attached = sorted(int(d.get("lun", -1)) for d in (properties.get("storageProfile") or {}).get("dataDisks") or [])
    checks = [_check("provisioned", True, "the VM reached Succeeded"),
              _compare("security type", found_type, plan.security_type, "the VM is {}"),
              _compare("data disk LUNs", attached, [lun for lun, _ in plan.data_des], "data disks at LUNs {}", _luns)]
    for label, wanted in plan.expected().items():
        disk = disks.get(label)
        if disk is None:
            checks.append(_check(f"{label} encryption", False, f"{label} ({plan.disk_name(label)}) was not found"))
            continue
        found = ((disk.get("properties") or {}).get("encryption") or {}).get("diskEncryptionSetId")
        checks.append(_compare(f"{label} encryption", found, wanted, f"{label} is encrypted with {{}}", _key))
    if plan.secure_des:
        disk = disks.get(OS_DISK) or {}
        found = ((disk.get("properties") or {}).get("securityProfile") or {}).get("secureVMDiskEncryptionSetId")
        checks.append(_compare("OS disk secure encryption", found, plan.secure_des,
                               "the confidential OS disk and VM guest state are encrypted with {}", _key))
    return checks


def verdict(checks: list[dict[str, Any]]) -> tuple[str, str]:
    """(``passed`` | ``failed``, the reason: every failed check's detail, or what was proved)."""
    failed = [f"{c['check']}: {c['detail']}" for c in checks if not c["passed"]]
    if failed:
        return "failed", "; ".join(failed)
    return "passed", "the VM booted and every disk carries the disk encryption set asked for"
