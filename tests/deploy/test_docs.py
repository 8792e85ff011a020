"""The docs agree with the code, and the translations with the English.

Each reference table is compared with what it describes: settings with the settings the code reads, the role
table with infra/app/roles.bicep, azd variables with infra/main.parameters.json, routes and functions with
function_app.py, exit codes with the CLI, rule codes with the policy profiles and the audit rules, the request
field table with the request schema. Every `<name>.zh-CN.md` keeps the commands, JSON examples, setting names and
role table of its `<name>.md`. Links between the pages resolve, anchors included. (Commands and JSON examples
themselves: test_doc_commands.py.)
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from core.audit import key_health  # noqa: F401  (registers the key-health rules)
from core.audit.rules import RULES as AUDIT_RULES
from core.azure.settings import Settings
from core.entry.cli.outcomes import Exit
from core.policy.enforcement import PROFILES_DIR
from core.request.change import CHANGE_FIELDS
from devstack.azurite import PROJECT_ROOT
from tests.deploy import bicep
from tests.deploy import doc_text as doc
from tests.deploy.test_settings import PLATFORM_SETTINGS, SOURCES, settings_read_by

DOCS = PROJECT_ROOT / "docs"
README = PROJECT_ROOT / "README.md"
ROLE_ROWS = {"CMK Image Builder": "builderActions", "CMK Image Builder registration": "registrationActions",
             "CMK Image Builder audit": "auditActions", "CMK Image Builder verification": "verificationActions",
             "CMK Image Builder network": "networkActions", "CMK Image Builder key chain": "keyChainActions"}  # fmt: skip
# Read by devstack/localworker only (the local Functions host), documented with the settings.
LOCAL_WORKER_SETTINGS = {"LOCAL_WORKER_MAX_POLLING_SECONDS", "LOCAL_WORKER_MESSAGE_LEASE_SECONDS",
                         "AzureFunctionsWebHost__hostid", "WEBSITE_TIME_ZONE"}  # fmt: skip
# Read by azure-identity from the platform, not named in our code.
IDENTITY_SETTINGS = {"IDENTITY_ENDPOINT", "IDENTITY_HEADER"}
# The Functions host's own settings, which the docs may mention (the app never reads them).
HOST_SETTINGS = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_WORKER_PROCESS_COUNT"}


def text(path: Path) -> str:
    return doc.read(path)


def role_table(content: str) -> dict[str, list[str]]:
    return {ROLE_ROWS[row[0]]: doc.code_spans(row[2]) for row in doc.table_rows(content)
            if len(row) == 3 and row[0] in ROLE_ROWS}  # fmt: skip


def first_code(cell: str) -> list[str]:
    """The names a table cell holds: its code spans (one row may name several)."""
    return doc.code_spans(cell)


# --- settings ------------------------------------------------------------------------------------------


def configuration_rows() -> dict[str, str]:
    """Setting -> its default cell, from every settings table of docs/configuration.md."""
    rows = {}
    for row in doc.table_rows(text(DOCS / "configuration.md")):
        if len(row) == 3 and row[0] != "setting":
            for name in first_code(row[0]):
                assert name not in rows, f"docs/configuration.md lists {name} twice"
                rows[name] = row[1]
    return rows


def test_every_setting_the_code_reads_is_documented_and_nothing_else():
    documented = set(configuration_rows())
    expected = settings_read_by(SOURCES) | set(PLATFORM_SETTINGS) | LOCAL_WORKER_SETTINGS | IDENTITY_SETTINGS
    expected -= {"AzureWebJobsStorage__blobServiceUri"}  # the host's own blobs: the deployment sets it
    assert sorted(expected - documented) == [], "settings the code reads that docs/configuration.md has no row for"
    assert sorted(documented - expected) == [], "rows of docs/configuration.md for settings nothing reads"


def test_the_documented_defaults_are_the_codes():
    """A number in the default column is the Settings field's default, or the one the Bicep lists."""
    listed = bicep.defaulted_settings()
    checked = 0
    for name, default in configuration_rows().items():
        if not re.fullmatch(r"\d+", default):
            continue
        if hasattr(Settings, name.lower()):
            assert str(getattr(Settings, name.lower())) == default, f"{name}: docs say {default}"
        elif name in listed:
            assert listed[name].split()[0] == default, f"{name}: docs say {default}, the Bicep {listed[name]}"
        checked += 1
    assert checked >= 20


def known_names() -> set[str]:
    """Every name a doc may write as a setting: the settings, azd's variables and the deployment's outputs,
    the Makefile's variables, and those configuration.md names in its prose (proxy and CA variables)."""
    parameters = json.loads((PROJECT_ROOT / "infra" / "main.parameters.json").read_text())["parameters"]
    azd = {re.match(r"\$\{(\w+)", p["value"]).group(1) for p in parameters.values()}
    outputs = set(re.findall(r"^output (\w+) ", (PROJECT_ROOT / "infra" / "main.bicep").read_text(), re.MULTILINE))
    makefile = set(re.findall(r"^([A-Z_]+) \??:?=", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE))
    return (set(configuration_rows()) | doc.settings_named(text(DOCS / "configuration.md")) | azd | outputs | makefile
            | HOST_SETTINGS)


@pytest.mark.parametrize("path", doc.doc_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_setting_a_page_names_exists(path: Path):
    unknown = doc.settings_named(text(path)) - known_names()
    assert sorted(unknown) == [], f"{path.name} names settings that nothing reads (renamed? removed?)"


# --- deployment ----------------------------------------------------------------------------------------


def test_the_role_table_is_the_bicep_roles():
    assert role_table(text(DOCS / "deploy.md")) == bicep.role_actions()


def test_the_azd_variables_are_the_parameters_file():
    """Each row: azd variable, Bicep parameter, default, as infra/main.parameters.json maps them."""
    parameters = json.loads((PROJECT_ROOT / "infra" / "main.parameters.json").read_text())["parameters"]
    mapped = {}
    for parameter, entry in parameters.items():
        variable, _, default = re.fullmatch(r"\$\{(\w+)(=?)(.*)\}", entry["value"]).groups()
        mapped[variable] = (parameter, default)
    documented = {}
    for row in doc.table_rows(text(DOCS / "deploy.md")):
        if len(row) == 4 and row[0].startswith("`") and row[1].startswith("`"):
            default = first_code(row[2])[0] if first_code(row[2]) else ""
            documented[first_code(row[0])[0]] = (first_code(row[1])[0], default)
    internal = {"AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_PRINCIPAL_ID"}  # azd's own, set by `azd env new` / login
    assert documented == {v: m for v, m in mapped.items() if v not in internal}


# --- doors: routes, functions, exit codes ----------------------------------------------------------------


def function_app_bindings() -> dict[str, ast.Call]:
    bindings = {}
    for node in ast.parse((PROJECT_ROOT / "function_app.py").read_text()).body:
        if isinstance(node, ast.FunctionDef):
            (decorator,) = node.decorator_list
            bindings[node.name] = decorator
    return bindings


def routes_in_code() -> set[str]:
    routes = set()
    for call in function_app_bindings().values():
        if isinstance(call, ast.Call) and ast.unparse(call.func) == "app.route":
            keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg in ("route", "methods")}
            routes |= {f"{method} /api/{keywords['route']}" for method in keywords["methods"]}
    return routes


ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/api/[^\s?\[]+)")


def routes_documented() -> set[str]:
    found = set()
    for path in doc.english_files():
        for row in doc.table_rows(text(path)):
            for span in first_code(row[0]) if row else ():
                match = ROUTE.match(span)
                if match:
                    found.add(f"{match.group(1)} {match.group(2)}")
    return found


def _matches(documented: str, template: str) -> bool:
    method, path = documented.split(" ", 1)
    t_method, t_path = template.split(" ", 1)
    parts, t_parts = path.split("/"), t_path.split("/")
    return method == t_method and len(parts) == len(t_parts) and all(
        a == b or b.startswith("{") for a, b in zip(parts, t_parts, strict=True))


def test_every_route_is_documented_and_every_documented_route_exists():
    code, documented = routes_in_code(), routes_documented()
    assert sorted(code - documented) == [], "routes of function_app.py no route table of the docs has"
    assert [d for d in sorted(documented) if not any(_matches(d, t) for t in code)] == []


def test_the_functions_table_is_function_app():
    named = set()
    for row in doc.table_rows(text(DOCS / "operations.md")):
        if row and row[0].startswith("`") and len(row) == 3 and row[0] != "function (`function_app.py`)":
            named |= set(first_code(row[0]))
    assert named == set(function_app_bindings())


def test_the_exit_code_table_is_the_clis():
    codes = {int(row[0]) for row in doc.table_rows(text(DOCS / "cli.md")) if row and row[0].isdigit()}
    assert codes == {int(code) for code in Exit}


# --- rules and fields ------------------------------------------------------------------------------------


def resolved_profiles() -> dict[str, dict[str, str]]:
    """Each shipped profile's level for every code (a profile with a `base` overrides its base's)."""
    raw = {path.stem: json.loads(path.read_text()) for path in PROFILES_DIR.glob("*.json")}

    def levels(name: str) -> dict[str, str]:
        base = raw[name].get("base")
        return {**(levels(base) if base else {}), **raw[name]["rules"]}

    return {name: levels(name) for name in raw}


def test_the_policy_rule_table_is_the_profiles():
    """One column per shipped profile (named in the header), one row per rule code, each level the profile's."""
    rows = doc.table_rows(doc.section(text(DOCS / "requests.md"), "Checks before any write"))
    header = next(row for row in rows if row[0] == "code")
    columns = [first_code(cell)[0] for cell in header[1:-1]]
    profiles = resolved_profiles()
    assert sorted(columns) == sorted(profiles), "a profile was added or removed: give it its column"
    documented = {first_code(row[0])[0]: dict(zip(columns, row[1:-1], strict=True)) for row in rows
                  if row[0] != "code" and len(row) == len(header)}  # fmt: skip
    expected = {code: {name: profiles[name][code] for name in columns} for code in profiles["current"]}
    assert documented == expected


def test_the_audit_table_is_the_audit_rules():
    rows = {first_code(row[0])[0]: row[1] for row in doc.table_rows(text(DOCS / "audit.md"))
            if len(row) == 3 and row[0].startswith("`") and row[1] in ("error", "warning")}  # fmt: skip
    assert rows == {code: str(rule.severity) for code, rule in AUDIT_RULES.items()}


def test_every_request_field_is_in_the_field_tables():
    schema = json.loads((PROJECT_ROOT / "core" / "request" / "schema.json").read_text())
    requests = text(DOCS / "requests.md")
    fields = {name for row in doc.table_rows(doc.section(requests, "Every field")) for name in first_code(row[0])}
    assert fields == set(schema["properties"])
    source_cells = " ".join(row[0] for row in doc.table_rows(doc.section(requests, "Sources")))
    assert set(schema["properties"]["source"]["properties"]) <= set(doc.code_spans(source_cells))
    change_cells = " ".join(row[0] for row in doc.table_rows(doc.section(requests, "A change of regions")))
    assert set(CHANGE_FIELDS) == set(doc.code_spans(change_cells))


# --- translations ----------------------------------------------------------------------------------------


def test_every_translation_is_found():
    assert {(e.name, t.name) for e, t in doc.translations()} >= {("README.md", "README.zh-CN.md"),
                                                                 ("deploy.md", "deploy.zh-CN.md")}


@pytest.mark.parametrize(("english", "translated"), doc.translations(), ids=lambda p: p.name)
def test_a_translation_has_the_same_commands(english: Path, translated: Path):
    left, right = set(doc.command_lines(text(english))), set(doc.command_lines(text(translated)))
    assert sorted(left - right) == [], f"commands of {english.name} missing from {translated.name}"
    assert sorted(right - left) == [], f"commands of {translated.name} that {english.name} does not have"


@pytest.mark.parametrize(("english", "translated"), doc.translations(), ids=lambda p: p.name)
def test_a_translation_has_the_same_json_examples(english: Path, translated: Path):
    assert sorted(doc.blocks(text(english), "json")) == sorted(doc.blocks(text(translated), "json"))


@pytest.mark.parametrize(("english", "translated"), doc.translations(), ids=lambda p: p.name)
def test_a_translation_names_the_same_settings(english: Path, translated: Path):
    left, right = doc.settings_named(text(english)), doc.settings_named(text(translated))
    assert sorted(left - right) == [], f"settings {english.name} names that {translated.name} does not"
    assert sorted(right - left) == [], f"settings {translated.name} names that {english.name} does not"


@pytest.mark.parametrize(("english", "translated"), doc.translations(), ids=lambda p: p.name)
def test_a_translation_has_the_same_role_table(english: Path, translated: Path):
    """Role names are Azure identifiers: the translated table keeps them, and the actions, as they are."""
    assert role_table(text(translated)) == role_table(text(english))


# --- links and the README's shape --------------------------------------------------------------------------


@pytest.mark.parametrize("path", doc.doc_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_link_resolves(path: Path):
    broken = []
    for target in doc.links(text(path)):
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        exists = resolved.exists()
        if not exists or (anchor and resolved.suffix == ".md" and anchor not in doc.anchors(text(resolved))):
            broken.append(target)
    assert broken == []


PATH_SPAN = re.compile(r"^(?:core|tests|infra|bench|devstack|simulator|examples|templates|docs|\.ci)/[\w./-]*$|"
                       r"^[\w.-]+\.(?:py|json|bicep|toml|txt|yaml)$")


@pytest.mark.parametrize("path", doc.english_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_file_a_page_names_exists(path: Path):
    """Inline code that is a path of this repository (`core/engine/runner.py`, `host.json`) names a real file."""
    made = {"local.settings.json", "request.json", "REQUEST.json", "CHANGE.json", "profile.out"}  # a user's files
    names = {p.name for p in project_files()}
    missing = [span for span in doc.inline_code(text(path))
               if PATH_SPAN.match(span) and span not in made and "*" not in span
               and not ((PROJECT_ROOT / span).exists() or ("/" not in span and span in names))]  # fmt: skip
    assert missing == []


def project_files() -> list[Path]:
    """The project's files (its folders, not the venvs and node_modules)."""
    folders = [PROJECT_ROOT / f for f in ("core", "tests", "infra", "bench", "devstack", "simulator", "examples",
                                          "templates", "docs")]  # fmt: skip
    return [*PROJECT_ROOT.glob("*.*"), *(p for folder in folders for p in folder.rglob("*"))]


def test_the_readme_is_a_path():
    """About 200 lines, and nothing about internals before the quick start."""
    lines = text(README).splitlines()
    assert len(lines) <= 220
    assert lines.index("## Quick start") < 30


def test_the_comparisons_see_a_missing_command_setting_and_row():
    content = "```bash\nmake demo   # 演示\npython -m core x \\\n  --y\n```\n`POLL_MAX_SECONDS` and `X`\n| `A` | b |\n|---|---|\n"
    assert doc.command_lines(content) == ["make demo", "python -m core x --y"]
    assert doc.settings_named(content) == {"POLL_MAX_SECONDS"}
    assert doc.table_rows(content) == [["`A`", "b"]]
    assert doc.command_lines("```bash\n# only a comment\n```\n") == []
    assert doc.slug("Permissions (the custom roles)") == "permissions-the-custom-roles"
    assert doc.slug("使用 azd") == "使用-azd"
