"""The world file: validate it and turn it into the ARM bodies the simulator serves.

The format is documented in ``simulator/README.md``. Every problem is reported with its JSON path and
the fix, all at once, in one :class:`WorldError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import ids
from .clouds import CLOUDS
from .world_keys import add_implied_vaults, read_key_vault, read_role_assignments, read_role_definitions
from .world_reader import FEATURE_STATES, PROVIDER_STATES, LoadedWorld, WorldError, WorldReader, add_resource
from .world_resources import read_disk, read_disk_encryption_set, read_gallery, read_managed_image, read_virtual_machine


def load(world: dict[str, Any] | str | Path) -> LoadedWorld:
    """Validate a world (a dict, or the path of a JSON file) and build its resources."""
    if isinstance(world, (str, Path)):
        path = Path(world)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise WorldError([f"{path}: file not found; pass the path of a world JSON file"]) from exc
        except json.JSONDecodeError as exc:
            raise WorldError([f"{path}: not valid JSON ({exc}); fix the syntax at that line"]) from exc
    else:
        data = world
    reader = WorldReader()
    root = reader.obj(data, "$")
    reader.cloud = reader.exact_choice(root.get("cloud", "AzureCloud"), "$.cloud", CLOUDS)
    loaded = LoadedWorld(cloud=reader.cloud)
    unknown = set(root) - {"subscriptions", "$schema", "description", "cloud"}
    for name in sorted(unknown):
        reader.fail(
            f"$.{name}", "unknown key; the top level holds 'subscriptions' (and optional 'description', 'cloud')"
        )
    subs = reader.items(root, "subscriptions", "$")
    if not subs and "subscriptions" in root:
        reader.fail("$.subscriptions", "is empty; add at least one subscription")
    elif "subscriptions" not in root:
        reader.fail("$.subscriptions", "is required; add a list of subscriptions")
    for path, sub in subs:
        _subscription(reader, loaded, sub, path)
    add_implied_vaults(loaded)
    if reader.problems:
        raise WorldError(reader.problems)
    return loaded


def _subscription(reader: WorldReader, loaded: LoadedWorld, sub: dict[str, Any], path: str) -> None:
    sub_id = reader.text(sub, "subscriptionId", path)
    sub_key = sub_id.lower()
    if sub_key in loaded.subscriptions:
        reader.fail(f"{path}.subscriptionId", f"duplicate subscription {sub_id!r}; list each subscription once")
    loaded.subscriptions[sub_key] = {
        "id": f"/subscriptions/{sub_id}",
        "subscriptionId": sub_id,
        "displayName": sub.get("displayName", f"Simulated subscription {sub_id}"),
        "tenantId": sub.get("tenantId", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        "state": "Enabled",
    }
    features = reader.obj(sub.get("features", {}), f"{path}.features")
    loaded.features[sub_key] = {}
    for full_name, state in features.items():
        fpath = f"{path}.features[{full_name!r}]"
        if full_name.count("/") != 1 or not all(full_name.split("/")):
            reader.fail(fpath, "feature names are '<namespace>/<name>', e.g. 'Microsoft.Compute/SIGEncryption'")
            continue
        namespace, name = full_name.split("/")
        loaded.features[sub_key][full_name.lower()] = {
            "namespace": namespace,
            "name": name,
            "state": reader.exact_choice(state, fpath, FEATURE_STATES),
        }
    providers = reader.obj(sub.get("providers", {}), f"{path}.providers")
    loaded.providers[sub_key] = {}
    for namespace, state in providers.items():
        loaded.providers[sub_key][namespace.lower()] = {
            "namespace": namespace,
            "state": reader.exact_choice(state, f"{path}.providers[{namespace!r}]", PROVIDER_STATES),
        }
    read_role_definitions(reader, loaded, sub_id, sub, path)
    for rg_path, rg in reader.items(sub, "resourceGroups", path):
        _resource_group(reader, loaded, sub_id, rg, rg_path)
    read_role_assignments(reader, loaded, sub_id, sub, path)


def _resource_group(reader: WorldReader, loaded: LoadedWorld, sub_id: str, rg: dict[str, Any], path: str) -> None:
    name = reader.text(rg, "name", path)
    location = reader.location(rg, "location", path)
    rg_id = ids.resource_group_id(sub_id, name)
    if ids.key(rg_id) in loaded.resource_groups:
        reader.fail(f"{path}.name", f"duplicate resource group {name!r}; names are case-insensitive")
    loaded.resource_groups[ids.key(rg_id)] = {
        "id": rg_id,
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "properties": {"provisioningState": "Succeeded"},
    }
    known = {
        "name",
        "location",
        "galleries",
        "managedImages",
        "virtualMachines",
        "snapshots",
        "disks",
        "diskEncryptionSets",
        "keyVaults",
    }
    for extra in sorted(set(rg) - known):
        reader.fail(f"{path}.{extra}", f"unknown key; a resource group holds {', '.join(sorted(known))}")
    for kv_path, vault in reader.items(rg, "keyVaults", path):
        read_key_vault(reader, loaded, sub_id, name, location, vault, kv_path)
    for des_path, des in reader.items(rg, "diskEncryptionSets", path):
        add_resource(reader, loaded, read_disk_encryption_set(reader, sub_id, name, location, des, des_path), des_path)
    for g_path, gallery in reader.items(rg, "galleries", path):
        read_gallery(reader, loaded, sub_id, name, location, gallery, g_path)
    for i_path, image in reader.items(rg, "managedImages", path):
        add_resource(reader, loaded, read_managed_image(reader, sub_id, name, location, image, i_path), i_path)
    for v_path, vm in reader.items(rg, "virtualMachines", path):
        add_resource(reader, loaded, read_virtual_machine(reader, sub_id, name, location, vm, v_path), v_path)
    for kind in ("snapshots", "disks"):
        for d_path, disk in reader.items(rg, kind, path):
            add_resource(reader, loaded, read_disk(reader, kind, sub_id, name, location, disk, d_path), d_path)


