"""Per-region replication of an image version, as a pure function of time.

A region replicates from ``start`` for ``duration`` seconds (progress 0 -> 100). A region told to
fail stops at ``fail_at`` with the progress it had then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import regions

DEFAULT_FAILURE_CODE = "ReplicationFailed"
DEFAULT_FAILURE_MESSAGE = "Failed with internal server error."


@dataclass
class RegionRun:
    """The replication of one version to one region (``region`` normalised, times in monotonic seconds)."""

    region: str
    start: float
    duration: float
    fail_at: float | None = None
    fail_code: str = DEFAULT_FAILURE_CODE
    fail_message: str = DEFAULT_FAILURE_MESSAGE
    fixed_state: str | None = None  # for versions loaded from the world: their stored state, never changing

    def status(self, now: float) -> tuple[str, int, str | None]:
        """(state, progress, details) at ``now``."""
        if self.fixed_state is not None:
            return self.fixed_state, 100 if self.fixed_state == "Completed" else 0, None
        if self.fail_at is not None and now >= self.fail_at:
            return "Failed", self._progress(self.fail_at), self.fail_message
        if now >= self.start + self.duration:
            return "Completed", 100, None
        return "Replicating", self._progress(now), None

    def done(self, now: float) -> bool:
        return self.status(now)[0] in ("Completed", "Failed")

    def _progress(self, at: float) -> int:
        if self.duration <= 0:
            return 100
        return max(0, min(99, int(100 * (at - self.start) / self.duration)))


@dataclass
class VersionRun:
    """The replication of one image version to all its target regions."""

    regions: list[RegionRun] = field(default_factory=list)

    def aggregated_state(self, now: float) -> str:
        states = [r.status(now)[0] for r in self.regions]
        if any(s in ("Replicating", "Unknown") for s in states):
            return "InProgress"
        return "Failed" if "Failed" in states else "Completed"

    def provisioning_state(self, now: float) -> str:
        return {"InProgress": "Creating", "Failed": "Failed", "Completed": "Succeeded"}[self.aggregated_state(now)]

    def replication_status(self, now: float) -> dict[str, Any]:
        summary = []
        for run in self.regions:
            state, progress, details = run.status(now)
            entry: dict[str, Any] = {"region": regions.display_name(run.region), "state": state, "progress": progress}
            if details:
                entry["details"] = details
            summary.append(entry)
        return {"aggregatedState": self.aggregated_state(now), "summary": summary}

    def failure(self, now: float) -> dict[str, str] | None:
        """The error of a failed replication, in the text the service uses; None unless it failed."""
        if self.aggregated_state(now) != "Failed":
            return None
        failed = [r for r in self.regions if r.status(now)[0] == "Failed"]
        listing = ", ".join(f"{{region:{r.region}, detail:{r.fail_message}}}" for r in failed)
        return {
            "code": failed[0].fail_code,
            "message": "Gallery replication jobs failed in one or more regions. The failing regions' details "
            f"are as follows: '{listing}'. If retry does not work, then please do an update by removing "
            "the failed regions and update again by adding them back.",
        }

    def fail(self, region: str, now: float, code: str, message: str) -> None:
        """Make ``region`` fail now if it is still replicating (a finished region keeps its outcome)."""
        for run in self.regions:
            if run.region != region or run.fixed_state is not None or run.done(now):
                continue
            run.fail_at, run.fail_code, run.fail_message = now, code, message
