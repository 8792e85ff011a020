"""Timings and addresses a running simulator uses, shared by its parts."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Settings:
    replication_seconds: float = 2.0
    feature_registration_seconds: float = 1.0
    provider_registration_seconds: float = 0.5
    endpoint: str = ""  # filled in when the ARM server is listening
    # How long a snapshot PUT stays Creating (snapshots_api); None: snapshots are read-only (405).
    snapshot_seconds: float | None = None
    # Replication of each new version takes a time drawn uniformly from this range (None: replication_seconds).
    replication_range: tuple[float, float] | None = None

    def replication_duration(self) -> float:
        if self.replication_range is None:
            return self.replication_seconds
        return random.uniform(*self.replication_range)

    @property
    def vm_seconds(self) -> float:
        """How long a VM PUT stays Creating before it is Succeeded (or Failed)."""
        return min(1.0, self.replication_seconds / 2)

    @property
    def delete_seconds(self) -> float:
        """How long an image version DELETE runs before the version is gone."""
        return min(1.0, self.replication_seconds / 2)
