"""Azure region names: display names ("East US 2") and programmatic names ("eastus2") are the same region.

ARM accepts either spelling in a request body but compares them after this normalisation, which is why
"East US 2" and "eastus2" in one publishing profile are rejected as duplicate regions.
"""

import difflib
import re

from core.base.problems import clip

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
            f"'{clip(name)}' is not a region name: use letters and digits only, such as 'eastus2' or 'East US 2'"
        )
    return compact


# The physical regions of each cloud (programmatic names, as `az account list-locations` lists them), keyed
# like the cloud profiles of core/azure/clouds.py, which take them from here. Regions open every year: EXTRA_REGIONS
# adds names without a release.
PUBLIC_REGIONS = frozenset({
    "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "austriaeast",
    "belgiumcentral", "brazilsouth", "brazilsoutheast", "brazilus", "canadacentral", "canadaeast",
    "centralindia", "centralus", "centraluseuap", "chilecentral", "denmarkeast", "eastasia", "eastus",
    "eastus2", "eastus2euap", "eastusstg", "francecentral", "francesouth", "germanynorth",
    "germanywestcentral", "indonesiacentral", "israelcentral", "italynorth", "japaneast", "japanwest",
    "jioindiacentral", "jioindiawest", "koreacentral", "koreasouth", "malaysiawest", "mexicocentral",
    "newzealandnorth", "northcentralus", "northeurope", "norwayeast", "norwaywest", "polandcentral",
    "qatarcentral", "southafricanorth", "southafricawest", "southcentralus", "southcentralusstg",
    "southeastasia", "southindia", "spaincentral", "swedencentral", "swedensouth", "switzerlandnorth",
    "switzerlandwest", "taiwannorth", "taiwannorthwest", "uaecentral", "uaenorth", "uksouth", "ukwest",
    "westcentralus", "westeurope", "westindia", "westus", "westus2", "westus3",
})
CHINA_REGIONS = frozenset({"chinaeast", "chinaeast2", "chinaeast3", "chinanorth", "chinanorth2", "chinanorth3"})
US_GOVERNMENT_REGIONS = frozenset({"usdodcentral", "usdodeast", "usgovarizona", "usgoviowa", "usgovtexas",
                                   "usgovvirginia"})
CLOUD_REGIONS = {
    "AzureCloud": PUBLIC_REGIONS,
    "AzureChinaCloud": CHINA_REGIONS,
    "AzureUSGovernment": US_GOVERNMENT_REGIONS,
}
# Target regions of one image version: each at most once, so never more than a cloud has; this bounds a
# request before its regions are looked up one by one.
MAX_TARGET_REGIONS = 100


def check_known(name: str, known: frozenset[str]) -> str:
    """``name`` (already normalised) if it is a region of the cloud; ValueError with the nearest one if not."""
    if name in known:
        return name
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    if close:
        raise ValueError(f"unknown region '{name}'; did you mean '{close[0]}'?")
    raise ValueError(f"unknown region '{name}' in this cloud; check the spelling (az account list-locations), "
                     "or add it to EXTRA_REGIONS if it is new")
