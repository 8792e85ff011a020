"""The image-version PUT as validation sees it: field paths of the service's errors, and the shapes passed around."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import ids

TARGET_REGIONS = "galleryImageVersion.properties.publishingProfile.targetRegions"
ENCRYPTION = "galleryArtifactVersion.properties.publishingProfile.targetRegions.encryption"
OS_DES = f"{ENCRYPTION}.osDiskImage.diskEncryptionSetId"
DATA_DES = f"{ENCRYPTION}.dataDiskImages.diskEncryptionSetId"
SOURCE_TARGET = "galleryImageVersion.properties.storageProfile"
VERSION_NAME = re.compile(r"^\d{1,10}\.\d{1,10}\.\d{1,10}$")
ONE_SOURCE = (
    "The gallery artifact version source can only be specified either directly under storageProfile or within "
    "individual OS or data disks. One and only one source type (user image, snapshot, disk, virtual machine) "
    "can be provided"
)
DES_TYPE = "microsoft.compute/diskencryptionsets"
TOP_SOURCE_TYPES = (
    "microsoft.compute/images",
    "microsoft.compute/virtualmachines",
    "microsoft.compute/galleries/images/versions",
)
DISK_SOURCE_TYPES = ("microsoft.compute/disks", "microsoft.compute/snapshots")
STORAGE_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS")


@dataclass(frozen=True)
class VersionAddress:
    subscription_id: str
    resource_group: str
    gallery: str
    image: str
    version: str


@dataclass
class AcceptedVersion:
    """A PUT that passed validation: the body to store and the normalised target regions."""

    body: dict[str, Any]
    target_regions: list[str]


@dataclass(frozen=True)
class Source:
    """One source named in the storage profile: its ID, where it was named, and the parsed ID."""

    resource_id: str
    path: str
    parsed: ids.ParsedId | None


