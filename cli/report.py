"""``afforest report SCENARIO``: a scenario's whole chain - the plan, its planting path, its carbon, the supply
curve and the cost-effectiveness table - printed, as JSON, or written with figures to a folder."""

from __future__ import annotations

import argparse
import sys

from afforest.cli.output import print_json
from afforest.cli.region import add_region_option, scenario_with_region
from afforest.errors import prepare_output_dir

__all__ = ["register"]


def _cmd_report(args: argparse.Namespace) -> int:
    from afforest.chain.report import report_json, report_text, write_report
    from afforest.chain.stages import run_chain

    output = prepare_output_dir(args.output, option="--output") if args.output else None  # fail before the work
    chain = run_chain(scenario_with_region(args.scenario, args), tee=args.tee, allow_nonoptimal=args.allow_nonoptimal)
    if chain.status != "ok":  # everything downstream rests on the land-use solve: say so wherever it is read
        print(f"afforest: warning: scenario {chain.scenario.name}: the land-use result is SUSPECT: "
              + "; ".join(chain.landuse.suspect_reasons), file=sys.stderr)
    written = write_report(chain, output) if output is not None else []
    if args.json:
        print_json(report_json(chain))
        return 0
    print(report_text(chain))
    if written:
        print(f"\nwrote {len(written)} files to {args.output}: " + ", ".join(p.name for p in written))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``afforest report`` to the command line."""
    p = subparsers.add_parser(
        "report",
        help="a scenario's whole chain: plan, planting path, carbon, supply curve, cost-effectiveness",
        description="Run the chain (inputs -> ESV -> land use -> carbon -> supply curve -> cost-effectiveness) for a "
        "scenario and report every stage; compare two scenarios' reports to see what a scenario changes.",
    )
    p.add_argument("scenario", nargs="?", default="baseline", help="shipped scenario name or path to a TOML file (default: baseline)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the text report")
    p.add_argument("--output", metavar="DIR", help="also write the tables (CSV), report.json and the figures (PNG) to DIR")
    p.add_argument("--tee", action="store_true", help="show the solvers' logs")
    p.add_argument("--allow-nonoptimal", action="store_true",
                   help="report a solver's last point when it stops without an optimum (the result is then SUSPECT)")
    add_region_option(p)
    p.set_defaults(func=_cmd_report)
