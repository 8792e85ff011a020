"""The audit against the simulator (a world of compliant and non-compliant versions) and Azurite (the findings
table): exactly the non-compliant versions, first seen / last seen / resolved, the CLI and the timer."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.functions.timer import TimerRequest

from core.app import runtime as app_runtime
from core.audit import auditor as audit
from core.audit.auditor import AuditConfig, Auditor
from core.audit.rules import AuditPolicy
from core.base.timestamps import utc_iso
from core.entry import functions as handlers
from devstack.azurite import PROJECT_ROOT
from devstack.stack import LocalStack
from tests.audit.world import EXPECTED, GOLDEN, OTHER_SUB, SUB, TEAM, audit_world, version_id

pytestmark = pytest.mark.integration
NONCOMPLIANT = {version_id(v) for v, code in EXPECTED.items() if code}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(audit_world()) as started:
        yield started


@pytest.fixture
def env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    settings = stack.env(AUDIT_GALLERIES=GOLDEN)
    for key, value in settings.items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    tables = audit.table_service(settings)
    tables.delete_table(audit.TABLE)
    app_runtime.reset_runtime()
    yield settings
    app_runtime.reset_runtime()


def auditor(env: dict[str, str], at: datetime | None = None) -> Auditor:
    made = audit.auditor(app_runtime.build_runtime(env))
    if at is not None:
        made.clock = lambda: at
    return made


def test_the_audit_reports_exactly_the_noncompliant_versions(env):
    report = auditor(env).run(AuditConfig(galleries=(GOLDEN,)))
    assert set(report.versions) == {version_id(v) for v in EXPECTED}
    assert set(report.noncompliant_versions) == NONCOMPLIANT
    by_version = {}
    for finding in report.findings:
        by_version.setdefault(finding.version_id.rsplit("/", 1)[-1], []).append(finding.code)
    assert by_version == {v: [code] for v, code in EXPECTED.items() if code}
    assert report.unreadable == []


def test_subscriptions_scope_audits_every_gallery_in_them(env):
    report = auditor(env).run(AuditConfig(subscriptions=(SUB, OTHER_SUB)), record=False)
    assert version_id("2.0.0", TEAM, "win") in report.versions
    assert set(report.noncompliant_versions) == NONCOMPLIANT  # the other subscription's version is compliant


def test_reads_one_get_per_version_and_per_distinct_des(stack, env):
    """... and each vault and key version behind the sets found once (the sets' implied vaults: three)."""
    sim = stack.simulator
    before = len(sim.requests)
    auditor(env).run(AuditConfig(galleries=(GOLDEN,)), record=False)
    reads = [r.path.lower() for r in sim.requests[before:] if r.method == "GET"]
    assert len([p for p in reads if "/galleries/" in p and "/versions/" in p]) == len(EXPECTED)
    # des-west, des-east, des-east-rotation, deleted-des; the other subscription's set is not read
    assert len([p for p in reads if "/diskencryptionsets/" in p]) == 4
    vaults = [p for p in reads if "/microsoft.keyvault/" in p and "/keys/" not in p]
    key_versions = [p for p in reads if "/microsoft.keyvault/" in p and "/keys/" in p]
    assert len(vaults) == len(set(vaults)) == 3 and len(key_versions) == len(set(key_versions)) == 3


def test_findings_keep_first_seen_and_are_resolved_when_no_longer_seen(env):
    t0 = datetime.now(UTC).replace(microsecond=0)  # the world's end-of-life dates are relative to now
    config = AuditConfig(galleries=(GOLDEN,))
    first = auditor(env, t0).run(config)
    assert first.new == len(NONCOMPLIANT) and first.resolved == []
    t1 = t0 + timedelta(hours=1)
    second = auditor(env, t1).run(config)
    assert second.new == 0
    rows = {r["versionId"]: r for r in auditor(env).recorded()}
    assert set(rows) == NONCOMPLIANT
    assert {(r["firstSeen"], r["lastSeen"]) for r in rows.values()} == {(utc_iso(t0), utc_iso(t1))}
    # With a 5-day warning period 1.6.0 (end of life in 10 days) is compliant: its finding is resolved.
    t2 = t0 + timedelta(hours=2)
    shorter = AuditConfig(galleries=(GOLDEN,), policy=AuditPolicy(eol_warning_days=5))
    third = auditor(env, t2).run(shorter)
    assert [r["VersionId"] for r in third.resolved] == [version_id("1.6.0")]
    everything = {r["versionId"]: r for r in auditor(env).recorded(include_resolved=True)}
    assert everything[version_id("1.6.0")]["status"] == "resolved"
    assert everything[version_id("1.6.0")]["resolvedAt"] == utc_iso(t2)
    assert version_id("1.6.0") not in {r["versionId"] for r in auditor(env).recorded()}
    # Seen again later: open again, first seen anew.
    t3 = t0 + timedelta(hours=3)
    fourth = auditor(env, t3).run(config)
    assert fourth.new == 1
    again = {r["versionId"]: r for r in auditor(env).recorded()}[version_id("1.6.0")]
    assert (again["firstSeen"], again["resolvedAt"]) == (utc_iso(t3), None)


def test_a_gallery_that_was_not_read_keeps_its_findings_open(env):
    auditor(env).run(AuditConfig(galleries=(GOLDEN,)))
    missing = GOLDEN.replace("/golden", "/absent")
    report = auditor(env).run(AuditConfig(galleries=(missing,)))
    assert report.unreadable == [f"{missing}: not found; fix AUDIT_GALLERIES"]
    assert report.resolved == []
    assert {r["versionId"] for r in auditor(env).recorded()} == NONCOMPLIANT


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", "audit", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_json_for_a_program_and_a_table_for_a_person(env):
    done = run_cli(env, "--json")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert set(document["noncompliantVersions"]) == NONCOMPLIANT
    assert all(f["firstSeen"] and f["lastSeen"] for f in document["findings"])
    table = run_cli(env, "--recorded")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["VERSION", "SEVERITY", "CODE", "SUBJECT", "FIRST", "SEEN"]
    rows = [line for line in lines if line.startswith("golden/")]
    assert sorted(row.split()[0] for row in rows) == sorted(v.split("/galleries/")[1].replace("/images/", "/")
                                                            .replace("/versions/", "/") for v in NONCOMPLIANT)


def test_cli_exit_codes_for_a_compliant_gallery_and_for_no_scope(env):
    compliant = run_cli(env, "--gallery", TEAM, "--no-record")
    assert compliant.returncode == 0, compliant.stderr
    assert compliant.stdout.startswith("no findings")
    unset = run_cli({**env, "AUDIT_GALLERIES": ""})
    assert unset.returncode == 2 and "set AUDIT_GALLERIES" in unset.stderr
    wrong = run_cli(env, "--gallery", "/subscriptions/x/galleries/g")
    assert wrong.returncode == 2 and "--gallery entry" in wrong.stderr


def test_the_timer_writes_the_table_and_logs_one_summary_line(env, caplog):
    timer = TimerRequest(past_due=False)
    with caplog.at_level(logging.INFO, logger="core.audit.auditor"):
        handlers.handle_audit_timer(timer)
    [summary] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("audit: ")]
    assert summary == (f"audit: {len(EXPECTED)} version(s) in 1 gallery(ies); {len(NONCOMPLIANT)} open finding(s) on "
                       f"{len(NONCOMPLIANT)} version(s) (6 error, 2 warning); {len(NONCOMPLIANT)} new, 0 resolved")
    assert {r["versionId"] for r in auditor(env).recorded()} == NONCOMPLIANT
