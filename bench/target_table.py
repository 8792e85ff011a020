"""The targets `bench.targets` checks (one table), and the pure arithmetic behind its figures: a target's
verdict, deferrals among step messages, the windows in which work waited for the ARM budget throughout."""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WINDOW_SECONDS = 10
# A step message the budget sent back to wait for its slot (what `Runner.handle_step` returns then).
DEFERRED = "budget-wait"
COMPARATORS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class Target:
    """`figure` (a key of the scenario's target figures), or with `on_ratio` its ratio to `floor`, must be
    `comparator` `threshold`. `floor` names the figure it is held against: a floor measured in the same run,
    or a reference (the app's share, ARM's rate, the budget-off run); `builds` the build counts the target
    is stated for (lowest, highest; None: no bound)."""

    scenario: str
    name: str
    figure: str
    comparator: str
    threshold: float
    unit: str
    floor: str | None = None
    on_ratio: bool = False
    builds: tuple[int, int | None] = (0, None)

    def applies(self, builds: int) -> bool:
        low, high = self.builds
        return builds >= low and (high is None or builds <= high)


TARGETS: tuple[Target, ...] = (
    Target("off", "step messages/s end to end (stated for 3 workers)", "step_messages_per_s", ">=", 50, "msg/s",
           floor="step_messages_per_s_at_floor"),
    Target("off", "worker process CPU per step", "worker_process_cpu_ms_per_step", "<=", 12, "ms",
           floor="floor_cpu_ms_per_step"),
    Target("free", "deferrals / step messages", "deferral_fraction", "<=", 0.10, "fraction"),
    Target("free", "storage ops per build / budget off's", "storage_ops_per_build", "<=", 1.3, "x off",
           floor="off_storage_ops_per_build", on_ratio=True),
    Target("binding", "429 answers", "http_429", "<=", 0, "answers"),
    Target("binding", "reads/s while work waits / ARM's rate", "reads_per_s_while_waiting", ">=", 0.80, "x rate",
           floor="arm_reads_per_second", on_ratio=True),
    Target("default", "429 answers", "http_429", "<=", 0, "answers"),
    Target("default", "peak reads/s of any 10 s / the app's share", "arm_reads_per_s_peak_any_10s", "<=", 1.0,
           "x share", floor="share_reads_per_second", on_ratio=True),
    Target("default", "builds not Succeeded", "builds_not_succeeded", "<=", 0, "builds"),
    Target("default", "Completed->Succeeded p50 (stated at 10 builds)", "completed_to_succeeded_p50_s", "<=", 3,
           "s", builds=(0, 10)),
    Target("default", "Completed->Succeeded p50 (stated at 1,000 builds)", "completed_to_succeeded_p50_s", "<=", 10,
           "s", builds=(11, None)),
)
SCENARIOS = ("off", "free", "binding", "default")


@dataclass(frozen=True)
class Verdict:
    target: Target
    figure: float | None
    floor: float | None
    met: bool

    @property
    def ratio(self) -> float | None:
        """The figure against its floor (None without one)."""
        if self.figure is None or self.floor is None or not self.floor:
            return None
        return self.figure / self.floor

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        ratio = self.ratio
        return {"scenario": t.scenario, "target": t.name, "figure": self.figure, "comparator": t.comparator,
                "threshold": t.threshold, "unit": t.unit, "floor": self.floor,
                "ratio": None if ratio is None else round(ratio, 2), "met": self.met}


def evaluate(scenario: str, figures: Mapping[str, Any], builds: int) -> list[Verdict]:
    """The verdict on each target of `scenario` stated for `builds` builds; a figure missing (or NaN) is not met."""
    verdicts = []
    for target in TARGETS:
        if target.scenario != scenario or not target.applies(builds):
            continue
        figure = _number(figures.get(target.figure))
        floor = _number(figures.get(target.floor)) if target.floor else None
        verdict = Verdict(target, figure, floor, False)
        judged = verdict.ratio if target.on_ratio else figure
        met = judged is not None and COMPARATORS[target.comparator](judged, target.threshold)
        verdicts.append(dataclasses.replace(verdict, met=met))
    return verdicts


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return value


def deferrals(step_outcomes: Mapping[str, int]) -> tuple[int, float]:
    """How many step messages were sent back to wait for the budget, and their fraction of all step messages."""
    deferred = step_outcomes.get(DEFERRED, 0)
    total = sum(step_outcomes.values())
    return deferred, (deferred / total if total else 0.0)


def covered(waits: Iterable[tuple[float, float]], start: float, end: float) -> bool:
    """Whether the intervals (start, length) cover [start, end] with no gap."""
    reached = start
    for begin, length in sorted(waits):
        if begin > reached:
            break
        reached = max(reached, begin + length)
        if reached >= end:
            return True
    return reached >= end


def waiting_windows(waits: Iterable[tuple[float, float]], start: float, end: float) -> list[int]:
    """The `WINDOW_SECONDS` windows from `start` (whole ones, before `end`) throughout which some build waited
    for the budget: each wait is (when it began, how long), on the same clock as `start`."""
    ordered = sorted((begin, length) for begin, length in waits if length > 0)
    whole = int((end - start) // WINDOW_SECONDS)
    found = []
    for n in range(whole):
        low = start + n * WINDOW_SECONDS
        high = low + WINDOW_SECONDS
        if covered([w for w in ordered if w[0] <= high and w[0] + w[1] >= low], low, high):
            found.append(n)
    return found


def read_rate_while_waiting(reads: Iterable[float], waits: Iterable[tuple[float, float]], start: float,
                            end: float) -> tuple[int, float]:
    """The windows in which work waited throughout (`waiting_windows`) and the mean rate of `reads` (moments,
    the same clock) over them, per second; NaN when no window qualifies."""
    windows = set(waiting_windows(waits, start, end))
    if not windows:
        return 0, math.nan
    inside = sum(1 for at in reads if at >= start and int((at - start) // WINDOW_SECONDS) in windows)
    return len(windows), inside / (len(windows) * WINDOW_SECONDS)
