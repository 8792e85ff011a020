"""The re-drive timer re-sends only what is lost: never a step whose message still waits in the queue."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

from core.engine.messages import redrive_cutoff
from core.engine.runner import Runner
from tests.support.live_app import App, example

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _runner_at(app: App, moment: datetime) -> Runner:
    rt = app.runtime
    return Runner(rt.settings, rt.store, rt.queues, [rt.build_workflow], clock=lambda: moment)


def _submit(app: App, count: int) -> list[str]:
    ids = []
    for n in range(count):
        request = copy.deepcopy(example("seed-cli-managed-image.json"))
        request["version"] = f"3.0.{n}"
        ids.append(app.runtime.builds.handle_request_text(json.dumps(request)).decision.state.build_id)
    return ids


def test_a_backlog_is_not_re_driven_and_lost_messages_are(app: App):
    ids = _submit(app, 12)
    later = datetime.now(UTC) + timedelta(minutes=30)
    # Twelve step messages wait, visible, long past due (no worker runs): a backlog, not a loss.
    assert _runner_at(app, later).redrive() == []
    # The messages are gone (lost): now every build is re-driven, once.
    app.runtime.queues.get_queue_client(app.runtime.settings.step_queue).clear_messages()
    assert sorted(_runner_at(app, later).redrive()) == sorted(ids)
    # Their messages are back in the queue: the next tick re-drives nothing.
    assert _runner_at(app, later + timedelta(minutes=1)).redrive() == []


def test_a_step_not_yet_past_its_lease_and_grace_is_not_re_driven(app: App):
    _submit(app, 1)
    app.runtime.queues.get_queue_client(app.runtime.settings.step_queue).clear_messages()
    settings = app.runtime.settings
    soon = datetime.now(UTC) + timedelta(seconds=settings.step_lease_seconds + settings.redrive_grace_seconds - 3)
    assert _runner_at(app, soon).redrive() == []


def test_the_cutoff_follows_the_front_of_the_queue():
    front = NOW - timedelta(minutes=10)
    assert redrive_cutoff(NOW, None, lease_seconds=120, grace_seconds=60) == NOW - timedelta(seconds=180)
    assert redrive_cutoff(NOW, front, lease_seconds=120, grace_seconds=60) == front - timedelta(seconds=180)
    assert redrive_cutoff(NOW, NOW + timedelta(minutes=5), lease_seconds=0, grace_seconds=0) == NOW
