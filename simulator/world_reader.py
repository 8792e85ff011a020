"""The world file's reader: typed fields with every problem collected, the loaded world, shared lookups."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import ids, regions

FEATURE_STATES = ("NotRegistered", "Registering", "Registered", "Unregistering", "Unregistered", "Pending")
PROVIDER_STATES = ("NotRegistered", "Registering", "Registered", "Unregistering", "Unregistered")
ENCRYPTION_TYPES = (
    "EncryptionAtRestWithCustomerKey",
    "EncryptionAtRestWithPlatformAndCustomerKeys",
    "ConfidentialVmEncryptedWithCustomerKey",
)
SHARING = {"private": "Private", "groups": "Groups", "community": "Community"}
OS_TYPES = {"linux": "Linux", "windows": "Windows"}
HYPERV = {"v1": "V1", "v2": "V2"}
OS_STATES = {"generalized": "Generalized", "specialized": "Specialized"}
VERSION_NAME = re.compile(r"^\d+\.\d+\.\d+$")
CREATED = "2024-01-01T00:00:00+00:00"


class WorldError(ValueError):
    """The world file is invalid; ``problems`` holds one line per problem (path: what is wrong; fix)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid simulator world:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass
class LoadedWorld:
    """What a world file describes, as ARM bodies keyed by :func:`ids.key`."""

    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    features: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # sub key -> "ns/name" key
    providers: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # sub key -> ns key
    resource_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    # version key -> {normalised region: "Completed" | "Failed" | ...} for versions that exist up front
    replication_states: dict[str, dict[str, str]] = field(default_factory=dict)
    cloud: str = "AzureCloud"  # the cloud whose regions and token audiences the world has
    # The key chain (world_keys.py): role definitions by subscription key and lower-case GUID, role
    # assignments, vaults whose reads answer the app 403, and vaults implied by a DES's key URL.
    role_definitions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    role_assignments: list[dict[str, Any]] = field(default_factory=list)
    app_denied_scopes: set[str] = field(default_factory=set)
    implied_vaults: set[str] = field(default_factory=set)


class WorldReader:
    """Typed access to JSON values that records problems instead of raising at the first one."""

    def __init__(self, cloud: str = "AzureCloud") -> None:
        self.problems: list[str] = []
        self.cloud = cloud

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {type(value).__name__}")
            return {}
        return value

    def items(self, parent: dict[str, Any], name: str, path: str) -> list[tuple[str, dict[str, Any]]]:
        value = parent.get(name, [])
        if not isinstance(value, list):
            self.fail(f"{path}.{name}", f"expected a list, got {type(value).__name__}")
            return []
        return [(f"{path}.{name}[{i}]", self.obj(v, f"{path}.{name}[{i}]")) for i, v in enumerate(value)]

    def text(self, parent: dict[str, Any], name: str, path: str, default: str | None = None) -> str:
        value = parent.get(name, default)
        if value is None:
            self.fail(f"{path}.{name}", "is required; add a non-empty string")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{path}.{name}", f"expected a non-empty string, got {value!r}")
            return ""
        return value

    def optional_text(self, parent: dict[str, Any], name: str, path: str) -> str | None:
        if parent.get(name) is None:
            return None
        return self.text(parent, name, path)

    def choice(self, parent: dict[str, Any], name: str, path: str, choices: dict[str, str], default: str) -> str:
        value = parent.get(name, default)
        if not isinstance(value, str) or value.lower() not in choices:
            self.fail(f"{path}.{name}", f"{value!r} is not one of {', '.join(choices.values())}")
            return default
        return choices[value.lower()]

    def exact_choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str:
        for choice in choices:
            if isinstance(value, str) and value.lower() == choice.lower():
                return choice
        self.fail(path, f"{value!r} is not one of {', '.join(choices)}")
        return choices[0]

    def integer(self, parent: dict[str, Any], name: str, path: str, default: int) -> int:
        value = parent.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.fail(f"{path}.{name}", f"expected a non-negative integer, got {value!r}")
            return default
        return value

    def location(self, parent: dict[str, Any], name: str, path: str, default: str | None = None) -> str:
        value = self.text(parent, name, path, default)
        if value and not regions.is_known(value, self.cloud):
            self.fail(
                f"{path}.{name}",
                f"unknown region {value!r} in {self.cloud}; use a name like 'eastus2' or 'East US 2' "
                "(each cloud's regions are listed in simulator/regions.py)",
            )
        return regions.normalize(value) if value else "westus"


def add_resource(reader: WorldReader, loaded: LoadedWorld, body: dict[str, Any], path: str) -> None:
    k = ids.key(body["id"])
    if k in loaded.resources or k in loaded.resource_groups:
        reader.fail(path, f"duplicate resource {body['id']!r}; names are case-insensitive, rename one")
    loaded.resources[k] = body


def des_reference(reader: WorldReader, value: Any, sub_id: str, rg: str, path: str) -> str | None:
    """A DES reference in the world file: a full ID, or a name in the same resource group."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        reader.fail(path, f"expected a disk encryption set ID or name, got {value!r}")
        return None
    if value.startswith("/"):
        if ids.parse(value) is None:
            reader.fail(path, f"{value!r} is not a resource ID; use /subscriptions/<s>/resourceGroups/<rg>/...")
        return value
    return ids.compute_id(sub_id, rg, "diskEncryptionSets", value)


