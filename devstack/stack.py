"""Azurite plus the ARM simulator, and the app settings that point the app at them."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

from devstack.azurite import PROJECT_ROOT, Azurite
from simulator import Simulator

SEED_WORLD = PROJECT_ROOT / "simulator" / "worlds" / "seed.json"


class LocalStack:
    """Everything the app talks to, on loopback: queues and tables (Azurite), ARM and identity (simulator)."""

    def __init__(self, world: dict[str, Any] | Path = SEED_WORLD, **simulator_options: Any) -> None:
        self.azurite = Azurite()
        self.simulator = Simulator(world, **simulator_options)

    def start(self) -> LocalStack:
        self.azurite.start()
        try:
            self.simulator.start()
        except BaseException:
            self.azurite.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            self.simulator.stop()
        finally:
            self.azurite.stop()

    def env(self, **overrides: str) -> dict[str, str]:
        """App settings for this stack, on top of the current environment."""
        settings = {
            **os.environ,
            "AzureWebJobsStorage": self.azurite.connection_string,
            **self.simulator.env(),
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        settings.update(overrides)
        return settings

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
