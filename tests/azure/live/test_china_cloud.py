"""Azure China end to end: the simulator as an AzureChinaCloud world (chinaeast2, chinanorth3), the app
with AZURE_CLOUD=AzureChinaCloud, a CMK image version built from the queue to Succeeded."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ClientAuthenticationError

from core.azure.arm import Arm
from core.azure.clouds import CLOUDS
from core.azure.settings import Settings
from core.request import parse_request
from core.request.encryption import to_body
from devstack.azurite import PROJECT_ROOT
from tests.support.live_app import App, example

CHINA = "china-cli-managed-image.json"
SUB = "11111111-2222-3333-4444-000000000086"
DES = f"/subscriptions/{SUB}/resourceGroups/ImagesChina/providers/Microsoft.Compute/diskEncryptionSets/"


@pytest.fixture
def stack_options() -> dict[str, Any]:
    return {"world": PROJECT_ROOT / "simulator" / "worlds" / "china.json"}


pytestmark = pytest.mark.app_settings(AZURE_CLOUD="AzureChinaCloud")


def test_a_cmk_version_is_built_in_azure_china(app: App):
    """Two China regions, each disk with its region's DES; every token was for China's ARM audience."""
    build_id = app.put_request(example(CHINA))
    app.run_worker()

    state = app.state(build_id)
    assert str(state.status) == "Succeeded", state.problems or state.error
    assert {region: info["state"] for region, info in state.regions.items()} == {
        "chinaeast2": "Completed",
        "chinanorth3": "Completed",
    }
    [put] = app.puts()
    assert put.json["tags"] == {"imageBuilder.buildId": build_id}
    assert {**put.json, "tags": {}} == to_body(parse_request(example(CHINA), known_regions=CLOUDS["AzureChinaCloud"].regions))
    east, north = put.json["properties"]["publishingProfile"]["targetRegions"]
    assert (east["name"], north["name"]) == ("chinaeast2", "chinanorth3")
    assert east["encryption"]["osDiskImage"]["diskEncryptionSetId"] == DES + "ChinaEast2DES"
    assert north["encryption"]["dataDiskImages"] == [{"lun": 0, "diskEncryptionSetId": DES + "ChinaNorth3DES"}]
    assert all(r.status != 401 for r in app.sim.requests)


def test_a_public_cloud_token_is_refused_by_azure_china_arm(app: App):
    """Without AZURE_CLOUD the app asks for a public-cloud token, which China's ARM refuses (401)."""
    public = {k: v for k, v in app.env.items() if k != "AZURE_CLOUD"}
    arm = Arm(Settings.from_env(public), SUB)
    with pytest.raises(ClientAuthenticationError) as refused:
        arm.compute.galleries.get("ImagesChina", "ChinaGallery")
    assert "InvalidAuthenticationTokenAudience" in str(refused.value)
    china = Arm(Settings.from_env(app.env), SUB)
    assert china.compute.galleries.get("ImagesChina", "ChinaGallery").name == "ChinaGallery"
