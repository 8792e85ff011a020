"""What an audit step reports back to `decide` (pure values; the steps are `core.audit.steps`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.audit.pages import KeyReads, Page
from core.azure.arm import ArmFailure


@dataclass(frozen=True)
class GalleriesListed:
    """A subscription's galleries not yet in the audit's scope, in the order ARM listed them; `first_gallery`:
    the scope's first gallery once they are added (the one the audit goes on with after its listings)."""

    subscription: str
    galleries: tuple[str, ...]
    first_gallery: str | None
    reads: int
    started_at: str


@dataclass(frozen=True)
class PageAudited:
    """A gallery (or a page of its versions) read and evaluated, and recorded in the findings ledger.

    `cursor`: where the next page of the same gallery starts (None: the gallery is done); `next_gallery`:
    the ID of the gallery after it in the scope (None: it was the last, or the gallery is not done).
    `new`: how many of the page's findings this audit opened; `reads`: the ARM reads the page made (the
    key chains' too); `key_reads`: the key-chain answers it read (kept for the audit's later steps);
    `events_sent`: the key-health CloudEvents it handed to the sinks.
    """

    page: Page
    cursor: dict[str, Any] | None
    next_gallery: str | None
    new: int
    reads: int
    started_at: str
    key_reads: KeyReads | None = None
    events_sent: int = 0


@dataclass(frozen=True)
class ReadFailed:
    """ARM refused or failed a read of the pending gallery (or subscription listing); `next_gallery`: the
    gallery the audit goes on with without it (the next one; while listing, the scope's first)."""

    failure: ArmFailure
    next_gallery: str | None
    started_at: str


@dataclass(frozen=True)
class StepRaised:
    """The step itself failed (a bug, or storage out of reach): retried, then the audit fails."""

    failure: ArmFailure


Event = GalleriesListed | PageAudited | ReadFailed | StepRaised
