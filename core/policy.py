"""Pre-flight rules: pure functions over (request, facts) returning findings with a stable code.

Each rule names the resource, region, disk or LUN it is about and says what to change. Gathering
the facts is `core.facts`; this module does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from core.facts import Facts
from core.request import BuildRequest


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    field: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


Rule = Callable[[BuildRequest, Facts], Iterator[Finding]]
RULES: dict[str, Rule] = {}


def rule(code: str) -> Callable[[Rule], Rule]:
    """Register a rule under its stable code."""

    def register(fn: Rule) -> Rule:
        RULES[code] = fn
        return fn

    return register


@rule("GalleryNotFound")
def gallery_exists(request: BuildRequest, facts: Facts) -> Iterator[Finding]:
    if facts.gallery is None:
        yield Finding(
            "GalleryNotFound",
            Severity.ERROR,
            "galleryName",
            f"gallery '{request.gallery_name}' does not exist in resource group '{request.resource_group}' "
            f"of subscription {request.subscription_id}; create it or fix galleryName/resourceGroup",
        )


@rule("ImageDefinitionNotFound")
def image_definition_exists(request: BuildRequest, facts: Facts) -> Iterator[Finding]:
    if facts.gallery is not None and facts.image_definition is None:
        yield Finding(
            "ImageDefinitionNotFound",
            Severity.ERROR,
            "imageDefinition",
            f"image definition '{request.image_definition}' does not exist in gallery '{request.gallery_name}'; "
            "create it first or fix imageDefinition",
        )


@rule("SourceNotFound")
def source_exists(request: BuildRequest, facts: Facts) -> Iterator[Finding]:
    if facts.source is None:
        yield Finding(
            "SourceNotFound",
            Severity.ERROR,
            f"source.{request.source.kind}",
            f"source {request.source.id} was not found; check the ID and that it exists in {request.location}",
        )
    for disk in request.source.data_disks:
        if facts.data_disk_sources.get(disk.lun) is None:
            yield Finding(
                "SourceNotFound",
                Severity.ERROR,
                "source.dataSnapshots",
                f"data disk source for LUN {disk.lun} ({disk.id}) was not found",
            )


@rule("DiskEncryptionSetNotFound")
def disk_encryption_sets_exist(request: BuildRequest, facts: Facts) -> Iterator[Finding]:
    for des_id in request.disk_encryption_set_ids():
        if facts.des(des_id) is None:
            yield Finding(
                "DiskEncryptionSetNotFound",
                Severity.ERROR,
                "targetRegionEncryption",
                f"disk encryption set {des_id} was not found; create it in the region that uses it, or fix the name",
            )


def evaluate(request: BuildRequest, facts: Facts) -> list[Finding]:
    """Every finding of every rule, in rule order."""
    return [finding for check in RULES.values() for finding in check(request, facts)]
