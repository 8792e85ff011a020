"""The audit against the simulator (a world of compliant and non-compliant versions) and Azurite (its record,
report and the findings table): exactly the non-compliant versions, first seen / last seen / resolved, the
CLI, the timer and the HTTP API."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from core.app import audits
from core.app import runtime as app_runtime
from core.audit.findings_rows import TABLE
from core.audit.report import AuditReport
from core.audit.rules import AuditPolicy
from core.audit.scope import AuditConfig
from core.audit.state import AuditState
from core.azure.storage import table_service
from core.entry import functions as handlers
from core.entry.functions import api_request
from core.entry.http import routes as api
from devstack.azurite import PROJECT_ROOT
from devstack.stack import LocalStack
from simulator import Fault
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
    tables = table_service(settings)
    tables.delete_table(TABLE)
    app_runtime.reset_runtime()
    yield settings
    app_runtime.reset_runtime()


def audit(env: dict[str, str], config: AuditConfig, *, record: bool = True) -> AuditReport:
    """An audit started and driven to its end in this process, through the runner."""
    return audits.run(app_runtime.build_runtime(env), config, record_findings=record)


def recorded(env: dict[str, str], *, include_resolved: bool = False) -> list[dict]:
    return audits.recorded(app_runtime.build_runtime(env), include_resolved=include_resolved)


def test_the_audit_reports_exactly_the_noncompliant_versions(env):
    report = audit(env, AuditConfig(galleries=(GOLDEN,)))
    assert str(report.state.status) == "Succeeded"
    assert set(report.versions) == {version_id(v) for v in EXPECTED}
    assert set(report.noncompliant_versions) == NONCOMPLIANT
    by_version = {}
    for finding in report.findings:
        by_version.setdefault(finding["versionId"].rsplit("/", 1)[-1], []).append(finding["code"])
    assert by_version == {v: [code] for v, code in EXPECTED.items() if code}
    assert report.unreadable == []


def test_subscriptions_scope_audits_every_gallery_in_them(env):
    report = audit(env, AuditConfig(subscriptions=(SUB, OTHER_SUB)), record=False)
    assert version_id("2.0.0", TEAM, "win") in report.versions
    assert set(report.noncompliant_versions) == NONCOMPLIANT  # the other subscription's version is compliant
    assert recorded(env) == []  # not recorded: the findings table was not written


def test_reads_one_get_per_version_and_per_distinct_des(stack, env):
    """... and each vault and key version behind the sets found once (the sets' implied vaults: three)."""
    sim = stack.simulator
    before = len(sim.requests)
    audit(env, AuditConfig(galleries=(GOLDEN,)), record=False)
    reads = [r.path.lower() for r in sim.requests[before:] if r.method == "GET"]
    assert len([p for p in reads if "/galleries/" in p and "/versions/" in p]) == len(EXPECTED)
    # des-west, des-east, des-east-rotation, deleted-des; the other subscription's set is not read
    assert len([p for p in reads if "/diskencryptionsets/" in p]) == 4
    vaults = [p for p in reads if "/microsoft.keyvault/" in p and "/keys/" not in p]
    key_versions = [p for p in reads if "/microsoft.keyvault/" in p and "/keys/" in p]
    assert len(vaults) == len(set(vaults)) == 3 and len(key_versions) == len(set(key_versions)) == 3


def test_findings_keep_first_seen_and_are_resolved_when_no_longer_seen(env):
    config = AuditConfig(galleries=(GOLDEN,))
    first = audit(env, config)
    t0 = first.state.created_at  # every finding of an audit is stamped with the audit's start
    assert first.state.counts.new == len(NONCOMPLIANT) and first.resolved == []
    second = audit(env, config)
    t1 = second.state.created_at
    assert t1 > t0 and second.state.counts.new == 0
    rows = {r["versionId"]: r for r in recorded(env)}
    assert set(rows) == NONCOMPLIANT
    assert {(r["firstSeen"], r["lastSeen"]) for r in rows.values()} == {(t0, t1)}
    assert {(f["firstSeen"], f["lastSeen"]) for f in second.findings} == {(t0, t1)}  # the report says so too
    # With a 5-day warning period 1.6.0 (end of life in 10 days) is compliant: its finding is resolved.
    shorter = AuditConfig(galleries=(GOLDEN,), policy=AuditPolicy(eol_warning_days=5))
    third = audit(env, shorter)
    t2 = third.state.created_at
    assert [r["versionId"] for r in third.resolved] == [version_id("1.6.0")]
    assert third.state.counts.resolved == 1
    everything = {r["versionId"]: r for r in recorded(env, include_resolved=True)}
    assert everything[version_id("1.6.0")]["status"] == "resolved"
    assert everything[version_id("1.6.0")]["resolvedAt"] == t2
    assert version_id("1.6.0") not in {r["versionId"] for r in recorded(env)}
    # Seen again later: open again, first seen anew.
    fourth = audit(env, config)
    t3 = fourth.state.created_at
    assert fourth.state.counts.new == 1
    again = {r["versionId"]: r for r in recorded(env)}[version_id("1.6.0")]
    assert (again["firstSeen"], again["resolvedAt"]) == (t3, None)


def test_a_read_arm_could_not_serve_is_retried_by_the_engine_after_its_retry_after(stack, env):
    """(A 429 would also hold the audit until Compute's 3-minute policy it names had refilled to half.)"""
    stack.simulator.inject(Fault(method="GET", path_regex=r"/galleries/golden/images$", status=503,
                                 headers={"Retry-After": "2"}))
    # Not waited for in the call (over the inline cap): the engine retries after the backoff (1 s), at least 2 s.
    rt = app_runtime.build_runtime({**env, "RETRY_AFTER_INLINE_CAP_SECONDS": "1", "RETRY_INITIAL_SECONDS": "1"})
    report = audits.run(rt, AuditConfig(galleries=(GOLDEN,)), record_findings=False)
    [retry] = [h for h in rt.store.history(report.state.audit_id) if h.kind == "RetryScheduled"]
    assert (retry.detail["status"], retry.detail["delaySeconds"]) == (503, 2.0)
    assert report.unreadable == [] and set(report.noncompliant_versions) == NONCOMPLIANT


def test_a_gallery_that_was_not_read_keeps_its_findings_open(env):
    audit(env, AuditConfig(galleries=(GOLDEN,)))
    missing = GOLDEN.replace("/golden", "/absent")
    report = audit(env, AuditConfig(galleries=(missing,)))
    assert report.unreadable == [f"{missing}: not found; fix AUDIT_GALLERIES"]
    assert report.resolved == [] and report.state.counts.unreadable == 1
    assert str(report.state.status) == "Succeeded"  # the audit went on without it
    assert {r["versionId"] for r in recorded(env)} == NONCOMPLIANT


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", "audit", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_json_for_a_program_and_a_table_for_a_person(env):
    done = run_cli(env, "--json")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert set(document["noncompliantVersions"]) == NONCOMPLIANT
    assert all(f["firstSeen"] and f["lastSeen"] for f in document["findings"])
    assert document["status"] == "Succeeded" and document["auditId"].startswith("audit-")
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


def test_cli_start_leaves_the_steps_to_the_workers_and_report_reads_any_audit(env):
    started = run_cli(env, "--start")
    assert started.returncode == 0, started.stderr
    audit_id = started.stdout.strip()
    assert audit_id.startswith("audit-")
    waiting = run_cli(env, "--report", audit_id, "--json")
    assert waiting.returncode == 6, waiting.stderr  # not ended: the report so far
    assert json.loads(waiting.stdout)["status"] == "Auditing"
    audits.drive(app_runtime.build_runtime(env), audit_id)  # what a worker does with its step messages
    ended = run_cli(env, "--report", audit_id, "--json")
    assert ended.returncode == 1, ended.stderr
    assert set(json.loads(ended.stdout)["noncompliantVersions"]) == NONCOMPLIANT
    latest = run_cli(env, "--report")
    assert latest.returncode == 1 and latest.stdout.splitlines()[-1].startswith("audit: 10 version(s)")
    unknown = run_cli(env, "--report", "audit-nope")
    assert unknown.returncode == 5 and "no audit 'audit-nope'" in unknown.stderr


def get(url: str, **route_params: str) -> func.HttpRequest:
    return func.HttpRequest("GET", url, headers={}, params={}, route_params=route_params, body=b"")


def test_the_http_api_reads_an_audit_report_while_it_runs_and_once_it_ended(env):
    rt = app_runtime.build_runtime({**env, "API_BASE_URL": "https://img.example.net"})  # links on this origin
    base = "https://img.example.net/api/audits"
    missing = api.get_audit(rt, api_request(get(f"{base}/audit-nope", id="audit-nope")))
    assert missing.status == 404 and missing.json()["type"].endswith("audit-not-found")
    state = audits.start(rt, AuditConfig(galleries=(GOLDEN,)), origin="http-test")
    running = api.get_audit(rt, api_request(get(f"{base}/latest", id="latest")))
    assert running.status == 202 and running.headers["Location"] == f"{base}/{state.audit_id}"
    assert running.json()["auditId"] == state.audit_id and running.json()["findings"] == []
    audits.drive(rt, state.audit_id)
    ended = api.get_audit(rt, api_request(get(f"{base}/{state.audit_id}", id=state.audit_id)))
    assert ended.status == 200
    assert set(ended.json()["noncompliantVersions"]) == NONCOMPLIANT
    assert ended.json()["summary"] == audits.report(rt, state.audit_id).summary()


def test_an_audit_is_no_build_in_the_builds_listing_status_or_cancel(env):
    rt = app_runtime.build_runtime(env)
    audit_id = audits.run(rt, AuditConfig(galleries=(TEAM,))).state.audit_id
    listed = api.list_builds(rt, api_request(get("https://img.example.net/api/builds")))
    assert listed.status == 200 and all(not b["buildId"].startswith("audit-") for b in listed.json())
    assert api.get_build(rt, api_request(get(f"https://img.example.net/api/builds/{audit_id}", id=audit_id))).status == 404
    status = subprocess.run([sys.executable, "-m", "core", "status", audit_id], env=env, cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert status.returncode == 5 and "Traceback" not in status.stderr


def test_the_timer_starts_an_audit_whose_end_logs_one_summary_line(env, caplog):
    # An audit an earlier test of this module left running would (rightly) keep the timer from starting one.
    earlier = app_runtime.build_runtime(env)
    for state in earlier.store.in_flight():
        if isinstance(state, AuditState):
            earlier.runner.cancel(state.record_id, "left running by an earlier test")
    timer = TimerRequest(past_due=False)
    with caplog.at_level(logging.INFO, logger="core"):
        handlers.handle_audit_timer(timer)
        rt = app_runtime.runtime()
        latest = audits.resolve_id(rt, "latest")
        assert [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"audit {latest} started")]
        handlers.handle_audit_timer(TimerRequest(past_due=True))  # the next firing, while it runs: none started
        assert audits.resolve_id(rt, "latest") == latest
        assert any(r.getMessage() == f"audit: {latest} has not ended yet; no new audit started (timer past due)"
                   for r in caplog.records)
        audits.drive(rt, latest)  # what the workers do with its step messages
    [summary] = [r.getMessage() for r in caplog.records
                 if r.name == "core.audit.workflow" and r.getMessage().startswith("audit: ")]
    assert summary == (f"audit: {len(EXPECTED)} version(s) in 1 gallery(ies); {len(NONCOMPLIANT)} open finding(s) on "
                       f"{len(NONCOMPLIANT)} version(s) (6 error, 2 warning); {len(NONCOMPLIANT)} new, 0 resolved")
    assert {r["versionId"] for r in recorded(env)} == NONCOMPLIANT
    assert str(audits.report(rt, latest).state.status) == "Succeeded"
