"""The ``verification`` field of a request: offline rules, and the canonical form."""

import pytest

from core.request import RequestInvalid, parse_request, request_to_dict
from core.request.model import Verification, VerificationRegion
from tests.unit.builders import OTHER_SUB, RG, SUB, raw_request

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
    ({"adminUsername": "root"}, "verification.adminUsername: 'root' is not a usable Linux user name"),
    ({"regions": []}, "verification.regions: must be a non-empty list"),
    ({"password": "x"}, "verification.password: unknown field"),
])
def test_each_verification_rule_names_its_field(changes, expected):
    with pytest.raises(RequestInvalid) as caught:
        parse_request(raw_request(verification=verification(**changes)))
    assert any(expected in str(p) for p in caught.value.problems), caught.value.problems
