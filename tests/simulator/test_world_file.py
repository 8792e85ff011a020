"""The world file: the shipped seed world, and validation errors that name the field and the fix."""

from __future__ import annotations

import json

import pytest

from simulator import Simulator, WorldError
from simulator.world_schema import load

from .helpers import SEED, SUB


def test_seed_world_holds_the_articles_resources():
    world = load(SEED)
    names = {body["name"]: body for body in world.resources.values()}
    for des_name in ("WestUSDiskEncryptionSet1", "WestUSDiskEncryptionSet2", "myDESet", "myDESet1", "myDESet2"):
        assert names[des_name]["location"] == "westus"
    for des_name in ("EastUS2DiskEncryptionSet1", "EastUS2DiskEncryptionSet2", "myEastUS2DESet2"):
        assert names[des_name]["location"] == "eastus2"
    assert all(
        b["properties"]["encryptionType"] == "EncryptionAtRestWithCustomerKey"
        for b in world.resources.values()
        if b["type"] == "Microsoft.Compute/diskEncryptionSets"
    )
    assert names["MyGallery"]["properties"]["sharingProfile"] == {"permissions": "Private"}
    assert names["MyImage"]["properties"]["osType"] == "Linux"
    assert [d["lun"] for d in names["myImage"]["properties"]["storageProfile"]["dataDisks"]] == [0]
    assert {"myOSSnapshot", "myDDSnapshot"} <= set(names)
    assert world.features[SUB]["microsoft.compute/sigencryption"]["state"] == "NotRegistered"
    assert world.providers[SUB]["microsoft.compute"]["state"] == "Registered"


def test_every_problem_is_reported_with_its_path():
    bad = {
        "subscriptions": [
            {
                "subscriptionId": "s",
                "features": {"SIGEncryption": "NotRegistered", "Microsoft.Compute/X": "Maybe"},
                "resourceGroups": [
                    {
                        "name": "rg",
                        "location": "westus",
                        "diskEncryptionSets": [{"name": "d", "location": "wetsus", "encryptionType": "Platform"}],
                        "managedImages": [{"name": "i", "dataDisks": [{"lun": 1}, {"lun": 1}]}],
                        "galleries": [{"name": "g", "sharing": "public"}],
                        "widgets": [],
                    }
                ],
            }
        ]
    }
    with pytest.raises(WorldError) as caught:
        load(bad)
    problems = "\n".join(caught.value.problems)
    expected = [
        "$.subscriptions[0].features['SIGEncryption']: feature names are '<namespace>/<name>'",
        "$.subscriptions[0].features['Microsoft.Compute/X']: 'Maybe' is not one of NotRegistered",
        "$.subscriptions[0].resourceGroups[0].diskEncryptionSets[0].location: unknown region 'wetsus'",
        "$.subscriptions[0].resourceGroups[0].diskEncryptionSets[0].encryptionType: 'Platform' is not one of",
        "$.subscriptions[0].resourceGroups[0].managedImages[0].dataDisks[1].lun: LUN 1 is used twice",
        "$.subscriptions[0].resourceGroups[0].galleries[0].sharing: 'public' is not one of Private, Groups, Community",
        "$.subscriptions[0].resourceGroups[0].widgets: unknown key",
    ]
    for line in expected:
        assert line in problems
    assert len(caught.value.problems) == len(expected)


def test_duplicate_names_are_case_insensitive():
    world = {
        "subscriptions": [
            {
                "subscriptionId": "s",
                "resourceGroups": [
                    {"name": "rg", "location": "westus", "snapshots": [{"name": "snap"}, {"name": "SNAP"}]}
                ],
            }
        ]
    }
    with pytest.raises(WorldError, match=r"snapshots\[1\]: duplicate resource"):
        load(world)


def test_missing_file_and_bad_json(tmp_path):
    with pytest.raises(WorldError, match="file not found"):
        Simulator(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(WorldError, match="not valid JSON"):
        Simulator(broken)


def test_a_world_file_round_trips_through_json(tmp_path):
    path = tmp_path / "world.json"
    path.write_text(
        json.dumps(
            {
                "subscriptions": [
                    {
                        "subscriptionId": "s",
                        "resourceGroups": [
                            {
                                "name": "rg",
                                "location": "East US 2",
                                "disks": [{"name": "d", "diskEncryptionSet": "des"}],
                            }
                        ],
                    }
                ]
            }
        )
    )
    disk = next(iter(load(path).resources.values()))
    assert disk["location"] == "eastus2"
    assert disk["properties"]["encryption"] == {
        "type": "EncryptionAtRestWithCustomerKey",
        "diskEncryptionSetId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/des",
    }


def test_a_world_names_its_cloud_and_its_regions_are_that_clouds():
    """An AzureChinaCloud world takes chinaeast2 and refuses westus; an unknown cloud is named."""
    china = {"cloud": "AzureChinaCloud", "subscriptions": [{"subscriptionId": "s", "resourceGroups": [
        {"name": "rg", "location": "westus"}]}]}  # fmt: skip
    with pytest.raises(WorldError, match=r"\$\.subscriptions\[0\]\.resourceGroups\[0\]\.location: unknown region "
                                         r"'westus' in AzureChinaCloud"):  # fmt: skip
        load(china)
    china["subscriptions"][0]["resourceGroups"][0]["location"] = "China East 2"
    assert load(china).cloud == "AzureChinaCloud"
    with pytest.raises(WorldError, match=r"\$\.cloud: 'AzureGermanCloud' is not one of AzureCloud"):
        load({**china, "cloud": "AzureGermanCloud"})
