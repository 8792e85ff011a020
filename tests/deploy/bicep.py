"""infra/ read with a real Bicep parser (pycep-parser, the one checkov uses): files, variables, app settings."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

from devstack.azurite import PROJECT_ROOT

INFRA = PROJECT_ROOT / "infra"
ROLES = INFRA / "app" / "roles.bicep"
FUNCTION_APP = INFRA / "app" / "function-app.bicep"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parse(path: Path) -> dict[str, Any]:
    """The parsed file (pycep's JSON form); raises lark's UnexpectedInput on a syntax error."""
    return BicepParser().parse(text=path.read_text(encoding="utf-8"))


def string_list(path: Path, variable: str) -> list[str]:
    """A `var <variable> = ['...', ...]` of string literals."""
    value = parse(path)["variables"][variable]["value"]
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"{path.name}: {variable} is not a list of strings"
    return value


def role_actions() -> dict[str, list[str]]:
    """The actions of each custom role in infra/app/roles.bicep, by its variable name."""
    names = ("builderActions", "registrationActions", "auditActions", "verificationActions", "networkActions",
             "keyChainActions")
    return {name: string_list(ROLES, name) for name in names}


def app_setting_names() -> list[str]:
    """The names in function-app.bicep's `var appSettings = [{name, value}, ...]`."""
    entries = parse(FUNCTION_APP)["variables"]["appSettings"]["value"]
    return [entry["name"] for entry in entries]


_DEFAULTED = re.compile(r"^// ([A-Za-z][A-Za-z0-9_]+): (.+)$", re.MULTILINE)


def defaulted_settings() -> dict[str, str]:
    """Settings function-app.bicep leaves to the code, from its `// NAME: default` comment lines."""
    return dict(_DEFAULTED.findall(FUNCTION_APP.read_text(encoding="utf-8")))
