"""Policy configuration: for each rule code, whether it is enforced (error), warned (warning) or off.

Named profiles are JSON files in ``core/policy/profiles/`` (``current.json``: today's service rules;
``preview-2020.json``: the 2020 preview's stricter limits). A profile either lists every rule code
(a root profile: ``current``) or names a ``base`` profile and overrides some codes. The rule codes a
root profile lists are the known codes: a profile or file naming any other code is an error.

Chosen by app setting (environment):
- ``POLICY_PROFILE=<name>``: a shipped profile (default ``current``);
- ``POLICY_FILE=<path>``: a JSON file ``{"base": "<profile>", "rules": {"<code>": "error"|"warning"|"off"}}``
  (optionally ``"description"``). Setting both is contradictory and an error.

Every problem raises ``PolicyConfigError`` naming the file, the field (or rule code) and the fix.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from core.base import json_input

PROFILES_DIR = Path(__file__).with_name("profiles")
DEFAULT_PROFILE = "current"
PROFILE_SETTING = "POLICY_PROFILE"
FILE_SETTING = "POLICY_FILE"
_FILE_FIELDS = ("base", "description", "rules")


class Level(StrEnum):
    """What a rule's findings become: an error (rejects the build), a warning (kept), or nothing."""

    ERROR = "error"
    WARNING = "warning"
    OFF = "off"


class PolicyConfigError(ValueError):
    """The policy configuration cannot be used; the message names the file or setting, field and fix."""


@dataclass(frozen=True)
class PolicyConfig:
    """A resolved profile: a level for every known rule code. ``name`` says where it came from."""

    name: str
    levels: Mapping[str, Level] = field(default_factory=dict)

    def level(self, code: str) -> Level:
        try:
            return self.levels[code]
        except KeyError:
            raise PolicyConfigError(
                f"rule code '{code}' has no level in policy profile '{self.name}'; add it to "
                f"{PROFILES_DIR / (DEFAULT_PROFILE + '.json')} with \"error\", \"warning\" or \"off\""
            ) from None

    def with_levels(self, overrides: Mapping[str, Level | str], *, name: str | None = None) -> PolicyConfig:
        """A copy with some codes set to other levels (codes and levels are checked)."""
        levels = dict(self.levels)
        levels.update(_levels(overrides, set(self.levels), f"overrides of '{self.name}'", "rules"))
        return PolicyConfig(name or f"{self.name}+overrides", MappingProxyType(levels))


def profile_names() -> list[str]:
    """The shipped profiles, by name (the JSON files in ``core/policy/profiles/``)."""
    return sorted(path.stem for path in PROFILES_DIR.glob("*.json"))


def _did_you_mean(value: str, known: list[str] | set[str]) -> str:
    match = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else f"use one of: {', '.join(sorted(known))}"


def _read_json(path: Path, where: str) -> dict:
    try:
        data = json_input.load(path.read_text(encoding="utf-8"), str(path))
    except json_input.JsonInvalid as invalid:
        raise PolicyConfigError(f"{where}: {invalid.problems[0]}") from None
    except FileNotFoundError:
        raise PolicyConfigError(f"{where}: file {path} does not exist; fix the path") from None
    except OSError as error:
        raise PolicyConfigError(f"{where}: cannot read {path} ({error.strerror}); fix the path or its "
                                "permissions") from None
    except UnicodeDecodeError as error:
        raise PolicyConfigError(f"{path}: is not UTF-8 text ({error.reason} at byte {error.start}); save it as "
                                "UTF-8") from None
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: must be a JSON object with \"base\" and \"rules\"")
    return data


def _levels(rules: object, known: set[str] | None, where: str, path: str) -> dict[str, Level]:
    """Check a ``{code: level}`` table; ``known`` None accepts any code (the root profile defines them)."""
    if not isinstance(rules, Mapping):
        raise PolicyConfigError(f"{where}: field '{path}' must be an object of rule code -> "
                                "\"error\" | \"warning\" | \"off\"")
    result: dict[str, Level] = {}
    for code, value in rules.items():
        if known is not None and code not in known:
            raise PolicyConfigError(f"{where}: field '{path}.{code}': unknown rule code; {_did_you_mean(code, known)}")
        try:
            result[code] = Level(value.lower() if isinstance(value, str) else value)
        except ValueError:
            raise PolicyConfigError(f"{where}: field '{path}.{code}': {value!r} is not a level; use \"error\" "
                                    "(enforce), \"warning\" (warn) or \"off\"") from None
    return result


def _resolve(name: str, data: dict, where: str, seen: tuple[str, ...]) -> PolicyConfig:
    for key in data:
        if key not in _FILE_FIELDS:
            raise PolicyConfigError(f"{where}: field '{key}' is unknown; {_did_you_mean(key, list(_FILE_FIELDS))}")
    if "rules" not in data:
        raise PolicyConfigError(f"{where}: field 'rules' is required (an object of rule code -> level)")
    base = data.get("base")
    if base is None:
        return PolicyConfig(name, MappingProxyType(_levels(data["rules"], None, where, "rules")))
    if not isinstance(base, str) or not base.strip():
        raise PolicyConfigError(f"{where}: field 'base' must name a profile: {', '.join(profile_names())}")
    if base in seen:
        raise PolicyConfigError(f"{where}: field 'base': profiles {' -> '.join((*seen, base))} form a cycle")
    parent = _load_profile(base, seen, f"{where}: field 'base'")
    levels = dict(parent.levels)
    levels.update(_levels(data["rules"], set(parent.levels), where, "rules"))
    return PolicyConfig(name, MappingProxyType(levels))


@functools.lru_cache(maxsize=64)  # shipped profiles do not change while the app runs; every validation asks
def _load_profile(name: str, seen: tuple[str, ...], where: str) -> PolicyConfig:
    if name not in profile_names():
        raise PolicyConfigError(f"{where}: '{name}' is not a policy profile; {_did_you_mean(name, profile_names())}")
    path = PROFILES_DIR / f"{name}.json"
    return _resolve(name, _read_json(path, where), str(path), (*seen, name))


def load_profile(name: str) -> PolicyConfig:
    """A shipped profile by name, resolved through its bases."""
    return _load_profile(name, (), "policy profile")


def load_file(path: str | Path, *, where: str = FILE_SETTING) -> PolicyConfig:
    """A policy file: a base profile plus per-rule overrides."""
    file = Path(path)
    data = _read_json(file, f"{where}={path}")
    if "base" not in data:
        raise PolicyConfigError(f"{file}: field 'base' is required: name the profile to start from "
                                f"({', '.join(profile_names())})")
    return _resolve(f"file {file} (base {data['base']})", data, str(file), ())


def config_from_env(env: Mapping[str, str]) -> PolicyConfig:
    """The configured policy: ``POLICY_FILE``, else ``POLICY_PROFILE``, else the default profile."""
    profile = (env.get(PROFILE_SETTING) or "").strip()
    file = (env.get(FILE_SETTING) or "").strip()
    if profile and file:
        raise PolicyConfigError(f"{PROFILE_SETTING}={profile!r} and {FILE_SETTING}={file!r} are both set; keep one "
                                "(a policy file names its own base profile)")
    if file:
        return load_file(file)
    if profile:
        return _load_profile(profile, (), f"{PROFILE_SETTING}={profile!r}")
    return load_profile(DEFAULT_PROFILE)
