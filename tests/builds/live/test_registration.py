"""The registration step against the simulator, through the real worker (issue 5)."""

from __future__ import annotations

from simulator import Fault
from tests.support.live_app import App, example

SEED = "seed-cli-managed-image.json"


def test_ten_builds_in_one_subscription_make_one_feature_register_call(app: App):
    ids = app.put_seed_builds(10, "2.0")
    app.run_worker(timeout=240)
    assert [str(app.state(b).status) for b in ids] == ["Succeeded"] * 10
    assert app.sim.count("POST", "/features/SIGEncryption/register") == 1
    assert app.sim.count("POST", "/providers/Microsoft.Compute/register") == 1
    # One build per poll interval (1 s here) reads ARM while the others wait on the subscription's row.
    feature_reads = [r for r in app.sim.requests if r.method == "GET" and r.path.endswith("/features/SIGEncryption")]
    assert 1 <= len(feature_reads) <= 4, len(feature_reads)  # each of the ten read it at least once before


def test_a_feature_the_subscription_does_not_know_is_not_required(app: App):
    app.env["REQUIRED_FEATURES"] = "Microsoft.Compute/NoSuchPreview"
    build_id = app.put_request(example(SEED))
    app.run_worker()
    assert str(app.state(build_id).status) == "Succeeded"
    notes = [h.detail for h in app.runtime.store.history(build_id) if h.kind == "RegistrationComplete"]
    assert "not required" in " ".join(notes[0]["notes"])
    assert app.sim.count("POST", "/register") == 0


def test_a_refused_register_call_names_the_missing_permission(app: App):
    app.sim.inject(Fault(method="POST", path_regex="features/SIGEncryption/register", status=403,
                         error_code="AuthorizationFailed", message="no", times=None))  # fmt: skip
    build_id = app.put_request(example(SEED))
    app.run_worker()
    state = app.state(build_id)
    assert str(state.status) == "Failed"
    assert "Microsoft.Features/providers/features/register/action" in state.error["message"]
    assert app.puts() == []
