"""Reads of every resource kind through the real SDK clients, and ARM's not-found answers."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from .helpers import RG, SUB, raw, token
from .worlds import MAIN_DES


def test_disk_encryption_set_fields_live_under_properties(compute):
    des = compute.disk_encryption_sets.get(RG, "EastUS2DiskEncryptionSet1")
    assert des.location == "eastus2"
    assert des.properties.encryption_type == "EncryptionAtRestWithCustomerKey"
    assert des.properties.active_key.key_url.startswith("https://eastus2kv.vault.azure.net/keys/")
    assert des.identity.type == "SystemAssigned"


def test_disk_encryption_sets_list_by_group_and_subscription(compute):
    in_group = {d.name for d in compute.disk_encryption_sets.list_by_resource_group("myRG")}
    assert in_group == {"myDESet", "myDESet1", "myDESet2", "myEastUS2DESet", "myEastUS2DESet1", "myEastUS2DESet2"}
    everywhere = {d.name for d in compute.disk_encryption_sets.list()}
    assert in_group < everywhere and "WestUSDiskEncryptionSet2" in everywhere


def test_rotation_fields_and_double_encryption(rich_compute):
    des = rich_compute.disk_encryption_sets.get("build-rg", "DES-EASTUS")
    assert des.name == "des-eastus"  # stored casing, whatever casing was asked for
    assert des.id == MAIN_DES
    assert des.properties.encryption_type == "EncryptionAtRestWithPlatformAndCustomerKeys"
    assert des.properties.auto_key_rotation_error.code == "KeyVaultAccessForbidden"
    assert des.properties.last_key_rotation_timestamp.year == 2024


def test_galleries_and_image_definitions(compute):
    gallery = compute.galleries.get(RG, "MyGallery")
    assert gallery.location == "westus" and gallery.sharing_profile.permissions == "Private"
    assert {g.name for g in compute.galleries.list_by_resource_group("myrg")} == {"myGallery"}
    image = compute.gallery_images.get(RG, "MyGallery", "MyImage")
    assert (image.os_type, image.hyper_v_generation) == ("Linux", "V1")
    assert [i.name for i in compute.gallery_images.list_by_gallery(RG, "mygallery")] == ["MyImage"]


def test_gallery_sharing_profiles(rich_compute):
    shared = rich_compute.galleries.get("Build-RG", "SharedGallery").sharing_profile
    assert shared.permissions == "Groups" and shared.groups[0].type == "Subscriptions"
    community = rich_compute.galleries.get("Build-RG", "CommunityGallery").sharing_profile
    assert community.permissions == "Community"
    image = rich_compute.gallery_images.get("Build-RG", "PrivateGallery", "ubuntu")
    assert [(f.name, f.value) for f in image.features] == [("SecurityType", "TrustedLaunch")]


def test_seed_managed_image_and_snapshots(compute):
    image = compute.images.get("myRG", "myManagedImage")
    assert [d.lun for d in image.storage_profile.data_disks] == [1, 2]
    assert image.storage_profile.os_disk.os_type == "Windows"
    assert [d.lun for d in compute.images.get(RG, "myImage").storage_profile.data_disks] == [0]
    assert {s.name for s in compute.snapshots.list_by_resource_group(RG)} == {"myOSSnapshot", "myDDSnapshot"}


def test_snapshots_disks_and_vms(rich_compute):
    encrypted = rich_compute.snapshots.get("Build-RG", "encrypted-snap")
    assert encrypted.encryption.disk_encryption_set_id == MAIN_DES
    assert encrypted.encryption.type == "EncryptionAtRestWithCustomerKey"
    assert rich_compute.disks.get("Build-RG", "os-disk").disk_size_gb == 64
    vm = rich_compute.virtual_machines.get("Build-RG", "builder-vm")
    assert [d.lun for d in vm.storage_profile.data_disks] == [0, 3]
    assert vm.storage_profile.os_disk.managed_disk.disk_encryption_set.id == MAIN_DES
    assert [v.name for v in rich_compute.virtual_machines.list_all()] == ["builder-vm"]


def test_existing_version_shows_its_stored_replication(rich_compute):
    version = rich_compute.gallery_image_versions.get(
        "Build-RG", "PrivateGallery", "ubuntu", "0.9.0", expand="ReplicationStatus"
    )
    summary = {s.region: s.state for s in version.replication_status.summary}
    assert summary == {"East US": "Completed", "West US": "Failed"}
    assert version.replication_status.aggregated_state == "Failed"
    assert version.publishing_profile.target_regions[0].encryption.os_disk_image.disk_encryption_set_id == MAIN_DES


def test_missing_resource_is_404_resource_not_found(compute):
    with pytest.raises(ResourceNotFoundError) as caught:
        compute.disk_encryption_sets.get(RG, "NoSuchSet")
    assert caught.value.error.code == "ResourceNotFound"
    assert "Microsoft.Compute/diskEncryptionSets/NoSuchSet" in caught.value.error.message


def test_missing_resource_group_is_404_resource_group_not_found(compute):
    with pytest.raises(ResourceNotFoundError) as caught:
        compute.galleries.get("NoSuchGroup", "MyGallery")
    assert caught.value.error.code == "ResourceGroupNotFound"
    assert "'NoSuchGroup'" in caught.value.error.message


def test_missing_parent_is_404_parent_resource_not_found(compute):
    with pytest.raises(ResourceNotFoundError) as caught:
        compute.gallery_images.get(RG, "NoSuchGallery", "MyImage")
    assert caught.value.error.code == "ParentResourceNotFound"


def test_unknown_routes_answer_with_arm_error_shapes(sim):
    access = token(sim)
    unknown_type = raw(
        sim, "GET", f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/gizmos/x", token=access
    )
    assert unknown_type.status_code == 404
    assert unknown_type.json()["error"]["code"] == "InvalidResourceType"
    unknown_namespace = raw(
        sim, "GET", f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Contoso.Widgets/w/x", token=access
    )
    assert unknown_namespace.json()["error"]["code"] == "InvalidResourceNamespace"
    unknown_subscription = raw(
        sim, "GET", "/subscriptions/99999999-9999-9999-9999-999999999999/resourcegroups", token=access
    )
    assert (unknown_subscription.status_code, unknown_subscription.json()["error"]["code"]) == (
        404,
        "SubscriptionNotFound",
    )


def test_writes_to_read_only_kinds_are_refused(sim):
    answer = raw(
        sim,
        "PUT",
        f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/snapshots/s",
        token=token(sim),
        json={"location": "westus"},
    )
    assert answer.status_code == 405
    assert set(answer.json()["error"]) == {"code", "message"}


def test_resource_groups_through_resource_management_client(resources):
    group = resources.resource_groups.get("myresourcegroup")
    assert (group.name, group.location) == ("MyResourceGroup", "westus")
    assert {g.name for g in resources.resource_groups.list()} == {"MyResourceGroup", "myRG"}
    with pytest.raises(HttpResponseError) as caught:
        resources.resource_groups.get("absent")
    assert caught.value.status_code == 404


def test_the_subscriptions_list_is_what_az_login_reads(sim):
    answer = raw(sim, "GET", "/subscriptions", token=token(sim), api_version="2022-12-01")
    assert answer.status_code == 200
    assert [(s["subscriptionId"], s["state"]) for s in answer.json()["value"]] == [(SUB, "Enabled")]
    assert raw(sim, "POST", "/subscriptions", token=token(sim), api_version="2022-12-01").status_code == 405
