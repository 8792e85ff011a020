"""What a verification VM proves (pure checks over the VM and disks as ARM answers them), and its password."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.builds import admin_password
from core.builds.vm_plan import ImageFacts, VmPlan
from core.builds.vm_proof import prove, provisioning, verdict
from tests.builds.test_vm_plan import planned, request
from tests.support.secure_images import CVM_DES, DES

OS_DES, DATA_DES = DES + "WestUSDiskEncryptionSet1", DES + "WestUSDiskEncryptionSet2"


def confidential() -> VmPlan:
    return planned(request("ConfidentialImage", key=None, cvm="EncryptedWithCmk"),
                   ImageFacts("Windows", "ConfidentialVM", (0,)))


def vm(security_type: str | None = "ConfidentialVM", luns: tuple[int, ...] = (0,)) -> dict[str, Any]:
    properties: dict[str, Any] = {"provisioningState": "Succeeded",
                                  "storageProfile": {"dataDisks": [{"lun": lun} for lun in luns]}}
    if security_type:
        properties["securityProfile"] = {"securityType": security_type}
    return {"properties": properties}


def disk(des: str | None, secure: str | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"encryption": {"type": "EncryptionAtRestWithCustomerKey", "diskEncryptionSetId": des}
                                  if des else {"type": "EncryptionAtRestWithPlatformKey"}}
    if secure:
        properties["securityProfile"] = {"securityType": "ConfidentialVM_DiskEncryptedWithCustomerKey",
                                         "secureVMDiskEncryptionSetId": secure}
    return {"properties": properties}


GOOD = {"OS disk": disk(OS_DES, CVM_DES["westus"]), "LUN 0": disk(DATA_DES)}


def failed_checks(plan: VmPlan, the_vm: dict[str, Any], disks: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["detail"] for c in prove(plan, the_vm, disks) if not c["passed"]}


def test_a_confidential_vm_with_every_set_in_place_passes_every_check():
    checks = prove(confidential(), vm(), GOOD)
    assert [c["check"] for c in checks] == ["provisioned", "security type", "data disk LUNs", "OS disk encryption",
                                            "LUN 0 encryption", "OS disk secure encryption"]
    assert all(c["passed"] for c in checks)
    assert verdict(checks) == ("passed", "the VM booted and every disk carries the disk encryption set asked for")


@pytest.mark.parametrize(("the_vm", "disks", "check", "detail"), [
    (vm("TrustedLaunch"), GOOD, "security type", "the VM is TrustedLaunch, not ConfidentialVM"),
    (vm(None), GOOD, "security type", "the VM is Standard, not ConfidentialVM"),
    (vm(luns=()), GOOD, "data disk LUNs", "data disks at LUNs none, not 0"),
    (vm(luns=(0, 1)), GOOD, "data disk LUNs", "data disks at LUNs 0, 1, not 0"),
    (vm(), {**GOOD, "LUN 0": disk(None)}, "LUN 0 encryption",
     f"LUN 0 is encrypted with a platform-managed key, not {DATA_DES}"),
    (vm(), {**GOOD, "LUN 0": disk(OS_DES)}, "LUN 0 encryption", f"LUN 0 is encrypted with {OS_DES}, not {DATA_DES}"),
    (vm(), {**GOOD, "OS disk": disk(OS_DES)}, "OS disk secure encryption",
     f"the confidential OS disk and VM guest state are encrypted with a platform-managed key, not {CVM_DES['westus']}"),
    (vm(), {**GOOD, "LUN 0": None}, "LUN 0 encryption", "LUN 0 (verify-0123456789-westus-lun0) was not found"),
])
def test_each_failed_check_says_what_was_found_and_what_was_asked(the_vm, disks, check, detail):
    failed = failed_checks(confidential(), the_vm, disks)
    assert failed == {check: detail}
    assert verdict(prove(confidential(), the_vm, disks)) == ("failed", f"{check}: {detail}")


def test_set_ids_compare_ignoring_case():
    disks = copy.deepcopy(GOOD)
    disks["LUN 0"]["properties"]["encryption"]["diskEncryptionSetId"] = DATA_DES.upper()
    assert failed_checks(confidential(), vm(), disks) == {}


def test_provisioning_reads_the_failure_from_the_instance_view():
    failed = {"properties": {"provisioningState": "Failed", "instanceView": {"statuses": [
        {"code": "ProvisioningState/failed/OSProvisioningTimedOut", "message": "OS Provisioning did not finish."}]}}}
    assert provisioning(failed) == ("Failed", "OS Provisioning did not finish.")
    assert provisioning({"properties": {"provisioningState": "Creating"}}) == ("Creating", "")


def test_a_generated_password_meets_azures_rules_and_is_new_each_time():
    passwords = {admin_password.new_password() for _ in range(200)}
    assert len(passwords) == 200
    assert all(admin_password.meets_azure_rules(p) and len(p) == admin_password.LENGTH for p in passwords)
    assert all(any(c in admin_password.SPECIALS for c in p) and any(c.isdigit() for c in p) for p in passwords)


@pytest.mark.parametrize("weak", ["Short1!", "alllowercaseletters", "ALLUPPER12345678", "has space Aa1!xxxxx",
                                  "x" * 60 + "Aa1!" + "y" * 20])
def test_weak_passwords_fail_the_rules(weak: str):
    assert not admin_password.meets_azure_rules(weak)


def test_scrub_masks_the_password_wherever_it_appears():
    assert admin_password.scrub("bad value 'Pw1!xyz' for Pw1!xyz", "Pw1!xyz") == "bad value '[redacted]' for [redacted]"
    assert admin_password.scrub("nothing to hide", None) == "nothing to hide"
