"""``afforest reproduce`` (the baseline's chain held against the study) and ``afforest calibrate-soil``."""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

from afforest.cli.output import print_json
from afforest.errors import InputError, prepare_output_dir

__all__ = ["register"]


def _format(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e6):
        return f"{value:.4g}"
    return f"{value:,.{digits}f}" if magnitude < 10 else f"{value:,.2f}"


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from afforest.chain.reproduce import EXPLAIN_ABOVE_PCT, reproduce, write_outputs

    output = prepare_output_dir(args.output, option="--output") if args.output else None  # fail before the work
    rep = reproduce()
    written = write_outputs(rep, output) if output is not None else []
    if rep.landuse.status != "ok":  # the figures rest on the land-use solve: say so wherever they are read
        print("afforest: warning: the land-use result behind these figures is SUSPECT: "
              + "; ".join(rep.landuse.suspect_reasons), file=sys.stderr)
    if args.json:
        records = [
            {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
            for row in rep.table.to_dict(orient="records")
        ]
        print_json(records)
        return 0
    table = rep.table
    width = max(table["figure"].str.len())
    checks = rep.landuse.checks
    print(f"land-use status: {rep.landuse.status} ({sum(c.passed for c in checks)} of {len(checks)} checks passed; "
          "afforest solve lists them)\n")
    print(f"{'figure':<{width}}  {'unit':<11} {'study':>11} {'afforest':>11} {'gap %':>8}")
    for row in table.itertuples():
        gap = "-" if row.gap_pct is None or not math.isfinite(row.gap_pct) else f"{row.gap_pct:+.2f}"
        print(f"{row.figure:<{width}}  {row.unit:<11} {_format(row.study):>11} {_format(row.afforest):>11} {gap:>8}")
    explained = table[table["gap_pct"].abs() > EXPLAIN_ABOVE_PCT]
    print(f"\nGaps above {EXPLAIN_ABOVE_PCT} % and why:")
    for row in explained.itertuples():
        print(f"  {row.figure}: {row.note}")
    print("\nCarbon by 2060, the study's assumption (whole area planted in 2020) vs the dynamic program's path:")
    for row in rep.path_comparison.itertuples():
        print(f"  r_c = {row.carbon_discount_rate:.0%}: {row.cumulative_sink_mt_co2_year0:.2f} Mt CO2 on "
              f"{row.area_10k_ha_year0:.2f} x 10^4 ha in 2020 vs {row.cumulative_sink_mt_co2_dp_path:.2f} on "
              f"{row.area_10k_ha_dp_by_horizon:.2f} planted along the path ({row.difference_pct:+.1f} %)")
    print("  The optimal path spreads planting over years because the marginal planting cost rises with the rate;"
          "\n  cohorts planted later have fewer growing years by 2060, so the year-2020 assumption overstates the"
          "\n  sink the region can count by then, more so when later tonnes are discounted (r_c > 0).")
    if written:
        print(f"\nwrote {len(written)} files to {args.output}: " + ", ".join(p.name for p in written))
    return 0


def _package_data_folders() -> list[Path]:
    """Folders of the installed package's own data (the shipped tables and scenarios)."""
    from importlib.resources import files

    return [Path(str(files(package))).resolve() for package in ("afforest.data", "afforest.scenarios")]


def _check_schedule_target(path: str | Path) -> Path:
    """The CSV ``calibrate-soil --write`` may write: never the package's own data, never a folder."""
    target = Path(path).expanduser()
    resolved = target.resolve()
    for folder in _package_data_folders():
        if resolved.is_relative_to(folder):
            raise InputError(
                f"is inside the package's data folder {folder}; a command never overwrites the shipped data. "
                "Write the schedule elsewhere (e.g. --write soil_schedule.csv) and compare it with "
                "data/soil_carbon_schedule.csv",
                file=target, field="--write",
            )
    if target.is_dir():
        raise InputError("is a folder; give the path of a CSV file", file=target, field="--write")
    prepare_output_dir(target.parent, option="--write")
    return target


def _cmd_calibrate_soil(args: argparse.Namespace) -> int:
    from afforest.model.carbon import (
        calibrate_from_provenance,
        load_carbon_parameters,
        per_hectare_totals,
        study_carbon_discount_rates,
        write_soil_schedule,
    )

    if args.write:
        args.write = str(_check_schedule_target(args.write))
    calibration = calibrate_from_provenance(path=args.provenance)
    params = load_carbon_parameters(soil_schedule=calibration.schedule)
    totals = {rate: per_hectare_totals(params, rate) for rate in study_carbon_discount_rates()}
    if args.write:
        write_soil_schedule(calibration.schedule, args.write)
    if args.json:
        print_json(
            {
                "shape": calibration.shape.value,
                "scale": calibration.scale,
                "tilt_per_yr": calibration.tilt_per_yr,
                "targets": [dataclasses.asdict(t) for t in calibration.targets],
                "schedule": calibration.schedule.to_frame().to_dict(orient="records"),
                "sink_t_co2_per_planted_ha": {str(r): t.to_dict() for r, t in totals.items()},
                "written": args.write,
            }
        )
        return 0
    print(f"shape {calibration.shape.value}, scale {calibration.scale:.6g}, tilt {calibration.tilt_per_yr:+.5f}/yr")
    for target in calibration.targets:
        print(f"  target {target.label or '-'}: soil {target.soil_carbon_t_c_per_ha:.4f} t C per surviving ha at "
              f"r_c = {target.carbon_discount_rate:g}")
    for row in calibration.schedule.to_frame().itertuples():
        print(f"  period {row.period}: ages {row.start_age_yr:g}-{row.end_age_yr:g} yr, "
              f"omega = {row.rate_t_c_per_ha_yr:.6f} t C/(ha yr)")
    for rate, total in totals.items():
        pools = ", ".join(f"{name} {value:.2f}" for name, value in total.items())
        print(f"  r_c = {rate:g}: {total.sum():.2f} t CO2 per planted ha ({pools})")
    if args.write:
        print(f"wrote {args.write}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``afforest reproduce`` and ``afforest calibrate-soil`` to the command line."""
    p = subparsers.add_parser(
        "reproduce",
        help="every published figure of the study beside the package's own, with the gaps explained",
        description="Run the whole chain for the baseline and compare it figure by figure with the study.",
    )
    p.add_argument("--json", action="store_true", help="print the rows as a JSON list (keys: figure, unit, study, afforest, gap_pct, note)")
    p.add_argument("--output", metavar="DIR", help="also write the tables (CSV) and Figs. 2-4 (PNG) to DIR")
    p.set_defaults(func=_cmd_reproduce)

    p = subparsers.add_parser(
        "calibrate-soil",
        help="re-run the soil-carbon calibration recorded in data/soil_carbon_schedule.toml",
        description="Solve the soil rates omega_i from the targets and shape of a provenance TOML.",
    )
    p.add_argument("--provenance", metavar="TOML", help="calibration inputs (default: the shipped soil_carbon_schedule.toml)")
    p.add_argument("--write", metavar="CSV",
                   help="also write the schedule to CSV (a path outside the package: the shipped "
                        "data/soil_carbon_schedule.csv is never overwritten)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_calibrate_soil)
