#!/usr/bin/env bash
# Full tier of the routing quality benchmark (see README.md next to this script).
# Usage: benchmarks/routing/run_full.sh [OUTDIR]   (from the repository root)
# Takes about 3 hours of wall time on an idle 2-core machine (half of it the OR-Tools run on X).
set -euo pipefail
out=${1:-results/routing}
inst=../shared/instances
mkdir -p "$out"
simcity bench routing "$inst/cvrp/A" --backend auto --time-limit 5 --seed 1 --json "$out/A_auto.json"
simcity bench routing "$inst/vrptw/solomon" --backend auto --time-limit 10 --seed 1 --json "$out/solomon_auto.json"
simcity bench routing "$inst/cvrp/X" --backend auto --time-per-100 24 --seed 1 --json "$out/X_auto.json"
simcity bench routing "$inst/cvrp/X" --backend ortools --time-per-100 24 --seed 1 --json "$out/X_ortools.json"
python benchmarks/routing/waste_instance.py --bins 300 --time-limit 120 --json "$out/waste300.json"
