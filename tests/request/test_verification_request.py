"""The ``verification`` field of a request: offline rules, and the canonical form."""

import pytest

from core.request import RequestInvalid, parse_request, request_to_dict
from core.request.model import Verification, VerificationRegion
from tests.support.builders import OTHER_SUB, RG, SUB, raw_request

SUBNET = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1aWxkZXJ0ZXN0a2V5b25seWZvcnRoZXNpbXVsYXRvcg me@host"


def verification(**changes: object) -> dict:
    base: dict = {"sshPublicKey": KEY, "regions": [{"name": "West US", "subnetId": SUBNET, "vmSize": "Standard_D2s_v5"}]}
    base.update(changes)
    return base


def test_a_verification_reads_into_the_model_and_back():
    request = parse_request(raw_request(verification=verification()))
    assert request.verification == Verification("azureuser", KEY, (VerificationRegion("westus", SUBNET,
                                                                                       "Standard_D2s_v5"),))
    assert parse_request(request_to_dict(request)) == request


def test_a_verification_changes_nothing_in_the_arm_body():
    from core.request.encryption import to_body

    assert to_body(parse_request(raw_request(verification=verification()))) == to_body(parse_request(raw_request()))


@pytest.mark.parametrize(("changes", "expected"), [
    ({"regions": [{"name": "eastus", "subnetId": SUBNET, "vmSize": "Standard_D2s_v5"}]},
     "verification.regions[0].name: 'eastus' is not a target region of this version"),
    ({"regions": [{"name": "westus", "subnetId": SUBNET.replace(SUB, OTHER_SUB), "vmSize": "Standard_D2s_v5"}]},
     f"verification.regions[0].subnetId: the subnet is in subscription {OTHER_SUB}"),
    ({"regions": [{"name": "westus", "subnetId": SUBNET.rsplit("/subnets", 1)[0], "vmSize": "Standard_D2s_v5"}]},
     "is a Microsoft.Network/virtualNetworks ID; give a subnet ID"),
    ({"regions": [{"name": "westus", "subnetId": SUBNET, "vmSize": "big"}]},
     "verification.regions[0].vmSize: 'big' is not a VM size"),
    ({"sshPublicKey": "-----BEGIN OPENSSH PRIVATE KEY-----"},
     "verification.sshPublicKey: is not an OpenSSH public key: give the one line of a .pub file (never a private key)"),
    ({"adminUsername": "root"}, "verification.adminUsername: 'root' is not a user name a Linux and a Windows VM"),
    ({"adminUsername": "guest"}, "not a reserved name such as root, admin or administrator"),
    ({"adminUsername": "a" * 21}, "1-20 lower-case letters"),
    ({"adminUsername": "Admin.User"}, "1-20 lower-case letters"),
    ({"regions": []}, "verification.regions: must be a non-empty list"),
    ({"password": "x"}, "verification.password: unknown field"),
])
def test_each_verification_rule_names_its_field(changes, expected):
    with pytest.raises(RequestInvalid) as caught:
        parse_request(raw_request(verification=verification(**changes)))
    assert any(expected in str(p) for p in caught.value.problems), caught.value.problems


def test_without_a_key_or_a_size_the_vm_gets_a_password_and_the_configured_size():
    """sshPublicKey and vmSize are optional: a generated password and VERIFICATION_VM_SIZES take their place."""
    request = parse_request(raw_request(verification={"regions": [{"name": "westus", "subnetId": SUBNET}]}))
    assert request.verification == Verification("azureuser", None, (VerificationRegion("westus", SUBNET, None),))
    assert request_to_dict(request)["verification"] == {"adminUsername": "azureuser",
                                                        "regions": [{"name": "westus", "subnetId": SUBNET}]}
    assert parse_request(request_to_dict(request)) == request


def test_a_password_is_never_asked_for():
    with pytest.raises(RequestInvalid) as caught:
        parse_request(raw_request(verification=verification(adminPassword="Pa55w0rd!Pa55w0rd!")))
    assert [str(p).split(";")[0] for p in caught.value.problems] == ["verification.adminPassword: unknown field"]
