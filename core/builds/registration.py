"""The registration step: required preview features, then the `Microsoft.Compute` provider.

The seed's order: register each feature (`Microsoft.Compute/SIGEncryption` by default) and wait until
it is Registered, then register the provider again so the feature takes effect; register the
provider if it is not registered at all. A feature the subscription does not know is not required
(today's Azure no longer has this preview).

One registration per subscription: what is known is kept in the `subscriptions` table with an
expiry, and a register call is made only by the build that wins an ETag-guarded claim, so ten builds
in one subscription make one call. While registration is under way, one build per poll interval reads
ARM (it claims the look in the row); the others wait on the row. `plan` is the pure part; `Registrar.step` does the I/O.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableServiceClient

from core.azure.settings import Settings
from core.azure.storage import GuardedRows
from core.base.leases import held, lease_end
from core.base.timestamps import parse_iso, utc_iso
from core.builds.events import Event, RegistrationComplete, RegistrationPending, RegistrationRefused
from core.builds.state import BuildState

PROVIDER = "Microsoft.Compute"
NOT_REQUIRED = "NotRequired"  # the subscription does not know the feature
DONE_STATES = frozenset({"registered", NOT_REQUIRED.lower()})
REGISTER_STATES = frozenset({"notregistered", "unregistered"})
# A register call claimed by a build is not repeated by others for this long.
CLAIM_SECONDS = 300
PERMISSIONS = {
    "feature": "Microsoft.Features/providers/features/register/action",
    "feature-read": "Microsoft.Features/providers/features/read",
    "provider": f"{PROVIDER}/register/action",
}


@dataclass
class SubscriptionRecord:
    """What one subscription's registration looked like when last checked."""

    features: dict[str, str] = field(default_factory=dict)
    provider_state: str = ""
    checked_at: str | None = None
    feature_claims: dict[str, str] = field(default_factory=dict)  # feature -> when a register call was claimed
    provider_claim: str | None = None
    reregister_provider: bool = False
    register_calls: int = 0

    def to_entity(self, subscription_id: str) -> dict[str, Any]:
        return {
            "PartitionKey": subscription_id.lower(),
            "RowKey": "registration",
            "Record": json.dumps(self.__dict__, separators=(",", ":")),
        }

    @classmethod
    def from_entity(cls, entity: dict[str, Any]) -> SubscriptionRecord:
        return cls(**json.loads(entity["Record"]))


@dataclass(frozen=True)
class Plan:
    register_features: tuple[str, ...] = ()
    register_provider: bool = False
    complete: bool = False
    notes: tuple[str, ...] = ()


def _claimed(at: str | None, now: datetime) -> bool:
    """Whether a register call claimed at `at` is still another build's (its lease of CLAIM_SECONDS)."""
    moment = parse_iso(at)
    return moment is not None and held(lease_end(moment, CLAIM_SECONDS), now)


def plan(record: SubscriptionRecord, features: dict[str, str], provider_state: str, now: datetime) -> Plan:
    """What to do next, given the observed states and what other builds already claimed. Pure."""
    notes: list[str] = []
    to_register: list[str] = []
    waiting = False
    for name, observed in features.items():
        state = observed.lower()
        if state == NOT_REQUIRED.lower():
            notes.append(f"{name}: not known to this subscription, so not required")
        elif state == "registered":
            notes.append(f"{name}: Registered")
        elif state in REGISTER_STATES:
            waiting = True
            if _claimed(record.feature_claims.get(name), now):
                notes.append(f"{name}: {observed}; registration already requested, waiting")
            else:
                to_register.append(name)
                notes.append(f"{name}: {observed}; registering")
        else:  # Registering, Pending, Unregistering
            waiting = True
            notes.append(f"{name}: {observed}, waiting")
    if waiting:
        return Plan(register_features=tuple(to_register), notes=tuple(notes))

    provider = provider_state.lower()
    if record.reregister_provider or provider in REGISTER_STATES:
        why = "re-registering so the features take effect" if record.reregister_provider else "registering"
        if _claimed(record.provider_claim, now):
            return Plan(notes=(*notes, f"{PROVIDER}: {provider_state}; {why} already requested, waiting"))
        return Plan(register_provider=True, notes=(*notes, f"{PROVIDER}: {provider_state}; {why}"))
    if provider != "registered":
        return Plan(notes=(*notes, f"{PROVIDER}: {provider_state}, waiting"))
    return Plan(complete=True, notes=(*notes, f"{PROVIDER}: Registered"))


class _Refused(Exception):
    """A registration call answered 403; carries the build's RegistrationRefused event."""

    def __init__(self, event: RegistrationRefused) -> None:
        super().__init__(event.message)
        self.event = event


@contextlib.contextmanager
def _refused_as(what: str) -> Iterator[None]:
    """Turn a 403 inside the block into ``_Refused`` saying ``what`` (and ARM's own words); re-raise the rest."""
    try:
        yield
    except HttpResponseError as exc:
        if exc.status_code == 403:
            raise _Refused(RegistrationRefused(code="AuthorizationFailed", message=f"{what} ({exc.message})")) from exc
        raise


class Registrar:
    """Runs the registration step against ARM, sharing state per subscription in Table storage."""

    def __init__(self, service: TableServiceClient, settings: Settings) -> None:
        self.settings = settings
        self.rows = GuardedRows(service.get_table_client(settings.subscriptions_table))
        # Records found good, by subscription: until they expire, no build of this process reads the row again
        # (only a build that finds the row expired or incomplete writes it, so a good row stays as it was).
        self._known_good: dict[str, SubscriptionRecord] = {}

    def _load(self, subscription_id: str) -> tuple[SubscriptionRecord, str | None]:
        entity = self.rows.get(subscription_id.lower(), "registration")
        if entity is None:
            return SubscriptionRecord(), None
        return SubscriptionRecord.from_entity(entity), entity.metadata["etag"]

    def _store(self, subscription_id: str, record: SubscriptionRecord, etag: str | None) -> str | None:
        """Write the record if nobody else did since it was read: its new ETag, or None if someone did."""
        return self.rows.put(record.to_entity(subscription_id), etag)

    def _fresh(self, record: SubscriptionRecord, now: datetime) -> bool:
        checked = parse_iso(record.checked_at)
        if checked is None or now - checked > timedelta(seconds=self.settings.registration_cache_seconds):
            return False
        known = {name: state for name, state in record.features.items() if name in self.settings.required_features}
        return (
            len(known) == len(self.settings.required_features)
            and all(state.lower() in DONE_STATES for state in known.values())
            and record.provider_state.lower() == "registered"
            and not record.reregister_provider
        )

    def _observe(self, arm: Any) -> tuple[dict[str, str], str]:
        features: dict[str, str] = {}
        for feature in self.settings.required_features:
            namespace, _, name = feature.partition("/")
            try:
                result = arm.features.features.get(namespace, name)
                features[feature] = str(result.properties.state if result.properties else "NotRegistered")
            except ResourceNotFoundError:
                features[feature] = NOT_REQUIRED
        provider = arm.resources.providers.get(PROVIDER)
        return features, str(provider.registration_state or "NotRegistered")

    def step(self, state: BuildState, ctx: Any) -> Event:
        try:
            return self._step(state, ctx)
        except _Refused as refused:
            return refused.event

    def _step(self, state: BuildState, ctx: Any) -> Event:
        now: datetime = ctx.now
        subscription_id = state.subscription_id
        key = subscription_id.lower()
        record, etag = self._known_good.get(key), None
        if record is None or not self._fresh(record, now):
            record, etag = self._load(subscription_id)
        if self._fresh(record, now):
            self._known_good[key] = record
            return RegistrationComplete(
                notes=(f"registration known good since {record.checked_at} (shared by this subscription's builds)",)
            )
        observed = parse_iso(record.checked_at)
        if observed is not None and now - observed < timedelta(seconds=self.settings.poll_initial_seconds):
            # Another build of this subscription looked at ARM moments ago: wait on the shared row, not on ARM.
            note = f"waiting on this subscription's registration (ARM read at {record.checked_at})"
            return RegistrationPending(notes=(note,))
        look = len(self.settings.required_features) + 1  # reads: each feature, and the provider
        wait = ctx.take_budget(look, 0)
        if wait is None:
            return RegistrationPending(notes=("the subscription's ARM budget is busy; looking again later",))
        if wait > 0:
            note = f"looking at registration in {wait:.1f} s, when the subscription's ARM budget holds the reads"
            return RegistrationPending(notes=(note,), budget_slot=wait, look_reads=look)
        record.checked_at = utc_iso(now)  # claim the look: one build per interval reads ARM
        etag = self._store(subscription_id, record, etag)
        if etag is None:
            return RegistrationPending(notes=("another build is looking at this subscription's registration",))
        with _refused_as(f"cannot read feature or provider registration: grant {PERMISSIONS['feature-read']} "
                         f"and {PROVIDER}/read to the app's identity"):
            features, provider_state = self._observe(ctx.arm)
        decided = plan(record, features, provider_state, now)
        record.features, record.provider_state, record.checked_at = dict(features), provider_state, utc_iso(now)
        at = utc_iso(now)
        # What was just asked for is not yet true: the record says so, so no build trusts it from the cache.
        for feature in decided.register_features:
            record.feature_claims[feature] = at
            record.features[feature] = "Registering"
            record.reregister_provider = True
        if decided.register_provider:
            record.provider_claim = at
            record.provider_state = "Registering"
            record.reregister_provider = False
        record.register_calls += len(decided.register_features) + int(decided.register_provider)
        if self._store(subscription_id, record, etag) is None:
            # Another build of this subscription wrote first; it owns any register call. Look again later.
            return RegistrationPending(notes=("another build is updating this subscription's registration",))
        for feature in decided.register_features:
            namespace, _, name = feature.partition("/")
            with _refused_as(f"registering {feature} was refused: the app's identity needs "
                             f"{PERMISSIONS['feature']} on subscription {subscription_id}"):
                ctx.arm.features.features.register(namespace, name)
        if decided.register_provider:
            with _refused_as(f"registering the {PROVIDER} provider was refused: the app's identity needs "
                             f"{PERMISSIONS['provider']} on subscription {subscription_id}"):
                ctx.arm.resources.providers.register(PROVIDER)
        registration = {"features": features, "provider": provider_state}
        if decided.complete and self._fresh(record, now):
            self._known_good[key] = record
        if decided.complete:
            return RegistrationComplete(notes=decided.notes, registration=registration)
        return RegistrationPending(notes=decided.notes, registration=registration)
