"""Constants and body builders shared by the simulator tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from azure.core.credentials import AccessToken

from simulator import Simulator

SEED = Path(__file__).resolve().parents[2] / "simulator" / "worlds" / "seed.json"
SUB = "00000000-0000-0000-0000-000000000000"
RG = "MyResourceGroup"
COMPUTE = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute"
MYRG = f"/subscriptions/{SUB}/resourceGroups/myRG/providers/Microsoft.Compute"
SCOPE = "https://management.azure.com/.default"


def client_kwargs(sim: Simulator) -> dict[str, Any]:
    return {"base_url": sim.endpoint, "credential_scopes": [SCOPE], "connection_verify": sim.ca_file}


def des(name: str, rg_prefix: str = COMPUTE) -> str:
    return f"{rg_prefix}/diskEncryptionSets/{name}"


def region(name: str, os_des: str | None = None, data: dict[int, str] | None = None, **extra: Any) -> dict[str, Any]:
    """A target region in the REST shape, with optional OS and per-LUN DES names."""
    entry: dict[str, Any] = {"name": name, **extra}
    encryption: dict[str, Any] = {}
    if os_des:
        encryption["osDiskImage"] = {"diskEncryptionSetId": des(os_des)}
    if data:
        encryption["dataDiskImages"] = [{"lun": lun, "diskEncryptionSetId": des(n)} for lun, n in data.items()]
    if encryption:
        entry["encryption"] = encryption
    return entry


def version_body(
    targets: list[dict[str, Any]], source: dict[str, Any] | None = None, location: str = "westus"
) -> dict[str, Any]:
    """A PUT body from the seed's managed image (OS disk + data disk at LUN 0) unless ``source`` is given."""
    storage = source if source is not None else {"source": {"id": f"{COMPUTE}/images/myImage"}}
    return {
        "location": location,
        "properties": {"storageProfile": storage, "publishingProfile": {"targetRegions": targets}},
    }


SEED_TARGETS = [
    region("westus", "WestUSDiskEncryptionSet1", {0: "WestUSDiskEncryptionSet2"}, regionalReplicaCount=2),
    region("East US 2", "EastUS2DiskEncryptionSet1", {0: "EastUS2DiskEncryptionSet2"}),
]


def raw(
    sim: Simulator,
    method: str,
    path: str,
    *,
    token: str | None = None,
    api_version: str | None = "2026-03-03",
    **kwargs: Any,
) -> requests.Response:
    """One plain HTTPS request to the simulator (no SDK, no retries)."""
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    params = dict(kwargs.pop("params", {}))
    if api_version:
        params["api-version"] = api_version
    return requests.request(
        method, sim.endpoint + path, headers=headers, params=params, verify=sim.ca_file, timeout=10, **kwargs
    )


def token(sim: Simulator, resource: str = "https://management.azure.com") -> str:
    """A token from the simulator's managed-identity endpoint, fetched over plain HTTP as App Service's."""
    answer = requests.get(
        sim.identity_endpoint,
        params={"api-version": "2019-08-01", "resource": resource},
        headers={"X-IDENTITY-HEADER": sim.identity_header},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


class SimulatorCredential:
    """Fetches tokens straight from one simulator's identity endpoint (for a second simulator in a test,
    where DefaultAzureCredential's process-wide managed-identity cache would hand out the first one's)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        answer = requests.get(
            self.sim.identity_endpoint,
            params={"api-version": "2019-08-01", "resource": scopes[0].removesuffix("/.default")},
            headers={"X-IDENTITY-HEADER": self.sim.identity_header},
            timeout=10,
        )
        answer.raise_for_status()
        body = answer.json()
        return AccessToken(body["access_token"], int(body["expires_on"]))
