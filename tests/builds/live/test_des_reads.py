"""Each disk encryption set is read once per build, even when validation fails on a transient error and is
tried again: the sets read before the failure are kept in the build's state. Real faults in the ARM simulator,
the real worker, Azurite; the simulator's request log counts the reads."""

from __future__ import annotations

from collections import Counter

from simulator import Fault
from tests.builds.live.test_change_regions import _change, _publish_west_only, _submit
from tests.support.live_app import App, example

SEED = "seed-cli-managed-image.json"
# The SDK tries a read three times (retry_total 2) before the step sees the failure.
TRIES = 3
SETS = ("westusdiskencryptionset1", "westusdiskencryptionset2", "eastus2diskencryptionset1",
        "eastus2diskencryptionset2")


def _des_reads(app: App, since: int = 0) -> list[tuple[str, int | None]]:
    """(set name, answer status) of each DES GET, in order."""
    return [(r.path.rsplit("/", 1)[-1].lower(), r.status) for r in app.sim.requests[since:]
            if r.method == "GET" and "/diskencryptionsets/" in r.path.lower()]


def _retried_validation(app: App, build_id: str) -> None:
    state = app.state(build_id)
    assert str(state.status) == "Succeeded", (state.error, state.problems)
    assert state.des_reads == {}  # nothing of the sets stays in the row after validation
    retries = [h for h in app.runtime.store.history(build_id) if h.kind == "RetryScheduled"]
    assert [h.detail["action"] for h in retries] == ["Validating"]


def test_a_failure_after_every_set_was_read_reads_none_again(app: App):
    """The gallery read (after the four sets) fails with 500, inline retries included: the retry reads no set."""
    app.sim.inject(Fault(method="GET", path_regex=r"/galleries/MyGallery$", status=500, times=TRIES))
    build_id = app.put_request(example(SEED))
    app.run_worker()
    _retried_validation(app, build_id)
    assert _des_reads(app) == [(name, 200) for name in SETS]


def test_a_failure_on_the_third_set_reads_only_that_set_and_the_fourth_again(app: App):
    app.sim.inject(Fault(method="GET", path_regex=r"/diskEncryptionSets/EastUS2DiskEncryptionSet1$", status=503,
                         times=TRIES))
    build_id = app.put_request(example(SEED))
    app.run_worker()
    _retried_validation(app, build_id)
    reads = _des_reads(app)
    assert reads == [(SETS[0], 200), (SETS[1], 200), *[(SETS[2], 503)] * TRIES, (SETS[2], 200), (SETS[3], 200)]
    assert Counter(name for name, status in reads if status == 200) == Counter(SETS)


def test_a_change_of_regions_keeps_its_sets_across_a_retry_too(app: App):
    """The change's validation reads the version, then every set of the planned version (the kept region's and
    the added one's); the last one fails: the retry reads only that one."""
    _publish_west_only(app)
    since = len(app.sim.requests)
    app.sim.inject(Fault(method="GET", path_regex=r"/diskEncryptionSets/EastUS2DiskEncryptionSet2$", status=500,
                         times=TRIES))
    build_id = _submit(app, _change(addRegions="eastus2",
                                    addRegionEncryption="EastUS2DiskEncryptionSet1,0,EastUS2DiskEncryptionSet2"))
    app.run_worker()
    _retried_validation(app, build_id)
    assert _des_reads(app, since) == [*[(name, 200) for name in SETS[:3]], *[(SETS[3], 500)] * TRIES, (SETS[3], 200)]


def test_the_key_chains_read_before_a_failure_are_not_read_again(app: App):
    """The gallery read (after the sets and their key chains) fails: the retry reads no vault or key version
    again; each of the two vaults and four key versions is read once in the whole build."""
    app.sim.inject(Fault(method="GET", path_regex=r"/galleries/MyGallery$", status=500, times=TRIES))
    build_id = app.put_request(example(SEED))
    app.run_worker()
    _retried_validation(app, build_id)
    reads = [r.path.lower() for r in app.sim.requests if r.method == "GET" and "/microsoft.keyvault/" in r.path.lower()]
    assert len(reads) == len(set(reads)) == 6
