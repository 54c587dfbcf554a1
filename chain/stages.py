"""The study's chain as code: inputs -> ESV -> land use -> carbon -> supply curve -> cost-effectiveness.

:func:`run_chain` runs the stages in order for any scenario and returns a :class:`ChainResult` holding one typed
result per stage. Every command is a view of it: ``afforest report`` prints and writes it, ``afforest reproduce``
holds the baseline's against the study (:mod:`afforest.chain.reproduce`), and a sweep point is one chain run on
a worker's re-used models (:func:`afforest.chain.sweep.solve_point`). The stages read nothing from disk: the
validated inputs come in once, as an :class:`~afforest.chain.bundle.InputBundle`.

Where each stage's maths lives: inputs :mod:`afforest.chain.inputs`; ESV :mod:`afforest.model.esv` and
:mod:`afforest.model.merit_order`; land use :mod:`afforest.chain.landuse` (models in :mod:`afforest.model.landuse`);
carbon :mod:`afforest.model.carbon`; supply curve and cost-effectiveness :mod:`afforest.model.supply_curve`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from afforest.chain.bundle import InputBundle, load_bundle
from afforest.chain.inputs import Inputs, bundle_for, resolve_inputs
from afforest.chain.results import LandUseResult, path_summary
from afforest.chain.row_stages import CARBON_PRICE_BENCHMARK, CarbonTotals, SupplyTotals, carbon_totals, supply_totals
from afforest.errors import InputError
from afforest.model.carbon import (
    cohort_sink,
    cohorts_from_rates,
    per_hectare_totals_by_class,
    zone_cohort_sink,
    cumulative_sink,
    per_hectare_totals,
    single_cohort,
    split_at_horizon,
)
from afforest.model.supply_curve import (
    AbatementConvention,
    CostDiscounting,
    abatement_costs,
    cost_effective,
    cost_summary,
    emission_intensity_t_co2_per_mwh,
    fill_supply_curve,
    supply_curve,
    thermal_emissions,
)
from afforest.scenarios import Scenario, load_scenario

__all__ = [
    "CHAIN_STAGE_NAMES",
    "PLANTINGS",
    "CARBON_PRICE_BENCHMARK",
    "CarbonStage",
    "ChainResult",
    "CostEffectivenessStage",
    "EsvStage",
    "SupplyCurveStage",
    "carbon_stage",
    "cost_effectiveness_stage",
    "dynamic_supply_curve",
    "esv_stage",
    "run_chain",
    "supply_curve_stage",
    "welfare_terms",
]

PLANTINGS: dict[str, str] = {
    "planned_path": "the classes dynamic program's planting, cohort by cohort (the plan)",
    "curves_path": "the curves dynamic program's planting (the study's fitted ESV curves)",
    "year0": "the study's assumption: the whole headline area planted in year 0",
}
"""Planting assumptions whose carbon the chain accounts, by name (the ``planting`` column of the carbon tables)."""
PLANTED_THRESHOLD_10K_HA = 1e-6
"""Below this final area nothing is planted and a path has no milestones (path_summary's threshold: 0.01 ha)."""
POLICY_CARBON_PRICE_BENCHMARK = "policy_carbon_price"
"""Name of the scenario's own carbon price (``policy.carbon_price_yuan_per_t_co2``) when it sets one."""


# -- stage results ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EsvStage:
    """Stage 2: the ESV per hectare that the land-use classes use, and the merit-order classes themselves."""

    classes: pd.DataFrame
    """Merit-order classes after the scenario's exclusions and opportunity-cost share (ranked by ESV)."""

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per class (land type x province): ``esv_yuan_per_ha_yr`` of the current use and
        ``afforested_esv_yuan_per_ha_yr`` after planting, yuan/(ha yr). Built when first read (a sweep row never
        reads it)."""
        columns = [c for c in ("rank", "slice", "land_type", "province", "area_10k_ha", "esv_yuan_per_ha_yr",
                               "afforested_esv_yuan_per_ha_yr") if c in self.classes.columns]
        return self.classes[columns].reset_index(drop=True)


@dataclass(frozen=True)
class CarbonStage:
    """Stage 4: the carbon of the planting paths (Mt CO2), by pool, at each carbon discount rate."""

    carbon_discount_rates: tuple[float, ...]
    """The study's rates (0 and 5 %) and the scenario's own r_c."""
    scenario_rate: float
    """r_c of the scenario's carbon section (the study's 0 when unset)."""
    start_year: int
    horizon_yr: float
    per_hectare: pd.DataFrame
    """carbon_discount_rate, pool, sink_t_co2_per_ha: one hectare planted in year 0, accumulated to the horizon."""
    yearly: pd.DataFrame
    """planting, carbon_discount_rate, year, period_start_yr, period_end_yr, pool, sink_mt_co2, discounted_sink_mt_co2."""
    cumulative: pd.DataFrame
    """planting, carbon_discount_rate, pool, sink_mt_co2, discounted_sink_mt_co2: accumulated by the horizon."""
    planned_by_class: pd.DataFrame
    """The planned path's cumulative sink by land_type, province, carbon_discount_rate and pool."""
    plantings: pd.DataFrame
    """planting, planted_area_10k_ha (cohorts before the horizon), planted_after_horizon_10k_ha (they store nothing)."""

    @property
    def end_year(self) -> float:
        """Calendar year the accounts close (2060 in the study)."""
        return self.start_year + self.horizon_yr

    def per_hectare_total_t_co2(self, rate: float) -> float:
        """Sink of one planted hectare by the horizon at r_c, all pools, t CO2/ha."""
        rows = self.per_hectare[self.per_hectare["carbon_discount_rate"] == rate]
        if rows.empty:
            raise InputError(f"no carbon at this r_c; the chain accounted {self.carbon_discount_rates}",
                             field="carbon_discount_rate", value=rate)
        return float(rows["sink_t_co2_per_ha"].sum())

    def total_mt_co2(self, planting: str, rate: float) -> float:
        """Cumulative sink of a planting by the horizon at r_c (discounted to year 0), all pools, Mt CO2."""
        return float(self.by_pool_mt_co2(planting, rate).sum())

    def by_pool_mt_co2(self, planting: str, rate: float) -> pd.Series:
        """Cumulative sink of a planting by the horizon at r_c, by pool, Mt CO2."""
        rows = self.cumulative[(self.cumulative["planting"] == planting) & (self.cumulative["carbon_discount_rate"] == rate)]
        if rows.empty:
            if planting not in PLANTINGS:
                raise InputError(f"unknown planting; expected one of {list(PLANTINGS)}", field="planting", value=planting)
            raise InputError(f"no carbon at this r_c; the chain accounted {self.carbon_discount_rates}",
                             field="carbon_discount_rate", value=rate)
        return rows.set_index("pool")["discounted_sink_mt_co2"]

    def planted_area_10k_ha(self, planting: str) -> float:
        """Area a planting puts in the ground before the horizon, 10^4 ha."""
        return float(self.plantings.set_index("planting").loc[planting, "planted_area_10k_ha"])


@dataclass(frozen=True)
class SupplyCurveStage:
    """Stage 5: the merit-order carbon supply curve at each r_c, and the cost of the plan's area."""

    discounting: CostDiscounting
    curves: dict[float, pd.DataFrame]
    """r_c -> the supply curve (classes sorted by marginal cost, yuan/t CO2, with cumulative area and carbon)."""
    plan_area_10k_ha: float
    """The headline area (capped at the classes' total), supplied from the cheapest classes."""
    summary: pd.DataFrame
    """One row per r_c: area, carbon, PV cost, min/max marginal and average cost of supplying the plan's area."""

    def at(self, rate: float) -> dict[str, float]:
        """The summary row at r_c as a dict."""
        rows = self.summary[self.summary["carbon_discount_rate"] == rate]
        if rows.empty:
            rates = sorted(float(r) for r in self.summary["carbon_discount_rate"].unique())
            raise InputError(f"no supply curve at this r_c; the chain drew them at {rates}",
                             field="carbon_discount_rate", value=rate)
        return {k: float(v) for k, v in rows.iloc[0].items()}

    def cost_effective_area_10k_ha(self, rate: float, price_yuan_per_t_co2: float) -> float:
        """Area of the classes whose marginal cost at r_c is at most the price (the cost-effectiveness table's)."""
        self.at(rate)
        return cost_summary(cost_effective(self.curves[rate], price_yuan_per_t_co2))["area_10k_ha"]

    def table(self) -> pd.DataFrame:
        """Every curve in one tidy table (column ``carbon_discount_rate``)."""
        return pd.concat([c.assign(carbon_discount_rate=r) for r, c in self.curves.items()], ignore_index=True)


@dataclass(frozen=True)
class CostEffectivenessStage:
    """Stage 6: the supply curve against each power-sector abatement option and the carbon price."""

    fuels: pd.DataFrame
    """Thermal fuels with their emissions (Table 5)."""
    emissions_10k_t_co2: float
    intensity_t_co2_per_mwh: float
    power: pd.DataFrame
    """Abatement cost of each option, by convention (gross: the study's; net of the thermal cost avoided)."""
    benchmarks: dict[str, float]
    """Benchmark -> price, yuan/t CO2: the gross options and the carbon price."""
    table: pd.DataFrame
    """carbon_discount_rate, benchmark, price_yuan_per_t_co2 and the area, carbon and costs of the classes
    cheaper than it (the cost-effective part of the supply curve)."""


@dataclass
class ChainResult:
    """One scenario through the whole chain, stage by stage; what a notebook explores.

    ``tables()`` gives every result as a tidy DataFrame, ``plot_*`` draws it, ``to_csv``, ``to_parquet`` and
    ``to_netcdf`` write it.
    """

    scenario: Scenario
    inputs: Inputs
    esv: EsvStage
    landuse: LandUseResult
    welfare_terms_10e8_yuan: dict[str, dict[str, float]]
    """Representation -> named welfare term -> value at the optimum, 10^8 yuan (PV)."""
    carbon: CarbonStage | CarbonTotals | None = None
    """The carbon stage: its tables, or (``run_chain(tables=False)``) the totals a sweep row reads."""
    supply: SupplyCurveStage | SupplyTotals | None = None
    cost_effectiveness: CostEffectivenessStage | None = None
    bundle: InputBundle | None = field(default=None, repr=False)

    # -- headline numbers ----------------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """The land-use result's status: ``ok`` or ``suspect``."""
        return self.landuse.status

    @property
    def headline_area_10k_ha(self) -> float:
        return self.landuse.headline_afforested_area_10k_ha

    @property
    def planned_carbon_mt_co2(self) -> float:
        """Carbon of the planned path by the horizon at the scenario's r_c, Mt CO2."""
        return self._carbon.total_mt_co2("planned_path", self._carbon.scenario_rate)

    @property
    def average_cost_yuan_per_t_co2(self) -> float:
        """Average cost of the plan's area at the scenario's r_c, yuan/t CO2."""
        return self._supply.at(self._carbon.scenario_rate)["average_cost_yuan_per_t_co2"]

    def years_to_share(self) -> dict[str, float | None]:
        """Years to 50 % and 90 % of each program's long-run area (``curves`` and ``classes`` planting paths):
        :func:`~afforest.chain.results.path_summary`'s milestones, on the paths' arrays (a sweep row asks it of
        every point; tests/test_chain_caches.py holds the two equal)."""
        step = float(self.scenario.numerics.step_yr)
        out: dict[str, float | None] = {}
        for rep, path in (("curves", self.landuse.curves_path), ("classes", self.landuse.classes_path)):
            area = path["afforested_area_10k_ha"].to_numpy()
            start = path["period_start_yr"].to_numpy()
            final = float(area[-1])
            for pct in (50, 90):
                reached = np.flatnonzero(area >= pct / 100 * final)
                out[f"years_to_{pct}pct_{rep}"] = (float(start[reached[0]] + step)
                                                   if final > PLANTED_THRESHOLD_10K_HA and reached.size else None)
        return out

    def summary(self) -> dict[str, Any]:
        """Headline numbers, JSON-ready (units in the keys)."""
        self._check_tables()
        out: dict[str, Any] = {
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario.digest(),
            "status": self.status,
            "suspect_reasons": self.landuse.suspect_reasons,
            "headline_representation": self.landuse.headline_representation,
            "headline_area_10k_ha": self.headline_area_10k_ha,
            "analytic_afforested_area_10k_ha": self.landuse.analytic_afforested_area_10k_ha,
            "numeric_afforested_area_10k_ha": self.landuse.numeric_afforested_area_10k_ha,
            "classes_afforested_area_10k_ha": self.landuse.classes_afforested_area_10k_ha,
            "financial_discount_rate": self.inputs.params.financial_discount_rate,
            "welfare_10e8_yuan": self.welfare_terms_10e8_yuan,
            **self.years_to_share(),
        }
        if self.carbon is not None:
            c = self.carbon
            out["carbon_discount_rate"] = c.scenario_rate
            out["carbon_end_year"] = c.end_year
            out["planned_path_planted_10k_ha"] = c.planted_area_10k_ha("planned_path")
            out["cumulative_sink_mt_co2"] = {
                planting: {f"{r:g}": c.total_mt_co2(planting, r) for r in c.carbon_discount_rates} for planting in PLANTINGS
            }
        if self.supply is not None:
            out["supply"] = {f"{r:g}": self.supply.at(r) for r in self.supply.curves}
        if self.cost_effectiveness is not None:
            out["cost_effectiveness"] = self.cost_effectiveness.table.to_dict(orient="records")
        return out

    def __repr__(self) -> str:
        lines = [
            f"ChainResult(scenario={self.scenario.name!r}, status={self.status!r})",
            (
                f"  land use: {self.headline_area_10k_ha:.2f} x 10^4 ha ({self.landuse.headline_representation}; "
                f"analytic {self.landuse.analytic_afforested_area_10k_ha:.2f}, curves "
                f"{self.landuse.numeric_afforested_area_10k_ha:.2f}, classes {self.landuse.classes_afforested_area_10k_ha:.2f})"
            ),
        ]
        if self.carbon is not None:
            c = self.carbon
            lines.append(
                f"  carbon by {c.end_year:g} at r_c = {c.scenario_rate:g}: {self.planned_carbon_mt_co2:.2f} Mt CO2 on the "
                f"planned path ({c.planted_area_10k_ha('planned_path'):.2f} x 10^4 ha planted), "
                f"{c.total_mt_co2('year0', c.scenario_rate):.2f} if all planted in year 0"
            )
        if self.supply is not None and self.carbon is not None:
            s = self.supply.at(self.carbon.scenario_rate)
            lines.append(
                f"  cost: {s['average_cost_yuan_per_t_co2']:.2f} yuan/t CO2 on average "
                f"({s['min_marginal_cost_yuan_per_t_co2']:.2f}-{s['max_marginal_cost_yuan_per_t_co2']:.2f} marginal)"
            )
        lines.append("  .tables(), .plot_path(), .plot_allocation(), .plot_carbon(), .plot_supply_curve(), .to_csv(dir)")
        return "\n".join(lines)

    # -- tables --------------------------------------------------------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every stage's result as a tidy table, by name (units in the column names)."""
        self._check_tables()
        lu = self.landuse
        paths = pd.concat(
            [lu.curves_path.assign(representation="curves"), lu.classes_path.assign(representation="classes")],
            ignore_index=True,
        )
        welfare = pd.DataFrame(
            [
                {"representation": rep, "term": term, "welfare_10e8_yuan": value}
                for rep, terms in self.welfare_terms_10e8_yuan.items()
                for term, value in terms.items()
            ],
            columns=["representation", "term", "welfare_10e8_yuan"],
        )
        summary = {k: v for k, v in self.summary().items() if not isinstance(v, (dict, list))}
        out = {
            "summary": pd.DataFrame([summary]),
            "esv": self.esv.table,
            "classes": self.esv.classes,
            "allocation": lu.headline_allocation,
            "planting_path": paths,
            "planting_by_class": lu.classes_planting,
            "welfare": welfare,
        }
        if self.carbon is not None:
            out.update(
                {
                    "carbon_per_hectare": self.carbon.per_hectare,
                    "carbon_yearly": self.carbon.yearly,
                    "carbon_cumulative": self.carbon.cumulative,
                    "carbon_planned_by_class": self.carbon.planned_by_class,
                    "plantings": self.carbon.plantings,
                }
            )
        if self.supply is not None:
            out["supply_curve"] = self.supply.table()
            out["supply_summary"] = self.supply.summary
        if self.cost_effectiveness is not None:
            out["power_sector"] = self.cost_effectiveness.power
            out["cost_effectiveness"] = self.cost_effectiveness.table
        return {name: frame.reset_index(drop=True) for name, frame in out.items()}

    # -- writers -------------------------------------------------------------------------------------------
    def to_csv(self, directory: str | Path) -> list[Path]:
        """Each table as ``DIR/<name>.csv``."""
        from afforest.chain.tables import write_csv

        return write_csv(self.tables(), directory)

    def to_parquet(self, directory: str | Path) -> list[Path]:
        """Each table as ``DIR/<name>.parquet``."""
        from afforest.chain.tables import write_parquet

        return write_parquet(self.tables(), directory)

    def to_netcdf(self, path: str | Path) -> Path:
        """Every table in one NetCDF file (one dimension per table; :func:`afforest.chain.tables.read_netcdf`
        reads it back as the same tables)."""
        from afforest.chain.tables import write_netcdf

        return write_netcdf(self.tables(), path, attrs={"scenario": self.scenario.name, "scenario_hash": self.scenario.digest()})

    # -- plots ---------------------------------------------------------------------------------------------
    def plot_path(self, ax: Any = None) -> Any:
        """Planting path of both programs (area afforested and planting rate by year); returns the Figure."""
        from afforest.plots.chain import plot_path

        return plot_path(self, ax)

    def plot_allocation(self, study_area_10k_ha: float | None = None) -> Any:
        """Merit order of the classes and where the plan lies by province and land type (Fig. 2)."""
        from afforest.plots.chain import plot_allocation

        return plot_allocation(self, study_area_10k_ha)

    def plot_carbon(self) -> Any:
        """Yearly sink by pool at each r_c, year-0 assumption vs the programs' paths (Fig. 3)."""
        from afforest.plots.chain import plot_carbon

        return plot_carbon(self)

    def plot_supply_curve(self) -> Any:
        """Supply curves at each r_c against the power-sector abatement costs and the carbon price (Fig. 4)."""
        from afforest.plots.chain import plot_supply_curve

        return plot_supply_curve(self)

    def _check_tables(self) -> None:
        if isinstance(self.carbon, CarbonTotals) or isinstance(self.supply, SupplyTotals):
            raise InputError("this chain ran without its tables (a sweep row's); run it with tables=True", field="tables")

    @property
    def _carbon(self) -> CarbonStage | CarbonTotals:
        if self.carbon is None:
            raise InputError("this chain stopped before the carbon stage; run it with a later until", field="until")
        return self.carbon

    @property
    def _supply(self) -> SupplyCurveStage | SupplyTotals:
        if self.supply is None:
            raise InputError("this chain stopped before the supply-curve stage; run it with a later until", field="until")
        return self.supply


# -- the stages ---------------------------------------------------------------------------------------------


def esv_stage(inputs: Inputs) -> EsvStage:
    """The per-hectare ESV of every class as the land-use models see it (after the scenario's switches)."""
    return EsvStage(classes=inputs.classes)


def carbon_stage(landuse: LandUseResult, bundle: InputBundle, rates: tuple[float, ...], scenario_rate: float,
                 *, plantings: tuple[str, ...] | None = None, by_class: bool = True) -> CarbonStage:
    """Carbon of the planned path (classes cohorts), the curves path and the year-0 assumption, at each rate.

    ``plantings`` (default: all of :data:`PLANTINGS`) and ``by_class`` (the planned path by class) restrict the
    tables to what a caller reads (a sweep row: the planned path alone, :func:`run_chain` with ``tables=False``);
    every number computed is the same as in the full stage."""
    params = landuse.scenario.carbon.parameters(bundle.carbon_parameters)  # calibration, hazard, buffer
    horizon = params.horizon_yr
    step = float(landuse.scenario.numerics.step_yr)
    # The accounts run on whole years (the study's) whenever the programs' periods start on them; a finer grid
    # (e.g. step_yr = 0.5) is accounted on its own periods.
    accounting_step = 1.0 if step.is_integer() else step
    planned, planned_late = split_at_horizon(landuse.classes_planting, horizon)
    # Ipopt may leave a rate it drives to its bound at -1e-8 (its bound_relax_factor; seen under a carbon target):
    # nothing is planted there
    curves_cohorts = cohorts_from_rates(landuse.curves_path, step)
    curves_cohorts["planted_area_10k_ha"] = curves_cohorts["planted_area_10k_ha"].clip(lower=0.0)
    curves, curves_late = split_at_horizon(curves_cohorts, horizon)
    paths = {"planned_path": planned, "curves_path": curves, "year0": single_cohort(landuse.headline_afforested_area_10k_ha)}
    late = {"planned_path": planned_late, "curves_path": curves_late, "year0": 0.0}
    if plantings is not None:
        unknown = [name for name in plantings if name not in paths]
        if unknown:
            raise InputError(f"unknown planting; expected some of {list(PLANTINGS)}", field="plantings", value=unknown)
        paths = {name: path for name, path in paths.items() if name in plantings}
    zone_sink_needed = by_class or ("planned_path" in paths and bundle.growth_by_zone is not None)
    per_ha, yearly, cumulative, classes_by_class = [], [], [], []
    for rate in rates:
        per_ha.append(
            per_hectare_totals(params, rate).rename("sink_t_co2_per_ha").rename_axis("pool").reset_index()
            .assign(carbon_discount_rate=rate)
        )
        # the plan's cohorts know their zone and land type: each grows on its own curve where the region gives one
        classes_sink = (zone_cohort_sink(planned, params, bundle.growth_by_zone, rate, step_yr=accounting_step)
                        if zone_sink_needed else None)
        for name, path in paths.items():
            if name == "planned_path" and bundle.growth_by_zone is not None:
                sink = classes_sink.groupby(["period_start_yr", "period_end_yr", "year", "pool"], as_index=False,
                                            sort=False, observed=True)[["sink_mt_co2", "discounted_sink_mt_co2"]].sum()
            else:
                sink = cohort_sink(path, params, rate, step_yr=accounting_step)
            total = cumulative_sink(sink, horizon)
            yearly.append(sink.assign(planting=name, carbon_discount_rate=rate))
            cumulative.append(total.assign(planting=name, carbon_discount_rate=rate))
        if by_class:
            classes_by_class.append(cumulative_sink(classes_sink, horizon, by=("land_type", "province", "pool"))
                                    .assign(carbon_discount_rate=rate))

    def tidy(frames: list[pd.DataFrame], first: list[str]) -> pd.DataFrame:
        frame = pd.concat(frames, ignore_index=True)
        if "pool" in frame:
            frame["pool"] = frame["pool"].astype(str)
        return frame[first + [c for c in frame.columns if c not in first]]

    return CarbonStage(
        carbon_discount_rates=rates,
        scenario_rate=scenario_rate,
        start_year=params.start_year,
        horizon_yr=horizon,
        per_hectare=tidy(per_ha, ["carbon_discount_rate", "pool"]),
        yearly=tidy(yearly, ["planting", "carbon_discount_rate"]),
        cumulative=tidy(cumulative, ["planting", "carbon_discount_rate", "pool"]),
        planned_by_class=(tidy(classes_by_class, ["land_type", "province", "carbon_discount_rate", "pool"]) if by_class
                          else pd.DataFrame(columns=["land_type", "province", "carbon_discount_rate", "pool",
                                                     "sink_mt_co2", "discounted_sink_mt_co2"])),
        plantings=pd.DataFrame(
            [
                {"planting": name, "planted_area_10k_ha": float(path["planted_area_10k_ha"].sum()),
                 "planted_after_horizon_10k_ha": late[name], "description": PLANTINGS[name]}
                for name, path in paths.items()
            ]
        ),
    )


def supply_curve_stage(
    classes: pd.DataFrame, financial_discount_rate: float, plan_area_10k_ha: float, carbon: CarbonStage, bundle: InputBundle,
    carbon_parameters: Any = None,
) -> SupplyCurveStage:
    """The supply curve of ``classes`` at each r_c of ``carbon``, and the cost of supplying the plan's area
    (capped at the classes' total) from the cheapest classes. Where the region gives growth by zone
    (``bundle.growth_by_zone``) and ``carbon_parameters`` (the scenario's) are given, each class's carbon per hectare
    is its own zone's."""
    discounting = CostDiscounting.from_study(financial_discount_rate, bundle.cost_effectiveness)

    def per_ha(r: float) -> Any:
        if bundle.growth_by_zone is None or carbon_parameters is None:
            return carbon.per_hectare_total_t_co2(r)
        return per_hectare_totals_by_class(carbon_parameters, bundle.growth_by_zone, classes, r)

    curves = {r: supply_curve(classes, bundle.direct_costs, per_ha(r), discounting) for r in carbon.carbon_discount_rates}
    area = min(plan_area_10k_ha, float(classes["area_10k_ha"].sum()))
    summary = pd.DataFrame(
        [{"carbon_discount_rate": r, **cost_summary(fill_supply_curve(c, area))} for r, c in curves.items()]
    )
    return SupplyCurveStage(discounting=discounting, curves=curves, plan_area_10k_ha=area, summary=summary)


def cost_effectiveness_stage(
    supply: SupplyCurveStage, bundle: InputBundle, extra_benchmarks: Mapping[str, float] | None = None
) -> CostEffectivenessStage:
    """Power-sector abatement costs (Table 5) and the part of each supply curve cheaper than each of them, the
    carbon market's price and any ``extra_benchmarks`` (name -> yuan/t CO2, e.g. a scenario's own carbon price)."""
    cep = bundle.cost_effectiveness
    fuels = thermal_emissions(bundle.power_fuels)
    emissions = float(fuels["emissions_10k_t_co2"].sum())
    intensity = emission_intensity_t_co2_per_mwh(emissions, cep.thermal_generation_10e8_kwh)
    power = pd.concat(
        [abatement_costs(bundle.power_technologies, intensity, c).assign(convention=c.value) for c in AbatementConvention],
        ignore_index=True,
    )
    gross = power[power["convention"] == AbatementConvention.GROSS.value].set_index("option")
    benchmarks = {str(option): float(gross.loc[option, "abatement_cost_yuan_per_t_co2"]) for option in gross.index}
    benchmarks[CARBON_PRICE_BENCHMARK] = cep.carbon_price_yuan_per_t_co2
    benchmarks.update({str(k): float(v) for k, v in (extra_benchmarks or {}).items()})
    rows = []
    for rate, curve in supply.curves.items():
        for name, price in benchmarks.items():
            chosen = cost_summary(cost_effective(curve, price))
            rows.append({"carbon_discount_rate": rate, "benchmark": name, "price_yuan_per_t_co2": price, **chosen})
    return CostEffectivenessStage(
        fuels=fuels,
        emissions_10k_t_co2=emissions,
        intensity_t_co2_per_mwh=intensity,
        power=power,
        benchmarks=benchmarks,
        table=pd.DataFrame(rows),
    )


def welfare_terms(models: Any) -> dict[str, dict[str, float]]:
    """Each named welfare term of each solved representation, 10^8 yuan (PV): :func:`afforest.chain.landuse.welfare_terms`
    (imported when called: this module stays light)."""
    from afforest.chain.landuse import welfare_terms as terms

    return terms(models)


DYNAMIC_SUPPLY_SHARES: tuple[float, ...] = (0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
"""Default targets of :func:`dynamic_supply_curve`, as shares of the largest reachable target (beyond about 0.95
the marginal cost rises steeply towards planting everything at once)."""


def dynamic_supply_curve(
    scenario: Scenario | str,
    targets_mt_co2: Any = None,
    *,
    representation: str = "classes",
    bundle: InputBundle | None = None,
) -> pd.DataFrame:
    """The optimisation-based, dynamic carbon supply curve: for each carbon target X (Mt CO2, the scenario's
    ``policy.carbon_target_*`` accounts; default 2060, r_c = 0, cumulative) the optimal plan that reaches it and the
    target's dual, the marginal cost of carbon (yuan/t CO2, PV at the start year). One model, built once: each
    point assigns the target's mutable param and solves again (afforest.model.carbon_policy, switch
    ``carbon_target``). Columns: target, marginal cost, area afforested by T and by the target year, years to 50 % /
    90 % of it, welfare (10^8 yuan, without carbon), the Pontryagin residual, solver status. ``targets_mt_co2``:
    default :data:`DYNAMIC_SUPPLY_SHARES` of the largest reachable target."""
    from afforest.chain.landuse import build_models
    from afforest.model.carbon_policy import max_reachable_mt_co2
    from afforest.model.costates import pontryagin_certificate
    from afforest.model.formulations import get_switch, switch_values, update_switch
    from afforest.model.landuse import planting_path
    from afforest.solvers import SolverStatus, solve

    if representation not in ("curves", "classes"):
        raise InputError("must be curves or classes", field="--representation", value=representation)
    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(scenario)
    bundle = bundle or load_bundle(scenario.inputs.afforestable_area_file, scenario.inputs.region)
    probe = scenario.with_overrides({"policy.carbon_target_mt_co2": 0.0})
    inputs = resolve_inputs(probe, bundle)
    data = inputs.switch_data
    coefficients = data.extra["carbon_target_t_co2_per_ha_by_period"]
    area = inputs.params.initial_area_10k_ha if representation == "curves" else float(inputs.classes["area_10k_ha"].sum())
    cap = scenario.policy.annual_planting_cap_10k_ha_per_yr
    reachable = max_reachable_mt_co2(coefficients, inputs.grid.step_yr, area, cap)
    if targets_mt_co2 is None:
        targets_mt_co2 = [share * reachable for share in DYNAMIC_SUPPLY_SHARES]
    model = getattr(build_models(inputs), representation)
    values = switch_values(get_switch("carbon_target"), probe.policy)
    year = probe.policy.carbon_target_year
    horizon_to_year = None if year is None else year - bundle.carbon_parameters.start_year
    shift = inputs.effective_planting_cost_yuan_per_ha - inputs.params.planting_cost_intercept_yuan_per_ha
    rows = []
    for target in targets_mt_co2:
        update_switch(model, "carbon_target", {**values, "carbon_target_mt_co2": float(target)}, data)
        result = solve(model, scenario.solver.nlp if representation == "curves" else scenario.solver.qp, allow_nonoptimal=True)
        row: dict[str, Any] = {"carbon_target_mt_co2": float(target), "status": result.status.value,
                               "largest_reachable_mt_co2": reachable, "representation": representation}
        if result.status is SolverStatus.OPTIMAL:
            path = planting_path(model)
            final = float(path["afforested_area_10k_ha"].iloc[-1])
            by_year = final if horizon_to_year is None else float(
                path.loc[path["period_start_yr"] < horizon_to_year, "planting_rate_10k_ha_per_yr"].sum() * inputs.grid.step_yr)
            summary = path_summary(path, inputs.grid.step_yr)
            dual = float(result.duals.get(model.carbon_target.carbon_target, float("nan")))
            row.update({
                "marginal_cost_yuan_per_t_co2": -dual * 1e4,  # 10^8 yuan per 10^4 t CO2 -> yuan/t
                "afforested_area_10k_ha": final,
                "afforested_by_target_year_10k_ha": by_year,
                "years_to_50pct": summary["years_to_50pct"],
                "years_to_90pct": summary["years_to_90pct"],
                "first_year_rate_10k_ha_per_yr": summary["first_period_rate_10k_ha_per_yr"],
                "welfare_10e8_yuan": float(result.objective),
                "pontryagin_max_residual": pontryagin_certificate(model, result.duals, shift).max_residual,
            })
        rows.append(row)
    return pd.DataFrame(rows)


def run_chain(
    scenario: Scenario | str = "baseline",
    *,
    bundle: InputBundle | None = None,
    models: Any = None,
    inputs: Inputs | None = None,
    tee: bool = False,
    allow_nonoptimal: bool = False,
    until: str = "cost_effectiveness",
    engine: str = "pyomo",
    tables: bool = True,
    timings: dict[str, float] | None = None,
) -> ChainResult:
    """Run the chain for ``scenario`` and return every stage's result.

    ``bundle``: the validated inputs (read once per process by default). ``models``: land-use models built by
    :func:`~afforest.chain.landuse.build_models` (or updated by ``update_models``) for this scenario, which a sweep
    re-uses; ``inputs``: the scenario's resolved inputs when the caller already has them. ``until`` stops after
    ``landuse``, ``carbon`` or ``supply_curve`` (the later stages are then None). A land-use solve that stops
    short of an optimum raises :class:`~afforest.errors.SolverError` unless ``allow_nonoptimal``. ``engine``: what
    solves the land-use programs, ``pyomo`` (the reference, default), ``fast`` or ``auto``
    (:mod:`afforest.chain.fast_path`; ``result.landuse.landuse_path`` says which ran). ``tables=False``: only
    what a sweep row reads (:func:`afforest.chain.sweep.chain_outputs`), with the same values: the totals of the
    planned path's carbon and of the supply curve at each r_c (:mod:`afforest.chain.row_stages`, arrays, no
    tables), no cost-effectiveness table (a row asks the supply curve its cost-effective areas). ``timings``: a dict
    that receives each stage's wall time in seconds, keyed by :data:`CHAIN_STAGE_NAMES` (bench/fast_path.py reads it).
    """
    from afforest.chain.fast_path import solve_landuse_stage

    stages = ("landuse", "carbon", "supply_curve", "cost_effectiveness")
    if until not in stages:
        raise InputError(f"must be one of {stages}", field="until", value=until)
    if isinstance(scenario, (str, Path)):
        scenario = load_scenario(scenario)
    bundle = bundle_for(scenario, bundle)  # the scenario's region's data, whatever a caller passed
    if inputs is None:
        inputs = resolve_inputs(scenario, bundle)
    clock = _StageClock(timings)
    esv = esv_stage(inputs)
    clock.lap("esv")
    landuse, welfare, _ = solve_landuse_stage(inputs, engine, models=models, tee=tee, allow_nonoptimal=allow_nonoptimal)
    clock.lap("landuse")
    result = ChainResult(
        scenario=scenario,
        inputs=inputs,
        esv=esv,
        landuse=landuse,
        welfare_terms_10e8_yuan=welfare,
        bundle=bundle,
    )
    if until == "landuse":
        return result
    scenario_rate = float(scenario.carbon.carbon_discount_rate or 0.0)
    rates = tuple(sorted({*bundle.carbon_discount_rates, scenario_rate}))
    if tables:
        result.carbon = carbon_stage(landuse, bundle, rates, scenario_rate)
    else:
        result.carbon = carbon_totals(landuse, bundle, rates, scenario_rate)
    clock.lap("carbon")
    if until == "carbon":
        return result
    supply = supply_curve_stage if tables else supply_totals
    result.supply = supply(
        inputs.classes, inputs.params.financial_discount_rate, landuse.headline_afforested_area_10k_ha, result.carbon, bundle,
        scenario.carbon.parameters(bundle.carbon_parameters),
    )
    clock.lap("supply_curve")
    if until == "supply_curve" or not tables:
        return result
    price = scenario.policy.carbon_price_yuan_per_t_co2
    extra = {POLICY_CARBON_PRICE_BENCHMARK: price} if price > 0 else {}
    result.cost_effectiveness = cost_effectiveness_stage(result.supply, bundle, extra)
    clock.lap("cost_effectiveness")
    return result


CHAIN_STAGE_NAMES = ("esv", "landuse", "carbon", "supply_curve", "cost_effectiveness")
"""The keys of :func:`run_chain`'s ``timings``: its stages in order (the inputs are resolved before them)."""


class _StageClock:
    """Wall time of each stage of :func:`run_chain` into a caller's dict (nothing when there is none)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings, self.since = timings, time.perf_counter()

    def lap(self, stage: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[stage] = now - self.since
            self.since = now


