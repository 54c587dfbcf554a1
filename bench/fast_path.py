"""Benchmark: one evaluation of the whole chain on the fast land-use path against the Pyomo one, stage by stage beside
each stage's floor, and evaluations per second through the sensitivity analysis's evaluator on 1 and 2 workers.

Run: `.venv/bin/python bench/fast_path.py [--scenario sensitivity] [--repeat 10] [--samples 4] [--workers 1,2]
[--engines fast,pyomo] [--tables]` (docs/sensitivity.md, "Speed", records a run).

1. Per-stage cost (one process, one BLAS thread, as a sweep worker): ``--repeat`` points of the scenario's Sobol'
   design are evaluated as :func:`afforest.chain.sweep.solve_point` does (the overrides validated, the inputs
   resolved, :func:`~afforest.chain.stages.run_chain`, the sweep row), on each engine (Pyomo: models built once and
   updated per point, as a worker keeps them); the chain's stages are timed by ``run_chain`` itself
   (``timings=``), so this script runs the chain's own code, not a copy of it. By default the row-only chain
   (``tables=False``: the carbon and supply totals at every r_c from arrays, the cost-effective areas asked of the
   supply curve by the row, hence no cost-effectiveness stage, shown as 0), or with ``--tables`` every table of the
   full chain. The per-process caches are warm after the first point (not counted), as in a worker. Medians in
   ms. Beside each stage, its **floor**: the stage's arithmetic alone on arrays already in memory, i.e. what no
   implementation of that stage can beat in this process:
   land use: the two numeric kernels (:func:`afforest.model.fast_landuse.solve_curves_fast`, the classes master of
   :func:`~afforest.model.fast_landuse.solve_classes_fast`) without assembling tables or certifying;
   carbon: the planned path's cohorts times a tabulated sink-by-horizon per hectare (one dot product per rate);
   supply curve and cost-effectiveness: a sort of the classes by marginal cost, cumulative sums and a search per
   benchmark. The other stages (validating the overrides, resolving the inputs, the sweep row) have no numeric
   kernel; their floor is left blank.
2. Throughput: the Sobol' design of N = ``--samples`` evaluated by ``ChainEvaluator`` on each engine and number of
   local workers: wall time (pool start-up and each worker's first build included) and evaluations per second.

No result is checked here (tests/test_fast_path.py does that); the numbers depend on the machine and its load, so
compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread, as a sweep worker
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from afforest.chain.bundle import load_bundle  # noqa: E402
from afforest.chain.inputs import resolve_inputs  # noqa: E402
from afforest.chain.landuse import build_models, update_models  # noqa: E402
from afforest.chain.sensitivity import ChainEvaluator, build_design, evaluate_design  # noqa: E402
from afforest.chain.stages import CHAIN_STAGE_NAMES, run_chain  # noqa: E402
from afforest.chain.sweep import chain_outputs, resolve_key  # noqa: E402
from afforest.model.carbon import per_hectare_totals  # noqa: E402
from afforest.model.fast_landuse import solve_classes_fast, solve_curves_fast  # noqa: E402
from afforest.model.problem import LandUseProblem  # noqa: E402
from afforest.scenarios import load_scenario  # noqa: E402

STAGES = ("scenario (validate overrides)", "inputs (resolve)", "ESV table", "land use (solve, certify)", "carbon",
          "supply curve", "cost-effectiveness", "sweep row")
"""Printed stages; the chain's own are timed by run_chain (``timings``, keys CHAIN_STAGE_NAMES) in this order."""
_CHAIN_STAGES = dict(zip(CHAIN_STAGE_NAMES, ("ESV table", "land use (solve, certify)", "carbon", "supply curve",
                                            "cost-effectiveness")))


def _median_ms(values: list[float]) -> float:
    return 1e3 * statistics.median(values)


def _floors(inputs, chain) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Seconds of each stage's arithmetic alone (module docstring), on this point's data."""
    params, grid = inputs.params, inputs.grid
    tau = inputs.effective_planting_cost_yuan_per_ha
    cap = inputs.scenario.policy.annual_planting_cap_10k_ha_per_yr
    problem = LandUseProblem.from_classes(inputs.classes, params, grid)
    out: dict[str, float] = {}
    start = time.perf_counter()
    solve_curves_fast(params, grid, tau, cap)
    solve_classes_fast(problem, tau, cap)
    out["land use (solve, certify)"] = time.perf_counter() - start
    # carbon: cohorts x a tabulated per-hectare sink by the horizon, for each rate and planting
    carbon = chain.bundle.carbon_parameters
    rates = sorted({*chain.bundle.carbon_discount_rates, float(inputs.scenario.carbon.carbon_discount_rate or 0.0)})
    cohorts = chain.landuse.classes_planting
    planted = cohorts["planted_area_10k_ha"].to_numpy()
    age = carbon.horizon_yr - cohorts["period_start_yr"].to_numpy()
    table = {r: np.linspace(0.0, float(per_hectare_totals(carbon, r).sum()), int(carbon.horizon_yr) + 1) for r in rates}
    start = time.perf_counter()
    for r in rates:
        float(planted @ np.interp(age, np.arange(table[r].size), table[r]))
    out["carbon"] = time.perf_counter() - start
    # supply curve and cost-effectiveness: sort by marginal cost, cumulative sums, a search per benchmark
    area = inputs.classes["area_10k_ha"].to_numpy()
    cost = inputs.classes["esv_yuan_per_ha_yr"].to_numpy()
    prices = np.arange(len(chain.bundle.power_technologies) + 1, dtype=float)  # one per option and the carbon price
    start = time.perf_counter()
    for _ in rates:
        order = np.argsort(cost)
        cumulative = np.cumsum(area[order])
        np.searchsorted(cumulative, chain.landuse.headline_afforested_area_10k_ha)
    out["supply curve"] = time.perf_counter() - start
    start = time.perf_counter()
    for _ in rates:
        np.searchsorted(np.sort(cost), prices)
    out["cost-effectiveness"] = time.perf_counter() - start
    return out


def stages(scenario_name: str, repeat: int, engines: list[str], tables: bool = False) -> None:
    """Per-stage medians of each engine beside the floors (module docstring, part 1): the steps of
    :func:`afforest.chain.sweep.solve_point`, the chain's stages timed by :func:`run_chain` itself."""
    base = load_scenario(scenario_name)
    design = build_design(base.sensitivity.inputs, "sobol", 4, seed=base.sensitivity.seed)
    keys = {k: resolve_key(k) for k in design.keys}
    bundle = load_bundle(base.inputs.afforestable_area_file)
    rows = design.values[design.keys].head(repeat + 1)
    times: dict[str, dict[str, list[float]]] = {engine: {} for engine in engines}
    floors: dict[str, list[float]] = {}
    paths: dict[str, list[str]] = {engine: [] for engine in engines}
    for engine in engines:
        models = build_models(resolve_inputs(base, bundle)) if engine == "pyomo" else None
        for n, (_, row) in enumerate(rows.iterrows()):
            lap: dict[str, float] = {}
            t = time.perf_counter()
            scenario = base.with_overrides({keys[k]: (float(v) if not isinstance(v, str) else v) for k, v in row.items()})
            lap["scenario (validate overrides)"] = time.perf_counter() - t
            t = time.perf_counter()
            inputs = resolve_inputs(scenario, bundle)
            lap["inputs (resolve)"] = time.perf_counter() - t
            if models is not None:
                update_models(models, inputs)
            timings: dict[str, float] = {}
            chain = run_chain(scenario, bundle=bundle, inputs=inputs, models=models, engine=engine, tables=tables,
                              timings=timings)
            lap.update({_CHAIN_STAGES[name]: value for name, value in timings.items()})
            lap.setdefault("cost-effectiveness", 0.0)  # the row-only chain has no such table: the row asks the curve
            paths[engine].append(chain.landuse.landuse_path)
            t = time.perf_counter()
            chain_outputs(chain)
            lap["sweep row"] = time.perf_counter() - t
            if n == 0:  # the first point pays for imports and first loads: not counted
                continue
            for name, value in lap.items():
                times[engine].setdefault(name, []).append(value)
            if engine == engines[0]:
                for name, value in _floors(inputs, chain).items():
                    floors.setdefault(name, []).append(value)
    mode = "full chain, every table" if tables else "row-only chain, as solve_point"
    print(f"one evaluation of {scenario_name!r} ({mode}), median of {repeat} Sobol' design points, 1 process, "
          "1 BLAS thread (ms):")
    header = "".join(f"{e:>12}" for e in engines)
    print(f"  {'stage':<32}{header}{'floor':>12}")
    totals = dict.fromkeys(engines, 0.0)
    floor_total = 0.0
    for name in STAGES:
        cells = ""
        for engine in engines:
            value = _median_ms(times[engine][name])
            totals[engine] += value
            cells += f"{value:12.2f}"
        floor = f"{_median_ms(floors[name]):12.3f}" if name in floors else f"{'':>12}"
        floor_total += _median_ms(floors[name]) if name in floors else 0.0
        print(f"  {name:<32}{cells}{floor}")
    print(f"  {'total':<32}" + "".join(f"{totals[e]:12.2f}" for e in engines) + f"{floor_total:12.3f}")
    print(f"  {'evaluations/s on one core':<32}" + "".join(f"{1e3 / totals[e]:12.1f}" for e in engines))
    for engine in engines:
        ran = {p: paths[engine].count(p) for p in set(paths[engine])}
        print(f"  engine {engine}: land use ran on {ran}")


def throughput(scenario_name: str, samples: int, workers: list[int], engines: list[str]) -> None:
    """Evaluations per second of the whole chain through ChainEvaluator (module docstring, part 2)."""
    scenario = load_scenario(scenario_name)
    design = build_design(scenario.sensitivity.inputs, "sobol", samples, seed=scenario.sensitivity.seed)
    k = len(design.keys)
    print(f"\nwhole chain through ChainEvaluator: Sobol' N = {samples}, k = {k}: {len(design.values)} evaluations "
          f"({len(design.unit)} design + {2 * k + 1} one-at-a-time), {os.cpu_count()} cores on this machine")
    for engine in engines:
        for count in workers:
            start = time.perf_counter()
            table = evaluate_design(design, ChainEvaluator(scenario, workers=count, progress=False, engine=engine))
            wall = time.perf_counter() - start
            failed = int((table["status"] == "failed").sum())
            ran = table["landuse_path"].value_counts().to_dict() if "landuse_path" in table else {}
            print(f"  {engine:>5}, {count} worker{'s' if count > 1 else ' '}: {wall:7.1f} s, "
                  f"{len(table) / wall:6.2f} evaluations/s ({failed} failed; land use ran on {ran})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="sensitivity", help="scenario with a [sensitivity] section")
    parser.add_argument("--repeat", type=int, default=10, help="points of the per-stage timing")
    parser.add_argument("--samples", type=int, default=4, help="Sobol' N of the throughput run (a power of 2)")
    parser.add_argument("--workers", default="1,2", help="comma-separated local worker counts of the throughput run")
    parser.add_argument("--engines", default="fast,pyomo", help="comma-separated engines (fast, pyomo, auto)")
    parser.add_argument("--no-throughput", action="store_true", help="only the per-stage table")
    parser.add_argument("--tables", action="store_true", help="time the full chain's tables, not the sweep row's")
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    stages(args.scenario, args.repeat, engines, args.tables)
    if not args.no_throughput:
        throughput(args.scenario, args.samples, [int(w) for w in args.workers.split(",") if w], engines)


if __name__ == "__main__":
    main()
