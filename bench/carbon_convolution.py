"""Speed of the cohort convolution: sink by class, pool and year for paths of many classes.

Run: .venv/bin/python bench/carbon_convolution.py   (prints wall time per call and peak memory)
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd

from afforest.model.carbon import cohort_sink, cumulative_sink, load_carbon_parameters


def random_path(classes: int, years: int, seed: int = 0) -> pd.DataFrame:
    """Every class planted a little in each of the first ``years`` years (a dense cohort table)."""
    rng = np.random.default_rng(seed)
    cls, start = np.meshgrid(np.arange(classes), np.arange(years), indexing="ij")
    return pd.DataFrame(
        {
            "cell": cls.ravel(),
            "period_start_yr": start.ravel().astype(float),
            "planted_area_10k_ha": rng.uniform(0, 0.01, cls.size),
        }
    )


def main() -> None:
    params = load_carbon_parameters()
    print(f"{'classes':>8} {'cohorts':>9} {'rows out':>10} {'time s':>8} {'peak MiB':>9}")
    for classes in (1, 100, 1_000, 10_000):
        path = random_path(classes, 40)
        tracemalloc.start()
        t0 = time.perf_counter()
        sink = cohort_sink(path, params, 0.05, by=["cell"])
        total = cumulative_sink(sink, 40.0, by=())
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert total["discounted_sink_mt_co2"].iloc[0] > 0
        print(f"{classes:>8} {len(path):>9} {len(sink):>10} {elapsed:>8.3f} {peak / 2**20:>9.1f}")


if __name__ == "__main__":
    main()
