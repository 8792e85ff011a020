"""The list query of the HTTP API: parameters (Durable's names), the Table filter, continuation tokens."""

import pytest

from core.builds.state import BuildState, BuildStatus
from core.entry.http.list_parameters import decode_continuation, encode_continuation, parse_list_query

VERSION = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/MyImage/versions/1.0.0"


def state(created_at: str, resource_id: str = VERSION) -> BuildState:
    return BuildState("b", resource_id, BuildStatus.FAILED, created_at, created_at)


def test_statuses_any_case_become_one_table_filter_with_spaced_parameters():
    query, problems = parse_list_query({"runtimeStatus": "failed, Rejected,failed"}, None)
    assert problems == []
    assert query.statuses == (BuildStatus.FAILED, BuildStatus.REJECTED)
    text, parameters = query.table_filter()
    assert text == "RowKey eq @rk and ( Status eq @s0 or Status eq @s1 )"
    assert parameters == {"rk": "state", "s0": "Failed", "s1": "Rejected"}


def test_time_and_image_filters_apply_to_the_state():
    query, _ = parse_list_query({"createdTimeFrom": "2026-12-01", "createdTimeTo": "2026-12-02T00:00:00+01:00",
                                 "image": "myimage"}, None)
    assert query.created_from == "2026-12-01T00:00:00.000Z" and query.created_to == "2026-12-01T23:00:00.000Z"
    assert query.matches(state("2026-12-01T10:00:00.000Z"))
    assert not query.matches(state("2026-11-30T10:00:00.000Z"))
    assert not query.matches(state("2026-12-01T23:30:00.000Z"))
    assert not query.matches(state("2026-12-01T10:00:00.000Z", VERSION.replace("MyImage", "Other")))
    by_id, _ = parse_list_query({"image": VERSION.rsplit("/versions/", 1)[0].upper()}, None)
    assert by_id.matches(state("2026-12-01T10:00:00.000Z"))


def test_every_bad_parameter_is_one_problem_naming_it():
    _, problems = parse_list_query({"runtimeStatus": "Done", "top": "5000", "createdTimeTo": "later", "x": "1"},
                                   "not-a-token")
    assert [p["field"] for p in problems] == ["x", "runtimeStatus", "createdTimeTo", "top", "x-ms-continuation-token"]
    assert "Succeeded" in problems[1]["message"] and "1 to 1000" in problems[3]["message"]


@pytest.mark.parametrize("token", [{"NextPartitionKey": "1!8!YWJj", "NextRowKey": "1!8!c3RhdGU-"}])
def test_a_continuation_token_round_trips(token):
    encoded = encode_continuation(token)
    assert encoded and "=" not in encoded.rstrip("=")
    assert decode_continuation(encoded) == token
    assert encode_continuation(None) is None
