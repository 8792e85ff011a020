"""What is deployed (``core/``, ``function_app.py``) never reaches the local stand-ins or the tests.

The local Functions host, the simulator, ``devstack/`` and ``tests/`` stay on a developer's machine; the
one exception is the ``worker`` verb of ``python -m core``, which imports the local host lazily.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ONLY = ("devstack", "simulator", "tests")
# (file, the enclosing function) of the one import allowed to reach the local host.
ALLOWED = {("core/entry/cli/operating_commands.py", "run_worker", "devstack.localworker")}


def _imports(path: Path) -> list[tuple[str, str]]:
    """(enclosing function or '', module) of every import in ``path``, at any depth."""
    found: list[tuple[str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Import):
                found.extend((function, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((function, child.module))
            visit(child, name)

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def _deployed_files() -> list[Path]:
    return [ROOT / "function_app.py", *sorted((ROOT / "core").rglob("*.py"))]


def test_deployed_code_imports_nothing_local():
    """No module of the app imports the local host, the simulator, devstack/ or a test helper."""
    offending = []
    for path in _deployed_files():
        relative = path.relative_to(ROOT).as_posix()
        for function, module in _imports(path):
            if module.split(".")[0] in LOCAL_ONLY and (relative, function, module) not in ALLOWED:
                offending.append(f"{relative}: {function or '<module>'} imports {module}")
    assert offending == []


def test_the_allowed_exception_is_still_there():
    """The worker verb's lazy import is the one listed (so the allowance cannot outlive its reason)."""
    assert ("run_worker", "devstack.localworker") in _imports(ROOT / "core" / "entry" / "cli" / "operating_commands.py")


def test_importing_every_module_loads_nothing_local():
    """At run time too: importing the app and every core module pulls in no local-only package."""
    modules = ["function_app"] + [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in sorted((ROOT / "core").rglob("*.py")) if path.name != "__main__.py"
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(LOCAL_ONLY)!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_worker_verb_without_the_local_host_says_so_in_one_line(tmp_path):
    """In a package holding only the app, `python -m core worker` explains itself and exits 2."""
    shutil.copytree(ROOT / "core", tmp_path / "core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "function_app.py", tmp_path)
    result = subprocess.run([sys.executable, "-m", "core", "worker"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "local Functions host" in lines[0] and "not in this package" in lines[0]
