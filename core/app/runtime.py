"""The composition root: the app's clients, stores and runner, built once per process from the settings.

Every door (the Functions bindings, the HTTP routes, the CLI) takes its runtime from here; nothing below
this layer imports it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient, QueueServiceClient

from core.app.callers import ApiSettings
from core.audit.findings_table import FindingsTable
from core.audit.partition import AuditRows
from core.audit.state import AuditState
from core.audit.workflow import AuditWorkflow
from core.azure.settings import Settings, SettingsError
from core.azure.storage import queue_service, table_service
from core.base import telemetry
from core.builds.registration import Registrar
from core.builds.state import BuildState
from core.builds.workflow import BuildSubmissions, BuildWorkflow
from core.engine.budget_store import BudgetStore
from core.engine.runner import Runner
from core.engine.store import RecordStore
from core.events.outbox import Outbox
from core.events.sinks import sinks_from_settings
from core.snapshots.intake import SnapshotIntake
from core.snapshots.reservations import VersionReservations
from core.snapshots.snapshot_settings import SnapshotSettings
from core.snapshots.state import SnapshotState
from core.snapshots.workflow import SnapshotWorkflow


@dataclass
class Runtime:
    """Everything a door needs, built once per process: the settings, the queues, the records' store, the
    engine's runner, and each workflow."""

    settings: Settings
    queues: QueueServiceClient
    store: RecordStore
    runner: Runner
    build_workflow: BuildWorkflow
    builds: BuildSubmissions
    snapshots: SnapshotIntake
    audit_workflow: AuditWorkflow
    api: ApiSettings = field(default_factory=ApiSettings)  # how the HTTP API knows its callers, its links' origin
    _queue_clients: dict[str, QueueClient] = field(default_factory=dict, repr=False)

    def queue(self, name: str) -> QueueClient:
        """The client of queue `name`, made once per process (a client is a pipeline of its own to build)."""
        client = self._queue_clients.get(name)
        if client is None:
            client = self._queue_clients[name] = self.queues.get_queue_client(name)
        return client

    def poison(self, queue_name: str, text: str) -> None:
        """Move a message that cannot be processed to ``<queue_name>-poison`` (and count it)."""
        telemetry.record_poisoned(queue_name)
        poison = self.queue(f"{queue_name}-poison")
        with contextlib.suppress(Exception):
            poison.create_queue()
        poison.send_message(text)


def check_configuration(env: Mapping[str, str]) -> Settings:
    """Every setting of every trigger, checked at once: SettingsError naming the first bad one.

    The worker calls it before it takes any message, each runtime when it is built, so a bad value
    (``POLL_INITIAL_SECONDS=abc``, a broken ``POLICY_FILE``) is one line at start-up, not a failure of
    every invocation until the messages are poisoned.
    """
    from core.audit.scope import AuditConfig
    from core.policy.enforcement import PolicyConfigError, config_from_env

    settings = Settings.from_env(env)
    ApiSettings.from_env(env)
    SnapshotSettings.from_env(env)
    AuditConfig.from_env(env)
    try:
        config_from_env(env)
    except PolicyConfigError as error:
        raise SettingsError(str(error).replace("\n", " ")) from None
    return settings


def record_store(tables: TableServiceClient, table_name: str = "builds") -> RecordStore:
    """The store of every workflow's records (one table), knowing each workflow's state type."""
    return RecordStore(tables, table_name, {BuildWorkflow.name: BuildState, SnapshotWorkflow.name: SnapshotState,
                                            AuditWorkflow.name: AuditState})


def build_runtime(env: dict[str, str] | None = None, *, storage_options: dict[str, Any] | None = None) -> Runtime:
    """Clients and runner from the environment (app settings); `storage_options` go to the storage clients."""
    env = dict(os.environ if env is None else env)
    telemetry.configure(env)
    settings = check_configuration(env)
    queues = queue_service(env, settings.storage_connection, **(storage_options or {}))
    tables = table_service(env, settings.storage_connection, **(storage_options or {}))
    store = record_store(tables, settings.builds_table)
    budget = BudgetStore(tables, settings) if settings.arm_budget_percent else None
    sinks = sinks_from_settings(settings, queues)
    outbox = Outbox(store.table, sinks) if sinks else None
    build_workflow = BuildWorkflow(settings, Registrar(tables, settings), outbox)
    snapshot_workflow = SnapshotWorkflow(settings, SnapshotSettings.from_env(env), VersionReservations(tables))
    audit_workflow = AuditWorkflow(settings, AuditRows(store), FindingsTable(tables), sinks)
    runner = Runner(settings, store, queues, [build_workflow, snapshot_workflow, audit_workflow], budget=budget)
    builds = BuildSubmissions(runner, settings)
    snapshot_workflow.connect(builds)
    return Runtime(settings, queues, store, runner, build_workflow, builds, SnapshotIntake(runner, snapshot_workflow),
                   audit_workflow, ApiSettings.from_env(env))


_runtime: Runtime | None = None
_lock = threading.Lock()


def runtime() -> Runtime:
    """The process-wide runtime, built on first use (a Functions worker reuses it across invocations)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime()
        return _runtime


def reset_runtime() -> None:
    """Forget the runtime so the next call reads the environment again (tests, the local worker)."""
    global _runtime
    with _lock:
        _runtime = None


