"""Microsoft.Authorization reads as ARM serves them (REST spec 2022-04-01): role assignments listed at any
scope, role definitions got by ID.

- ``GET <scope>/providers/Microsoft.Authorization/roleAssignments[?$filter=...]``: with no filter, the
  assignments at, above and below the scope; ``atScope()``: at and above; ``principalId eq '<id>'`` or
  ``assignedTo('<id>')``: at, above and below, for that principal only.
- ``GET [/subscriptions/<s>]/providers/Microsoft.Authorization/roleDefinitions/<guid>``: a built-in role or a
  custom one of the subscription; 404 ``RoleDefinitionDoesNotExist``.

Scopes under a vault the world marks ``appCanRead: false`` answer 403 ``AuthorizationFailed``.
"""

from __future__ import annotations

import re

from . import errors
from .errors import ArmError, Forbidden
from .http_types import Response
from .keyvault_api import denied
from .world import World

PROVIDER = "/providers/microsoft.authorization/"
_PRINCIPAL = re.compile(r"^\s*(?:principalId\s+eq\s+'(?P<eq>[^']*)'|assignedTo\('(?P<to>[^']*)'\))\s*$", re.I)
_AT_SCOPE = re.compile(r"^\s*atScope\(\)\s*$", re.I)


def is_authorization_path(path: str) -> bool:
    return PROVIDER in path.lower() + "/"


def handle(world: World, method: str, path: str, query: dict[str, str]) -> Response:
    lowered = path.lower()
    at = lowered.index(PROVIDER.rstrip("/"))
    scope, tail = path[:at].rstrip("/"), [s for s in path[at + len(PROVIDER) - 1:].split("/") if s]
    if method != "GET":
        raise errors.method_not_allowed(method)
    kind = tail[0].lower() if tail else ""
    if kind == "roleassignments" and len(tail) == 1:
        return _list_assignments(world, scope or "/", query.get("$filter"))
    if kind == "roledefinitions" and len(tail) == 2:
        return _role_definition(world, scope, tail[1])
    raise errors.invalid_resource_type("/".join(tail), "Microsoft.Authorization", query.get("api-version", ""))


def _segments(scope: str) -> list[str]:
    return [s for s in scope.lower().split("/") if s]


def _relation(assigned: str, scope: str) -> str:
    """"above" (or at), "below", or "apart": where an assignment's scope lies from the asked scope."""
    outer, inner = _segments(assigned), _segments(scope)
    if inner[: len(outer)] == outer:
        return "above"
    if outer[: len(inner)] == inner:
        return "below"
    return "apart"


def _list_assignments(world: World, scope: str, filter_text: str | None) -> Response:
    if denied(world, scope):
        raise Forbidden("Microsoft.Authorization/roleAssignments/read", scope)
    principal, at_scope = None, False
    if filter_text:
        match = _PRINCIPAL.match(filter_text)
        at_scope = bool(_AT_SCOPE.match(filter_text))
        if match is None and not at_scope:
            raise ArmError(400, "InvalidFilterInQueryString",
                           f"The filter '{filter_text}' is not supported. Supported filters are atScope(), "
                           "principalId eq '{value}' and assignedTo('{value}').")  # simulator wording
        if match is not None:
            principal = (match["eq"] or match["to"] or "").lower()
    found = []
    for item in world.data.role_assignments:
        relation = _relation(item["properties"]["scope"], scope)
        if relation == "apart" or (at_scope and relation != "above"):
            continue
        if principal is not None and item["properties"]["principalId"].lower() != principal:
            continue
        found.append(item)
    return Response(200, {"value": found})


def _role_definition(world: World, scope: str, guid: str) -> Response:
    parts = _segments(scope)
    subscriptions = [parts[1]] if len(parts) >= 2 and parts[0] == "subscriptions" else list(world.data.role_definitions)
    for sub in subscriptions:
        body = world.data.role_definitions.get(sub, {}).get(guid.lower())
        if body is not None:
            return Response(200, body)
    raise ArmError(404, "RoleDefinitionDoesNotExist", f"The specified role definition with ID '{guid}' does not exist.")
