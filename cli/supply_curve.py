"""``afforest supply-curve [SCENARIO] --method target|merit-order``: the carbon supply curve as a table and a figure.

``target``: the dynamic, optimisation-based curve: for each carbon target X the optimal plan that reaches it and the
target's dual, the marginal cost of carbon (:func:`afforest.chain.stages.dynamic_supply_curve`), drawn beside the
study's static merit-order curve (Fig. 4) and the power-sector abatement costs. ``merit-order``: the static curve
alone (every class planted in year 0, cheapest per tonne first), at the target's r_c.
"""

from __future__ import annotations

import argparse
import sys

from afforest.cli.output import print_json
from afforest.cli.region import add_region_option, region_of
from afforest.errors import InputError, prepare_output_dir

__all__ = ["register"]


def _targets(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError("must be numbers separated by commas (Mt CO2)", field="--targets", value=text) from None
    if not values or any(not (v >= 0 and v < float("inf")) for v in values):
        raise InputError("must be finite numbers >= 0 (Mt CO2)", field="--targets", value=text)
    return values


def _cmd_supply_curve(args: argparse.Namespace) -> int:
    from afforest.chain.stages import dynamic_supply_curve, run_chain
    from afforest.scenarios import load_scenario

    output = prepare_output_dir(args.output, option="--output") if args.output else None  # fail before the work
    targets = _targets(args.targets)
    scenario = load_scenario(args.scenario).with_region(region_of(args))
    policy = scenario.policy
    rate = float(policy.carbon_target_discount_rate)
    chain = run_chain(scenario.with_overrides({"policy.carbon_target_mt_co2": None}), until="cost_effectiveness")
    rates = chain.supply.curves if chain.supply is not None else {}
    if rate not in rates:
        raise InputError(f"the static curve is drawn at the study's r_c {sorted(rates)} and the scenario's own; set "
                         "carbon.carbon_discount_rate to the target's r_c", field="policy.carbon_target_discount_rate",
                         value=rate)
    static = rates[rate]
    accounts = (f"by {policy.carbon_target_year}" if policy.carbon_target_year is not None else "over each cohort's stream")
    accounts += f", r_c = {rate:g}"
    if args.method == "merit-order":
        table = static
    else:
        frames = [dynamic_supply_curve(scenario, targets, representation=rep, bundle=chain.bundle)
                  for rep in args.representation.split(",")]
        import pandas as pd

        table = pd.concat(frames, ignore_index=True)
        if policy.carbon_target_year != 2060 or policy.carbon_target_form != "cumulative":
            print("afforest: note: the static merit-order curve counts carbon by 2060 (cumulative); the dynamic curve "
                  f"counts it {accounts} ({policy.carbon_target_form})", file=sys.stderr)
    written = []
    if output is not None:
        from afforest.plots.dynamic_supply_curve import write_dynamic_supply_curve

        csv = output / f"supply_curve_{args.method.replace('-', '_')}.csv"
        table.to_csv(csv, index=False)
        written.append(csv)
        dynamic = table if args.method == "target" else table.iloc[0:0].assign(status=[], representation=[])
        benchmarks = chain.cost_effectiveness.benchmarks if chain.cost_effectiveness is not None else {}
        written.append(write_dynamic_supply_curve(output / f"supply_curve_{args.method.replace('-', '_')}.png", dynamic,
                                                  static, benchmarks, accounts=accounts))
    if args.json:
        print_json({"scenario": scenario.name, "method": args.method, "accounts": accounts,
                    "rows": table.to_dict(orient="records")})
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
        if written:
            print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``afforest supply-curve`` to the command line."""
    p = subparsers.add_parser(
        "supply-curve",
        help="carbon supply curve: the dynamic one from carbon targets (their duals) or the static merit order",
        description="--method target: solve the land-use program for a series of carbon targets (policy.carbon_target_*"
        " of the scenario: by default cumulative sequestration by 2060 at r_c = 0) and report each target's dual, the "
        "marginal cost of carbon (yuan/t CO2, PV), with the area and timing of the plan behind it; --method "
        "merit-order: the study's static curve (Fig. 4). --output writes the table (CSV) and the figure (PNG).",
    )
    p.add_argument("scenario", nargs="?", default="baseline", help="shipped scenario name or path to a TOML file (default: baseline)")
    p.add_argument("--method", choices=("target", "merit-order"), default="target", help="dynamic (target) or static (merit-order)")
    p.add_argument("--targets", metavar="X1,X2,...", help="carbon targets, Mt CO2 (default: 20-95 %% of the largest reachable)")
    p.add_argument("--representation", default="classes", choices=("classes", "curves", "classes,curves"),
                   help="which program traces the dynamic curve (default: classes)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--output", metavar="DIR", help="write supply_curve_<method>.csv and .png to DIR")
    add_region_option(p)
    p.set_defaults(func=_cmd_supply_curve)
