"""decide(state, event) -> the next state, what to record, and when to run the next step. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.azure.settings import Settings
from core.base.timestamps import parse_iso, utc_iso
from core.builds.costs import LOOK_READS
from core.builds.events import (
    ArmCallFailed,
    CancelRequested,
    CreateAccepted,
    Event,
    RegistrationComplete,
    RegistrationPending,
    RegistrationRefused,
    ReplicationObserved,
    Validated,
    ValidationRejected,
    VerificationProgressed,
)
from core.builds.state import BuildState, BuildStatus, check_transition
from core.engine import backoff
from core.engine.record import Decision, HistoryEntry, end, schedule, then
from core.engine.record import entry as _entry
from core.engine.retries import given_up, retry, will_retry


class UnexpectedEvent(ValueError):
    """An event arrived in a status where it cannot happen: a bug in a step, not bad input."""


def move(state: BuildState, to: BuildStatus, now: datetime, **changes: Any) -> BuildState:
    """Change status along an allowed edge; counters of the previous step start again."""
    check_transition(state.build_id, state.status, to)
    if to != state.status:
        changes.setdefault("step_retries", 0)
        changes.setdefault("polls", 0)
        changes.setdefault("des_reads", {})
    return state.replace(status=to, updated_at=utc_iso(now), **changes)


def begin_step(state: BuildState, now: datetime) -> Decision:
    """Before a step runs: an Accepted build starts validating (recorded with the claim)."""
    if state.status is BuildStatus.ACCEPTED:
        moved = move(state, BuildStatus.VALIDATING, now)
        return Decision(moved, (_entry(moved, now, "ValidationStarted"),), None)
    return Decision(state)


def _expect(state: BuildState, event: Event, *statuses: BuildStatus) -> None:
    if state.status not in statuses:
        raise UnexpectedEvent(f"build {state.build_id}: {type(event).__name__} cannot happen in {state.status}")


def _fail(state: BuildState, now: datetime, kind: str, error: dict[str, Any]) -> Decision:
    failed = move(state, BuildStatus.FAILED, now, error=error)
    return end(failed, now, _entry(failed, now, kind, **error))


def _on_arm_failure(state: BuildState, event: ArmCallFailed, now: datetime, settings: Settings) -> Decision:
    failure = event.failure
    if will_retry(state, failure, settings):
        retrying = state if event.des_reads is None else state.replace(des_reads=event.des_reads)
        return retry(retrying, now, failure, settings, action=event.action)
    return _fail(
        state,
        now,
        "ArmCallFailed",
        {"action": event.action, "code": failure.code, "message": given_up(state, failure), "status": failure.status},
    )


def _failed_regions(regions: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(name for name, info in regions.items() if str(info.get("state", "")).lower() == "failed")


def _on_replication(state: BuildState, event: ReplicationObserved, now: datetime, settings: Settings) -> Decision:
    changed = {n: i.get("state") for n, i in event.regions.items()} != {
        n: i.get("state") for n, i in state.regions.items()
    }
    observed = state.replace(regions=event.regions, step_retries=0, observed_at=utc_iso(now))
    entries: list[HistoryEntry] = []
    if changed:
        summary = {name: f"{info.get('state')} {info.get('progress', 0)}%" for name, info in event.regions.items()}
        entries.append(_entry(observed, now, "ReplicationProgress", regions=summary))
    status = event.status.lower()
    if status == "succeeded":
        return _published(observed, now, *entries)
    if status in ("failed", "canceled", "cancelled"):
        failed_regions = _failed_regions(event.regions)
        error = dict(event.error or {})
        code = str(error.get("code") or "ReplicationFailed")
        message = str(error.get("message") or "the image-version operation failed")
        if failed_regions:
            details = "; ".join(f"{name}: {event.regions[name].get('details') or 'failed'}" for name in failed_regions)
            message = f"replication failed in {', '.join(failed_regions)} ({details}); ARM said: {message}"
        failed = move(
            observed, BuildStatus.FAILED, now, error={"code": code, "message": message, "regions": failed_regions}
        )
        return end(failed, now, *entries, _entry(failed, now, "Failed", code=code, message=message))
    expected = backoff.completion_delay(
        state.regions,
        parse_iso(state.observed_at),
        event.regions,
        now,
        min_seconds=settings.poll_min_seconds,
        max_seconds=settings.poll_max_seconds,
    )
    delay = expected if expected is not None else backoff.poll_delay(
        observed.polls, initial_seconds=settings.poll_initial_seconds, max_seconds=settings.poll_max_seconds
    )
    return then(observed.replace(polls=observed.polls + 1), now, delay, *entries)


def _wants_verification(state: BuildState) -> bool:
    return bool((state.request or {}).get("verification"))


def _published(state: BuildState, now: datetime, *entries: HistoryEntry, **detail: Any) -> Decision:
    """The version is published: Succeeded, or first the verification VM when the request asks for one."""
    if _wants_verification(state):
        verifying = move(state, BuildStatus.VERIFYING, now, verification={})
        return then(verifying, now, 0, *entries, _entry(verifying, now, "Published", **detail),
                     _entry(verifying, now, "VerificationStarted"))
    done = move(state, BuildStatus.SUCCEEDED, now)
    return end(done, now, *entries, _entry(done, now, "Succeeded", **detail))


def _verification_summary(regions: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: f"{info.get('result') or 'not checked'}: {info.get('reason', '')}".strip()
            for name, info in sorted(regions.items())}


def _on_verification(state: BuildState, event: VerificationProgressed, now: datetime, settings: Settings) -> Decision:
    observed = state.replace(verification=event.regions, step_retries=0)
    checked = [name for name, info in event.regions.items()
               if info.get("result") and not state.verification.get(name, {}).get("result")]
    entries = [_entry(observed, now, "VerificationChecked", region=name, result=event.regions[name]["result"],
                      reason=event.regions[name].get("reason", "")) for name in sorted(checked)]
    if all(info.get("phase") == "done" for info in event.regions.values()):
        done = move(observed, BuildStatus.SUCCEEDED, now)
        failed = sorted(n for n, i in event.regions.items() if i.get("result") != "passed")
        return end(done, now, *entries, _entry(done, now, "Succeeded", verification=_verification_summary(
            event.regions), verificationFailed=failed))
    delay = backoff.poll_delay(
        observed.polls, initial_seconds=settings.poll_initial_seconds, max_seconds=settings.poll_max_seconds
    )
    return then(observed.replace(polls=observed.polls + 1), now, delay, *entries)


def _on_registration_pending(
    state: BuildState, event: RegistrationPending, now: datetime, settings: Settings
) -> Decision:
    started = parse_iso(state.registration.get("startedAt")) or now
    registration = {**state.registration, **event.registration, "startedAt": utc_iso(started)}
    waited = (now - started).total_seconds()
    if waited > settings.feature_registration_timeout_seconds:
        return _fail(
            state.replace(registration=registration),
            now,
            "RegistrationTimedOut",
            {
                "code": "RegistrationTimedOut",
                "message": f"registration not complete after {int(waited)} s "
                f"(limit FEATURE_REGISTRATION_TIMEOUT_SECONDS={settings.feature_registration_timeout_seconds}): "
                + "; ".join(event.notes),
            },
        )
    if event.budget_slot is not None:  # this build looks at ARM in its budget slot, on the reads it reserved
        waiting = state.replace(registration={**registration, LOOK_READS: event.look_reads}, step_retries=0)
        reserved = schedule(waiting, now, event.budget_slot).replace(budget_reserved=True)
        entry = _entry(waiting, now, "RegistrationPending", notes=list(event.notes))
        return Decision(reserved, (entry,), event.budget_slot)
    registration.pop(LOOK_READS, None)
    waiting = state.replace(registration=registration, polls=state.polls + 1, step_retries=0)
    delay = backoff.poll_delay(
        state.polls, initial_seconds=settings.poll_initial_seconds, max_seconds=settings.poll_max_seconds
    )
    return then(waiting, now, delay, _entry(waiting, now, "RegistrationPending", notes=list(event.notes)))


def decide(state: BuildState, event: Event, *, now: datetime, settings: Settings) -> Decision:
    """The heart of the orchestration: no I/O, no clock, no randomness; every transition is tested."""
    if isinstance(event, CancelRequested):
        if state.status.terminal:
            return Decision(state, (_entry(state, now, "CancelIgnored", reason=f"build is already {state.status}"),))
        note = event.reason
        if state.status.wrote_to_azure:
            note += (
                f"; the image-version operation already started in Azure continues: delete {state.resource_id} "
                "if it is not wanted"
            )
        cancelled = move(state, BuildStatus.CANCELLED, now, error={"code": "Cancelled", "message": note},
                         cancelled_by=event.by)
        who = {"by": event.by} if event.by else {}
        return end(cancelled, now, _entry(cancelled, now, "Cancelled", reason=note, **who))

    if isinstance(event, ArmCallFailed):
        if state.status.terminal:
            raise UnexpectedEvent(f"build {state.build_id}: ARM failure reported after it ended {state.status}")
        if state.status is BuildStatus.VERIFYING and not will_retry(state, event.failure, settings):
            note = {"result": "failed", "reason": f"verification stopped: {event.failure.message}", "phase": "stopped"}
            verification = {name: {**info, **note} if info.get("phase") != "done" else info
                            for name, info in state.verification.items()} or {"*": note}
            done = move(state, BuildStatus.SUCCEEDED, now, verification=verification)
            return end(done, now, _entry(done, now, "Succeeded", verification=_verification_summary(verification),
                                          verificationFailed=sorted(verification)))
        return _on_arm_failure(state, event, now, settings)

    if isinstance(event, Validated):
        _expect(state, event, BuildStatus.VALIDATING)
        notes = list(event.notes)
        if settings.required_features:
            moved = move(state, BuildStatus.REGISTERING, now, registration={})
            return then(moved, now, 0, _entry(moved, now, "Validated", warnings=notes))
        moved = move(state, BuildStatus.CREATING, now)
        return then(
            moved,
            now,
            0,
            _entry(moved, now, "Validated", warnings=notes),
            _entry(moved, now, "RegistrationSkipped", reason="REQUIRED_FEATURES is empty"),
        )

    if isinstance(event, ValidationRejected):
        _expect(state, event, BuildStatus.VALIDATING)
        rejected = move(state, BuildStatus.REJECTED, now, problems=list(event.problems))
        return end(rejected, now, _entry(rejected, now, "Rejected", problems=list(event.problems)))

    if isinstance(event, RegistrationPending):
        _expect(state, event, BuildStatus.REGISTERING)
        return _on_registration_pending(state, event, now, settings)

    if isinstance(event, RegistrationComplete):
        _expect(state, event, BuildStatus.REGISTERING)
        registration = {k: v for k, v in {**state.registration, **event.registration}.items() if k != LOOK_READS}
        moved = move(state, BuildStatus.CREATING, now, registration=registration)
        return then(moved, now, 0, _entry(moved, now, "RegistrationComplete", notes=list(event.notes)))

    if isinstance(event, RegistrationRefused):
        _expect(state, event, BuildStatus.REGISTERING)
        return _fail(state, now, "RegistrationRefused", {"code": event.code, "message": event.message})

    if isinstance(event, CreateAccepted):
        _expect(state, event, BuildStatus.CREATING)
        if (event.provisioning_state or "").lower() == "succeeded":
            return _published(state.replace(operation_url=event.operation_url), now,
                              note="the image version already existed")
        moved = move(state, BuildStatus.REPLICATING, now, operation_url=event.operation_url)
        delay = backoff.poll_delay(
            0, initial_seconds=settings.poll_initial_seconds, max_seconds=settings.poll_max_seconds
        )
        entry = _entry(
            moved, now, "CreateAccepted", operationUrl=event.operation_url, provisioningState=event.provisioning_state
        )
        return then(moved.replace(polls=1), now, delay, entry)

    if isinstance(event, ReplicationObserved):
        _expect(state, event, BuildStatus.REPLICATING)
        return _on_replication(state, event, now, settings)

    if isinstance(event, VerificationProgressed):
        _expect(state, event, BuildStatus.VERIFYING)
        return _on_verification(state, event, now, settings)

    raise UnexpectedEvent(f"unknown event {event!r}")
