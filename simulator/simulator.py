"""The :class:`Simulator`: a local HTTPS Azure Resource Manager plus an App Service managed-identity endpoint."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from . import compute_api, regions, world_schema
from .arm import ArmService
from .errors import ArmError
from .faults import Fault, FaultBook
from .http_types import RecordedRequest, Request, Response
from .identity import TokenIssuer
from .replication import DEFAULT_FAILURE_CODE, DEFAULT_FAILURE_MESSAGE
from .server import TOKEN_PATH, Servers, admin_error, parse_fault
from .settings import Settings
from .throttling import Throttle, ThrottleSpec, Verdict
from .tls import make_server_context
from .world import World


class Simulator:
    """Serve ``world`` as ARM would. ``world`` is a dict or the path of a JSON world file.

    >>> with Simulator("simulator/worlds/seed.json", replication_seconds=1) as sim:
    ...     os.environ.update(sim.env())

    ``throttling``: True (ARM's budgets, :class:`ThrottleSpec`) or a spec: token buckets per subscription and
    principal answer 429 when empty (see ``throttling.py``); False (the default) never throttles.
    ``replication_range``: each new version replicates for a time drawn from (low, high) seconds.

    ``snapshot_seconds``: with a number, a snapshot PUT creates (or updates) a snapshot that stays `Creating`
    that long, then `Succeeded`; None (the default) keeps snapshots read-only (405).
    """

    def __init__(
        self,
        world: dict[str, Any] | str | Path,
        *,
        replication_seconds: float = 2.0,
        feature_registration_seconds: float = 1.0,
        provider_registration_seconds: float = 0.5,
        host: str = "127.0.0.1",
        port: int = 0,
        snapshot_seconds: float | None = None,
        replication_range: tuple[float, float] | None = None,
        throttling: ThrottleSpec | bool = False,
    ) -> None:
        self.settings = Settings(replication_seconds, feature_registration_seconds, provider_registration_seconds,
                                 snapshot_seconds=snapshot_seconds, replication_range=replication_range)
        spec = ThrottleSpec() if throttling is True else throttling or None
        self.throttling: Throttle | None = Throttle(spec) if spec else None
        self._world = World(world_schema.load(world))
        self._host, self._port = host, port
        self._issuer = TokenIssuer(cloud=self._world.data.cloud)
        self._arm = ArmService(self._world, self.settings, self._issuer)
        self.faults = FaultBook()
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._servers = Servers()
        self._directory: Path | None = None
        self.ca_file = ""
        self.tokens_issued = 0

    # --- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> Simulator:
        if self._servers.arm is not None:
            raise RuntimeError("the simulator is already running; call stop() first")
        self._directory = Path(tempfile.mkdtemp(prefix="arm-simulator-"))
        context, ca_file = make_server_context(self._directory)
        self.ca_file = str(ca_file)
        self._servers.start(self._host, self._port, self, context, self._issuer, self._count_token)
        assert self._servers.arm is not None
        host, port = self._servers.arm.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        self.settings.endpoint = f"https://{shown}:{port}"
        return self

    def stop(self) -> None:
        self._servers.stop()
        self._servers = Servers()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- addresses ------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """``https://127.0.0.1:<port>`` (no trailing slash)."""
        if not self.settings.endpoint:
            raise RuntimeError("the simulator is not running; call start() first")
        return self.settings.endpoint

    @property
    def identity_endpoint(self) -> str:
        if self._servers.identity is None:
            raise RuntimeError("the simulator is not running; call start() first")
        host, port = self._servers.identity.server_address[:2]
        return f"http://{host}:{port}{TOKEN_PATH}"

    @property
    def identity_header(self) -> str:
        return self._issuer.identity_header

    def env(self) -> dict[str, str]:
        """The environment an app needs to use this simulator through ``DefaultAzureCredential``."""
        return {
            "ARM_ENDPOINT": self.endpoint,
            "ARM_CA_BUNDLE": self.ca_file,
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
        }

    # --- inspection and control -----------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every ARM request received so far (admin calls excluded), oldest first."""
        with self._requests_lock:
            return list(self._requests)

    def busiest_reads(self, seconds: float = 10.0, since: float = 0.0) -> tuple[list[RecordedRequest], float]:
        """The reads (GET, HEAD) that arrived in the busiest interval of ``seconds`` (any interval, not only
        aligned ones) since ``since`` (monotonic), and where it starts."""
        reads = sorted((r for r in self.requests if r.method in ("GET", "HEAD") and r.at >= since), key=lambda r: r.at)
        best, start, first = 0, 0, 0
        for last, read in enumerate(reads):
            while read.at - reads[first].at > seconds:
                first += 1
            if last - first + 1 > best:
                best, start = last - first + 1, first
        return reads[start : start + best], reads[start].at if reads else since

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        """How many ARM requests match ``method`` and contain ``path_contains`` (case-insensitive)."""
        needle = path_contains.lower() if path_contains else None
        return sum(
            1
            for r in self.requests
            if (method is None or r.method.upper() == method.upper()) and (needle is None or needle in r.path.lower())
        )

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)

    def clear_faults(self) -> None:
        """Remove injected faults and forget regions told to fail (running replications keep their fate)."""
        self.faults.clear()
        with self._world.lock:
            self._world.failing_regions.clear()
            self._world.failing_vm_regions.clear()

    def fail_replication(
        self, region: str, code: str = DEFAULT_FAILURE_CODE, message: str = DEFAULT_FAILURE_MESSAGE
    ) -> None:
        """Replication to ``region`` ends Failed: for versions replicating now and for those created later."""
        with self._world.lock:
            now = time.monotonic()
            self._world.advance(now)
            self._world.fail_region(region, code, message, now)

    def fail_vm_provisioning(self, region: str, code: str = "OSProvisioningTimedOut",
                             message: str = "OS Provisioning for VM did not finish in the allotted time.") -> None:
        """VMs created in ``region`` from now on end provisioningState Failed (``clear_faults`` forgets it)."""
        with self._world.lock:
            self._world.failing_vm_regions[regions.normalize(region)] = (code, message)

    def replication_done_at(self, resource_id: str) -> float | None:
        """When (``time.monotonic()``) the last region of this image version's replication ends, if it runs."""
        from . import ids

        with self._world.lock:
            run = self._world.runs.get(ids.key(resource_id))
            if run is None or not run.regions:
                return None
            return max(r.start + r.duration for r in run.regions)

    def expire_tokens(self) -> None:
        """Make every token issued so far expired (ARM then answers ``ExpiredAuthenticationToken``)."""
        self._issuer.expire_all()

    def world_snapshot(self) -> dict[str, Any]:
        """The current state: ``resources`` (by ID as stored), ``resourceGroups``, ``features``, ``providers``."""
        with self._world.lock:
            self._world.advance(time.monotonic())
            return self._world.snapshot()

    # --- ArmBackend (called by the server threads) -----------------------------------------------------
    def authenticate(self, request: Request) -> Response | None:
        try:
            self._issuer.authenticate(request.headers.get("authorization"))
        except ArmError as error:
            return Response(error.status, error.body(), dict(error.headers))
        return None

    def answer(self, request: Request) -> Response:
        return self._arm.handle(request)

    def operation_group(self, request: Request) -> str:
        segments = [s for s in request.path.split("/") if s]
        lowered = [s.lower() for s in segments]
        if "microsoft.compute" not in lowered:
            return "HighCostGet" if request.method == "GET" else "HighCostUpdate"
        rest = segments[lowered.index("microsoft.compute") + 1 :]
        return compute_api.operation_group(request.method, rest[0::2] if rest else [])

    def throttle(self, request: Request) -> Verdict | None:
        """Take the request's tokens (ARM's bucket, and Compute's for Compute paths); None when throttling is off."""
        if self.throttling is None:
            return None
        segments = [s for s in request.path.split("/") if s]
        if len(segments) < 2 or segments[0].lower() != "subscriptions":
            return None
        issued = self._issuer.authenticate(request.headers.get("authorization"))
        compute = "microsoft.compute" in (s.lower() for s in segments)
        group = self.operation_group(request) if compute else None
        return self.throttling.admit(segments[1], issued.client_id, request.method, group, time.monotonic())

    def record(self, recorded: RecordedRequest) -> None:
        with self._requests_lock:
            self._requests.append(recorded)

    def admin(self, request: Request) -> Response:
        """``/_simulator/`` endpoints: requests, faults, fail-replication, world."""
        route = (request.method, request.path[len("/_simulator/") :].strip("/"))
        if route == ("GET", "requests"):
            return Response(200, {"value": [r.to_json() for r in self.requests]})
        if route == ("GET", "world"):
            return Response(200, self.world_snapshot())
        if route == ("GET", "faults"):
            return Response(200, {"value": [f.to_json() for f in self.faults.active()]})
        if route == ("POST", "faults"):
            try:
                fault = parse_fault(request.body)
            except (TypeError, ValueError) as exc:
                return admin_error(str(exc))
            self.inject(fault)
            return Response(201, fault.to_json())
        if route == ("DELETE", "faults"):
            self.clear_faults()
            return Response(204)
        if route == ("POST", "fail-replication"):
            body = request.body if isinstance(request.body, dict) else {}
            region = body.get("region")
            if not isinstance(region, str) or not region:
                return admin_error('POST /_simulator/fail-replication takes {"region": ..., "code"?, "message"?}')
            self.fail_replication(
                region, body.get("code", DEFAULT_FAILURE_CODE), body.get("message", DEFAULT_FAILURE_MESSAGE)
            )
            return Response(204)
        return Response(
            404,
            {
                "error": {
                    "code": "NotFound",
                    "message": (
                        "Unknown admin route. Known: GET requests, GET world, GET/POST/DELETE faults, "
                        "POST fail-replication"
                    ),
                }
            },
        )

    def _count_token(self) -> None:
        with self._requests_lock:
            self.tokens_issued += 1
