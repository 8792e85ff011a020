"""Validation of the PUT fields beyond the classic surface: confidential VM security profiles, edge zones
(``targetExtendedLocations``), the safety profile, ``storageAccountStrategy``, ``hostCaching`` and VHD
sources. Enum and type errors follow ARM's generic wording; the rest is marked ``# simulator wording``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from . import ids, regions
from .encryption_validation import check_all_or_nothing, check_des, is_des_id
from .errors import ArmError, invalid_parameter
from .put_model import ENCRYPTION, VersionAddress
from .world import World

PUBLISHING = "galleryImageVersion.properties.publishingProfile"
EDGE = f"{PUBLISHING}.targetExtendedLocations"
SECURE_DES = f"{ENCRYPTION}.osDiskImage.securityProfile.secureVMDiskEncryptionSetId"
CVM_TYPES = ("EncryptedVMGuestStateOnlyWithPmk", "EncryptedWithPmk", "EncryptedWithCmk", "NonPersistedTPM",
             "DataDiskEncryptedWithCmk")
CONFIDENTIAL_DES = "ConfidentialVmEncryptedWithCustomerKey"
STRATEGIES = ("PreferStandard_ZRS", "DefaultStandard_LRS")
HOST_CACHING = ("None", "ReadOnly", "ReadWrite")
EDGE_STORAGE_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS", "StandardSSD_LRS")
STORAGE_ACCOUNT_TYPE = "microsoft.storage/storageaccounts"
_BLOB_HOST = re.compile(r"([a-z0-9]{3,24})\.blob\.[a-z0-9.-]+")


def _enum(value: Any, allowed: tuple[str, ...], target: str) -> str:
    for known in allowed:
        if isinstance(value, str) and value.lower() == known.lower():
            return known
    raise invalid_parameter(f"The value '{value}' is not valid for {target}. Allowed values are "
                            f"{', '.join(allowed)}.", target)


def check_profiles(properties: dict[str, Any], publishing: dict[str, Any]) -> None:
    """``storageAccountStrategy``, ``safetyProfile`` and ``hostCaching``: types and allowed values."""
    if publishing.get("storageAccountStrategy") is not None:
        _enum(publishing["storageAccountStrategy"], STRATEGIES, f"{PUBLISHING}.storageAccountStrategy")
    safety = properties.get("safetyProfile") or {}
    for key in ("allowDeletionOfReplicatedLocations", "blockDeletionBeforeEndOfLife"):
        if key in safety and not isinstance(safety[key], bool):
            raise invalid_parameter(f"The value of parameter safetyProfile.{key} is invalid.", f"safetyProfile.{key}")
    if safety.get("blockDeletionBeforeEndOfLife") and not publishing.get("endOfLifeDate"):
        raise invalid_parameter(  # simulator wording
            "blockDeletionBeforeEndOfLife can only be set to true when publishingProfile.endOfLifeDate is set.",
            "galleryImageVersion.properties.safetyProfile.blockDeletionBeforeEndOfLife")
    storage = properties.get("storageProfile") or {}
    disks = [storage.get("osDiskImage") or {}, *(storage.get("dataDiskImages") or [])]
    for disk in disks:
        if disk.get("hostCaching") is not None:
            _enum(disk["hostCaching"], HOST_CACHING, "galleryImageVersion.properties.storageProfile.hostCaching")


def check_security_profiles(world: World, address: VersionAddress, image: dict[str, Any],
                            targets: list[dict[str, Any]]) -> None:
    """Each region's ``osDiskImage.securityProfile``: its type, a confidential definition, and its secure DES
    (a ``ConfidentialVmEncryptedWithCustomerKey`` set of the region, in the gallery's subscription)."""
    security_type = next((str(f.get("value")) for f in image["properties"].get("features", [])
                          if str(f.get("name", "")).lower() == "securitytype"), "")
    for target in targets:
        profile = ((target.get("encryption") or {}).get("osDiskImage") or {}).get("securityProfile")
        if profile is None:
            continue
        kind = _enum(profile.get("confidentialVMEncryptionType"), CVM_TYPES,
                     f"{ENCRYPTION}.osDiskImage.securityProfile.confidentialVMEncryptionType")
        if not security_type.lower().startswith("confidential"):
            raise invalid_parameter(  # simulator wording
                f"The gallery image '{image['name']}' has SecurityType '{security_type or 'None'}'. "
                "osDiskImage.securityProfile can only be set for images with SecurityType ConfidentialVM or "
                "ConfidentialVMSupported.", f"{ENCRYPTION}.osDiskImage.securityProfile")
        des_id = profile.get("secureVMDiskEncryptionSetId")
        if kind in ("EncryptedWithCmk", "DataDiskEncryptedWithCmk") and not des_id:
            raise invalid_parameter(  # simulator wording
                f"secureVMDiskEncryptionSetId is required when confidentialVMEncryptionType is {kind}.", SECURE_DES)
        if des_id:
            if not is_des_id(des_id):
                raise invalid_parameter(f"The value of parameter {SECURE_DES} is invalid", SECURE_DES)
            check_des(world, address, des_id, target, SECURE_DES)
            des_type = world.get(des_id)["properties"].get("encryptionType")
            if des_type != CONFIDENTIAL_DES:
                raise invalid_parameter(  # simulator wording
                    f"The disk encryption set '{des_id}' has encryption type '{des_type}'. A confidential VM OS disk "
                    f"requires a disk encryption set of type '{CONFIDENTIAL_DES}'.", SECURE_DES)


def check_edge_zones(world: World, address: VersionAddress, publishing: dict[str, Any]) -> list[dict[str, Any]]:
    """Check ``targetExtendedLocations`` and return them as stored (zone names and storage types canonical)."""
    raw = publishing.get("targetExtendedLocations")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid_parameter("The value of parameter targetExtendedLocations is invalid.", EDGE)
    zones, seen = [], set()
    for entry in raw:
        location = entry.get("extendedLocation") if isinstance(entry, dict) else None
        if not isinstance(entry.get("name") if isinstance(entry, dict) else None, str) \
                or not isinstance(location, dict) or not isinstance(location.get("name"), str):
            raise invalid_parameter("The value of parameter targetExtendedLocations is invalid.", EDGE)
        _enum(location.get("type"), ("EdgeZone",), f"{EDGE}.extendedLocation.type")
        zone = location["name"].lower()
        if zone in seen:
            raise invalid_parameter(  # simulator wording
                f"Duplicate extended locations '{zone}' are not allowed in targetExtendedLocations.", EDGE)
        seen.add(zone)
        count = entry.get("extendedLocationReplicaCount", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100:
            raise invalid_parameter(f"The value {count} of parameter '{EDGE}.extendedLocationReplicaCount' is out "
                                    "of range. The value must be between 1 and 100, inclusive.", EDGE)
        stored = dict(entry)
        stored["name"] = regions.display_name(regions.normalize(entry["name"]))
        stored["extendedLocation"] = {"name": zone, "type": "EdgeZone"}
        stored["extendedLocationReplicaCount"] = count
        stored["storageAccountType"] = _enum(entry.get("storageAccountType", "StandardSSD_LRS"), EDGE_STORAGE_TYPES,
                                             f"{EDGE}.storageAccountType")
        zones.append(stored)
    per_zone = []
    for stored in zones:
        target = {"name": regions.normalize(stored["name"]), "given_name": stored["extendedLocation"]["name"]}
        encryption = stored.get("encryption") or {}
        os_des = (encryption.get("osDiskImage") or {}).get("diskEncryptionSetId")
        data = list(encryption.get("dataDiskImages") or [])
        for des_id, path in [(os_des, f"{EDGE}.encryption.osDiskImage.diskEncryptionSetId")] + \
                [(d.get("diskEncryptionSetId"), f"{EDGE}.encryption.dataDiskImages.diskEncryptionSetId") for d in data]:
            if des_id is None:
                continue
            if not is_des_id(des_id):
                raise invalid_parameter(f"The value of parameter {path} is invalid", path)
            check_des(world, address, des_id, target, path)
        per_zone.append((target, os_des, data))
    check_all_or_nothing(per_zone)
    return zones


def vhd_sources(address: VersionAddress, storage: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(path, uri, lun) of every VHD source, each checked: a blob URI in the storage account named,
    which is in the gallery's subscription."""
    found = []
    os_source = (storage.get("osDiskImage") or {}).get("source") or {}
    candidates = [("properties.storageProfile.osDiskImage.source", os_source, None)]
    for index, disk in enumerate(storage.get("dataDiskImages") or []):
        candidates.append((f"properties.storageProfile.dataDiskImages[{index}].source", disk.get("source") or {},
                           disk.get("lun")))
    for path, source, lun in candidates:
        if "uri" not in source and "storageAccountId" not in source:
            continue
        account = ids.parse(str(source.get("storageAccountId") or ""))
        if account is None or account.resource_type != STORAGE_ACCOUNT_TYPE:
            raise invalid_parameter(  # simulator wording
                f"The storageAccountId '{source.get('storageAccountId')}' at path '{path}' is not a storage account "
                "resource ID.", path)
        if account.subscription_id.lower() != address.subscription_id.lower():
            raise invalid_parameter(  # simulator wording
                f"The storage account '{source['storageAccountId']}' must be in the same subscription "
                f"'{address.subscription_id}' as the gallery resource.", path)
        parts = urlsplit(str(source.get("uri") or ""))
        host = _BLOB_HOST.fullmatch(parts.hostname or "")
        if parts.scheme != "https" or host is None or host.group(1) != account.name.lower():
            raise ArmError(400, "InvalidParameter",  # simulator wording
                           f"The uri '{source.get('uri')}' at path '{path}' is not a blob of storage account "
                           f"'{account.name}'.", path)
        found.append((path, source["uri"], lun))
    return found


def check_update(previous: dict[str, Any] | None, stored: dict[str, Any]) -> None:
    """An update of an existing version: a region keeps its encryption (no going back from customer-managed
    keys, no other set), and a region is only removed when the new safety profile allows it."""
    if previous is None:
        return
    old = {regions.normalize(t["name"]): t for t in previous["properties"]["publishingProfile"]["targetRegions"]}
    new = {regions.normalize(t["name"]): t for t in stored["properties"]["publishingProfile"]["targetRegions"]}
    removed = sorted(set(old) - set(new))
    allowed = (stored["properties"].get("safetyProfile") or {}).get("allowDeletionOfReplicatedLocations")
    if removed and allowed is not True:
        raise invalid_parameter(  # simulator wording
            f"Removing target regions {', '.join(regions.display_name(r) for r in removed)} of an existing gallery "
            "image version requires safetyProfile.allowDeletionOfReplicatedLocations to be true.",
            "galleryImageVersion.properties.safetyProfile.allowDeletionOfReplicatedLocations")
    for name in sorted(set(old) & set(new)):
        if (old[name].get("encryption") or None) != (new[name].get("encryption") or None):
            raise invalid_parameter(  # simulator wording
                f"The encryption of target region '{regions.display_name(name)}' cannot be changed on an existing "
                "gallery image version: customer-managed key encryption, once set, stays as it is.",
                f"{ENCRYPTION}")
