"""Rules on the image version's source: it exists, sits in the home location, and can carry encryption."""

from __future__ import annotations

from collections.abc import Iterator

from core.azure import resource_ids
from core.policy.facts import Facts, Json, is_customer_key_encrypted, source_generation, source_os_type, source_regions
from core.policy.registry import Violation, rule
from core.policy.views import is_encrypted, source_field
from core.request import BuildRequest


def _sources(request: BuildRequest, facts: Facts) -> Iterator[tuple[str, str, Json | None]]:
    """(field, ID, fact) for the source and each data-disk source that is an ARM resource (not a VHD)."""
    if request.source.is_resource:
        yield source_field(request), request.source.id, facts.source
    for index, disk in enumerate(request.source.resource_data_disks()):
        yield f"source.dataSnapshots[{index}].id", disk.id, facts.data_disk_sources.get(disk.lun)


@rule("SourceNotFound")
def source_exists(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The source (and every data-disk source) exists."""
    for field, source_id, fact in _sources(request, facts):
        if fact is None:
            yield Violation(field, f"source {source_id} is not found; check that it exists (and the ID), in "
                                   f"'{request.location}' where the image version is created")


@rule("SourceLocation")
def source_in_home_location(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The source sits in the image version's location (a gallery version source: replicated there)."""
    for field, source_id, fact in _sources(request, facts):
        if fact is None:
            continue
        regions = source_regions(fact)
        if request.location not in regions:
            where = ", ".join(sorted(regions)) or "no known region"
            yield Violation(field, f"source {source_id} is in {where}, not in '{request.location}' where the image "
                                   "version is created; the source must be in the same region as the gallery image "
                                   f"version: copy the source to '{request.location}' or change location")


@rule("EncryptionNotSupportedForSource")
def source_kind_supports_encryption(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """Encryption needs a source kind that supports it: a VM, managed image, disk or snapshot."""
    if is_encrypted(request) and _kind(request.source.id) == resource_ids.GALLERY_IMAGE_VERSION:
        yield Violation(source_field(request), f"encryption is not supported for source resource "
                                               f"'{request.source.id}' (a gallery image version); use a VM, managed "
                                               "image, disk or snapshot as the source, or remove the encryption")


@rule("EncryptedSourceImageVersion")
def source_version_not_cmk(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """A gallery image version encrypted with customer-managed keys cannot be the source of another version."""
    if facts.source is not None and _kind(request.source.id) == resource_ids.GALLERY_IMAGE_VERSION \
            and is_customer_key_encrypted(facts.source):
        yield Violation(source_field(request), f"source {request.source.id} is a gallery image version encrypted "
                                               "with customer-managed keys, which cannot be the source of another "
                                               "image version; build from the VM, managed image or snapshots it "
                                               "came from")


@rule("EncryptedSourceSubscription")
def encrypted_source_same_subscription(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """An encrypted source is in the image version's subscription."""
    for field, source_id, fact in _sources(request, facts):
        subscription = resource_ids.parse_resource_id(source_id).subscription
        if fact is not None and subscription != request.subscription_id.lower() and is_customer_key_encrypted(fact):
            yield Violation(field, f"encrypted source '{source_id}' is in a different subscription ID than the "
                                   f"image version's subscription '{request.subscription_id}'; retry with an "
                                   f"unencrypted source, or create the image version in subscription {subscription}")


@rule("SourceOsTypeMismatch")
def source_os_type_matches(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The source's OS type (Linux/Windows), when it states one, is the image definition's."""
    if facts.source is None or facts.image_definition is None:
        return
    wanted = (facts.image_definition.get("properties") or {}).get("osType")
    actual = source_os_type(facts.source)
    if wanted and actual and str(wanted).lower() != actual.lower():
        yield Violation(source_field(request), f"source {request.source.id} holds a {actual} OS disk but image "
                                               f"definition '{request.image_definition}' is {wanted}; use a {wanted} "
                                               f"source or a definition for {actual}")


@rule("SourceGenerationMismatch")
def source_generation_matches(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The source's Hyper-V generation, when it states one, is the image definition's."""
    if facts.source is None or facts.image_definition is None:
        return
    wanted = (facts.image_definition.get("properties") or {}).get("hyperVGeneration")
    actual = source_generation(facts.source)
    if wanted and actual and str(wanted).lower() != actual.lower():
        yield Violation(source_field(request), f"source {request.source.id} is Hyper-V generation {actual} but "
                                               f"image definition '{request.image_definition}' is {wanted}; use a "
                                               f"{wanted} source or a {actual} image definition")


def _kind(resource_id: str) -> str:
    try:
        return resource_ids.parse_resource_id(resource_id).kind
    except ValueError:
        return ""
