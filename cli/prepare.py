"""``afforest esv`` and ``afforest suitability``: stages 1-2 of the chain (afforest.chain.prepare)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from afforest.cli.region import add_region_option, region_of
from afforest.errors import InputError, check_output_dir

__all__ = ["register", "esv_rows"]


def _esv_inputs(args: argparse.Namespace) -> tuple[Any, Any, str]:
    from afforest.data.region import load_region
    from afforest.model import esv as esv_model

    region = load_region(args.region)  # its files are the defaults of --factors, --mapping, --standard-values
    factors = esv_model.load_equivalent_factors(args.factors or region.file("equivalent_factors"))
    mapping = esv_model.load_landuse_mapping(args.mapping or region.file("esv_landuse_mapping"), factors=factors,
                                             region=region)
    if args.grain_statistics:
        if args.national_grain_value is None:
            raise InputError("--grain-statistics needs --national-grain-value (yuan/ha)", field="national_grain_value")
        stats = esv_model.load_grain_statistics(args.grain_statistics)
        sv = esv_model.standard_equivalent_values_from_statistics(stats, args.national_grain_value)
        origin = f"SV_i from grain statistics {args.grain_statistics}"
    else:
        sv = (esv_model.load_standard_equivalent_values(args.standard_values) if args.standard_values
              else esv_model.region_standard_values(region))
        default = ("data/esv_standard_equivalent.csv (implied by Table 3)" if region.is_default
                   else f"region {region.name}")
        origin = f"SV_i from {args.standard_values or default}"
    return esv_model.land_type_equivalents(factors, mapping), sv, origin


def esv_rows(by_service: Any) -> list[dict[str, Any]]:
    """JSON rows ``{province, land_type, service, esv_yuan_per_ha}`` (``service = "total"`` for Eq. 6)."""
    return [
        {"province": r.province, "land_type": r.land_type, "service": r.service, "esv_yuan_per_ha": float(r.esv_yuan_per_ha_yr)}
        for r in by_service.itertuples(index=False)
    ]


def _cmd_esv(args: argparse.Namespace) -> int:
    from afforest.data import load_esv
    from afforest.model import esv as esv_model

    equivalents, sv, origin = _esv_inputs(args)
    by_service = esv_model.esv_by_service(equivalents, sv)
    if args.json:
        print(json.dumps(esv_rows(by_service), indent=2))
        return 0
    table = esv_model.esv_table(equivalents, sv)
    from afforest.data.region import load_region

    region = load_region(args.region)
    if region.file("esv") is None:  # the region prints no Table 3: nothing to compare with
        print(f"ESV = SV_i x sum_n F_jn (Eq. 6), yuan/(ha yr); {origin}")
        print(table.pivot(index="land_type", columns="province", values="esv_yuan_per_ha_yr").round(2).to_string())
        return 0
    published = load_esv(region.file("esv"), region=region)
    comparison = esv_model.compare_with_published(table, published)
    flagged = {(r.land_type, r.province) for r in comparison.itertuples() if not r.matches}
    wide = table.pivot(index="land_type", columns="province", values="esv_yuan_per_ha_yr")
    wide = wide.loc[list(dict.fromkeys(table["land_type"])), list(dict.fromkeys(table["province"]))]
    totals = equivalents.groupby("land_type", sort=False)["equivalent"].sum()
    print(f"ESV = SV_i x sum_n F_jn (Eq. 6), yuan/(ha yr); {origin}")
    print("  " + f"{'land type':<24}{'F_j':>7}" + "".join(f"{p:>13}" for p in wide.columns))
    for land_type, row in wide.iterrows():
        cells = "".join(
            f"{v:12.2f}{'*' if (land_type, p) in flagged else ' '}" for p, v in row.items()
        )
        print(f"  {land_type:<24}{totals[land_type]:7.2f}{cells}")
    print("  " + f"{'SV_i (yuan/ha)':<31}" + "".join(f"{v:12.4f} " for v in sv.set_index('province').loc[wide.columns, 'sv_yuan_per_ha']))
    matched = int(comparison["matches"].sum())
    print(f"\nTable 3 of the study reproduced to 0.01 yuan in {matched} of {len(comparison)} cells.")
    for r in comparison[~comparison["matches"]].itertuples():
        print(f"  * {r.land_type} {r.province}: computed {r.computed:.2f}, printed {r.published:.2f} "
              f"({100 * (r.published / r.computed - 1):+.2f} % of the computed value)")
    if args.by_service:
        print("\nEquivalents F_jn by service (standard equivalents per ha and year):")
        pivot = equivalents.pivot(index="land_type", columns="service", values="equivalent")
        pivot = pivot.loc[list(dict.fromkeys(equivalents["land_type"])), list(esv_model.SERVICES)]
        print(pivot.round(4).to_string())
    return 0


def _cmd_suitability(args: argparse.Namespace) -> int:
    import afforest
    from afforest.chain.prepare import run_suitability
    from afforest.model import suitability as suit

    check_output_dir(args.output, option="--output")  # before connecting to a cluster or reading anything
    client = None
    if args.scheduler:
        from distributed import Client

        try:
            client = Client(args.scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot connect to the dask scheduler ({exc})", field="--scheduler", value=args.scheduler) from None
    try:
        result, paths = run_suitability(args.config, args.output, chunk_size=args.chunk_size, figure=not args.no_figure,
                                        output_field="--output", region=region_of(args))
    finally:
        if client is not None:
            client.close()
    run = json.loads(paths["run"].read_text())
    if args.json:
        print(json.dumps({**run, "area": result.area.to_dict(orient="records"),
                          "coverage": result.coverage.to_dict(orient="records")}, indent=2))
        return 0
    print(f"afforest {afforest.__version__} - suitability overlay ({result.grid.describe()})")
    print(f"{result.cells:,} cells in {run['wall_time_s']:.1f} s ({run['cells_per_s']:,.0f} cells/s), chunks of "
          f"{result.chunk_size} x {result.chunk_size}; slope {run['slope']}\n")
    wide = result.area.pivot(index="land_type", columns="province", values="area_10k_ha")
    wide = wide.loc[list(dict.fromkeys(result.area["land_type"])), list(dict.fromkeys(result.area["province"]))]
    wide["total"] = wide.sum(axis=1)
    wide.loc["total"] = wide.sum(axis=0)
    print("Afforestable area (10^4 ha), the shape of Table 2:")
    print(wide.to_string(float_format=lambda v: f"{v:,.2f}"))
    print("\nExcluded area by rule (10^4 ha; a cell can fail several rules):")
    rules = result.exclusions[result.exclusions["kind"] == "rule"].pivot(index="reason", columns="province", values="area_10k_ha")
    print(rules.loc[list(suit.RULE_FLAGS), list(dict.fromkeys(result.area["province"]))].to_string(float_format=lambda v: f"{v:,.2f}"))
    print("\nWritten:")
    for kind, path in paths.items():
        print(f"  {kind:<11} {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``esv`` and ``suitability`` to the ``afforest`` command line."""
    p = subparsers.add_parser("esv", help="ESV per ha by province and land type from the equivalent-factor method (Table 3)")
    p.add_argument("--json", action="store_true", help="print JSON rows {province, land_type, service, esv_yuan_per_ha}")
    p.add_argument("--by-service", action="store_true", help="also print the equivalents F_jn of every service")
    p.add_argument("--factors", type=Path, help="equivalent-factor table (default: Xie et al. 2015, data/xie2015_equivalents.csv)")
    p.add_argument("--mapping", type=Path, help="land type -> Xie class mapping (default: data/esv_landuse_mapping.csv)")
    p.add_argument("--standard-values", type=Path, help="SV_i by province (default: data/esv_standard_equivalent.csv)")
    p.add_argument("--grain-statistics", type=Path, help="CSV region,grain_yield_kg_per_ha with a 'national' row: SV_i from statistics")
    p.add_argument("--national-grain-value", type=float, help="national grain output value per ha (yuan/ha), with --grain-statistics")
    add_region_option(p)
    p.set_defaults(func=_cmd_esv)

    p = subparsers.add_parser("suitability", help="raster overlay of Table 1: afforestable mask, Table 2 areas, map")
    p.add_argument("--config", type=Path, required=True, help="TOML naming the input rasters (see docs/inputs_esv_and_suitability.md)")
    p.add_argument("--output", type=Path, required=True, help="directory for the mask, tables and figure")
    p.add_argument("--chunk-size", type=int, help="cells per chunk side (overrides the config)")
    p.add_argument("--scheduler", help="address of a dask.distributed scheduler (default: local threads)")
    p.add_argument("--no-figure", action="store_true", help="skip the map")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    add_region_option(p)
    p.set_defaults(func=_cmd_suitability)
