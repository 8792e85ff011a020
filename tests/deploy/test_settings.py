"""App settings, both ways: every setting the code reads is set in infra/app/function-app.bicep or listed
there with the code's default, and the Bicep sets nothing that neither the code nor the platform reads.

"What the code reads" is found in the source (core/ and function_app.py): string literals in
UPPER_SNAKE_CASE (the settings' names, e.g. `env.get("POLL_MAX_SECONDS")`, `DIR_SETTING = "TEMPLATES_DIR"`),
`%NAME%` references in bindings, and the `<connection>__<suffix>` names of identity-based storage.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from core.config import Settings
from devstack.azurite import PROJECT_ROOT
from tests.deploy import bicep

SOURCES = [PROJECT_ROOT / "function_app.py", *sorted((PROJECT_ROOT / "core").rglob("*.py"))]
SETTING_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
BINDING_REFERENCE = re.compile(r"%([A-Z][A-Z0-9_]+)%")
CONNECTION = "AzureWebJobsStorage"
# Read by the Functions host, the platform or an SDK rather than by our code; each says why it is set.
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri": "the host's own blobs (timer schedules, keys); the app uses queues and tables",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "the host sends telemetry to Application Insights",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "with Entra ID (the workspace has local auth disabled)",
    "AZURE_CLIENT_ID": "azure-identity's DefaultAzureCredential picks the user-assigned identity by it",
}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            ids.add(id(body[0].value))
    return ids


def _exported_names(tree: ast.AST) -> set[int]:
    """The string constants of `__all__` lists: names of Python objects, not settings."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            ids.update(id(c) for c in ast.walk(node.value) if isinstance(c, ast.Constant))
    return ids


def settings_read_by(paths: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree) | _exported_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                if SETTING_NAME.fullmatch(node.value):
                    found.add(node.value)
                found.update(BINDING_REFERENCE.findall(node.value))
            elif isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.FormattedValue):
                # f"{name}__clientId", f"{name}__{service}ServiceUri": the storage connection's identity-based
                # settings (core/clients/storage.py asks for the queue and table services).
                rest = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values[1:])
                if re.fullmatch(r"__[A-Za-z{}]+", rest):
                    found.update(CONNECTION + rest.format(service) for service in ("queue", "table"))
    found.add(CONNECTION)
    return found


def problems(read: set[str], bicep_set: list[str], defaulted: dict[str, str]) -> list[str]:
    lines = []
    declared = set(bicep_set) | set(defaulted)
    for name in sorted(read - declared):
        lines.append(f"{name} is read by the code but neither set in infra/app/function-app.bicep nor listed there "
                     f"as '// {name}: <default>'")  # fmt: skip
    for name in sorted(set(bicep_set) - read - set(PLATFORM_SETTINGS)):
        lines.append(f"infra/app/function-app.bicep sets {name}, which nothing reads: remove it")
    for name in sorted(set(defaulted) - read):
        lines.append(f"infra/app/function-app.bicep lists {name} as a code default, but the code does not read it")
    lines.extend(f"{name} is both set and listed as a default" for name in sorted(set(bicep_set) & set(defaulted)))
    lines.extend(f"{name} is set twice" for name in sorted({n for n in bicep_set if bicep_set.count(n) > 1}))
    return lines


def test_every_setting_the_code_reads_is_in_the_bicep_and_nothing_else():
    read = settings_read_by(SOURCES)
    assert {"POLL_MAX_SECONDS", "AUDIT_SCHEDULE", "TEMPLATES_DIR", "AzureWebJobsStorage__clientId"} <= read
    assert problems(read, bicep.app_setting_names(), bicep.defaulted_settings()) == []


def test_a_new_setting_or_a_stray_one_is_named(tmp_path: Path):
    """A setting added to the code and one left in the Bicep are both reported."""
    module = tmp_path / "m.py"
    module.write_text('"""DOC_STRING_NAME"""\n__all__ = ["NOT_A_SETTING"]\nX = env.get("NEW_SETTING_SECONDS")\n')
    read = settings_read_by([module])
    assert read == {"NEW_SETTING_SECONDS", CONNECTION}
    assert problems(read, [CONNECTION, "OLD_SETTING"], {}) == [
        "NEW_SETTING_SECONDS is read by the code but neither set in infra/app/function-app.bicep nor listed there as "
        "'// NEW_SETTING_SECONDS: <default>'",
        "infra/app/function-app.bicep sets OLD_SETTING, which nothing reads: remove it",
    ]


def test_platform_settings_are_set_in_the_bicep():
    assert set(PLATFORM_SETTINGS) <= set(bicep.app_setting_names())


def test_the_defaults_listed_in_the_bicep_are_the_codes():
    """A number listed as the default of a Settings field is that field's default."""
    listed = {name: text.split()[0] for name, text in bicep.defaulted_settings().items() if text.split()[0].isdigit()}
    assert len(listed) >= 10
    for name, text in listed.items():
        field = name.lower()
        if hasattr(Settings, field):
            assert str(getattr(Settings, field)) == text, f"{name}: the Bicep says {text}, core/config.py {getattr(Settings, field)}"
