"""Benchmark: sweep throughput, model re-use vs rebuild, and parallel efficiency on local workers.

Run: `make bench-sweep` or `.venv/bin/python bench/sweep.py [--points 200] [--reuse-points 20]`.
Prints points per second for the classes QP (HiGHS) and the curves NLP (Ipopt), each re-using one model
(assigning the mutable discount rate) and rebuilding it at every point, then the wall time of a
`points`-point discount-rate sweep (both representations per point) on 1 and 2 worker processes.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from afforest.model.landuse import build_classes_model, build_curves_model
from afforest.run import resolve_inputs
from afforest.solvers import solve
from afforest.sweep import grid_points, run_sweep


def _per_point(kind: str, rates: np.ndarray, reuse: bool) -> float:
    inputs = resolve_inputs("baseline")

    def build(rate: float):
        params = inputs.params.replace(financial_discount_rate=float(rate))
        if kind == "classes":
            return build_classes_model(inputs.classes, params, inputs.grid)
        return build_curves_model(params, inputs.grid)

    model = build(rates[0])
    solve(model)  # warm-up: imports, first load
    start = time.perf_counter()
    for rate in rates:
        if reuse:
            model.discount_rate = float(rate)
        else:
            model = build(rate)
        solve(model)
    return (time.perf_counter() - start) / len(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=200, help="points of the parallel sweep")
    parser.add_argument("--reuse-points", type=int, default=20, help="points of the re-use comparison")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.2f} at start")
    rates = np.linspace(0.02, 0.08, args.reuse_points)
    print(f"{'model':<8} {'re-use s/pt':>12} {'rebuild s/pt':>13} {'re-use pt/s':>12} {'rebuild pt/s':>13} {'speed-up':>9}")
    for kind in ("classes", "curves"):
        reused = _per_point(kind, rates, reuse=True)
        rebuilt = _per_point(kind, rates, reuse=False)
        print(f"{kind:<8} {reused:12.3f} {rebuilt:13.3f} {1 / reused:12.2f} {1 / rebuilt:13.2f} {rebuilt / reused:8.1f}x")

    points = grid_points({"financial_discount_rate": list(np.linspace(0.01, 0.10, args.points))})
    times = {}
    for workers in (1, 2):
        start = time.perf_counter()
        frame = run_sweep("baseline", points, workers=workers, progress=False)
        times[workers] = time.perf_counter() - start
        assert (frame["status"] == "ok").all()
    efficiency = times[1] / (2 * times[2])
    print(f"sweep of {args.points} points (curves NLP + classes QP per point): "
          f"1 worker {times[1]:.1f} s ({args.points / times[1]:.2f} pt/s), "
          f"2 workers {times[2]:.1f} s ({args.points / times[2]:.2f} pt/s), parallel efficiency {100 * efficiency:.0f} %")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
