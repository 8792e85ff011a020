"""The I/O of an audit's steps: ARM reads (the runner has reserved them from the subscription's budget),
the findings ledger, and the scope rows; each step's outcome is an event for `decide`.

A gallery step reads the gallery's images list, each image's versions list, then each version with
`$expand=ReplicationStatus`, each disk encryption set it names in its own subscription (once per step) and
the key chain behind each set (`core.audit.key_chains`: each vault and key version once per audit), until it
has made the reads it reserved (`AuditState.page_reads`); the versions left are the next page. The rules,
key health's among them, are evaluated as of the audit's start, so every finding of one audit carries the
same time; key-health findings are also announced (`core.audit.announce`: log, metric, CloudEvents).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from core.audit.announce import announce
from core.audit.events import Event, GalleriesListed, PageAudited, ReadFailed
from core.audit.findings_rows import finding_document, finding_key, row_document
from core.audit.findings_table import FindingsTable
from core.audit.key_chains import KeyChains
from core.audit.pages import GALLERY, KeyReads, Page
from core.audit.partition import AuditRows
from core.audit.rules import AuditFacts, AuditFinding, AuditPolicy, audit_version, referenced_des
from core.audit.state import AuditState, AuditStatus
from core.azure import resource_ids
from core.azure.arm import ARM_ERRORS, Arm, classify
from core.base.timestamps import parse_iso, utc_iso
from core.engine.workflow import StepContext
from core.events.sinks import Sink

log = logging.getLogger(__name__)


@dataclass
class Reads:
    """The ARM reads a step made, against those it reserved."""

    limit: int
    made: int = 0

    def listed(self, pager: Any) -> list[Any]:
        """Every item of an ARM list, counting one read per page fetched."""
        items: list[Any] = []
        for page in pager.by_page():
            self.made += 1
            items += list(page)
        return items

    @property
    def spent(self) -> bool:
        """Whether the step has made every read it reserved."""
        return self.made >= self.limit


def list_galleries(state: AuditState, ctx: StepContext, rows: AuditRows) -> Event:
    """List the pending subscription's galleries: those not yet in the audit's scope."""
    started, reads = utc_iso(ctx.now), Reads(limit=1)
    subscription = state.subscriptions[state.listed]
    known = rows.scope(state.audit_id)
    try:
        listed = [str(gallery.id) for gallery in reads.listed(ctx.arm.compute.galleries.list())]
    except ARM_ERRORS as error:
        return ReadFailed(classify(error), known[0] if known else None, started)
    seen = {gallery.lower() for gallery in known}
    found = []
    for gallery in listed:
        if gallery.lower() not in seen:
            seen.add(gallery.lower())
            found.append(gallery)
    first = known[0] if known else (found[0] if found else None)
    return GalleriesListed(subscription, tuple(found), first, reads.made, started)


@dataclass
class _Read:
    """What a gallery page read from ARM."""

    versions: list[str]
    findings: list[AuditFinding]
    cursor: dict[str, Any] | None
    key_reads: KeyReads | None = None


def _after(name: str, cursor: dict[str, Any], image: str) -> bool:
    after = cursor.get("after")
    return not (str(cursor.get("image", "")).lower() == image.lower() and after and name.lower() <= str(after).lower())


def _read_des(arm: Arm, version: dict[str, Any], des: dict[str, dict[str, Any] | None], reads: Reads,
              keys: KeyChains) -> None:  # fmt: skip
    """Each disk encryption set the version names in its own subscription, read once per audit."""
    subscription = resource_ids.parse_resource_id(str(version["id"])).subscription
    for key, des_id in referenced_des(version).items():
        if key in des:
            continue
        try:
            if resource_ids.parse_resource_id(des_id).subscription != subscription:
                continue
            des[key], made = keys.disk_encryption_set(arm, key, des_id)
            reads.made += made
        except ValueError:
            continue  # not a resource ID: nothing to read
        except ARM_ERRORS as error:
            reads.made += 1
            failure = classify(error)
            log.warning("audit: cannot read disk encryption set %s (%s: %s); its checks are skipped", des_id,
                        failure.code, failure.message)


def _read_page(state: AuditState, arm: Arm, reads: Reads, keys: KeyChains | None = None) -> _Read:
    """Read the pending page of the gallery and evaluate its versions (ARM errors propagate); `keys` holds
    the audit's key-chain answers so far (none: the page reads every chain it needs)."""
    keys = keys if keys is not None else KeyChains()
    read = _read_versions(state, arm, reads, keys)
    read.key_reads = keys.new_reads()
    return read


def _read_versions(state: AuditState, arm: Arm, reads: Reads, keys: KeyChains) -> _Read:
    gallery = resource_ids.parse_resource_id(state.resource_id)
    compute, rg, name = arm.compute, gallery.resource_group, gallery.name
    cursor = state.cursor or {}
    policy = AuditPolicy(require_customer_key=state.require_customer_key, eol_warning_days=state.eol_warning_days,
                         key_horizon_days=state.key_horizon_days)  # fmt: skip
    audited_at = _audited_at(state)
    images = sorted((str(image.name) for image in reads.listed(compute.gallery_images.list_by_gallery(rg, name))),
                    key=str.lower)  # fmt: skip
    versions: list[str] = []
    findings: list[AuditFinding] = []
    des: dict[str, dict[str, Any] | None] = {}
    moved = False  # an image done or a version read in this page: the next page starts further on
    attempted = False  # a version read in this page (found, or deleted meanwhile)
    for image in images:
        if cursor and image.lower() < str(cursor.get("image", "")).lower():
            continue
        if moved and reads.spent:
            return _Read(versions, findings, {"image": image, "after": None})
        try:
            listed = reads.listed(compute.gallery_image_versions.list_by_gallery_image(rg, name, image))
        except ResourceNotFoundError:
            continue  # the image was deleted since the images were listed
        last = None
        for version_name in sorted((str(v.name) for v in listed), key=str.lower):
            if not _after(version_name, cursor, image):
                continue
            if attempted and reads.spent:
                return _Read(versions, findings, {"image": image, "after": last})
            reads.made += 1
            attempted = moved = True
            last = version_name
            try:
                version = compute.gallery_image_versions.get(rg, name, image, version_name,
                                                             expand="ReplicationStatus").as_dict()
            except ResourceNotFoundError:
                continue  # deleted since it was listed
            _read_des(arm, version, des, reads, keys)
            reads.made += keys.read(arm, des)
            findings += audit_version(AuditFacts(version, des, audited_at, policy, keys.chains))
            versions.append(str(version["id"]))
        moved = True
    return _Read(versions, findings, None)


def audit_page(state: AuditState, ctx: StepContext, rows: AuditRows, ledger: FindingsTable | None,
               sinks: Sequence[Sink] = ()) -> Event:  # fmt: skip
    """Read and evaluate the pending page of the pending gallery, record it in the findings ledger, and
    announce its key-health findings."""
    started, reads = utc_iso(ctx.now), Reads(limit=state.page_reads)
    try:
        read = _read_page(state, ctx.arm, reads, KeyChains(lambda: rows.key_reads(state.audit_id)))
    except ARM_ERRORS as error:
        return ReadFailed(classify(error), rows.gallery_at(state, state.gallery_index + 1), started)
    done = read.cursor is None
    documents, resolved, new = _recorded(state, read.findings, ledger, done)
    sent = announce(read.findings, _audited_at(state), sinks)
    page = Page(kind=GALLERY, subject=state.resource_id, done=done, versions=tuple(read.versions),
                findings=tuple(documents), resolved=tuple(resolved))
    next_gallery = rows.gallery_at(state, state.gallery_index + 1) if done else None
    return PageAudited(page, read.cursor, next_gallery, new, reads.made, started, read.key_reads, sent)


def _audited_at(state: AuditState) -> datetime:
    """The time every finding of the audit is evaluated at: its start."""
    audited_at = parse_iso(state.created_at)
    assert audited_at is not None
    return audited_at


def _recorded(state: AuditState, findings: Iterable[AuditFinding], ledger: FindingsTable | None,
              done: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:  # fmt: skip
    """The page's findings as the ledger keeps them, the findings resolved, how many are new."""
    findings = list(findings)
    if ledger is None or not state.record_findings:
        return [finding_document(finding, None) for finding in findings], [], len(findings)
    recorded = ledger.record(state.resource_id, findings, audit_id=state.audit_id, at=state.created_at,
                             gallery_done=done)  # fmt: skip
    documents = [finding_document(finding, recorded.seen.get(finding_key(finding))) for finding in findings]
    return documents, [row_document(row) for row in recorded.resolved], recorded.new


def run_step(state: AuditState, ctx: StepContext, rows: AuditRows, ledger: FindingsTable | None,
             sinks: Sequence[Sink] = ()) -> Event:  # fmt: skip
    """Run the audit's pending step (ARM failures become `ReadFailed` events; anything else raises)."""
    if state.status is AuditStatus.LISTING:
        return list_galleries(state, ctx, rows)
    return audit_page(state, ctx, rows, ledger, sinks)
