import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.azure.regions import normalize_region


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("East US 2", "eastus2"),
        ("WestUS", "westus"),
        ("westus", "westus"),
        ("  South Central US ", "southcentralus"),
        ("UK\tWest", "ukwest"),
    ],
)
def test_display_and_programmatic_names_normalise_to_the_same_region(given_name, expected):
    assert normalize_region(given_name) == expected


@pytest.mark.parametrize("bad", ["", "   ", "east-us", "2eastus", "East US (2)", "eastus/2", "é", "x"])
def test_text_that_cannot_be_a_region_is_rejected(bad):
    with pytest.raises(ValueError, match="region"):
        normalize_region(bad)


def test_a_non_string_is_rejected_with_a_value_error():
    with pytest.raises(ValueError, match="string"):
        normalize_region(3)  # type: ignore[arg-type]


@given(st.from_regex(r"[a-z][a-z0-9]{1,30}", fullmatch=True), st.data())
def test_spacing_and_case_never_change_the_region(name, data):
    """Any display spelling (spaces between characters, any case) normalises to the programmatic name."""
    spelled = "".join(
        (char.upper() if data.draw(st.booleans()) else char) + (" " if data.draw(st.booleans()) else "")
        for char in name
    )
    assert normalize_region(spelled) == name
    assert normalize_region(normalize_region(spelled)) == name
