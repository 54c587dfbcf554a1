"""``afforest cells solve`` (a cell-level plan) and ``afforest bench scale`` (the cell-level benchmark)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from afforest.errors import InputError, prepare_output_dir

__all__ = ["register", "BENCH_PATHS"]

BENCH_PATHS: tuple[str, ...] = ("pyomo", "fast", "floor", "decomposition")
"""The benchmark's paths, in the order of afforest.chain.benchmark.PATHS (a test keeps the two equal)."""

BENCH_SCALE_DESCRIPTION = (
    "Cell-level planning problems of growing size: build, load and solve time and peak memory of the Pyomo model, "
    "the fast path (arrays to HiGHS), the floor (the benchmark's own arrays straight to highspy) and the price "
    "decomposition, each run in a fresh process (docs/performance.md)."
)


def _parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        try:
            size = int(float(part))
        except ValueError:
            raise InputError(
                "expected comma-separated cell counts, e.g. 1000,10000", field="--sizes", value=text
            ) from None
        if size <= 0 or size != float(part):
            raise InputError("cell counts must be positive whole numbers", field="--sizes", value=part)
        sizes.append(size)
    return sizes


_MEMORY_METHOD = {"fast": "highs", "floor": "floor", "pyomo": "pyomo", "decomposition": "decomposition"}
"""The entry of ``afforest.model.cells.MEMORY_BYTES_PER_CELL_PERIOD`` for each benchmark path."""


def _check_years(years: int, option: str = "--years") -> float:
    """The horizon in years of ``--years`` (one-year periods), refused with the option's name if it is not
    a whole number from 1 to the longest horizon that can still change a result."""
    from afforest.data import load_landuse_parameters
    from afforest.model.cells import max_horizon_yr

    if isinstance(years, bool) or not isinstance(years, int) or years < 1:
        raise InputError(
            "must be a whole number of years >= 1 (one-year planting periods)", field=option, value=years
        )
    rate = load_landuse_parameters().financial_discount_rate
    limit = max_horizon_yr(rate, 1.0)
    if years > limit:
        raise InputError(
            f"must be at most {limit:g}: beyond year {limit - 1:g} the discount factor e^(-r t) at the "
            f"study's r = {rate:g}/yr is below 1e-16 of year 0's, so later years cannot change any result "
            "(and far beyond, it underflows to 0)",
            field=option,
            value=years,
        )
    return float(years)


def _check_output_file(path: str | None, option: str) -> None:
    """Raise ``InputError`` naming ``option`` before any work if the file ``path`` cannot be written: it is
    a folder, its folder does not exist or is a file, or the file cannot be opened for writing."""
    if path is None:
        return
    file = Path(path)
    if file.is_dir():
        raise InputError("is a folder; give a file name", field=option, value=path)
    parent = file.parent
    if not parent.exists():
        raise InputError(f"its folder {str(parent)!r} does not exist", field=option, value=path)
    if not parent.is_dir():
        raise InputError(f"{str(parent)!r} is a file, not a folder", field=option, value=path)
    existed = file.exists()
    try:
        with open(file, "a"):
            pass
    except OSError as exc:
        raise InputError(
            f"cannot write this file ({exc.strerror or exc})", field=option, value=path
        ) from None
    if not existed:
        file.unlink(missing_ok=True)


def _cmd_bench_scale(args: argparse.Namespace) -> int:
    import pandas as pd
    from afforest.chain.benchmark import PATHS, benchmark, machine_description, summarise

    log = sys.stderr if args.csv else sys.stdout
    if args.from_runs:
        _check_output_file(args.plot, "--plot")
        try:
            runs = pd.read_csv(args.from_runs)
        except (OSError, pd.errors.ParserError) as exc:
            raise InputError(f"cannot read the runs table ({exc})", file=args.from_runs) from None
        missing = {"n_cells", "n_periods", "path", "round", "status"} - set(runs.columns)
        if missing:
            raise InputError(
                f"not a runs table of `bench scale --runs` (lacks {sorted(missing)})", file=args.from_runs
            )
        return _report(summarise(runs), args, log)
    sizes = _parse_sizes(args.sizes)
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = [p for p in paths if p not in PATHS]
    if unknown or not paths:
        raise InputError(f"unknown paths {unknown}; choose from {PATHS}", field="--paths", value=args.paths)
    if args.repeats < 1 or args.repeats_large < 1:
        raise InputError("must be >= 1", field="--repeats", value=min(args.repeats, args.repeats_large))
    if args.seed < 0:
        raise InputError("must be a whole number >= 0", field="--seed", value=args.seed)
    if not args.timeout > 0:
        raise InputError("must be a number of seconds > 0", field="--timeout", value=args.timeout)
    _check_years(args.years)
    _check_output_file(args.runs, "--runs")
    _check_output_file(args.plot, "--plot")
    from afforest.model.cells import check_memory

    for n in sizes:  # each run is one process at a time: the largest path of each size must fit
        for path in paths:
            if path == "pyomo" and n > args.pyomo_max_cells:
                continue
            check_memory(
                n,
                args.years,
                _MEMORY_METHOD[path],
                field="--sizes",
                fewer="smaller --sizes or fewer --years",
                other_method=f"--paths without {path}",
            )
    machine = machine_description()
    print(f"# machine: {json.dumps(machine)}", file=log, flush=True)

    def progress(row: dict[str, Any]) -> None:
        if args.quiet:
            return
        figures = f"total {row['total_s']:.2f} s, {row['peak_rss_mb']:.0f} MB" if "total_s" in row else ""
        print(
            f"# N={row['n_cells']} {row['path']:<13} round {row.get('round', 0)}: {row['status']} {figures}",
            file=sys.stderr,
            flush=True,
        )

    runs = benchmark(
        sizes,
        args.years,
        paths,
        args.repeats,
        pyomo_max_cells=args.pyomo_max_cells,
        repeats_large=args.repeats_large,
        seed=args.seed,
        timeout_s=args.timeout,
        progress=progress,
    )
    if args.runs:
        runs.to_csv(args.runs, index=False)
    print(f"# load average after: {os.getloadavg()}", file=log)
    return _report(summarise(runs), args, log)


def _report(table: Any, args: argparse.Namespace, log: Any) -> int:
    from afforest.chain.benchmark import format_table
    from afforest.plots.benchmark_scaling import plot_scaling

    if args.plot:
        plot_scaling(table, args.plot)
        print(f"# figure written to {args.plot}", file=log)
    if args.csv:
        print(table.to_csv(index=False), end="")
    else:
        print(format_table(table))
    return 0


def _count_table_rows(file: Path) -> int | None:
    """Rows of a cells table without loading it (Parquet metadata; CSV lines read in 1 MB chunks, less
    the header); None if the file cannot be read this way (``load_cells`` then says why)."""
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return int(pq.read_metadata(file).num_rows)
        lines, last = 0, b"\n"
        with open(file, "rb") as fh:
            while chunk := fh.read(1 << 20):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        return max(lines + (last != b"\n") - 1, 0)
    except Exception:  # missing, a folder, not Parquet...: load_cells names the problem
        return None


def _cmd_cells_solve(args: argparse.Namespace) -> int:
    from afforest.chain.inputs import load_study_cells as load_cells
    from afforest.chain.inputs import study_cell_problem as cell_problem
    from afforest.chain.inputs import synthetic_study_cells as synthetic_cells
    from afforest.model.cells import (
        VERIFIED_RELATIVE_GAP,
        build_cells_model,
        check_memory,
        max_horizon_yr,
        plan_from_model,
    )
    from afforest.model.landuse import TimeGrid
    from afforest.solvers import solve
    from afforest.solvers.decomposition import solve_cells_decomposition
    from afforest.solvers.highs_direct import cells_model_highs_options, solve_cells_highs

    if (args.cells is None) == (args.synthetic is None):
        raise InputError("give exactly one of --cells FILE or --synthetic N", field="--cells/--synthetic")
    if args.synthetic is not None and args.synthetic <= 0:
        raise InputError("must be a positive whole number", field="--synthetic", value=args.synthetic)
    if args.seed < 0:
        raise InputError("must be a whole number >= 0", field="--seed", value=args.seed)
    grid = TimeGrid(horizon_yr=_check_years(args.years), step_yr=1.0)
    folder = prepare_output_dir(args.output, option="--output") if args.output else None
    # refuse what cannot fit before building anything (each method's bytes per cell-period are measured)
    memory = {
        "fewer": "fewer cells or --years",
        "other_method": "--method decomposition",
    }
    if args.cells:
        rows = _count_table_rows(Path(args.cells))
        if rows is not None:
            check_memory(
                rows, grid.periods, args.method, field="--cells", file=args.cells, value=f"{rows:,} rows", **memory
            )
        cells = load_cells(args.cells)
    else:
        check_memory(args.synthetic, grid.periods, args.method, field="--synthetic", **memory)
        try:
            cells = synthetic_cells(args.synthetic, seed=args.seed)
        except InputError as exc:
            if exc.field != "n_cells":
                raise
            raise InputError(exc.reason, field="--synthetic", value=args.synthetic) from None
    problem = cell_problem(cells, grid=grid, carbon_price_yuan_per_t_co2=args.carbon_price)
    determined = max_horizon_yr(problem.params.financial_discount_rate, 1.0, VERIFIED_RELATIVE_GAP)
    if args.method != "decomposition" and args.years > determined:
        print(
            f"afforest: warning: beyond year {determined - 1:g} the discount factor is below "
            f"{VERIFIED_RELATIVE_GAP:g} of year 0's, the certificate's tolerance: {args.method}'s plan for "
            "those years is not determined (it may plant land of no value at no visible cost); "
            "--method decomposition is exact at any horizon",
            file=sys.stderr,
        )
    if args.method == "decomposition":
        plan = solve_cells_decomposition(problem)
    elif args.method == "highs":
        plan = solve_cells_highs(problem)
    else:
        model = build_cells_model(problem)
        result = solve(model, "highs", cells_model_highs_options(problem))
        plan = plan_from_model(model, result.label, {"solve": result.wall_time_s})
    summary = plan.summary()
    by_province = plan.allocation().groupby("province", sort=False)["area_10k_ha"].sum()
    summary["province_shares"] = (by_province / by_province.sum()).to_dict() if by_province.sum() > 0 else {}
    if folder is not None:
        try:
            plan.cell_planting().to_parquet(folder / "cell_planting.parquet", index=False)
            plan.cell_summary().to_parquet(folder / "cell_summary.parquet", index=False)
            plan.planting_path().to_csv(folder / "planting_path.csv", index=False)
            plan.allocation().to_csv(folder / "allocation.csv", index=False)
            (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
        except OSError as exc:
            raise InputError(
                f"could not write the plan's tables ({exc.strerror or exc})",
                field="--output",
                value=args.output,
            ) from None
    if args.json:
        print(json.dumps(summary, indent=2, default=float))
        return 0
    cert = plan.certificate
    print(f"{problem.n_cells} cells x {problem.n_periods} periods, method {plan.method}: {plan.solver}")
    print(
        f"  welfare {cert.welfare_10e8_yuan:.6f} x 10^8 yuan (planting adds {cert.welfare_gain_10e8_yuan:.6f}); "
        f"duality gap {cert.relative_gap:.1e} of the gain -> {'verified optimum' if cert.verified else 'NOT verified'}"
    )
    print(
        f"  afforested by year {args.years:g}: {summary['afforested_area_10k_ha']:.3f} x 10^4 ha; "
        f"first-year rate {plan.planting_rate_10k_ha_per_yr[0]:.3f} x 10^4 ha/yr"
    )
    for province, share in summary["province_shares"].items():
        print(f"  {province:<9} {100 * share:6.2f} %")
    if args.output:
        print(
            f"  wrote cell_planting.parquet, cell_summary.parquet, planting_path.csv, allocation.csv, summary.json to {args.output}"
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """``afforest bench scale`` and ``afforest cells solve``."""
    cells = subparsers.add_parser(
        "cells", help="cell-level planning: every cell with its own ESV, cost and carbon"
    )
    cells_sub = cells.add_subparsers(dest="cells_command", metavar="ACTION", required=True)
    p = cells_sub.add_parser("solve", help="solve a cell-level plan (a cells table or a synthetic instance)")
    p.add_argument(
        "--cells", metavar="FILE", help="cells table, CSV or Parquet (columns: see afforest.model.cells)"
    )
    p.add_argument(
        "--synthetic", type=int, metavar="N", help="N synthetic cells spread around the study's classes"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic cells (default 0)")
    p.add_argument("--years", type=int, default=40, help="planting periods of one year (default 40)")
    p.add_argument(
        "--method",
        choices=("decomposition", "highs", "pyomo"),
        default="decomposition",
        help="price decomposition (exact, fastest), HiGHS on the arrays, or the Pyomo model",
    )
    p.add_argument(
        "--carbon-price",
        type=float,
        default=0.0,
        help="carbon payment at planting, yuan/t CO2 (default 0: the study)",
    )
    p.add_argument(
        "--output", metavar="DIR", help="write the plan's tables (Parquet/CSV) and a JSON summary here"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=_cmd_cells_solve)

    bench = subparsers.add_parser("bench", help="benchmarks (see docs/performance.md)")
    sub = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK", required=True)
    p = sub.add_parser(
        "scale",
        help="cell-level planning problems: build/load/solve time and peak memory, Pyomo vs fast path vs floor vs decomposition",
        description=BENCH_SCALE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--sizes", default="100,1000,10000", help="comma-separated numbers of cells (default 100,1000,10000)"
    )
    p.add_argument("--years", type=int, default=40, help="planting periods of one year (default 40)")
    p.add_argument("--paths", default=",".join(BENCH_PATHS), help=f"comma-separated subset of {','.join(BENCH_PATHS)}")
    p.add_argument(
        "--repeats", type=int, default=3, help="rounds per size, each path in a fresh process (default 3)"
    )
    p.add_argument(
        "--pyomo-max-cells",
        type=int,
        default=10_000,
        help="largest size given to the Pyomo path (default 10000)",
    )
    p.add_argument(
        "--repeats-large", type=int, default=1, help="rounds for sizes above --pyomo-max-cells (default 1)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic instances (default 0)")
    p.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds before one run is stopped (default 1800)"
    )
    p.add_argument("--runs", metavar="FILE", help="also write every run's figures to this CSV")
    p.add_argument("--from-runs", metavar="FILE", help="no new runs: summarise a CSV written by --runs")
    p.add_argument("--plot", metavar="PNG", help="also draw time and memory against the number of cells")
    p.add_argument(
        "--csv", action="store_true", help="print the table as CSV (progress and machine go to stderr)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_cmd_bench_scale)
