"""Resource IDs: building them, parsing them, and the case-insensitive key ARM compares them by."""

from __future__ import annotations

from dataclasses import dataclass

COMPUTE = "Microsoft.Compute"


def key(resource_id: str) -> str:
    """The lookup key of a resource ID: ARM compares IDs case-insensitively, ignoring a trailing ``/``."""
    return resource_id.strip().rstrip("/").lower()


def resource_group_id(subscription_id: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"


def compute_id(subscription_id: str, resource_group: str, *type_name_pairs: str) -> str:
    """``compute_id(sub, rg, "galleries", "g", "images", "i")`` -> ``/subscriptions/.../images/i``."""
    return f"{resource_group_id(subscription_id, resource_group)}/providers/{COMPUTE}/" + "/".join(type_name_pairs)


@dataclass(frozen=True)
class ParsedId:
    """A parsed ``/subscriptions/<s>/resourceGroups/<rg>/providers/<ns>/<type>/<name>[/<type>/<name>...]``."""

    subscription_id: str
    resource_group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def resource_type(self) -> str:
        """``Microsoft.Compute/galleries/images`` style, lower-cased for comparisons."""
        return "/".join((self.namespace, *self.types)).lower()

    @property
    def name(self) -> str:
        return self.names[-1]


def parse(resource_id: str) -> ParsedId | None:
    """Parse a fully qualified resource ID; None when it is not one (no leading ``/``, wrong shape)."""
    if not resource_id.startswith("/"):
        return None
    parts = resource_id.strip("/").split("/")
    if len(parts) < 8 or len(parts) % 2 != 0:
        return None
    if parts[0].lower() != "subscriptions" or parts[2].lower() != "resourcegroups" or parts[4].lower() != "providers":
        return None
    rest = parts[6:]
    if any(not p for p in parts):
        return None
    return ParsedId(
        subscription_id=parts[1],
        resource_group=parts[3],
        namespace=parts[5],
        types=tuple(rest[0::2]),
        names=tuple(rest[1::2]),
    )
