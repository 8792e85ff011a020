"""ARM's token buckets (per subscription and principal, and Compute's per operation group), and the faults
that lose or delay the answer of a request the server did carry out."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from simulator import BucketSpec, Fault, Simulator, ThrottleSpec
from simulator.throttling import Throttle

from .helpers import COMPUTE, SEED, SEED_TARGETS, SUB, raw, token, version_body

DES_PATH = f"{COMPUTE}/diskEncryptionSets/WestUSDiskEncryptionSet1"
VERSIONS = f"{COMPUTE}/galleries/MyGallery/images/MyImage/versions"


@pytest.fixture(scope="module")
def tight() -> Iterator[Simulator]:
    """Reads: a bucket of 5 refilled 2/s; writes: 3 refilled 1/s."""
    spec = ThrottleSpec(reads=BucketSpec(5, 2), writes=BucketSpec(3, 1))
    with Simulator(SEED, replication_seconds=0.5, throttling=spec) as simulator:
        yield simulator


def test_reads_drain_the_bucket_then_429_with_retry_after(tight):
    access = token(tight)
    answers = []  # until the first 429: 5 in the bucket, and what refills while they run on a loaded machine
    while not answers or (answers[-1].status_code != 429 and len(answers) < 50):
        answers.append(raw(tight, "GET", DES_PATH, token=access))
    assert len(answers) >= 6
    remaining = [a.headers.get("x-ms-ratelimit-remaining-subscription-reads") for a in answers[:4]]
    assert [int(r) for r in remaining] == sorted((int(r) for r in remaining), reverse=True)
    assert int(remaining[0]) == 4
    assert answers[-1].status_code == 429
    error = answers[-1].json()["error"]
    assert error["code"] == "SubscriptionRequestsThrottled"
    assert f"subscription '{SUB}'" in error["message"] and "'read' requests" in error["message"]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[-1].headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    time.sleep(1.2)  # two tokens come back
    assert raw(tight, "GET", DES_PATH, token=access).status_code == 200


def test_writes_have_their_own_bucket(tight):
    access = token(tight)
    time.sleep(2.5)
    answer = raw(tight, "PUT", f"{VERSIONS}/7.0.1", token=access, json=version_body(SEED_TARGETS))
    assert answer.status_code == 201
    assert "x-ms-ratelimit-remaining-subscription-writes" in answer.headers
    assert "x-ms-ratelimit-remaining-subscription-reads" not in answer.headers
    assert "CreateUpdateGalleryImageVersion3Min;" in answer.headers["x-ms-ratelimit-remaining-resource"]


def test_compute_operation_bucket_throttles_with_its_own_code():
    throttle = Throttle(ThrottleSpec(compute_reads=(2, 100)))
    verdicts = [throttle.admit(SUB, "app", "GET", "GetGalleryImageVersion", 10.0) for _ in range(3)]
    assert [v.error is None for v in verdicts] == [True, True, False]
    error = verdicts[2].error
    assert error is not None and error.status == 429 and error.code == "OperationNotAllowed"
    assert error.details and error.details[0]["code"] == "TooManyRequests"
    assert error.details[0]["target"] == "GetGalleryImageVersion3Min"
    assert verdicts[1].headers["x-ms-ratelimit-remaining-resource"] == (
        "Microsoft.Compute/GetGalleryImageVersion3Min;0,Microsoft.Compute/GetGalleryImageVersion30Min;98"
    )


def test_buckets_are_per_principal_and_refill_over_time():
    throttle = Throttle(ThrottleSpec(reads=BucketSpec(2, 1)))
    assert [throttle.admit(SUB, "a", "GET", None, 0.0).error is None for _ in range(3)] == [True, True, False]
    assert throttle.admit(SUB, "b", "GET", None, 0.0).error is None  # another principal, another bucket
    assert throttle.admit(SUB, "a", "GET", None, 1.0).error is None  # one token a second
    assert throttle.throttled["reads"] == 1


def test_no_throttling_by_default(sim):
    access = token(sim)
    assert all(raw(sim, "GET", DES_PATH, token=access).status_code == 200 for _ in range(30))


def test_reset_after_acting_stores_the_put_but_answers_nothing(sim):
    sim.inject(Fault(method="PUT", path_regex=r"/versions/7\.0\.2$", reset_connection=True, after_acting=True))
    with pytest.raises(requests.ConnectionError):
        raw(sim, "PUT", f"{VERSIONS}/7.0.2", token=token(sim), json=version_body(SEED_TARGETS))
    assert sim.requests[-1].status == 0
    stored = raw(sim, "GET", f"{VERSIONS}/7.0.2", token=token(sim))
    assert stored.status_code == 200
    assert stored.json()["properties"]["provisioningState"] in ("Creating", "Succeeded")


def test_slow_answer_after_acting_times_the_client_out_but_the_put_took_effect(sim):
    sim.inject(Fault(method="PUT", path_regex=r"/versions/7\.0\.3$", delay_seconds=2, after_acting=True))
    access = token(sim)
    with pytest.raises(requests.Timeout):
        requests.put(sim.endpoint + f"{VERSIONS}/7.0.3", params={"api-version": "2026-03-03"},
                     headers={"Authorization": f"Bearer {access}"}, json=version_body(SEED_TARGETS),
                     verify=sim.ca_file, timeout=0.5)
    assert raw(sim, "GET", f"{VERSIONS}/7.0.3", token=access).status_code == 200


def test_after_acting_takes_no_status():
    with pytest.raises(ValueError, match="after_acting"):
        Fault(status=500, after_acting=True)
