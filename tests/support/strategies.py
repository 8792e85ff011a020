"""Hypothesis strategies for valid request parts, shared by the property tests."""

from hypothesis import strategies as st

from core.azure.regions import PUBLIC_REGIONS
from core.request.cli_strings import STORAGE_ACCOUNT_TYPES, CliRegionEncryption, CliTargetRegion

region_names = st.sampled_from(sorted(PUBLIC_REGIONS))
replica_counts = st.integers(min_value=1, max_value=100)
storage_types = st.sampled_from(STORAGE_ACCOUNT_TYPES)
# Bare DES names as a user writes them; "null" (any case) is the CLI's placeholder, not a name.
des_names = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_-]{0,20}[A-Za-z0-9_])?", fullmatch=True).filter(
    lambda name: name.lower() != "null"
)
luns = st.integers(min_value=0, max_value=63)

cli_target_regions = st.builds(
    CliTargetRegion, name=region_names, replica_count=st.none() | replica_counts,
    storage_account_type=st.none() | storage_types,
)


@st.composite
def cli_region_encryptions(draw: st.DrawFn) -> CliRegionEncryption | None:
    """None (no encryption) or an entry with an OS DES and/or data disks with distinct LUNs."""
    os_des = draw(st.none() | des_names)
    data = draw(st.lists(st.tuples(luns, des_names), max_size=4, unique_by=lambda pair: pair[0]))
    if os_des is None and not data:
        return None
    return CliRegionEncryption(os_des, tuple(data))


def randomly_cased(draw: st.DrawFn, text: str) -> str:
    return "".join(char.upper() if draw(st.booleans()) else char.lower() for char in text)
