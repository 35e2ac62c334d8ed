"""A script in the folder that contains the clone (a folder named ``simcity``) imports the real
package, not the clone's folder as an empty namespace package (issue 21 item 7).

The README's quick start installs with ``--config-settings editable_mode=compat`` for this:
the clone goes on Python's path, so the regular package inside it wins over the folder
beside the script.  The test builds that situation (a folder holding a link named
``simcity`` to this checkout) and imports from it in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _installed_here() -> bool:
    """Whether a fresh interpreter outside the checkout imports simcity from this checkout
    (the README's install); otherwise the test is about another installation and skips."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run([sys.executable, "-c", "import simcity; print(simcity.__file__)"], cwd="/",
                         env=env, capture_output=True, text=True, timeout=120)
    return res.returncode == 0 and res.stdout.strip() != "None" and \
        Path(res.stdout.strip()).resolve() == (ROOT / "simcity" / "__init__.py").resolve()


@pytest.mark.skipif(not _installed_here(), reason="simcity is not installed from this checkout")
def test_script_beside_a_clone_named_simcity_imports_the_package(tmp_path: Path) -> None:
    """From a folder whose ``simcity`` entry is this clone, ``import simcity`` gives the package
    with ``load_scenario`` and a real ``__file__`` inside the clone (with pip's default
    editable mode it gave a namespace package: ``__file__`` None, no ``load_scenario``)."""
    (tmp_path / "simcity").symlink_to(ROOT, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = "import simcity, sys; print(simcity.__file__); print(hasattr(simcity, 'load_scenario'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout.split()
    assert out[-1] == "True"
    assert Path(out[-2]).resolve() == (ROOT / "simcity" / "__init__.py").resolve()
