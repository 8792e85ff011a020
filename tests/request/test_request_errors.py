"""Every rule of request v1 reports a Problem naming its field (a JSON path) and saying how to fix it."""

import pytest

from core.request import Problem, RequestInvalid, parse_request
from tests.support.builders import IMAGE_ID, OTHER_VERSION_ID, PREFIX, RG, SNAPSHOT_ID, SUB, des, raw_request


def problems(raw: object) -> list[Problem]:
    with pytest.raises(RequestInvalid) as raised:
        parse_request(raw)
    assert raised.value.problems, "RequestInvalid must carry at least one problem"
    return raised.value.problems


def only_problem(raw: object) -> Problem:
    found = problems(raw)
    assert len(found) == 1, found
    return found[0]


def region(**fields: object) -> dict:
    return {"name": "westus", **fields}


CASES = [
    # (overrides, field, fragment of the message)
    ({"subscriptionId": None}, "subscriptionId", "is required"),
    ({"resourceGroup": None}, "resourceGroup", "is required"),
    ({"galleryName": None}, "galleryName", "is required"),
    ({"imageDefinition": None}, "imageDefinition", "is required"),
    ({"version": None}, "version", "is required"),
    ({"location": None}, "location", "is required"),
    ({"source": None}, "source", "is required"),
    ({"subscriptionId": "abc"}, "subscriptionId", "not a subscription ID"),
    ({"subscriptionId": 7}, "subscriptionId", "must be a string"),
    ({"resourceGroup": "rg with space"}, "resourceGroup", "not a valid resource group name"),
    ({"galleryName": "my-gallery"}, "galleryName", "'_' and '.' allowed in the middle"),
    ({"galleryName": "a" * 81}, "galleryName", "up to 80"),
    ({"imageDefinition": "def-"}, "imageDefinition", "not a valid name"),
    ({"imageDefinition": ""}, "imageDefinition", "non-empty string"),
    ({"version": "1.0"}, "version", "Major.Minor.Patch"),
    ({"version": "1.0.2147483648"}, "version", "up to 2147483647"),
    ({"location": "west-us"}, "location", "not a region name"),
    ({"schemaVersion": 2}, "schemaVersion", "use 1"),
    ({"schemaVersion": "1"}, "schemaVersion", "use 1"),
    ({"schemaVersion": True}, "schemaVersion", "use 1"),
    ({"targetRegion": "westus"}, "targetRegion", "did you mean 'targetRegions'?"),
    ({"SubscriptionID": SUB}, "SubscriptionID", "did you mean 'subscriptionId'?"),
    ({"colour": "blue"}, "colour", "remove it (known fields: schemaVersion"),
    ({"replicaCount": 0}, "replicaCount", "use 1 to 100"),
    ({"replicaCount": 101}, "replicaCount", "use 1 to 100"),
    ({"replicaCount": "2"}, "replicaCount", "whole number"),
    ({"replicaCount": 2.5}, "replicaCount", "whole number"),
    ({"storageAccountType": "Premium_ZRS"}, "storageAccountType", "use one of Standard_LRS"),
    ({"endOfLifeDate": "next year"}, "endOfLifeDate", "use YYYY-MM-DD"),
    ({"endOfLifeDate": "2030-02-30"}, "endOfLifeDate", "not a calendar date"),
    ({"endOfLifeDate": 20301201}, "endOfLifeDate", "must be a string"),
    ({"excludeFromLatest": "false"}, "excludeFromLatest", "true or false"),
    ({"replicationMode": "Deep"}, "replicationMode", "use one of Full, Shallow"),
    ({"encryptionType": "CMK", "targetRegionEncryption": "des"}, "encryptionType",
     "use one of EncryptionAtRestWithCustomerKey"),
    ({"encryptionType": "EncryptionAtRestWithCustomerKey"}, "encryptionType", "no target region names"),
    ({"tags": ["a"]}, "tags", "must be an object"),
    ({"tags": {"n": 1}}, "tags.n", "quote the value"),
    ({"tags": {"a/b": "x"}}, 'tags["a/b"]', "not a valid tag name"),
    ({"tags": {"": "x"}}, 'tags[""]', "not a valid tag name"),
    ({"tags": {"n": "v" * 257}}, "tags.n", "at most 256"),
    ({"tags": {f"t{i}": "v" for i in range(51)}}, "tags", "at most 50"),
    # source
    ({"source": "img1"}, "source", "must be an object with one of managedImage"),
    ({"source": {}}, "source", "give exactly one of managedImage, imageVersion, virtualMachine, osSnapshot"),
    ({"source": {"managedImage": IMAGE_ID, "osSnapshot": SNAPSHOT_ID}}, "source", "(given: managedImage, osSnapshot)"),
    ({"source": {"managedImageId": IMAGE_ID, "managedImage": IMAGE_ID}}, "source.managedImageId",
     "did you mean 'managedImage'?"),
    ({"source": {"managedImage": SNAPSHOT_ID}}, "source.managedImage", "but a Microsoft.Compute/images is required"),
    ({"source": {"osSnapshot": IMAGE_ID}}, "source.osSnapshot",
     "Microsoft.Compute/snapshots or Microsoft.Compute/disks is required"),
    ({"source": {"imageVersion": "1.0.0"}}, "source.imageVersion", "full resource ID"),
    ({"source": {"virtualMachine": ["vm"]}}, "source.virtualMachine", "must be a resource name or ID string"),
    ({"source": {"imageVersion": f"{PREFIX}/galleries/gal/images/def/versions/1.0.0"}}, "source.imageVersion",
     "is the image version this request creates"),
    ({"source": {"managedImage": IMAGE_ID, "dataSnapshots": ["d"]}}, "source.dataSnapshots",
     "go with an osSnapshot source only"),
    ({"source": {"osSnapshot": SNAPSHOT_ID, "dataSnapshotLuns": [0]}}, "source.dataSnapshotLuns",
     "needs dataSnapshots"),
    ({"source": {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": []}}, "source.dataSnapshots", "non-empty list"),
    ({"source": {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": ["a", "b"], "dataSnapshotLuns": [0]}},
     "source.dataSnapshotLuns", "one LUN per data snapshot (2)"),
    ({"source": {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": ["a", {"lun": 1, "id": "b"}]}}, "source.dataSnapshots",
     "mixes IDs and objects"),
    ({"source": {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": [{"lun": 1}]}}, "source.dataSnapshots[0].id",
     "is required"),
    ({"source": {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": [{"lun": 1, "id": "a"}, {"lun": 1, "id": "b"}]}},
     "source.dataSnapshots[1].lun", "LUN 1 is used twice"),
    ({"source": {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": ["a"], "dataSnapshotLuns": [-1]}},
     "source.dataSnapshotLuns[0]", "use 0 to 63"),
    ({"source": {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": [{"lun": 0, "id": IMAGE_ID}]}},
     "source.dataSnapshots[0].id", "Microsoft.Compute/snapshots or Microsoft.Compute/disks is required"),
    ({"source": {"osSnapshot": SNAPSHOT_ID, "dataSnapshots": [{"lun": 0, "id": "a"}], "dataSnapshotLuns": [0]}},
     "source.dataSnapshotLuns", "cannot be combined"),
    # target regions
    ({"targetRegions": ""}, "targetRegions", "lists no region"),
    ({"targetRegions": []}, "targetRegions", "is an empty list"),
    ({"targetRegions": 3}, "targetRegions", "must be the CLI string or a list"),
    ({"targetRegions": "westus eastus=0"}, "targetRegions", "entry 2 'eastus=0': replica count 0 is out of range"),
    ({"targetRegions": ["westus", 5]}, "targetRegions[1]", "or a region object"),
    ({"targetRegions": ["westus", "eastus=x"]}, "targetRegions[1]", "'eastus=x': the second part"),
    ({"targetRegions": "westus eastus2 EastUS2=2"}, "targetRegions",
     "entry 3 of targetRegions: region 'eastus2' is already listed at entry 2 of targetRegions"),
    ({"targetRegions": "eastus2"}, "targetRegions", "must include the image version's location 'westus'"),
    ({"targetRegions": ["westus", {"name": "East US 2"}, "eastus2"]}, "targetRegions[2]",
     "already listed at targetRegions[1]"),
    ({"targetRegions": [{"regionalReplicaCount": 1}, "westus"]}, "targetRegions[0].name", "is required"),
    ({"targetRegions": [region(regionalReplicaCnt=2)]}, "targetRegions[0].regionalReplicaCnt",
     "did you mean 'regionalReplicaCount'?"),
    ({"targetRegions": [region(Name="westus")]}, "targetRegions[0].Name", "is given twice"),
    ({"targetRegions": [region(ReplicaCount=1, regionalReplicaCount=1)]}, "targetRegions[0].ReplicaCount",
     "keep one"),
    ({"targetRegions": [region(ReplicaCount=200)]}, "targetRegions[0].ReplicaCount", "use 1 to 100"),
    ({"targetRegions": [region(storageAccountType="ssd")]}, "targetRegions[0].storageAccountType", "use one of"),
    ({"targetRegions": [region(excludeFromLatest=1)]}, "targetRegions[0].excludeFromLatest", "true or false"),
    ({"targetRegions": [region(encryption="des")]}, "targetRegions[0].encryption", "must be an object"),
    ({"targetRegions": [region(Encryption={"OSDiskImage": "System.Collections.Hashtable"})]},
     "targetRegions[0].Encryption.OSDiskImage", "ConvertTo-Json -Depth 10"),
    ({"targetRegions": [region(encryption={"osDiskImage": {}})]},
     "targetRegions[0].encryption.osDiskImage.diskEncryptionSetId", "remove osDiskImage"),
    ({"targetRegions": [region(encryption={"osDisk": {}})]}, "targetRegions[0].encryption.osDisk",
     "did you mean 'osDiskImage'?"),
    ({"targetRegions": [region(encryption={"osDiskImage": {"diskEncryptionSetId": IMAGE_ID}})]},
     "targetRegions[0].encryption.osDiskImage.diskEncryptionSetId", "Microsoft.Compute/diskEncryptionSets"),
    ({"targetRegions": [region(encryption={"dataDiskImages": {"lun": 0}})]},
     "targetRegions[0].encryption.dataDiskImages", "must be a list"),
    ({"targetRegions": [region(encryption={"dataDiskImages": [{"diskEncryptionSetId": "d"}]})]},
     "targetRegions[0].encryption.dataDiskImages[0].lun", "is required"),
    ({"targetRegions": [region(encryption={"dataDiskImages": [{"lun": 0}]})]},
     "targetRegions[0].encryption.dataDiskImages[0].diskEncryptionSetId", "is required"),
    ({"targetRegions": [region(encryption={"dataDiskImages": [{"lun": True, "diskEncryptionSetId": "d"}]})]},
     "targetRegions[0].encryption.dataDiskImages[0].lun", "whole number"),
    ({"targetRegions": [region(encryption={"dataDiskImages": [{"lun": 2, "diskEncryptionSetId": "d"},
                                                              {"Lun": 2, "diskEncryptionSetId": "e"}]})]},
     "targetRegions[0].encryption.dataDiskImages[1].Lun", "LUN 2 appears twice"),
    ({"targetRegions": [region(encryption={"dataDiskImages": [5]})]},
     "targetRegions[0].encryption.dataDiskImages[0]", "must be an object"),
    # targetRegionEncryption
    ({"targetRegionEncryption": 5}, "targetRegionEncryption", "must be the CLI string or a list"),
    ({"targetRegionEncryption": ["a", 1]}, "targetRegionEncryption", "must be the CLI string or a list"),
    ({"targetRegionEncryption": "a b"}, "targetRegionEncryption",
     "has 2 entries but there are 1 target regions (without targetRegions the location is the only one)"),
    ({"targetRegions": "westus eastus", "targetRegionEncryption": "a"}, "targetRegionEncryption",
     "has 1 entries but there are 2 target regions"),
    ({"targetRegions": [region(encryption={"osDiskImage": {"diskEncryptionSetId": "a"}})],
      "targetRegionEncryption": "a"}, "targetRegionEncryption",
     "contradicts the encryption objects in targetRegions[0]"),
    ({"targetRegionEncryption": "a,0"}, "targetRegionEncryption", "entry 1 'a,0': LUN and disk encryption set must"),
    ({"targetRegionEncryption": ["a,zero,b"]}, "targetRegionEncryption[0]", "LUN 'zero' is not a whole number"),
    ({"targetRegionEncryption": f"{IMAGE_ID}"}, "targetRegionEncryption", "entry 1 OS disk: "),
    ({"targetRegionEncryption": "a,3,bad!name"}, "targetRegionEncryption", "entry 1 LUN 3: 'bad!name'"),
    ({"targetRegionEncryption": "a,3,sub/x"}, "targetRegionEncryption", "must start with '/subscriptions/'"),
]


@pytest.mark.parametrize(("overrides", "field", "fragment"), CASES)
def test_each_rule_reports_one_problem_naming_its_field(overrides, field, fragment):
    problem = only_problem(raw_request(**overrides))
    assert problem.field == field
    assert fragment in problem.message


@pytest.mark.parametrize(
    ("raw", "described"), [(None, "null"), ([], "a list"), ("request", "a string"), (3, "a number")]
)
def test_a_request_that_is_not_an_object_is_one_problem(raw, described):
    assert only_problem(raw) == Problem("request", f"must be a JSON object, not {described}")


def test_every_problem_is_collected_in_one_pass():
    raw = raw_request(
        subscriptionId="nope", version="one", location="", source={"osSnapshot": IMAGE_ID}, replicaCount=0,
        targetRegions="westus=0 westus=abc", targetRegionEncryption="a,x,b", tags={"n": 1}, colour="red",
    )
    fields = [problem.field for problem in problems(raw)]
    assert sorted(fields) == sorted([
        "colour", "subscriptionId", "version", "location", "source.osSnapshot", "targetRegions", "targetRegions",
        "targetRegionEncryption", "targetRegionEncryption", "replicaCount", "tags.n",
    ])


def test_the_exception_text_is_one_field_message_line_per_problem():
    with pytest.raises(RequestInvalid) as raised:
        parse_request(raw_request(version="x", replicaCount=0))
    lines = str(raised.value).splitlines()
    assert lines == [str(problem) for problem in raised.value.problems]
    assert lines[0].startswith("version: ") and lines[1].startswith("replicaCount: ")
    assert isinstance(raised.value, ValueError)


def test_a_des_given_as_another_resource_type_is_an_error_in_every_shape():
    snapshot_as_des = SNAPSHOT_ID
    shapes = [
        {"targetRegionEncryption": f"{snapshot_as_des}"},
        {"targetRegionEncryption": f"null,0,{snapshot_as_des}"},
        {"targetRegions": [region(encryption={"osDiskImage": {"diskEncryptionSetId": snapshot_as_des}})]},
        {"targetRegions": [
            region(Encryption={"DataDiskImages": [{"Lun": 0, "DiskEncryptionSetId": snapshot_as_des}]})
        ]},
    ]
    for overrides in shapes:
        assert "is a Microsoft.Compute/snapshots ID" in only_problem(raw_request(**overrides)).message


def test_names_still_resolve_against_a_valid_group_when_the_subscription_is_wrong():
    """A bad subscription is reported once; it does not hide the other fields' own problems."""
    found = problems(raw_request(subscriptionId="x", targetRegionEncryption="good,0,bad name"))
    assert [problem.field for problem in found] == ["subscriptionId", "targetRegionEncryption"]


def test_des_in_another_subscription_is_not_an_offline_error():
    """Same-subscription is a policy rule over the resolved IDs, checked before any write, not here."""
    other = des("k", sub="11111111-2222-3333-4444-555555555555", rg=RG)
    assert parse_request(raw_request(targetRegionEncryption=other)).disk_encryption_set_ids() == [other]


def test_an_image_version_source_other_than_the_target_is_fine():
    assert parse_request(raw_request(source={"imageVersion": OTHER_VERSION_ID})).source.id == OTHER_VERSION_ID
