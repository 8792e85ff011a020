"""The scheduled compliance audit: read every image version of the configured galleries, run the audit
rules (`core.audit.rules`), and keep the findings in Table `auditfindings` with first seen / last seen /
resolved; a summary line goes to the log.

Scope (app settings): `AUDIT_GALLERIES` (gallery resource IDs) and/or `AUDIT_SUBSCRIPTIONS` (every gallery
in each). Policy: `AUDIT_REQUIRE_CMK` (default true) and `AUDIT_EOL_WARNING_DAYS` (default 30).

Reads per audit: one list of galleries per subscription, one list of definitions per gallery, one list of
versions per definition, one GET (`$expand=ReplicationStatus`) per version, one GET per distinct disk
encryption set in the versions' own subscriptions, and the key chain of each set found
(`core.policy.key_facts`: each vault and key version once per audit, role reads on RBAC vaults only). A
gallery that cannot be read is reported and its findings stay as they were (not resolved for want of data).

Key health (`core.audit.key_health`): each finding of a key-health code is also a log record (logger
`core.audit.key_health`, attributes `key_health.code`, `key_health.version`, `key_health.region`), a count
of the metric `audit.key_health`, and a CloudEvent `CmkImageBuilder.KeyHealth.<code>` sent to the completion-event
sinks (`COMPLETION_EVENTS_QUEUE` / `COMPLETION_EVENTS_TOPIC_ENDPOINT`), every audit run while it lasts.

Table rows: PartitionKey = the version ID (lower case, '/' as '|'), RowKey = code|subject; a finding no
longer seen in an audit that read its gallery gets `Status` resolved and `ResolvedAt`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import (
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, TableTransactionError, UpdateMode

from core.audit.key_health import KEY_HEALTH_CODES, key_health_event
from core.audit.rules import AuditFacts, AuditFinding, AuditPolicy, Severity, audit_version, referenced_des
from core.azure import resource_ids
from core.azure.arm import ARM_ERRORS, Arm, classify
from core.azure.settings import Settings, SettingsError, read_int
from core.azure.storage import table_service
from core.base import telemetry
from core.base.timestamps import utc_iso
from core.events.sinks import Sink, sinks_from_settings
from core.policy.facts import key_horizon_days, read_disk_encryption_set
from core.policy.key_facts import Reads, read_key_chain
from core.policy.keychain import KeyChain

log = logging.getLogger(__name__)
key_log = logging.getLogger("core.audit.key_health")

TABLE = "auditfindings"
OPEN, RESOLVED = "open", "resolved"


def _ids(raw: str | None, setting: str, check: Callable[[str], str]) -> tuple[str, ...]:
    values = []
    for entry in (raw or "").replace(",", " ").split():
        try:
            values.append(check(entry))
        except ValueError as error:
            raise SettingsError(f"{setting} entry {entry!r}: {error}") from None
    return tuple(dict.fromkeys(values))


def _gallery_id(text: str) -> str:
    parsed = resource_ids.parse_resource_id(text)
    if not parsed.is_kind(resource_ids.GALLERY):
        raise ValueError(f"is a {parsed.kind} ID; give a gallery ID (.../providers/Microsoft.Compute/galleries/<name>)")
    return str(parsed)


def _subscription_id(text: str) -> str:
    if not resource_ids.is_guid(text):
        raise ValueError("is not a subscription ID (a GUID)")
    return text.lower()


@dataclass(frozen=True)
class AuditConfig:
    galleries: tuple[str, ...] = ()
    subscriptions: tuple[str, ...] = ()
    policy: AuditPolicy = field(default_factory=AuditPolicy)

    @property
    def empty(self) -> bool:
        return not self.galleries and not self.subscriptions

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, galleries: Iterable[str] = (),
                 subscriptions: Iterable[str] = ()) -> AuditConfig:
        """The settings (or, when given, ``galleries`` / ``subscriptions`` instead); SettingsError names the fix."""
        given_galleries, given_subscriptions = " ".join(galleries), " ".join(subscriptions)
        override = bool(given_galleries or given_subscriptions)
        require = (env.get("AUDIT_REQUIRE_CMK") or "true").strip().lower()
        if require not in ("true", "false", "1", "0"):
            raise SettingsError(f"AUDIT_REQUIRE_CMK={require!r} must be true or false")
        days = read_int(env, "AUDIT_EOL_WARNING_DAYS", 30, minimum=0, unit="days")
        return cls(
            galleries=_ids(given_galleries if override else env.get("AUDIT_GALLERIES"), "AUDIT_GALLERIES"
                           if not override else "--gallery", _gallery_id),
            subscriptions=_ids(given_subscriptions if override else env.get("AUDIT_SUBSCRIPTIONS"),
                               "AUDIT_SUBSCRIPTIONS" if not override else "--subscription", _subscription_id),
            policy=AuditPolicy(require_customer_key=require in ("true", "1"), eol_warning_days=days,
                               key_horizon_days=key_horizon_days(env)),
        )


def _key(text: str) -> str:
    """Table keys may not hold '/', '\\', '#' or '?'."""
    return "".join("|" if ch in "/\\#?" else ch for ch in text.strip().lower())


def _gallery_of(version_id: str) -> str:
    parsed = resource_ids.parse_resource_id(version_id)
    return str(parsed.parent.parent).lower() if parsed.parent and parsed.parent.parent else version_id.lower()


def reconcile(open_rows: Iterable[Mapping[str, Any]], findings: Iterable[AuditFinding], audited: set[str],
              now: datetime) -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
    """(rows to write, how many findings are new, rows resolved now) — pure.

    A finding already open keeps its FirstSeen; a new one (or one seen again after being resolved) starts
    now; an open row not found again is resolved, but only if its gallery was read (``audited``, lower case).
    """
    at = utc_iso(now)
    previous = {(row["PartitionKey"], row["RowKey"]): row for row in open_rows}
    rows, new, seen = [], 0, set()
    for finding in findings:
        key = (_key(finding.version_id), _key(finding.key))
        seen.add(key)
        before = previous.get(key)
        new += before is None
        rows.append({"PartitionKey": key[0], "RowKey": key[1], "VersionId": finding.version_id,
                     "GalleryId": _gallery_of(finding.version_id), "Code": finding.code,
                     "Severity": str(finding.severity), "Subject": finding.subject, "Message": finding.message,
                     "FirstSeen": before["FirstSeen"] if before else at, "LastSeen": at, "ResolvedAt": "",
                     "Status": OPEN})
    resolved = [{**row, "Status": RESOLVED, "ResolvedAt": at} for key, row in previous.items()
                if key not in seen and str(row.get("GalleryId", "")).lower() in audited]
    return rows + resolved, new, resolved


@dataclass
class AuditReport:
    audited_at: datetime
    galleries: list[str]
    versions: list[str]
    findings: list[AuditFinding]
    rows: list[dict[str, Any]] = field(default_factory=list)  # the open findings as stored (with FirstSeen)
    new: int = 0
    resolved: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    events_sent: int = 0  # key-health CloudEvents handed to the sinks

    @property
    def key_health(self) -> list[AuditFinding]:
        return [finding for finding in self.findings if finding.code in KEY_HEALTH_CODES]

    @property
    def noncompliant_versions(self) -> list[str]:
        return sorted({finding.version_id for finding in self.findings}, key=str.lower)

    def summary(self) -> str:
        errors = sum(f.severity is Severity.ERROR for f in self.findings)
        text = (f"audit: {len(self.versions)} version(s) in {len(self.galleries)} gallery(ies); "
                f"{len(self.findings)} open finding(s) on {len(self.noncompliant_versions)} version(s) "
                f"({errors} error, {len(self.findings) - errors} warning); {self.new} new, "
                f"{len(self.resolved)} resolved")
        return text + (f"; {len(self.unreadable)} gallery(ies) not read" if self.unreadable else "")

    def to_dict(self) -> dict[str, Any]:
        stored = {(row["PartitionKey"], row["RowKey"]): row for row in self.rows}
        findings = []
        for finding in self.findings:
            row = stored.get((_key(finding.version_id), _key(finding.key)), {})
            findings.append({**finding.to_dict(), "firstSeen": row.get("FirstSeen"), "lastSeen": row.get("LastSeen")})
        return {"auditedAt": utc_iso(self.audited_at), "galleries": self.galleries, "versions": self.versions,
                "noncompliantVersions": self.noncompliant_versions, "findings": findings,
                "resolved": [_row_dict(row) for row in self.resolved], "unreadable": self.unreadable,
                "keyHealthFindings": len(self.key_health), "keyHealthEventsSent": self.events_sent,
                "summary": self.summary()}


def _row_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": row.get("Code"), "severity": row.get("Severity"), "versionId": row.get("VersionId"),
            "subject": row.get("Subject"), "message": row.get("Message"), "firstSeen": row.get("FirstSeen"),
            "lastSeen": row.get("LastSeen"), "resolvedAt": row.get("ResolvedAt") or None, "status": row.get("Status")}


class Auditor:
    """Reads ARM (through `arm_for`), evaluates, and records in the findings table (when ``tables`` is given)."""

    def __init__(self, settings: Settings, tables: TableServiceClient | None, arm_for: Callable[[str], Arm],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), sinks: list[Sink] | None = None) -> None:
        self.settings = settings
        self.tables = tables
        self.arm_for = arm_for
        self.clock = clock
        self.sinks = sinks or []

    # --- reading ---------------------------------------------------------------------------------------
    def _galleries(self, config: AuditConfig, unreadable: list[str]) -> list[str]:
        found = {gallery.lower(): gallery for gallery in config.galleries}
        for subscription in config.subscriptions:
            try:
                for gallery in self.arm_for(subscription).compute.galleries.list():
                    found.setdefault(str(gallery.id).lower(), str(gallery.id))
            except ARM_ERRORS as error:
                unreadable.append(f"/subscriptions/{subscription}: {_reason(error)}")
        return list(found.values())

    def _versions(self, gallery_id: str) -> list[dict[str, Any]]:
        rid = resource_ids.parse_resource_id(gallery_id)
        compute = self.arm_for(rid.subscription).compute
        rg, gallery = rid.resource_group, rid.name
        versions = []
        for image in compute.gallery_images.list_by_gallery(rg, gallery):
            for listed in compute.gallery_image_versions.list_by_gallery_image(rg, gallery, image.name):
                body = compute.gallery_image_versions.get(rg, gallery, image.name, listed.name,
                                                          expand="ReplicationStatus")
                versions.append(body.as_dict())
        return versions

    def _des(self, versions: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
        """Each DES named by a version in that version's own subscription, read once."""
        read: dict[str, dict[str, Any] | None] = {}
        for version in versions:
            subscription = resource_ids.parse_resource_id(str(version["id"])).subscription
            for key, des_id in referenced_des(version).items():
                if key in read:
                    continue
                try:
                    if resource_ids.parse_resource_id(des_id).subscription != subscription:
                        continue
                    read[key] = read_disk_encryption_set(self.arm_for(subscription), des_id)
                except ValueError:
                    continue  # not a resource ID: nothing to read
                except ARM_ERRORS as error:
                    log.warning("audit: cannot read disk encryption set %s (%s); its checks are skipped", des_id,
                                _reason(error))
        return read

    def _key_chains(self, des: dict[str, dict[str, Any] | None]) -> dict[str, KeyChain]:
        """The key chain of each DES found, each vault and key version read once for the whole audit."""
        chains: dict[str, KeyChain] = {}
        reads: Reads | None = None
        for key, body in des.items():
            if body is None:
                continue
            if reads is None:
                reads = Reads(self.arm_for(resource_ids.parse_resource_id(str(body["id"])).subscription), {})
            try:
                chains[key] = read_key_chain(reads, body)
            except ARM_ERRORS as error:
                log.warning("audit: cannot read the key chain of %s (%s); its key health is skipped", body["id"],
                            _reason(error))
        return chains

    def _announce(self, findings: list[AuditFinding], now: datetime) -> int:
        """Key-health findings as log records, metric counts and CloudEvents; how many events were sent."""
        sent = 0
        for finding in findings:
            if finding.code not in KEY_HEALTH_CODES:
                continue
            event = key_health_event(finding, now)
            region = event["data"]["region"]
            telemetry.record_key_health(finding.code, str(finding.severity), region)
            key_log.log(logging.ERROR if finding.severity is Severity.ERROR else logging.WARNING,
                        "key health: %s %s: %s", finding.code, short_version(finding.version_id), finding.message,
                        extra={"key_health.code": finding.code, "key_health.version": finding.version_id,
                               "key_health.region": region or ""})
            for sink in self.sinks:
                try:
                    sink.send(event)
                    sent += 1
                except Exception as error:  # one sink down must not stop the audit or the other sinks
                    log.error("audit: key-health event %s not sent to %s: %s", event["id"], sink.name, error)
        return sent

    # --- the audit ---------------------------------------------------------------------------------------
    def run(self, config: AuditConfig, *, record: bool = True) -> AuditReport:
        now = self.clock()
        unreadable: list[str] = []
        audited, versions = [], []
        for gallery_id in self._galleries(config, unreadable):
            try:
                versions += self._versions(gallery_id)
                audited.append(gallery_id)
            except ResourceNotFoundError:
                unreadable.append(f"{gallery_id}: not found; fix AUDIT_GALLERIES")
            except ARM_ERRORS as error:
                unreadable.append(f"{gallery_id}: {_reason(error)}")
        des = self._des(versions)
        chains = self._key_chains(des)
        findings = [finding for version in versions
                    for finding in audit_version(AuditFacts(version, des, now, config.policy, chains))]
        report = AuditReport(now, audited, [str(v["id"]) for v in versions], findings, unreadable=unreadable)
        report.events_sent = self._announce(findings, now)
        if record and self.tables is not None:
            table = self._table()
            open_rows = list(table.query_entities("Status eq @status", parameters={"status": OPEN}))
            rows, report.new, report.resolved = reconcile(open_rows, findings, {g.lower() for g in audited}, now)
            _write(table, rows)
            report.rows = [row for row in rows if row["Status"] == OPEN]
        else:
            report.new = len(findings)
        return report

    def recorded(self, *, include_resolved: bool = False) -> list[dict[str, Any]]:
        """The findings table as it stands: open findings (and resolved ones too with ``include_resolved``)."""
        if self.tables is None:
            return []
        table = self._table()
        rows = table.list_entities() if include_resolved else table.query_entities(
            "Status eq @status", parameters={"status": OPEN})
        return sorted((_row_dict(row) for row in rows), key=lambda r: (str(r["versionId"]).lower(), r["code"]))

    def _table(self) -> TableClient:
        assert self.tables is not None
        with contextlib.suppress(ResourceExistsError):
            self.tables.create_table_if_not_exists(TABLE)
        return self.tables.get_table_client(TABLE)


def _reason(error: Exception) -> str:
    failure = classify(error)
    return f"{failure.code}: {failure.message}"


def _write(table: TableClient, rows: list[dict[str, Any]]) -> None:
    """Upsert rows, one transaction per partition (a version's findings change together)."""
    by_partition: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_partition.setdefault(row["PartitionKey"], []).append(row)
    for partition_rows in by_partition.values():
        for start in range(0, len(partition_rows), 100):
            batch = [("upsert", row, {"mode": UpdateMode.REPLACE}) for row in partition_rows[start:start + 100]]
            try:
                table.submit_transaction(batch)
            except TableTransactionError:
                for row in partition_rows[start:start + 100]:
                    table.upsert_entity(row, mode=UpdateMode.REPLACE)


def auditor(runtime: Any, *, record: bool = True) -> Auditor:
    """An auditor on the app's runtime (`core.app.runtime.Runtime`)."""
    env = runtime.settings.env or os.environ
    tables = table_service(env, runtime.settings.storage_connection) if record else None
    return Auditor(runtime.settings, tables, runtime.runner.arm_for, runtime.runner.clock,
                   sinks=sinks_from_settings(runtime.settings, runtime.queues))


def run_scheduled(runtime: Any, *, past_due: bool = False) -> AuditReport | None:
    """The timer's audit over the configured scope; the summary goes to the log (None: nothing configured)."""
    env = runtime.settings.env or os.environ
    config = AuditConfig.from_env(env)
    if config.empty:
        log.warning("audit: nothing to audit; set AUDIT_GALLERIES (gallery IDs) or AUDIT_SUBSCRIPTIONS")
        return None
    report = auditor(runtime).run(config)
    for problem in report.unreadable:
        log.error("audit: could not read %s", problem)
    level = logging.WARNING if report.findings or report.unreadable else logging.INFO
    log.log(level, "%s%s", report.summary(), " (timer past due)" if past_due else "")
    return report


# --- for a person ----------------------------------------------------------------------------------------------


def short_version(version_id: str) -> str:
    """gallery/image/version, for tables."""
    try:
        return "/".join(resource_ids.parse_resource_id(version_id).names)
    except ValueError:
        return version_id


def format_findings(rows: list[dict[str, Any]], *, width: int = 110) -> str:
    """Findings (``_row_dict`` shape or AuditFinding dicts) as a table, each message wrapped under its row."""
    if not rows:
        return "no findings"
    header = ("VERSION", "SEVERITY", "CODE", "SUBJECT", "FIRST SEEN")
    lines_data = [(short_version(str(r["versionId"])), str(r["severity"]), str(r["code"]),
                   _short_subject(str(r["subject"])), str(r.get("firstSeen") or "")[:19]) for r in rows]
    widths = [max(len(header[i]), *(len(line[i]) for line in lines_data)) for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for row, data in zip(rows, lines_data, strict=True):
        out.append("  ".join(d.ljust(w) for d, w in zip(data, widths, strict=True)).rstrip())
        status = f"[resolved {row['resolvedAt']}] " if row.get("resolvedAt") else ""
        out += textwrap.wrap(status + str(row["message"]), width=width, initial_indent="    ",
                             subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)
    return "\n".join(out)


def _short_subject(subject: str) -> str:
    return subject.rsplit("/", 1)[-1] if subject.startswith("/") else subject
