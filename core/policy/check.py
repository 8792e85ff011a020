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
from core.policy import key_access
from core.policy.enforcement import Level, PolicyConfig, config_from_env
from core.policy.facts import Facts
from core.policy.registry import RULES, Rule, Violation, rule
from core.request import BuildRequest

# Importing a rule module registers its rules; registration order is evaluation (and report) order:
# what exists, the source, the request's own shape, encryption, then the key chain behind each set.
for _module in ("resource", "source", "request", "encryption", "keys"):
    importlib.import_module(f"core.policy.rules.{_module}")

__all__ = ["RULES", "Finding", "LiveCheck", "Rule", "Severity", "Violation", "check_live", "check_live_report",
           "default_config", "describe_rules", "evaluate", "key_chain_verdicts", "rule"]


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
    return check_live_report(request, arm, config=config).findings


@dataclass(frozen=True)
class LiveCheck:
    """What ``python -m core plan --check`` shows: the findings and one verdict per disk encryption set."""

    findings: list[Finding]
    key_chains: list[dict[str, str]]


def key_chain_verdicts(request: BuildRequest, facts: Facts) -> list[dict[str, str]]:
    """``{"diskEncryptionSetId", "verdict"}`` per DES the request names, in request order (pure)."""
    verdicts = []
    for des_id in request.disk_encryption_set_ids():
        des, chain = facts.des(des_id), facts.key_chain(des_id)
        if des is None or chain is None:
            text = "not read (not found, or in another subscription)"
        else:
            text = key_access.verdict(chain, des, facts.observed_at, facts.key_horizon_days)
        verdicts.append({"diskEncryptionSetId": des_id, "verdict": text})
    return verdicts


def check_live_report(request: BuildRequest, arm: Arm, *, config: PolicyConfig | None = None) -> LiveCheck:
    """``check_live`` with the key-chain verdict of each DES (reads only, nothing is written)."""
    if config is None:
        config = config_from_env(arm.settings.env or os.environ)
    gathered = facts_module.gather(arm, request)
    return LiveCheck(evaluate(request, gathered, config=config), key_chain_verdicts(request, gathered))


def describe_rules(config: PolicyConfig | None = None) -> list[dict[str, str]]:
    """Every rule: its code, one-line description and level in ``config`` (for documentation and the CLI)."""
    config = config if config is not None else default_config()
    return [{"code": code, "level": str(config.level(code)), "description": registered.summary}
            for code, registered in RULES.items()]
