"""Validation of a PUT's per-region encryption: DES IDs, their type and region, all-or-nothing per disk."""

from __future__ import annotations

from typing import Any

from . import ids, regions
from .errors import ArmError, invalid_parameter
from .put_model import DATA_DES, DES_TYPE, ENCRYPTION, OS_DES, Source, VersionAddress
from .world import World


def encryptions_of(targets: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str | None, list[dict[str, Any]]]]:
    result = []
    for target in targets:
        encryption = target.get("encryption") or {}
        os_des = (encryption.get("osDiskImage") or {}).get("diskEncryptionSetId")
        result.append((target, os_des, list(encryption.get("dataDiskImages") or [])))
    return result


def check_encryption(
    world: World,
    address: VersionAddress,
    gallery: dict[str, Any],
    targets: list[dict[str, Any]],
    sources: dict[str, Any],
    source_luns: list[int] | None,
) -> None:
    per_region = encryptions_of(targets)
    if not any(os_des or data for _, os_des, data in per_region):
        return
    top: Source | None = sources["top"]
    if top is not None and top.parsed and top.parsed.resource_type == "microsoft.compute/galleries/images/versions":
        raise invalid_parameter(
            f"Encryption is not supported for source resource '{top.resource_id}'. Please use a different source "
            "resource type which supports encryption or remove encryption properties",
            ENCRYPTION,
        )
    permissions = gallery["properties"].get("sharingProfile", {}).get("permissions", "Private")
    if permissions in ("Groups", "Community"):
        kind = "direct shared" if permissions == "Groups" else "community"
        raise invalid_parameter(  # simulator wording
            f"Gallery '{gallery['name']}' is a {kind} gallery (sharingProfile.permissions '{permissions}'), which "
            "cannot contain image versions encrypted with customer-managed keys. Publish to a private gallery or "
            "remove the encryption settings.",
            ENCRYPTION,
        )
    valid_luns = "['" + ",".join(str(lun) for lun in source_luns or []) + "']"
    for target, os_des, data in per_region:
        if os_des is not None and not is_des_id(os_des):
            raise invalid_parameter(f"The value of parameter {OS_DES} is invalid", OS_DES)
        luns_here: set[Any] = set()
        for disk in data:
            if not is_des_id(disk.get("diskEncryptionSetId")):
                raise invalid_parameter(f"The value of parameter {DATA_DES} is invalid", DATA_DES)
            lun = disk.get("lun")
            if source_luns is not None and lun not in source_luns:
                raise invalid_parameter(
                    f"An invalid lun [{lun}] was specified in encryption.dataDiskImages. The lun must be one of the "
                    f"following values {valid_luns}",
                    f"{ENCRYPTION}.dataDiskImages.lun",
                )
            if lun in luns_here:
                raise invalid_parameter(
                    f"Duplicate luns '{lun}' were specified in target region '{target['given_name']}' "
                    "encryption.dataDiskImages",
                    f"{ENCRYPTION}.dataDiskImages.lun",
                )
            luns_here.add(lun)
    for target, os_des, data in per_region:
        for des_id, path in [(os_des, OS_DES)] + [(d["diskEncryptionSetId"], DATA_DES) for d in data]:
            if des_id is not None:
                check_des(world, address, des_id, target, path)
    check_all_or_nothing(per_region)


def is_des_id(value: Any) -> bool:
    parsed = ids.parse(value) if isinstance(value, str) else None
    return parsed is not None and parsed.resource_type == DES_TYPE


def check_des(world: World, address: VersionAddress, des_id: str, target: dict[str, Any], path: str) -> None:
    parsed = ids.parse(des_id)
    assert parsed is not None
    if parsed.subscription_id.lower() != address.subscription_id.lower():
        raise invalid_parameter(
            f"The disk encryption set '{des_id}' must be in the same subscription '{address.subscription_id}' as the "
            "gallery resource",
            path,
        )
    des = world.get(des_id)
    if des is None:
        raise ArmError(404, "NotFound", f"The disk encryption set {des_id} was not found", path)
    if regions.normalize(des["location"]) != target["name"]:
        raise invalid_parameter(  # simulator wording
            f"The disk encryption set '{des_id}' is located in '{des['location']}', but it is used for target region "
            f"'{target['given_name']}'. A disk encryption set can only encrypt replicas in its own region; use one "
            f"located in '{target['name']}'.",
            path,
        )


def check_all_or_nothing(per_region: list[tuple[dict[str, Any], str | None, list[dict[str, Any]]]]) -> None:
    """A disk encrypted in one region must be encrypted (with that region's DES) in every region."""
    disks: dict[str, dict[str, str | None]] = {"os": {}}
    for target, os_des, data in per_region:
        disks["os"][target["given_name"]] = os_des
        for disk in data:
            disks.setdefault(f"LUN {disk['lun']}", {})
    for target, _, data in per_region:
        by_lun = {f"LUN {d['lun']}": d["diskEncryptionSetId"] for d in data}
        for disk in disks:
            if disk != "os":
                disks[disk][target["given_name"]] = by_lun.get(disk)
    for disk, by_region in disks.items():
        used = [(region, des) for region, des in by_region.items() if des]
        missing = [region for region, des in by_region.items() if not des]
        if used and missing:
            label = OS_DES if disk == "os" else disk
            raise invalid_parameter(
                f"A disk encryption set is required for disk '{label}' in target region '{missing[0]}' since disk "
                f"encryption set '{used[0][1]}' is used for the corresponding disk in region '{used[0][0]}'",
                ENCRYPTION,
            )


