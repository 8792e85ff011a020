"""App settings, both ways: every setting the code reads is set in infra/app/function-app.bicep or listed
there with the code's default, and the Bicep sets nothing that neither the code nor the platform reads.

"What the code reads" is found in the source (core/ and function_app.py): names handed to an environment
lookup (any call with `env` or `os.environ` among its arguments or as its object, e.g. `env.get("X")`,
`read_int(env, "X", 15)`), constants named `*_SETTING`, `%NAME%` references in bindings, and the
`<connection>__<suffix>` names of identity-based storage.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from core.azure.settings import Settings
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


def _is_env(node: ast.AST) -> bool:
    """`env`, `environ` or `os.environ`."""
    return (isinstance(node, ast.Name) and node.id in ("env", "environ")) or (
        isinstance(node, ast.Attribute) and node.attr == "environ")


def _setting_names(nodes: list[ast.expr]) -> set[str]:
    return {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and SETTING_NAME.fullmatch(n.value)}  # fmt: skip


def settings_read_by(paths: list[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                arguments = [*node.args, *(k.value for k in node.keywords)]
                owner = node.func.value if isinstance(node.func, ast.Attribute) else None
                if any(_is_env(a) for a in arguments) or (owner is not None and _is_env(owner)):
                    found |= _setting_names(arguments)
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.endswith("_SETTING")
                                                      for t in node.targets):  # fmt: skip
                found |= _setting_names([node.value])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.update(BINDING_REFERENCE.findall(node.value))
            elif isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.FormattedValue):
                # f"{name}__clientId", f"{name}__{service}ServiceUri": the storage connection's identity-based
                # settings (core/azure/storage.py asks for the queue and table services).
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
    module.write_text('"""DOC_STRING_NAME"""\n__all__ = ["NOT_A_SETTING"]\nif op in ("MAX_REPEAT",): pass\n'
                      'X = env.get("NEW_SETTING_SECONDS")\nY = read_int(env, "OTHER_SECONDS", 1)\nA_SETTING = "NAMED_ONE"\n')
    read = settings_read_by([module])
    assert read == {"NEW_SETTING_SECONDS", "OTHER_SECONDS", "NAMED_ONE", CONNECTION}
    assert problems(read, [CONNECTION, "OLD_SETTING", "OTHER_SECONDS", "NAMED_ONE"], {}) == [
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
            assert str(getattr(Settings, field)) == text, f"{name}: the Bicep says {text}, core/azure/settings.py {getattr(Settings, field)}"
