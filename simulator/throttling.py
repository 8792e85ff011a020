"""ARM's request throttling: token buckets per subscription and principal, and Compute's operation buckets.

Azure Resource Manager keeps, per region, subscription and principal, a bucket of 250 read tokens refilled
25 per second and a bucket of 200 write tokens refilled 10 per second; every answer says what is left in
`x-ms-ratelimit-remaining-subscription-reads` (or `-writes`, for anything but GET/HEAD) and in the
`-global-` variants, and an empty bucket answers 429 `SubscriptionRequestsThrottled` with `Retry-After`.
Behind ARM, Compute limits each operation group (`GetGalleryImageVersion`, ...) per subscription over
3 and 30 minutes, named in `x-ms-ratelimit-remaining-resource` (`Microsoft.Compute/<group>3Min;374,...`);
there an empty bucket is 429 `OperationNotAllowed` with details `TooManyRequests`. A throttled request
takes no token. Pure apart from the lock: time is passed in.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

from .errors import ArmError


@dataclass(frozen=True)
class BucketSpec:
    capacity: float
    refill_per_second: float


# Compute's limits per operation group are not published; these follow headers seen on real answers
# (`LowCostGet3Min;3999`, `CreateUpdateGalleryImageVersion3Min;374`). Simulator assumption.
COMPUTE_READ_3MIN, COMPUTE_READ_30MIN = 4000, 32000
COMPUTE_WRITE_3MIN, COMPUTE_WRITE_30MIN = 375, 1200


@dataclass(frozen=True)
class ThrottleSpec:
    """The budgets; `Throttling()` is ARM's defaults."""

    reads: BucketSpec = BucketSpec(250, 25)
    writes: BucketSpec = BucketSpec(200, 10)
    compute_reads: tuple[int, int] = (COMPUTE_READ_3MIN, COMPUTE_READ_30MIN)
    compute_writes: tuple[int, int] = (COMPUTE_WRITE_3MIN, COMPUTE_WRITE_30MIN)


@dataclass
class TokenBucket:
    spec: BucketSpec
    tokens: float
    at: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.at)
        self.tokens = min(self.spec.capacity, self.tokens + elapsed * self.spec.refill_per_second)
        self.at = now

    def wait_for_one(self) -> int:
        """Whole seconds until one token is there (at least 1)."""
        return max(1, math.ceil((1.0 - self.tokens) / self.spec.refill_per_second))


@dataclass
class Verdict:
    """Headers every answer carries; `error` set when the request is throttled (and not served)."""

    headers: dict[str, str] = field(default_factory=dict)
    error: ArmError | None = None


_WINDOWS = (("3Min", 180.0), ("30Min", 1800.0))


class Throttle:
    """The buckets of every (subscription, principal) and (subscription, operation group) seen so far."""

    def __init__(self, spec: ThrottleSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}
        self.throttled = {"reads": 0, "writes": 0, "compute": 0}
        self.lowest: dict[str, int] = {}  # Compute policy (`<group>3Min`) -> the fewest tokens it ever had left

    def _bucket(self, key: tuple[str, ...], spec: BucketSpec, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(spec, spec.capacity, now)
        bucket.refill(now)
        return bucket

    def admit(self, subscription: str, principal: str, method: str, group: str | None, now: float) -> Verdict:
        """Take one token from each bucket the request counts against, or say which one is empty."""
        kind = "reads" if method.upper() in ("GET", "HEAD") else "writes"
        with self._lock:
            arm = self._bucket((subscription.lower(), principal, kind), getattr(self.spec, kind), now)
            compute: list[tuple[str, TokenBucket]] = []
            if group is not None:
                limits = self.spec.compute_reads if kind == "reads" else self.spec.compute_writes
                for (suffix, seconds), limit in zip(_WINDOWS, limits, strict=True):
                    spec = BucketSpec(limit, limit / seconds)
                    compute.append((f"{group}{suffix}", self._bucket((subscription.lower(), group, suffix), spec, now)))
            if arm.tokens < 1:
                self.throttled[kind] += 1
                return Verdict(self._headers(kind, arm, compute), _arm_throttled(kind, subscription, principal, arm))
            empty = next(((name, b) for name, b in compute if b.tokens < 1), None)
            if empty is not None:
                self.throttled["compute"] += 1
                return Verdict(self._headers(kind, arm, compute), _compute_throttled(*empty))
            arm.tokens -= 1
            for name, bucket in compute:
                bucket.tokens -= 1
                self.lowest[name] = min(self.lowest.get(name, int(bucket.spec.capacity)), int(bucket.tokens))
            return Verdict(self._headers(kind, arm, compute))

    @staticmethod
    def _headers(kind: str, arm: TokenBucket, compute: list[tuple[str, TokenBucket]]) -> dict[str, str]:
        remaining = str(max(0, int(arm.tokens)))
        headers = {
            f"x-ms-ratelimit-remaining-subscription-{kind}": remaining,
            f"x-ms-ratelimit-remaining-subscription-global-{kind}": remaining,
        }
        if compute:
            headers["x-ms-ratelimit-remaining-resource"] = ",".join(
                f"Microsoft.Compute/{name};{max(0, int(b.tokens))}" for name, b in compute
            )
        return headers


def _arm_throttled(kind: str, subscription: str, principal: str, bucket: TokenBucket) -> ArmError:
    wait = bucket.wait_for_one()
    operation = "read" if kind == "reads" else "write"
    message = (
        f"Number of '{operation}' requests for subscription '{subscription}' actor '{principal}' exceeded. "
        f"Please try again after '{wait}' seconds after additional tokens are available. "
        "Refer to https://aka.ms/arm-throttling for additional information."
    )
    return ArmError(429, "SubscriptionRequestsThrottled", message, headers={"Retry-After": str(wait)})


def _compute_throttled(name: str, bucket: TokenBucket) -> ArmError:
    wait = bucket.wait_for_one()
    details = [{"code": "TooManyRequests", "target": name,
                "message": f'{{"operationGroup":"{name}","startTime":"","endTime":"","allowedRequestCount":'
                           f'{int(bucket.spec.capacity)},"measuredRequestCount":{int(bucket.spec.capacity)}}}'}]
    return ArmError(
        429,
        "OperationNotAllowed",
        "The server rejected the request because too many requests have been received for this subscription.",
        details=details,
        headers={"Retry-After": str(wait)},
    )
