"""Cloud profiles: AZURE_CLOUD picks ARM's endpoint and audience, the sign-in authority and storage hosts."""

from __future__ import annotations

import pytest

from core.azure.clouds import CLOUDS, cloud_named
from core.azure.settings import Settings, SettingsError
from core.azure.storage import queue_service, table_service


@pytest.mark.parametrize(
    ("cloud", "endpoint", "authority", "suffix"),
    [
        ("AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com", "core.windows.net"),
        ("AzureChinaCloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn",
         "core.chinacloudapi.cn"),
        ("AzureUSGovernment", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us",
         "core.usgovcloudapi.net"),
    ],
)  # fmt: skip
def test_each_cloud_gives_its_endpoints(cloud: str, endpoint: str, authority: str, suffix: str):
    settings = Settings.from_env({"AZURE_CLOUD": cloud})
    assert settings.cloud.name == cloud
    assert settings.arm_endpoint == endpoint
    assert settings.arm_scope == endpoint + "/.default"
    assert settings.cloud.authority == authority
    env = {"AZURE_CLOUD": cloud, "AzureWebJobsStorage__accountName": "acct"}
    assert queue_service(env).url.startswith(f"https://acct.queue.{suffix}")
    assert table_service(env).url.startswith(f"https://acct.table.{suffix}")


def test_a_simulator_endpoint_keeps_the_clouds_audience():
    settings = Settings.from_env({"AZURE_CLOUD": "AzureChinaCloud", "ARM_ENDPOINT": "https://127.0.0.1:4443"})
    assert settings.arm_endpoint == "https://127.0.0.1:4443"
    assert settings.arm_scope == "https://management.chinacloudapi.cn/.default"


def test_the_default_is_the_public_cloud_and_names_are_case_insensitive():
    assert Settings.from_env({}).cloud is CLOUDS["AzureCloud"]
    assert cloud_named("azurechinacloud") is CLOUDS["AzureChinaCloud"]


def test_an_unknown_cloud_is_an_error_naming_the_setting_and_the_choices():
    with pytest.raises(SettingsError, match="AZURE_CLOUD: 'AzureGermanCloud' is not a known cloud; use one of "
                                            "AzureCloud, AzureChinaCloud, AzureUSGovernment"):  # fmt: skip
        Settings.from_env({"AZURE_CLOUD": "AzureGermanCloud"})
    with pytest.raises(SettingsError, match="AZURE_CLOUD"):
        queue_service({"AZURE_CLOUD": "Mars", "AzureWebJobsStorage__accountName": "acct"})


def test_regions_belong_to_one_cloud_each():
    china, gov, public = (CLOUDS[n].regions for n in ("AzureChinaCloud", "AzureUSGovernment", "AzureCloud"))
    assert {"chinaeast2", "chinanorth3"} <= china
    assert "usgovvirginia" in gov and "eastus2" in public
    assert not (china & public) and not (gov & public) and not (china & gov)
