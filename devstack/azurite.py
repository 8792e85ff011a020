"""Start and stop Azurite (queues and tables) from the project's pinned npm install."""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"
# Azurite's well-known development account; a public constant, not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serves(port: int, server: str) -> bool:
    """Whether an HTTP answer on `port` comes from `server` (e.g. "Azurite-Queue").

    A bare TCP connect is not proof: on loopback a connect to a free port in the ephemeral range can
    pick that same port as its source and connect to itself, and another process may hold the port.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", f"/{DEV_ACCOUNT}?comp=list")
        response = connection.getresponse()
        response.read()
        return (response.getheader("Server") or "").startswith(server)
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


class PortTaken(RuntimeError):
    """Azurite exited before it served: one of its ports was taken between choosing and binding."""


class Azurite:
    """An Azurite process with blob, queue and table services on free loopback ports.

    Data lives in memory and disappears with the process. Use as a context manager, or call
    `start()` and `stop()`.
    """

    def __init__(self, *, binary: Path = AZURITE_BIN) -> None:
        self.binary = binary
        self.blob_port = free_port()
        self.queue_port = free_port()
        self.table_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The Azurite process's ID while it runs (benchmarks read its CPU time)."""
        return self._process.pid if self._process is not None else None

    @property
    def connection_string(self) -> str:
        # No trailing ';': the tables SDK rejects it.
        base = f"http://127.0.0.1:{{port}}/{DEV_ACCOUNT}"
        return ";".join(
            [
                "DefaultEndpointsProtocol=http",
                f"AccountName={DEV_ACCOUNT}",
                f"AccountKey={DEV_KEY}",
                "BlobEndpoint=" + base.format(port=self.blob_port),
                "QueueEndpoint=" + base.format(port=self.queue_port),
                "TableEndpoint=" + base.format(port=self.table_port),
            ]
        )

    def log_tail(self, limit: int = 2000) -> str:
        """The end of Azurite's output so far (empty when it is not running)."""
        if self._log is None:
            return ""
        self._log.flush()
        return Path(self._log.name).read_bytes()[-limit:].decode("utf-8", "replace")

    def start(self, timeout: float = 30.0, *, attempts: int = 3) -> Azurite:
        if not self.binary.exists():
            node = shutil.which("node")
            raise FileNotFoundError(
                f"{self.binary} is missing: run `make setup` (npm ci) first"
                + ("" if node else "; Node.js is not installed either")
            )
        for _ in range(attempts - 1):
            try:
                return self._start_once(timeout)
            except PortTaken:
                self.blob_port, self.queue_port, self.table_port = free_port(), free_port(), free_port()
        return self._start_once(timeout)

    def _start_once(self, timeout: float) -> Azurite:
        # The log lives as long as the process: stop() deletes it, so runs leave nothing in the temp folder.
        self._log = tempfile.NamedTemporaryFile(prefix="azurite-", suffix=".log", delete=False)  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                str(self.binary),
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--inMemoryPersistence",
                "--silent",
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.blob_port),
                "--queueHost",
                "127.0.0.1",
                "--queuePort",
                str(self.queue_port),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(self.table_port),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        waiting = {self.queue_port: "Azurite-Queue", self.table_port: "Azurite-Table"}
        while waiting:
            if self._process.poll() is not None:
                output = self.log_tail()
                self.stop()
                raise PortTaken(f"Azurite exited before it served: {output.strip() or '(nothing)'}")
            if time.monotonic() > deadline:
                output = self.log_tail()
                self.stop()
                ports = ", ".join(f"127.0.0.1:{port}" for port in waiting)
                said = output.strip() or "(nothing)"
                raise TimeoutError(f"Azurite did not serve on {ports} within {timeout:.0f} s; Azurite said: {said}")
            waiting = {port: server for port, server in waiting.items() if not _serves(port, server)}
            if waiting:
                time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            Path(self._log.name).unlink(missing_ok=True)
            self._log = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
