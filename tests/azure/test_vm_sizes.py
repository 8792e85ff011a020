"""VM sizes and the security types they host; the VERIFICATION_VM_SIZES setting."""

from __future__ import annotations

import pytest

from core.azure.settings import Settings, SettingsError
from core.azure.vm_sizes import CONFIDENTIAL_VM, STANDARD, TRUSTED_LAUNCH, hosting_problem, size_for


@pytest.mark.parametrize(("size", "security_type"), [
    ("Standard_D2s_v5", STANDARD), ("Standard_D2s_v5", TRUSTED_LAUNCH), ("Standard_B2ms", TRUSTED_LAUNCH),
    ("Standard_DC2as_v5", CONFIDENTIAL_VM), ("Standard_DC4ads_v5", CONFIDENTIAL_VM),
    ("Standard_EC8as_v5", CONFIDENTIAL_VM), ("Standard_DC2es_v5", CONFIDENTIAL_VM),
    ("Standard_EC16eds_v5", CONFIDENTIAL_VM), ("Standard_DC2as_v6", CONFIDENTIAL_VM),
    ("Standard_DC2s_v3", TRUSTED_LAUNCH),  # an SGX size, not a confidential VM one
])
def test_sizes_that_host_their_security_type(size: str, security_type: str):
    assert hosting_problem(size, security_type) is None


@pytest.mark.parametrize(("size", "security_type", "expected"), [
    ("Standard_D2s_v5", CONFIDENTIAL_VM, "cannot host a confidential VM: use a DCasv5"),
    ("Standard_DC2s_v3", CONFIDENTIAL_VM, "cannot host a confidential VM"),
    ("Standard_DC2as_v5", STANDARD, "hosts confidential VMs only, not Standard"),
    ("Standard_DC2as_v5", TRUSTED_LAUNCH, "hosts confidential VMs only, not TrustedLaunch"),
    ("Standard_A2_v2", TRUSTED_LAUNCH, "cannot host a trusted launch VM"),
    ("Basic_A1", TRUSTED_LAUNCH, "cannot host a trusted launch VM"),
    ("Standard_D4ps_v5", TRUSTED_LAUNCH, "cannot host a trusted launch VM"),
])
def test_sizes_that_cannot_host_their_security_type_say_so(size: str, security_type: str, expected: str):
    problem = hosting_problem(size, security_type)
    assert problem is not None and expected in problem and size in problem


def test_the_default_sizes_give_a_confidential_size_to_confidential_vms_only():
    rules = Settings().verification_vm_sizes
    assert size_for(rules, "westus", STANDARD) == "Standard_D2s_v5"
    assert size_for(rules, "westus", TRUSTED_LAUNCH) == "Standard_D2s_v5"
    assert size_for(rules, "eastus2", CONFIDENTIAL_VM) == "Standard_DC2as_v5"


def test_entries_replace_the_defaults_they_match_and_a_security_type_beats_a_region():
    rules = Settings.from_env({"VERIFICATION_VM_SIZES": "West US=Standard_D4s_v5, "
                                                        "eastus2/ConfidentialVM=Standard_EC2ads_v5"}).verification_vm_sizes
    assert size_for(rules, "westus", STANDARD) == "Standard_D4s_v5"
    assert size_for(rules, "westus", CONFIDENTIAL_VM) == "Standard_DC2as_v5"  # the default's */ConfidentialVM
    assert size_for(rules, "eastus2", CONFIDENTIAL_VM) == "Standard_EC2ads_v5"
    assert size_for(rules, "eastus2", TRUSTED_LAUNCH) == "Standard_D2s_v5"


@pytest.mark.parametrize(("value", "expected"), [
    ("*/ConfidentialVM=Standard_D2s_v5", "the VM size Standard_D2s_v5 cannot host a confidential VM"),
    ("*/TrustedLaunch=Standard_DC2as_v5", "hosts confidential VMs only, not TrustedLaunch"),
    ("*=big", "is not <region or *>[/<securityType>]=<VM size>"),
    ("westus", "is not <region or *>[/<securityType>]=<VM size>"),
    ("*/Secure=Standard_D2s_v5", "'Secure' is not a security type; use one of Standard, TrustedLaunch, ConfidentialVM"),
    ("nowhere=Standard_D2s_v5", "'nowhere' is not a region name"),
    ("westus=Standard_D2s_v5,West US=Standard_D4s_v5", "westus/* is given twice"),
])
def test_a_bad_entry_stops_the_settings_naming_it(value: str, expected: str):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"VERIFICATION_VM_SIZES": value})
    assert str(caught.value).startswith("VERIFICATION_VM_SIZES entry") and expected in str(caught.value)
