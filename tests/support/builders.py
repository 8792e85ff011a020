"""Small builders shared by the unit tests: a valid request to start from, and common IDs."""

from typing import Any

SUB = "00000000-0000-0000-0000-000000000000"
OTHER_SUB = "11111111-2222-3333-4444-555555555555"
RG = "rg1"
PREFIX = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute"
IMAGE_ID = f"{PREFIX}/images/img1"
SNAPSHOT_ID = f"{PREFIX}/snapshots/snap1"
DISK_ID = f"{PREFIX}/disks/disk1"
VM_ID = f"{PREFIX}/virtualMachines/vm1"
OTHER_VERSION_ID = f"{PREFIX}/galleries/gal/images/def/versions/0.9.0"


def des(name: str, rg: str = RG, sub: str = SUB) -> str:
    """The full ID of a disk encryption set."""
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/diskEncryptionSets/{name}"


def raw_request(**overrides: Any) -> dict:
    """A minimal valid v1 request; keyword arguments replace or add fields, None removes one."""
    raw: dict[str, Any] = {
        "subscriptionId": SUB,
        "resourceGroup": RG,
        "galleryName": "gal",
        "imageDefinition": "def",
        "version": "1.0.0",
        "location": "westus",
        "source": {"managedImage": IMAGE_ID},
    }
    for key, value in overrides.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw
