"""Benchmark: analytic steady state (Eq. 3) over 10^5 discount rates. Prints median wall times.

Run: `make bench` or `.venv/bin/python bench/steady_state.py [--points N] [--repeat K]`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from afforest.data import load_landuse_parameters
from afforest.model.steady_state import long_run_afforested_area, steady_state_sweep


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    params = load_landuse_parameters()
    rates = np.linspace(0.001, 0.3, args.points)
    long_run = _median_seconds(lambda: long_run_afforested_area(params, rates), args.repeat)
    table = _median_seconds(lambda: steady_state_sweep(params, rates), args.repeat)
    print(f"rates: {args.points}, median of {args.repeat}")
    print(f"long_run_afforested_area  {long_run * 1e3:8.1f} ms  ({args.points / long_run:,.0f} rates/s)")
    print(f"steady_state_sweep (table){table * 1e3:8.1f} ms  ({args.points / table:,.0f} rates/s)")


if __name__ == "__main__":
    main()
