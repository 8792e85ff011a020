"""One credential and one set of ARM clients per worker process: a token is asked for once, not per step."""

from __future__ import annotations

from tests.support.live_app import App


def test_one_worker_process_asks_for_one_token_over_many_steps(app: App):
    ids = app.put_seed_builds(3, "1.0")
    before = app.sim.tokens_issued
    app.run_worker()
    steps = sum(len(app.runtime.store.history(build_id)) for build_id in ids)
    assert all(str(app.state(build_id).status) == "Succeeded" for build_id in ids)
    assert steps > 15  # many steps ran, each with ARM calls
    assert app.sim.tokens_issued - before == 1
