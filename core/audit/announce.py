"""Key-health findings told to whoever watches (I/O): a log record each (logger `core.audit.key_health`,
attributes `key_health.code`, `key_health.version`, `key_health.region`), a count of the metric
`audit.key_health`, and a CloudEvent `CmkImageBuilder.KeyHealth.<code>` sent to the completion-event sinks
(`COMPLETION_EVENTS_QUEUE` / `COMPLETION_EVENTS_TOPIC_ENDPOINT`), by every audit while the problem lasts.

An event's `id` is stable per finding and audit (`key_health.key_health_event`): a step run twice sends the
same events again, which a consumer can tell apart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from core.audit.key_health import KEY_HEALTH_CODES, key_health_event
from core.audit.report import short_version
from core.audit.rules import AuditFinding, Severity
from core.base import telemetry
from core.events.sinks import Sink

log = logging.getLogger(__name__)
key_log = logging.getLogger("core.audit.key_health")


def announce(findings: Iterable[AuditFinding], audited_at: datetime, sinks: Sequence[Sink]) -> int:
    """Key-health findings as log records, metric counts and CloudEvents; how many events were sent."""
    sent = 0
    for finding in findings:
        if finding.code not in KEY_HEALTH_CODES:
            continue
        event = key_health_event(finding, audited_at)
        region = event["data"]["region"]
        telemetry.record_key_health(finding.code, str(finding.severity), region)
        key_log.log(logging.ERROR if finding.severity is Severity.ERROR else logging.WARNING,
                    "key health: %s %s: %s", finding.code, short_version(finding.version_id), finding.message,
                    extra={"key_health.code": finding.code, "key_health.version": finding.version_id,
                           "key_health.region": region or ""})  # fmt: skip
        for sink in sinks:
            try:
                sink.send(event)
                sent += 1
            except Exception as error:  # one sink down must not stop the audit or the other sinks
                log.error("audit: key-health event %s not sent to %s: %s", event["id"], sink.name, error)
    return sent
