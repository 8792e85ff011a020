"""The Azure clouds the app runs in: one profile each, the one place their endpoints and regions live.

`AZURE_CLOUD` (an app setting, the names `az cloud list` uses) picks the profile; `ARM_ENDPOINT` and
`ARM_AUDIENCE` may still override its ARM endpoint and token audience (a simulator, a private endpoint).
Values are those of Azure CLI's `az cloud show` and azure-identity's `AzureAuthorityHosts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.azure.regions import CLOUD_REGIONS


@dataclass(frozen=True)
class CloudProfile:
    """Where one cloud's services live."""

    name: str
    arm_endpoint: str  # an https origin, no trailing slash
    arm_audience: str  # the resource a token for ARM is requested for (scope = audience + "/.default")
    storage_suffix: str  # <account>.<service>.<suffix>
    authority: str  # the Microsoft Entra sign-in host (azure-identity's `authority`)
    regions: frozenset[str]  # programmatic region names (`chinaeast2`): the parser's, core/azure/regions.py

    def storage_host(self, account: str, service: str) -> str:
        """`https://<account>.<service>.<suffix>` for service `blob`, `queue` or `table`."""
        return f"https://{account}.{service}.{self.storage_suffix}"


AZURE_CLOUD = CloudProfile(
    name="AzureCloud",
    arm_endpoint="https://management.azure.com",
    arm_audience="https://management.azure.com",
    storage_suffix="core.windows.net",
    authority="https://login.microsoftonline.com",
    regions=CLOUD_REGIONS["AzureCloud"],
)

AZURE_CHINA_CLOUD = CloudProfile(
    name="AzureChinaCloud",
    arm_endpoint="https://management.chinacloudapi.cn",
    arm_audience="https://management.chinacloudapi.cn",
    storage_suffix="core.chinacloudapi.cn",
    authority="https://login.chinacloudapi.cn",
    regions=CLOUD_REGIONS["AzureChinaCloud"],
)

AZURE_US_GOVERNMENT = CloudProfile(
    name="AzureUSGovernment",
    arm_endpoint="https://management.usgovcloudapi.net",
    arm_audience="https://management.usgovcloudapi.net",
    storage_suffix="core.usgovcloudapi.net",
    authority="https://login.microsoftonline.us",
    regions=CLOUD_REGIONS["AzureUSGovernment"],
)

CLOUDS: dict[str, CloudProfile] = {c.name: c for c in (AZURE_CLOUD, AZURE_CHINA_CLOUD, AZURE_US_GOVERNMENT)}


def cloud_named(name: str) -> CloudProfile:
    """The profile for `name` (case-insensitive, as `az cloud set --name` takes it); ValueError names the choices."""
    for cloud in CLOUDS.values():
        if cloud.name.lower() == name.strip().lower():
            return cloud
    raise ValueError(f"{name!r} is not a known cloud; use one of {', '.join(CLOUDS)}")
