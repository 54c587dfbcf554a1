"""Benchmark: what one evaluation of a sensitivity analysis costs, stage by stage, and evaluations per second of the
whole chain through the analysis's own evaluator (afforest.chain.sensitivity.ChainEvaluator -> run_sweep).

Run: `.venv/bin/python bench/sensitivity.py [--scenario sensitivity] [--samples 4] [--workers 1,2] [--repeat 5]`,
or `--ishigami 64,256,1024,4096,16384` for the convergence table of docs/sensitivity.md (no chain, seconds).

1. Per-stage cost: on one process with the models built once (as a sweep worker keeps them), ``--repeat`` points of
   the scenario's Sobol' design are evaluated by the steps of ``afforest.chain.sweep.solve_point`` timed one by one:
   the scenario with the point's overrides (pydantic validation), the resolved inputs, the models updated and reset
   to their start, the land-use solves (curves NLP by Ipopt, classes QP by HiGHS, certified), the ESV table, the
   carbon accounts, the supply curve, the cost-effectiveness table and the sweep row; medians are printed.
2. Throughput: the Sobol' design of N = ``--samples`` (N(k + 2) chains plus 2k + 1 one-at-a-time runs) evaluated by
   ``ChainEvaluator`` on each number of local workers in ``--workers``, wall time and evaluations per second
   (start-up of the pool and the first build of each worker's models included: what a user waits for).

No result is checked here (tests/test_sensitivity.py does that); the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import pyomo.environ as pyo

from afforest.chain.bundle import load_bundle
from afforest.chain.inputs import resolve_inputs
from afforest.chain.landuse import build_models, solve_models, update_models
from afforest.chain.sensitivity import ChainEvaluator, build_design, evaluate_design
from afforest.chain.stages import (
    POLICY_CARBON_PRICE_BENCHMARK,
    ChainResult,
    carbon_stage,
    cost_effectiveness_stage,
    esv_stage,
    supply_curve_stage,
    welfare_terms,
)
from afforest.chain.sweep import chain_outputs, resolve_key
from afforest.scenarios import load_scenario


def _stages(scenario_name: str, samples: int, repeat: int) -> None:
    base = load_scenario(scenario_name)
    spec = base.sensitivity
    design = build_design(spec.inputs, "sobol", samples, seed=spec.seed)
    keys = {k: resolve_key(k) for k in design.keys}
    bundle = load_bundle(base.inputs.afforestable_area_file)
    models = build_models(resolve_inputs(base, bundle))
    start_values = [(var, var.value) for model in (models.curves, models.classes)
                    for var in model.component_data_objects(pyo.Var, descend_into=True)]
    from afforest.solvers import clear_warm_start

    times: dict[str, list[float]] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        times.setdefault(name, []).append(now - since)
        return now

    rows = design.values[design.keys].head(repeat + 1)
    for n, (_, row) in enumerate(rows.iterrows()):
        t = time.perf_counter()
        scenario = base.with_overrides({keys[k]: (float(v) if not isinstance(v, str) else v) for k, v in row.items()})
        t = lap("scenario (validate overrides)", t)
        inputs = resolve_inputs(scenario, bundle)
        t = lap("inputs (resolve)", t)
        update_models(models, inputs)
        for var, value in start_values:
            var.set_value(value, skip_validation=True)
        clear_warm_start(models.classes)
        t = lap("models (update, reset start)", t)
        esv = esv_stage(inputs)
        t = lap("ESV table", t)
        landuse = solve_models(inputs, models)
        times.setdefault("  of which curves NLP (Ipopt)", []).append(landuse.curves_solver.wall_time_s)
        times.setdefault("  of which classes QP (HiGHS)", []).append(landuse.classes_solver.wall_time_s)
        t = lap("land use (solve both, certify)", t)
        result = ChainResult(scenario=scenario, inputs=inputs, esv=esv, landuse=landuse,
                             welfare_terms_10e8_yuan=welfare_terms(models), bundle=bundle)
        t = lap("welfare terms", t)
        rate = float(scenario.carbon.carbon_discount_rate or 0.0)
        result.carbon = carbon_stage(landuse, bundle, tuple(sorted({*bundle.carbon_discount_rates, rate})), rate)
        t = lap("carbon", t)
        result.supply = supply_curve_stage(inputs.classes, inputs.params.financial_discount_rate,
                                           landuse.headline_afforested_area_10k_ha, result.carbon, bundle)
        t = lap("supply curve", t)
        price = scenario.policy.carbon_price_yuan_per_t_co2
        extra = {POLICY_CARBON_PRICE_BENCHMARK: price} if price > 0 else {}
        result.cost_effectiveness = cost_effectiveness_stage(result.supply, bundle, extra)
        t = lap("cost-effectiveness", t)
        chain_outputs(result)
        lap("sweep row", t)
        if n == 0:  # the first point pays for imports and first loads: not counted
            times = {}
    order = list(times)
    total = sum(statistics.median(times[k]) for k in order if not k.startswith("  "))
    print(f"one evaluation of {scenario_name!r}, models re-used, median of {repeat} design points (1 process):")
    for name in order:
        median = statistics.median(times[name])
        share = "" if name.startswith("  ") else f"{100 * median / total:5.1f} %"
        print(f"  {name:<34} {1e3 * median:9.1f} ms  {share}")
    print(f"  {'total':<34} {1e3 * total:9.1f} ms  -> {1 / total:.2f} evaluations/s on one core")


def _throughput(scenario_name: str, samples: int, workers: list[int]) -> None:
    scenario = load_scenario(scenario_name)
    design = build_design(scenario.sensitivity.inputs, "sobol", samples, seed=scenario.sensitivity.seed)
    k = len(design.keys)
    print(f"\nwhole chain through ChainEvaluator: Sobol' N = {samples}, k = {k}: {len(design.values)} evaluations "
          f"({len(design.unit)} design + {2 * k + 1} one-at-a-time), {os.cpu_count()} cores on this machine")
    for count in workers:
        start = time.perf_counter()
        table = evaluate_design(design, ChainEvaluator(scenario, workers=count, progress=False))
        wall = time.perf_counter() - start
        failed = int((table["status"] == "failed").sum())
        print(f"  {count} worker{'s' if count > 1 else ' '}: {wall:7.1f} s, {len(table) / wall:5.2f} evaluations/s"
              f" ({failed} failed)")


def ishigami_convergence(samples: list[int]) -> None:
    """Sobol' indices of the Ishigami function (a = 7, b = 0.1) and their 95 % bootstrap half-widths as N grows,
    through :func:`afforest.chain.sensitivity.analyse` (the table of docs/sensitivity.md)."""
    import math

    from afforest.chain.sensitivity import ISHIGAMI_INDICES, analyse, ishigami
    from afforest.scenarios import UniformInput

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
    parser.add_argument("--samples", type=int, default=4, help="Sobol' N of the throughput run (a power of 2)")
    parser.add_argument("--workers", default="1,2", help="comma-separated local worker counts of the throughput run")
    parser.add_argument("--repeat", type=int, default=5, help="points of the per-stage timing")
    parser.add_argument("--ishigami", metavar="N1,N2,...", help="only print the Ishigami convergence table at these N")
    args = parser.parse_args()
    if args.ishigami:
        ishigami_convergence([int(n) for n in args.ishigami.split(",")])
        return
    _stages(args.scenario, args.samples, args.repeat)
    _throughput(args.scenario, args.samples, [int(w) for w in args.workers.split(",") if w])


if __name__ == "__main__":
    main()
