"""Routes an authenticated ARM request to its handler, and turns :class:`ArmError` into the answer."""

from __future__ import annotations

import time
from collections.abc import Callable

from . import authorization_api, compute_api, errors, keyvault_api, resources_api, vm_api
from .errors import ArmError
from .http_types import Request, Response
from .identity import TokenIssuer
from .settings import Settings
from .world import World


class ArmService:
    """What ARM answers, as a function of (request, world, time)."""

    def __init__(
        self, world: World, settings: Settings, issuer: TokenIssuer, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.world = world
        self.settings = settings
        self.issuer = issuer
        self.clock = clock

    def handle(self, request: Request) -> Response:
        try:
            caller = self.issuer.authenticate(request.headers.get("authorization"))
            query = {k.lower(): v for k, v in request.query.items()}
            if not query.get("api-version"):
                raise errors.missing_api_version()
            with self.world.lock:
                now = self.clock()
                self.world.advance(now)
                try:
                    return self._route(request.method.upper(), request.path, query, request.body, now)
                except errors.Forbidden as refused:
                    raise errors.authorization_failed(caller.client_id, caller.object_id, refused.action,
                                                      refused.scope) from None
        except ArmError as error:
            return Response(error.status, error.body(), dict(error.headers))

    def _route(self, method: str, path: str, query: dict[str, str], body: object, now: float) -> Response:
        if authorization_api.is_authorization_path(path):
            return authorization_api.handle(self.world, method, path, query)
        segments = [s for s in path.split("/") if s]
        lowered = [s.lower() for s in segments]
        if lowered == ["subscriptions"]:
            return self._get_only(method, lambda: resources_api.list_subscriptions(self.world))
        if len(segments) < 2 or lowered[0] != "subscriptions":
            raise ArmError(
                404, "InvalidRequestUri", f"The request URI '{path}' is not a valid Azure Resource Manager URI."
            )
        sub_id = segments[1]
        sub = self.world.subscription(sub_id)
        if sub is None:
            raise errors.subscription_not_found(sub_id)
        sub_id = sub["subscriptionId"]
        rest, lrest = segments[2:], lowered[2:]
        if not rest:
            return self._get_only(method, lambda: resources_api.subscription(self.world, sub))
        if lrest[0] == "resourcegroups":
            return self._resource_group_route(method, sub_id, rest[1:], query, body, now)
        if lrest[0] == "providers":
            return self._subscription_provider_route(method, sub_id, rest[1:], query, now)
        raise ArmError(404, "InvalidRequestUri", f"The request URI '{path}' is not a valid Azure Resource Manager URI.")

    def _get_only(self, method: str, answer: Callable[[], Response]) -> Response:
        if method != "GET":
            raise errors.method_not_allowed(method)
        return answer()

    def _resource_group_route(
        self, method: str, sub_id: str, rest: list[str], query: dict[str, str], body: object, now: float
    ) -> Response:
        if not rest:
            return self._get_only(method, lambda: resources_api.list_resource_groups(self.world, sub_id))
        rg_name = rest[0]
        if self.world.resource_group(sub_id, rg_name) is None:
            raise errors.resource_group_not_found(rg_name)
        if len(rest) == 1:
            return self._get_only(method, lambda: resources_api.resource_group(self.world, sub_id, rg_name))
        if rest[1].lower() != "providers" or len(rest) < 4:
            raise ArmError(404, "InvalidRequestUri", "The request URI is not a valid Azure Resource Manager URI.")
        namespace = rest[2]
        if namespace.lower() == "microsoft.network" and len(rest) == 5 and rest[3].lower() == "networkinterfaces":
            return vm_api.handle_nic(self.world, method, sub_id, rg_name, rest[4], body)
        if namespace.lower() == "microsoft.keyvault":
            return keyvault_api.handle(self.world, method, sub_id, rg_name, rest[3:], query)
        if namespace.lower() != "microsoft.compute":
            self._unknown_namespace_or_type(sub_id, namespace, rest[3], query)
        return compute_api.handle_rg_resource(
            self.world, self.settings, method, sub_id, rg_name, rest[3:], query, body, now
        )

    def _unknown_namespace_or_type(
        self, sub_id: str, namespace: str, resource_type: str, query: dict[str, str]
    ) -> None:
        known = self.world.data.providers.get(sub_id.lower(), {})
        if namespace.lower() in known:
            raise errors.invalid_resource_type(resource_type, namespace, query.get("api-version", ""))
        raise errors.invalid_resource_namespace(namespace)

    def _subscription_provider_route(
        self, method: str, sub_id: str, rest: list[str], query: dict[str, str], now: float
    ) -> Response:
        world, settings = self.world, self.settings
        if not rest:
            return self._get_only(method, lambda: resources_api.list_providers(world, sub_id))
        namespace, lrest = rest[0], [s.lower() for s in rest]
        if lrest[0] == "microsoft.features" and len(rest) > 1:
            return self._features_route(method, sub_id, rest[1:], query, now)
        if len(rest) == 1:
            return self._get_only(method, lambda: resources_api.provider(world, sub_id, namespace))
        if len(rest) == 2 and lrest[1] in ("register", "unregister"):
            if method != "POST":
                raise errors.method_not_allowed(method)
            action = resources_api.register_provider if lrest[1] == "register" else resources_api.unregister_provider
            return action(world, settings, sub_id, namespace, now)
        if lrest[0] == "microsoft.compute":
            return compute_api.handle_subscription_resource(world, method, sub_id, rest[1:], query, now, settings)
        self._unknown_namespace_or_type(sub_id, namespace, rest[1], query)
        raise AssertionError("unreachable")

    def _features_route(self, method: str, sub_id: str, rest: list[str], query: dict[str, str], now: float) -> Response:
        world, settings = self.world, self.settings
        lrest = [s.lower() for s in rest]
        if lrest == ["features"]:
            return self._get_only(method, lambda: resources_api.list_all_features(world, sub_id))
        if len(rest) >= 3 and lrest[0] == "providers" and lrest[2] == "features":
            namespace = rest[1]
            if len(rest) == 3:
                return self._get_only(method, lambda: resources_api.list_features(world, sub_id, namespace))
            name = rest[3]
            if len(rest) == 4:
                return self._get_only(method, lambda: resources_api.feature(world, sub_id, namespace, name))
            if len(rest) == 5 and lrest[4] in ("register", "unregister"):
                if method != "POST":
                    raise errors.method_not_allowed(method)
                action = resources_api.register_feature if lrest[4] == "register" else resources_api.unregister_feature
                return action(world, settings, sub_id, namespace, name, now)
        raise errors.invalid_resource_type("/".join(rest), "Microsoft.Features", query.get("api-version", ""))
