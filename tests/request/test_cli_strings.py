import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.request.cli_strings import (
    CliRegionEncryption,
    CliTargetRegion,
    canonical_storage_account_type,
    parse_region_encryption,
    parse_target_region,
    render_region_encryption,
    render_target_region,
)
from tests.support.strategies import cli_region_encryptions, cli_target_regions, randomly_cased


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("westus", CliTargetRegion("westus")),
        ("westus=2", CliTargetRegion("westus", 2)),
        ("westus=standard_lrs", CliTargetRegion("westus", None, "Standard_LRS")),
        ("westus=2=standard_lrs", CliTargetRegion("westus", 2, "Standard_LRS")),
        # The CLI compares the third part case-sensitively and rejects this; we do not copy that.
        ("eastus2=100=Premium_LRS", CliTargetRegion("eastus2", 100, "Premium_LRS")),
        ("EastUS2=1=premiumv2_lrs", CliTargetRegion("eastus2", 1, "PremiumV2_LRS")),
    ],
)
def test_target_region_entries_parse_like_the_cli(entry, expected):
    assert parse_target_region(entry) == expected


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("westus=abc", "neither a replica count nor a storage account type"),
        ("westus=standard_lrs=2", "the second part must be the replica count"),
        ("westus=2=hdd", "the third part is not a storage account type"),
        ("westus=2=standard_lrs=x", "the third part is not a storage account type"),  # split('=', 2)
        ("westus=0", "out of range"),
        ("westus=101", "out of range"),
        ("westus=+2", "neither a replica count"),  # int('+2') works in the CLI; digits only here
        ("westus=-1", "neither a replica count"),
        ("=2", "region name is empty"),
        ("west-us", "not a region name"),
    ],
)
def test_bad_target_region_entries_name_the_entry_and_the_fix(entry, complaint):
    with pytest.raises(ValueError, match=complaint) as raised:
        parse_target_region(entry)
    assert f"'{entry}'" in str(raised.value)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("des1", CliRegionEncryption("des1")),
        ("des1,0,des2", CliRegionEncryption("des1", ((0, "des2"),))),
        ("null,0,des2,1,des3", CliRegionEncryption(None, ((0, "des2"), (1, "des3")))),
        ("NULL,0,des2", CliRegionEncryption(None, ((0, "des2"),))),
        ("des1,0,null,1,des3", CliRegionEncryption("des1", ((1, "des3"),))),
        ("des1, 0, des2", CliRegionEncryption("des1", ((0, "des2"),))),
        ("null", None),
        ("Null", None),
        ("", None),
        ("null,0,null", None),
    ],
)
def test_encryption_entries_parse_with_null_as_no_encryption(entry, expected):
    assert parse_region_encryption(entry) == expected


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("des1,0", "must come in pairs"),
        ("des1,0,des2,1", "must come in pairs"),
        ("des1,x,des2", "LUN 'x' is not a whole number"),
        ("des1,-1,des2", "LUN '-1' is not a whole number"),
        ("des1,0,des2,0,des3", "LUN 0 appears twice"),
        (",0,des2", "the OS-disk slot is empty; write null"),
        ("des1,0,", "the disk encryption set for LUN 0 is empty"),
    ],
)
def test_bad_encryption_entries_name_the_entry_and_the_fix(entry, complaint):
    with pytest.raises(ValueError, match=complaint):
        parse_region_encryption(entry)


def test_storage_types_are_canonicalised_and_unknown_ones_list_the_choices():
    assert canonical_storage_account_type("STANDARD_zrs") == "Standard_ZRS"
    with pytest.raises(ValueError, match="Standard_LRS, Standard_ZRS, Premium_LRS, PremiumV2_LRS"):
        canonical_storage_account_type("Premium_ZRS")


@settings(max_examples=300)
@given(cli_target_regions, st.data())
def test_every_target_region_rendered_to_the_cli_form_parses_back(region, data):
    text = render_target_region(region)
    if region.storage_account_type:  # the user's casing of the storage type does not matter
        head, _, storage = text.rpartition("=")
        text = f"{head}={randomly_cased(data.draw, storage)}"
    assert parse_target_region(text) == region


@settings(max_examples=300)
@given(cli_region_encryptions())
def test_every_region_encryption_rendered_to_the_cli_form_parses_back(encryption):
    assert parse_region_encryption(render_region_encryption(encryption)) == encryption


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_arbitrary_entries_either_parse_or_raise_value_error(text):
    for parse in (parse_target_region, parse_region_encryption):
        try:
            parse(text)
        except ValueError as error:
            assert str(error)
