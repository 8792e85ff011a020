import pytest

from core.azure import resource_ids
from core.azure.resource_ids import (
    ResourceId,
    disk_encryption_set_id,
    image_version_id,
    parse_resource_id,
    resolve_reference,
)
from tests.support.builders import DISK_ID, IMAGE_ID, RG, SNAPSHOT_ID, SUB, des

VERSION_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/galleries/g/images/i/versions/1.2.3"


def test_parse_splits_a_nested_id_into_its_parts():
    rid = parse_resource_id(VERSION_ID)
    assert rid == ResourceId(SUB, RG, "Microsoft.Compute", ("galleries", "images", "versions"), ("g", "i", "1.2.3"))
    assert rid.kind == "Microsoft.Compute/galleries/images/versions"
    assert rid.name == "1.2.3"
    assert str(rid) == VERSION_ID
    assert str(rid.parent) == VERSION_ID.rsplit("/versions/", 1)[0]
    assert str(rid.parent.parent).endswith("/providers/Microsoft.Compute/galleries/g")
    assert rid.parent.parent.parent is None


def test_parse_canonicalises_fixed_segments_known_types_and_the_subscription_but_keeps_names():
    messy = f"/SUBSCRIPTIONS/{SUB.upper()}/resourcegroups/My.RG/PROVIDERS/microsoft.compute/DISKENCRYPTIONSETS/MyDes"
    rid = parse_resource_id(messy)
    assert str(rid) == f"/subscriptions/{SUB}/resourceGroups/My.RG/providers/Microsoft.Compute/diskEncryptionSets/MyDes"


def test_unknown_resource_types_keep_their_spelling():
    rid = parse_resource_id(f"/subscriptions/{SUB}/resourceGroups/rg/providers/Contoso.Things/widgetTypes/w1")
    assert rid.kind == "Contoso.Things/widgetTypes"


def test_ids_compare_and_hash_case_insensitively_as_arm_does():
    lower = parse_resource_id(des("mydes"))
    upper = parse_resource_id(des("MYDES", rg=RG.upper()))
    assert lower == upper
    assert len({lower, upper}) == 1
    assert lower != parse_resource_id(des("otherdes"))
    assert lower.is_kind("microsoft.compute/DISKENCRYPTIONSETS")
    assert not lower.is_kind(resource_ids.SNAPSHOT)


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("subscriptions/x", "must start with '/subscriptions/'"),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/", "empty segment"),
        (f"/subscriptions/{SUB}//resourceGroups/rg", "empty segment"),
        ("/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Compute/images/i", "is not a GUID"),
        (f"/subscriptions/{SUB}/groups/rg/providers/Microsoft.Compute/images/i", "/resourceGroups/"),
        (f"/subscriptions/{SUB}/resourceGroups/rg./providers/Microsoft.Compute/images/i", "resource group 'rg.'"),
        (f"/subscriptions/{SUB}/resourceGroups/rg", "/providers/"),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Compute/images/i", "namespace 'Compute'"),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute", "'<type>/<name>' pairs"),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images", "'<type>/<name>' pairs"),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/ima-ges/i", "type 'ima-ges'"),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/my image", "reserved"),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/img.", "ends with '.'"),
    ],
)
def test_invalid_ids_are_rejected_naming_the_bad_part(value, complaint):
    with pytest.raises(ValueError, match="is not a valid resource ID") as raised:
        parse_resource_id(value)
    assert complaint in str(raised.value)


def test_a_non_string_id_is_a_value_error():
    with pytest.raises(ValueError, match="string"):
        parse_resource_id(None)  # type: ignore[arg-type]


def test_builders_produce_canonical_ids_and_validate_their_parts():
    assert disk_encryption_set_id(SUB, RG, "d1") == des("d1")
    assert image_version_id(SUB, RG, "g", "i", "1.2.3") == VERSION_ID
    with pytest.raises(ValueError, match="not a disk encryption set name"):
        disk_encryption_set_id(SUB, RG, "bad name")
    with pytest.raises(ValueError, match="not a GUID"):
        image_version_id("sub", RG, "g", "i", "1.0.0")


def test_a_name_resolves_in_the_given_subscription_and_group_like_the_cli():
    kinds = (resource_ids.DISK_ENCRYPTION_SET,)
    assert resolve_reference("myDes", kinds=kinds, subscription=SUB, resource_group=RG) == des("myDes")


def test_an_id_missing_its_leading_slash_is_an_id_not_a_name():
    """The seed's PowerShell sample writes 'subscriptions/...': the CLI would build a DES *named* that."""
    kinds = (resource_ids.DISK_ENCRYPTION_SET,)
    other = des("x", rg="otherRG")
    assert resolve_reference(other[1:], kinds=kinds, subscription=SUB, resource_group=RG) == other


def test_a_reference_of_another_type_is_rejected_naming_both_types():
    expected = r"is a Microsoft\.Compute/images ID, but a Microsoft\.Compute/diskEncryptionSets"
    with pytest.raises(ValueError, match=expected):
        resolve_reference(IMAGE_ID, kinds=(resource_ids.DISK_ENCRYPTION_SET,), subscription=SUB, resource_group=RG)


def test_any_of_several_kinds_is_accepted_and_names_take_the_first():
    kinds = (resource_ids.SNAPSHOT, resource_ids.DISK)
    assert resolve_reference(DISK_ID, kinds=kinds, subscription=SUB, resource_group=RG) == DISK_ID
    assert resolve_reference("snap1", kinds=kinds, subscription=SUB, resource_group=RG) == SNAPSHOT_ID


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("", "is empty"),
        ("bad name!", "neither a resource ID nor a valid name"),
        ("rg/des", "must start with '/subscriptions/'"),
    ],
)
def test_unusable_references_are_rejected(value, complaint):
    with pytest.raises(ValueError, match=complaint):
        resolve_reference(value, kinds=(resource_ids.DISK_ENCRYPTION_SET,), subscription=SUB, resource_group=RG)


def test_a_nested_kind_cannot_be_given_by_a_bare_name():
    with pytest.raises(ValueError, match="full resource ID"):
        resolve_reference("1.0.0", kinds=(resource_ids.GALLERY_IMAGE_VERSION,), subscription=SUB,
                          resource_group=RG)
