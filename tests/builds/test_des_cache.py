"""The disk encryption sets a validation read, kept for its retry: trusted for a bounded time, bounded in
size, stored by `decide` on a retry and dropped when the build leaves Validating (pure)."""

from __future__ import annotations

import json
from datetime import timedelta

from azure.core.exceptions import ServiceRequestError

from core.azure.arm import ArmFailure
from core.base.timestamps import utc_iso
from core.builds import des_cache as des_reads
from core.builds.decide import decide
from core.builds.events import ArmCallFailed, Validated, ValidationRejected
from core.builds.state import BuildState, BuildStatus
from tests.builds.test_decide import NOW, SETTINGS, state

BODY = {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/a",
        "location": "westus", "properties": {"encryptionType": "EncryptionAtRestWithCustomerKey",
                                             "activeKey": {"keyUrl": "https://kv.vault.azure.net/keys/k/1"}}}
TRANSIENT = ArmFailure(transient=True, status=503, code="ServiceUnavailable", message="later")


def _validating(**reads: tuple[timedelta, dict]) -> BuildState:
    return state(BuildStatus.VALIDATING, des_reads={
        key: {"at": utc_iso(NOW - age), "body": body} for key, (age, body) in reads.items()})


def test_a_kept_read_is_used_only_while_it_is_fresh():
    """Read 9 minutes ago: used; 11 minutes ago, or stamped in the future (a clock gone wrong): read again."""
    kept = _validating(a=(timedelta(minutes=9), BODY), b=(timedelta(minutes=11), BODY), c=(timedelta(minutes=-1), BODY))
    assert des_reads.usable(kept, NOW) == {"a": BODY}
    assert des_reads.usable(state(BuildStatus.VALIDATING), NOW) == {}


def test_the_record_keeps_the_time_of_an_earlier_read_and_stamps_a_new_one():
    before = _validating(a=(timedelta(minutes=5), BODY))
    later = NOW + timedelta(seconds=30)
    other = {**BODY, "location": "eastus2"}
    record = des_reads.record(before, {"a": BODY, "b": other}, later)
    assert record == {"a": before.des_reads["a"], "b": {"at": utc_iso(later), "body": other}}
    changed = des_reads.record(before, {"a": other}, later)  # read again (it had gone stale): a new time
    assert changed["a"]["at"] == utc_iso(later)


def test_the_record_is_bounded_and_what_does_not_fit_is_read_again():
    big = {**BODY, "properties": {**BODY["properties"], "padding": "x" * 2000}}
    kept = {f"des{n}": big for n in range(10)}
    record = des_reads.record(state(BuildStatus.VALIDATING), kept, NOW)
    assert 0 < len(record) < 10
    assert len(json.dumps(record, separators=(",", ":"))) <= des_reads.MAX_CHARS


def test_the_record_leaves_the_state_row_within_what_a_table_property_holds():
    """A row already large (a request at its 20,000-character limit, many duplicate submissions' message IDs)
    leaves less room: fewer sets are kept, and the row still fits."""
    large = state(BuildStatus.VALIDATING, request={"notes": "n" * 20_000}, message_ids=["m" * 36] * 100)
    kept = {f"des{n}": {**BODY, "padding": "x" * 500} for n in range(20)}
    record = des_reads.record(large, kept, NOW)
    row = json.dumps(large.replace(des_reads=record).to_dict(), separators=(",", ":"))
    assert 0 < len(record) < len(des_reads.record(state(BuildStatus.VALIDATING), kept, NOW))
    assert len(row) <= des_reads.ROW_CHARS < 32 * 1024


def test_a_failed_validation_carries_what_it_read_and_decide_keeps_it_for_the_retry():
    failed = des_reads.failed(state(BuildStatus.VALIDATING), ServiceRequestError("reset"), {"a": BODY}, NOW)
    assert failed.failure.transient and failed.des_reads == {"a": {"at": utc_iso(NOW), "body": BODY}}
    retried = decide(state(BuildStatus.VALIDATING), failed, now=NOW, settings=SETTINGS).state
    assert retried.status is BuildStatus.VALIDATING and retried.step_retries == 1
    assert des_reads.usable(retried, NOW + timedelta(seconds=5)) == {"a": BODY}
    assert BuildState.from_dict(json.loads(json.dumps(retried.to_dict()))) == retried  # it round-trips its row


def test_a_failure_without_reads_leaves_the_record_as_it_was():
    kept = _validating(a=(timedelta(minutes=1), BODY))
    retried = decide(kept, ArmCallFailed("Validating", TRANSIENT), now=NOW, settings=SETTINGS).state
    assert retried.des_reads == kept.des_reads


def test_the_record_is_dropped_when_the_build_leaves_validating():
    """Validated, Rejected, or Failed after the last retry: no set's body stays in the build's row."""
    kept = _validating(a=(timedelta(minutes=1), BODY))
    assert decide(kept, Validated(), now=NOW, settings=SETTINGS).state.des_reads == {}
    assert decide(kept, ValidationRejected(({"field": "f", "message": "m"},)), now=NOW,
                  settings=SETTINGS).state.des_reads == {}
    exhausted = kept.replace(step_retries=SETTINGS.transient_retry_limit)
    given_up = decide(exhausted, ArmCallFailed("Validating", TRANSIENT, des_reads=kept.des_reads), now=NOW,
                      settings=SETTINGS).state
    assert given_up.status is BuildStatus.FAILED and given_up.des_reads == {}
