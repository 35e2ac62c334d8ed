"""The CI benchmark gate: quick tiers run in-process, one JSON, paired comparison, exit status."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from simcity.bench import ci

FAKE = '''
import argparse, json, os
from simcity.bench.common import write_results

def add_arguments(p):
    p.add_argument("--speed", type=float, required=True)
    p.add_argument("--out", required=True)

def main(args):
    rows = [{"instance": "a", "ratio": args.speed}, {"instance": "b", "ratio": 2 * args.speed}]
    write_results(args.out, "fake", rows, {})
    return 0
'''


def fake_tier(speed: float) -> ci.Tier:
    return ci.Tier(("--speed", str(speed), "--out", "{json}"), metric="ratio", kind="ratio", noise=0.2,
                   higher_is_better=True)


@pytest.fixture
def fake_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A benchmark module 'fake' and an 'absent' one whose module does not exist."""
    (tmp_path / "fakebench_ci.py").write_text(FAKE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(ci, "_module_of", lambda name: "fakebench_ci" if name == "fake" else "nowhere_mod")
    monkeypatch.setattr(ci, "TIERS", {"fake": fake_tier(1.0), "absent": fake_tier(1.0)})


def _main(tmp_path: Path, *extra: str) -> int:
    p = argparse.ArgumentParser()
    ci.add_arguments(p)
    return ci.main(p.parse_args(["--out", str(tmp_path / "ci.json"), "--baseline", str(tmp_path / "base.json"),
                                 *extra]))


def test_gate_passes_within_noise_and_fails_on_regression(
        tmp_path: Path, fake_bench: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """With a fake benchmark whose ratios are (speed, 2 x speed): without a baseline the gate exits
    2; a saved baseline at speed 1 holds both rows and marks the missing module skipped; speed
    0.9 is a geometric-mean ratio of exactly 0.900, inside the 20% noise band (exit 0), and speed
    0.5 is outside it (exit 1, REGRESSION) with rows 0.5 and 1.0 written."""
    assert _main(tmp_path) == 2  # no baseline yet: a clear error
    assert "create it with --save-baseline" in capsys.readouterr().err
    assert _main(tmp_path, "--save-baseline") == 0
    base = json.loads((tmp_path / "base.json").read_text())
    assert [r["instance"] for r in base["rows"]] == ["fake/a", "fake/b"]
    assert base["summary"] == {} and base["settings"]["status"] == {"fake": "ok", "absent": "skipped"}

    def with_speed(v: float) -> None:
        monkeypatch.setitem(ci.TIERS, "fake", fake_tier(v))

    with_speed(0.9)  # 10% slower: inside the 20% band
    assert _main(tmp_path) == 0
    out = capsys.readouterr().out
    assert "geometric-mean ratio to baseline 0.900" in out and "absent: SKIPPED" in out
    with_speed(0.5)
    assert _main(tmp_path) == 1
    assert "CI benchmark gate: REGRESSION" in capsys.readouterr().out
    written = json.loads((tmp_path / "ci.json").read_text())
    assert [r["ratio"] for r in written["rows"]] == [0.5, 1.0]


def test_tier_with_outdated_options_fails_the_gate(tmp_path: Path, fake_bench: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A tier whose options the benchmark no longer accepts (--quick is not one of the fake's
    arguments) must fail the gate as FAILED with the rejection noted, not be silently skipped."""
    monkeypatch.setattr(ci, "TIERS", {"fake": ci.Tier(("--quick", "--out", "{json}"), metric="ratio",
                                                      kind="ratio", noise=0.2, higher_is_better=True)})
    run = ci.run_tier("fake", ci.TIERS["fake"], tmp_path, tmp_path)
    assert run.status == "failed" and "rejected" in run.note
    ok, lines = ci.gate([run], [])
    assert not ok and lines[0].startswith("fake: FAILED")


def test_every_registered_benchmark_has_a_quick_tier() -> None:
    """A benchmark added to BENCHMARKS without a CI tier would never be gated; every one except the
    gate itself must have a tier."""
    from simcity.bench import BENCHMARKS

    assert set(BENCHMARKS) - {"ci"} <= set(ci.TIERS)


def test_counting_environment_counts_every_event_without_touching_simpy() -> None:
    """The bare loop's event count is known analytically (a start, the timeouts and an end per
    process, plus the one ``step`` call that finds the schedule empty), so the counter must
    equal it exactly; and ``simpy.Environment.step`` stays SimPy's own (no patching)."""
    import simpy

    from simcity.bench.common import EventCounter, bare_loop

    original = simpy.Environment.step
    counter = EventCounter()
    n = bare_loop(5000, processes=50, environment=counter.environment)
    assert n == 50 * (5000 // 50)
    assert counter.events == n + 1
    assert simpy.Environment.step is original
    assert bare_loop(5000, processes=50) == n  # a plain environment is not counted
    assert counter.events == n + 1


def test_models_run_in_the_environment_the_context_gives() -> None:
    """All three domains make their SimPy environment through ``RunContext.environment``: a
    counting environment sees events from each of them (a model that built its own
    ``simpy.Environment()`` would leave the count at 0)."""
    from simcity.bench.citybench import bikes_day, garbage_day, parking_day
    from simcity.bench.common import EventCounter

    for day in (parking_day(True, 1), garbage_day(True, 1, 20), bikes_day(True, 1)):
        counter = EventCounter()
        day.run(counter)
        assert counter.events > 1000, day.name


def test_bench_runs_from_an_installed_copy_without_the_repository(tmp_path: Path) -> None:
    """Installed from a wheel there is no scenarios/ or benchmarks/ beside the package: the
    benchmarks take their files as arguments, say so when one is missing (exit 2, no
    traceback), and write results in the working folder."""
    import shutil
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    site = tmp_path / "site-packages"
    for pkg in ("simcity", "optimize"):
        shutil.copytree(repo / pkg, site / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}

    def bench(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "simcity", "bench", *argv], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)

    proc = bench("garbage")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "first argument" in proc.stderr
    proc = bench("bikes")
    assert proc.returncode == 2 and "--scenario FILE" in proc.stderr
    proc = bench("parking", "--parks", "20", "--sessions", "500", "--no-liangxi")
    assert proc.returncode == 0, proc.stderr
    assert "gate skipped" in proc.stdout
    rows = json.loads((work / "simcity-bench" / "parking.json").read_text())["rows"]
    assert rows[0]["instance"] == "suzhou-day" and rows[0]["sessions"] > 0
    proc = bench("bikes", "--scenario", str(repo / "scenarios" / "bikes_gusu_oldcity.toml"),
                 "--policies", "no-rebalancing", "--horizon", "2")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((work / "simcity-bench" / "bikes.json").read_text())["rows"][0]["trips_served"] > 0
