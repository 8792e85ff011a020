"""The snapshot intake on the engine: its records wait for a snapshot, choose the template, reserve the version
and start the build (`decide` says what follows each step, `steps` does the I/O)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from core.azure.arm import ArmFailure
from core.azure.settings import Settings
from core.builds.workflow import BuildSubmissions
from core.engine.budget import StepCost
from core.engine.record import Decision
from core.engine.workflow import StepContext
from core.snapshots import costs, decide, steps
from core.snapshots.events import Event, StepFailed
from core.snapshots.reservations import VersionReservations
from core.snapshots.snapshot_settings import SnapshotSettings, cached_templates
from core.snapshots.state import WORKFLOW, SnapshotState
from core.snapshots.templates import Template, TemplatesInvalid

log = logging.getLogger(__name__)


class SnapshotWorkflow:
    """The engine's view of snapshot intakes (see `core.engine.workflow.Workflow`).

    Its last step submits a build through `BuildSubmissions`, which needs the runner that runs this workflow:
    the composition root connects them once both exist (`connect`).
    """

    name = WORKFLOW
    state_type = SnapshotState

    def __init__(self, settings: Settings, snapshot_settings: SnapshotSettings,
                 reservations: VersionReservations) -> None:
        self.settings = settings
        self.snapshot_settings = snapshot_settings
        self.reservations = reservations
        self.builds: BuildSubmissions | None = None

    def connect(self, builds: BuildSubmissions) -> None:
        """The build submissions the StartingBuild step submits to."""
        self.builds = builds

    def templates(self) -> tuple[Template, ...]:
        """The deployed templates, loaded on first use; TemplatesInvalid (each problem logged) when any is wrong."""
        try:
            return cached_templates(self.snapshot_settings.templates_dir, self.settings.known_regions)
        except TemplatesInvalid as invalid:
            for problem in invalid.problems:
                log.error("template problem: %s", problem)
            raise

    def begin_step(self, state: SnapshotState, now: datetime) -> Decision:
        return decide.begin_step(state, now)

    def run_step(self, state: SnapshotState, ctx: StepContext) -> Event:
        return steps.run_step(state, steps.IntakeContext(ctx, self.templates, self.reservations, self.builds))

    def step_raised(self, state: SnapshotState, failure: ArmFailure) -> Event:
        return StepFailed(action=str(state.status), failure=failure)

    def decide(self, state: SnapshotState, event: Any, now: datetime) -> Decision:
        return decide.decide(state, event, now=now, settings=self.settings, timing=self.snapshot_settings)

    def cancel(self, state: SnapshotState, reason: str, now: datetime) -> Decision:
        return decide.cancel(state, reason, now)

    def poisoned(self, state: SnapshotState, now: datetime) -> Decision:
        """A poisoned step message ends the intake as a recorded Failed record (its reason names the step)."""
        return decide.poisoned(state, now)

    def writes_to_arm(self, state: SnapshotState) -> bool:
        return False  # every step only reads ARM: two deliveries cost a few reads; the result's ETag write decides

    def step_cost(self, state: SnapshotState) -> StepCost:
        return costs.step_cost(state)

    def ending_rows(self, before: SnapshotState | None, after: SnapshotState) -> list[dict[str, Any]]:
        return []

    def written(self, before: SnapshotState | None, after: SnapshotState) -> None:
        return None
