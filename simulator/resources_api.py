"""ARM's own surface: subscriptions, resource groups, resource providers and preview features."""

from __future__ import annotations

from typing import Any

from . import errors, regions
from .errors import ArmError
from .http_types import Response
from .settings import Settings
from .world import World

COMPUTE_TYPES = (
    "galleries",
    "galleries/images",
    "galleries/images/versions",
    "images",
    "virtualMachines",
    "snapshots",
    "disks",
    "diskEncryptionSets",
    "locations/capsOperations",
)
API_VERSIONS = ["2026-03-03", "2025-04-01", "2025-03-03", "2024-03-03", "2024-03-01"]


def subscription(world: World, sub: dict[str, Any]) -> Response:
    return Response(200, {k: v for k, v in sub.items()})


def list_subscriptions(world: World) -> Response:
    """``GET /subscriptions``: every subscription of the world (what ``az login`` lists)."""
    return Response(200, {"value": [dict(sub) for sub in world.data.subscriptions.values()]})


def list_resource_groups(world: World, sub_id: str) -> Response:
    return Response(200, {"value": world.resource_groups(sub_id)})


def resource_group(world: World, sub_id: str, name: str) -> Response:
    rg = world.resource_group(sub_id, name)
    if rg is None:
        raise errors.resource_group_not_found(name)
    return Response(200, rg)


# --- providers -------------------------------------------------------------------------------------------
def _provider_body(sub_id: str, provider: dict[str, str], cloud: str) -> dict[str, Any]:
    namespace = provider["namespace"]
    body: dict[str, Any] = {
        "id": f"/subscriptions/{sub_id}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": provider["state"],
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [],
    }
    if namespace.lower() == "microsoft.compute":
        locations = sorted(regions.display_name(r) for r in regions.CLOUD_REGIONS[cloud])
        body["resourceTypes"] = [
            {"resourceType": t, "locations": locations, "apiVersions": API_VERSIONS} for t in COMPUTE_TYPES
        ]
    return body


def _provider(world: World, sub_id: str, namespace: str) -> dict[str, str]:
    provider = world.data.providers.get(sub_id.lower(), {}).get(namespace.lower())
    if provider is None:
        raise errors.invalid_resource_namespace(namespace)
    return provider


def list_providers(world: World, sub_id: str) -> Response:
    providers = world.data.providers.get(sub_id.lower(), {}).values()
    return Response(200, {"value": [_provider_body(sub_id, p, world.data.cloud) for p in providers]})


def provider(world: World, sub_id: str, namespace: str) -> Response:
    return Response(200, _provider_body(sub_id, _provider(world, sub_id, namespace), world.data.cloud))


def register_provider(world: World, settings: Settings, sub_id: str, namespace: str, now: float) -> Response:
    """NotRegistered/Unregistered -> Registering -> Registered after ``provider_registration_seconds``."""
    found = _provider(world, sub_id, namespace)
    if found["state"] in ("NotRegistered", "Unregistered", "Unregistering"):
        found["state"] = "Registering"
        world.schedule_provider(
            sub_id.lower(), namespace.lower(), "Registered", now + settings.provider_registration_seconds
        )
    return Response(200, _provider_body(sub_id, found, world.data.cloud))


def unregister_provider(world: World, settings: Settings, sub_id: str, namespace: str, now: float) -> Response:
    found = _provider(world, sub_id, namespace)
    if found["state"] in ("Registered", "Registering"):
        found["state"] = "Unregistering"
        world.schedule_provider(
            sub_id.lower(), namespace.lower(), "Unregistered", now + settings.provider_registration_seconds
        )
    return Response(200, _provider_body(sub_id, found, world.data.cloud))


# --- features --------------------------------------------------------------------------------------------
def _feature_body(sub_id: str, feature: dict[str, str]) -> dict[str, Any]:
    namespace, name = feature["namespace"], feature["name"]
    return {
        "properties": {"state": feature["state"]},
        "id": f"/subscriptions/{sub_id}/providers/Microsoft.Features/providers/{namespace}/features/{name}",
        "type": "Microsoft.Features/providers/features",
        "name": f"{namespace}/{name}",
    }


def _feature(world: World, sub_id: str, namespace: str, name: str) -> dict[str, str]:
    feature = world.data.features.get(sub_id.lower(), {}).get(f"{namespace}/{name}".lower())
    if feature is None:
        raise ArmError(404, "FeatureNotFound", f"The feature '{name}' could not be found.")
    return feature


def list_all_features(world: World, sub_id: str) -> Response:
    features = world.data.features.get(sub_id.lower(), {}).values()
    return Response(200, {"value": [_feature_body(sub_id, f) for f in features]})


def list_features(world: World, sub_id: str, namespace: str) -> Response:
    features = world.data.features.get(sub_id.lower(), {}).values()
    wanted = [f for f in features if f["namespace"].lower() == namespace.lower()]
    return Response(200, {"value": [_feature_body(sub_id, f) for f in wanted]})


def feature(world: World, sub_id: str, namespace: str, name: str) -> Response:
    return Response(200, _feature_body(sub_id, _feature(world, sub_id, namespace, name)))


def register_feature(world: World, settings: Settings, sub_id: str, namespace: str, name: str, now: float) -> Response:
    """NotRegistered/Unregistered -> Registering -> Registered after ``feature_registration_seconds``."""
    found = _feature(world, sub_id, namespace, name)
    if found["state"] in ("NotRegistered", "Unregistered", "Unregistering", "Pending"):
        found["state"] = "Registering"
        world.schedule_feature(
            sub_id.lower(), f"{namespace}/{name}".lower(), "Registered", now + settings.feature_registration_seconds
        )
    return Response(200, _feature_body(sub_id, found))


def unregister_feature(
    world: World, settings: Settings, sub_id: str, namespace: str, name: str, now: float
) -> Response:
    found = _feature(world, sub_id, namespace, name)
    if found["state"] in ("Registered", "Registering"):
        found["state"] = "Unregistering"
        world.schedule_feature(
            sub_id.lower(), f"{namespace}/{name}".lower(), "Unregistered", now + settings.feature_registration_seconds
        )
    return Response(200, _feature_body(sub_id, found))
