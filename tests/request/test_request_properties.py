"""Property tests: generated valid requests survive every conversion; arbitrary input never crashes."""

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from core.request import (
    BuildRequest,
    DataDiskEncryption,
    DataDiskSource,
    ImageSource,
    RegionTarget,
    RequestInvalid,
    parse_request,
    request_to_dict,
)
from core.request.cli_strings import render_region_encryption, render_target_region
from core.request.encryption import request_from_body, to_body
from tests.support.builders import IMAGE_ID, OTHER_VERSION_ID, PREFIX, RG, SUB, VM_ID, des, raw_request
from tests.support.strategies import (
    cli_region_encryptions,
    cli_target_regions,
    des_names,
    luns,
    region_names,
    replica_counts,
    storage_types,
)

FAST = settings(max_examples=150, deadline=None)

des_ids = st.builds(des, des_names, st.sampled_from([RG, "keys-rg"]))
data_encryption = st.lists(st.builds(DataDiskEncryption, luns, des_ids), max_size=3,
                           unique_by=lambda disk: disk.lun).map(tuple)
sources = st.one_of(
    st.just(ImageSource("managedImage", IMAGE_ID)),
    st.just(ImageSource("imageVersion", OTHER_VERSION_ID)),
    st.just(ImageSource("virtualMachine", VM_ID)),
    st.builds(
        lambda name, disks: ImageSource("osSnapshot", f"{PREFIX}/snapshots/{name}", disks),
        des_names,
        st.lists(st.builds(lambda lun, name: DataDiskSource(lun, f"{PREFIX}/disks/{name}"), luns, des_names),
                 max_size=3, unique_by=lambda disk: disk.lun).map(tuple),
    ),
)
end_of_life_dates = st.datetimes(datetime(1970, 1, 1), datetime(9000, 12, 31), timezones=st.just(UTC)).map(lambda moment: moment.isoformat().replace("+00:00", "Z"))
tag_dicts = st.dictionaries(st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True), st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=30),
                           max_size=5)


@st.composite
def build_requests(draw: st.DrawFn) -> BuildRequest:
    names = draw(st.lists(region_names, min_size=1, max_size=4, unique=True))
    regions = tuple(
        RegionTarget(name, draw(st.none() | replica_counts), draw(st.none() | storage_types),
                     draw(st.none() | des_ids), draw(data_encryption), draw(st.none() | st.booleans()))
        for name in names
    )
    encrypted = any(region.encrypted for region in regions)
    return BuildRequest(
        subscription_id=SUB, resource_group=RG, gallery_name="gal", image_definition="def",
        # major >= 1: never the 0.9.0 that the imageVersion source names (a version cannot be its own source)
        version=f"{draw(st.integers(1, 2**31 - 1))}.{draw(st.integers(0, 99))}.{draw(st.integers(0, 99))}",
        location=names[0], source=draw(sources), target_regions=regions,
        replica_count=draw(st.none() | replica_counts), storage_account_type=draw(st.none() | storage_types),
        end_of_life_date=draw(st.none() | end_of_life_dates), exclude_from_latest=draw(st.none() | st.booleans()),
        replication_mode=draw(st.sampled_from([None, "Full", "Shallow"])), tags=draw(tag_dicts),
        encryption_type=draw(st.sampled_from([None, "EncryptionAtRestWithCustomerKey"])) if encrypted else None,
    )


@FAST
@given(build_requests())
def test_the_canonical_dict_parses_back_to_the_same_request(request):
    assert parse_request(request_to_dict(request)) == request


@FAST
@given(build_requests())
def test_the_arm_body_reads_back_to_the_same_request_but_the_encryption_type(request):
    assert request_from_body(request.resource_id, to_body(request)) == replace(request, encryption_type=None)


@FAST
@given(st.lists(cli_target_regions, min_size=1, max_size=4, unique_by=lambda region: region.name), st.data())
def test_cli_strings_rendered_from_any_valid_structure_parse_back_in_a_request(regions, data):
    encryptions = [data.draw(cli_region_encryptions()) for _ in regions]
    request = parse_request(raw_request(
        location=regions[0].name,
        targetRegions=" ".join(render_target_region(region) for region in regions),
        targetRegionEncryption=" ".join(render_region_encryption(encryption) for encryption in encryptions),
    ))
    expected = tuple(
        RegionTarget(
            region.name, region.replica_count, region.storage_account_type,
            des(encryption.os_disk_encryption_set) if encryption and encryption.os_disk_encryption_set else None,
            tuple(DataDiskEncryption(lun, des(name)) for lun, name in encryption.data_disks) if encryption else (),
        )
        for region, encryption in zip(regions, encryptions, strict=True)
    )
    assert request.target_regions == expected


def _parse_or_problems(raw: object) -> None:
    try:
        parse_request(raw)
    except RequestInvalid as invalid:
        assert invalid.problems
        assert all(problem.field and problem.message for problem in invalid.problems)


cli_like_text = st.text(alphabet=st.sampled_from("westus2=,0123 _-/nulLSTADR\t"), max_size=40) | st.text(max_size=40)


@FAST
@given(cli_like_text, cli_like_text)
def test_arbitrary_cli_strings_give_a_request_or_problems_never_another_error(regions, encryption):
    _parse_or_problems(raw_request(targetRegions=regions, targetRegionEncryption=encryption))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from([
    "subscriptionId", "resourceGroup", "galleryName", "imageDefinition", "version", "location", "source",
    "targetRegions", "targetRegionEncryption", "replicaCount", "storageAccountType", "endOfLifeDate",
    "excludeFromLatest", "replicationMode", "tags", "encryptionType", "schemaVersion",
])


@FAST
@given(st.dictionaries(field_names, json_values, max_size=6))
def test_arbitrary_json_in_any_field_gives_a_request_or_problems(overrides):
    raw = raw_request()
    raw.update(overrides)
    _parse_or_problems(raw)


@FAST
@given(json_values)
def test_arbitrary_json_as_a_whole_request_gives_problems(raw):
    _parse_or_problems(raw)


@FAST
@given(st.lists(json_values | st.dictionaries(
    st.sampled_from(["name", "Name", "ReplicaCount", "encryption", "Encryption", "storageAccountType"]),
    json_values | st.dictionaries(st.sampled_from(["osDiskImage", "DataDiskImages", "x"]), json_values)),
    max_size=3))
def test_arbitrary_region_objects_give_a_request_or_problems(regions):
    _parse_or_problems(raw_request(targetRegions=regions))
