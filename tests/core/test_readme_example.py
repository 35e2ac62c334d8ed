"""The README's Python API example runs as printed, and runs again (issue 21 item 7): the second
run replaces its own results folder (``overwrite=True``) instead of failing after the simulation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def readme_api_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Python API"):]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no Python block under '### Python API'"
    return match.group(1)


def test_readme_api_example_runs_twice(tmp_path: Path) -> None:
    """The README's Python block, run as a script twice from a folder holding only scenarios/: both
    runs succeed, print the summary and write the report, the second replaces the first results
    folder (overwrite=True) with byte-identical replications (same scenario and seed), with 5
    replications per summary row and nothing moved aside left behind."""
    code = readme_api_example()
    assert "simcity.save(" in code and "overwrite=True" in code
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")  # the example's paths are relative to the clone
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    tables = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        out = tmp_path / "results" / "my-run"
        assert (out / "report.html").is_file() and "policy" in proc.stdout  # print(res.summary)
        tables.append((out / "replications.csv").read_bytes())
    assert tables[0] == tables[1]  # same scenario and seed: the same table
    summary = pd.read_csv(tmp_path / "results" / "my-run" / "summary.csv")
    assert summary["n"].eq(5).all()
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["my-run"]  # nothing left aside
