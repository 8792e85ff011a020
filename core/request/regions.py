"""Azure region names: display names ("East US 2") and programmatic names ("eastus2") are the same region.

ARM accepts either spelling in a request body but compares them after this normalisation, which is why
"East US 2" and "eastus2" in one publishing profile are rejected as duplicate regions.
"""

import re

_REGION_LIKE = re.compile(r"[a-z][a-z0-9]{1,59}")


def normalize_region(name: str) -> str:
    """Return the programmatic name of a region: lower case, spaces removed.

    "East US 2" -> "eastus2", "WestUS" -> "westus". Raises ValueError when the text cannot be a region
    name (empty, punctuation, starts with a digit); it does not check that the region exists.
    """
    if not isinstance(name, str):
        raise ValueError(f"a region name must be a string, not {type(name).__name__}")
    compact = "".join(name.split()).lower()
    if not compact:
        raise ValueError("a region name is empty: give a region such as 'eastus2' or 'East US 2'")
    if not _REGION_LIKE.fullmatch(compact):
        raise ValueError(
            f"'{name}' is not a region name: use letters and digits only, such as 'eastus2' or 'East US 2'"
        )
    return compact
