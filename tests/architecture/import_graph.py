"""The import graph of `core/`, read from the code with grimp: circles, imports that run back up, sizes.

`python -m tests.architecture.import_graph` prints the figures; `test_layers.py` asserts them. The layers
are the import-linter contract in pyproject.toml (one list, read by both).
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 350


def layers() -> list[list[str]]:
    """The layers of `core`, top first; each a list of sibling packages (`a | b` in the contract)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    return [[name.strip() for name in layer.split("|")] for layer in contract["layers"]]


def _graph() -> grimp.ImportGraph:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return grimp.build_graph("core", cache_dir=None)


def _layer_of(module: str, ordered: list[list[str]]) -> tuple[int, str] | None:
    """(index of the layer, top first; the sibling package) of `module`; None for `core` itself."""
    for index, siblings in enumerate(ordered):
        for package in siblings:
            if module == package or module.startswith(package + "."):
                return index, package
    return None


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every set of modules that import each other round a circle (strongly connected, more than one)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative (no recursion limit)
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def upward_imports(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    """(importer, imported) of every import from a lower layer to a higher one, or between siblings."""
    ordered = layers()
    found = []
    for importer in sorted(graph.modules):
        mine = _layer_of(importer, ordered)
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            theirs = _layer_of(imported, ordered)
            if mine is None or theirs is None:
                continue
            if theirs[0] < mine[0] or (theirs[0] == mine[0] and theirs[1] != mine[1]):
                found.append((importer, imported))
    return found


def unlayered(graph: grimp.ImportGraph) -> list[str]:
    """Modules of `core` in no layer (a new package the contract does not place yet)."""
    ordered = layers()
    return sorted(m for m in graph.modules if m not in ("core", "core.__main__") and _layer_of(m, ordered) is None)


@dataclass(frozen=True)
class ModuleSize:
    module: str
    lines: int


def module_sizes() -> list[ModuleSize]:
    """Every module of `core` with its line count, largest first."""
    sizes = [ModuleSize(".".join(path.relative_to(ROOT).with_suffix("").parts), len(path.read_text().splitlines()))
             for path in (ROOT / "core").rglob("*.py")]
    return sorted(sizes, key=lambda size: -size.lines)


def main() -> int:
    graph = _graph()
    imports = sum(len(graph.find_modules_directly_imported_by(m)) for m in graph.modules)
    found_circles, ups, sizes = circles(graph), upward_imports(graph), module_sizes()
    print(f"modules: {len(graph.modules)}  imports: {imports}  circles: {len(found_circles)}  "
          f"imports running back up: {len(ups)}  modules in no layer: {len(unlayered(graph))}")
    for circle in found_circles:
        print("circle:", " -> ".join(circle))
    for importer, imported in ups:
        print(f"up: {importer} -> {imported}")
    over = [s for s in sizes if s.lines > MAX_MODULE_LINES]
    print("largest modules: " + ", ".join(f"{s.module} {s.lines}" for s in sizes[:5]))
    print(f"modules over {MAX_MODULE_LINES} lines: {len(over)}" + "".join(f"\n  {s.module} {s.lines}" for s in over))
    return 1 if found_circles or ups or over else 0


if __name__ == "__main__":
    raise SystemExit(main())
