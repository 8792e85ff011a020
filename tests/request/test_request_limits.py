"""Each input the hostile-input campaign found crashing or wrongly accepted is now a problem naming its field."""

import json

import pytest

from core.azure.regions import PUBLIC_REGIONS
from core.builds.admission import admit
from core.builds.submissions import MAX_REQUEST_BYTES, submission_from_text
from core.request import RequestInvalid, parse_request
from core.request.parse import MAX_STORED_REQUEST_CHARS, stored_size
from tests.support.builders import PREFIX, SNAPSHOT_ID, raw_request


def problems_of(raw: object) -> list[tuple[str, str]]:
    with pytest.raises(RequestInvalid) as raised:
        parse_request(raw)
    found = [(problem.field, problem.message) for problem in raised.value.problems]
    assert all(field for field, _ in found)
    assert not any("sys.set_int_max_str_digits" in message or "Traceback" in message for _, message in found)
    return found


def fields_of(raw: object) -> set[str]:
    return {field for field, _ in problems_of(raw)}


def test_an_end_of_life_at_the_edge_of_the_calendar_is_a_problem_not_an_overflow():
    found = problems_of(raw_request(endOfLifeDate="9999-12-31T23:59:59-05:00"))
    assert found == [("endOfLifeDate", "'9999-12-31T23:59:59-05:00' is outside the dates an end of life can have: "
                                       "use a year from 1970 to 9000")]


def test_a_version_part_too_long_for_int_is_a_version_problem():
    assert problems_of(raw_request(version="1.0." + "7" * 4301)) == [
        ("version", "is 4305 characters long; the limit is 2048")]
    found = problems_of(raw_request(version="1.0." + "7" * 400))
    assert [field for field, _ in found] == ["version"]
    assert "Major.Minor.Patch" in found[0][1]
    assert len(found[0][1]) < 700  # the digits are not echoed back whole


@pytest.mark.parametrize("lun", [64, 99999999999, -1])
def test_luns_are_0_to_63_in_every_shape(lun):
    des_id = f"{PREFIX}/diskEncryptionSets/des1"
    assert fields_of(raw_request(source={"osSnapshot": SNAPSHOT_ID, "dataSnapshots": [{"lun": lun, "id": SNAPSHOT_ID}]})) \
        == {"source.dataSnapshots[0].lun"}
    assert fields_of(raw_request(targetRegions=[{"name": "westus", "encryption": {
        "dataDiskImages": [{"lun": lun, "diskEncryptionSetId": des_id}]}}])) \
        == {"targetRegions[0].encryption.dataDiskImages[0].lun"}
    if lun >= 0:
        assert fields_of(raw_request(targetRegionEncryption=f"null,{lun},des1")) == {"targetRegionEncryption"}


@pytest.mark.parametrize("name", ["des\x00x", "des;x", "des=x", "des\x07x", "des\x1bx", "des\ud800x"])
def test_names_with_nul_separators_or_control_characters_are_refused(name):
    assert fields_of(raw_request(targetRegionEncryption=f"{PREFIX}/diskEncryptionSets/{name}")) \
        == {"targetRegionEncryption"}
    assert fields_of(raw_request(source={"osSnapshot": f"{PREFIX}/snapshots/{name}"})) == {"source.osSnapshot"}


@pytest.mark.parametrize("group", ["rg\u00b2", "rg\u0663", "rg\uff11"])
def test_resource_groups_of_non_ascii_digits_are_refused(group):
    assert fields_of(raw_request(resourceGroup=group)) == {"resourceGroup"}


def test_resource_groups_keep_letters_of_any_script():
    assert parse_request(raw_request(resourceGroup="Gruppe-Äß")).resource_group == "Gruppe-Äß"


def test_a_lone_surrogate_in_a_tag_is_refused_before_any_step_meets_it():
    assert fields_of(raw_request(tags={"team": "a\udc00b"})) == {"tags.team"}


def test_a_region_that_exists_nowhere_is_unknown_with_the_nearest_real_one():
    found = problems_of(raw_request(location="eastu2", targetRegions="eastu2 westus"))
    assert ("location", "unknown region 'eastu2'; did you mean 'eastus2'?") in found
    assert ("targetRegions", "entry 1 unknown region 'eastu2'; did you mean 'eastus2'?") in found


def test_regions_of_another_cloud_are_unknown_unless_configured():
    china = raw_request(location="chinaeast2", targetRegions="chinaeast2")
    assert "location" in fields_of(china)
    assert parse_request(china, known_regions=frozenset({"chinaeast2"})).location == "chinaeast2"


def test_a_small_request_with_hundreds_of_regions_is_one_problem():
    found = problems_of(raw_request(targetRegions="westus " * 250))
    assert found == [("targetRegions", "lists 250 regions; an image version has at most 100 (each region once)")]


def test_problems_are_bounded_in_number():
    found = problems_of(raw_request(tags={f"t{i}": i for i in range(45)}))
    assert len(found) == 21 and found[-1][0] == "(more)"


def _expanding_request() -> dict:
    regions = sorted(PUBLIC_REGIONS)[:20]
    entry = "d," + ",".join(f"{lun},d" for lun in range(64))
    return raw_request(location=regions[0], targetRegions=" ".join(regions),
                       targetRegionEncryption=" ".join([entry] * len(regions)),
                       source={"osSnapshot": SNAPSHOT_ID})


def test_a_request_whose_stored_form_would_not_fit_a_table_property_is_refused_up_front():
    raw = _expanding_request()
    assert len(json.dumps(raw)) < MAX_REQUEST_BYTES
    found = problems_of(raw)
    assert [field for field, _ in found] == ["(request)"]
    assert f"stores at most {MAX_STORED_REQUEST_CHARS}" in found[0][1]


def test_its_rejected_build_fits_a_table_property():
    submission = submission_from_text(json.dumps(_expanding_request()), message_id="m1")
    assert submission.problems
    decision = admit(None, submission, now=__import__("datetime").datetime(2030, 1, 1))
    assert decision.decision is not None
    assert stored_size(decision.decision.state.to_dict()) < 32_000


def test_json_nested_a_thousand_deep_with_an_identifiable_version_is_a_rejected_submission():
    raw = raw_request()
    text = json.dumps(raw)[:-1] + ', "tags": ' + "[" * 1000 + "]" * 1000 + "}"
    submission = submission_from_text(text)
    assert submission.resource_id.endswith("/versions/1.0.0")
    assert [problem["field"] for problem in submission.problems] == ["(message)"]
    assert "nested 1001 levels deep" in submission.problems[0]["message"]


def test_a_number_too_long_for_python_is_a_problem_without_python_advice():
    text = json.dumps(raw_request())[:-1] + ', "replicaCount": ' + "9" * 4301 + "}"
    submission = submission_from_text(text)
    messages = " ".join(problem["message"] for problem in submission.problems)
    assert "4301 digits" in messages and "set_int_max_str_digits" not in messages
    assert submission.request is None  # nothing unstorable is kept


def test_a_lone_surrogate_in_a_message_is_a_rejected_submission():
    text = json.dumps(raw_request(tags={"team": "\ud800"}))  # json.dumps writes the escape \\ud800
    submission = submission_from_text(text)
    assert [problem["field"] for problem in submission.problems] == ["tags.team"]


@pytest.mark.parametrize("text", ["[" * 2000 + "]" * 2000, '{"buildId": "b", "seq": 1' + "0" * 5000 + "}",
                                  '{"buildId": "b", "seq": true}', '{"buildId": "b"}'])
def test_a_malformed_step_or_snapshot_message_is_a_value_error_not_a_recursion_error(text):
    """A snapshot's intake has no message of its own any more: its steps are step messages like a build's."""
    from core.engine.messages import StepMessage

    with pytest.raises((ValueError, KeyError)):
        StepMessage.from_text(text)


@pytest.mark.parametrize(("overrides", "field"), [({"version": "x"}, "version"), ({"version": "1.0"}, "version"),
                                                  ({"galleryName": "my-gallery"}, "galleryName")])
def test_a_request_naming_its_version_badly_is_still_a_recorded_rejection(overrides, field):
    submission = submission_from_text(json.dumps(raw_request(**overrides)))
    assert [problem["field"] for problem in submission.problems] == [field]


def test_a_name_that_cannot_be_part_of_an_id_leaves_nothing_to_record():
    from core.builds.submissions import UnprocessableMessage

    with pytest.raises(UnprocessableMessage):
        submission_from_text(json.dumps(raw_request(version="a;b")))
