"""Every command and JSON example in the docs is real: checked here against the code, or run
(live/test_readme_first_build.py runs the README's first build).

A command line of a bash block is parsed by what would run it: `python -m core` lines by the CLI's own parser
(usage brackets expanded), `bench`/`simulator` flags against their argument parsers, `make` targets against the
Makefile, `azd` variables and outputs against infra/, `az` parameters against main.bicep, `curl` paths against
the routes of function_app.py, exported names against the settings, and every file a command reads must exist.
A line no rule knows fails, so a new kind of command comes with its check. Inline `python -m core ...` in the
prose is held to its verb and flags. JSON examples parse, and each is what it claims: a build request, a
fragment of one, a change of regions or a template is valid; an answer of the HTTP API has its route's fields.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.entry.cli.parser import build_parser
from core.request import RequestInvalid, parse_request
from core.request.change import parse_change
from core.snapshots.template_loader import TemplatesInvalid, parse_template
from devstack.azurite import PROJECT_ROOT
from tests.deploy import doc_text as doc
from tests.deploy.test_docs import configuration_rows, routes_in_code

PAGES = doc.doc_files()
IDS = [str(p.relative_to(PROJECT_ROOT)) for p in PAGES]
SEED = PROJECT_ROOT / "examples" / "seed-cli-managed-image.json"
SCHEMA = json.loads((PROJECT_ROOT / "core" / "request" / "schema.json").read_text())
# The az commands the docs use; a new one joins this list once its flags are checked against az CLI 2.91's help.
AZ_COMMANDS = ("cloud set", "login", "account set", "deployment sub create", "deployment sub show",
               "functionapp deployment source config-zip", "functionapp keys list", "storage message put",
               "monitor scheduled-query create", "role assignment delete", "role definition delete")  # fmt: skip
PYTHON = re.compile(r"^(?:\.venv/bin/)?python3? -m ([\w.]+)\b ?(.*)$")


def placeholders_out(line: str) -> str:
    """`<build ID>` and the like become one word, so the line splits as a shell would split the real one."""
    return doc.PLACEHOLDER.sub("PLACEHOLDER", line)


def expand_usage(words: list[str]) -> list[str]:
    """A usage line as one concrete line: optional parts kept, `...` dropped, the first of `A|B` taken."""
    out = []
    for word in words:
        word = word.replace("[", "").replace("]", "")
        if word and word != "...":
            out.append(word.split("|")[0])
    return out


def option_strings(module_file: Path) -> set[str]:
    """The option strings of every add_argument call in a module."""
    found = set()
    for node in ast.walk(ast.parse(module_file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument":
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("-"):
                    found.add(arg.value)
                elif isinstance(arg, ast.List):  # azurite-like ["", "name"] lists are not Python; kept simple
                    continue
    return found


def makefile() -> tuple[set[str], set[str]]:
    text = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", text, re.MULTILINE))
    variables = set(re.findall(r"^([A-Z_]+) \??:?=", text, re.MULTILINE))
    return targets, variables


def infra() -> tuple[dict[str, str], set[str], set[str]]:
    """azd variable -> Bicep parameter, the Bicep parameters, the deployment's outputs."""
    parameters = json.loads((PROJECT_ROOT / "infra" / "main.parameters.json").read_text())["parameters"]
    variables = {re.match(r"\$\{(\w+)", p["value"]).group(1): name for name, p in parameters.items()}
    main = (PROJECT_ROOT / "infra" / "main.bicep").read_text()
    return (variables, set(re.findall(r"^param (\w+) ", main, re.MULTILINE)),
            set(re.findall(r"^output (\w+) ", main, re.MULTILINE)))


def azurite_options() -> set[str]:
    environment = PROJECT_ROOT / "node_modules" / "azurite" / "dist" / "src" / "common" / "Environment.js"
    return {"--" + name for name in re.findall(r'\.option\(\["[^"]*", "(\w+)"\]', environment.read_text())}


# --- one command ------------------------------------------------------------------------------------------


def check_core(words: list[str]) -> list[str]:
    try:
        build_parser().parse_args(expand_usage(words))
    except SystemExit:
        return [f"python -m core {' '.join(words)}: the CLI's parser refuses it"]
    return []


def check_python(module: str, words: list[str]) -> list[str]:
    if module == "core":
        return check_core(words)
    path = PROJECT_ROOT / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PROJECT_ROOT / module.replace(".", "/") / "__main__.py"
    if not path.exists():
        return [f"python -m {module}: no such module"]
    known = option_strings(path)
    problems = [f"python -m {module}: no option {w}" for w in expand_usage(words)
                if w.startswith("--") and w.split("=")[0] not in known]  # fmt: skip
    return problems + check_files(words)


def check_files(words: list[str]) -> list[str]:
    """Arguments that are files of this repository exist."""
    return [f"{w}: no such file" for w in words
            if re.match(r"^(examples|simulator|infra|templates)/[\w./-]+\.\w+$", w) and not (PROJECT_ROOT / w).exists()]


def check_azd(words: list[str]) -> list[str]:
    variables, _, outputs = infra()
    match words:
        case ["auth", "login"] | ["up"] | ["provision"] | ["down"] | ["env", "new", _]:
            return []
        case ["env", "set", name, _]:
            return [] if name in variables else [f"azd env set {name}: infra/main.parameters.json does not read it"]
        case ["env", "get-value", name]:
            return [] if name in outputs else [f"azd env get-value {name}: main.bicep has no such output"]
        case ["config", "set", "cloud.name", cloud]:
            return [] if cloud in ("AzureCloud", "AzureChinaCloud", "AzureUSGovernment") else [f"no cloud {cloud}"]
    return [f"azd {' '.join(words)}: not a form the docs are known to use"]


def check_az(words: list[str]) -> list[str]:
    command = next((c for c in AZ_COMMANDS if words[: len(c.split())] == c.split()), None)
    if command is None:
        return [f"az {' '.join(words[:4])}: add it to AZ_COMMANDS once its flags are checked"]
    _, parameters, outputs = infra()
    problems = check_files(words)
    for flag, value in zip(words, [*words[1:], ""], strict=True):
        if flag == "--template-file" and not (PROJECT_ROOT / value).exists():
            problems.append(f"--template-file {value}: no such file")
        if flag == "--query" and (found := re.fullmatch(r"properties\.outputs\.(\w+)\.value", value)):
            problems += [] if found.group(1) in outputs else [f"{value}: main.bicep has no such output"]
        if flag == "--queue-name" and value != "image-build-requests":
            problems.append(f"--queue-name {value}: the app's request queue is image-build-requests")
        if flag == "--name" and command == "cloud set" and value not in ("AzureCloud", "AzureChinaCloud",
                                                                          "AzureUSGovernment"):  # fmt: skip
            problems.append(f"az cloud set --name {value}: not a cloud the app knows")
    if "--parameters" in words:
        given = [w.split("=", 1)[0] for w in words[words.index("--parameters") + 1:] if "=" in w]
        problems += [f"--parameters {name}: main.bicep has no such parameter" for name in given if name not in parameters]
    return problems


def check_curl(words: list[str]) -> list[str]:
    method = words[words.index("-X") + 1] if "-X" in words else "GET"
    urls = [w for w in words if w.startswith("http")]
    problems = check_files([w[1:] for w in words if w.startswith("@")])
    for url in urls:
        path = re.sub(r"^https?://[^/]+", "", url).split("?")[0].replace("PLACEHOLDER", "{id}")
        routes = {r for r in routes_in_code() if r.split(" ")[0] == method}
        if f"{method} {path}" not in routes:
            problems.append(f"curl {method} {path}: no such route in function_app.py")
    return problems


def check_line(line: str) -> list[str]:
    """What is wrong with one command line of a bash block (nothing: an empty list)."""
    inner = re.findall(r"\$\((.*?)\)", line)
    problems = [p for command in inner for p in check_line(command) if not command.startswith("cat ")]
    line = re.sub(r"\$\(.*?\)", "VALUE", line)
    assignment = re.fullmatch(r"(\w+)=VALUE", line)
    if assignment:
        return problems
    words = shlex.split(placeholders_out(line))
    if (python := PYTHON.match(placeholders_out(line))) is not None:
        return problems + check_python(python.group(1), shlex.split(python.group(2)))
    match words:
        case ["make", *targets]:
            known, variables = makefile()
            problems += [f"make {t}: no such target" for t in targets if "=" not in t and t not in known]
            problems += [f"make {t}: no such variable" for t in targets if "=" in t and t.split("=")[0] not in variables]
        case ["node_modules/.bin/azurite", *options]:
            problems += [f"azurite {o}: no such option" for o in options if o not in azurite_options()]
        case ["cp", source, _]:
            problems += [] if (PROJECT_ROOT / source).exists() else [f"cp {source}: no such file"]
        case ["export", *assignments]:
            settings = configuration_rows()
            problems += [f"export {a}: not a setting" for a in assignments if a.split("=")[0] not in settings]
        case ["azd", *rest]:
            problems += check_azd(rest)
        case ["az", *rest]:
            problems += check_az(rest)
        case ["curl", *rest]:
            problems += check_curl(rest)
        case _:
            problems.append(f"{line}: no rule checks this command; add one to tests/deploy/test_doc_commands.py")
    return problems


@pytest.mark.parametrize("path", PAGES, ids=IDS)
def test_every_command_is_real(path: Path):
    problems = [p for line in doc.command_lines(doc.read(path)) for p in check_line(line)]
    assert problems == []


def inline_core_commands(text: str) -> Iterator[list[str]]:
    for span in doc.inline_code(text):
        found = re.match(r"^(?:\.venv/bin/)?python -m core (.*)$", span)
        if found:
            yield expand_usage(shlex.split(placeholders_out(found.group(1))))


def verbs_and_options() -> dict[str, set[str]]:
    """Each verb of `python -m core` (`templates check` as one) and its long options."""
    found: dict[str, set[str]] = {}

    def walk(parser: object, prefix: str) -> None:
        for action in parser._actions:  # argparse keeps its subparsers here
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                for name, sub in action.choices.items():
                    walk(sub, f"{prefix} {name}".strip())
            elif prefix:
                found.setdefault(prefix, set()).update(o for o in action.option_strings if o.startswith("--")
                                                       and o != "--help")  # fmt: skip
        if prefix and prefix not in found:
            found[prefix] = set()

    walk(build_parser(), "")
    return {verb: options for verb, options in found.items() if not any(v.startswith(verb + " ") for v in found)}


@pytest.mark.parametrize("path", PAGES, ids=IDS)
def test_inline_commands_name_real_verbs_and_options(path: Path):
    verbs = verbs_and_options()
    problems = []
    for words in inline_core_commands(doc.read(path)):
        words = [w for w in words if w != "--help"]  # every parser has it
        if words in ([], ["VERB"]):
            continue
        verb = next((v for v in sorted(verbs, key=len, reverse=True) if words[: len(v.split())] == v.split()), None)
        if verb is None:
            problems.append(f"python -m core {' '.join(words)}: no such verb")
        else:
            problems += [f"python -m core {verb} {w}: no such option" for w in words if w.startswith("--")
                         and w not in verbs[verb]]  # fmt: skip
    assert problems == []


def test_every_verb_and_option_is_shown_in_the_docs():
    shown: set[str] = set()
    for path in PAGES:
        text = doc.read(path)
        lines = [PYTHON.match(placeholders_out(line)) for line in doc.command_lines(text)]
        words = [expand_usage(shlex.split(m.group(2))) for m in lines if m and m.group(1) == "core"]
        for command in [*words, *inline_core_commands(text)]:
            shown.update(" ".join(command[:i]) for i in range(1, len(command) + 1))
            shown.update(f"{' '.join(command[:i])} {w}" for i in (1, 2) for w in command if w.startswith("--"))
    missing = [f"{verb} {option}".strip() for verb, options in verbs_and_options().items()
               for option in ("", *sorted(options)) if f"{verb} {option}".strip() not in shown]  # fmt: skip
    assert missing == [], "verbs and options of python -m core that no page shows"


# --- JSON examples --------------------------------------------------------------------------------------


def check_json(body: str) -> list[str]:
    try:
        value = json.loads(body)
    except json.JSONDecodeError as error:
        return [f"not JSON: {error}"]
    if not isinstance(value, dict):
        return ["not a JSON object"]
    try:
        if value.get("operation") == "changeRegions":
            parse_change(value)
        elif {"match", "request"} <= set(value):
            parse_template(value, name="example", file="example.json")
        elif "source" in value:
            parse_request(value)
        elif set(value) <= set(SCHEMA["properties"]):  # a fragment: added to the seed's first request
            parse_request({**json.loads(SEED.read_text()), **value})
        elif "statusQueryGetUri" in value:
            expected = {"id", "resourceId", "status", "outcome", "detail", "statusQueryGetUri", "terminatePostUri",
                        "retryPostUri"}  # fmt: skip
            return [] if set(value) == expected else [f"a 202 of POST /api/builds has {sorted(expected)}"]
        else:
            return [f"an example of nothing known (keys {sorted(value)[:5]}); teach check_json what it is"]
    except RequestInvalid as invalid:
        return [str(problem) for problem in invalid.problems]
    except TemplatesInvalid as invalid:
        return [str(problem) for problem in invalid.problems]
    return []


@pytest.mark.parametrize("path", PAGES, ids=IDS)
def test_every_json_example_is_valid(path: Path):
    problems = [p for body in doc.blocks(doc.read(path), "json") for p in check_json(body)]
    assert problems == []


def test_the_readme_request_is_the_example_file():
    (request,) = doc.blocks(doc.read(PROJECT_ROOT / "README.md"), "json")
    assert json.loads(request) == json.loads(SEED.read_text())


# --- KQL ---------------------------------------------------------------------------------------------------


def test_the_queries_name_real_metrics_and_attributes():
    telemetry = " ".join(path.read_text(encoding="utf-8") for path in (PROJECT_ROOT / "core").rglob("*.py"))
    queries = " ".join(doc.blocks(doc.read(PROJECT_ROOT / "docs" / "operations.md"), "kusto"))
    tables = " ".join(row[1] for row in doc.table_rows(doc.read(PROJECT_ROOT / "docs" / "operations.md"))
                      if len(row) == 3)  # fmt: skip
    names = set(re.findall(r'name (?:==|in \() ?"([\w.]+)"', queries + tables))
    names |= set(re.findall(r'"([\w.]+)"', " ".join(re.findall(r"name in \(([^)]*)\)", queries + tables))))
    dimensions = set(re.findall(r'customDimensions\["([\w.]+)"\]', queries))
    assert {"builds.completed", "messages.poisoned", "build.id"} <= names | dimensions
    assert [n for n in sorted(names | dimensions) if f'"{n}"' not in telemetry] == []


# --- the checks themselves -----------------------------------------------------------------------------------


def test_the_checks_catch_what_drifts():
    assert check_line("python -m core status ID --watch") == []
    assert check_line("python -m core status ID --follow") != []
    assert check_line("python -m core audit [--json] [--gallery ID ...]") == []
    assert check_line("make demo") == [] and check_line("make docs") != []
    assert check_line("azd env set NO_SUCH_VARIABLE x") != []
    assert check_line('curl -s -X POST "https://x/api/builds?code=<key>"') == []
    assert check_line('curl -s -X POST "https://x/api/build"') != []
    assert check_line("export POLL_MAX_SECONDS=1") == [] and check_line("export POLL_MAXIMUM=1") != []
    assert check_line("rm -rf /") != []
    assert check_json('{"subscriptionId": "x", "source": {}}') != []
    assert check_json('{"verification": {"regions": []}}') != []
