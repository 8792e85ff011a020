"""The step queue's message delays (pure)."""

from __future__ import annotations

from core.engine.messages import MAX_DELAY_SECONDS, visibility_seconds


def test_a_step_message_is_never_visible_before_its_step_is_due():
    """Queue visibility counts whole seconds: a budget slot 2.3 s away waits 3 s, not 2 (a step that starts
    early spends tokens the bucket does not hold yet)."""
    assert [visibility_seconds(d) for d in (0.0, 0.01, 2.0, 2.3, -4.0)] == [0, 1, 2, 3, 0]
    assert visibility_seconds(30 * 24 * 3600) == MAX_DELAY_SECONDS
