"""What each step of an audit costs in ARM reads, and how it queues for the subscription's budget. Pure.

A listing step reads one page of a subscription's galleries (more pages are settled after it). A gallery step
reads its images and their versions lists, then one GET per version, per disk encryption set and per vault
and key version behind a set (those not read by an earlier step of the audit), and stops
when it has made the reads it reserved (`AuditState.page_reads`; it always finishes the version it began):
the rest of the gallery is the next step's page. The reservation of a gallery's first page is what the
previous gallery took (`next_page_reads`), so small galleries do not hold reads they never make.
"""

from __future__ import annotations

from core.audit.state import AuditState, AuditStatus
from core.engine.budget import StepCost

LISTING_READS = 1
# A page makes at most this many reads (at a few hundred milliseconds a read, a few seconds a step).
MAX_PAGE_READS = 20
# The least a page reserves: its images list, a versions list, one version and one disk encryption set.
MIN_PAGE_READS = 4
# The audit waits first when the bucket runs low: it leaves this share of it to builds (theirs: 0 to 0.4).
FLOOR = 0.5


def next_page_reads(reads: int) -> int:
    """The reads a gallery's first page reserves after a page that made `reads`."""
    return max(MIN_PAGE_READS, min(MAX_PAGE_READS, reads))


def step_cost(state: AuditState) -> StepCost:
    """The budget's view of the audit's pending step (in the subscription of what it reads)."""
    if state.status is AuditStatus.LISTING:
        return StepCost(kind="AuditListing", reads=LISTING_READS, writes=0, floor=FLOOR)
    if state.status is AuditStatus.AUDITING:
        return StepCost(kind="AuditGallery", reads=state.page_reads or MAX_PAGE_READS, writes=0, floor=FLOOR)
    return StepCost(kind="Audit", reads=0, writes=0)
