"""``verification``: after the version succeeds, boot a VM from it in chosen regions, each disk with its
region's DES, and check the disks' encryption. Read here (offline rules); run by the orchestration.

``{"adminUsername": "azureuser", "sshPublicKey": "ssh-rsa AAAA...", "regions": [{"name": "westus",
"subnetId": "/subscriptions/.../virtualNetworks/<vnet>/subnets/<subnet>", "vmSize": "Standard_D2s_v5"}]}``

The SSH key is a *public* key (nothing secret is asked for or stored); Linux images only, as a Windows
VM would need an administrator password.
"""

from __future__ import annotations

import re

from core.azure import resource_ids
from core.request.fields import read_location
from core.request.model import Verification, VerificationRegion
from core.request.reader import FieldReader, join_path, type_name

VERIFICATION_FIELDS = ("adminUsername", "sshPublicKey", "regions")
VERIFICATION_REGION_FIELDS = ("name", "subnetId", "vmSize")
SUBNET = "Microsoft.Network/virtualNetworks/subnets"
_VM_SIZE = re.compile(r"(Standard|Basic)_[A-Za-z0-9_]{1,40}")
_ADMIN = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_SSH_KEY = re.compile(r"(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]{40,}( \S{1,100})?")


def read_verification(parser: FieldReader, value: object, path: str, target_regions: set[str]) -> Verification | None:
    obj = parser.object(value, path, "an object with adminUsername, sshPublicKey and regions")
    if obj is None:
        return None
    found = parser.fields(obj, VERIFICATION_FIELDS, path, ignore_case=False)
    before = len(parser.problems)
    admin = "azureuser"
    if "adminUsername" in found:
        admin = parser.string(found["adminUsername"][1], found["adminUsername"][0]) or admin
        if not _ADMIN.fullmatch(admin) or admin in ("root", "admin", "administrator"):
            parser.add(found["adminUsername"][0], f"'{admin}' is not a usable Linux user name: lower-case letters, "
                                                  "digits, '_' and '-', not root/admin")
    key = None
    if "sshPublicKey" not in found:
        parser.add(join_path(path, "sshPublicKey"), "is required: an OpenSSH public key ('ssh-ed25519 AAAA...'); "
                                                    "the VM is deleted after the check and nobody logs in")
    else:
        key = parser.string(found["sshPublicKey"][1], found["sshPublicKey"][0])
        if key is not None and not _SSH_KEY.fullmatch(key):
            parser.add(found["sshPublicKey"][0], "is not an OpenSSH public key: give the one line of a .pub file "
                                                 "(never a private key)")
    regions = _regions(parser, found.get("regions"), join_path(path, "regions"), target_regions)
    if len(parser.problems) > before or key is None:
        return None
    return Verification(admin, key, tuple(regions))


def _regions(parser: FieldReader, given: tuple | None, path: str, targets: set[str]) -> list[VerificationRegion]:
    if given is None:
        parser.add(path, "is required: the regions to boot a VM in, each {name, subnetId, vmSize}")
        return []
    items_path, items = given
    if not isinstance(items, list) or not items:
        parser.add(items_path, f"must be a non-empty list of {{name, subnetId, vmSize}}, not {type_name(items)}")
        return []
    regions: list[VerificationRegion] = []
    for index, item in enumerate(items):
        item_path = f"{items_path}[{index}]"
        obj = parser.object(item, item_path, "an object with name, subnetId and vmSize")
        if obj is None:
            continue
        fields = parser.fields(obj, VERIFICATION_REGION_FIELDS, item_path, ignore_case=True)
        missing = [name for name in VERIFICATION_REGION_FIELDS if name not in fields]
        for name in missing:
            parser.add(join_path(item_path, name), "is required")
        if missing:
            continue
        name = read_location(parser, fields["name"][1], fields["name"][0])
        if name is not None and name not in targets:
            parser.add(fields["name"][0], f"'{name}' is not a target region of this version; verify in one of "
                                          f"{', '.join(sorted(targets))}")
            name = None
        if name is not None and name in {r.name for r in regions}:
            parser.add(fields["name"][0], f"'{name}' is listed twice")
            name = None
        subnet = _subnet(parser, fields["subnetId"][1], fields["subnetId"][0])
        size = parser.string(fields["vmSize"][1], fields["vmSize"][0])
        if size is not None and not _VM_SIZE.fullmatch(size):
            parser.add(fields["vmSize"][0], f"'{size}' is not a VM size such as Standard_D2s_v5")
            size = None
        if name and subnet and size:
            regions.append(VerificationRegion(name, subnet, size))
    return regions


def _subnet(parser: FieldReader, value: object, path: str) -> str | None:
    text = parser.string(value, path)
    if text is None:
        return None
    try:
        parsed = resource_ids.parse_resource_id(text)
    except ValueError as error:
        parser.add(path, str(error))
        return None
    if not parsed.is_kind(SUBNET):
        parser.add(path, f"is a {parsed.kind} ID; give a subnet ID (.../virtualNetworks/<vnet>/subnets/<subnet>)")
        return None
    if parsed.subscription != parser.subscription.lower():
        parser.add(path, f"the subnet is in subscription {parsed.subscription}; the verification VM is created in the "
                         f"image version's subscription {parser.subscription}: use a subnet there")
        return None
    return str(parsed)


def verification_to_dict(verification: Verification) -> dict:
    return {"adminUsername": verification.admin_username, "sshPublicKey": verification.ssh_public_key,
            "regions": [{"name": r.name, "subnetId": r.subnet_id, "vmSize": r.vm_size} for r in verification.regions]}
