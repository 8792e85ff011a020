"""Resolve a binding's `connection` setting to a queue service client, as the Functions host does.

Self-contained on purpose (it may move to a shared module). Resolution order for a connection named N
(empty N means `AzureWebJobsStorage`):

1. a connection string in `N`, else in `AzureWebJobsN` (the host's legacy prefix); Azurite's
   `UseDevelopmentStorage=true` included;
2. an identity-based connection: `N__queueServiceUri`, else `N__accountName` (public cloud endpoint),
   authenticated with `ManagedIdentityCredential` when `N__credential=managedidentity` (optionally a
   user-assigned identity in `N__clientId`), otherwise with `DefaultAzureCredential`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import TokenCredential
from azure.storage.queue import QueueServiceClient

from core.localworker.errors import WorkerConfigError

DEFAULT_CONNECTION = "AzureWebJobsStorage"


def queue_service_client(
    connection: str, *, env: Mapping[str, str] | None = None, **client_options: Any
) -> QueueServiceClient:
    """A queue service client for the connection setting `connection` (read from `env`, default os.environ).

    Messages are read and written as plain text: the caller decides about base64.
    """
    env = os.environ if env is None else env
    name = connection.strip() or DEFAULT_CONNECTION
    for candidate in (name, f"AzureWebJobs{name}"):
        value = env.get(candidate, "").strip().rstrip(";")
        if value:
            return QueueServiceClient.from_connection_string(value, **client_options)
    uri = _service_uri(env, name)
    if uri is None:
        raise WorkerConfigError(
            f"storage connection {name!r} is not configured: set {name} to a connection string "
            f"(UseDevelopmentStorage=true for Azurite) or {name}__accountName / {name}__queueServiceUri "
            "for an identity-based connection"
        )
    return QueueServiceClient(uri, credential=_credential(env, name), **client_options)


def _service_uri(env: Mapping[str, str], name: str) -> str | None:
    uri = env.get(f"{name}__queueServiceUri", "").strip()
    if uri:
        if not uri.startswith("https://"):
            raise WorkerConfigError(
                f"{name}__queueServiceUri={uri!r} must be an https:// URL (tokens never go over http)"
            )
        return uri
    account = env.get(f"{name}__accountName", "").strip()
    return f"https://{account}.queue.core.windows.net" if account else None


def _credential(env: Mapping[str, str], name: str) -> TokenCredential:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    kind = env.get(f"{name}__credential", "").strip().lower()
    client_id = env.get(f"{name}__clientId", "").strip() or None
    if kind == "managedidentity":
        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    if kind:
        raise WorkerConfigError(
            f"{name}__credential={kind!r} is not supported; use 'managedidentity' or leave it unset"
        )
    return (
        DefaultAzureCredential(managed_identity_client_id=client_id)
        if client_id
        else DefaultAzureCredential()
    )
