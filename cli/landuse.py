"""``afforest solve``, ``steady-state``, ``solvers`` and ``scenarios``: the land-use stage and what it runs on.

Each command imports the chain, the solvers and pandas only when it runs, so ``afforest --help`` stays light.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import afforest
from afforest.cli.output import print_json
from afforest.cli.region import add_region_option, region_of, scenario_with_region
from afforest.errors import InputError, prepare_output_dir

__all__ = ["register"]


def _cmd_solve(args: argparse.Namespace) -> int:
    import contextlib

    from afforest.chain.stages import run_chain

    output = prepare_output_dir(args.output, option="--output") if args.output else None  # fail before the work
    # In --json mode nothing but the JSON object may reach stdout (solver banners and logs, stray prints): solve
    # with file descriptor 1 pointed at stderr (Python's redirect_stdout would deadlock Pyomo's --tee capture).
    from afforest.solvers import stdout_to_stderr

    with stdout_to_stderr() if args.json else contextlib.nullcontext():
        # the chain's land-use stage (solve is a view of the one chain, stopped after land use)
        chain = run_chain(scenario_with_region(args.scenario, args), until="landuse", tee=args.tee,
                          allow_nonoptimal=args.allow_nonoptimal)
    result = chain.landuse
    written = []
    if output is not None:
        from afforest.chain.report import write_landuse_outputs

        written = write_landuse_outputs(result, output)
    summary = result.to_dict()
    if result.status != "ok" and args.json:  # the text report lists the reasons itself
        print(f"afforest: warning: scenario {summary['scenario']}: the result is SUSPECT: "
              + "; ".join(result.suspect_reasons), file=sys.stderr)
    if args.json:
        print_json(summary)
        return 0

    def years(value: float | None) -> str:
        return "never" if value is None else f"{value:g}"

    published = chain.bundle.published
    a0 = result.params.initial_area_10k_ha
    print(f"afforest {afforest.__version__} - scenario {summary['scenario']} ({summary['scenario_hash']})")
    tau0 = result.params.planting_cost_intercept_yuan_per_ha
    price = result.scenario.policy.carbon_price_yuan_per_t_co2
    print(f"r = {result.params.financial_discount_rate:g}/yr, A0 = {a0:g} x 10^4 ha, tau(0) = {tau0:g} yuan/ha"
          + (f" (carbon at {price:g} yuan/t CO2: effective tau(0) {summary['effective_planting_cost_yuan_per_ha']:.1f} yuan/ha)" if price > 0 else ""))
    if result.status == "ok":
        print(f"status: ok ({len(result.checks)} checks passed: solvers optimal, both programs at rest by the "
              "horizon and at their steady states, their paths meeting the Pontryagin conditions)")
        for check in result.checks:
            if check.name.endswith("_tail_held"):
                print(f"  note: {check.reason}")
        print()
    else:
        print("status: SUSPECT - do not use the numbers below as they stand:")
        for reason in result.suspect_reasons:
            print(f"  - {reason}")
        print()
    ignored = summary["ignored_switches"]
    headline = summary["headline"]
    if headline["representation"] == "classes":
        print(f"Eq. 3 and the curves model ignore {', '.join(ignored['analytic'])}: the headline and the "
              "allocation below come from the classes model, which honours them.")
        area = headline["afforested_area_10k_ha"]
        print(f"Headline: long-run afforested area {area:.3f} x 10^4 ha = {100 * area / a0:.2f} % of A0 "
              "(classes dynamic program)\n")
    if ignored["classes"]:
        print(f"The classes model ignores {', '.join(ignored['classes'])}: its land is the afforestable-area table.\n")
    print("Analytic steady state (Eq. 3), roots in [0, A0]:")
    for root in result.roots:
        mark = "  <- reached from A0" if root.reached else ""
        print(f"  afforested {root.afforested_area_10k_ha:9.3f} x 10^4 ha  ({root.stability.value}){mark}")
    if not result.roots:
        print("  none: the long run is a corner")
    analytic = result.analytic_afforested_area_10k_ha
    print(f"  long-run afforested area {analytic:.3f} x 10^4 ha = {100 * analytic / a0:.2f} % of A0")
    _print_saddle_path(summary["saddle_path"])
    study = published.get("desirable_area")  # a region without a study publishes none
    if study is not None:
        print(f"  study: {study.value} x 10^4 ha ({study.source}); the gap comes from the study's rounded alpha, beta\n")
    else:
        print(f"  (region {chain.bundle.region.name if chain.bundle and chain.bundle.region else '?'} publishes no "
              "results to compare with)\n")
    print("Dynamic program, area afforested by the horizon:")
    gap = summary["numeric_gap_to_analytic_pct"]
    print(f"  curves  (NLP, {result.curves_solver.label}, {result.curves_solver.wall_time_s:.2f} s): "
          f"{result.numeric_afforested_area_10k_ha:.3f} x 10^4 ha "
          + (f"({gap:+.3f} % vs analytic)" if gap is not None else "(analytic: nothing planted)"))
    print(f"  classes (QP,  {result.classes_solver.label}, {result.classes_solver.wall_time_s:.2f} s): "
          f"{result.classes_afforested_area_10k_ha:.3f} x 10^4 ha (each class keeps its own ESV, "
          f"source: {result.scenario.landuse.esv_source})")
    for name, key in (("curves", "planting_path"), ("classes", "classes_planting_path")):
        path = summary[key]
        print(f"  planting path ({name}): {path['first_period_rate_10k_ha_per_yr']:.2f} x 10^4 ha/yr at first; "
              f"50 % by year {years(path['years_to_50pct'])}, 90 % by {years(path['years_to_90pct'])}, "
              f"99 % by {years(path['years_to_99pct'])}")
    _print_certificate(summary)
    print()
    if summary["allocation_source"] == "classes":
        print("Afforested area by province (classes dynamic program, honouring the scenario's policy):")
    else:
        print("Desirable area by province (analytic area filled in merit order):")
    for province, share in summary["province_shares"].items():
        print(f"  {province:<9} {100 * share:6.2f} %")
    print("\nBy land type and province (10^4 ha):")
    for row in summary["allocation"]:
        print(f"  {row['land_type']:<24} {row['province']:<9} {row['area_10k_ha']:8.3f}")
    if written:
        print(f"\nwrote {len(written)} files to {args.output}: " + ", ".join(p.name for p in written))
    return 0


def _print_saddle_path(saddle: dict[str, Any]) -> None:
    """The analytic saddle path from A0 and how far the curves program's path is from it."""
    mu = saddle.get("saddle_eigenvalue_per_yr")
    if mu is None:
        if saddle.get("saddle_path_note"):
            print(f"  saddle path: {saddle['saddle_path_note']}")
        return
    line = f"  saddle path from A0: mu = {mu:.4f}/yr (half-life {math.log(2) / -mu:.1f} yr)"
    gap, rate_gap = saddle.get("saddle_path_max_gap_10k_ha"), saddle.get("saddle_path_max_rate_gap_10k_ha_per_yr")
    if gap is not None:
        line += (f"; the curves program's path is within {gap:.3g} x 10^4 ha of it in A and {rate_gap:.3g} x 10^4 ha/yr "
                 "in R (the discretisation, second order in the step)")
    print(line)
    if saddle.get("saddle_path_note"):
        print(f"    note: {saddle['saddle_path_note']}")


def _print_certificate(summary: dict[str, Any]) -> None:
    """The Pontryagin certificate of both paths and the shadow prices of the policy constraints, in a few lines."""
    certificates = summary["pontryagin"]
    if certificates:
        parts = [
            f"{rep} {c['max_residual']:.2g}" if c["max_residual"] is not None else f"{rep} not finite"
            for rep, c in certificates.items()
        ]
        print("  Pontryagin certificate (largest residual of planting optimality, costate equation and terminal "
              f"condition, PV, relative to period 0's marginal planting cost): {', '.join(parts)}")
    grouped: dict[tuple[str, str, str], list[float]] = {}
    for price in summary["shadow_prices"]:
        if price["value"] is not None:
            grouped.setdefault((price["representation"], price["constraint"], price["unit"]), []).append(price["value"])
    for (rep, constraint, unit), values in grouped.items():
        span = f"{values[0]:.4g}" if len(values) == 1 else f"{min(values):.4g} to {max(values):.4g} over {len(values)} periods"
        print(f"  shadow price of {constraint} ({rep}): {span} {unit}")


def _cmd_steady_state(args: argparse.Namespace) -> int:
    from afforest.data import load_landuse_parameters
    from afforest.model.steady_state import long_run_afforested_area, steady_state_sweep
    from afforest.scenarios import FINANCIAL_DISCOUNT_RATE_OPEN_INTERVAL

    low, high = FINANCIAL_DISCOUNT_RATE_OPEN_INTERVAL  # the bounds of a scenario's landuse.financial_discount_rate
    rates = [rate for group in (args.rate or []) for rate in group]
    for rate in rates:
        if not math.isfinite(rate):
            raise InputError("must be a finite number", field="--rate", value=rate)
        if not low < rate < high:
            raise InputError(f"must be > {low:g} and < {high:g} (1/yr), as in a scenario's "
                             "landuse.financial_discount_rate", field="--rate", value=rate)
    if region_of(args) is not None:
        from afforest.chain.bundle import load_bundle

        params = load_bundle(region=region_of(args)).landuse_parameters  # fitted where the region publishes none
    else:
        params = load_landuse_parameters()
    rates = rates or [params.financial_discount_rate]
    table = steady_state_sweep(params, rates)
    long_run = long_run_afforested_area(params, rates)
    if args.json:
        print_json(
            [
                {
                    "financial_discount_rate": float(rate),
                    "analytic_afforested_area_10k_ha": float(area),
                    "roots": table[table["point"] == i]
                    .drop(columns=["point", "financial_discount_rate"])
                    .to_dict(orient="records"),
                }
                for i, (rate, area) in enumerate(zip(rates, long_run))
            ]
        )
        return 0
    for i, (rate, area) in enumerate(zip(rates, long_run)):
        print(f"r = {rate:g}/yr: long-run afforested area {area:.3f} x 10^4 ha")
        for row in table[table["point"] == i].itertuples():
            print(f"    root {row.afforested_area_10k_ha:.3f} ({row.stability}, g' = {row.net_gain_slope:.1f})")
    return 0


def _cmd_solvers(args: argparse.Namespace) -> int:
    from afforest.solvers import QP_ACTIVE_SET_FREE_VARIABLE_LIMIT, available_solvers, hipo_check

    found = available_solvers()
    hipo = hipo_check()
    if args.json:
        print_json({**found, "hipo_unavailable_reason": hipo.reason or None})
        return 0
    for name, version in found.items():
        print(f"{name:<24} {version or 'not available'}")
    algorithm = found.get("qp-algorithm")
    if algorithm == "hipo":
        print(f"QPs run on HiGHS's interior-point solver HiPO (highspy {hipo.highspy_version}).")
    elif algorithm is not None:
        print(
            f"QPs run on HiGHS's active-set solver (at most {QP_ACTIVE_SET_FREE_VARIABLE_LIMIT} free "
            f"variables): {hipo.reason}."
        )
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from afforest.scenarios import load_scenario, shipped_scenarios

    for name in shipped_scenarios():
        print(f"{name:<20} {load_scenario(name).description}")
    return 0



def register(sub: Any) -> None:
    """Add the land-use commands."""
    p = sub.add_parser("solve", help="solve the land-use problem of a scenario (analytic + both dynamic programs)")
    p.add_argument("scenario", nargs="?", default="baseline", help="shipped scenario name or path to a TOML file (default: baseline)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    p.add_argument("--tee", action="store_true", help="show the solvers' logs")
    p.add_argument("--allow-nonoptimal", action="store_true",
                   help="report a solver's last point when it stops without an optimum (the result is then SUSPECT)")
    p.add_argument("--output", metavar="DIR",
                   help="also write the paths with their costates (CSV, Parquet, NetCDF with units), the shadow "
                        "prices, the JSON summary and the phase diagram to DIR")
    add_region_option(p)
    p.set_defaults(func=_cmd_solve)

    p = sub.add_parser("steady-state", help="roots of Eq. 3 and their stability for one or more discount rates")
    p.add_argument("--rate", type=float, nargs="+", action="append", metavar="R",
                   help="financial discount rate r (1/yr), 0 < r < 1; several at once (--rate 0.03 0.05) or repeated "
                        "(--rate 0.03 --rate 0.05); default: the study's r (data/landuse_parameters.toml)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_region_option(p)
    p.set_defaults(func=_cmd_steady_state)

    p = sub.add_parser("solvers", help="which solvers (and versions) this installation can use")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_solvers)

    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=_cmd_scenarios)
