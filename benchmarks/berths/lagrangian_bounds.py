"""Lower bounds on DBAP instances from the time-indexed LP by column generation, with a longer budget.

The solver spends 20 % of its time limit on this bound (``SolverOptions.lagrangian_share``,
``optimize.berths.colgen``); this script gives it more, to settle whether a target
objective is reachable at all:

    python benchmarks/berths/lagrangian_bounds.py ../shared/instances/bap/kramer2019/f200x15-01.txt \
        --time-limit 90 --upper-bound 12741 --target 12342.6

prints, per file, the mean-busy-time bound, the column-generation bound (the best
Lagrangian value, rounded up: the kramer2019 objectives are integers), the restricted
master's last value (the LP value lies between the two) and, with ``--target``, whether
the bound proves the target out of reach.  Exit status 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from optimize.berths._data import compile_problem
from optimize.berths.bounds import mean_busy_time_bound
from optimize.berths.colgen import column_generation
from optimize.berths.io import InstanceFormatError, read_dbap


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", type=Path, help="DBAP instance files")
    ap.add_argument("--time-limit", type=float, default=90.0, help="seconds per file")
    ap.add_argument("--warmup", type=float, default=0.8,
                    help="share of the time for the subgradient phase before column generation")
    ap.add_argument("--upper-bound", type=float, default=None,
                    help="a known schedule's cost (aims the subgradient steps)")
    ap.add_argument("--target", type=float, default=None,
                    help="report whether the bound exceeds this objective")
    args = ap.parse_args(argv)
    for f in args.files:
        try:
            data = compile_problem(read_dbap(f))
        except (OSError, InstanceFormatError) as exc:
            print(f"error: {f}: {exc}", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        cg = column_generation(data, args.upper_bound, args.time_limit, warmup=args.warmup)
        wall = time.perf_counter() - t0
        mbt = mean_busy_time_bound(data)
        integral = all(float(w).is_integer() for w in data.weight + data.penalty)
        lag = None if cg is None else cg.bound
        shown = None if lag is None else (math.ceil(lag - 1e-6) if integral else lag)
        master = None if cg is None or cg.master_value is None else f"{cg.master_value:.1f}"
        line = (f"{f.stem}: mean-busy-time {mbt:.1f}, column generation {shown}"
                f" (master {master}, converged {cg is not None and cg.converged}; {wall:.0f} s)")
        if args.target is not None and shown is not None:
            verdict = "out of reach" if shown > args.target else "not excluded"
            line += f"; target {args.target}: {verdict}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
