"""The pure part of the registration step: what to do given what ARM says and what others claimed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.base.timestamps import utc_iso
from core.builds.registration import NOT_REQUIRED, SubscriptionRecord, plan

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FEATURE = "Microsoft.Compute/SIGEncryption"


def test_not_registered_feature_is_registered():
    p = plan(SubscriptionRecord(), {FEATURE: "NotRegistered"}, "Registered", NOW)
    assert p.register_features == (FEATURE,) and not p.complete and not p.register_provider


def test_feature_claimed_by_another_build_is_not_registered_twice():
    record = SubscriptionRecord(feature_claims={FEATURE: utc_iso(NOW - timedelta(seconds=10))})
    p = plan(record, {FEATURE: "NotRegistered"}, "Registered", NOW)
    assert p.register_features == () and not p.complete
    assert "already requested" in p.notes[0]


def test_stale_claim_is_taken_over():
    record = SubscriptionRecord(feature_claims={FEATURE: utc_iso(NOW - timedelta(hours=1))})
    assert plan(record, {FEATURE: "Unregistered"}, "Registered", NOW).register_features == (FEATURE,)


def test_registering_or_pending_feature_waits():
    for state in ("Registering", "Pending"):
        p = plan(SubscriptionRecord(), {FEATURE: state}, "Registered", NOW)
        assert p.register_features == () and not p.complete and not p.register_provider


def test_after_a_feature_registers_the_provider_is_registered_again():
    record = SubscriptionRecord(reregister_provider=True)
    p = plan(record, {FEATURE: "Registered"}, "Registered", NOW)
    assert p.register_provider and not p.complete
    assert "take effect" in p.notes[-1]


def test_unregistered_provider_is_registered_and_registering_one_waited_for():
    assert plan(SubscriptionRecord(), {FEATURE: "Registered"}, "NotRegistered", NOW).register_provider
    waiting = plan(SubscriptionRecord(), {FEATURE: "Registered"}, "Registering", NOW)
    assert not waiting.register_provider and not waiting.complete


def test_unknown_feature_is_not_required_and_the_step_completes():
    p = plan(SubscriptionRecord(), {FEATURE: NOT_REQUIRED}, "Registered", NOW)
    assert p.complete
    assert "not required" in p.notes[0]


def test_everything_registered_completes():
    assert plan(SubscriptionRecord(), {FEATURE: "Registered"}, "Registered", NOW).complete
