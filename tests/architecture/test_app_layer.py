"""The doors (core/entry) reach the builds through the application layer (core/app) only, and the
application layer never imports a door."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / "core" / folder).rglob("*.py"))


def _imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_application_layer_imports_no_door():
    offending = [f"{path.relative_to(ROOT)} imports {name}" for path in _modules("app")
                 for name in _imported(ast.parse(path.read_text(encoding="utf-8")))
                 if name == "core.entry" or name.startswith("core.entry.")]
    assert offending == []


def test_no_door_calls_the_runner_or_the_build_store():
    """`runtime.runner` and `runtime.store` are used in core/app alone, so an engine change is adapted there."""
    offending = [f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}"
                 for path in [*_modules("entry"), ROOT / "function_app.py"]
                 for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(node, ast.Attribute) and node.attr in ("runner", "store")]
    assert offending == []
