"""No import cycles in the core or the in-repo plugins, read from their source.

The graph has an edge ``a -> b`` when module ``a`` imports module ``b``:
``import b``, ``from b import name``, or ``from pkg import b`` where ``b`` is a
submodule of ``pkg`` (then the edge goes to the submodule, not the package).
Relative imports are resolved against ``a``'s package. Imports under ``if
TYPE_CHECKING:`` are left out: they never run. The implicit import of a parent
package (``import a.b.c`` runs ``a/b/__init__.py``) is left out too, as the
usual re-exporting ``__init__`` would otherwise make every package a cycle.

Two graphs are checked: the imports Python runs when a module is imported
(module level, including those under ``try``, ``if`` and ``with``), and the
same plus the imports inside functions and methods. A cycle that an import
moved into a function keeps from failing at import time is still a cycle of the
design, so the second graph must be free of them as well.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES: Mapping[str, Path] = {
    "conceptlab": ROOT / "framework" / "conceptlab",
    "conceptlab_chess": ROOT / "plugins" / "chess" / "conceptlab_chess",
    "conceptlab_openspiel": ROOT / "plugins" / "openspiel" / "conceptlab_openspiel",
    "conceptlab_planted": ROOT / "plugins" / "planted" / "conceptlab_planted",
}

Graph = dict[str, set[str]]


def _modules(packages: Mapping[str, Path]) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` file under each package."""
    modules: dict[str, Path] = {}
    for package, root in packages.items():
        for path in sorted(root.rglob("*.py")):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(body: list[ast.stmt], in_functions: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of ``body`` that run, leaving out ``if TYPE_CHECKING:`` blocks."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _imports(node.body, in_functions)
            yield from _imports(node.orelse, in_functions)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _imports(block, in_functions)
        elif isinstance(node, (ast.With, ast.For, ast.While)):
            yield from _imports(node.body, in_functions)
        elif isinstance(node, ast.ClassDef):
            yield from _imports(node.body, in_functions)
        elif in_functions and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _imports(node.body, in_functions)


def import_graph(packages: Mapping[str, Path], *, in_functions: bool = False) -> Graph:
    """The import graph among the modules of ``packages`` (see the module docstring)."""
    modules = _modules(packages)
    graph: Graph = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree.body, in_functions):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(filter(None, [*anchor, base]))
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycles(graph: Graph) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module, as a closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iteratively
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_closed_path(graph, component) for component in components]


def _closed_path(graph: Graph, component: set[str]) -> list[str]:
    """A shortest cycle through the first module (by name) of a strongly connected component."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for succ in sorted(graph[node] & component):
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if succ not in parents:
                    parents[succ] = node
                    following.append(succ)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")


def _describe(cycles: list[list[str]]) -> str:
    return "import cycles:\n" + "\n".join("  " + " -> ".join(cycle) for cycle in cycles)


def test_the_graph_sees_the_packages():
    graph = import_graph(PACKAGES)
    assert "conceptlab.pipeline" in graph["conceptlab.cli"] or "conceptlab.plugins" in graph["conceptlab.cli"]
    assert "conceptlab_openspiel.players" in graph["conceptlab_openspiel.domain"]
    assert "conceptlab.search.rollouts" in graph["conceptlab.search.puct"]


def test_no_import_cycles_at_module_level():
    cycles = find_cycles(import_graph(PACKAGES))
    assert not cycles, _describe(cycles)


def test_no_import_cycles_counting_imports_inside_functions():
    cycles = find_cycles(import_graph(PACKAGES, in_functions=True))
    assert not cycles, _describe(cycles)


def _write(root: Path, files: Mapping[str, str]) -> None:
    for name, code in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code))


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # from-import of a submodule, back through a package-level name
            {"__init__.py": "", "a.py": "from pkg import b\n", "b.py": "from pkg.c import f\n",
             "c.py": "import pkg.a\ndef f(): pass\n"},
            ["pkg.a", "pkg.b", "pkg.c", "pkg.a"],
        ),
        (  # relative imports
            {"__init__.py": "", "a.py": "from .sub import x\n", "sub/__init__.py": "from ..a import y\nx = 1\n"},
            ["pkg.a", "pkg.sub", "pkg.a"],
        ),
        (  # under try/except at module level
            {"__init__.py": "", "a.py": "try:\n    import pkg.b\nexcept ImportError:\n    pass\n",
             "b.py": "import pkg.a\n"},
            ["pkg.a", "pkg.b", "pkg.a"],
        ),
    ],
)
def test_a_planted_cycle_is_found_and_named(tmp_path, files, expected):
    _write(tmp_path / "pkg", files)
    cycles = find_cycles(import_graph({"pkg": tmp_path / "pkg"}))
    assert cycles == [expected]
    assert " -> ".join(expected) in _describe(cycles)


def test_type_checking_imports_are_left_out_and_function_imports_count_only_when_asked(tmp_path):
    _write(tmp_path / "pkg", {
        "__init__.py": "",
        "a.py": "from typing import TYPE_CHECKING\nimport pkg.b\nif TYPE_CHECKING:\n    import pkg.c\n",
        "b.py": "def later():\n    import pkg.a\n",
        "c.py": "import pkg.a\n",
    })
    assert find_cycles(import_graph({"pkg": tmp_path / "pkg"})) == []
    assert find_cycles(import_graph({"pkg": tmp_path / "pkg"}, in_functions=True)) == [
        ["pkg.a", "pkg.b", "pkg.a"]
    ]
