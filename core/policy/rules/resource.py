"""Rules on the gallery, the image definition and the target version: existence, sharing, conflicts."""

from __future__ import annotations

from collections.abc import Iterator

from core.policy.facts import Facts, feature, is_shared, sharing_kind
from core.policy.registry import Violation, rule
from core.policy.views import is_encrypted, region_name
from core.request import BuildRequest

# provisioningState values after which a PUT of the same version would simply update (retry) it.
_RETRYABLE_STATES = ("Failed", "Canceled")


@rule("GalleryNotFound")
def gallery_exists(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The gallery exists."""
    if facts.gallery is None:
        yield Violation("galleryName", f"gallery '{request.gallery_name}' does not exist in resource group "
                                       f"'{request.resource_group}' of subscription {request.subscription_id}; "
                                       "create it or fix galleryName/resourceGroup")


@rule("ImageDefinitionNotFound")
def image_definition_exists(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The image definition exists in the gallery."""
    if facts.gallery is not None and facts.image_definition is None:
        yield Violation("imageDefinition", f"image definition '{request.image_definition}' does not exist in gallery "
                                           f"'{request.gallery_name}'; create it first or fix imageDefinition")


@rule("TargetVersionExists")
def target_version_is_new(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """The image version does not exist yet (or only as a failed earlier attempt)."""
    state = _state(facts.target_version)
    if facts.target_version is not None and state not in _RETRYABLE_STATES:
        yield Violation("version", f"image version {request.version} already exists in '{request.gallery_name}/"
                                   f"{request.image_definition}' (provisioningState {state}); a published version "
                                   "cannot be rebuilt: choose a new version number, or delete the existing one first")


@rule("TargetVersionFailed")
def target_version_failed(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """A failed earlier attempt at this version exists and will be overwritten."""
    state = _state(facts.target_version)
    if facts.target_version is not None and state in _RETRYABLE_STATES:
        yield Violation("version", f"image version {request.version} exists with provisioningState {state} from an "
                                   "earlier attempt; this build updates it in place (delete it first for a clean "
                                   "start)")


def _state(version: dict | None) -> str:
    return str(((version or {}).get("properties") or {}).get("provisioningState") or "Unknown")


@rule("SharedGalleryEncryption")
def shared_gallery_holds_no_cmk(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """A direct-shared or community gallery cannot hold a version encrypted with customer-managed keys."""
    if facts.gallery is None or not is_encrypted(request):
        return
    kind = sharing_kind(facts.gallery)
    if kind == "direct-shared":
        yield Violation("galleryName", f"gallery '{request.gallery_name}' is directly shared (sharingProfile "
                                       "permissions 'Groups'), and a direct shared gallery cannot contain encrypted "
                                       "image versions; publish to a private gallery or remove the encryption")
    elif kind == "community":
        yield Violation("galleryName", f"gallery '{request.gallery_name}' is a community gallery, which does not "
                                       "support encrypted images; publish to a private gallery or remove the "
                                       "encryption")


@rule("CustomerKeyImageShared")
def preview_no_sharing(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """2020 preview: an image encrypted with customer-managed keys cannot be shared (any sharing profile)."""
    if facts.gallery is not None and is_encrypted(request) and is_shared(facts.gallery):
        yield Violation("galleryName", f"gallery '{request.gallery_name}' is shared ({sharing_kind(facts.gallery)}), "
                                       "and under the 2020 preview rules an image that uses customer-managed keys "
                                       "cannot be shared; publish to an unshared gallery or remove the encryption")


@rule("CustomerKeyImageReplicated")
def preview_no_replication(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """2020 preview: an image encrypted with customer-managed keys cannot be replicated (one target region)."""
    regions = sorted({region_name(region) for region in request.target_regions})
    if is_encrypted(request) and len(regions) > 1:
        yield Violation("targetRegions", f"the request replicates to {', '.join(regions)}, and under the 2020 preview "
                                         "rules an image that uses customer-managed keys cannot be replicated; keep "
                                         f"only '{request.location}' or remove the encryption")


@rule("ConfidentialImageEncryption")
def confidential_definition(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """A confidential-VM image definition gets its OS-disk key through the security profile, not a plain DES."""
    security = feature(facts.image_definition or {}, "SecurityType") or ""
    profiled = any(r.os_security_profile for r in request.target_regions)
    if security.lower().startswith("confidential") and not profiled \
            and any(r.os_disk_encryption_set_id for r in request.target_regions):
        yield Violation("targetRegions", f"image definition '{request.image_definition}' has SecurityType "
                                         f"{security}: a confidential VM image's OS disk is encrypted through "
                                         "osDiskImage.securityProfile (confidentialVMEncryptionType EncryptedWithCmk, "
                                         "a ConfidentialVmEncryptedWithCustomerKey set), which this request does not "
                                         "set; check that an at-rest set on the OS disk is what you want")


@rule("ConfidentialProfileOnNonConfidentialDefinition")
def security_profile_needs_confidential_definition(request: BuildRequest, facts: Facts) -> Iterator[Violation]:
    """A confidential VM security profile needs an image definition of SecurityType ConfidentialVM or
    ConfidentialVMSupported (the service refuses it on any other)."""
    if facts.image_definition is None:
        return
    security = feature(facts.image_definition, "SecurityType") or "none"
    for index, region in enumerate(request.target_regions):
        if region.os_security_profile is not None and not security.lower().startswith("confidential"):
            yield Violation(f"targetRegions[{index}].encryption.osDiskImage.securityProfile",
                            f"image definition '{request.image_definition}' has SecurityType {security}, but a "
                            "confidential VM security profile needs ConfidentialVM or ConfidentialVMSupported; "
                            "publish to a confidential image definition or remove the security profile")
            return
