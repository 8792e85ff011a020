"""Serve one timer-triggered function: run it on its schedule, one invocation at a time.

As the host does: `runOnStartup` runs it once when the worker starts; a failed run is logged and not
retried (the next run is the next occurrence); runs never overlap. `past_due` is True when a run starts
more than `PAST_DUE_TOLERANCE` after its scheduled time (an earlier run overran, or the machine slept).
With a `TimerLock`, a run happens only on the worker holding the timer's blob lease (one across workers,
as in the host). The host also keeps schedule status in storage to catch up on runs missed while no
instance was up; this worker does not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest

from devstack.localworker.discovery import TimerFunction
from devstack.localworker.invocation import invoke
from devstack.localworker.timer_lock import TimerLock

log = logging.getLogger("devstack.localworker")
PAST_DUE_TOLERANCE = timedelta(seconds=1)
NEVER = "0001-01-01T00:00:00"


def utc_now() -> datetime:
    return datetime.now(UTC)


class TimerRunner:
    """A thread that invokes `function` at each occurrence of its schedule until `stopping` is set."""

    def __init__(
        self,
        function: TimerFunction,
        *,
        stopping: threading.Event,
        clock: Callable[[], datetime] = utc_now,
        lock: TimerLock | None = None,
    ) -> None:
        self.function = function
        self.lock = lock
        self._stopping = stopping
        self._clock = clock
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"timer-{function.name}", daemon=True)
        self._last: datetime | None = None

    @property
    def running(self) -> bool:
        """Whether an invocation is under way."""
        return self._running.is_set()

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        if self.lock is not None:
            self.lock.release()

    def _loop(self) -> None:
        due = self.function.schedule.first_after(self._clock())
        if self.function.run_on_startup:
            self._fire(scheduled=None, next_due=due, reason="Timer fired at startup (runOnStartup)")
        while not self._stopping.is_set():
            wait = (due - self._clock()).total_seconds()
            if wait > 0 and self._stopping.wait(wait):
                break
            started = self._clock()
            following = self.function.schedule.following(due, started)
            self._fire(scheduled=due, next_due=following, reason=f"Timer fired at {started.isoformat()}")
            due = self.function.schedule.following(due, self._clock())

    def _fire(self, *, scheduled: datetime | None, next_due: datetime, reason: str) -> None:
        if self.lock is not None and not self.lock.try_hold():
            log.debug("Timer %r not fired here: another worker holds its lease", self.function.name)
            return
        now = self._clock()
        past_due = scheduled is not None and now - scheduled > PAST_DUE_TOLERANCE
        request = TimerRequest(
            past_due=past_due,
            schedule_status={
                "Last": self._last.isoformat() if self._last else NEVER,
                "Next": next_due.isoformat(),
                "LastUpdated": now.isoformat(),
            },
            schedule={"AdjustForDST": True},
        )
        self._running.set()
        try:
            invoke(
                self.function.name,
                self.function.user_function,
                {self.function.arg_name: request},
                reason=reason,
                details=f"Schedule='{self.function.schedule_text}', PastDue={past_due}",
            )
        except Exception:
            log.exception(
                "Timer function %r failed; it runs again at its next occurrence", self.function.name
            )
        finally:
            self._last = scheduled or now
            self._running.clear()
