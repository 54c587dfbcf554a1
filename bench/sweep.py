"""Benchmark: sweep throughput, model re-use vs rebuild, and parallel efficiency on local workers.

Run: `make bench-sweep` or `.venv/bin/python bench/sweep.py [--points 200] [--reuse-points 20]`.
Prints points per second for the classes QP (HiGHS) and the curves NLP (Ipopt), each re-using one model
(assigning the mutable discount rate) and rebuilding it at every point, then the wall time of a
`points`-point discount-rate sweep (both representations per point) on 1 and 2 worker processes, and the
cost of starting every point cold (the variables reset to their build-time values, so results do not depend on
the order or the worker) against warm-starting Ipopt from the previous point (`--only-start` runs only that).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from afforest.model.landuse import build_classes_model, build_curves_model
from afforest.chain.inputs import resolve_inputs
from afforest.solvers import solve
import afforest.chain.sweep as sweep_module
from afforest.chain.sweep import grid_points, run_sweep


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


def _start_cost(n_points: int, horizon_yr: float | None) -> None:
    """One worker, models re-used: cold start at every point (the default) against the old warm start."""
    from afforest.scenarios import load_scenario

    scenario = load_scenario("baseline")
    if horizon_yr is not None:
        scenario = scenario.with_overrides({"numerics.horizon_yr": horizon_yr})
    rng = np.random.default_rng(0)
    points = grid_points({"financial_discount_rate": list(rng.uniform(0.01, 0.10, n_points))})  # a shuffled order
    run_sweep(scenario, points[:2], workers=1, progress=False)  # warm-up: imports, first loads, models built
    restore, forget = sweep_module.restore_start, sweep_module.forget_spoiled_session
    modes = {
        "cold": (restore, forget),  # the default: variables reset, HiGHS cleared, a spoiled session dropped
        "keep": (restore, lambda model: None),  # as cold, but a spoiled HiGHS session is kept (not reproducible)
        "warm": (lambda cached: None, forget),  # the old behaviour: Ipopt and HiGHS start from the previous point
    }
    frames, walls = {}, {}
    try:
        for mode in ("cold", "keep", "warm", "cold", "keep", "warm"):
            sweep_module.restore_start, sweep_module.forget_spoiled_session = modes[mode]
            start = time.perf_counter()
            frame = run_sweep(scenario, points, workers=1, progress=False)
            walls.setdefault(mode, []).append(time.perf_counter() - start)
            frames.setdefault(mode, []).append(frame)
    finally:
        sweep_module.restore_start, sweep_module.forget_spoiled_session = restore, forget
    cached = next(iter(sweep_module.model_cache().values()))
    start = time.perf_counter()
    for _ in range(20):
        restore(cached)
    reset_s = (time.perf_counter() - start) / 20
    print(f"start of each point, {n_points} points, 1 worker, models re-used, horizon {scenario.numerics.horizon_yr:g} yr "
          f"(step {scenario.numerics.step_yr:g}); {len(cached.start_values)} variables reset in {1e3 * reset_s:.2f} ms/pt")
    print(f"{'start':<6} {'wall s':>8} {'s/pt':>7} {'curves NLP s/pt':>16} {'classes QP s/pt':>16}")
    for mode in ("cold", "keep", "warm"):
        for frame, wall in zip(frames[mode], walls[mode]):
            print(f"{mode:<6} {wall:8.2f} {wall / n_points:7.3f} {frame['curves_solve_s'].mean():16.4f} {frame['classes_solve_s'].mean():16.4f}")
    cold, warm = frames["cold"][0], frames["warm"][0]
    rel = (warm["numeric_afforested_area_10k_ha"] / cold["numeric_afforested_area_10k_ha"] - 1).abs()
    same = pd.testing.assert_frame_equal  # cold runs repeat exactly; warm ones depend on the previous point
    same(frames["cold"][0].drop(columns=["curves_solve_s", "classes_solve_s", "build_s", "point_s"]),
         frames["cold"][1].drop(columns=["curves_solve_s", "classes_solve_s", "build_s", "point_s"]), check_exact=True)
    print(f"warm vs cold numeric_afforested_area_10k_ha: {int((rel > 0).sum())} of {n_points} differ, max {rel.max():.2e} relative; "
          f"the two cold runs are identical")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=200, help="points of the parallel sweep")
    parser.add_argument("--reuse-points", type=int, default=20, help="points of the re-use comparison")
    parser.add_argument("--start-points", type=int, default=40, help="points of the cold vs warm start comparison")
    parser.add_argument("--start-horizon", type=float, help="horizon (yr) of that comparison (default: the scenario's)")
    parser.add_argument("--only-start", action="store_true", help="run only the cold vs warm start comparison")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.2f} at start")
    _start_cost(args.start_points, args.start_horizon)
    if args.only_start:
        print(f"load average at end {os.getloadavg()[0]:.2f}")
        return
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
