"""The seed world plus the images enterprises encrypt with their own keys: a Windows image, a trusted launch
image and a confidential (Windows) image in MyGallery, each with a published version 1.0.0 (westus and
eastus2, a data disk at LUN 0), confidential-VM disk encryption sets in both regions and a Windows OS
snapshot. Shared by the simulator's VM tests and the verification tests through the worker."""

from __future__ import annotations

import copy
import json
from typing import Any

from devstack.azurite import PROJECT_ROOT

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/MyResourceGroup"
COMPUTE = f"{RG}/providers/Microsoft.Compute"
DES = f"{COMPUTE}/diskEncryptionSets/"
SUBNET = f"{RG}/providers/Microsoft.Network/virtualNetworks/verify-vnet/subnets/default"
WINDOWS, TRUSTED, CONFIDENTIAL = "WindowsImage", "TrustedImage", "ConfidentialImage"
CVM_DES = {"westus": DES + "WestUSConfidentialDES", "eastus2": DES + "EastUS2ConfidentialDES"}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4OEAHFxlwJ4Op1h0oDwE3rUwc25YxwlTFPZteZxmKd verify@test"

_KEY_URL = "https://{}kv.vault.azure.net/keys/{}-key/0123456789abcdef0123456789abcdef"
_PUBLISHED = {"name": "1.0.0", "storageProfile": {"osDiskImage": {"sizeInGB": 127},
                                                  "dataDiskImages": [{"lun": 0, "sizeInGB": 32}]},
              "publishingProfile": {"targetRegions": [{"name": "westus"}, {"name": "eastus2"}]}}


def _image(name: str, os_type: str, generation: str, security_type: str | None) -> dict[str, Any]:
    image: dict[str, Any] = {"name": name, "osType": os_type, "hyperVGeneration": generation,
                             "identifier": {"publisher": "MyPublisher", "offer": name, "sku": "1"},
                             "versions": [copy.deepcopy(_PUBLISHED)]}
    if security_type:
        image["features"] = [{"name": "SecurityType", "value": security_type}]
    return image


def secure_images_world() -> dict[str, Any]:
    world = json.loads((PROJECT_ROOT / "simulator" / "worlds" / "seed.json").read_text())
    group = world["subscriptions"][0]["resourceGroups"][0]
    group["galleries"][0]["images"] += [_image(WINDOWS, "Windows", "V1", None),
                                        _image(TRUSTED, "Linux", "V2", "TrustedLaunch"),
                                        _image(CONFIDENTIAL, "Windows", "V2", "ConfidentialVM")]
    for region, des_id in CVM_DES.items():
        name = des_id.rsplit("/", 1)[1]
        group["diskEncryptionSets"].append({"name": name, "location": region,
                                            "encryptionType": "ConfidentialVmEncryptedWithCustomerKey",
                                            "activeKey": {"keyUrl": _KEY_URL.format(region, name.lower())}})
    group["snapshots"].append({"name": "winOSSnapshot", "location": "westus", "osType": "Windows", "sizeGB": 127})
    return world


def version_id(image: str, version: str = "1.0.0") -> str:
    return f"{COMPUTE}/galleries/MyGallery/images/{image}/versions/{version}"
