"""Preview features (FeatureClient) and resource providers (ResourceManagementClient.providers)."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import ResourceNotFoundError

from simulator import Simulator

from .helpers import SEED, SUB, SimulatorCredential, client_kwargs


def wait_for(read, wanted: str, timeout: float = 5.0) -> list[str]:
    """Read a state until it is ``wanted``; return every state seen."""
    seen = [read()]
    deadline = time.monotonic() + timeout
    while seen[-1] != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        seen.append(read())
    return seen


@pytest.fixture
def own_sim():
    """Registration changes state: a fresh seed simulator per test keeps tests independent."""
    with Simulator(SEED, feature_registration_seconds=0.8, provider_registration_seconds=0.2) as simulator:
        yield simulator


def test_feature_register_goes_registering_then_registered(own_sim):
    from azure.mgmt.resource.features import FeatureClient

    client = FeatureClient(SimulatorCredential(own_sim), SUB, **client_kwargs(own_sim))
    feature = client.features.get("Microsoft.Compute", "SIGEncryption")
    assert feature.properties.state == "NotRegistered"
    assert feature.name == "Microsoft.Compute/SIGEncryption"
    assert feature.type == "Microsoft.Features/providers/features"
    assert client.features.register("microsoft.compute", "sigencryption").properties.state == "Registering"
    seen = wait_for(lambda: client.features.get("Microsoft.Compute", "SIGEncryption").properties.state, "Registered")
    assert seen[0] == "Registering" and seen[-1] == "Registered"
    assert client.features.register("Microsoft.Compute", "SIGEncryption").properties.state == "Registered"


def test_feature_registration_takes_the_configured_time(own_sim):
    from azure.mgmt.resource.features import FeatureClient

    client = FeatureClient(SimulatorCredential(own_sim), SUB, **client_kwargs(own_sim))
    client.features.register("Microsoft.Compute", "SIGEncryption")
    started = time.monotonic()
    wait_for(lambda: client.features.get("Microsoft.Compute", "SIGEncryption").properties.state, "Registered")
    assert time.monotonic() - started >= 0.6


def test_unknown_feature_is_404_feature_not_found(features):
    with pytest.raises(ResourceNotFoundError) as caught:
        features.features.get("Microsoft.Compute", "NoSuchPreview")
    assert caught.value.error.code == "FeatureNotFound"
    assert caught.value.error.message == "The feature 'NoSuchPreview' could not be found."


def test_feature_lists(features):
    listed = [f.name for f in features.features.list("Microsoft.Compute")]
    assert listed == ["Microsoft.Compute/SIGEncryption"]
    assert [f.name for f in features.features.list_all()] == listed
    assert list(features.features.list("Microsoft.Network")) == []


def test_provider_register_goes_registering_then_registered():
    from azure.mgmt.resource.resources import ResourceManagementClient

    own_sim_world = {"subscriptions": [{"subscriptionId": SUB, "providers": {"Microsoft.Compute": "NotRegistered"}}]}
    with Simulator(own_sim_world, provider_registration_seconds=0.2) as sim:
        client = ResourceManagementClient(SimulatorCredential(sim), SUB, **client_kwargs(sim))
        assert client.providers.get("Microsoft.Compute").registration_state == "NotRegistered"
        assert client.providers.register("Microsoft.Compute").registration_state == "Registering"
        seen = wait_for(lambda: client.providers.get("Microsoft.Compute").registration_state, "Registered")
        assert seen[-1] == "Registered"
        assert sim.count("POST", "/providers/Microsoft.Compute/register") == 1


def test_provider_shape_and_unknown_namespace(resources):
    provider = resources.providers.get("microsoft.compute")
    assert provider.namespace == "Microsoft.Compute" and provider.registration_state == "Registered"
    assert "galleries/images/versions" in {t.resource_type for t in provider.resource_types}
    assert {p.namespace for p in resources.providers.list()} == {"Microsoft.Compute", "Microsoft.Features"}
    with pytest.raises(ResourceNotFoundError) as caught:
        resources.providers.get("Contoso.Widgets")
    assert caught.value.error.code == "InvalidResourceNamespace"
