"""The JSON Schema of request v1 and the parser agree: same fields, and whatever the parser accepts the schema
accepts (examples, generated requests in every shape, arbitrary JSON in any field).

A field added to the parser and not to core/request/schema.json fails here with the field named."""

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from core.request import RequestInvalid, parse_request, request_to_dict
from core.request.model import TOP_LEVEL_FIELDS
from core.request.reader import DATA_DISK_FIELDS, ENCRYPTION_FIELDS, OS_DISK_FIELDS, REGION_FIELDS, SOURCE_FIELDS
from core.request.schema import SCHEMA_PATH, request_schema
from tests.request.test_examples import regions_of
from tests.request.test_request_properties import build_requests, field_names, json_values
from tests.support.builders import raw_request
from tests.support.strategies import randomly_cased

FAST = settings(max_examples=150, deadline=None)
EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.json"))
SCHEMA = request_schema()
VALIDATOR = Draft202012Validator(SCHEMA)
FIX = f"add it to {SCHEMA_PATH.relative_to(Path(__file__).parents[2])} (and to its test here)"


def parses(raw: object, known_regions: frozenset[str] | None = None) -> bool:
    try:
        parse_request(raw) if known_regions is None else parse_request(raw, known_regions=known_regions)
    except RequestInvalid:
        return False
    return True


def schema_errors(raw: object) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path)) or '(request)'}: {error.message}"
            for error in VALIDATOR.iter_errors(raw)]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(SCHEMA)


def _object_fields(schema: dict) -> set[str]:
    return set(schema["properties"])


def _nonnull(schema: dict) -> dict:
    """The non-null alternative of a nullable schema."""
    return next((s for s in schema.get("anyOf", []) if s.get("type") != "null"), schema)


@pytest.mark.parametrize(("where", "schema_fields", "parser_fields"), [
    ("request", lambda s: _object_fields(s), TOP_LEVEL_FIELDS),
    ("source", lambda s: _object_fields(s["properties"]["source"]), SOURCE_FIELDS),
    ("targetRegions[]", lambda s: _object_fields(_nonnull(s["properties"]["targetRegions"])["anyOf"][1]["items"]["anyOf"][1]),
     REGION_FIELDS),
])  # fmt: skip
def test_the_schema_has_exactly_the_parsers_fields(where, schema_fields, parser_fields):
    in_schema = schema_fields(SCHEMA)
    missing = sorted(set(parser_fields) - in_schema)
    extra = sorted(in_schema - set(parser_fields))
    assert not missing, f"{where}: the parser reads {missing} but the schema does not describe them: {FIX}"
    assert not extra, f"{where}: the schema describes {extra} but the parser does not read them: remove them"


def test_the_encryption_objects_have_exactly_the_parsers_fields():
    region = _nonnull(SCHEMA["properties"]["targetRegions"])["anyOf"][1]["items"]["anyOf"][1]
    encryption = _nonnull(region["properties"]["encryption"])
    assert set(encryption["properties"]) == set(ENCRYPTION_FIELDS), FIX
    assert set(_nonnull(encryption["properties"]["osDiskImage"])["properties"]) == set(OS_DISK_FIELDS), FIX
    data = _nonnull(encryption["properties"]["dataDiskImages"])["items"]
    assert set(data["properties"]) == set(DATA_DISK_FIELDS), FIX


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_valid_for_both(path):
    raw = json.loads(path.read_text())
    assert schema_errors(raw) == []
    assert parses(raw, regions_of(path.name))


def test_a_schema_reference_in_a_request_file_is_accepted_by_both():
    raw = raw_request(**{"$schema": "../core/request/schema.json"})
    assert schema_errors(raw) == [] and parses(raw)


@FAST
@given(build_requests())
def test_every_generated_request_in_canonical_form_is_valid_for_the_schema(request):
    assert schema_errors(request_to_dict(request)) == []


def _recase(draw: st.DrawFn, value: object) -> object:
    if isinstance(value, dict):
        return {randomly_cased(draw, key): _recase(draw, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_recase(draw, item) for item in value]
    return value


@FAST
@given(build_requests(), st.data())
def test_generated_powershell_style_regions_keys_in_any_case_are_valid_for_both(request, data):
    raw = request_to_dict(request)
    if isinstance(raw.get("targetRegions"), list):
        raw["targetRegions"] = [_recase(data.draw, region) for region in raw["targetRegions"]]
    assert parses(raw)
    assert schema_errors(raw) == []


@FAST
@given(st.dictionaries(field_names, json_values, max_size=6))
@example({"targetRegionEncryption": [None]})  # a region without encryption, as the parser's message advises
def test_whatever_the_parser_accepts_in_any_field_the_schema_accepts(overrides):
    raw = raw_request()
    raw.update(overrides)
    if parses(raw):
        assert schema_errors(raw) == [], f"the parser accepts {raw!r}"


@FAST
@given(st.lists(json_values | st.dictionaries(
    st.sampled_from(["name", "Name", "ReplicaCount", "encryption", "Encryption", "storageAccountType", "LUN"]),
    json_values | st.dictionaries(st.sampled_from(["osDiskImage", "DataDiskImages", "x"]), json_values)),
    max_size=3))
def test_whatever_region_objects_the_parser_accepts_the_schema_accepts(regions):
    raw = raw_request(location="westus", targetRegions=regions)
    if parses(raw):
        assert schema_errors(raw) == [], f"the parser accepts {raw!r}"


@FAST
@given(st.text(min_size=1, max_size=20).filter(lambda key: key not in TOP_LEVEL_FIELDS), json_values)
def test_an_unknown_field_is_refused_by_both(key, value):
    raw = raw_request()
    raw[key] = value
    assert not parses(raw)
    assert schema_errors(raw)


@pytest.mark.parametrize("field", ["subscriptionId", "resourceGroup", "galleryName", "imageDefinition", "version",
                                   "location", "source"])
def test_a_missing_required_field_is_refused_by_both(field):
    raw = raw_request(**{field: None})
    assert not parses(raw)
    assert any("required" in error for error in schema_errors(raw))
