"""The step queue's message: its delays, the state it carries (pure)."""

from __future__ import annotations

import json

import pytest

from core.engine.messages import MAX_CARRYING_BYTES, MAX_DELAY_SECONDS, Carried, StepMessage, visibility_seconds


def test_a_step_message_is_never_visible_before_its_step_is_due():
    """Queue visibility counts whole seconds: a budget slot 2.3 s away waits 3 s, not 2 (a step that starts
    early spends tokens the bucket does not hold yet)."""
    assert [visibility_seconds(d) for d in (0.0, 0.01, 2.0, 2.3, -4.0)] == [0, 1, 2, 3, 0]
    assert visibility_seconds(30 * 24 * 3600) == MAX_DELAY_SECONDS


def _carrying(state_text: str = '{"step_seq":3}') -> StepMessage:
    return StepMessage("b1", 3, "2026-12-07T12:00:00Z", Carried("builds", state_text, 'W/"datetime\'2026\'"'))


def test_a_step_message_without_a_state_reads_as_before():
    text = StepMessage("b1", 3, "2026-12-07T12:00:00Z").to_text()
    assert json.loads(text) == {"buildId": "b1", "seq": 3, "due": "2026-12-07T12:00:00Z"}
    assert StepMessage.from_text(text) == StepMessage("b1", 3, "2026-12-07T12:00:00Z")
    assert StepMessage.from_text('{"buildId": "b1", "seq": 3}').carried is None


def test_a_step_message_carries_its_state_and_etag():
    message = _carrying('{"step_seq":3,"detail":"镜像 🚀"}')
    text = message.to_text()
    assert text.isascii()  # so its length is its size in bytes
    assert StepMessage.from_text(text) == message


def test_a_state_too_large_to_carry_is_left_out():
    message = _carrying(json.dumps({"big": "x" * MAX_CARRYING_BYTES}))
    text = message.to_text()
    assert len(text) < 200
    assert StepMessage.from_text(text) == StepMessage("b1", 3, "2026-12-07T12:00:00Z")
    # Non-ASCII counts as its escapes: 9,000 CJK characters are 54,000 bytes of the message.
    assert StepMessage.from_text(_carrying(json.dumps({"t": "镜" * 9000}, ensure_ascii=False)).to_text()).carried is None


@pytest.mark.parametrize("extra", [
    {"workflow": "builds", "state": {"step_seq": 3}, "etag": "e"},  # a state that is not JSON text
    {"workflow": 7, "state": "{}", "etag": "e"},
    {"workflow": "builds", "state": "{}"},  # no ETag
    {"workflow": "builds", "state": "", "etag": "e"},
    {"workflow": "builds", "state": "{}", "etag": ["e"]},
])
def test_a_carried_state_that_cannot_be_read_is_taken_as_absent(extra):
    text = json.dumps({"buildId": "b1", "seq": 3, **extra})
    assert StepMessage.from_text(text) == StepMessage("b1", 3)


@pytest.mark.parametrize("text", ['{"buildId": "b1", "seq": "3", "workflow": "builds", "state": "{}", "etag": "e"}',
                                  '{"seq": 3, "workflow": "builds", "state": "{}", "etag": "e"}', "not json"])
def test_a_step_message_malformed_as_before_is_still_malformed(text):
    with pytest.raises((ValueError, KeyError, TypeError)):
        StepMessage.from_text(text)
