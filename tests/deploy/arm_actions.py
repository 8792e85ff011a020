"""Every ARM request the app makes, as the RBAC action Azure checks for it.

One row per (method, path pattern). A new ARM call in the app needs a row here *and* its action in a
custom role in infra/app/roles.bicep; tests/deploy/test_least_privilege.py fails until both exist.
Patterns match the path without query, case-insensitively (ARM paths are), from `/subscriptions/`.
Actions are the names `az provider operation show --namespace <ns>` lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SUB = r"/subscriptions/[^/]+"
_RG = _SUB + r"/resourceGroups/[^/]+"
_COMPUTE = _RG + r"/providers/Microsoft\.Compute"
_GALLERY = _COMPUTE + r"/galleries/[^/]+"
_VAULT = _RG + r"/providers/Microsoft\.KeyVault/vaults/[^/]+"


# The custom roles, by their actions variable in infra/app/roles.bicep.
BUILDER = ("builderActions",)  # on each target resource group
REGISTRATION = ("registrationActions",)  # on each registration subscription
AUDIT = ("auditActions",)  # on each subscription in AUDIT_SUBSCRIPTIONS
VERIFY = ("verificationActions",)  # on each target resource group, when verification VMs are enabled
NETWORK = ("networkActions",)  # on each resource group of the verification subnets
KEYS = ("keyChainActions",)  # on each key vault scope (keyVaultScopes): builds' pre-flight and the audit


@dataclass(frozen=True)
class Rule:
    method: str
    pattern: str
    action: str
    roles: tuple[str, ...]  # the variables in roles.bicep whose roles must hold the action
    # Actions ARM also checks on resources the request links to (a NIC's subnet, a VM's NIC), with their roles.
    linked: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and re.fullmatch(self.pattern, path, re.IGNORECASE) is not None


RULES: tuple[Rule, ...] = (
    # Builds: pre-flight facts, the PUT and its polling (builder role, on the target resource groups).
    Rule("GET", _GALLERY, "Microsoft.Compute/galleries/read", BUILDER),
    Rule("GET", _GALLERY + r"/images(/[^/]+)?", "Microsoft.Compute/galleries/images/read", BUILDER + AUDIT),
    Rule("GET", _GALLERY + r"/images/[^/]+/versions(/[^/]+)?", "Microsoft.Compute/galleries/images/versions/read",
         BUILDER + AUDIT),
    Rule("PUT", _GALLERY + r"/images/[^/]+/versions/[^/]+", "Microsoft.Compute/galleries/images/versions/write",
         BUILDER),
    Rule("GET", _SUB + r"/providers/Microsoft\.Compute/locations/[^/]+/capsOperations/[^/]+",
         "Microsoft.Compute/locations/capsOperations/read", BUILDER),
    Rule("GET", _COMPUTE + r"/diskEncryptionSets/[^/]+", "Microsoft.Compute/diskEncryptionSets/read", BUILDER + AUDIT),
    Rule("GET", _COMPUTE + r"/images/[^/]+", "Microsoft.Compute/images/read", BUILDER),
    Rule("GET", _COMPUTE + r"/snapshots/[^/]+", "Microsoft.Compute/snapshots/read", BUILDER),
    Rule("GET", _COMPUTE + r"/disks/[^/]+", "Microsoft.Compute/disks/read", BUILDER),
    Rule("GET", _COMPUTE + r"/virtualMachines/[^/]+", "Microsoft.Compute/virtualMachines/read", BUILDER),
    # Registration (registration role, on the subscriptions; only when REQUIRED_FEATURES is set).
    Rule("GET", _SUB + r"/providers/Microsoft\.Features/providers/[^/]+/features/[^/]+",
         "Microsoft.Features/providers/features/read", REGISTRATION),
    Rule("POST", _SUB + r"/providers/Microsoft\.Features/providers/[^/]+/features/[^/]+/register",
         "Microsoft.Features/providers/features/register/action", REGISTRATION),
    Rule("GET", _SUB + r"/providers/Microsoft\.Compute", "Microsoft.Resources/subscriptions/providers/read",
         REGISTRATION),
    Rule("POST", _SUB + r"/providers/Microsoft\.Compute/register", "Microsoft.Compute/register/action",
         REGISTRATION),
    # The verification VM (core/builds/verification.py): a NIC and a VM from the new version, deleted after.
    # The VM PUT also reads its image version and every disk's (and a confidential OS disk's) encryption set.
    Rule("PUT", _COMPUTE + r"/virtualMachines/[^/]+", "Microsoft.Compute/virtualMachines/write", VERIFY,
         linked=(("Microsoft.Network/networkInterfaces/join/action", VERIFY),
                 ("Microsoft.Compute/galleries/images/versions/read", BUILDER),
                 ("Microsoft.Compute/diskEncryptionSets/read", BUILDER))),
    Rule("DELETE", _COMPUTE + r"/virtualMachines/[^/]+", "Microsoft.Compute/virtualMachines/delete", VERIFY),
    Rule("DELETE", _COMPUTE + r"/disks/[^/]+", "Microsoft.Compute/disks/delete", VERIFY),
    Rule("PUT", _RG + r"/providers/Microsoft\.Network/networkInterfaces/[^/]+", "Microsoft.Network/networkInterfaces/write",
         VERIFY, linked=(("Microsoft.Network/virtualNetworks/subnets/join/action", NETWORK),)),
    Rule("DELETE", _RG + r"/providers/Microsoft\.Network/networkInterfaces/[^/]+",
         "Microsoft.Network/networkInterfaces/delete", VERIFY),
    # The key chain of each DES (core/policy/key_facts.py): management-plane reads only (key chain role).
    Rule("GET", _VAULT, "Microsoft.KeyVault/vaults/read", KEYS),
    Rule("GET", _VAULT + r"/keys/[^/]+/versions/[^/]+", "Microsoft.KeyVault/vaults/keys/versions/read", KEYS),
    Rule("GET", _VAULT + r"/keys/[^/]+/providers/Microsoft\.Authorization/roleAssignments",
         "Microsoft.Authorization/roleAssignments/read", KEYS),
    Rule("GET", _SUB + r"/providers/Microsoft\.Authorization/roleDefinitions/[^/]+",
         "Microsoft.Authorization/roleDefinitions/read", KEYS),
    # The audit of AUDIT_SUBSCRIPTIONS lists galleries at subscription scope (audit role).
    Rule("GET", _SUB + r"/providers/Microsoft\.Compute/galleries", "Microsoft.Compute/galleries/read", AUDIT),
)  # fmt: skip


def rule_for(method: str, path: str) -> Rule | None:
    """The first row that matches, or None (an ARM call nobody has mapped yet)."""
    return next((rule for rule in RULES if rule.matches(method, path)), None)
