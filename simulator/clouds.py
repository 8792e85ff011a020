"""The clouds a world can be in: each one's regions (``regions.CLOUD_REGIONS``) and ARM token audiences.

ARM accepts a token for its own cloud only: Azure China's ARM refuses a token for
``https://management.azure.com``, as the public cloud's refuses one for ``https://management.chinacloudapi.cn``.
"""

from __future__ import annotations

ARM_AUDIENCES: dict[str, tuple[str, ...]] = {
    "AzureCloud": (
        "https://management.core.windows.net/",
        "https://management.core.windows.net",
        "https://management.azure.com/",
        "https://management.azure.com",
    ),
    "AzureChinaCloud": (
        "https://management.core.chinacloudapi.cn/",
        "https://management.core.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/",
        "https://management.chinacloudapi.cn",
    ),
    "AzureUSGovernment": (
        "https://management.core.usgovcloudapi.net/",
        "https://management.core.usgovcloudapi.net",
        "https://management.usgovcloudapi.net/",
        "https://management.usgovcloudapi.net",
    ),
}
CLOUDS = tuple(ARM_AUDIENCES)
