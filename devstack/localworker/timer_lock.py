"""Timers once across workers: before firing, a timer takes the blob lease the Functions host takes.

The host runs a timer function on one instance at a time: the instance that holds a lease on the blob
`azure-webjobs-hosts/locks/<host id>/<function>.Listener` in the app's storage account. Local workers do
the same, so three workers started against one Azurite fire each timer once per occurrence. The lease
lasts 60 s (the longest finite blob lease) and is renewed at each occurrence by its holder; a worker that
dies lets it lapse and another takes over.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobLeaseClient, BlobServiceClient

log = logging.getLogger("devstack.localworker")
CONTAINER = "azure-webjobs-hosts"
LEASE_SECONDS = 60
HOST_ID_SETTING = "AzureFunctionsWebHost__hostid"
DEFAULT_HOST_ID = "localworker"


class TimerLock:
    """The lease on one timer function's lock blob; `try_hold()` takes or renews it."""

    def __init__(self, service: BlobServiceClient, host_id: str, function_name: str) -> None:
        self.container = service.get_container_client(CONTAINER)
        self.blob = self.container.get_blob_client(f"locks/{host_id}/{function_name}.Listener")
        self._lease: BlobLeaseClient | None = None

    def _ensure_blob(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            self.container.create_container()
        with contextlib.suppress(ResourceExistsError, HttpResponseError):
            self.blob.upload_blob(b"", overwrite=False)

    def try_hold(self) -> bool:
        """Whether this worker holds the lease now (renewing its own, or taking a free one)."""
        if self._lease is not None:
            try:
                self._lease.renew()
                return True
            except HttpResponseError:
                self._lease = None  # another worker took it after ours lapsed
        lease = BlobLeaseClient(self.blob)
        for _ in range(2):
            try:
                lease.acquire(lease_duration=LEASE_SECONDS)
            except ResourceNotFoundError:
                self._ensure_blob()
                continue
            except HttpResponseError as error:
                if error.status_code == 409:  # LeaseAlreadyPresent: another worker holds it
                    return False
                raise
            self._lease = lease
            return True
        return False

    def release(self) -> None:
        if self._lease is not None:
            with contextlib.suppress(HttpResponseError):
                self._lease.release()
            self._lease = None


def timer_lock_for(env: Mapping[str, str], function_name: str) -> TimerLock | None:
    """The lock in `AzureWebJobsStorage` (a connection string); None, with a warning, when there is none."""
    connection = env.get("AzureWebJobsStorage", "").strip().rstrip(";")
    if not connection:
        log.warning("AzureWebJobsStorage is not a connection string: timer %r runs on every worker", function_name)
        return None
    service = BlobServiceClient.from_connection_string(connection)
    return TimerLock(service, env.get(HOST_ID_SETTING, "").strip() or DEFAULT_HOST_ID, function_name)
