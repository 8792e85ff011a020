"""Pre-flight checks against the ARM simulator with the real SDK and managed-identity tokens.

The simulator validates image version PUTs itself, with code written independently of the rules, so
it is the oracle for the property test: whatever the pre-flight verdict, the PUT must agree with it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest
from azure.mgmt.compute.operations._operations import build_gallery_image_versions_create_or_update_request
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from core import policy
from core.azure.arm import Arm
from core.azure.settings import Settings
from core.policy import facts as facts_module
from core.policy.enforcement import Level, load_profile
from core.request import BuildRequest, DataDiskEncryption, DataDiskSource, ImageSource, parse_request
from core.request.encryption import to_body
from simulator import Simulator

from .live_builds import VERSION_SOURCE, any_builds, build, builds_with_mistakes, region_target
from .live_world import ROOT, SUB_A, WRONG_DES, A, B, des_a, world

pytestmark = pytest.mark.integration

SEED_SUB = "00000000-0000-0000-0000-000000000000"
CREDENTIAL_ENV_PREFIXES = ("AZURE_", "IDENTITY_", "MSI_", "IMDS_", "POLICY_")


def example(name: str) -> BuildRequest:
    return parse_request(json.loads((ROOT / "examples" / name).read_text(encoding="utf-8")))


@dataclass
class Live:
    sim: Simulator
    env: dict[str, str]

    def arm(self, subscription: str, **settings: str) -> Arm:
        return Arm(Settings.from_env({**self.env, **settings}), subscription)

    def put(self, arm: Arm, request: BuildRequest) -> tuple[int, str]:
        """PUT the request's body as the create step does; the simulator's status code and answer."""
        http_request = build_gallery_image_versions_create_or_update_request(
            resource_group_name=request.resource_group, gallery_name=request.gallery_name,
            gallery_image_name=request.image_definition, gallery_image_version_name=request.version,
            subscription_id=request.subscription_id, content_type="application/json",
            content=json.dumps(to_body(request)),
        )
        response = arm.compute.send_request(http_request)
        return response.status_code, response.text()


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    """One simulator for the module; the credential environment is the simulator's identity endpoint only."""
    with pytest.MonkeyPatch.context() as patch, Simulator(world(), replication_seconds=0.2) as sim:
        for name in list(os.environ):
            if name.startswith(CREDENTIAL_ENV_PREFIXES):
                patch.delenv(name)
        for name, value in sim.env().items():
            patch.setenv(name, value)
        yield Live(sim, {**os.environ, **sim.env()})


def _codes(found: list[policy.Finding]) -> set[str]:
    return {finding.code for finding in found}


def test_seed_snapshot_example_is_rejected_for_the_region_mismatch(live: Live) -> None:
    """The seed's second CLI example puts EastUS2 sets on region eastus: rejected naming both, without a write."""
    request = example("seed-cli-snapshots.json")
    before = len(live.sim.requests)
    found = policy.check_live(request, live.arm(SEED_SUB), config=load_profile("current"))
    assert _codes(found) == {"DiskEncryptionSetRegion"}
    assert len(found) == 2  # the OS-disk set and the LUN 0 set of region eastus
    for finding in found:
        assert finding.severity is policy.Severity.ERROR
        assert "target region 'eastus'" in finding.message and "located in 'eastus2'" in finding.message
    assert {r.method for r in live.sim.requests[before:]} == {"GET"}
    # The simulator, asked directly, refuses the same PUT.
    status, answer = live.put(live.arm(SEED_SUB), request)
    assert status == 400 and "EastUS2DiskEncryptionSet1" in answer


def test_seed_managed_image_example_passes(live: Live) -> None:
    """The seed's first CLI example is clean against the seed's world."""
    assert policy.check_live(example("seed-cli-managed-image.json"), live.arm(SEED_SUB),
                             config=load_profile("current")) == []


def test_check_live_uses_the_policy_settings_of_its_environment(live: Live) -> None:
    """POLICY_PROFILE=preview-2020 in the app settings: the replicated CMK image breaks the 2020 rule."""
    arm = live.arm(SEED_SUB, POLICY_PROFILE="preview-2020")
    assert _codes(policy.check_live(example("seed-cli-managed-image.json"), arm)) == {"CustomerKeyImageReplicated"}


def test_gather_reads_each_distinct_resource_once(live: Live) -> None:
    """Snapshot example: 4 DES, gallery, definition, the version list, 2 snapshots - 9 GETs - and their key
    chains: the 2 vaults (access-policy vaults: no role reads) and the 4 key versions; 15 GETs, none twice."""
    before = len(live.sim.requests)
    facts_module.gather(live.arm(SEED_SUB), example("seed-cli-snapshots.json"))
    paths = [r.path.lower() for r in live.sim.requests[before:] if "/oauth2/" not in r.path]
    assert len(paths) == len(set(paths)) == 15, paths
    kinds = Counter(path.split("/providers/microsoft.")[1].split("/")[1] if "/keys/" not in path else "keyversions"
                    for path in paths)
    assert kinds == {"diskencryptionsets": 4, "galleries": 3, "snapshots": 2, "vaults": 2, "keyversions": 4}


def test_sources_in_another_subscription_are_read_there(live: Live) -> None:
    """An encrypted managed image of subscription B as the source of a build in A: rejected, as ARM would."""
    request = build(ImageSource("managedImage", f"{B}/images/img-other-cmk"), (region_target("westus", os=True),))
    found = policy.check_live(request, live.arm(SUB_A), config=load_profile("current"))
    assert _codes(found) == {"EncryptedSourceSubscription"}
    status, _ = live.put(live.arm(SUB_A), request)
    assert status == 400


# --- property: the pre-flight verdict agrees with the simulator's answer to the PUT ---------------------------

# Rules the simulator does not model (it has no notion of them), left out of the comparison:
NOT_MODELLED = (
    "EndOfLifeDateInPast", "EncryptionTypeMismatch", "DiskEncryptionSetNoActiveKey",
    "DiskEncryptionSetKeyRotationFailed", "EncryptionDowngrade", "EncryptedSourceImageVersion",
    "TargetVersionExists", "TargetVersionFailed", "SourceOsTypeMismatch", "SourceGenerationMismatch",
    "ConfidentialImageEncryption", "CustomerKeyImageReplicated", "CustomerKeyImageShared", "DataDiskNotEncrypted",
)
COMPARED = load_profile("current").with_levels({code: Level.OFF for code in NOT_MODELLED}, name="compared")


def _careful() -> BuildRequest:
    """img-westus (LUNs 0, 1) to westus and eastus2, every disk encrypted with a set of its region."""
    return build(ImageSource("managedImage", f"{A}/images/img-westus"),
                 tuple(region_target(name, os=True, luns=(0, 1)) for name in ("westus", "eastus2")))


def _in_region(request: BuildRequest, index: int, **changes: object) -> BuildRequest:
    regions = list(request.target_regions)
    regions[index] = replace(regions[index], **changes)
    return replace(request, target_regions=tuple(regions))


def _with_data(request: BuildRequest, index: int, *disks: DataDiskEncryption) -> BuildRequest:
    return _in_region(request, index, data_disk_encryption=(*request.target_regions[index].data_disk_encryption,
                                                             *disks))


SINGLE_MISTAKES: list[tuple[str, Callable[[BuildRequest], BuildRequest]]] = [
    ("DiskEncryptionSetRegion", lambda r: _in_region(r, 1, os_disk_encryption_set_id=des_a("des-westus-b"))),
    ("DiskEncryptionSetNotFound", lambda r: _in_region(r, 0, os_disk_encryption_set_id=WRONG_DES[0])),
    ("DiskEncryptionSetSubscription", lambda r: _in_region(r, 0, os_disk_encryption_set_id=WRONG_DES[1])),
    ("DiskEncryptionMissingInRegion", lambda r: _in_region(r, 1, os_disk_encryption_set_id=None)),
    ("LunNotInSource", lambda r: _with_data(_with_data(r, 0, DataDiskEncryption(5, des_a("des-westus-a"))), 1,
                                            DataDiskEncryption(5, des_a("des-eastus2-a")))),
    ("DuplicateLun", lambda r: _with_data(r, 1, DataDiskEncryption(0, des_a("des-eastus2-b")))),
    ("DuplicateRegion", lambda r: replace(r, target_regions=(*r.target_regions, replace(r.target_regions[0],
                                                                                        name="West US")))),
    ("LocationNotInTargetRegions", lambda r: replace(r, target_regions=r.target_regions[1:])),
    ("SourceNotFound", lambda r: replace(r, source=ImageSource("managedImage", f"{A}/images/img-missing"))),
    ("SourceLocation", lambda r: replace(r, source=ImageSource("osSnapshot", f"{A}/snapshots/data-eastus"),
                                         target_regions=tuple(replace(t, data_disk_encryption=())
                                                              for t in r.target_regions))),
    ("EncryptionNotSupportedForSource", lambda r: replace(
        r, source=ImageSource("imageVersion", f"{VERSION_SOURCE}/0.1.0"),
        target_regions=tuple(replace(t, data_disk_encryption=t.data_disk_encryption[:1]) for t in r.target_regions))),
    ("EncryptedSourceSubscription", lambda r: replace(
        r, source=ImageSource("managedImage", f"{B}/images/img-other-cmk"),
        target_regions=tuple(replace(t, data_disk_encryption=t.data_disk_encryption[:1]) for t in r.target_regions))),
    ("SharedGalleryEncryption", lambda r: replace(r, gallery_name="direct")),
    ("SharedGalleryEncryption", lambda r: replace(r, gallery_name="community")),
    ("GalleryNotFound", lambda r: replace(r, gallery_name="absent")),
    ("ImageDefinitionNotFound", lambda r: replace(r, image_definition="windows")),
    ("DuplicateSourceDisk", lambda r: replace(r, source=ImageSource("osSnapshot", f"{A}/snapshots/os-westus", (
        DataDiskSource(0, f"{A}/snapshots/data-westus-0"), DataDiskSource(1, f"{A}/snapshots/os-westus"))))),
    ("ReplicaCountOutOfRange", lambda r: _in_region(r, 1, replica_count=101)),
    ("StorageAccountTypeInvalid", lambda r: _in_region(r, 0, storage_account_type="Premium_ZRS")),
    ("VersionNameInvalid", lambda r: replace(r, version=r.version.rsplit(".", 1)[0])),
]


def test_the_careful_build_is_accepted_by_both(live: Live) -> None:
    arm = live.arm(SUB_A)
    request = _careful()
    assert policy.check_live(request, arm, config=COMPARED) == []
    assert live.put(arm, request)[0] == 201


@pytest.mark.parametrize(("code", "mistake"), SINGLE_MISTAKES, ids=[c for c, _ in SINGLE_MISTAKES])
def test_each_modelled_rule_broken_alone_is_refused_by_the_simulator_too(
        live: Live, code: str, mistake: Callable[[BuildRequest], BuildRequest]) -> None:
    """One mistake in the careful build: exactly that code before the PUT, and a 4xx from the PUT itself."""
    arm = live.arm(SUB_A)
    request = mistake(_careful())
    assert _codes(policy.check_live(request, arm, config=COMPARED)) == {code}
    status, answer = live.put(arm, request)
    assert 400 <= status < 500, answer


def test_preflight_verdict_agrees_with_the_simulator(live: Live) -> None:
    """For random regions, DES, LUNs, sources and galleries, "any error finding" == "the PUT is refused".

    Rules the simulator does not model are left out of the comparison (NOT_MODELLED: the end-of-life
    date, the DES encryption type and keys, no going back to platform keys, a CMK version as source,
    an existing target version, OS type and generation, and the profile-only rules); every other rule
    is compared. Each example uses a fresh version number, so no PUT is an update of an earlier one.
    """
    arm = live.arm(SUB_A)
    outcomes: Counter[bool] = Counter()
    compared_codes: set[str] = set()

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(builds_with_mistakes(), builds_with_mistakes(), builds_with_mistakes(), any_builds()))
    def agree(request: BuildRequest) -> None:
        found = policy.check_live(request, arm, config=COMPARED)
        errors = [f for f in found if f.severity is policy.Severity.ERROR]
        status, answer = live.put(arm, request)
        note(f"request: {request}\nfindings: {[f.to_dict() for f in found]}\nPUT {status}: {answer[:600]}")
        assert status in (200, 201) or 400 <= status < 500, answer
        accepted = status in (200, 201)
        assert accepted == (not errors), (
            f"pre-flight said {'reject' if errors else 'accept'} ({[f.code for f in errors]}), "
            f"the simulator answered {status}: {answer[:300]}")
        outcomes[accepted] += 1
        compared_codes.update(f.code for f in errors)

    agree()
    # The generator is not degenerate: both verdicts, and many different rules, were exercised.
    assert outcomes[True] >= 5 and outcomes[False] >= 5, outcomes
    assert len(compared_codes) >= 10, compared_codes
