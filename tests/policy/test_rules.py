"""Each rule broken alone: the compliant build with one thing changed yields findings of exactly that code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from core import policy
from core.policy.enforcement import Level, PolicyConfig, load_profile
from core.policy.facts import Facts
from core.policy.keychain import Unread
from core.request import BuildRequest, DataDiskEncryption, DataDiskSource, ImageSource
from core.request.model import EdgeZoneTarget, SecurityProfile

from .compliant import (
    DOUBLE,
    NOW,
    OTHER_SUB,
    PREFIX,
    SUB,
    all_des,
    des_fact,
    des_id,
    edited,
    facts,
    gallery_fact,
    image_fact,
    key_version_fact,
    keyed_facts,
    principal_of,
    region_target,
    request,
    snapshot_fact,
    unencrypted,
    vault_fact,
    vault_id,
    version_fact,
    with_chain,
)

CURRENT = load_profile("current")


@dataclass(frozen=True)
class Case:
    request: BuildRequest
    facts: Facts
    config: PolicyConfig = CURRENT


CASES: list[tuple[str, Callable[[], Case]]] = []


def breaks(code: str) -> Callable[[Callable[[], Case]], Callable[[], Case]]:
    def register(build: Callable[[], Case]) -> Callable[[], Case]:
        CASES.append((code, build))
        return build

    return register


def only(code: str) -> PolicyConfig:
    """The current profile with one optional rule switched on."""
    return CURRENT.with_levels({code: Level.ERROR})


def with_region(built: BuildRequest, index: int, **changes: object) -> BuildRequest:
    regions = list(built.target_regions)
    regions[index] = replace(regions[index], **changes)
    return replace(built, target_regions=tuple(regions))


# --- what exists ---------------------------------------------------------------------------------------------


@breaks("GalleryNotFound")
def gallery_missing() -> Case:
    """No gallery (hence no definition and no versions)."""
    return Case(request(), facts(gallery=None, image_definition=None, existing_versions=()))


@breaks("ImageDefinitionNotFound")
def definition_missing() -> Case:
    """The gallery exists, the definition does not."""
    return Case(request(), facts(image_definition=None, existing_versions=()))


@breaks("TargetVersionExists")
def version_already_published() -> Case:
    """The requested version already exists and succeeded."""
    return Case(request(), facts(target_version=version_fact("2.0.0")))


@breaks("TargetVersionFailed")
def version_failed_before() -> Case:
    """A failed earlier attempt at the requested version exists."""
    return Case(request(), facts(target_version=version_fact("2.0.0", state="Failed")))


@breaks("SharedGalleryEncryption")
def direct_shared_gallery() -> Case:
    """The gallery is directly shared with subscriptions."""
    return Case(request(), facts(gallery=gallery_fact("Groups", groups=[{"type": "Subscriptions", "ids": [SUB]}])))


@breaks("SharedGalleryEncryption")
def community_gallery() -> Case:
    """The gallery is a community gallery."""
    return Case(request(), facts(gallery=gallery_fact("Community", communityGalleryInfo={"publicNamePrefix": "x"})))


@breaks("CustomerKeyImageShared")
def preview_shared_gallery() -> Case:
    """2020 profile: one region only, but the gallery is shared."""
    single = replace(request(), target_regions=(region_target("westus"),))
    return Case(single, facts(single, gallery=gallery_fact("Groups")), load_profile("preview-2020"))


@breaks("CustomerKeyImageReplicated")
def preview_replicated() -> Case:
    """2020 profile: the compliant build replicates an encrypted image to two regions."""
    return Case(request(), facts(), load_profile("preview-2020"))


@breaks("ConfidentialImageEncryption")
def confidential_definition() -> Case:
    """The definition is for confidential VMs."""
    features = [{"name": "SecurityType", "value": "ConfidentialVM"}]
    return Case(request(), facts(image_definition=edited(facts().image_definition, "properties.features", features)))


def _confidential(secure_type: str = "ConfidentialVmEncryptedWithCustomerKey",
                  security_type: str = "ConfidentialVM") -> Case:
    """Every region's OS disk gets a confidential VM profile with a secure set located there."""
    regions = tuple(replace(region_target(name), os_security_profile=SecurityProfile(
        "EncryptedWithCmk", des_id(name, "cvm"))) for name in ("westus", "eastus2"))
    built = replace(request(), target_regions=regions)
    sets = all_des(built)
    for name in ("westus", "eastus2"):
        sets[des_id(name, "cvm").lower()] = des_fact(des_id(name, "cvm"), name, secure_type)
    features = [{"name": "SecurityType", "value": security_type}]
    return Case(built, facts(built, disk_encryption_sets=sets,
                             image_definition=edited(facts().image_definition, "properties.features", features)))


def test_a_confidential_build_with_the_right_sets_is_compliant() -> None:
    """The confidential profile, secure sets of type ConfidentialVmEncryptedWithCustomerKey, a ConfidentialVM
    definition: no finding (not even the plain-DES warning ConfidentialImageEncryption)."""
    case = _confidential()
    assert policy.evaluate(case.request, case.facts, config=CURRENT) == []


@breaks("ConfidentialProfileOnNonConfidentialDefinition")
def confidential_profile_on_trusted_launch() -> Case:
    """A confidential VM profile, but the definition's SecurityType is TrustedLaunch."""
    return _confidential(security_type="TrustedLaunch")


@breaks("EncryptionTypeMismatch")
def secure_set_of_at_rest_type() -> Case:
    """The secure sets are EncryptionAtRestWithCustomerKey, not ConfidentialVmEncryptedWithCustomerKey."""
    return _confidential(secure_type="EncryptionAtRestWithCustomerKey")


@breaks("DiskEncryptionSetRegion")
def edge_zone_set_of_another_region() -> Case:
    """An edge zone of westus is encrypted with a set located in eastus2."""
    zone = EdgeZoneTarget("westus", "microsoftlosangeles1", os_disk_encryption_set_id=des_id("eastus2", "os"),
                          data_disk_encryption=tuple(DataDiskEncryption(lun, des_id("westus", f"lun{lun}"))
                                                     for lun in (0, 1)))
    built = replace(request(), target_edge_zones=(zone,))
    return Case(built, facts(built))


# --- the source ----------------------------------------------------------------------------------------------


@breaks("SourceNotFound")
def source_missing() -> Case:
    """The managed image does not exist."""
    return Case(request(), facts(source=None))


@breaks("SourceLocation")
def source_elsewhere() -> Case:
    """The managed image is in eastus, the version's home is westus."""
    return Case(request(), facts(source=image_fact(location="eastus")))


@breaks("EncryptionNotSupportedForSource")
def encrypted_from_version() -> Case:
    """An encrypted version built from an (unencrypted) gallery image version."""
    version = version_fact("1.5.0", encrypted=False)
    return Case(request(source=ImageSource("imageVersion", version["id"])), facts(source=version))


@breaks("EncryptedSourceImageVersion")
def from_cmk_version() -> Case:
    """An unencrypted version built from a CMK-encrypted gallery image version (no earlier versions)."""
    version = version_fact("1.5.0")
    built = unencrypted(request(source=ImageSource("imageVersion", version["id"])))
    return Case(built, facts(built, source=version, existing_versions=()))


@breaks("EncryptedSourceSubscription")
def encrypted_source_other_subscription() -> Case:
    """The managed image is CMK-encrypted and lives in another subscription."""
    other = PREFIX.replace(SUB, OTHER_SUB) + "/images/golden"
    source = image_fact(des=des_id("westus", "os", OTHER_SUB), image_id=other)
    return Case(request(source=ImageSource("managedImage", other)), facts(source=source))


@breaks("SourceOsTypeMismatch")
def windows_source() -> Case:
    """The source is Windows, the definition Linux."""
    return Case(request(), facts(source=image_fact(os_type="Windows")))


@breaks("SourceGenerationMismatch")
def generation_two_source() -> Case:
    """The source is Hyper-V generation V2, the definition V1."""
    return Case(request(), facts(source=image_fact(generation="V2")))


# --- the request's shape ---------------------------------------------------------------------------------------


@breaks("VersionNameInvalid")
def two_part_version() -> Case:
    """Version '2.0' has no patch number."""
    return Case(request(version="2.0"), facts())


@breaks("VersionNameInvalid")
def version_beyond_int32() -> Case:
    """A part of the version is larger than a 32-bit integer."""
    return Case(request(version="2.0.2147483648"), facts())


@breaks("DuplicateRegion")
def display_name_duplicate() -> Case:
    """'West US' is listed besides 'westus'."""
    built = request()
    return Case(replace(built, target_regions=(*built.target_regions, replace(built.target_regions[0],
                                                                              name="West US"))), facts())


@breaks("LocationNotInTargetRegions")
def home_not_listed() -> Case:
    """Only eastus2 is a target region; the home location is westus."""
    built = replace(request(), target_regions=(region_target("eastus2"),))
    return Case(built, facts(built))


@breaks("ReplicaCountOutOfRange")
def too_many_replicas() -> Case:
    """eastus2 asks for 101 replicas."""
    return Case(with_region(request(), 1, replica_count=101), facts())


@breaks("ReplicaCountOutOfRange")
def zero_default_replicas() -> Case:
    """The default replica count is 0."""
    return Case(request(replica_count=0), facts())


@breaks("StorageAccountTypeInvalid")
def unknown_storage_type() -> Case:
    """westus asks for Premium_ZRS, which image replicas cannot use."""
    return Case(with_region(request(), 0, storage_account_type="Premium_ZRS"), facts())


@breaks("EndOfLifeDateInPast")
def retired_on_arrival() -> Case:
    """The end-of-life date is before the facts were gathered."""
    return Case(request(end_of_life_date="2029-12-31T12:59:59Z"), facts())


@breaks("DuplicateLun")
def lun_twice_in_region() -> Case:
    """eastus2 names LUN 0 twice."""
    built = request()
    region = built.target_regions[1]
    extra = DataDiskEncryption(0, des_id("eastus2", "lun0"))
    return Case(with_region(built, 1, data_disk_encryption=(*region.data_disk_encryption, extra)), facts())


@breaks("DuplicateSourceDisk")
def snapshot_used_twice() -> Case:
    """The OS snapshot is also given as the data snapshot at LUN 1."""
    os_snap, data_snap = f"{PREFIX}/snapshots/os", f"{PREFIX}/snapshots/data0"
    source = ImageSource("osSnapshot", os_snap, (DataDiskSource(0, data_snap), DataDiskSource(1, os_snap)))
    return Case(request(source=source), facts(source=snapshot_fact(os_snap), data_disk_sources={
        0: snapshot_fact(data_snap), 1: snapshot_fact(os_snap)}))


# --- disk encryption sets and their mapping ------------------------------------------------------------------


@breaks("DiskEncryptionSetSubscription")
def des_in_other_subscription() -> Case:
    """eastus2's OS disk uses a DES of another subscription (not read: the ID says enough)."""
    built = with_region(request(), 1, os_disk_encryption_set_id=des_id("eastus2", "os", OTHER_SUB))
    return Case(built, facts(built, disk_encryption_sets={k: v for k, v in all_des(built).items()
                                                          if OTHER_SUB not in k}))


@breaks("DiskEncryptionSetNotFound")
def des_missing() -> Case:
    """The DES for LUN 1 in westus does not exist."""
    sets = all_des(request())
    sets[des_id("westus", "lun1").lower()] = None
    return Case(request(), facts(disk_encryption_sets=sets))


@breaks("DiskEncryptionSetRegion")
def des_in_wrong_region() -> Case:
    """The DES for eastus2's OS disk is located in eastus."""
    sets = all_des(request())
    sets[des_id("eastus2", "os").lower()] = des_fact(des_id("eastus2", "os"), "eastus")
    return Case(request(), facts(disk_encryption_sets=sets))


@breaks("EncryptionTypeMismatch")
def double_encryption_set() -> Case:
    """The request asks for CMK only; one DES does double encryption."""
    sets = all_des(request())
    sets[des_id("westus", "lun0").lower()] = des_fact(des_id("westus", "lun0"), "westus", DOUBLE)
    return Case(request(), facts(disk_encryption_sets=sets))


@breaks("EncryptionTypeMismatch")
def confidential_set() -> Case:
    """No type asked for; one DES is for confidential VMs, not encryption at rest."""
    sets = all_des(request())
    sets[des_id("westus", "os").lower()] = des_fact(des_id("westus", "os"), "westus",
                                                    "ConfidentialVmEncryptedWithCustomerKey")
    return Case(request(encryption_type=None), facts(disk_encryption_sets=sets))


@breaks("DiskEncryptionSetNoActiveKey")
def des_without_key() -> Case:
    """A DES has no active key."""
    sets = all_des(request())
    sets[des_id("eastus2", "lun1").lower()] = edited(des_fact(des_id("eastus2", "lun1"), "eastus2"),
                                                     "properties.activeKey", None)
    return Case(request(), facts(disk_encryption_sets=sets))


@breaks("DiskEncryptionSetKeyRotationFailed")
def des_rotation_error() -> Case:
    """A DES reports an automatic key rotation error."""
    sets = all_des(request())
    sets[des_id("westus", "os").lower()] = edited(
        des_fact(des_id("westus", "os"), "westus"), "properties.autoKeyRotationError",
        {"code": "KeyVaultAccessForbidden", "message": "the identity lost access to the key"})
    return Case(request(), facts(disk_encryption_sets=sets))


@breaks("DiskEncryptionMissingInRegion")
def os_disk_unencrypted_in_one_region() -> Case:
    """eastus2 leaves the OS disk without a DES while westus encrypts it."""
    built = with_region(request(), 1, os_disk_encryption_set_id=None)
    return Case(built, facts(built))


@breaks("DiskEncryptionMissingInRegion")
def lun_unencrypted_in_one_region() -> Case:
    """eastus2 leaves LUN 1 without a DES while westus encrypts it."""
    built = with_region(request(), 1, data_disk_encryption=(DataDiskEncryption(0, des_id("eastus2", "lun0")),))
    return Case(built, facts(built))


@breaks("LunNotInSource")
def encryption_for_missing_lun() -> Case:
    """Both regions encrypt LUN 2; the image has LUNs 0 and 1."""
    built = replace(request(), target_regions=tuple(region_target(r, luns=(0, 1, 2)) for r in ("westus", "eastus2")))
    return Case(built, facts(built))


@breaks("DataDiskNotEncrypted")
def data_disk_left_out() -> Case:
    """Policy on: both regions encrypt the OS disk and LUN 0, not LUN 1 (no earlier versions)."""
    built = replace(request(), target_regions=tuple(region_target(r, luns=(0,)) for r in ("westus", "eastus2")))
    return Case(built, facts(built, existing_versions=()), only("DataDiskNotEncrypted"))


@breaks("EncryptionDowngrade")
def back_to_platform_keys() -> Case:
    """The definition's version 1.0.0 uses CMK; this one uses none."""
    built = unencrypted(request())
    return Case(built, facts(built))


@breaks("EncryptionDowngrade")
def one_disk_back_to_platform_keys() -> Case:
    """1.0.0 encrypts LUN 1; this version encrypts the OS disk and LUN 0 only."""
    built = replace(request(), target_regions=tuple(region_target(r, luns=(0,)) for r in ("westus", "eastus2")))
    return Case(built, facts(built))


# --- the key chain behind each set (one set's chain broken: westus-os) -------------------------------------------

WEST_OS = des_id("westus", "os")
WEST_OS_VERSION = key_version_fact("westus", "westus-os")
EPOCH_NOW = int(NOW.timestamp())


def broken_chain(**changes: object) -> Case:
    return Case(request(), with_chain(keyed_facts(), WEST_OS, **changes))


def broken_key(**attributes: object) -> Case:
    return broken_chain(key_version=edited(WEST_OS_VERSION, "properties.attributes",
                                           {**WEST_OS_VERSION["properties"]["attributes"], **attributes}))


@breaks("KeyNotFound")
def key_version_deleted() -> Case:
    """The key version the set names is gone."""
    return broken_chain(key_version=None, key_found=False)


@breaks("KeyNotFound")
def vault_deleted() -> Case:
    """The vault the set names is gone."""
    return broken_chain(vault=None, vault_found=False, key_version=None)


@breaks("KeyDisabled")
def key_disabled() -> Case:
    """The key version is disabled."""
    return broken_key(enabled=False)


@breaks("KeyExpired")
def key_expired() -> Case:
    """The key version expired an hour ago."""
    return broken_key(exp=EPOCH_NOW - 3600)


@breaks("KeyNotYetValid")
def key_not_yet_valid() -> Case:
    """The key version becomes valid tomorrow."""
    return broken_key(nbf=EPOCH_NOW + 86400)


@breaks("KeyExpiringSoon")
def key_expiring() -> Case:
    """The key version expires in ten days (horizon 30)."""
    return broken_key(exp=EPOCH_NOW + 10 * 86400)


@breaks("KeyOperationsMissing")
def key_without_unwrap() -> Case:
    """The key permits encrypt, decrypt and wrapKey only."""
    return broken_chain(key_version=edited(WEST_OS_VERSION, "properties.keyOps", ["encrypt", "decrypt", "wrapKey"]))


@breaks("KeyTypeUnsupported")
def elliptic_key() -> Case:
    """An EC key."""
    return broken_chain(key_version=edited(edited(WEST_OS_VERSION, "properties.kty", "EC"), "properties.keySize", None))


@breaks("KeyTypeUnsupported")
def small_key() -> Case:
    """An RSA key of 1024 bits."""
    return broken_chain(key_version=edited(WEST_OS_VERSION, "properties.keySize", 1024))


@breaks("KeyAccessMissing")
def access_policy_without_unwrap() -> Case:
    """The set's access policy has get and wrapKey only."""
    vault = vault_fact("westus", (principal_of(WEST_OS),))
    vault["properties"]["accessPolicies"][0]["permissions"]["keys"] = ["get", "wrapKey"]
    return broken_chain(vault=vault)


@breaks("KeyAccessMissing")
def rbac_vault_without_assignment() -> Case:
    """An RBAC vault (access policies no longer count) and no role assignment for the set."""
    return broken_chain(vault=vault_fact("westus", (principal_of(WEST_OS),), rbac=True), assignments={})


@breaks("KeyVaultFirewall")
def firewall_without_trusted_services() -> Case:
    """The vault's firewall denies by default and bypasses nothing."""
    vault = vault_fact("westus", (principal_of(WEST_OS),))
    vault["properties"]["networkAcls"] = {"defaultAction": "Deny", "bypass": "None"}
    return broken_chain(vault=vault)


@breaks("KeyVaultPurgeProtection")
def vault_without_purge_protection() -> Case:
    """The vault has soft delete but no purge protection."""
    return broken_chain(vault=edited(vault_fact("westus", (principal_of(WEST_OS),)),
                                     "properties.enablePurgeProtection", False))


@breaks("KeyChainUnreadable")
def vault_read_refused() -> Case:
    """The app may not read the vault (403): only a warning, naming the action and scope."""
    unread = Unread("vault 'kv-westus'", "Microsoft.KeyVault/vaults/read", vault_id("westus"))
    return broken_chain(vault=None, key_version=None, unread=(unread,))


@breaks("KeyChainNotChecked")
def managed_hsm_key() -> Case:
    """A Managed HSM key: what ARM cannot show is said."""
    return broken_chain(vault=None, key_version=None, not_checked=("the key is in a Managed HSM",))


# --- the tests -----------------------------------------------------------------------------------------------


def _codes(found: list[policy.Finding]) -> set[str]:
    return {finding.code for finding in found}


def test_the_compliant_build_has_no_findings() -> None:
    """The base every case breaks is clean under the current profile: no error and no warning."""
    assert policy.evaluate(request(), facts(), config=CURRENT) == []


def test_every_rule_has_a_case() -> None:
    """Each registered rule code is broken by at least one case below (and no case names a stray code)."""
    assert {code for code, _ in CASES} == set(policy.RULES)


@pytest.mark.parametrize(("code", "build"), CASES, ids=[f"{code}-{build.__name__}" for code, build in CASES])
def test_rule_broken_alone_yields_exactly_its_code(code: str, build: Callable[[], Case]) -> None:
    case = build()
    found = policy.evaluate(case.request, case.facts, config=case.config)
    assert found, f"{build.__doc__} produced no finding"
    assert _codes(found) == {code}, [f.message for f in found]
    expected = policy.Severity(case.config.level(code).value)
    assert all(f.severity is expected for f in found)
    assert all(f.field and f.message for f in found)


def test_the_seed_region_mismatch_names_region_and_set_location() -> None:
    """Region eastus with eastus2 sets: one finding per use, each naming the region and where the set is."""
    built = with_region(request(), 1, name="eastus")
    found = policy.evaluate(built, facts(built, disk_encryption_sets=all_des(request())), config=CURRENT)
    assert _codes(found) == {"DiskEncryptionSetRegion"}
    assert len(found) == 3  # OS disk, LUN 0, LUN 1
    assert all("'eastus'" in f.message and "'eastus2'" in f.message for f in found)
    assert found[0].field == "targetRegions[1].encryption.osDiskImage.diskEncryptionSetId"


def test_all_or_nothing_names_the_disk_and_both_regions() -> None:
    """The message says which disk, the region missing it and the region (and set) that encrypts it."""
    case = lun_unencrypted_in_one_region()
    [finding] = policy.evaluate(case.request, case.facts, config=CURRENT)
    assert "'LUN 1' in target region 'eastus2'" in finding.message
    assert "'westus-lun1'" in finding.message and "region 'westus'" in finding.message
    assert finding.field == "targetRegions[1].encryption"


def test_lun_not_in_source_lists_the_valid_luns() -> None:
    case = encryption_for_missing_lun()
    found = policy.evaluate(case.request, case.facts, config=CURRENT)
    assert [f.field for f in found] == ["targetRegions[0].encryption.dataDiskImages[2].lun",
                                        "targetRegions[1].encryption.dataDiskImages[2].lun"]
    assert "[2]" in found[0].message and "0, 1" in found[0].message


def test_optional_rule_is_off_in_current() -> None:
    """The data-disk case is clean under the current profile, where that rule is off."""
    case = data_disk_left_out()
    assert policy.evaluate(case.request, case.facts, config=CURRENT) == []


def test_a_snapshot_source_takes_its_luns_from_the_data_snapshots() -> None:
    """With osSnapshot + data snapshots at LUN 0 and 1, encryption of LUN 1 is valid and of LUN 3 is not."""
    os_snap, data0, data1 = (f"{PREFIX}/snapshots/{n}" for n in ("os", "d0", "d1"))
    source = ImageSource("osSnapshot", os_snap, (DataDiskSource(0, data0), DataDiskSource(1, data1)))
    gathered = facts(source=snapshot_fact(os_snap),
                     data_disk_sources={0: snapshot_fact(data0), 1: snapshot_fact(data1)})
    assert policy.evaluate(request(source=source), gathered, config=CURRENT) == []
    built = replace(request(source=source), target_regions=tuple(
        region_target(r, luns=(0, 1, 3)) for r in ("westus", "eastus2")))
    assert _codes(policy.evaluate(built, facts(built, source=gathered.source,
                                               data_disk_sources=gathered.data_disk_sources),
                                  config=CURRENT)) == {"LunNotInSource"}


def test_a_missing_data_snapshot_is_reported_by_lun() -> None:
    os_snap, data0 = f"{PREFIX}/snapshots/os", f"{PREFIX}/snapshots/d0"
    source = ImageSource("osSnapshot", os_snap, (DataDiskSource(0, data0),))
    built = replace(request(source=source), target_regions=tuple(region_target(r, luns=(0,)) for r in
                                                                 ("westus", "eastus2")))
    found = policy.evaluate(built, facts(built, source=snapshot_fact(os_snap), data_disk_sources={0: None},
                                         existing_versions=()), config=CURRENT)
    assert [(f.code, f.field) for f in found] == [("SourceNotFound", "source.dataSnapshots[0].id")]


def test_end_of_life_is_compared_with_the_time_facts_were_gathered() -> None:
    """The same date is fine a day earlier and in the past a day later."""
    built = request(end_of_life_date="2030-01-01T13:00:00Z")
    assert policy.evaluate(built, facts(), config=CURRENT) == []
    later = facts(observed_at=NOW.replace(day=2))
    assert _codes(policy.evaluate(built, later, config=CURRENT)) == {"EndOfLifeDateInPast"}


def test_unencrypted_build_in_shared_gallery_is_fine() -> None:
    """Sharing only matters for encrypted versions (a new definition without CMK history)."""
    built = unencrypted(request())
    gathered = facts(built, gallery=gallery_fact("Community"), existing_versions=())
    assert policy.evaluate(built, gathered, config=CURRENT) == []
    assert policy.evaluate(built, gathered, config=load_profile("preview-2020")) == []


def test_other_subscription_sources_without_cmk_are_fine() -> None:
    other = PREFIX.replace(SUB, OTHER_SUB) + "/images/golden"
    built = request(source=ImageSource("managedImage", other))
    assert policy.evaluate(built, facts(built, source=image_fact(image_id=other)), config=CURRENT) == []
