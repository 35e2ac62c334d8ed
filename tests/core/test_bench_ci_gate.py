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
    monkeypatch.setattr(ci, "TIERS", {"fake": ci.Tier(("--quick", "--out", "{json}"), metric="ratio",
                                                      kind="ratio", noise=0.2, higher_is_better=True)})
    run = ci.run_tier("fake", ci.TIERS["fake"], tmp_path, tmp_path)
    assert run.status == "failed" and "rejected" in run.note
    ok, lines = ci.gate([run], [])
    assert not ok and lines[0].startswith("fake: FAILED")


def test_every_registered_benchmark_has_a_quick_tier() -> None:
    from simcity.bench import BENCHMARKS

    assert set(BENCHMARKS) - {"ci"} <= set(ci.TIERS)


def test_city_bench_counts_events_exactly_and_restores_simpy() -> None:
    import simpy

    from simcity.bench.citybench import bare_loop, counting_events

    original = simpy.core.Environment.step
    with counting_events() as counter:
        n = bare_loop(5000, processes=50)
    assert n == 50 * (5000 // 50)  # each process: start, its timeouts, end
    assert counter[0] == n + 1  # step() calls: every event, plus the last one finding no event
    assert simpy.core.Environment.step is original
    with pytest.raises(RuntimeError), counting_events():
        raise RuntimeError("the wrapper is removed even when the measured code fails")
    assert simpy.core.Environment.step is original
