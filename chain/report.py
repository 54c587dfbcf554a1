"""``afforest report SCENARIO``: one scenario's whole chain as text, JSON and files (and ``solve --output``'s files).

The report is a view of :func:`afforest.chain.stages.run_chain`: the plan (headline area, where it lies), its
planting path per year and class, the carbon of that path, the supply curve and the cost-effectiveness table, with
figures (:mod:`afforest.plots.chain`). Comparing ``afforest report urgent`` or ``province_quotas`` with the baseline
shows what a scenario changes; ``afforest reproduce`` is the baseline's report held against the study.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from afforest.chain.results import LandUseResult
from afforest.chain.stages import ChainResult
from afforest.jsonsafe import finite, json_default

__all__ = [
    "PATH_COLUMN_UNITS",
    "landuse_path_dataset",
    "planting_by_year_and_class",
    "report_json",
    "report_text",
    "write_landuse_outputs",
    "write_report",
]


def planting_by_year_and_class(chain: ChainResult) -> pd.DataFrame:
    """The plan's planting path: area planted per calendar year and class (land type, province), 10^4 ha."""
    planting = chain.landuse.classes_planting
    start = chain.carbon.start_year if chain.carbon is not None else 0
    frame = planting.assign(year=start + planting["period_start_yr"])
    return (
        frame.groupby(["year", "land_type", "province"], as_index=False, sort=True)["planted_area_10k_ha"].sum()
        .reset_index(drop=True)
    )


def report_json(chain: ChainResult) -> dict[str, Any]:
    """Everything the report prints, as one JSON-ready object (units in the keys)."""
    out = chain.summary()
    out["allocation"] = chain.landuse.headline_allocation.to_dict(orient="records")
    out["planting_by_year_and_class"] = planting_by_year_and_class(chain).to_dict(orient="records")
    if chain.carbon is not None:
        out["carbon_by_pool"] = chain.carbon.cumulative.to_dict(orient="records")
        out["carbon_planned_by_class"] = chain.carbon.planned_by_class.to_dict(orient="records")
    if chain.supply is not None:
        out["supply_curve"] = chain.supply.table().to_dict(orient="records")
    return finite(out)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def report_text(chain: ChainResult) -> str:
    """The report as text for a terminal."""
    lu = chain.landuse
    lines = [
        f"scenario {chain.scenario.name}: land-use status {lu.status}"
        + (f" ({'; '.join(lu.suspect_reasons)})" if lu.suspect_reasons else ""),
        "",
        (
            f"Plan: {_fmt(chain.headline_area_10k_ha)} x 10^4 ha afforested ({lu.headline_representation}); analytic "
            f"{_fmt(lu.analytic_afforested_area_10k_ha)}, curves program {_fmt(lu.numeric_afforested_area_10k_ha)}, "
            f"classes program {_fmt(lu.classes_afforested_area_10k_ha)}"
        ),
    ]
    if chain.carbon is not None and chain.supply is not None:
        rate = chain.carbon.scenario_rate
        lines.append(
            f"  at the scenario's r_c = {rate:g}: the planned path stores {_fmt(chain.planned_carbon_mt_co2)} Mt CO2 by "
            f"{chain.carbon.end_year:g}; the plan's area costs {_fmt(chain.average_cost_yuan_per_t_co2)} yuan/t CO2 on average"
        )
    speed = chain.years_to_share()
    lines.append(
        "  years to 50 % / 90 % of the long-run area: curves "
        f"{_fmt(speed['years_to_50pct_curves'], 0)} / {_fmt(speed['years_to_90pct_curves'], 0)}, classes "
        f"{_fmt(speed['years_to_50pct_classes'], 0)} / {_fmt(speed['years_to_90pct_classes'], 0)}"
    )
    by_province = lu.headline_allocation.groupby("province")["area_10k_ha"].sum().sort_values(ascending=False)
    lines.append("  by province: " + ", ".join(f"{p} {_fmt(a)}" for p, a in by_province.items()))
    for rep, terms in chain.welfare_terms_10e8_yuan.items():
        if terms:
            lines.append(f"  welfare, {rep} (10^8 yuan): " + ", ".join(f"{t} {_fmt(v)}" for t, v in terms.items()))
    if chain.carbon is not None:
        c = chain.carbon
        lines += ["", f"Carbon by {c.end_year:g} (Mt CO2, discounted to {c.start_year} at r_c):"]
        for planting in ("planned_path", "curves_path", "year0"):
            values = ", ".join(f"r_c = {r:g}: {_fmt(c.total_mt_co2(planting, r))}" for r in c.carbon_discount_rates)
            lines.append(f"  {planting:<13} ({_fmt(c.planted_area_10k_ha(planting))} x 10^4 ha): {values}")
    if chain.supply is not None:
        lines += ["", f"Supply curve, the plan's {_fmt(chain.supply.plan_area_10k_ha)} x 10^4 ha from the cheapest classes:"]
        for rate in chain.supply.curves:
            s = chain.supply.at(rate)
            lines.append(
                f"  r_c = {rate:g}: {_fmt(s['carbon_mt_co2'])} Mt CO2 at {_fmt(s['average_cost_yuan_per_t_co2'])} yuan/t on "
                f"average ({_fmt(s['min_marginal_cost_yuan_per_t_co2'])}-{_fmt(s['max_marginal_cost_yuan_per_t_co2'])} marginal)"
            )
    if chain.cost_effectiveness is not None:
        lines += ["", "Cost-effective against each benchmark (classes no dearer than it):"]
        for row in chain.cost_effectiveness.table.itertuples():
            lines.append(
                f"  r_c = {row.carbon_discount_rate:g} vs {row.benchmark} ({_fmt(row.price_yuan_per_t_co2)} yuan/t): "
                f"{_fmt(row.area_10k_ha)} x 10^4 ha, {_fmt(row.carbon_mt_co2)} Mt CO2"
            )
    return "\n".join(lines)


def write_report(chain: ChainResult, output_dir: str | Path) -> list[Path]:
    """The chain's tables (CSV), the planting path per year and class, the JSON report and the figures."""
    import json

    from afforest.plots.chain import write_figures

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = chain.to_csv(out)
    path = out / "planting_by_year_and_class.csv"
    planting_by_year_and_class(chain).to_csv(path, index=False)
    written.append(path)
    path = out / "report.json"
    path.write_text(json.dumps(report_json(chain), indent=1, default=json_default) + "\n")
    written.append(path)
    return written + write_figures(chain, out, include_path=True)


PATH_COLUMN_UNITS: dict[str, str] = {
    "period_start_yr": "yr",
    "planting_rate_10k_ha_per_yr": "10^4 ha/yr",
    "unconverted_area_10k_ha": "10^4 ha",
    "afforested_area_10k_ha": "10^4 ha",
    "costate_pv_yuan_per_ha": "yuan/ha, present value at t = 0 (negative: a hectare left unconverted costs)",
    "costate_cv_yuan_per_ha": "yuan/ha, current value at the period's start",
}
"""Units of the path tables' columns, written as attributes of the NetCDF variables."""


def landuse_path_dataset(landuse: LandUseResult) -> Any:
    """Both programs' paths with their costates as one xarray Dataset on the dimension ``period_start_yr``;
    variables ``curves_<column>`` and ``classes_<column>``, each with its ``units`` attribute."""
    import xarray as xr

    variables: dict[str, Any] = {}
    coordinate = None
    for rep, path in (("curves", landuse.curves_path), ("classes", landuse.classes_path)):
        coordinate = path["period_start_yr"].to_numpy(float)
        for column in path.columns:
            if column == "period_start_yr":
                continue
            unit = PATH_COLUMN_UNITS.get(column, "")
            variables[f"{rep}_{column}"] = xr.Variable(
                "period_start_yr", path[column].to_numpy(float), attrs={"units": unit, "representation": rep}
            )
    dataset = xr.Dataset(variables, coords={"period_start_yr": ("period_start_yr", coordinate, {"units": "yr"})})
    dataset.attrs.update(
        scenario=landuse.scenario.name,
        scenario_hash=landuse.scenario.digest(),
        status=landuse.status,
        costate_sign_convention="the shadow price of one hectare of unconverted land; -tau(0) at a steady state",
    )
    return dataset


def write_landuse_outputs(landuse: LandUseResult, output_dir: str | Path) -> list[Path]:
    """``afforest solve --output DIR``: the paths with their costates (CSV, Parquet, and NetCDF with units), the
    classes' costates per class, the shadow prices of the policy constraints, the JSON summary and the phase
    diagram (the analytic saddle path with the curves program's path on it)."""
    import json

    from afforest.plots.phase import write_phase_diagram

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables = {"curves_path": landuse.curves_path, "classes_path": landuse.classes_path}
    if landuse.classes_costates is not None:
        tables["classes_costates"] = landuse.classes_costates
    tables["shadow_prices"] = pd.DataFrame(
        landuse.shadow_prices, columns=["representation", "constraint", "index", "value", "unit"]
    ).astype({"index": str})
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)
        frame.to_parquet(out / f"{name}.parquet", index=False)
        written += [out / f"{name}.csv", out / f"{name}.parquet"]
    path = out / "paths.nc"
    landuse_path_dataset(landuse).to_netcdf(path)
    written.append(path)
    path = out / "summary.json"
    path.write_text(json.dumps(finite(landuse.to_dict()), indent=1, default=json_default) + "\n")
    written.append(path)
    start = landuse.params.initial_area_10k_ha
    written.append(
        write_phase_diagram(
            landuse.params,
            out / "phase_diagram.png",
            planting_cost_intercept_yuan_per_ha=landuse.effective_planting_cost_yuan_per_ha,
            numerical_paths={"curves program": (start, landuse.curves_path)},
            title=f"Phase diagram, scenario {landuse.scenario.name}",
        )
    )
    return written
