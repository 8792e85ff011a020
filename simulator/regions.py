"""Azure region names: the programmatic name (``eastus2``) and the display name (``East US 2``).

ARM accepts either spelling in request bodies and answers with the display name in
``targetRegions[].name`` and ``replicationStatus.summary[].region``.
"""

from __future__ import annotations

DISPLAY_NAMES: dict[str, str] = {
    "australiacentral": "Australia Central",
    "australiaeast": "Australia East",
    "australiasoutheast": "Australia Southeast",
    "brazilsouth": "Brazil South",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "centralindia": "Central India",
    "centralus": "Central US",
    "eastasia": "East Asia",
    "eastus": "East US",
    "eastus2": "East US 2",
    "francecentral": "France Central",
    "germanywestcentral": "Germany West Central",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
    "koreacentral": "Korea Central",
    "northcentralus": "North Central US",
    "northeurope": "North Europe",
    "norwayeast": "Norway East",
    "southafricanorth": "South Africa North",
    "southcentralus": "South Central US",
    "southeastasia": "Southeast Asia",
    "swedencentral": "Sweden Central",
    "switzerlandnorth": "Switzerland North",
    "uaenorth": "UAE North",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "westcentralus": "West Central US",
    "westeurope": "West Europe",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    # Azure China (21Vianet)
    "chinaeast": "China East",
    "chinaeast2": "China East 2",
    "chinaeast3": "China East 3",
    "chinanorth": "China North",
    "chinanorth2": "China North 2",
    "chinanorth3": "China North 3",
    # Azure US Government
    "usgovarizona": "USGov Arizona",
    "usgovtexas": "USGov Texas",
    "usgovvirginia": "USGov Virginia",
    "usdodcentral": "USDoD Central",
    "usdodeast": "USDoD East",
}

_SOVEREIGN_PREFIXES = {"AzureChinaCloud": ("china",), "AzureUSGovernment": ("usgov", "usdod")}
# Region names per cloud (a world's `cloud` picks one): the public cloud holds every name not sovereign.
CLOUD_REGIONS: dict[str, frozenset[str]] = {
    cloud: frozenset(r for r in DISPLAY_NAMES if r.startswith(prefixes))
    for cloud, prefixes in _SOVEREIGN_PREFIXES.items()
}
CLOUD_REGIONS["AzureCloud"] = frozenset(DISPLAY_NAMES).difference(*CLOUD_REGIONS.values())


def normalize(region: str) -> str:
    """``"East US 2"``, ``"eastus2"`` and ``"EASTUS2"`` all become ``"eastus2"``."""
    return "".join(region.split()).lower()


def display_name(region: str) -> str:
    """The display name ARM answers with; an unknown region keeps its normalised name."""
    name = normalize(region)
    return DISPLAY_NAMES.get(name, name)


def is_known(region: str, cloud: str = "AzureCloud") -> bool:
    """Whether `region` is a region of `cloud` (a name of CLOUD_REGIONS)."""
    return normalize(region) in CLOUD_REGIONS[cloud]
