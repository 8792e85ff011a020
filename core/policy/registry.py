"""The rule registry: each rule is a pure function over (request, facts) registered under a stable code.

A rule yields ``Violation``s (the request field and a message naming the region, disk, LUN or resource
and the fix); ``core.policy.check.evaluate`` turns them into findings with the severity the profile gives
the code. The rule's docstring is its one-line description (``describe_rules``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.policy.facts import Facts
from core.request import BuildRequest


@dataclass(frozen=True)
class Violation:
    """One breach of a rule: ``field`` is a JSON path in the request's canonical (REST) shape."""

    field: str
    message: str


Check = Callable[[BuildRequest, Facts], Iterable[Violation]]


@dataclass(frozen=True)
class Rule:
    code: str
    check: Check

    @property
    def summary(self) -> str:
        doc = (self.check.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else self.code


RULES: dict[str, Rule] = {}


def rule(code: str) -> Callable[[Check], Check]:
    """Register ``check`` under ``code``; a code is registered once (codes are a public contract)."""

    def register(check: Check) -> Check:
        if code in RULES:
            raise ValueError(f"rule code {code!r} is registered twice ({RULES[code].check.__name__} and "
                             f"{check.__name__}); give the new rule its own code")
        RULES[code] = Rule(code, check)
        return check

    return register
