"""The local worker: serve an app's functions with the bindings from its code and host.json.

`Worker` wires the triggers (queue listeners, timers, an optional HTTP server) and stops them in order;
`run_worker` runs one until a signal, the stop event, or (with `until_idle`) until there is no work left.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from types import FrameType, ModuleType, TracebackType

from azure.core.exceptions import AzureError
from azure.storage.queue import ExponentialRetry, QueueServiceClient

from devstack.localworker.connections import queue_service_client
from devstack.localworker.discovery import (
    Discovery,
    EventGridFunction,
    HttpFunction,
    QueueFunction,
    TimerFunction,
    discover,
)
from devstack.localworker.errors import StorageUnavailable, WorkerConfigError
from devstack.localworker.hostconfig import HostConfig, load_host_config, local_polling
from devstack.localworker.http_server import EVENT_GRID_WEBHOOK, FunctionsHttpServer
from devstack.localworker.queue_listener import QueueListener
from devstack.localworker.schedules import time_zone
from devstack.localworker.sign_in import SignInStandIn
from devstack.localworker.timer_lock import timer_lock_for
from devstack.localworker.timer_runner import TimerRunner

log = logging.getLogger("devstack.localworker")
LEASE_ENV = "LOCAL_WORKER_MESSAGE_LEASE_SECONDS"
DEFAULT_LEASE = timedelta(minutes=10)  # what the Functions host uses
IDLE_INTERVAL_SECONDS = 0.5
IDLE_OBSERVATIONS = 2
EXIT_OK, EXIT_STORAGE, EXIT_CONFIG = 0, 1, 2
# One quick SDK retry: the poll loop retries on its own, and an unreachable storage should fail start-up fast.
_RETRY = ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=1, random_jitter_range=1)


def message_lease(env: Mapping[str, str]) -> timedelta:
    """How long the worker keeps a message invisible while its function runs (renewed at half-time)."""
    raw = env.get(LEASE_ENV, "").strip()
    if not raw:
        return DEFAULT_LEASE
    try:
        seconds = int(raw)
    except ValueError:
        raise WorkerConfigError(f"{LEASE_ENV}={raw!r} is not a whole number of seconds") from None
    if seconds < 1:
        raise WorkerConfigError(f"{LEASE_ENV}={seconds} must be at least 1 second")
    return timedelta(seconds=seconds)


class Worker:
    """An app's functions, served locally. Use as a context manager, or `start()` then `stop()`."""

    def __init__(
        self,
        app_module: str | ModuleType = "function_app",
        *,
        host_json: Path | None = Path("host.json"),
        http_port: int | None = None,
        http_host: str = "127.0.0.1",
        env: Mapping[str, str] | None = None,
        stop_event: threading.Event | None = None,
        sign_in: SignInStandIn | None = None,
    ) -> None:
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.sign_in = sign_in
        self.stop_event = stop_event or threading.Event()
        self.config: HostConfig = local_polling(load_host_config(host_json, self.env), self.env)
        self.lease = message_lease(self.env)
        self.discovery: Discovery = discover(app_module, self.env, zone=time_zone(self.env))
        self._http_address = None if http_port is None else (http_host, http_port)
        self._listeners: list[QueueListener] = []
        self._timers: list[TimerRunner] = []
        self._http: FunctionsHttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._started = False

    @property
    def http_port(self) -> int | None:
        """The port the HTTP server listens on (useful after asking for port 0)."""
        return None if self._http is None else int(self._http.server_address[1])

    def start(self) -> Worker:
        """Report the functions, create trigger queues, and start every trigger."""
        self._report()
        clients: dict[str, QueueServiceClient] = {}
        for function in self.discovery.of_type(QueueFunction):
            service = clients.get(function.connection)
            if service is None:
                service = queue_service_client(
                    function.connection,
                    env=self.env,
                    retry_policy=_RETRY,
                    connection_timeout=10,
                )
                clients[function.connection] = service
            listener = QueueListener(
                function, service, self.config.queues, lease=self.lease, stopping=self.stop_event
            )
            try:
                listener.prepare()
            except AzureError as error:
                raise StorageUnavailable(
                    f"cannot reach the queue service at {service.url} for function {function.name!r} "
                    f"(connection {function.connection or 'AzureWebJobsStorage'!r}): {error}"
                ) from error
            self._listeners.append(listener)
        self._timers = [
            TimerRunner(f, stopping=self.stop_event, lock=timer_lock_for(self.env, f.name))
            for f in self.discovery.of_type(TimerFunction)
        ]
        if self._http_address is not None:
            self._http = FunctionsHttpServer(
                self._http_address,
                http_functions=self.discovery.of_type(HttpFunction),
                event_grid_functions=self.discovery.of_type(EventGridFunction),
                route_prefix=self.config.route_prefix,
                sign_in=self.sign_in,
            )
            self._platform_settings()
            self._http_thread = threading.Thread(
                target=self._http.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True
            )
        self._started = True
        for listener in self._listeners:
            listener.start()
        for timer in self._timers:
            timer.start()
        if self._http_thread is not None:
            self._http_thread.start()
            log.info("HTTP functions listen on http://%s:%d", self._http_address[0], self.http_port)
        return self

    def _platform_settings(self) -> None:
        """What the platform tells the app about its HTTP front, as `func start` and App Service do: the host
        name its links use (WEBSITE_HOSTNAME) and, when standing in for sign-in, WEBSITE_AUTH_ENABLED."""
        if self.env is not os.environ or self._http is None:
            return
        host = str(self._http.server_address[0])
        shown = "localhost" if host in ("0.0.0.0", "::", "") else host
        os.environ.setdefault("WEBSITE_HOSTNAME", f"{shown}:{self.http_port}")
        if self.sign_in is not None:
            os.environ["WEBSITE_AUTH_ENABLED"] = "True"

    def _report(self) -> None:
        for problem in self.discovery.problems:
            log.warning("%s", problem)
        prefix = f"/{self.config.route_prefix}" if self.config.route_prefix else ""
        for function in self.discovery.functions:
            if isinstance(function, QueueFunction):
                connection = function.connection or "AzureWebJobsStorage"
                what = f"queueTrigger on {function.queue_name!r} ({connection})"
            elif isinstance(function, TimerFunction):
                what = f"timerTrigger {function.schedule_text!r} runOnStartup={function.run_on_startup}"
            elif isinstance(function, HttpFunction):
                methods = ",".join(sorted(function.methods)) or "any method"
                what = f"httpTrigger [{methods}] {prefix}/{function.route.template}"
                if self._http_address is None:
                    what += " (not served: no HTTP port given)"
                if function.auth_level != "anonymous":
                    what += f" authLevel={function.auth_level}: keys are not checked locally"
                if function.route.unenforced:
                    what += f"; constraints not enforced locally: {', '.join(function.route.unenforced)}"
            else:
                what = f"eventGridTrigger at {EVENT_GRID_WEBHOOK}?functionName={function.name}"
            log.info("Function %s: %s", function.name, what)
        lease = int(self.lease.total_seconds())
        log.info("Queue options: %s; message lease %ds", self.config.queues.describe(), lease)

    def is_idle(self, idle_check: Callable[[], bool] | None = None) -> bool:
        """No message waiting or running on a trigger queue, no timer or HTTP call running, `idle_check()`."""
        if any(listener.in_flight for listener in self._listeners):
            return False
        if any(timer.running for timer in self._timers) or (self._http is not None and self._http.in_flight):
            return False
        try:
            if any(listener.approximate_count() for listener in self._listeners):
                return False
        except AzureError as error:
            log.warning("Cannot read queue lengths to decide idleness: %s", error)
            return False
        return idle_check() if idle_check is not None else True

    def wait(self, *, until_idle: bool = False, idle_check: Callable[[], bool] | None = None) -> None:
        """Block until the stop event is set, or (with `until_idle`) idleness is seen twice in a row."""
        idle_seen = 0
        while not self.stop_event.wait(IDLE_INTERVAL_SECONDS):
            if not until_idle:
                continue
            idle_seen = idle_seen + 1 if self.is_idle(idle_check) else 0
            if idle_seen >= IDLE_OBSERVATIONS:
                log.info("No work left: stopping")
                return

    def stop(self) -> None:
        """Stop polling and timers, let in-flight invocations finish and settle, then stop HTTP."""
        self.stop_event.set()
        if not self._started:
            return
        for listener in self._listeners:
            listener.join()
        for timer in self._timers:
            timer.join()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        self._started = False
        log.info("Worker stopped")

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run_worker(
    app_module: str | ModuleType = "function_app",
    *,
    host_json: Path | None = Path("host.json"),
    until_idle: bool = False,
    idle_check: Callable[[], bool] | None = None,
    http_port: int | None = None,
    http_host: str = "127.0.0.1",
    stop_event: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
    sign_in: SignInStandIn | None = None,
) -> int:
    """Serve the app until SIGINT/SIGTERM, `stop_event`, or (with `until_idle`) no work is left.

    Returns the exit code: 0 after a normal stop, 2 for an unusable configuration (host.json, settings,
    the app module), 1 when a trigger queue cannot be reached at start-up; the reason goes to the log.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("azure").setLevel(logging.WARNING)
    restore = _nothing_to_restore
    try:
        worker = Worker(
            app_module, host_json=host_json, http_port=http_port, http_host=http_host, env=env,
            stop_event=stop_event, sign_in=sign_in,
        )  # fmt: skip
        restore = _install_signal_handlers(worker.stop_event)
        with worker:
            worker.wait(until_idle=until_idle, idle_check=idle_check)
    except WorkerConfigError as error:
        log.error("Configuration problem: %s", error)
        return EXIT_CONFIG
    except StorageUnavailable as error:
        log.error("%s", error)
        return EXIT_STORAGE
    finally:
        restore()
    return EXIT_OK


def _nothing_to_restore() -> None:
    """Stands in for the signal-handler restore before the handlers are installed."""


def _install_signal_handlers(stop_event: threading.Event) -> Callable[[], None]:
    """Make SIGINT and SIGTERM set `stop_event` (main thread only); returns a function that undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return _nothing_to_restore

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("Received %s: finishing in-flight invocations, then stopping", signal.Signals(signum).name)
        stop_event.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
