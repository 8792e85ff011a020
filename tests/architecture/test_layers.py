"""Every import in `core/` points down its layers (pyproject.toml's import-linter contract), with no circle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.architecture import import_graph


def test_core_has_no_import_circle():
    assert import_graph.circles(import_graph._graph()) == []


def test_no_import_in_core_runs_back_up_its_layers():
    assert import_graph.upward_imports(import_graph._graph()) == []


def test_every_module_of_core_is_in_a_layer():
    assert import_graph.unlayered(import_graph._graph()) == []


def test_import_linter_keeps_the_layers_contract():
    """The same contract as `lint-imports` checks it (the tool a developer runs)."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint_imports), "--no-cache"], cwd=import_graph.ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_the_graph_sees_an_import_that_runs_back_up():
    """The check can fail: a module of `core.base` that imports `core.builds` is reported."""
    graph = import_graph._graph()
    graph.add_import(importer="core.base.problems", imported="core.builds.state")
    assert ("core.base.problems", "core.builds.state") in import_graph.upward_imports(graph)
    graph = import_graph._graph()
    graph.add_import(importer="core.builds.state", imported="core.builds.decide")  # decide imports state
    assert any({"core.builds.decide", "core.builds.state"} <= set(circle) for circle in import_graph.circles(graph))


def test_no_module_of_core_is_over_the_size_limit():
    over = [size for size in import_graph.module_sizes() if size.lines > import_graph.MAX_MODULE_LINES]
    assert over == []
