"""``afforest reproduce``: the baseline's chain held against the study, figure by figure."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from afforest.cli.output import print_json
from afforest.errors import prepare_output_dir

__all__ = ["register"]


def _format(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e6):
        return f"{value:.4g}"
    return f"{value:,.{digits}f}" if magnitude < 10 else f"{value:,.2f}"


def _records(frame: Any) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _cmd_compare(args: argparse.Namespace) -> int:
    """``--calibration both``: the published figures of sections 4 and 5 under both calibrations."""
    from afforest.chain.reproduce import EXPLAIN_ABOVE_PCT, compare_calibrations, reproduce
    from afforest.model.carbon_calibration import CALIBRATION_TARGETS, Calibration

    output = prepare_output_dir(args.output, option="--output") if args.output else None
    reps = {c: reproduce(calibration=c) for c in Calibration}
    table = compare_calibrations(reps)
    if output is not None:
        table.to_csv(output / "calibration_comparison.csv", index=False)
    if args.json:
        print_json(_records(table))
        return 0
    print("Published figures of sections 4-5 under the two calibrations of the carbon module "
          "(T = target, F = follows from the targets, P = prediction; * = more than "
          f"{EXPLAIN_ABOVE_PCT} % from the study):")
    for c in Calibration:
        print(f"  {c.value}: targets " + ", ".join(CALIBRATION_TARGETS[c]))
    width = max(table["figure"].str.len())
    print(f"\n{'figure':<{width}}  {'study':>11} {'equations':>11} {'gap %':>8}   {'study cal.':>11} {'gap %':>8}")
    for row in table.to_dict(orient="records"):
        cells = []
        for c in Calibration:
            gap = row[f"{c.value}_gap_pct"]
            gap_text = "-" if gap is None or not math.isfinite(gap) else f"{gap:+.2f}"
            flag = "" if row[f"{c.value}_within"] else "*"
            cells.append(f"{_format(row[c.value]):>11} {gap_text:>8} {row[f'{c.value}_role'][0].upper()}{flag:<1}")
        print(f"{row['figure']:<{width}}  {_format(row['published']):>11} " + " ".join(cells))
    for c in Calibration:
        outside = table[~table[f"{c.value}_within"]]
        print(f"\n{c.value}: {len(table) - len(outside)} of {len(table)} within {EXPLAIN_ABOVE_PCT} %; the others and why:")
        for row in outside.itertuples():
            print(f"  {row.figure}: {getattr(row, f'{c.value}_note')}")
    if output is not None:
        print(f"\nwrote {output / 'calibration_comparison.csv'}")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from afforest.chain.reproduce import EXPLAIN_ABOVE_PCT, reproduce, write_outputs

    if args.calibration == "both":
        return _cmd_compare(args)
    output = prepare_output_dir(args.output, option="--output") if args.output else None  # fail before the work
    rep = reproduce(calibration=args.calibration)
    written = write_outputs(rep, output) if output is not None else []
    if rep.landuse.status != "ok":  # the figures rest on the land-use solve: say so wherever they are read
        print("afforest: warning: the land-use result behind these figures is SUSPECT: "
              + "; ".join(rep.landuse.suspect_reasons), file=sys.stderr)
    if args.json:
        print_json(_records(rep.table))
        return 0
    table = rep.table
    width = max(table["figure"].str.len())
    checks = rep.landuse.checks
    print(f"land-use status: {rep.landuse.status} ({sum(c.passed for c in checks)} of {len(checks)} checks passed; "
          "afforest solve lists them)")
    print(f"carbon calibration: {rep.calibration.value} (fitted to {', '.join(rep.targets)}; every other figure is a "
          "prediction or follows from these)\n")
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


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``afforest reproduce`` to the command line."""
    p = subparsers.add_parser(
        "reproduce",
        help="every published figure of the study beside the package's own, with the gaps explained",
        description="Run the whole chain for the baseline and compare it figure by figure with the study.",
    )
    p.add_argument("--json", action="store_true", help="print the rows as a JSON list (keys: figure, unit, study, afforest, gap_pct, note)")
    p.add_argument("--output", metavar="DIR", help="also write the tables (CSV) and Figs. 2-4 (PNG) to DIR")
    p.add_argument("--calibration", choices=("equations", "study", "both"), default="equations",
                   help="carbon module calibration: equations (default; the printed Richards curve, soil fitted to "
                        "the r_c = 0 soil pool), study (biomass to the study's pool shares, soil to both published "
                        "totals), or both: the figures of sections 4-5 side by side (docs/carbon_calibration.md)")
    p.set_defaults(func=_cmd_reproduce)
