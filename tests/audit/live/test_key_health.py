"""Key health in the audit, live: the simulator's 50 published versions over 10 vaults (eight with a seeded key
problem), the real SDK clients and Azurite. Every seeded problem is found, per version and region, and each
finding is one CloudEvent on the completion-events queue; the healthy twin world gives none."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from core.app import audits
from core.app import runtime as app_runtime
from core.audit.report import AuditReport
from core.audit.scope import AuditConfig
from devstack.stack import LocalStack
from tests.audit.key_health_world import GALLERY, SEEDED, VAULTS, VERSIONS, expected, key_health_world

pytestmark = pytest.mark.integration
EVENTS_QUEUE = "key-health-events"


@pytest.fixture(scope="module")
def broken() -> Iterator[tuple[AuditReport, list[dict[str, Any]], list[logging.LogRecord], Any]]:
    """The audit of the seeded world, with the key-health log records it wrote."""
    handler = logging.Handler()
    records: list[logging.LogRecord] = []
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("core.audit.key_health")
    logger.addHandler(handler)
    try:
        with pytest.MonkeyPatch.context() as patch, LocalStack(key_health_world()) as stack:
            report, events = _run(stack, patch)
            yield report, events, records, stack.simulator
    finally:
        logger.removeHandler(handler)


def _run(stack: LocalStack, patch: pytest.MonkeyPatch) -> tuple[AuditReport, list[dict[str, Any]]]:
    env = stack.env(AUDIT_GALLERIES=GALLERY, COMPLETION_EVENTS_QUEUE=EVENTS_QUEUE)
    for key, value in env.items():
        if os.environ.get(key) != value:
            patch.setenv(key, value)
    app_runtime.reset_runtime()
    runtime = app_runtime.build_runtime(env)
    queue = runtime.queues.get_queue_client(EVENTS_QUEUE)
    queue.create_queue()
    report = audits.run(runtime, AuditConfig(galleries=(GALLERY,)), record_findings=False)
    events = [json.loads(m.content) for m in queue.receive_messages(messages_per_page=32, visibility_timeout=60)]
    app_runtime.reset_runtime()
    return report, events


def test_every_seeded_key_problem_is_found_per_version(broken):
    report, _, _, _ = broken
    assert len(report.versions) == VERSIONS
    found = {(f["versionId"], f["code"]) for f in report.findings}
    assert found == expected()
    assert all(f["subject"].startswith("westus des-") for f in report.findings
               if f["code"] != "DiskEncryptionSetKeyRotationFailed")


def test_one_event_per_finding_on_the_completion_events_queue(broken):
    report, events, _, _ = broken
    assert report.events_sent == len(report.key_health) == len(expected()) == len(events)
    assert Counter(e["type"] for e in events) == Counter(
        f"CmkImageBuilder.KeyHealth.{SEEDED[n % VAULTS][0]}" for n in range(VERSIONS) if n % VAULTS in SEEDED)
    assert len({e["id"] for e in events}) == len(events)
    expiring = next(e for e in events if e["type"].endswith("KeyExpiringSoon"))
    assert expiring["data"]["region"] == "westus" and expiring["data"]["diskEncryptionSet"] == "des-3"
    assert "expires on" in expiring["data"]["message"] and expiring["subject"] in report.versions


def test_log_records_an_alert_can_use(broken):
    report, _, records, _ = broken
    assert len(records) == len(report.key_health)
    assert {getattr(r, "key_health.code") for r in records} == {code for code, _ in SEEDED.values()}
    assert all(getattr(r, "key_health.version").startswith(GALLERY) for r in records)


def test_each_vault_and_key_version_is_read_once_per_audit(broken):
    *_, sim = broken
    reads = [r.path.lower() for r in sim.requests if r.method == "GET" and "/microsoft.keyvault/" in r.path.lower()]
    vaults = [p for p in reads if "/keys/" not in p]
    assert len(vaults) == len(set(vaults)) == VAULTS
    assert len(reads) - len(vaults) == len({p for p in reads if "/keys/" in p})  # no key version twice


def test_a_healthy_world_gives_no_finding_and_no_event():
    with pytest.MonkeyPatch.context() as patch, LocalStack(key_health_world(broken=False)) as stack:
        report, events = _run(stack, patch)
    assert report.findings == [] and events == [] and report.events_sent == 0
