"""Dock reallocation (optimize.docks and the bikes policy lever): the steepest descent reaches the
exhaustive optimum on small instances, never does worse than today's docks, keeps the dock total,
repeats itself, and bad dock levers are reported with file, line and key (exit 2)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import simcity
from optimize.budget import Budget
from optimize.docks import (
    DockPlan,
    DockProblem,
    ProblemError,
    TabulatedCost,
    check_allocation,
    solve,
)
from simcity.bikes import DOMAIN, City, Policy, simulate
from simcity.bikes.demand import build_demand
from simcity.bikes.dissatisfaction import allocate, dissatisfaction
from simcity.bikes.docks import DissatisfactionCost, dock_bounds, reallocate
from simcity.bikes.network import build_network
from simcity.domain import RunContext
from simcity.rng import Streams

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CMAX = 7


def _table(seed: int, n: int) -> list[list[np.ndarray]]:
    """Raviv-Kolka costs of ``n`` stations with random hourly rates, for 0..CMAX docks."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(1.0, 1.0, (24, n)) * rng.uniform(0.3, 3.0, n)
    mu = rng.gamma(1.0, 1.0, (24, n)) * rng.uniform(0.3, 3.0, n)
    table = []
    for i in range(n):
        caps = np.arange(CMAX + 1)
        F = dissatisfaction(np.repeat(lam[:, [i]], CMAX + 1, axis=1), np.repeat(mu[:, [i]], CMAX + 1, axis=1),
                            caps, 6.0, 24.0)
        table.append([F[c, : c + 1] for c in caps])
    return table


def _exhaustive(table: list[list[np.ndarray]], today: list[int], lower: list[int], upper: list[int],
                bikes: int, moves: int | None) -> float:
    """Best total cost over every dock vector with today's total (and at most ``moves`` docks
    relocated), each with its best bikes by an exact min-plus convolution over the stations."""
    best = np.inf
    for C in itertools.product(*[range(a, b + 1) for a, b in zip(lower, upper, strict=True)]):
        if sum(C) != sum(today):
            continue
        if moves is not None and sum(max(t - c, 0) for t, c in zip(today, C, strict=True)) > moves:
            continue
        acc = np.array([0.0])  # acc[b] = best cost of the stations so far holding b bikes
        for i, c in enumerate(C):
            f = table[i][c]
            nxt = np.full(len(acc) + c, np.inf)
            for s in range(c + 1):
                nxt[s: s + len(acc)] = np.minimum(nxt[s: s + len(acc)], acc + f[s])
            acc = nxt
        if bikes < len(acc):
            best = min(best, float(acc[bikes]))
    return best


CASES = [(seed, n) for seed in range(12) for n in (2, 3, 4)]


@pytest.mark.parametrize("seed, n", CASES)
def test_descent_equals_the_exhaustive_optimum(seed: int, n: int) -> None:
    """The cost of a birth-death station is multimodular in (empty docks, docks with a bike)
    (Freund, Henderson & Shmoys, IPCO 2017 / Operations Research 2022), which makes dock
    allocation an M-convex minimisation (Shioura, Mathematics of Operations Research 2022):
    a point no exchange improves is a global optimum, and the steepest descent from today's
    docks stopped after k moves is optimal among allocations at most k moves away.  So on every
    instance small enough to enumerate (2-4 stations, up to 7 docks each, closures included)
    the descent's cost must equal the enumerated optimum, with and without a budget."""
    rng = np.random.default_rng(1000 + seed)
    table = _table(seed, n)
    today = rng.integers(1, 5, n)
    lower = np.zeros(n, dtype=np.int64)
    upper = np.full(n, CMAX, dtype=np.int64)
    if n > 2 and seed % 3 == 0:
        upper[0] = 0  # close station 0: its docks must move
    bikes = int(rng.integers(0, today.sum() + 1))
    problem = DockProblem(today, lower, upper, bikes, TabulatedCost(table))
    for moves in (None, 1, 2, 3):
        if moves is not None and moves < problem.forced_moves:
            continue
        plan = solve(problem, None if moves is None else Budget.work(moves))
        check = check_allocation(problem, plan, moves)
        assert check.ok, check.violations
        best = _exhaustive(table, today.tolist(), lower.tolist(), upper.tolist(), bikes, moves)
        assert plan.objective == pytest.approx(best, rel=1e-9, abs=1e-9), (moves, plan.docks, plan.bikes)


def _district() -> tuple[City, Policy]:
    sc = simcity.load_scenario(SCENARIOS / "bikes_suzhou_district.toml")
    city = sc.city  # type: ignore[attr-defined]
    small = city.model_copy(update={"synthetic": city.synthetic.model_copy(update={"stations": 60, "fleet": 1500}),
                                    "demand": city.demand.model_copy(update={"daily_trips": 2700.0})})
    pol = Policy.model_validate({"name": "r", "fleet_size": 1200, "overnight": "dissatisfaction", "vans": 2,
                                 "docks": "reallocated", "max_moves": 150})
    return City.model_validate(small.model_dump()), pol


def test_reallocation_never_raises_the_dissatisfaction_and_keeps_the_dock_total() -> None:
    """On a 60-station district after a fleet cut: the plan's Raviv-Kolka objective is at most
    today's docks with their best bikes, where "today's best" is computed independently by
    simcity's fleet-constrained ``allocate`` (exact for convex F, compared with brute force in
    test_bikes_theory); the independent checker accepts the plan (dock total kept, bounds,
    bikes add up to the fleet, objective recomputed); every move is counted."""
    city, pol = _district()
    net = build_network(city, pol.fleet_size)
    demand = build_demand(city, net)
    lam, mu = demand.rental_rates(), demand.return_rates()
    new, plan = reallocate(net, lam, mu, pol)
    F = dissatisfaction(lam, mu, net.capacity, pol.night_end_h, 24.0 + pol.night_start_h)
    today_best = allocate(F, net.capacity, net.fleet)
    today_cost = float(F[np.arange(net.n), today_best].sum())
    assert plan.initial_objective == pytest.approx(today_cost, rel=1e-9)
    assert plan.objective <= today_cost
    assert plan.objective < today_cost - 1e-6  # the instance does have an improving move
    assert int(new.capacity.sum()) == int(net.capacity.sum())
    assert int(new.stock.sum()) == net.fleet and (new.stock <= new.capacity).all()
    assert 0 < plan.moves <= pol.max_moves and plan.steps <= pol.max_moves
    lower, upper = dock_bounds(net.capacity, np.zeros(net.n, dtype=bool), pol)
    problem = DockProblem(net.capacity, lower, upper, net.fleet,
                          DissatisfactionCost(lam, mu, pol.night_end_h, 24.0 + pol.night_start_h, 1.0))
    assert check_allocation(problem, plan, pol.max_moves).ok


def test_more_moves_never_cost_more() -> None:
    """Allocations within k moves are among those within k + m, so the optimum (and the descent,
    which passes through the k-move plan on its way) can only improve with the budget."""
    table = _table(5, 4)
    problem = DockProblem(np.array([3, 1, 4, 2]), np.zeros(4, dtype=np.int64), np.full(4, CMAX), 5,
                          TabulatedCost(table))
    values = [solve(problem, Budget.work(k)).objective for k in (1, 2, 4, 8)]
    assert values == sorted(values, reverse=True)


def test_closing_a_station_moves_its_docks_and_bikes() -> None:
    """A closed station ends with 0 docks and 0 bikes; its docks are relocated (counted as moves)
    to open stations, so the total stays the same; a budget below the forced moves is refused."""
    table = _table(3, 3)
    problem = DockProblem(np.array([4, 2, 2]), np.zeros(3, dtype=np.int64), np.array([0, CMAX, CMAX]), 3,
                          TabulatedCost(table))
    plan = solve(problem, Budget.work(4))
    assert plan.docks[0] == 0 and plan.bikes[0] == 0 and int(plan.docks.sum()) == 8
    assert plan.moves == 4 and plan.steps == 4 and plan.stopped == "budget"
    with pytest.raises(ProblemError, match="4 docks must move"):
        solve(problem, Budget.work(3))


def test_checker_catches_each_violation() -> None:
    """The checker is not the solver: a plan edited to break one rule at a time is rejected
    with that rule named (dock total, bounds, bikes over docks, fleet, moves, objective)."""
    table = _table(2, 3)
    problem = DockProblem(np.array([3, 3, 2]), np.zeros(3, dtype=np.int64), np.array([5, 5, 5]), 4,
                          TabulatedCost(table))
    good = solve(problem)
    assert check_allocation(problem, good).ok

    def edited(**kw: object) -> DockPlan:
        base = {k: getattr(good, k) for k in ("docks", "bikes", "objective", "initial_objective", "moves",
                                               "steps", "stopped")}
        return DockPlan(**{**base, **kw})  # type: ignore[arg-type]

    cases = [
        (edited(docks=good.docks + np.array([1, 0, 0])), "dock total"),
        (edited(docks=np.array([6, 2, 0]), moves=int(np.maximum(problem.docks - [6, 2, 0], 0).sum())), "outside"),
        (edited(bikes=np.array([4, 0, 0]), docks=np.array([3, 3, 2]), moves=0), "bikes for"),
        (edited(bikes=good.bikes + np.array([1, 0, 0])), "the fleet is 4"),
        (edited(objective=good.objective + 1.0), "recomputed"),
    ]
    for plan, words in cases:
        rep = check_allocation(problem, plan)
        assert not rep.ok and any(words in v for v in rep.violations), (words, rep.violations)
    assert any("at most 0 allowed" in v for v in check_allocation(problem, good, 0).violations) or good.moves == 0


def _ctx(seed: int) -> RunContext:
    return RunContext(horizon_hours=30.0, warmup_hours=6.0, streams=Streams(seed, 0), replication=0)


def test_reallocated_runs_repeat_and_share_the_requests() -> None:
    """Same city, policy and seed: identical metrics (the plan is work-budgeted, no clock), and
    the reallocated policy sees the same requests as docks-as-today (common random numbers:
    the dock plan draws nothing)."""
    city, pol = _district()
    a = DOMAIN.run(city, pol, _ctx(7)).metrics
    b = DOMAIN.run(city, pol, _ctx(7)).metrics
    assert a == b
    today = pol.model_copy(update={"docks": "as_today", "max_moves": 0})
    c = DOMAIN.run(city, today, _ctx(7)).metrics
    assert a["trip_requests"] == c["trip_requests"]
    r = simulate(city, pol, _ctx(7),
                 check_every_h=1.0)
    assert int(r.capacity.sum()) == int(build_network(city).capacity.sum())
    fleet = r.result.fleet
    assert all(st + ride + van == fleet and over == 0 for _, st, ride, van, over in r.result.bike_checks)


def test_closed_station_is_left_out_of_the_station_shares() -> None:
    """A station closed by the policy has 0 docks: it is neither counted as empty nor as full
    (it is no station any more), its riders still rent by walking to a neighbour, and it has no
    by-station row."""
    city, pol = _district()
    sid = build_network(city).ids[0]
    closing = pol.model_copy(update={"close_stations": [sid]})
    out = DOMAIN.run(city, closing, _ctx(3))
    r = simulate(city, closing, _ctx(3))
    assert int(r.capacity[0]) == 0
    assert sid not in {e for e, _, _ in out.by_entity}
    assert 0.0 <= out.metrics["empty_share"] < 1.0 and 0.0 <= out.metrics["full_share"] < 1.0
    open_ = [lv for lv, c in zip(r.result.level_time, r.capacity.tolist(), strict=True) if c > 0]
    expect = sum(float(lv[0]) for lv in open_) / (len(open_) * r.result.measured_h)
    assert out.metrics["empty_share"] == pytest.approx(expect)


# ---- bad input --------------------------------------------------------------------------------

_POLICY = '''
[[policies]]
name = "realloc"
fleet_size = 5020
overnight = "dissatisfaction"
vans = 6
'''


def _write(tmp_path: Path, lines: str, city_extra: str = "") -> tuple[Path, str]:
    base = (SCENARIOS / "bikes_suzhou_district.toml").read_text()
    text = base + _POLICY + lines
    if city_extra:
        text = text.replace("[city.synthetic]", city_extra + "\n[city.synthetic]")
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    return bad, text


def _line(text: str, needle: str) -> int:
    return text[: text.rindex(needle)].count("\n") + 1


@pytest.mark.parametrize("lines, key, words", [
    ('docks = "reallocated"\nmax_moves = 20000\n', "max_moves", "exceed the 16327 docks"),
    ('docks = "reallocated"\nmax_moves = 10\nclose_stations = ["s1", "s2"]\n', "close_stations",
     "more than max_moves = 10"),
    ('docks = "reallocated"\nmax_moves = 100\nclose_stations = ["s1", "nowhere"]\n', "close_stations.1",
     "unknown station 'nowhere'"),
    ('docks = "reallocated"\nmax_moves = 100\nclose_stations = ["s1", "s1"]\n', "close_stations.1",
     "listed twice"),
    ('docks = "reallocated"\n', "docks", "needs max_moves > 0"),
    ('close_stations = ["s1"]\n', "close_stations", "needs docks = 'reallocated'"),
    ('docks = "reallocated"\nmax_moves = 10\nmax_dock_change = 0\n', "max_dock_change", "greater than or equal to 1"),
    ('docks = "reallocated"\nmax_moves = -3\n', "max_moves", "greater than or equal to 0"),
    ('docks = "moved"\nmax_moves = 3\n', "docks", "as_today"),
])
def test_bad_dock_levers_are_located(tmp_path: Path, lines: str, key: str, words: str) -> None:
    """Each bad dock lever is reported at its own line of the last policy, with the dotted key."""
    bad, text = _write(tmp_path, lines)
    with pytest.raises(simcity.ScenarioError) as err:
        simcity.load_scenario(bad)
    msg = str(err.value)
    first = key.split(".")[0]
    assert f"bad.toml:{_line(text, first + ' =')}: policies.6.{key}:" in msg, msg
    assert words in msg, msg


def test_station_with_zero_docks_receiving_bikes_is_located(tmp_path: Path) -> None:
    """A station may have 0 docks today (a site a reallocation may equip), but then no bikes:
    the error names the station's bikes key and line."""
    extra = '[[city.stations]]\nid = "site"\nx = 10.0\ny = 10.0\ncapacity = 0\nbikes = 3\n'
    bad, text = _write(tmp_path, 'docks = "reallocated"\nmax_moves = 10\n', extra)
    with pytest.raises(simcity.ScenarioError) as err:
        simcity.load_scenario(bad)
    msg = str(err.value)
    assert f"bad.toml:{_line(text, 'bikes = 3')}: city.stations.0.bikes:" in msg, msg
    assert "3 bikes exceed its 0 docks" in msg
    ok = bad.read_text().replace("bikes = 3", "bikes = 0")
    bad.write_text(ok)
    sc = simcity.load_scenario(bad)
    assert sc.city.stations[0].capacity == 0  # type: ignore[attr-defined]


def test_bad_dock_lever_exits_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """From the command line: exit status 2 and a FILE:LINE: key: message, no traceback."""
    from simcity import cli

    bad, text = _write(tmp_path, 'docks = "reallocated"\nmax_moves = 10\nclose_stations = ["s1", "s2"]\n')
    assert cli.main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"bad.toml:{_line(text, 'close_stations =')}: policies.6.close_stations:" in err
    assert "Traceback" not in err


def test_start_stock_keeps_each_stations_bikes_per_dock() -> None:
    """Runs with reallocated docks start from today's fills, not from the optimiser's ideal
    stocks (a head start vans cannot restore would be credited to the docks).  Hand-computed:
    today 10 and 10 docks holding 8 and 2 bikes (fills 0.8, 0.2), new docks 5 and 15: weights
    4 and 3, shares 5.71 and 4.29 of 10 bikes; station 0 holds at most 5, the rest goes to 1."""
    from simcity.bikes.docks import start_stock

    out = start_stock(np.array([10, 10]), np.array([8, 2]), np.array([5, 15]))
    assert out.tolist() == [5, 5]
    # a station without docks today gets the average fill; a closed one gets nothing
    out = start_stock(np.array([10, 0, 10]), np.array([5, 0, 5]), np.array([0, 10, 10]))
    assert out.tolist() == [0, 5, 5]


def _random_dock_problem(seed: int, n: int, closures: int) -> tuple[DockProblem, DissatisfactionCost]:
    """``n`` stations with random hourly rates and 5-30 docks, each free to change by up to 6
    docks (``closures`` of them closed), the real Raviv-Kolka oracle, a fleet of ~40 % of docks."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.8, 1.0, (24, n)) * rng.uniform(0.2, 6.0, n)
    mu = rng.gamma(0.8, 1.0, (24, n)) * rng.uniform(0.2, 6.0, n)
    today = rng.integers(5, 31, n)
    lower = np.maximum(today - 6, 0)
    upper = today + 6
    lower[:closures] = 0
    upper[:closures] = 0
    cost = DissatisfactionCost(lam, mu, 6.0, 24.0, 1.5)
    return DockProblem(today, lower, upper, int(0.4 * today.sum()), cost), cost


class _Counting:
    """A cost oracle that counts the arrays it is asked for."""

    def __init__(self, inner: DissatisfactionCost) -> None:
        self.inner = inner
        self.pairs = 0

    def __call__(self, stations: np.ndarray, docks: np.ndarray) -> list[np.ndarray]:
        self.pairs += len(stations)
        return list(self.inner(stations, docks))


@pytest.mark.parametrize("seed, n, closures, moves", [(1, 80, 0, 40), (2, 70, 2, 60), (3, 90, 0, None),
                                                       (4, 64, 1, 25)])
def test_near_fetching_returns_the_plan_of_the_band_fetching(seed: int, n: int, closures: int,
                                                             moves: int | None) -> None:
    """The descent asks the oracle for few arrays at a time ("near": the counts a move can reach)
    instead of every count of the ~n/10 + 32 most promising stations of each kind ("band", the
    former strategy).  Batching must never change the plan: on random instances large enough
    that "band" does not cover every station, both give the same docks, bikes, objective (to
    the bit) and steps, while "near" asks for fewer arrays."""
    problem, cost = _random_dock_problem(seed, n, closures)
    plans, asked = {}, {}
    for fetching in ("near", "band"):
        counting = _Counting(cost)
        p = DockProblem(problem.docks, problem.lower, problem.upper, problem.bikes, counting)
        plans[fetching] = solve(p, None if moves is None else Budget.work(moves), fetching=fetching)
        asked[fetching] = counting.pairs
        assert check_allocation(p, plans[fetching], moves).ok
    near, band = plans["near"], plans["band"]
    assert near.steps > 0
    assert np.array_equal(near.docks, band.docks) and np.array_equal(near.bikes, band.bikes)
    assert near.objective == band.objective and near.steps == band.steps and near.stopped == band.stopped
    assert asked["near"] < asked["band"]


def test_dissatisfaction_cost_depends_on_the_pair_only() -> None:
    """The solver caches each (station, docks) array, so the oracle's answer must not depend on
    the other pairs of a request: asked alone, in a shuffled subset or all together, every pair
    gets the same array to the bit - the one a single dissatisfaction() call for all stations
    gives.  (The Poisson terms follow the busiest station of a rate block; fixing them from all
    stations is what makes this hold: with a request's own stations they would vary.)"""
    problem, cost = _random_dock_problem(7, 60, 0)
    n = problem.n
    docks = np.asarray(problem.docks, dtype=np.int64)
    st = np.concatenate([np.arange(n), np.arange(n)])
    dk = np.concatenate([docks, docks + 3])
    together = cost(st, dk)
    whole = dissatisfaction(cost.lam, cost.mu, docks, 6.0, 24.0, 1.5)
    rng = np.random.default_rng(0)
    for k in range(2 * n):
        assert together[k].tobytes() == cost(st[k: k + 1], dk[k: k + 1])[0].tobytes()
        if k < n:
            assert together[k].tobytes() == whole[k, : docks[k] + 1].tobytes()
    for _ in range(5):
        pick = rng.permutation(2 * n)[: int(rng.integers(1, 2 * n))]
        for k, a in zip(pick.tolist(), cost(st[pick], dk[pick]), strict=True):
            assert a.tobytes() == together[k].tobytes()
