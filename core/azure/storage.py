"""Clients for the Storage account behind a Functions connection setting (queues and tables), and the
two ways we use them beyond a plain call: `send_message` and `GuardedRows`.

A connection setting is resolved as the Functions host resolves it: either a connection string in
`<NAME>` (Azurite's `UseDevelopmentStorage=true` included), or an identity-based connection in
`<NAME>__queueServiceUri` / `<NAME>__tableServiceUri` / `<NAME>__accountName`, authenticated with the
managed identity (`<NAME>__clientId` picks a user-assigned one). An account name becomes the hosts of
the cloud in `AZURE_CLOUD` (`<account>.queue.core.chinacloudapi.cn` on Azure China).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, TableServiceClient, UpdateMode
from azure.storage.queue import QueueClient, QueueServiceClient

from core.azure.settings import SettingsError, cloud_from_env
from core.azure.transport import environment_options
from core.base.leases import held, lease_end


def _credential(env: Mapping[str, str], name: str) -> TokenCredential:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    client_id = env.get(f"{name}__clientId")
    kind = env.get(f"{name}__credential", "").lower()
    if kind and kind != "managedidentity":
        raise SettingsError(f"{name}__credential={kind!r} is not supported; use 'managedidentity' or leave it unset")
    if client_id or kind == "managedidentity":
        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    return DefaultAzureCredential(authority=cloud_from_env(env).authority)


def _service_uri(env: Mapping[str, str], name: str, service: str) -> str | None:
    uri = env.get(f"{name}__{service}ServiceUri", "").strip()
    if uri:
        if not uri.startswith("https://"):
            raise SettingsError(
                f"{name}__{service}ServiceUri={uri!r} must be an https:// URL (tokens never go over http)"
            )
        return uri
    account = env.get(f"{name}__accountName", "").strip()
    if account:
        return cloud_from_env(env).storage_host(account, service)
    return None


def _connection_string(env: Mapping[str, str], name: str) -> str | None:
    """A connection string in `name`, else in `AzureWebJobs<name>` (the Functions host's legacy prefix)."""
    for candidate in (name, f"AzureWebJobs{name}"):
        # The tables SDK rejects a trailing ';' that the queue SDK and the portal happily produce.
        value = env.get(candidate, "").strip().rstrip(";")
        if value:
            return value
    return None


def _missing(name: str) -> SettingsError:
    return SettingsError(
        f"storage connection {name!r} is not configured: set {name} to a connection string "
        f"(UseDevelopmentStorage=true for Azurite) or {name}__accountName / {name}__queueServiceUri "
        "for an identity-based connection"
    )


def queue_service(env: Mapping[str, str], name: str = "AzureWebJobsStorage", **kwargs: Any) -> QueueServiceClient:
    """A queue service client for the connection setting `name`; plain-text messages (no base64)."""
    kwargs = {**environment_options(), **kwargs}
    conn = _connection_string(env, name)
    if conn:
        return QueueServiceClient.from_connection_string(conn, **kwargs)
    uri = _service_uri(env, name, "queue")
    if uri:
        return QueueServiceClient(uri, credential=_credential(env, name), **kwargs)
    raise _missing(name)


def table_service(env: Mapping[str, str], name: str = "AzureWebJobsStorage", **kwargs: Any) -> TableServiceClient:
    """A table service client for the connection setting `name`."""
    kwargs = {**environment_options(), **kwargs}
    conn = _connection_string(env, name)
    if conn:
        return TableServiceClient.from_connection_string(conn, **kwargs)
    uri = _service_uri(env, name, "table")
    if uri:
        return TableServiceClient(uri, credential=_credential(env, name), **kwargs)
    raise _missing(name)


def send_message(queue: QueueClient, text: str, *, delay_seconds: int = 0) -> None:
    """Send a plain-text message, creating the queue on first use; `delay_seconds` hides it that long."""
    try:
        queue.send_message(text, visibility_timeout=delay_seconds or None)
    except ResourceNotFoundError:
        with contextlib.suppress(ResourceExistsError):
            queue.create_queue()
        queue.send_message(text, visibility_timeout=delay_seconds or None)


class GuardedRows:
    """Rows of one table that several workers change: each read with its ETag, each written only if nobody else
    wrote it since. The table is created on the first read, once per object (one request, not one per read)."""

    def __init__(self, table: TableClient) -> None:
        self.table = table
        self._ensured = False

    def ensure_table(self) -> None:
        """Create the table unless this object already did (or found it there)."""
        if not self._ensured:
            with contextlib.suppress(ResourceExistsError):
                self.table.create_table()
            self._ensured = True

    def get(self, partition_key: str, row_key: str) -> TableEntity | None:
        """The row (its ETag in ``metadata["etag"]``), or None when there is none yet."""
        self.ensure_table()
        try:
            return self.table.get_entity(partition_key, row_key)
        except ResourceNotFoundError:
            return None

    def put(self, entity: dict[str, Any], etag: str | None) -> str | None:
        """Create the row (``etag`` None: there was none) or replace it if unchanged since ``etag`` was read: the
        new ETag ('' when the answer has none), or None when another writer came first (nothing written)."""
        try:
            if etag is None:
                written = self.table.create_entity(entity)
            else:
                written = self.table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceModifiedError):
            return None
        return str(written.get("etag") or "")

    def take_lease(self, partition_key: str, row_key: str, field: str, *, seconds: float,
                   now: datetime) -> tuple[TableEntity, str] | None:
        """Hold the row until `now + seconds` (its column `field` says until when): the row as read and the ETag
        of the write that took it; None when the row is absent, its lease still holds, or another writer came
        first (see `core.base.leases`)."""
        entity = self.get(partition_key, row_key)
        if entity is None or held(str(entity.get(field) or ""), now):
            return None
        taken = {**entity, field: lease_end(now, seconds)}
        etag = self.put(taken, str(entity.metadata["etag"]))
        return (entity, etag) if etag is not None else None

    def update_if_unchanged(self, entity: dict[str, Any], etag: str) -> str | None:
        """Merge `entity`'s columns into its row if unchanged since `etag`: the new ETag, or None when another
        writer came first (nothing written)."""
        try:
            written = self.table.update_entity(entity, mode=UpdateMode.MERGE, etag=etag,
                                               match_condition=MatchConditions.IfNotModified)
        except ResourceModifiedError:
            return None
        return str(written.get("etag") or "")
