"""Benchmark of issue 14: evaluations per second of the whole chain in a sensitivity analysis, the per-stage cost of
one evaluation beside its floor, a full Sobol' run timed end to end, and the same indices from a Dask LocalCluster.

Run (docs/sensitivity.md, "Speed", records the runs):

    .venv/bin/python bench/sensitivity.py [--scenario sensitivity] [--repeat 10] [--samples 16] [--workers 1,2]
    .venv/bin/python bench/sensitivity.py --full 1024 [--workers 2]         # the 10 240-evaluation analysis, timed
    .venv/bin/python bench/sensitivity.py --dask 64                         # local processes against a LocalCluster
    .venv/bin/python bench/sensitivity.py --ishigami 64,256,1024,4096,16384 # convergence of the Ishigami indices

1. Default: the per-stage table of ``bench/fast_path.py`` (one process, one BLAS thread, the row-only chain as a
   sweep worker runs it, median of ``--repeat`` design points, each stage beside its floor; engine ``auto``, as the
   analysis runs) and the throughput of :class:`afforest.chain.sensitivity.ChainEvaluator` on each number of local
   workers in ``--workers`` (Sobol' N = ``--samples``; pool start-up and each worker's first build included).
2. ``--full N``: ``afforest sensitivity``'s own code path (:func:`afforest.chain.sensitivity.analyse_scenario` then
   :func:`afforest.chain.sensitivity_output.write`, into a temporary folder) at Sobol' N on ``--workers`` local
   processes (the last count given): wall time of the design, the evaluations, the indices and the files, and
   evaluations per second over the whole command. Issue 14's target: N = 1024 (10 240 design evaluations plus the
   one-at-a-time runs) in under two minutes on this 2-core machine, i.e. at least 80 evaluations/s.
3. ``--dask N``: the same analysis on local processes and on a ``distributed.LocalCluster`` (as many worker
   processes, one thread each), then the largest difference between the two ``indices`` tables (S1, ST and their
   bootstrap half-widths): the chains do not depend on the worker and the bootstrap is seeded, so it is 0.
4. ``--ishigami N1,N2,...``: the Sobol' indices of the Ishigami function with their half-widths as N grows.

Nothing is checked here (tests/test_sensitivity.py and tests/test_fast_path.py do that); the numbers depend on the
machine and its load, so compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread, as a sweep worker
    os.environ.setdefault(_var, "1")

import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from afforest.chain.sensitivity import ISHIGAMI_INDICES, analyse, analyse_scenario, ishigami  # noqa: E402
from afforest.chain.sensitivity_output import write  # noqa: E402
from afforest.scenarios import UniformInput, load_scenario  # noqa: E402

INDEX_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
"""The columns of a Sobol' ``indices`` table compared between two runs of the same analysis."""


def full_run(scenario_name: str, samples: int, workers: int) -> None:
    """``afforest sensitivity SCENARIO --samples N --workers W --output TMP``, timed (module docstring, part 2)."""
    scenario = load_scenario(scenario_name)
    with tempfile.TemporaryDirectory(prefix="afforest-bench-sa-") as folder:
        start = time.perf_counter()
        result = analyse_scenario(scenario, method="sobol", samples=samples, output=Path(folder) / "sa",
                                  workers=workers, progress=False)
        analysed = time.perf_counter()
        write(result, scenario, Path(folder) / "sa")
        wall = time.perf_counter() - start
    table = result.evaluations
    count = len(table)
    ran = table["landuse_path"].value_counts().to_dict() if "landuse_path" in table else {}
    statuses = table["status"].value_counts().to_dict() if "status" in table else {}
    print(f"afforest sensitivity {scenario_name} --samples {samples} --workers {workers}: {count} evaluations "
          f"({len(result.design.unit)} design + {count - len(result.design.unit)} one-at-a-time), "
          f"{os.cpu_count()} cores on this machine")
    print(f"  design, evaluations and indices: {analysed - start:7.1f} s")
    print(f"  files and figures:               {wall - (analysed - start):7.1f} s")
    print(f"  whole command:                   {wall:7.1f} s -> {count / wall:6.1f} evaluations/s "
          f"(statuses {statuses}; land use ran on {ran})")


def dask_against_local(scenario_name: str, samples: int, workers: int) -> None:
    """The same analysis on local processes and on a LocalCluster; the largest difference of their indices."""
    import distributed

    scenario = load_scenario(scenario_name)
    tables: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory(prefix="afforest-bench-dask-") as folder:
        start = time.perf_counter()
        local = analyse_scenario(scenario, method="sobol", samples=samples, output=Path(folder) / "local",
                                 workers=workers, progress=False)
        print(f"local processes ({workers}): {len(local.evaluations)} evaluations in "
              f"{time.perf_counter() - start:.1f} s")
        tables["local"] = local.indices
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            start = time.perf_counter()
            remote = analyse_scenario(scenario, method="sobol", samples=samples, output=Path(folder) / "dask",
                                      scheduler=cluster.scheduler_address, progress=False)
            print(f"Dask LocalCluster ({workers} worker processes, scheduler {cluster.scheduler_address}): "
                  f"{len(remote.evaluations)} evaluations in {time.perf_counter() - start:.1f} s")
        tables["dask"] = remote.indices
    keys = ["output", "input"]
    merged = tables["local"].merge(tables["dask"], on=keys, suffixes=("_local", "_dask"))
    print(f"indices compared: {len(merged)} (output, input) pairs of {len(tables['local'])} and {len(tables['dask'])}")
    for column in INDEX_COLUMNS:
        gap = (merged[f"{column}_local"] - merged[f"{column}_dask"]).abs()
        both_nan = merged[f"{column}_local"].isna() & merged[f"{column}_dask"].isna()
        print(f"  largest |local - dask| of {column:<8}: {gap[~both_nan].max():.3g} "
              f"(NaN on both: {int(both_nan.sum())}, NaN on one: {int(gap.isna().sum() - both_nan.sum())})")


def ishigami_convergence(samples: list[int]) -> None:
    """Sobol' indices of the Ishigami function (a = 7, b = 0.1) and their 95 % bootstrap half-widths as N grows,
    through :func:`afforest.chain.sensitivity.analyse` (the table of docs/sensitivity.md)."""
    inputs = {f"x{i}": UniformInput(distribution="uniform", lo=-math.pi, hi=math.pi) for i in (1, 2, 3)}
    print("| N | evaluations | " + " | ".join(f"{s}(x{i}) +- conf" for s in ("S1", "ST") for i in (1, 2, 3)) + " |")
    print("|---" * 8 + "|")
    print("| analytic | | " + " | ".join(f"{v:.4f}" for s in ("S1", "ST") for v in ISHIGAMI_INDICES[s]) + " |")
    for n in samples:
        table = analyse(inputs, ishigami, ["y"], method="sobol", samples=n).indices.set_index("input")
        cells = [f"{table.loc[f'x{i}', s]:.4f} +- {table.loc[f'x{i}', s + '_conf']:.4f}" for s in ("S1", "ST")
                 for i in (1, 2, 3)]
        print(f"| {n} | {n * 5} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="sensitivity", help="scenario with a [sensitivity] section")
    parser.add_argument("--repeat", type=int, default=10, help="design points of the per-stage timing")
    parser.add_argument("--samples", type=int, default=16, help="Sobol' N of the throughput run (a power of 2)")
    parser.add_argument("--workers", default="1,2", help="comma-separated local worker counts")
    parser.add_argument("--full", type=int, metavar="N", help="time the whole analysis at Sobol' N (the last --workers)")
    parser.add_argument("--dask", type=int, metavar="N", help="Sobol' N on local processes and on a LocalCluster")
    parser.add_argument("--ishigami", metavar="N1,N2,...", help="only print the Ishigami convergence table at these N")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",") if w]
    if args.ishigami:
        ishigami_convergence([int(n) for n in args.ishigami.split(",")])
    elif args.full:
        full_run(args.scenario, args.full, workers[-1])
    elif args.dask:
        dask_against_local(args.scenario, args.dask, workers[-1])
    else:
        from fast_path import stages, throughput  # bench/fast_path.py, beside this script

        stages(args.scenario, args.repeat, ["auto"])
        throughput(args.scenario, args.samples, workers, ["auto"])


if __name__ == "__main__":
    main()
