"""Resolve a binding's `connection` setting to a queue service client, as the Functions host does.

The resolution itself is `core.azure.storage.queue_service` (one place for the app and the worker); this
module only applies the host's default name and reports problems as worker configuration errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from azure.storage.queue import QueueServiceClient

from core.azure.settings import SettingsError
from core.azure.storage import queue_service
from devstack.localworker.errors import WorkerConfigError

DEFAULT_CONNECTION = "AzureWebJobsStorage"


def queue_service_client(
    connection: str, *, env: Mapping[str, str] | None = None, **client_options: Any
) -> QueueServiceClient:
    """A queue service client for the connection setting `connection` (read from `env`, default os.environ).

    Messages are read and written as plain text: the caller decides about base64.
    """
    env = os.environ if env is None else env
    try:
        return queue_service(env, connection.strip() or DEFAULT_CONNECTION, **client_options)
    except SettingsError as error:
        raise WorkerConfigError(str(error)) from None
