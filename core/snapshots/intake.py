"""From a snapshot write event to one ordinary build request on `image-build-requests` (the I/O shell).

One snapshot goes through these steps, each a queue-driven attempt that never sleeps:

1. the Event Grid trigger classifies the event (`core.snapshots.eventgrid`): only snapshot writes from an allowed
   topic go on, and the first attempt runs at once;
2. read the snapshot from ARM (events carry no tags). While it is not yet `Succeeded` the attempt ends
   with a delayed message on `snapshot-events` (`SNAPSHOT_POLL_SECONDS`), up to `SNAPSHOT_WAIT_TIMEOUT_SECONDS`;
3. pick the one template whose match rule takes it (`core.snapshots.templates`); read the data-disk snapshots its
   `imageBuilder.dataDisk.<lun>` tags name (waiting for them too);
4. claim the snapshot in Table `snapshotbuilds` (`create_entity` is the guard): a second event for the
   same snapshot finds the claim and stops, whatever order things arrive in. A claim whose holder
   crashed is taken over after `STEP_LEASE_SECONDS`;
5. choose the version (the template's strategy over the versions ARM lists and those reserved in the
   same table, so that two snapshots never get one number), build the request, put it on the request
   queue, and mark the claim `Submitted`.

Transient ARM errors reschedule the attempt with backoff (`RETRY_*` settings); permanent ones are logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, UpdateMode
from azure.storage.queue import QueueServiceClient

from core.azure import resource_ids
from core.azure.arm import Arm, classify
from core.azure.settings import Settings
from core.azure.storage import send_message, table_service
from core.base.actors import Actor, ActorKind
from core.base.timestamps import parse_iso, utc_iso
from core.builds.admission import build_id_for
from core.builds.submissions import derive_resource_id
from core.engine.backoff import retry_delay
from core.engine.messages import visibility_seconds
from core.request import RequestInvalid, parse_request
from core.snapshots.arm_reads import ArmCallFailed, arm_call, read_snapshot
from core.snapshots.eventgrid import Ignored, Refused
from core.snapshots.eventgrid import classify as classify_event
from core.snapshots.snapshot_settings import (
    CLAIM_ROW,
    MAX_RESERVATION_TRIES,
    QUEUE,
    TABLE,
    Outcome,
    SnapshotSettings,
    SnapshotWork,
    cached_templates,
    table_key,
)
from core.snapshots.templates import (
    PLACEHOLDER_VERSION,
    SnapshotFacts,
    Template,
    TemplatesInvalid,
    data_disks_from_tags,
    select,
)

log = logging.getLogger(__name__)


class SnapshotBuilder:
    """Turns snapshot events into build requests; one instance per invocation is fine (no network at init)."""

    def __init__(
        self,
        settings: Settings,
        snapshot_settings: SnapshotSettings,
        *,
        queues: QueueServiceClient,
        tables: TableServiceClient,
        templates: tuple[Template, ...],
        arm_for: Callable[[str], Arm],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.snapshot_settings = snapshot_settings
        self.queues = queues
        self.tables = tables
        self.templates = templates
        self.arm_for = arm_for
        self.clock = clock
        self._table: TableClient | None = None
        # Notes who asks for a build before its request is queued (core/app/submit.py note_queued), so that the
        # build's history names this snapshot's event rather than the request queue.
        self.note_queued: Callable[[str, Actor], None] | None = None

    # --- entry points --------------------------------------------------------------------------------
    def handle_event(self, event: Mapping[str, Any]) -> Outcome:
        """One Event Grid event (either schema): ignore, refuse, or look at the snapshot now."""
        result = classify_event(event, self.snapshot_settings.allowlist)
        if isinstance(result, Ignored):
            log.debug("event %s ignored: %s", result.event_id, result.reason)
            return Outcome.IGNORED
        if isinstance(result, Refused):
            log.warning("event %s refused: %s", result.event_id, result.reason)
            return Outcome.REFUSED
        log.info("event %s: snapshot %s was written (topic %s)", result.event_id, result.snapshot_id, result.topic)
        work = SnapshotWork(result.snapshot_id, result.event_id, utc_iso(self.clock()), str(uuid.uuid4()))
        return self.process(work)

    def handle_work_text(self, text: str) -> Outcome:
        """A message from `snapshot-events`; a malformed one is logged and dropped."""
        try:
            work = SnapshotWork.from_text(text)
        except (ValueError, TypeError) as error:
            log.error("snapshot-events message dropped, it is malformed (%s): %.300s", error, text)
            return Outcome.MALFORMED
        return self.process(work)

    # --- one attempt ---------------------------------------------------------------------------------
    def process(self, work: SnapshotWork) -> Outcome:
        """One attempt. Storage errors propagate (the invocation fails and the host retries it)."""
        try:
            return self._process(work)
        except ArmCallFailed as failed:
            return self._arm_failed(work, failed.error)

    def _process(self, work: SnapshotWork) -> Outcome:
        snapshot_id = work.snapshot_id
        arm = self.arm_for(resource_ids.parse_resource_id(snapshot_id).subscription)
        snapshot = read_snapshot(arm, snapshot_id)
        if snapshot is None:
            log.warning("snapshot %s: not found (deleted after the event?); no build", snapshot_id)
            return Outcome.NOT_FOUND
        waiting = self._not_ready(work, snapshot_id, snapshot)
        if waiting is not None:
            return waiting
        facts = SnapshotFacts.from_resource(snapshot)
        matched = select(self.templates, facts)
        if not matched:
            log.info("snapshot %s: no template matches (tags %s); no build", snapshot_id, dict(facts.tags))
            return Outcome.NO_TEMPLATE
        if len(matched) > 1:
            log.error("snapshot %s: templates %s all match; make their match rules exclusive (e.g. a tag "
                      "imageBuilder.template=<name>); no build", snapshot_id, ", ".join(t.name for t in matched))
            return Outcome.AMBIGUOUS
        template = matched[0]
        if not (snapshot.get("properties") or {}).get("osType"):
            log.info("snapshot %s: matches template %s but has no osType, so it is not an OS disk snapshot; "
                     "data-disk snapshots are built through the OS snapshot's imageBuilder.dataDisk.<lun> tags",
                     snapshot_id, template.name)
            return Outcome.NOT_OS_DISK
        disks, problems = data_disks_from_tags(facts.tags, snapshot_id)
        for lun, disk_id in disks:
            disk = read_snapshot(self.arm_for(resource_ids.parse_resource_id(disk_id).subscription), disk_id)
            if disk is None:
                problems.append(f"LUN {lun}: data-disk snapshot {disk_id} was not found")
            elif not problems:
                waiting = self._not_ready(work, disk_id, disk)
                if waiting is not None:
                    return waiting
        if problems:
            for problem in problems:
                log.error("snapshot %s (template %s): %s; fix the tag and write the snapshot's tags again",
                          snapshot_id, template.name, problem)
            return Outcome.BAD_DATA_DISKS
        return self._claim_and_submit(work, template, disks, arm)

    def _not_ready(self, work: SnapshotWork, resource_id: str, snapshot: Mapping[str, Any]) -> Outcome | None:
        state = str((snapshot.get("properties") or {}).get("provisioningState") or "")
        if state.lower() == "succeeded":
            return None
        if state.lower() in ("failed", "canceled"):
            log.error("snapshot %s: provisioning %s; no build", resource_id, state)
            return Outcome.SNAPSHOT_FAILED
        return self._wait(work, f"{resource_id} is {state or 'not provisioned yet'}")

    def _wait(self, work: SnapshotWork, why: str) -> Outcome:
        started = parse_iso(work.first_seen) or self.clock()
        waited = (self.clock() - started).total_seconds()
        if waited > self.snapshot_settings.wait_timeout_seconds:
            log.error("snapshot %s: gave up after %d s: %s (SNAPSHOT_WAIT_TIMEOUT_SECONDS)", work.snapshot_id,
                      waited, why)
            return Outcome.TIMED_OUT
        self._schedule(work, self.snapshot_settings.poll_seconds)
        log.info("snapshot %s: %s; looking again in %d s", work.snapshot_id, why, self.snapshot_settings.poll_seconds)
        return Outcome.WAITING

    def _schedule(self, work: SnapshotWork, delay: float) -> None:
        queue = self.queues.get_queue_client(QUEUE)
        send_message(queue, work.to_text(), delay_seconds=visibility_seconds(delay))

    def _arm_failed(self, work: SnapshotWork, error: Exception) -> Outcome:
        failure = classify(error)
        if not failure.transient or work.retries >= self.settings.transient_retry_limit:
            log.error("snapshot %s: ARM answered %s %s: %s; no build", work.snapshot_id, failure.status or "",
                      failure.code, failure.message)
            return Outcome.ARM_ERROR
        delay = retry_delay(work.retries, initial_seconds=self.settings.retry_initial_seconds,
                            max_seconds=self.settings.retry_max_seconds,
                            retry_after_seconds=failure.retry_after_seconds)
        self._schedule(SnapshotWork(**{**asdict(work), "retries": work.retries + 1}), delay)
        log.warning("snapshot %s: transient ARM error %s (%s); retry %d in %.0f s", work.snapshot_id, failure.code,
                    failure.message, work.retries + 1, delay)
        return Outcome.RETRYING

    # --- the guarded write ---------------------------------------------------------------------------
    @property
    def table(self) -> TableClient:
        if self._table is None:
            with contextlib.suppress(ResourceExistsError):
                self.tables.create_table_if_not_exists(TABLE)
            self._table = self.tables.get_table_client(TABLE)
        return self._table

    def _claim(self, work: SnapshotWork, template: Template) -> tuple[Outcome | None, dict[str, Any], str]:
        """Claim the snapshot: (None, claim, etag) when this attempt may build; (outcome, ...) when not."""
        now = self.clock()
        claim = {"PartitionKey": table_key(work.snapshot_id), "RowKey": CLAIM_ROW, "SnapshotId": work.snapshot_id,
                 "Template": template.name, "Status": "Claimed", "ClaimedAt": utc_iso(now), "Token": work.token,
                 "EventId": work.event_id}
        try:
            metadata = self.table.create_entity(claim)
            return None, claim, str(metadata["etag"])
        except ResourceExistsError:
            pass
        existing = self.table.get_entity(claim["PartitionKey"], CLAIM_ROW)
        etag = str(existing.metadata["etag"])
        if existing.get("Status") == "Submitted":
            log.info("snapshot %s: already made build %s (version %s); duplicate event %s ignored", work.snapshot_id,
                     existing.get("BuildId"), existing.get("Version"), work.event_id)
            return Outcome.DUPLICATE, dict(existing), etag
        claimed_at = parse_iso(str(existing.get("ClaimedAt"))) or now
        lease_end = claimed_at + timedelta(seconds=self.settings.step_lease_seconds)
        if existing.get("Token") != work.token and lease_end > now:
            self._schedule(work, (lease_end - now).total_seconds() + 1)
            log.info("snapshot %s: another attempt holds the claim until %s; looking again then", work.snapshot_id,
                     utc_iso(lease_end))
            return Outcome.CLAIMED_ELSEWHERE, dict(existing), etag
        taken = {**existing, "ClaimedAt": utc_iso(now), "Token": work.token}
        try:
            metadata = self.table.update_entity(taken, mode=UpdateMode.REPLACE, etag=etag,
                                                match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError:
            log.info("snapshot %s: another attempt took the claim first; this one stops", work.snapshot_id)
            return Outcome.DUPLICATE, dict(existing), etag
        return None, dict(taken), str(metadata["etag"])

    def _reserve_version(self, template: Template, definition_id: str, arm: Arm, work: SnapshotWork) -> str:
        """A version no other build has: the strategy over ARM's versions and the table's reservations."""
        parsed = resource_ids.parse_resource_id(definition_id)
        try:
            taken = arm_call(lambda: [str(version.name) for version in arm.compute.gallery_image_versions
                                      .list_by_gallery_image(parsed.resource_group, parsed.names[0], parsed.names[1])])
        except ResourceNotFoundError:
            taken = []  # the build is rejected by the pre-flight checks, with the reason recorded there
        partition = "versions" + table_key(definition_id)
        taken += [str(e["RowKey"]) for e in self.table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": partition}, select=["RowKey"])]
        for _ in range(MAX_RESERVATION_TRIES):
            version = template.version.choose(taken, self.clock())
            try:
                self.table.create_entity({"PartitionKey": partition, "RowKey": version, "SnapshotId": work.snapshot_id,
                                          "Template": template.name, "ReservedAt": utc_iso(self.clock())})
                return version
            except ResourceExistsError:
                taken.append(version)
        raise RuntimeError(f"could not reserve a version of {definition_id} after {MAX_RESERVATION_TRIES} tries")

    def _claim_and_submit(self, work: SnapshotWork, template: Template, disks: list[tuple[int, str]],
                          arm: Arm) -> Outcome:
        stop, claim, etag = self._claim(work, template)
        if stop is not None:
            return stop
        text = claim.get("Request")
        if not text:  # a fresh claim, or one whose holder crashed before choosing a version
            now = self.clock()
            try:
                definition_id = parse_request(
                    template.request_for(work.snapshot_id, disks, PLACEHOLDER_VERSION, now),
                    known_regions=arm.settings.known_regions).image_definition_id
            except RequestInvalid as invalid:  # only the snapshot-specific parts can be wrong here
                log.error("snapshot %s (template %s): %s", work.snapshot_id, template.name, invalid)
                return Outcome.BAD_DATA_DISKS
            version = self._reserve_version(template, definition_id, arm, work)
            request = template.request_for(work.snapshot_id, disks, version, now)
            text = json.dumps(request)
            resource_id = derive_resource_id(request)
            assert resource_id is not None  # the template's identifying fields were validated at load
            claim.update(Version=version, BuildId=build_id_for(resource_id), Request=text)
            self.table.update_entity(claim, mode=UpdateMode.REPLACE, etag=etag,
                                     match_condition=MatchConditions.IfNotModified)
        if self.note_queued is not None:
            self.note_queued(text, Actor(ActorKind.EVENT_GRID, work.event_id, work.snapshot_id))
        send_message(self.queues.get_queue_client(self.settings.request_queue), text)
        self.table.update_entity({"PartitionKey": claim["PartitionKey"], "RowKey": CLAIM_ROW, "Status": "Submitted",
                                  "SubmittedAt": utc_iso(self.clock())}, mode=UpdateMode.MERGE)
        log.info("snapshot %s: build %s requested (template %s, version %s)", work.snapshot_id, claim["BuildId"],
                 template.name, claim["Version"])
        return Outcome.SUBMITTED


def builder(runtime: Any) -> SnapshotBuilder:
    """A builder on the app's runtime (`core.app.runtime.Runtime`): its settings, queues and ARM clients.

    The templates are loaded on first use; invalid ones fail every invocation, each problem logged.
    """
    env = runtime.settings.env or os.environ
    snapshot_settings = SnapshotSettings.from_env(env)
    try:
        templates = cached_templates(snapshot_settings.templates_dir, runtime.settings.known_regions)
    except TemplatesInvalid as invalid:
        for problem in invalid.problems:
            log.error("template problem: %s", problem)
        raise
    return SnapshotBuilder(runtime.settings, snapshot_settings, queues=runtime.queues,
                           tables=table_service(env, runtime.settings.storage_connection), templates=templates,
                           arm_for=runtime.runner.arm_for, clock=runtime.runner.clock)
