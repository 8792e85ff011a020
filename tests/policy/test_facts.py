"""Facts: the pure views over REST JSON, and gathering with one read per distinct resource (fake ARM)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError

from core.azure.settings import Settings
from core.policy import facts as facts_module
from core.policy.facts import (
    Facts,
    encrypted_disks,
    is_customer_key_encrypted,
    sharing_kind,
    source_data_luns,
    source_regions,
)
from core.request import DataDiskSource, ImageSource

from .compliant import (
    CMK,
    OTHER_SUB,
    PREFIX,
    RG,
    SUB,
    des_fact,
    des_id,
    gallery_fact,
    image_fact,
    region_target,
    request,
    snapshot_fact,
    version_fact,
)

# --- views -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sharing", "kind"),
    [
        ({}, "private"),
        ({"permissions": "Private"}, "private"),
        ({"permissions": "Groups", "groups": [{"type": "Subscriptions", "ids": [SUB]}]}, "direct-shared"),
        ({"permissions": "Groups", "communityGalleryInfo": {"publicNamePrefix": "x"}}, "community"),
        ({"permissions": "Community", "communityGalleryInfo": {"publicNamePrefix": "x"}}, "community"),
    ],
)
def test_sharing_kind(sharing: dict[str, Any], kind: str) -> None:
    gallery = gallery_fact()
    gallery["properties"]["sharingProfile"] = sharing
    assert sharing_kind(gallery) == kind


def test_source_luns_by_kind() -> None:
    """Image: storageProfile.dataDisks; version: dataDiskImages; snapshots: the request's data snapshots."""
    assert source_data_luns(request(), Facts(None, None, image_fact(luns=(3, 5)))) == {3, 5}
    version = version_fact("1.0.0", luns=(2,))
    from_version = request(source=ImageSource("imageVersion", version["id"]))
    assert source_data_luns(from_version, Facts(None, None, version)) == {2}
    snapshots = request(source=ImageSource("osSnapshot", f"{PREFIX}/snapshots/os",
                                           (DataDiskSource(4, f"{PREFIX}/snapshots/d4"),)))
    assert source_data_luns(snapshots, Facts(None, None, None)) == {4}
    assert source_data_luns(request(), Facts(None, None, None)) is None


def test_customer_key_encryption_of_each_source_kind() -> None:
    des = des_id("westus", "os")
    assert is_customer_key_encrypted(image_fact(des=des))
    assert not is_customer_key_encrypted(image_fact())
    assert is_customer_key_encrypted(snapshot_fact(f"{PREFIX}/snapshots/s", des=des))
    assert not is_customer_key_encrypted(snapshot_fact(f"{PREFIX}/snapshots/s"))
    assert is_customer_key_encrypted(version_fact("1.0.0"))
    assert not is_customer_key_encrypted(version_fact("1.0.0", encrypted=False))
    vm = {"type": "Microsoft.Compute/virtualMachines", "properties": {"storageProfile": {
        "osDisk": {"managedDisk": {"id": "x", "diskEncryptionSet": {"id": des}}}, "dataDisks": []}}}
    assert is_customer_key_encrypted(vm)


def test_encrypted_disks_and_regions_of_a_version() -> None:
    version = version_fact("1.0.0", regions=("West US", "East US 2"), luns=(0,))
    assert encrypted_disks(version) == {"OS disk", "LUN 0"}
    assert source_regions(version) == {"westus", "eastus2"}
    assert source_regions(image_fact(location="East US")) == {"eastus"}


# --- gathering with a fake ARM ---------------------------------------------------------------------------------


class _Model:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def as_dict(self) -> dict[str, Any]:
        return dict(self.body)


class _Operations:
    """One SDK operation group: ``get`` (and ``list_by_gallery_image``) over a dict, recording each call."""

    def __init__(self, name: str, items: dict[tuple[str, ...], dict[str, Any]], calls: list[str]) -> None:
        self.name, self.items, self.calls = name, {tuple(k.lower() for k in key): v for key, v in items.items()}, calls

    def get(self, *key: str) -> _Model:
        self.calls.append(f"{self.name}.get{key}")
        found = self.items.get(tuple(k.lower() for k in key))
        if found is None:
            raise ResourceNotFoundError(f"{key} not found")
        return _Model(found)

    def list_by_gallery_image(self, *parent: str) -> list[_Model]:
        self.calls.append(f"{self.name}.list{parent}")
        prefix = tuple(k.lower() for k in parent)
        return [_Model(v) for key, v in self.items.items() if key[:len(prefix)] == prefix]


class _FakeArm:
    def __init__(self, calls: list[str], **groups: dict[tuple[str, ...], dict[str, Any]]) -> None:
        self.subscription_id = SUB
        self.settings = Settings.from_env({})
        names = ("disk_encryption_sets", "galleries", "gallery_images", "gallery_image_versions", "images",
                 "snapshots", "disks", "virtual_machines")
        self.compute = type("Compute", (), {n: _Operations(n, groups.get(n, {}), calls) for n in names})()


    def for_subscription(self, subscription_id: str) -> _FakeArm:
        return self


def _world(calls: list[str]) -> _FakeArm:
    sets = {(RG, f"{region}-{disk}"): des_fact(des_id(region, disk), region)
            for region in ("westus", "eastus2") for disk in ("os", "lun0", "lun1")}
    return _FakeArm(
        calls,
        disk_encryption_sets=sets,
        galleries={(RG, "gallery1"): gallery_fact()},
        gallery_images={(RG, "gallery1", "linux"): {"name": "linux", "properties": {"osType": "Linux"}}},
        gallery_image_versions={(RG, "gallery1", "linux", "1.0.0"): version_fact("1.0.0"),
                                (RG, "gallery1", "linux", "2.0.0"): version_fact("2.0.0", state="Failed")},
        images={(RG, "golden"): image_fact()},
        snapshots={(RG, "os"): snapshot_fact(f"{PREFIX}/snapshots/os"),
                   (RG, "d0"): snapshot_fact(f"{PREFIX}/snapshots/d0")},
    )


def test_gather_reads_each_distinct_resource_once() -> None:
    """Six DES used once each, the gallery, the definition, one GET of the target version, the source; no list:
    every disk is encrypted, so no earlier version can make this build a downgrade."""
    calls: list[str] = []
    gathered = facts_module.gather(_world(calls), request(version="2.0.0"))  # type: ignore[arg-type]
    assert sorted(c.split("(")[0] for c in calls) == sorted(
        ["disk_encryption_sets.get"] * 6 + ["galleries.get", "gallery_images.get", "gallery_image_versions.get",
                                           "images.get"])
    assert gathered.target_version is not None and gathered.target_version["name"] == "2.0.0"
    assert gathered.existing_versions == ()
    assert gathered.des(des_id("eastus2", "lun1").upper())["location"] == "eastus2"
    assert gathered.source is not None and gathered.source["name"] == "golden"


def test_gather_lists_the_versions_only_when_a_disk_is_left_unencrypted() -> None:
    """LUN 1 unencrypted everywhere: an earlier version encrypting it would be a downgrade, so the list is read."""
    regions = tuple(replace(region_target(name), data_disk_encryption=tuple(
        d for d in region_target(name).data_disk_encryption if d.lun != 1)) for name in ("westus", "eastus2"))
    calls: list[str] = []
    gathered = facts_module.gather(_world(calls), request(version="2.0.0", target_regions=regions))  # type: ignore[arg-type]
    assert [c.split("(")[0] for c in calls].count("gallery_image_versions.list") == 1
    assert gathered.target_version is not None and gathered.target_version["name"] == "2.0.0"
    assert [v["name"] for v in gathered.existing_versions] == ["1.0.0"]


def test_gather_reads_a_des_used_in_many_places_once_and_skips_other_subscriptions() -> None:
    """One DES for every disk of westus; a DES of another subscription is not read at all."""
    shared = des_id("westus", "os")
    westus = replace(region_target("westus"), data_disk_encryption=tuple(
        replace(d, disk_encryption_set_id=shared) for d in region_target("westus").data_disk_encryption))
    eastus2 = replace(region_target("eastus2"), os_disk_encryption_set_id=des_id("eastus2", "os", OTHER_SUB))
    calls: list[str] = []
    gathered = facts_module.gather(_world(calls), request(target_regions=(westus, eastus2)))  # type: ignore[arg-type]
    des_reads = [c for c in calls if c.startswith("disk_encryption_sets")]
    assert len(des_reads) == 3  # westus-os, eastus2-lun0, eastus2-lun1
    assert gathered.des(des_id("eastus2", "os", OTHER_SUB)) is None
    assert des_id("eastus2", "os", OTHER_SUB).lower() not in gathered.disk_encryption_sets


def test_gather_reads_a_snapshot_named_twice_once_and_reports_missing_ones() -> None:
    os_snap = f"{PREFIX}/snapshots/os"
    source = ImageSource("osSnapshot", os_snap, (DataDiskSource(0, f"{PREFIX}/snapshots/d0"),
                                                 DataDiskSource(1, os_snap), DataDiskSource(2, f"{PREFIX}/snapshots/x")))
    calls: list[str] = []
    gathered = facts_module.gather(_world(calls), request(source=source))  # type: ignore[arg-type]
    assert sorted(c for c in calls if c.startswith("snapshots")) == [
        f"snapshots.get('{RG}', 'd0')", f"snapshots.get('{RG}', 'os')", f"snapshots.get('{RG}', 'x')"]
    assert gathered.data_disk_sources[1] == gathered.source
    assert gathered.data_disk_sources[2] is None


def test_gather_stops_at_a_missing_gallery() -> None:
    """Without a gallery there is nothing to read under it; the facts say so."""
    calls: list[str] = []
    arm = _world(calls)
    arm.compute.galleries.items.clear()
    gathered = facts_module.gather(arm, request(encryption_type=CMK))  # type: ignore[arg-type]
    assert gathered.gallery is None and gathered.image_definition is None and gathered.existing_versions == ()
    assert not [c for c in calls if c.startswith(("gallery_images", "gallery_image_versions"))]


def test_gather_reads_only_the_sets_an_earlier_try_did_not_keep_and_keeps_what_it_read_before_a_failure() -> None:
    """Two of six sets kept: four DES reads. Then the gallery read fails: the sets read before it are kept."""
    world = _world([])
    kept = {des_id(r, "os").lower(): des_fact(des_id(r, "os"), r) for r in ("westus", "eastus2")}
    calls: list[str] = []
    world.compute.disk_encryption_sets.calls = calls
    gathered = facts_module.gather(world, request(version="2.0.0"), kept_des=dict(kept))  # type: ignore[arg-type]
    assert len(calls) == 4 and not any("-os'" in c for c in calls)
    assert gathered.des(des_id("westus", "os"))["location"] == "westus"

    def unreachable(*_: str) -> Any:
        raise ServiceRequestError("connection reset")

    world.compute.galleries.get = unreachable
    filling = dict(kept)
    with pytest.raises(ServiceRequestError):
        facts_module.gather(world, request(version="2.0.0"), kept_des=filling)  # type: ignore[arg-type]
    assert sorted(filling) == sorted(des_id(r, d).lower() for r in ("westus", "eastus2") for d in ("os", "lun0", "lun1"))
