"""Pre-flight policy: every rule over (request, facts), each finding with a stable code and a severity.

The rules live in ``core.policy.rules`` (one module per subject) and are pure; gathering the facts is
``core.policy.facts``; which rules are errors, warnings or off is ``core.policy.enforcement``. ``evaluate`` is
pure given a config; ``check_live`` gathers facts from ARM (reads only) and evaluates them, for
``python -m core plan --check``.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from core.azure.arm import Arm
from core.policy import facts as facts_module
from core.policy.enforcement import Level, PolicyConfig, config_from_env
from core.policy.facts import Facts
from core.policy.registry import RULES, Rule, Violation, rule
from core.request import BuildRequest

# Importing a rule module registers its rules; registration order is evaluation (and report) order:
# what exists, the source, the request's own shape, encryption, then the key chain behind each set.
for _module in ("resource", "source", "request", "encryption", "keys"):
    importlib.import_module(f"core.policy.rules.{_module}")

__all__ = ["RULES", "Finding", "Rule", "Severity", "Violation", "check_live", "default_config", "describe_rules",
           "evaluate", "rule"]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


_SEVERITY = {Level.ERROR: Severity.ERROR, Level.WARNING: Severity.WARNING}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    field: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return data


def default_config() -> PolicyConfig:
    """The configured profile: app settings ``POLICY_FILE`` / ``POLICY_PROFILE``, else "current"."""
    return config_from_env(os.environ)


def evaluate(request: BuildRequest, facts: Facts, *, config: PolicyConfig | None = None) -> list[Finding]:
    """Every finding of every rule that the profile does not turn off, in rule order.

    Raises ``PolicyConfigError`` when the configuration is unusable (rather than checking nothing).
    """
    config = config if config is not None else default_config()
    findings: list[Finding] = []
    for code, registered in RULES.items():
        level = config.level(code)
        if level is Level.OFF:
            continue
        findings += [Finding(code, _SEVERITY[level], violation.field, violation.message)
                     for violation in registered.check(request, facts)]
    return findings


def check_live(request: BuildRequest, arm: Arm, *, config: PolicyConfig | None = None) -> list[Finding]:
    """Gather the facts from ARM (reads only, nothing is written) and evaluate every rule over them.

    ``config`` None uses the policy settings of the environment ``arm`` was configured from.
    """
    if config is None:
        config = config_from_env(arm.settings.env or os.environ)
    return evaluate(request, facts_module.gather(arm, request), config=config)


def describe_rules(config: PolicyConfig | None = None) -> list[dict[str, str]]:
    """Every rule: its code, one-line description and level in ``config`` (for documentation and the CLI)."""
    config = config if config is not None else default_config()
    return [{"code": code, "level": str(config.level(code)), "description": registered.summary}
            for code, registered in RULES.items()]
