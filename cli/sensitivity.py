"""``afforest sensitivity``: Sobol' indices or Morris screening of a scenario's ``[sensitivity]`` inputs, one chain per
evaluation on the sweep machinery (afforest.chain.sensitivity)."""

from __future__ import annotations

import sys
from typing import Any

from afforest.cli.output import print_json
from afforest.cli.region import add_region_option, region_of
from afforest.errors import InputError

__all__ = ["register"]


def _table(result: Any) -> str:
    import pandas as pd

    columns = ["output", "input", "S1", "S1_conf", "ST", "ST_conf"] if result.design.method == "sobol" else [
        "output", "input", "mu_star", "mu_star_conf", "sigma"]
    frame = result.indices[columns].copy()
    frame["input"] = frame["input"].str.rpartition(".")[2]
    with pd.option_context("display.max_rows", 400, "display.width", 160, "display.float_format", "{:.4g}".format):
        return frame.to_string(index=False)


def _cmd_sensitivity(args: Any) -> int:
    from afforest.chain.sensitivity import analyse_scenario, describe
    from afforest.chain.sensitivity_output import provenance, write
    from afforest.chain.sweep import SweepInterrupted
    from afforest.scenarios import check_sensitivity_samples, load_scenario

    if args.workers is not None and args.workers < 0:
        raise InputError("must be >= 0 (0: one worker per core)", field="--workers", value=args.workers)
    scenario = load_scenario(args.scenario).with_region(region_of(args))
    method = args.method or scenario.sensitivity.method
    if args.samples is not None:
        check_sensitivity_samples(method, args.samples)
    if args.second_order and method != "sobol":
        raise InputError("second-order indices are Sobol' indices; Morris has none", field="--second-order", value=method)
    try:
        result = analyse_scenario(
            scenario,
            method=method,
            samples=args.samples,
            second_order=True if args.second_order else None,
            on_failure=args.on_failure,
            output=args.output,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=not (args.quiet or args.json),
            overwrite=args.overwrite,
            allow_nonoptimal=args.allow_nonoptimal,
            engine=args.engine,
        )
    except SweepInterrupted as stop:
        print(stop.message, file=sys.stderr)
        return stop.exit_code
    if args.output:
        write(result, scenario, args.output)
    refused = [name for name, info in result.failures["by_output"].items()
               if info["note"].startswith(("refused", "not computed"))]
    if args.json:
        payload = provenance(result, scenario)
        payload.pop("resolved_scenario", None)
        payload["indices"] = result.indices.to_dict(orient="records")
        if result.second_order is not None:
            payload["second_order"] = result.second_order.to_dict(orient="records")
        payload["oat"] = result.oat.to_dict(orient="records")
        print_json(payload)
    else:
        print(_table(result))
        print(describe(result))
        if args.output:
            print(f"indices, evaluations and figures in {args.output}")
    return 1 if refused else 0


def register(sub: Any) -> None:
    """``afforest sensitivity``."""
    p = sub.add_parser(
        "sensitivity",
        help="Sobol' indices or Morris screening of the chain's outputs over a scenario's [sensitivity] inputs",
        description="Samples the scenario's [sensitivity] inputs (SALib: Saltelli's design for Sobol', trajectories "
        "for Morris), runs one chain per point on the sweep machinery (local processes, or Dask with --scheduler) "
        "and writes to --output DIR: indices.csv/.parquet (S1, S1_conf, ST, ST_conf or mu_star, mu_star_conf, "
        "sigma), oat.csv (one-at-a-time ranges), evaluations.csv/.parquet, sensitivity.json (versions, scenario "
        "hash, design, failures) and the figures. Re-running the same command with the same DIR resumes. "
        "Failed evaluations are not imputed: the Sobol' base samples or Morris trajectories holding one are "
        "dropped for that output (--on-failure refuse: no indices for it); exit code 1 if an output got no indices.",
    )
    p.add_argument("scenario", help="shipped scenario name or TOML path with a [sensitivity] section (e.g. sensitivity)")
    p.add_argument("--method", choices=("sobol", "morris"), help="default: the scenario's sensitivity.method")
    p.add_argument("--samples", type=int, metavar="N",
                   help="Sobol': base samples, a power of 2 (N(k+2) chains); Morris: trajectories (N(k+1) chains)")
    p.add_argument("--second-order", action="store_true", help="Sobol': also the second-order indices (N(2k+2) chains)")
    p.add_argument("--on-failure", choices=("drop", "refuse"),
                   help="failed evaluations: drop their Sobol' block / Morris trajectory (default), or refuse the output")
    p.add_argument("--output", metavar="DIR", help="folder for indices, evaluations, figures and the resume log")
    p.add_argument("--overwrite", action="store_true", help="replace a different analysis held in DIR")
    p.add_argument("--workers", type=int, help="local worker processes (default or 0: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler, e.g. tcp://host:8786")
    p.add_argument("--allow-nonoptimal", action="store_true",
                   help="keep an evaluation whose land-use solve stops short of an optimum, as 'suspect'")
    p.add_argument("--json", action="store_true", help="print the indices, OAT ranges and provenance as JSON")
    p.add_argument("--engine", choices=("pyomo", "fast", "auto"), default="auto",
                   help="what solves the land use: auto (default: the fast path where eligible, else Pyomo), fast "
                        "(refuses an ineligible scenario) or pyomo (the reference); docs/sensitivity.md, Speed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_region_option(p)
    p.set_defaults(func=_cmd_sensitivity)
