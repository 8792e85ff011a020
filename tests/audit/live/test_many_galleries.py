"""An audit of 500 galleries in five subscriptions (a generated simulator world) runs through steps, each
well within 30 s, every step paced by its subscription's ARM budget; its report is read from the CLI and over
HTTP from the local Functions host.

The budget's share is raised for this test (`ARM_READS_PER_SECOND=200`: 100 reads/s a subscription for the
app instead of 12.5) so that 500 galleries take about a minute, not seven."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator

import pytest
from azure.functions.timer import TimerRequest

from core.app import audits
from core.app import runtime as app_runtime
from core.audit.state import AuditStatus
from core.entry import functions as handlers
from devstack.azurite import PROJECT_ROOT, free_port
from devstack.stack import LocalStack
from tests.audit.world import many_galleries_world, scale_gallery, scale_subscription

pytestmark = pytest.mark.integration
GALLERIES, SUBSCRIPTIONS, LARGE = 500, 5, 45
READS_PER_SECOND = 200  # ARM's read rate per subscription as the app sees it; the app's share is half
STEP_LIMIT_SECONDS = 30.0


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(many_galleries_world(GALLERIES, SUBSCRIPTIONS, large_versions=LARGE)) as started:
        yield started


@pytest.fixture(scope="module")
def env(stack: LocalStack) -> Iterator[dict[str, str]]:
    settings = stack.env(AUDIT_SUBSCRIPTIONS=",".join(scale_subscription(n) for n in range(SUBSCRIPTIONS)),
                         AUDIT_GALLERIES="", AUDIT_SCHEDULE="0 0 6 1 1 *", ARM_READS_PER_SECOND=str(READS_PER_SECOND))
    with pytest.MonkeyPatch.context() as patch:
        for key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "ARM_ENDPOINT", "ARM_CA_BUNDLE", "AzureWebJobsStorage",
                    "AUDIT_SUBSCRIPTIONS", "AUDIT_GALLERIES", "ARM_READS_PER_SECOND"):
            patch.setenv(key, settings[key])
        app_runtime.reset_runtime()
        yield settings
        app_runtime.reset_runtime()


def busiest_window(times: list[float], seconds: float = 10.0) -> int:
    times, best, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while at - times[first] > seconds:
            first += 1
        best = max(best, last - first + 1)
    return best


def test_an_audit_of_500_galleries_runs_through_short_budgeted_steps(stack, env):
    sim = stack.simulator
    began = time.monotonic()
    handlers.handle_audit_timer(TimerRequest(past_due=False))  # the timer starts it; the steps run here
    rt = app_runtime.runtime()
    audit_id = audits.resolve_id(rt, "latest")
    handled: list[tuple[str, float]] = []
    state = audits.drive(rt, audit_id, on_step=lambda outcome, seconds: handled.append((outcome, seconds)))
    elapsed = time.monotonic() - began

    # Through steps: five listings, one step per gallery and several for the large one, none near 30 s.
    history = rt.store.history(audit_id)
    listings = [h for h in history if h.kind == "GalleriesListed"]
    pages = [h for h in history if h.kind == "GalleryAudited"]
    large = [h for h in pages if h.detail["gallery"] == scale_gallery(0, SUBSCRIPTIONS)]
    assert str(state.status) == "Succeeded" and state.counts.galleries == GALLERIES
    assert len(listings) == SUBSCRIPTIONS and len(pages) == GALLERIES - 1 + len(large) and len(large) >= 3
    ran = [seconds for outcome, seconds in handled if outcome in {str(status) for status in AuditStatus}]
    assert len(ran) == len(listings) + len(pages)
    longest = max(seconds for _, seconds in handled)
    assert longest < STEP_LIMIT_SECONDS
    assert max(h.detail["seconds"] for h in listings + pages) < STEP_LIMIT_SECONDS
    assert max(h.detail["reads"] for h in pages) <= 20 + 2  # a page's reserved reads, and one version's sets

    # Every version read once; every read paced by its subscription's share (100 reads/s: 1,000 in any 10 s).
    versions = GALLERIES + LARGE
    gets = [r.path.lower() for r in sim.requests if r.method == "GET"]
    assert len([p for p in gets if "/galleries/" in p and "/versions/" in p]) == versions
    # ... and every vault and key version behind the sets once in the whole audit, whichever step needed it
    vaults = [p for p in gets if "/microsoft.keyvault/" in p and "/keys/" not in p]
    key_versions = [p for p in gets if "/microsoft.keyvault/" in p and "/keys/" in p]
    assert vaults and len(vaults) == len(set(vaults)) and len(key_versions) == len(set(key_versions))
    reads: dict[str, list[float]] = defaultdict(list)
    for request in sim.requests:
        if request.method == "GET" and request.path.lower().startswith("/subscriptions/"):
            reads[request.path.split("/")[2]].append(request.at)
    windows = {sub: busiest_window(times) for sub, times in reads.items()}
    assert max(windows.values()) <= READS_PER_SECOND * 0.5 * 10

    report = audits.report(rt, audit_id)
    assert len(report.versions) == versions and len(report.galleries) == GALLERIES
    assert len(report.noncompliant_versions) == GALLERIES // 10 and report.unreadable == []
    print(f"\n500-gallery audit: {len(handled)} step calls ({len(ran)} ran), longest {longest:.2f} s, "
          f"{elapsed:.1f} s in all; busiest 10 s of a subscription's reads: {max(windows.values())}")

    # The report from the CLI ...
    done = subprocess.run([sys.executable, "-m", "core", "audit", "--report", audit_id, "--json"], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr  # error findings
    from_cli = json.loads(done.stdout)
    assert (from_cli["auditId"], from_cli["summary"]) == (audit_id, report.summary())
    assert len(from_cli["versions"]) == versions and set(from_cli["noncompliantVersions"]) == set(
        report.noncompliant_versions)

    # ... and over HTTP, from the local Functions host (its step messages are all done: cleared first).
    rt.queues.get_queue_client(rt.settings.step_queue).clear_messages()
    port = free_port()
    worker = subprocess.Popen([sys.executable, "-m", "core", "worker", "--http-port", str(port)], env=env,
                              cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for reference in (audit_id, "latest"):
            document = _get_json(f"http://127.0.0.1:{port}/api/audits/{reference}", worker)
            assert (document["auditId"], document["status"], document["summary"]) == (
                audit_id, "Succeeded", report.summary())
            assert len(document["findings"]) == GALLERIES // 10
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)


def _get_json(url: str, worker: subprocess.Popen[str]) -> dict:
    """GET `url` once the worker serves HTTP (it answers as soon as it has started)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                assert answer.status == 200
                return json.loads(answer.read())
        except urllib.error.HTTPError:
            raise
        except OSError:
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else "the worker stopped"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
