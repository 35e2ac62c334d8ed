"""Shared fixtures: the toy domain, the benchmark-instance folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simcity import domains

from . import toydomain  # noqa: F401  (tests is a package only for this import)

domains.register(toydomain.DOMAIN)
domains.register(toydomain.ISHIGAMI)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _roads_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Street-network matrices computed by the tests are cached in the session's temporary
    folder, not in the user's ``~/.cache/simcity`` (simcity.roads.matrices.default_cache_dir)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SIMCITY_CACHE_DIR", str(tmp_path_factory.mktemp("simcity-cache")))
        yield
INSTANCES = ROOT.parent / "shared" / "instances"


@pytest.fixture
def instances_dir() -> Path:
    """``../shared/instances``; the test is skipped when the folder is absent (a user's fresh clone)."""
    if not INSTANCES.is_dir():
        pytest.skip(f"benchmark instances not found at {INSTANCES} (CI provides ../shared beside the repo)")
    return INSTANCES


@pytest.fixture
def toy_file(tmp_path: Path) -> Path:
    p = tmp_path / "toy.toml"
    p.write_text(toydomain.TOY_TOML, encoding="utf-8")
    return p
