"""Property-based fuzzing, bounded for the suite: no exception but the documented one, every problem names
a field, and every accepted request's body holds only valid resource IDs and known regions.
A longer run with counts: .venv/bin/python -m bench.fuzz."""

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hardening import fuzz_targets as targets

BOUNDED = settings(max_examples=120, deadline=None)


@BOUNDED
@given(targets.requests(), st.sampled_from([0, 0, 40, 1000]))
def test_request_messages(raw, depth):
    assert targets.check_request_text(targets.request_text(raw, depth)) is None


@BOUNDED
@given(st.one_of(targets.requests(), targets.json_values))
def test_request_objects(raw):
    assert targets.check_request_object(raw) is None


@BOUNDED
@given(targets.events)
def test_events(event):
    assert targets.check_event(event) is None


@BOUNDED
@given(targets.tags)
def test_snapshot_tags(tag_map):
    assert targets.check_tags(tag_map) is None


@BOUNDED
@given(targets.templates)
def test_templates(data):
    assert targets.check_template(data) is None
