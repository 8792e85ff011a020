"""Compute's throttling policies as the budget models them (pure): each policy seen in
`x-ms-ratelimit-remaining-resource` is a bucket of its own, and each kind of step learns which policies it
counts against (see `core.engine.budget`)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass

from core.azure.ratelimit import Observation

# Bounds on what is learnt from Compute's headers, so the stored row stays small.
MAX_POLICIES = 32
MAX_STEP_KINDS = 16
# A kind of step's calls against a policy are a moving average (most registration steps only wait on the
# shared row; the one that registers calls ARM): each step moves it this far towards its own count, it is
# written when it moved at least USE_STEP, and forgotten below USE_MIN.
USE_WEIGHT = 0.2
USE_STEP = 0.02
USE_MIN = 0.1
# The part of a policy's spare tokens (above the part kept for others) one block may take for its steps.
SPARE_SHARE = 0.25


@dataclass(frozen=True)
class Policy:
    """One of Compute's throttling policies as modelled here: `tokens` left, refilling `capacity` per `window`."""

    tokens: float
    capacity: float
    window: float
    at: float

    def refilled(self, now: float) -> Policy:
        elapsed = max(0.0, now - self.at)
        tokens = min(self.capacity, self.tokens + elapsed * self.capacity / self.window)
        return dataclasses.replace(self, tokens=tokens, at=max(self.at, now))

    def wait_to_keep(self, keep: float) -> float:
        """Seconds until the policy holds `keep` of its capacity again (0.0: it does)."""
        return max(0.0, (keep * self.capacity - self.tokens) * self.window / self.capacity)


def charge(known: Mapping[str, Policy], now: float, calls: Mapping[str, float]) -> dict[str, Policy]:
    """The policies after `calls` more (negative: fewer) calls against each, refilled to `now`."""
    policies = dict(known)
    for name, count in calls.items():
        if name in policies:
            policy = policies[name].refilled(now)
            policies[name] = dataclasses.replace(policy, tokens=min(policy.capacity, policy.tokens - count))
    return policies


def allowance(known: Mapping[str, Policy], now: float, calls: Mapping[str, float], keep: float, most: int) -> int:
    """How many steps making `calls` against each policy a worker's block may start without the row: at most
    `most`, and at most `SPARE_SHARE` of what every policy holds above `keep` of its capacity (0 when a
    policy is near its part kept for others: then each step goes to the row, as the policies bind)."""
    steps = most
    for name, count in calls.items():
        if name in known and count > 0:
            policy = known[name].refilled(now)
            steps = min(steps, int(SPARE_SHARE * (policy.tokens - keep * policy.capacity) / count))
    return max(0, steps)


def allowed_calls(uses: Mapping[str, Mapping[str, float]], steps: Mapping[str, int]) -> dict[str, float]:
    """The calls against each policy of `steps` steps of each kind (their policies charged for them)."""
    calls: dict[str, float] = {}
    for kind, count in steps.items():
        for name, per_step in uses.get(kind, {}).items():
            calls[name] = calls.get(name, 0.0) + count * per_step
    return calls


def learn(known: Mapping[str, Policy], known_uses: Mapping[str, Mapping[str, float]], now: float, kind: str,
          reserved: Mapping[str, float], seen: Observation,
          ) -> tuple[dict[str, Policy], dict[str, dict[str, float]], bool]:  # fmt: skip
    """Compute's policies and the step kinds' use of them, after a step that met `seen`."""
    policies = charge(known, now, {
        name: seen.policy_calls.get(name, 0) - count for name, count in reserved.items()})  # fmt: skip
    # Fractions of a call (a kind's average use) are not worth a row write; whole calls are.
    changed = any(abs(seen.policy_calls.get(name, 0) - count) >= 1 for name, count in reserved.items())
    for name, (left, window) in seen.compute.items():
        known = policies.get(name)
        if known is None:
            if len(policies) >= MAX_POLICIES:
                continue
            policies[name] = Policy(float(left), float(left + 1), window, now)
            changed = True
            continue
        capacity = max(known.capacity, float(left + 1))
        tokens = min(known.tokens, float(left))  # others may have spent what the model still counts
        if capacity > known.capacity or tokens < known.tokens - 1:
            policies[name] = dataclasses.replace(known, capacity=capacity, tokens=tokens, window=window)
            changed = True
    uses = {k: dict(v) for k, v in known_uses.items()}
    if kind in uses or len(uses) < MAX_STEP_KINDS:
        mine = uses.setdefault(kind, {})
        for name in set(mine) | {n for n in seen.policy_calls if n in policies}:
            before = mine.get(name, 0.0)
            average = before + USE_WEIGHT * (seen.policy_calls.get(name, 0) - before) if name in mine else \
                float(seen.policy_calls[name])  # the first step of its kind seen counts whole
            if average < USE_MIN:
                changed = changed or mine.pop(name, None) is not None
            elif abs(average - before) >= USE_STEP:
                mine[name] = round(average, 3)
                changed = True
        if not mine:
            del uses[kind]
    return policies, uses, changed


def to_text(known: Mapping[str, Policy], uses: Mapping[str, Mapping[str, float]]) -> str:
    """The policies and the step kinds' use of them, as the budget's row keeps them (column `Compute`)."""
    policies = {name: [p.tokens, p.capacity, p.window, p.at] for name, p in known.items()}
    return json.dumps({"policies": policies, "uses": uses}, separators=(",", ":"))


def from_text(text: str | None) -> tuple[dict[str, Policy], dict[str, dict[str, float]]]:
    """The stored policies and uses; a row this version cannot read is treated as having learnt nothing."""
    try:
        data = json.loads(text or "{}")
        policies = {str(n): Policy(*(float(v) for v in values)) for n, values in data.get("policies", {}).items()}
        uses = {str(k): {str(n): float(c) for n, c in v.items()} for k, v in data.get("uses", {}).items()}
    except (ValueError, TypeError, AttributeError):
        return {}, {}
    return policies, uses


