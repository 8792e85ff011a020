"""A local stand-in for the Azure Functions host: serves `function_app.py` with its own bindings.

Functions Core Tools cannot be installed on these machines, so this package reads the same
`FunctionApp` and `host.json` the host would, and serves queue, timer, HTTP and Event Grid triggers
against the storage named by each binding's connection. Entry points: `run_worker` and `main`.
"""

from devstack.localworker.command import main, sign_in_of
from devstack.localworker.connections import queue_service_client
from devstack.localworker.errors import StorageUnavailable, WorkerConfigError
from devstack.localworker.worker import Worker, run_worker

__all__ = ["StorageUnavailable", "Worker", "WorkerConfigError", "main", "queue_service_client", "run_worker",
           "sign_in_of"]
