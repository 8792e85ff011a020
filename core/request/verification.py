"""``verification``: after the version succeeds, boot a VM from it in chosen regions, each disk with its
region's DES, and check the disks' encryption. Read here (offline rules); run by the orchestration.

``{"adminUsername": "azureuser", "sshPublicKey": "ssh-ed25519 AAAA...", "regions": [{"name": "westus",
"subnetId": "/subscriptions/.../virtualNetworks/<vnet>/subnets/<subnet>", "vmSize": "Standard_D2s_v5"}]}``

Nothing secret is asked for or stored: ``sshPublicKey`` (optional) is a *public* key for a Linux VM; a
Windows VM, or a Linux VM without a key, gets a password generated for that one VM and held in memory
only for its PUT (``core.builds.admin_password``). The operating system and security type come from the
image definition when the VM is planned, so the user name must suit both Linux and Windows. ``vmSize``
(optional) overrides the size the ``VERIFICATION_VM_SIZES`` setting gives for the region.
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
# Linux: lower case, no leading '-' or '$'; Windows: at most 20 characters, none of \/"[]:|<>+=;,?*@ nor a
# trailing '.'. Both: not one of the names the API refuses (REST spec, osProfile.adminUsername).
_ADMIN = re.compile(r"[a-z_][a-z0-9_-]{0,19}")
_DISALLOWED_ADMINS = frozenset({
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a",
    "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root",
    "server", "sql", "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5"})
_SSH_KEY = re.compile(r"(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]{40,}( \S{1,100})?")


def read_verification(parser: FieldReader, value: object, path: str, target_regions: set[str]) -> Verification | None:
    """The ``verification`` object, or None with its problems added to ``parser``."""
    obj = parser.object(value, path, "an object with regions (and optional adminUsername, sshPublicKey)")
    if obj is None:
        return None
    found = parser.fields(obj, VERIFICATION_FIELDS, path, ignore_case=False)
    before = len(parser.problems)
    admin = "azureuser"
    if "adminUsername" in found:
        admin = parser.string(found["adminUsername"][1], found["adminUsername"][0]) or admin
        if not _ADMIN.fullmatch(admin) or admin in _DISALLOWED_ADMINS:
            parser.add(found["adminUsername"][0], f"'{admin}' is not a user name a Linux and a Windows VM both take: "
                                                  "1-20 lower-case letters, digits, '_' and '-', not a reserved "
                                                  "name such as root, admin or administrator")
    key = None
    if "sshPublicKey" in found:
        key = parser.string(found["sshPublicKey"][1], found["sshPublicKey"][0])
        if key is not None and not _SSH_KEY.fullmatch(key):
            parser.add(found["sshPublicKey"][0], "is not an OpenSSH public key: give the one line of a .pub file "
                                                 "(never a private key)")
    regions = _regions(parser, found.get("regions"), join_path(path, "regions"), target_regions)
    if len(parser.problems) > before:
        return None
    return Verification(admin, key, tuple(regions))


def _regions(parser: FieldReader, given: tuple | None, path: str, targets: set[str]) -> list[VerificationRegion]:
    if given is None:
        parser.add(path, "is required: the regions to boot a VM in, each {name, subnetId} (and optional vmSize)")
        return []
    items_path, items = given
    if not isinstance(items, list) or not items:
        parser.add(items_path, f"must be a non-empty list of {{name, subnetId, vmSize?}}, not {type_name(items)}")
        return []
    regions: list[VerificationRegion] = []
    for index, item in enumerate(items):
        item_path = f"{items_path}[{index}]"
        obj = parser.object(item, item_path, "an object with name, subnetId and an optional vmSize")
        if obj is None:
            continue
        fields = parser.fields(obj, VERIFICATION_REGION_FIELDS, item_path, ignore_case=True)
        missing = [name for name in ("name", "subnetId") if name not in fields]
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
        size, size_ok = None, True
        if "vmSize" in fields:
            size = parser.string(fields["vmSize"][1], fields["vmSize"][0])
            size_ok = size is not None and _VM_SIZE.fullmatch(size) is not None
            if size is not None and not size_ok:
                parser.add(fields["vmSize"][0], f"'{size}' is not a VM size such as Standard_D2s_v5")
        if name and subnet and size_ok:
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
    """The canonical JSON form (what ``read_verification`` reads back); absent options are left out."""
    result: dict = {"adminUsername": verification.admin_username}
    if verification.ssh_public_key is not None:
        result["sshPublicKey"] = verification.ssh_public_key
    result["regions"] = [{"name": r.name, "subnetId": r.subnet_id, **({"vmSize": r.vm_size} if r.vm_size else {})}
                         for r in verification.regions]
    return result
