"""A simulator world of published versions, compliant and not, one problem per non-compliant version.

End-of-life dates are relative to `now`, so the world is built per test session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SUB = "11111111-1111-1111-1111-111111111111"
OTHER_SUB = "22222222-2222-2222-2222-222222222222"
RG = "images"


def des_id(name: str, sub: str = SUB, rg: str = RG) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/diskEncryptionSets/{name}"


GOLDEN = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/galleries/golden"
TEAM = f"/subscriptions/{OTHER_SUB}/resourceGroups/keys/providers/Microsoft.Compute/galleries/team"
FOREIGN_DES = des_id("foreign-west", OTHER_SUB, "keys")


def version_id(version: str, gallery: str = GOLDEN, image: str = "linux") -> str:
    return f"{gallery}/images/{image}/versions/{version}"


# version -> the one finding code it must produce (None: compliant)
EXPECTED = {
    "1.0.0": None,
    "1.0.1": None,
    "1.1.0": "CustomerKeyMissingInRegion",
    "1.2.0": "DiskEncryptionSetRegion",
    "1.3.0": "DiskEncryptionSetSubscription",
    "1.4.0": "ReplicationFailed",
    "1.5.0": "EndOfLifePassed",
    "1.6.0": "EndOfLifeSoon",
    "1.7.0": "DiskEncryptionSetKeyRotationFailed",
    "1.8.0": "DiskEncryptionSetNotFound",
}


def _region(name: str, os_des: str | None, data: dict[int, str] | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"name": name}
    encryption: dict[str, Any] = {}
    if os_des:
        encryption["osDiskImage"] = {"diskEncryptionSetId": os_des}
    if data:
        encryption["dataDiskImages"] = [{"lun": lun, "diskEncryptionSetId": des} for lun, des in data.items()]
    if encryption:
        target["encryption"] = encryption
    return target


def _version(name: str, regions: list[dict[str, Any]], *, eol: datetime | None = None,
             data_luns: tuple[int, ...] = (), replication: dict[str, str] | None = None) -> dict[str, Any]:
    publishing: dict[str, Any] = {"targetRegions": regions}
    if eol is not None:
        publishing["endOfLifeDate"] = eol.isoformat().replace("+00:00", "Z")
    version: dict[str, Any] = {"name": name, "location": "westus", "publishingProfile": publishing,
                               "storageProfile": {"osDiskImage": {"sizeInGB": 30},
                                                  "dataDiskImages": [{"lun": lun, "sizeInGB": 32} for lun in data_luns]}}
    if replication:
        version["replicationStatus"] = replication
    return version


def audit_world(now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    west, east = des_id("des-west"), des_id("des-east")
    both = [_region("westus", west), _region("eastus2", east)]
    versions = [
        _version("1.0.0", [_region("westus", west, {0: west}), _region("East US 2", east, {0: east})],
                 eol=now + timedelta(days=365), data_luns=(0,)),
        _version("1.0.1", both),
        _version("1.1.0", [_region("westus", west), _region("eastus2", None)]),
        _version("1.2.0", [_region("westus", east), _region("eastus2", east)]),
        _version("1.3.0", [_region("westus", FOREIGN_DES), _region("eastus2", east)]),
        _version("1.4.0", both, replication={"eastus2": "Failed"}),
        _version("1.5.0", both, eol=now - timedelta(days=10)),
        _version("1.6.0", both, eol=now + timedelta(days=10, hours=1)),
        _version("1.7.0", [_region("westus", west), _region("eastus2", des_id("des-east-rotation"))]),
        _version("1.8.0", [_region("westus", des_id("deleted-des")), _region("eastus2", east)]),
    ]
    return {
        "description": "Audit test world: compliant and non-compliant published versions.",
        "subscriptions": [
            {
                "subscriptionId": SUB,
                "providers": {"Microsoft.Compute": "Registered"},
                "resourceGroups": [{
                    "name": RG, "location": "westus",
                    "diskEncryptionSets": [
                        {"name": "des-west", "location": "westus"},
                        {"name": "des-east", "location": "eastus2"},
                        {"name": "des-east-rotation", "location": "eastus2",
                         "autoKeyRotationError": {"code": "KeyVaultAccessForbidden",
                                                  "message": "The disk encryption set cannot access key vault."}},
                    ],
                    "galleries": [{"name": "golden", "images": [{"name": "linux", "versions": versions}]}],
                }],
            },
            {
                "subscriptionId": OTHER_SUB,
                "providers": {"Microsoft.Compute": "Registered"},
                "resourceGroups": [{
                    "name": "keys", "location": "westus",
                    "diskEncryptionSets": [{"name": "foreign-west", "location": "westus"}],
                    "galleries": [{"name": "team", "images": [{"name": "win", "osType": "Windows", "versions": [
                        _version("2.0.0", [_region("westus", FOREIGN_DES)])]}]}],
                }],
            },
        ],
    }


def many_galleries_world(galleries: int, subscriptions: int, *, large_versions: int = 0,
                         now: datetime | None = None) -> dict[str, Any]:
    """`galleries` galleries spread over `subscriptions` subscriptions (`scale_subscription(n)`), each with one
    compliant version, except every tenth, whose version has no disk encryption set in eastus2
    (CustomerKeyMissingInRegion); the first gallery also has `large_versions` compliant versions over two
    images (a gallery read in several pages)."""
    now = now or datetime.now(UTC)
    subs = []
    for s in range(subscriptions):
        sub = scale_subscription(s)
        west, east = des_id("des-west", sub), des_id("des-east", sub)
        items = []
        for g in range(s, galleries, subscriptions):
            compliant = g % 10 != 0
            images = [{"name": "linux", "versions": [
                _version("1.0.0", [_region("westus", west), _region("eastus2", east if compliant else None)],
                         eol=now + timedelta(days=365))]}]
            if g == 0 and large_versions:
                images += [{"name": f"large{i}", "versions": [
                    _version(f"1.0.{v}", [_region("westus", west), _region("eastus2", east)])
                    for v in range(i, large_versions, 2)]} for i in range(2)]
            items.append({"name": f"g{g:04d}", "images": images})
        subs.append({"subscriptionId": sub, "providers": {"Microsoft.Compute": "Registered"},
                     "resourceGroups": [{"name": RG, "location": "westus",
                                         "diskEncryptionSets": [{"name": "des-west", "location": "westus"},
                                                                {"name": "des-east", "location": "eastus2"}],
                                         "galleries": items}]})
    return {"description": f"Audit scale world: {galleries} galleries in {subscriptions} subscriptions.",
            "subscriptions": subs}


def scale_subscription(n: int) -> str:
    return f"{n + 1:08d}-aaaa-4aaa-8aaa-{n + 1:012d}"


def scale_gallery(g: int, subscriptions: int) -> str:
    sub = scale_subscription(g % subscriptions)
    return f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Compute/galleries/g{g:04d}"
