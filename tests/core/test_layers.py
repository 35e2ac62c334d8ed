"""The package reads one way: every import goes down the layers, never up, and never in a circle.

The layers (README, "Architecture"), lowest first:

0. contract and randomness - what every layer may use (``domain``, ``rng``, ``stats``, files);
1. the models (the three domains and the domain registry);
2. configuration (the scenario schema with the sweep and selection specs);
3. running (tasks, store, backends, the orchestrator);
4. analysis (sweep and selection procedures, no HTML);
5. output (plots, maps, tables on disk, report pages);
6. the interfaces (CLI commands, benchmarks).

The walk reads every ``import`` statement of every module with :mod:`ast` - at top level and
inside functions - so an import moved into a function to dodge a cycle is still seen.  Imports
under ``if TYPE_CHECKING:`` never run and are skipped.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAYERS: dict[str, int] = {
    "simcity": 0, "simcity.rng": 0, "simcity.domain": 0, "simcity.fileio": 0, "simcity.tomlpos": 0,
    "simcity.stats": 0, "simcity.geodata": 0, "simcity.meta": 0, "simcity.testing": 0, "simcity.roads": 0,
    "simcity.garbage": 1, "simcity.parking": 1, "simcity.bikes": 1, "simcity.domains": 1,
    "simcity.plugins": 1,
    "simcity.specs": 2, "simcity.scenario": 2,
    "simcity.tasks": 3, "simcity.store": 3, "simcity.backends": 3, "simcity.experiment": 3,
    "simcity.sweep": 4, "simcity.selection": 4, "simcity.warmup": 4, "simcity.precision": 4,
    "simcity.gsa": 4,
    "simcity.plots": 5, "simcity.output": 5, "simcity.maps": 5, "simcity.report": 5,
    "simcity.sweep_report": 5, "simcity.selection_report": 5, "simcity.warmup_report": 5,
    "simcity.commands": 6, "simcity.run_commands": 6, "simcity.cli": 6, "simcity.__main__": 6, "simcity.bench": 6,
}


def _modules(package: str) -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules("simcity")


def layer_of(module: str) -> int:
    """The layer of ``module``: that of the longest registered prefix."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in LAYERS and (n > 1 or module == "simcity"):
            return LAYERS[key]
    raise KeyError(module)


def _skipped(tree: ast.Module) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, ast.stmt]]:
    """(imported module of the package, statement) for every runtime import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _skipped(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                if target in known:
                    yield target, node


def graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports at run time."""
    return {m: {t for t, _ in imports(m, p, modules) if t != m} for m, p in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        x = stack.pop()
                        on.discard(x)
                        comp.append(x)
                        if x == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
            elif w not in index:
                index[w] = low[w] = counter
                counter += 1
                stack.append(w)
                on.add(w)
                work.append((w, iter(sorted(edges.get(w, ())))))
            elif w in on:
                low[v] = min(low[v], index[w])
    return found


OPT_MODULES = _modules("optimize")


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    """The checks below pass only if this finder works: a -> b -> c -> a is one cycle, d is not in it."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_every_module_has_a_layer() -> None:
    """A new module must be placed in a layer (here and in the README) before it can be imported."""
    missing = []
    for m in MODULES:
        try:
            layer_of(m)
        except KeyError:
            missing.append(m)
    assert not missing, f"modules without a layer in LAYERS: {missing}"


def test_no_import_cycle_in_simcity() -> None:
    """No set of modules imports itself round, counting imports inside functions."""
    assert cycles(graph(MODULES)) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module: str) -> None:
    """A module imports only from its own layer or below (e.g. the report never from the CLI,
    the scenario schema never from the procedures that run it)."""
    own = layer_of(module)
    up = sorted({f"{t} (layer {layer_of(t)})" for t, _ in imports(module, MODULES[module], MODULES)
                 if layer_of(t) > own})
    assert not up, f"{module} (layer {own}) imports upward: {up}"


def test_no_import_cycle_in_optimize() -> None:
    """The optimisers read one way too: no cycle among ``optimize``'s modules."""
    assert cycles(graph(OPT_MODULES)) == []


@pytest.mark.parametrize("package", ["simcity", "optimize"])
def test_imports_inside_functions_are_only_commented_optional_extras(package: str) -> None:
    """Every import inside a function is a deliberate lazy import of an optional dependency and
    says so in a comment on its line or the line above (today: the Dask backend)."""
    bad = []
    for m, path in (MODULES if package == "simcity" else OPT_MODULES).items():
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    here = lines[node.lineno - 1] + " " + lines[node.lineno - 2]
                    if "optional" not in here:
                        bad.append(f"{m}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, "imports inside functions without an 'optional' comment:\n" + "\n".join(bad)


def test_optimize_never_imports_simcity() -> None:
    """The optimisers are a library below the simulations: ``optimize`` never imports ``simcity``."""
    found = []
    for path in sorted((ROOT / "optimize").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "simcity"]
    assert not found


def test_loading_a_scenario_does_not_import_the_procedures() -> None:
    """Configuration sits below running and output: importing the scenario schema in a fresh
    interpreter loads no backend, experiment, sweep, selection or report module."""
    import subprocess
    import sys

    code = ("import sys, simcity.scenario; "
            "print(sorted(m for m in sys.modules if m.startswith('simcity.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = set(ast.literal_eval(out.stdout.strip()))
    assert not loaded & {"simcity.backends", "simcity.experiment", "simcity.sweep", "simcity.selection",
                         "simcity.report", "simcity.output", "simcity.store"}, loaded
