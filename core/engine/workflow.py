"""What a workflow declares to run on the engine: its state type, its pure decisions, its steps and their cost.

The engine (`runner.Runner`) owns everything every workflow needs: the lease of a step that writes to ARM,
step messages and their re-drive, retries scheduled as delayed messages, history, the ARM budget and the
poison path. A workflow owns what is its own: what a step does (`run_step`, the only I/O), what happens
next (`decide`, pure), what a step costs, and what else is written when a record ends (`ending_rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core.azure.arm import Arm, ArmFailure
from core.azure.settings import Settings
from core.engine.budget import StepCost
from core.engine.record import Decision


def _unbudgeted(reads: int, writes: int) -> float | None:
    return 0.0


@dataclass
class StepContext:
    """What a step may use: the settings, the ARM clients of the record's subscription, the time it started.

    `take_budget(reads, writes)` reserves calls the step decided to make as it ran: seconds until they may be
    made (0.0: now), None when nothing could be reserved (see `budget_store.StepTaking`).
    """

    settings: Settings
    arm: Arm
    now: datetime
    take_budget: Callable[[int, int], float | None] = _unbudgeted


class Workflow(Protocol):
    """A workflow the engine runs; its records are instances of `state_type` (a `record.Record`)."""

    name: str
    state_type: type

    def begin_step(self, state: Any, now: datetime) -> Decision:
        """Before a step runs: what to write with its claim or result (a first step's start), else no change."""
        ...

    def run_step(self, state: Any, ctx: StepContext) -> object:
        """Run the pending step (ARM calls only) and return what happened, for `decide`."""
        ...

    def step_raised(self, state: Any, failure: ArmFailure) -> object:
        """The event of a step that raised (a bug or a broken dependency): retried as a transient failure."""
        ...

    def decide(self, state: Any, event: object, now: datetime) -> Decision:
        """The next state, its history and the delay before the next step. Pure."""
        ...

    def cancel(self, state: Any, reason: str, now: datetime, by: dict[str, str] | None = None) -> Decision:
        """Someone (``by``, an actor's dict, when known) asked to stop the record. Pure."""
        ...

    def poisoned(self, state: Any, now: datetime) -> Decision | None:
        """The host gave up on a step message of this record (it failed every delivery): the decision that
        records it (an end naming why), or None to leave the record to the re-drive timer. Pure."""
        ...

    def writes_to_arm(self, state: Any) -> bool:
        """Whether the pending step writes to ARM: the engine claims such a step (a lease) before it runs."""
        ...

    def step_cost(self, state: Any) -> StepCost:
        """The ARM calls of the pending step, reserved from the subscription's budget before it runs."""
        ...

    def ending_rows(self, before: Any | None, after: Any) -> list[dict[str, Any]]:
        """Rows to create in the same transaction as `after` (a completion event's outbox row)."""
        ...

    def written(self, before: Any | None, after: Any) -> None:
        """After `after` was written and its next step sent (deliver what `ending_rows` wrote)."""
        ...
