"""VM sizes and the security types they can host, and the ``VERIFICATION_VM_SIZES`` setting's entries.

A VM's ``securityProfile.securityType`` is ``Standard`` (no UEFI features), ``TrustedLaunch`` (secure boot
and vTPM on a generation 2 VM) or ``ConfidentialVM`` (AMD SEV-SNP or Intel TDX hardware). Not every size
hosts every type, and ARM refuses the mismatch with a 400 ``BadRequest``:

- a confidential type on an ordinary size: "The VM size 'Standard_D2as_v5' is not supported for creation
  of VMs and Virtual Machine Scale Set with 'ConfidentialVM' security type and
  managedDisk.securityProfile.securityEncryptionType set as 'VMGuestStateOnly'";
- an ordinary type on a confidential size: "The VM size 'Standard_DC2as_v5' is not supported for creation
  of VMs and Virtual Machine Scale Set with '<NULL>' security type."

Confidential sizes are the DC/EC families ending ``as``/``ads`` (AMD) or ``es``/``eds`` (Intel) with
``_v5``/``_v6`` (DCasv5, DCadsv5, ECasv5, ECadsv5, DCesv5, DCedsv5, ECesv5, ECedsv5, DCasv6, ...).
Trusted launch needs a generation 2 size: not the Basic and A sizes, and (not supported yet, per the
trusted launch size table) not the Arm64 ``p`` sizes. A size these rules do not know is let through:
ARM has the last word, and its refusal is the verification's failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

STANDARD, TRUSTED_LAUNCH, CONFIDENTIAL_VM = "Standard", "TrustedLaunch", "ConfidentialVM"
SECURITY_TYPES = (STANDARD, TRUSTED_LAUNCH, CONFIDENTIAL_VM)
ANY = "*"
DEFAULT_VERIFICATION_VM_SIZES = f"{ANY}=Standard_D2s_v5,{ANY}/{CONFIDENTIAL_VM}=Standard_DC2as_v5"

_CONFIDENTIAL = re.compile(r"Standard_(DC|EC)\d+i?(a|e)d?s_v[56]", re.IGNORECASE)
_GENERATION_1_ONLY = re.compile(r"Basic_A\d+|Standard_A\d+(m?_v2)?", re.IGNORECASE)
_ARM64 = re.compile(r"Standard_[DE]\d+p[a-z]*_v\d", re.IGNORECASE)
_SIZE = re.compile(r"(Standard|Basic)_[A-Za-z0-9_]{1,40}")


def hosting_problem(size: str, security_type: str) -> str | None:
    """Why ``size`` cannot host a VM of ``security_type`` (a sentence naming a fix), or None."""
    confidential = _CONFIDENTIAL.fullmatch(size) is not None
    if security_type == CONFIDENTIAL_VM and not confidential:
        return (f"the VM size {size} cannot host a confidential VM: use a DCasv5, DCadsv5, ECasv5, ECadsv5, "
                f"DCesv5 or ECesv5 size such as Standard_DC2as_v5")
    if security_type != CONFIDENTIAL_VM and confidential:
        return (f"the VM size {size} hosts confidential VMs only, not {security_type}: use a size such as "
                "Standard_D2s_v5")
    if security_type == TRUSTED_LAUNCH and (_GENERATION_1_ONLY.fullmatch(size) or _ARM64.fullmatch(size)):
        return f"the VM size {size} cannot host a trusted launch VM: use a generation 2 size such as Standard_D2s_v5"
    return None


@dataclass(frozen=True)
class SizeRule:
    """One ``VERIFICATION_VM_SIZES`` entry: ``region`` (or ``*``) and ``security_type`` (or ``*``) -> size."""

    region: str
    security_type: str
    size: str


def parse_size_rules(text: str, normalize_region: Callable[[str], str]) -> tuple[SizeRule, ...]:
    """``<region|*>[/<securityType>]=<size>,...`` as rules; ValueError naming the first bad entry.

    ``normalize_region`` turns a region name into its programmatic form (or raises ValueError). An entry
    that pins a size to a security type it cannot host is refused here, before any VM is planned.
    """
    rules: list[SizeRule] = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        where, equals, size = (piece.strip() for piece in entry.partition("="))
        region, _, security = (piece.strip() for piece in where.partition("/"))
        if not equals or not region or not _SIZE.fullmatch(size):
            raise ValueError(f"entry {entry!r} is not <region or *>[/<securityType>]=<VM size>, "
                             f"e.g. '*=Standard_D2s_v5' or 'westus/{CONFIDENTIAL_VM}=Standard_DC2as_v5'")
        known = {t.lower(): t for t in SECURITY_TYPES}
        if security and security.lower() not in known:
            raise ValueError(f"entry {entry!r}: '{security}' is not a security type; use one of "
                             f"{', '.join(SECURITY_TYPES)}")
        security = known[security.lower()] if security else ANY
        if region != ANY:
            try:
                region = normalize_region(region)
            except ValueError:
                raise ValueError(f"entry {entry!r}: '{region}' is not a region name (or * for any)") from None
        if security != ANY and (problem := hosting_problem(size, security)):
            raise ValueError(f"entry {entry!r}: {problem}")
        if any(r.region == region and r.security_type == security for r in rules):
            raise ValueError(f"entry {entry!r}: {region}/{security} is given twice")
        rules.append(SizeRule(region, security, size))
    return tuple(rules)


def size_for(rules: tuple[SizeRule, ...], region: str, security_type: str) -> str | None:
    """The configured size for a VM of ``security_type`` in ``region``: the most specific rule wins, a
    security type before a region (a region's everyday size cannot host every type)."""
    for wanted in ((region, security_type), (ANY, security_type), (region, ANY), (ANY, ANY)):
        for rule in rules:
            if (rule.region, rule.security_type) == wanted:
                return rule.size
    return None
