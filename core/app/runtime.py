"""The composition root: the app's clients, stores and runner, built once per process from the settings.

Every door (the Functions bindings, the HTTP routes, the CLI) takes its runtime from here; nothing below
this layer imports it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azure.storage.queue import QueueServiceClient

from core.azure.settings import Settings, SettingsError
from core.azure.storage import queue_service, table_service
from core.base import telemetry
from core.builds.registration import Registrar
from core.engine.budget_store import BudgetStore
from core.engine.runner import Runner
from core.engine.store import BuildStore
from core.events.outbox import Outbox
from core.events.sinks import sinks_from_settings


@dataclass
class Runtime:
    """What every operation of core/app works on: the settings, the queue clients, the build store and the
    runner of build steps, built once per process."""

    settings: Settings
    queues: QueueServiceClient
    store: BuildStore
    runner: Runner

    def poison(self, queue_name: str, text: str) -> None:
        """Move a message that cannot be processed to ``<queue_name>-poison`` (and count it)."""
        telemetry.record_poisoned(queue_name)
        poison = self.queues.get_queue_client(f"{queue_name}-poison")
        with contextlib.suppress(Exception):
            poison.create_queue()
        poison.send_message(text)


def check_configuration(env: Mapping[str, str]) -> Settings:
    """Every setting of every trigger, checked at once: SettingsError naming the first bad one.

    The worker calls it before it takes any message, each runtime when it is built, so a bad value
    (``POLL_INITIAL_SECONDS=abc``, a broken ``POLICY_FILE``) is one line at start-up, not a failure of
    every invocation until the messages are poisoned.
    """
    from core.audit.auditor import AuditConfig
    from core.policy.enforcement import PolicyConfigError, config_from_env
    from core.snapshots.snapshot_settings import SnapshotSettings

    settings = Settings.from_env(env)
    SnapshotSettings.from_env(env)
    AuditConfig.from_env(env)
    try:
        config_from_env(env)
    except PolicyConfigError as error:
        raise SettingsError(str(error).replace("\n", " ")) from None
    return settings


def build_runtime(env: dict[str, str] | None = None, *, storage_options: dict[str, Any] | None = None) -> Runtime:
    """Clients and runner from the environment (app settings); `storage_options` go to the storage clients."""
    env = dict(os.environ if env is None else env)
    telemetry.configure(env)
    settings = check_configuration(env)
    queues = queue_service(env, settings.storage_connection, **(storage_options or {}))
    tables = table_service(env, settings.storage_connection, **(storage_options or {}))
    store = BuildStore(tables, settings.builds_table)
    budget = BudgetStore(tables, settings) if settings.arm_budget_percent else None
    runner = Runner(settings, store, queues, registration=Registrar(tables, settings), budget=budget)
    sinks = sinks_from_settings(settings, queues)
    if sinks:
        runner.outbox = Outbox(store.table, sinks)
    return Runtime(settings, queues, store, runner)


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


