"""Fixtures: one seed-world simulator per session, and the real SDK clients pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.features import FeatureClient
from azure.mgmt.resource.resources import ResourceManagementClient

from simulator import Simulator

from .helpers import SEED, SUB, SimulatorCredential, client_kwargs
from .worlds import MAIN_SUB, rich_world

CREDENTIAL_ENV_PREFIXES = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_", "ARM_")


@pytest.fixture(scope="session")
def sim() -> Iterator[Simulator]:
    with Simulator(
        SEED, replication_seconds=0.6, feature_registration_seconds=0.3, provider_registration_seconds=0.3
    ) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").clear_faults()


@pytest.fixture
def arm_env(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A clean credential environment plus the simulator's four variables."""
    for name in list(os.environ):
        if name.startswith(CREDENTIAL_ENV_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in sim.env().items():
        monkeypatch.setenv(name, value)
    return sim.env()


@pytest.fixture
def credential(arm_env: dict[str, str]) -> DefaultAzureCredential:
    return DefaultAzureCredential()


@pytest.fixture
def compute(sim: Simulator, credential: DefaultAzureCredential) -> ComputeManagementClient:
    return ComputeManagementClient(credential, SUB, **client_kwargs(sim))


@pytest.fixture
def features(sim: Simulator, credential: DefaultAzureCredential) -> FeatureClient:
    return FeatureClient(credential, SUB, **client_kwargs(sim))


@pytest.fixture
def resources(sim: Simulator, credential: DefaultAzureCredential) -> ResourceManagementClient:
    return ResourceManagementClient(credential, SUB, **client_kwargs(sim))


@pytest.fixture(scope="session")
def rich() -> Iterator[Simulator]:
    """A second simulator on :func:`rich_world` (two subscriptions, every resource kind)."""
    with Simulator(rich_world(), replication_seconds=0.5) as simulator:
        yield simulator


@pytest.fixture
def rich_compute(rich: Simulator) -> ComputeManagementClient:
    return ComputeManagementClient(SimulatorCredential(rich), MAIN_SUB, **client_kwargs(rich))
