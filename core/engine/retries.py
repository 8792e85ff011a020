"""A step that failed for a reason that may pass: run it again after a backoff, or give up. Pure.

Every workflow's `decide` sorts a failed step the same way (dramatiq's three kinds): a transient failure
(a 429, a 5xx, a timeout, a connection refused) is retried as a delayed step message after
`backoff.retry_delay`, at least the failure's `Retry-After`, until `TRANSIENT_RETRY_LIMIT` retries were spent;
a permanent one, or a transient one past the limit, is the workflow's to record.
"""

from __future__ import annotations

from datetime import datetime

from core.azure.arm import ArmFailure
from core.azure.settings import Settings
from core.engine import backoff
from core.engine.record import Decision, R, entry, then


def will_retry(state: R, failure: ArmFailure, settings: Settings) -> bool:
    """Whether the pending step is tried again after `failure` (transient, and retries are left)."""
    return failure.transient and state.step_retries < settings.transient_retry_limit


def retry(state: R, now: datetime, failure: ArmFailure, settings: Settings, *, action: str) -> Decision:
    """The same step again after the backoff, with a `RetryScheduled` history line naming `action`."""
    delay = backoff.retry_delay(state.step_retries, initial_seconds=settings.retry_initial_seconds,
                                max_seconds=settings.retry_max_seconds,
                                retry_after_seconds=failure.retry_after_seconds)  # fmt: skip
    retried = state.replace(step_retries=state.step_retries + 1)
    line = entry(retried, now, "RetryScheduled", action=action, attempt=retried.step_retries, delaySeconds=delay,
                 **failure.to_dict())  # fmt: skip
    return then(retried, now, delay, line)


def given_up(state: R, failure: ArmFailure, message: str | None = None) -> str:
    """The failure's message (or the workflow's `message` for it), saying so when the retries of a transient one
    were all spent."""
    text = failure.message if message is None else message
    if failure.transient:
        return f"gave up after {state.step_retries} retries: {text}"
    return text
