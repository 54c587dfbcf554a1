"""``afforest calibrate-soil``: the carbon module's soil schedule, calibrated again from its recorded targets."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from afforest.cli.output import print_json
from afforest.errors import InputError, prepare_output_dir

__all__ = ["register"]


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

    from afforest.data import data_path
    from afforest.model.carbon_calibration import CALIBRATION_PROVENANCE, Calibration

    if args.write:
        args.write = str(_check_schedule_target(args.write))
    provenance = args.provenance or data_path(CALIBRATION_PROVENANCE[Calibration(args.calibration)])
    calibration = calibrate_from_provenance(path=provenance)
    params = load_carbon_parameters(soil_schedule=calibration.schedule).replace(biomass_scale=calibration.biomass_scale)
    totals = {rate: per_hectare_totals(params, rate) for rate in study_carbon_discount_rates()}
    if args.write:
        write_soil_schedule(calibration.schedule, args.write)
    if args.json:
        print_json(
            {
                "shape": calibration.shape.value,
                "scale": calibration.scale,
                "tilt_per_yr": calibration.tilt_per_yr,
                "biomass_scale": calibration.biomass_scale,
                "targets": [dataclasses.asdict(t) for t in calibration.targets],
                "schedule": calibration.schedule.to_frame().to_dict(orient="records"),
                "sink_t_co2_per_planted_ha": {str(r): t.to_dict() for r, t in totals.items()},
                "written": args.write,
            }
        )
        return 0
    print(f"shape {calibration.shape.value}, scale {calibration.scale:.6g}, tilt {calibration.tilt_per_yr:+.5f}/yr, "
          f"biomass x {calibration.biomass_scale:.6g}")
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
    """Add ``afforest calibrate-soil`` to the command line."""
    p = subparsers.add_parser(
        "calibrate-soil",
        help="re-run the soil-carbon calibration recorded in data/soil_carbon_schedule.toml",
        description="Solve the soil rates omega_i from the targets and shape of a provenance TOML.",
    )
    p.add_argument("--provenance", metavar="TOML",
                   help="calibration inputs (default: the shipped file of --calibration: soil_carbon_schedule.toml or "
                        "soil_carbon_schedule_study.toml)")
    p.add_argument("--calibration", choices=("equations", "study"), default="equations",
                   help="which shipped calibration to re-run when --provenance is not given (docs/carbon_calibration.md)")
    p.add_argument("--write", metavar="CSV",
                   help="also write the schedule to CSV (a path outside the package: the shipped "
                        "data/soil_carbon_schedule.csv is never overwritten)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_calibrate_soil)
