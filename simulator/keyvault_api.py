"""Key Vault's management plane as ARM serves it (REST spec Microsoft.KeyVault stable 2023-07-01): reads of
vaults, keys and key versions under ``/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.KeyVault``.

No data plane: what a key holds is never served, only its ARM resource (attributes, kty, keySize, keyOps).
A vault the world marks ``appCanRead: false`` answers every read under it with 403 ``AuthorizationFailed``.
"""

from __future__ import annotations

from . import errors, ids
from .errors import Forbidden
from .http_types import Response
from .world import World
from .world_keys import KEYVAULT

# (type segments) -> the RBAC action a GET of one resource / of the list needs
_READ_ACTIONS = {
    ("vaults",): "Microsoft.KeyVault/vaults/read",
    ("vaults", "keys"): "Microsoft.KeyVault/vaults/keys/read",
    ("vaults", "keys", "versions"): "Microsoft.KeyVault/vaults/keys/versions/read",
}


def denied(world: World, resource_id: str) -> bool:
    """Whether the app's reads at ``resource_id`` are refused (it is under a vault with ``appCanRead: false``)."""
    key = ids.key(resource_id)
    return any(key == scope or key.startswith(scope + "/") for scope in world.data.app_denied_scopes)


def handle(world: World, method: str, sub_id: str, rg_name: str, rest: list[str], query: dict[str, str]) -> Response:
    """``rest``: the segments after ``providers/Microsoft.KeyVault``: ``vaults/<v>[/keys[/<k>[/versions[/<ver>]]]]``."""
    types, names = tuple(t.lower() for t in rest[0::2]), rest[1::2]
    if types not in _READ_ACTIONS:
        raise errors.invalid_resource_type("/".join(rest[0::2]), KEYVAULT, query.get("api-version", ""))
    if method != "GET":
        raise errors.method_not_allowed(method)
    canonical = ("vaults", "keys", "versions")[: len(types)]
    base = ids.resource_group_id(sub_id, rg_name) + f"/providers/{KEYVAULT}"
    path = base + "".join(f"/{t}/{n}" for t, n in zip(canonical, names, strict=False))
    if len(names) < len(types):  # a list: .../vaults/v/keys or .../keys/k/versions
        scope = path
        if denied(world, scope):
            raise Forbidden(_READ_ACTIONS[types], scope)
        _check_parents(world, base, canonical, names, rg_name)
        return Response(200, {"value": world.children(path, f"{KEYVAULT}/{'/'.join(canonical)}")})
    if denied(world, path):
        raise Forbidden(_READ_ACTIONS[types], path)
    _check_parents(world, base, canonical, names, rg_name)
    found = world.get(path)
    if found is None:
        type_path = f"{KEYVAULT}/" + "/".join(f"{t}/{n}" for t, n in zip(canonical, names, strict=False))
        raise errors.resource_not_found(type_path, rg_name)
    return Response(200, found)


def _check_parents(world: World, base: str, types: tuple[str, ...], names: list[str], rg_name: str) -> None:
    for depth in range(1, len(names)):
        parent = base + "".join(f"/{t}/{n}" for t, n in zip(types[:depth], names[:depth], strict=True))
        if world.get(parent) is None:
            type_path = f"{KEYVAULT}/" + "/".join(f"{t}/{n}" for t, n in zip(types[:depth], names[:depth], strict=True))
            raise errors.resource_not_found(type_path, rg_name)
