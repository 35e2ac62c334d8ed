"""Every example in a docstring runs, in the default test command.

The modules are found by their ``>>>`` prompts, so a new example is tested as soon as it is
written; an example whose output changed fails here instead of misleading a reader.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _modules_with_examples() -> list[str]:
    names = []
    for pkg in ("simcity", "optimize"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if ">>> " in path.read_text(encoding="utf-8"):
                rel = path.relative_to(ROOT).with_suffix("")
                names.append(".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts))
    return names


MODULES = _modules_with_examples()


def test_the_examples_are_found() -> None:
    """The scan finds the examples known to exist (a broken scan would pass every module)."""
    assert {"optimize.berths", "simcity.rng", "simcity.scenario"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    """Each module with >>> examples runs them under doctest; it must run at least one (a module
    whose examples are skipped would pass vacuously) and none may fail."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             report=True, verbose=False)
    assert result.attempted > 0, f"{name}: no example ran"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
