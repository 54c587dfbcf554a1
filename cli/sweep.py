"""``afforest sweep`` and ``afforest compare``: a view of the chain over many points (afforest.chain.sweep)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from afforest.cli.region import add_region_option, region_of
from afforest.errors import InputError

__all__ = ["register"]


def _parse_set(items: Sequence[str]) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not raw:
            raise InputError("expected KEY=V1,V2,...", field="--set", value=item)
        parsed: list[Any] = []
        for text in raw.split(","):
            try:
                parsed.append(float(text))
            except ValueError:
                parsed.append(text.strip())
        values[key.strip()] = parsed
    return values


def _summary_line(frame: Any) -> str:
    from afforest.chain.sweep import status_counts

    counts = status_counts(frame)
    return f"{len(frame)} points: {counts['ok']} ok, {counts['suspect']} suspect, {counts['failed']} failed"


def _cmd_sweep(args: Any) -> int:
    import pandas as pd
    from afforest.chain.sweep import (
        KEPT_STATUSES,
        SweepInterrupted,
        grid_points,
        run_sweep,
        sample_points,
        status_counts,
    )
    from afforest.scenarios import load_scenario

    if args.workers is not None and args.workers < 0:
        raise InputError("must be >= 0 (0: one worker per core)", field="--workers", value=args.workers)
    if args.set and args.sample is not None:
        raise InputError("use either --set or --sample, not both", field="--sample", value=args.sample)
    scenario = load_scenario(args.scenario).with_region(region_of(args))
    if args.sample is not None:
        points = sample_points(scenario.sweep.ranges, args.sample, scenario.sweep.method, scenario.sweep.seed)
    elif args.set:
        points = grid_points(_parse_set(args.set))
    elif scenario.sweep.grid:
        points = grid_points(scenario.sweep.grid)
    else:
        raise InputError("nothing to sweep: give --set KEY=V1,V2 or --sample N, or a [sweep] grid", file=args.scenario)
    try:
        frame = run_sweep(
            scenario,
            points,
            args.output,
            workers=args.workers,
            scheduler=args.scheduler,
            reuse=not args.no_reuse,
            progress=not args.quiet,
            overwrite=args.overwrite,
            allow_nonoptimal=args.allow_nonoptimal,
            engine=args.engine,
        )
    except SweepInterrupted as stop:
        print(stop.message, file=sys.stderr)
        return stop.exit_code
    columns = [c for c in frame.columns if c in {k.partition(".")[2] for k in points[0].overrides}]
    columns += [c for c in ("analytic_afforested_area_10k_ha", "numeric_afforested_area_10k_ha", "classes_afforested_area_10k_ha", "status") if c in frame]
    with pd.option_context("display.max_rows", 50, "display.width", 160):
        print(frame[columns].to_string(index=False))
    for row in frame[frame["status"] == "suspect"].itertuples():
        print(f"point {row.point_id} suspect: {row.suspect_reasons}")
    for row in frame[~frame["status"].isin(KEPT_STATUSES)].itertuples():
        print(f"point {row.point_id} failed: {row.error}")
    print(_summary_line(frame) + (f"; results in {args.output}" if args.output else ""))
    return 0 if status_counts(frame)["failed"] == 0 else 1


def _cmd_compare(args: Any) -> int:
    from afforest.chain.sweep import load_results
    from afforest.plots.sweep import plot_comparison

    results, meta = load_results(args.results)
    if "suspect_reasons" not in results:
        results["suspect_reasons"] = ""
    for path in plot_comparison(results, args.output or args.results):
        print(path)
    ok = results[results["status"] == "ok"]
    if not ok.empty:
        gap = (ok["numeric_afforested_area_10k_ha"] / ok["analytic_afforested_area_10k_ha"] - 1).abs() * 100
        print(f"largest |numerical - analytic| gap: {gap.max():.4f} % over {len(ok)} ok points; "
              f"points with several roots of Eq. 3: {int((ok['analytic_root_count'] > 1).sum())}")
    for row in results[results["status"] == "suspect"].itertuples():
        print(f"suspect point {row.point_id} (red triangle in the figures): {row.suspect_reasons}")
    print(_summary_line(results))
    return 0


def register(sub: Any) -> None:
    """``afforest sweep`` and ``afforest compare``."""
    p = sub.add_parser(
        "sweep",
        help="solve a scenario over a grid (--set) or a sample (--sample) of parameters, in parallel",
        description="Writes DIR/results.parquet and DIR/results.csv (one row per point) with --output DIR; "
        "re-running the same sweep with the same DIR resumes (Ctrl-C keeps the finished points). A folder "
        "holding a different sweep is refused unless --overwrite; one sweep at a time may write to a folder.",
    )
    p.add_argument("scenario", help="shipped scenario name or TOML path (its [sweep] section declares grids and ranges)")
    p.add_argument("--set", action="append", metavar="KEY=V1,V2,...", help="values of one parameter (repeat for a grid), e.g. financial_discount_rate=0.03,0.05")
    p.add_argument("--sample", type=int, metavar="N", help="draw N >= 1 points over the scenario's [sweep] ranges")
    p.add_argument("--output", metavar="DIR", help="folder for results and the resume log")
    p.add_argument("--overwrite", action="store_true", help="replace the results of a different sweep held in DIR")
    p.add_argument("--workers", type=int, help="local worker processes (default or 0: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler, e.g. tcp://host:8786")
    p.add_argument("--no-reuse", action="store_true", help="rebuild the models at every point (for benchmarks)")
    p.add_argument("--allow-nonoptimal", action="store_true",
                   help="keep a point whose land-use solve stops short of an optimum, as 'suspect' (default: it fails)")
    p.add_argument("--engine", choices=("pyomo", "fast", "auto"), default="pyomo",
                   help="what solves the land use: pyomo (default, the reference), fast (refuses an ineligible "
                        "scenario) or auto (the fast path where eligible); docs/sensitivity.md, Speed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_region_option(p)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("compare", help="plot analytic vs numerical results and sensitivities of a finished sweep")
    p.add_argument("results", help="folder of a sweep's results")
    p.add_argument("--output", metavar="DIR", help="where to write the PNGs (default: the results folder)")
    p.set_defaults(func=_cmd_compare)
