"""The package's shape, checked from its source: no import cycle (deferred imports included), no import of
another module's private name, no oversized module, a light command line, every subpackage installed.

The checks read the files with :mod:`ast` (nothing is imported), except the command-line one, which runs the
commands in a fresh interpreter and looks at what they left in ``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
"""The repository root, which is the package ``afforest``."""
PACKAGE = "afforest"
SKIPPED_FOLDERS = frozenset({"output", "build", "dist", "__pycache__", "afforest.egg-info", "node_modules"})
"""Folders under the root that hold no source of the project (outputs, build trees, caches)."""
EXTRA_SOURCE_FOLDERS = ("tests", "bench")
"""Folders outside the package whose files are held to the private-name rule too."""
MAX_MODULE_LINES = 900
"""A source module longer than this is split by responsibility (the architecture issue's bound)."""
HEAVY_MODULES = ("pyomo", "dask", "rasterio", "xarray", "matplotlib")
"""Solver, raster and plotting stacks that the light commands must not import."""
LIGHT_COMMANDS: tuple[tuple[str, ...], ...] = (("--help",), ("scenarios",), ("steady-state",))
"""Commands that answer at once: they may use pandas, numpy, pydantic and scipy, nothing heavier."""
STARTUP_TIMEOUT_S = 120


# ------------------------------------------------------------------------------------------ the source


def _skipped(path: Path) -> bool:
    parts = path.relative_to(ROOT).parts[:-1]
    return any(part.startswith(".") or part in SKIPPED_FOLDERS for part in parts)


def package_folders() -> list[Path]:
    """Folders of the package: the root and every folder below it with an ``__init__.py`` in it and in each
    folder between it and the root."""
    found = [ROOT]
    for init in sorted(ROOT.rglob("__init__.py")):
        folder = init.parent
        if folder == ROOT or _skipped(init):
            continue
        between = [ROOT / parent for parent in folder.relative_to(ROOT).parents if parent != Path(".")]
        if all((above / "__init__.py").exists() for above in between):
            found.append(folder)
    return found


def module_name(path: Path) -> str:
    """Dotted name of a package file (``model/suitability/grid.py`` -> ``afforest.model.suitability.grid``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {module_name(path): path for folder in package_folders() for path in sorted(folder.glob("*.py"))}


def checked_files() -> list[Path]:
    """The package's modules and the files of ``tests/`` and ``bench/``."""
    files = list(package_modules().values())
    for extra in EXTRA_SOURCE_FOLDERS:
        files += [path for path in sorted((ROOT / extra).rglob("*.py")) if not _skipped(path)]
    return files


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _base(importer: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module of a ``from ... import`` (relative imports resolved against ``importer``)."""
    if not node.level:
        return node.module or ""
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


# ------------------------------------------------------------------------------------------- (a) cycles


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Edges importer -> imported module of the package, from every import statement anywhere in a file (inside
    functions and ``if TYPE_CHECKING:`` blocks too). ``from P import x`` counts as an import of ``P.x`` when that is
    a module, else of ``P``; importing ``a.b.c`` is an edge to ``a.b.c`` only (its parents run first, but a child
    importing a sibling while its package initialises is not a cycle of the code)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(_parse(path)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _base(name, path, node)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            graph[name].update(target for target in targets if target in modules and target != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _cycle_path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One closed path through a component, for the message (a -> b -> ... -> a)."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    while True:
        nxt = sorted(graph[path[-1]] & members)
        back = [t for t in nxt if t == start]
        if back and len(path) > 1:
            return [*path, start]
        fresh = [t for t in nxt if t not in seen]
        if not fresh:
            return [*path, *(back or nxt[:1])]
        path.append(fresh[0])
        seen.add(fresh[0])


# ------------------------------------------------------------------------------------- (b) private names


@dataclass(frozen=True)
class PrivateUse:
    """One use of another module's private name."""

    file: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}: {self.what}"


PATCHERS = frozenset({"setattr", "delattr", "patch", "object"})
"""Calls whose first arguments name an attribute to replace: ``monkeypatch.setattr``, ``mock.patch(.object)``."""


def private_uses(path: Path, modules: dict[str, Path]) -> list[PrivateUse]:
    """Imports of ``from afforest.X import _name``, attribute uses ``X._name`` of a module bound to a name, and
    monkeypatch/mock targets naming a private attribute of a package module, in one file."""
    own = module_name(path) if path.suffix == ".py" and path in modules.values() else None
    tree = _parse(path)
    found: list[PrivateUse] = []
    aliases: dict[str, str] = {}  # local name -> package module it is bound to

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        aliases[PACKAGE] = PACKAGE
                    if any(_is_private(part) for part in alias.name.split(".")):
                        found.append(PrivateUse(path, node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            base = _base(own, path, node) if own else (node.module or "")
            if not (base == PACKAGE or base.startswith(PACKAGE + ".")) or base == own:
                continue
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in modules:
                    aliases[alias.asname or alias.name] = target
                if _is_private(alias.name) or any(_is_private(part) for part in base.split(".")):
                    found.append(PrivateUse(path, node.lineno, f"from {base} import {alias.name}"))

    def resolve(expr: ast.expr) -> tuple[str, list[str]] | None:
        """(module, remaining attribute names) of an attribute chain rooted at a name bound to a module."""
        chain: list[str] = []
        while isinstance(expr, ast.Attribute):
            chain.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name) or expr.id not in aliases:
            return None
        module, rest = aliases[expr.id], list(reversed(chain))
        while rest and f"{module}.{rest[0]}" in modules:
            module = f"{module}.{rest.pop(0)}"
        return module, rest

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not isinstance(getattr(node, "ctx", None), ast.Del):
            resolved = resolve(node)
            if resolved and len(resolved[1]) == 1 and _is_private(resolved[1][0]) and resolved[0] != own:
                found.append(PrivateUse(path, node.lineno, f"{resolved[0]}.{resolved[1][0]}"))
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            args = node.args
            if name not in PATCHERS and name != "getattr" or not args:
                continue
            first = args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith(PACKAGE + "."):
                parts = first.value.split(".")
                if any(_is_private(part) for part in parts):
                    found.append(PrivateUse(path, node.lineno, f"{name}({first.value!r})"))
            elif len(args) > 1 and isinstance(args[1], ast.Constant) and isinstance(args[1].value, str):
                target = resolve(first) if isinstance(first, (ast.Name, ast.Attribute)) else None
                if target and not target[1] and _is_private(args[1].value) and target[0] != own:
                    found.append(PrivateUse(path, node.lineno, f"{name}({target[0]}, {args[1].value!r})"))
    return sorted(set(found), key=lambda use: (use.line, use.what))


# ---------------------------------------------------------------------------------------------- tests


@pytest.mark.unit
def test_the_import_graph_of_the_package_has_no_cycle():
    modules = package_modules()
    graph = import_graph(modules)
    found = cycles(graph)
    assert not found, "import cycles (deferred and TYPE_CHECKING imports included):\n" + "\n".join(
        f"  {' -> '.join(_cycle_path(graph, component))}  (modules: {', '.join(component)})" for component in found
    )


@pytest.mark.unit
def test_the_cycle_finder_finds_a_deferred_cycle(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert _cycle_path(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.unit
def test_the_import_graph_sees_deferred_type_checking_and_relative_imports(tmp_path):
    sources = {
        "afforest.a": "def f():\n    from afforest.b import g\n",
        "afforest.b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import afforest.c\n",
        "afforest.c": "from . import a\nimport numpy\n",
        "afforest.d": "from afforest import a as alias\n",
    }
    modules = {}
    for name, text in sources.items():
        modules[name] = tmp_path / f"{name.rpartition('.')[2]}.py"
        modules[name].write_text(text)
    graph = import_graph(modules)
    assert graph == {"afforest.a": {"afforest.b"}, "afforest.b": {"afforest.c"}, "afforest.c": {"afforest.a"},
                     "afforest.d": {"afforest.a"}}
    assert cycles(graph) == [["afforest.a", "afforest.b", "afforest.c"]]


@pytest.mark.unit
def test_no_module_imports_another_modules_private_name():
    modules = package_modules()
    found = [use for path in checked_files() for use in private_uses(path, modules)]
    assert not found, "private names used across modules (make them public where they cross):\n" + "\n".join(
        f"  {use}" for use in found
    )


@pytest.mark.unit
def test_the_private_name_scan_sees_each_form(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import afforest.chain.prepare\n"
        "from afforest.data import _hidden\n"
        "from afforest.model import esv as esv_model\n"
        "import afforest.model.esv as e\n"
        "def f(monkeypatch):\n"
        "    esv_model._private()\n"
        "    e._other\n"
        "    afforest.chain.prepare._write_tables\n"
        "    monkeypatch.setattr('afforest.cli.landuse._cmd_scenarios', None)\n"
        "    monkeypatch.setattr(e, '_x', None)\n"
        "    esv_model.public(afforest.__version__, e.SERVICES)\n"
        "    getattr(e, '_y')\n"
    )
    lines = [use.line for use in private_uses(probe, package_modules())]
    assert lines == [2, 6, 7, 8, 9, 10, 12]


@pytest.mark.unit
def test_no_source_module_is_over_the_line_bound():
    long = {
        str(path.relative_to(ROOT)): n
        for path in package_modules().values()
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by responsibility): {long}"


@pytest.mark.unit
def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {module_name(folder / "__init__.py") for folder in package_folders()}
    assert folders - listed == set(), f"folders with an __init__.py missing from pyproject's packages: {folders - listed}"
    assert listed - folders == set(), f"pyproject lists packages that are not folders of the package: {listed - folders}"


IMPORTED_PROBE = """
import contextlib, io, json, sys
from afforest.cli.main import main
argv = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code
heavy = json.loads(sys.argv[2])
print(json.dumps({"code": code, "loaded": sorted(m for m in heavy if m in sys.modules)}))
"""


@pytest.mark.parametrize("argv", LIGHT_COMMANDS, ids=" ".join)
def test_light_commands_import_no_solver_raster_or_plotting_stack(argv: tuple[str, ...]):
    run = subprocess.run(
        [sys.executable, "-c", IMPORTED_PROBE, json.dumps(list(argv)), json.dumps(HEAVY_MODULES)],
        capture_output=True, text=True, timeout=STARTUP_TIMEOUT_S, cwd=ROOT.parent,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, run.stderr
    assert report["loaded"] == [], f"afforest {' '.join(argv)} imported {report['loaded']}"


# ----------------------------------------------------------------------------------- plots and palette

PLOTTING_PACKAGE = "afforest.plots"
PALETTE_MODULE = "afforest.plots.palette"


def _imports_of(path: Path) -> set[str]:
    """Top-level names of every module a file imports (anywhere in it)."""
    found: set[str] = set()
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.unit
def test_only_the_plots_package_imports_matplotlib():
    outside = sorted(
        str(path.relative_to(ROOT))
        for name, path in package_modules().items()
        if not (name == PLOTTING_PACKAGE or name.startswith(PLOTTING_PACKAGE + ".")) and "matplotlib" in _imports_of(path)
    )
    assert not outside, f"modules outside plots/ that import matplotlib (move the drawing to plots/): {outside}"


@pytest.mark.unit
def test_the_palette_colours_are_written_only_in_the_palette():
    """One palette: a land type's colour written anywhere else could drift from the map or Fig. 2."""
    palette_path = package_modules()[PALETTE_MODULE]
    colours = {
        node.value.lower()
        for node in ast.walk(_parse(palette_path))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("#")
    }
    assert colours, "the palette defines no colour"
    copies = sorted(
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}"
        for path in package_modules().values()
        if path != palette_path
        for node in ast.walk(_parse(path))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in colours
    )
    assert not copies, "palette colours written outside plots/palette.py (import them instead):\n" + "\n".join(copies)
