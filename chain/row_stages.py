"""The chain's carbon, supply-curve and cost-effectiveness stages as a sweep row reads them: totals from numpy arrays,
no tables (``run_chain(..., tables=False)``, which :func:`afforest.chain.sweep.solve_point` runs).

:class:`CarbonTotals` and :class:`SupplyTotals` answer the questions :func:`afforest.chain.sweep.chain_outputs` asks
of :class:`~afforest.chain.stages.CarbonStage` and :class:`~afforest.chain.stages.SupplyCurveStage`, with the same
methods and the same numbers (1e-12 relative, tests/test_chain_caches.py): carbon of the planned path by the
horizon as a dot product with cached per-hectare schedules (:mod:`afforest.model.carbon_schedule`); the supply curve
as a sort of the classes by marginal cost, cumulative sums and one search per benchmark price, the arithmetic of
:mod:`afforest.model.supply_curve` on arrays. The full chain keeps the tables (``tables=True``, the default).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from afforest.chain.bundle import InputBundle
from afforest.errors import InputError
from afforest.model.carbon import MT_PER_10K_T, before_horizon
from afforest.model.carbon_schedule import (
    cached_by_value,
    clear_carbon_caches,
    frame_key,
    growths_of,
    per_hectare_pool_totals_t_co2,
    planted_sink_mt_co2,
)
from afforest.model.supply_curve import (
    AbatementConvention,
    CostDiscounting,
    abatement_costs,
    emission_intensity_t_co2_per_mwh,
    present_value_direct_costs,
    thermal_emissions,
)

__all__ = [
    "CARBON_PRICE_BENCHMARK",
    "CarbonTotals",
    "SupplyTotals",
    "carbon_totals",
    "clear_row_caches",
    "power_benchmarks",
    "supply_totals",
]

CARBON_PRICE_BENCHMARK = "carbon_price"
"""Name of the carbon-market benchmark beside the power-sector options in the cost-effectiveness table."""
PLANNED_PATH = "planned_path"
"""The one planting a row accounts (:data:`afforest.chain.stages.PLANTINGS`)."""
YUAN_PER_10E8_YUAN = 1e8
HA_PER_10K_HA = 1e4
"""ha in 10^4 ha: 10^4 ha x yuan/ha = 10^4 yuan (cost_summary's conversion, in its order: x 1e4 / 1e8)."""
T_PER_MT = 1e6
AREA_SLACK = 1e-12
"""fill_supply_curve accepts an area up to the curve's total times (1 + this): rounding of the sum."""


def clear_row_caches() -> None:
    """Forget the cached present values, benchmark prices and carbon schedules (they live in one set of caches)."""
    clear_carbon_caches()


@dataclass(frozen=True)
class CarbonTotals:
    """The carbon stage's totals a sweep row reads: the planned path's sink by the horizon at each rate, and one
    hectare's (the methods of :class:`~afforest.chain.stages.CarbonStage`, with its numbers)."""

    carbon_discount_rates: tuple[float, ...]
    scenario_rate: float
    start_year: int
    horizon_yr: float
    per_hectare_t_co2: Mapping[float, float]
    """r_c -> sink of one hectare planted in year 0 by the horizon, all pools, t CO2/ha."""
    planned_path_mt_co2: Mapping[float, float]
    """r_c -> sink of the planned path by the horizon, all pools, Mt CO2."""
    planned_path_planted_10k_ha: float

    @property
    def end_year(self) -> float:
        return self.start_year + self.horizon_yr

    def _check_rate(self, rate: float, known: Mapping[float, float]) -> float:
        if rate not in known:
            raise InputError(f"no carbon at this r_c; the chain accounted {self.carbon_discount_rates}",
                             field="carbon_discount_rate", value=rate)
        return known[rate]

    def per_hectare_total_t_co2(self, rate: float) -> float:
        return self._check_rate(rate, self.per_hectare_t_co2)

    def total_mt_co2(self, planting: str, rate: float) -> float:
        if planting != PLANNED_PATH:
            raise InputError(f"a row-only chain accounts the {PLANNED_PATH} alone (run_chain(tables=True): every planting)",
                             field="planting", value=planting)
        return self._check_rate(rate, self.planned_path_mt_co2)

    def planted_area_10k_ha(self, planting: str) -> float:
        if planting != PLANNED_PATH:
            raise InputError(f"a row-only chain accounts the {PLANNED_PATH} alone (run_chain(tables=True): every planting)",
                             field="planting", value=planting)
        return self.planned_path_planted_10k_ha


def carbon_totals(landuse: Any, bundle: InputBundle, rates: tuple[float, ...], scenario_rate: float) -> CarbonTotals:
    """:func:`afforest.chain.stages.carbon_stage`'s planned path and per-hectare totals at each rate, without tables."""
    params = landuse.scenario.carbon.parameters(bundle.carbon_parameters)
    horizon = params.horizon_yr
    step = float(landuse.scenario.numerics.step_yr)
    accounting_step = 1.0 if step.is_integer() else step  # as carbon_stage: whole years where the periods allow
    cohorts = landuse.classes_planting
    start = cohorts["period_start_yr"].to_numpy(dtype=float)
    area = cohorts["planted_area_10k_ha"].to_numpy(dtype=float)
    inside = before_horizon(start, horizon)
    groups = None
    if bundle.growth_by_zone is not None:
        groups = list(zip(cohorts["land_type"].to_numpy()[inside], cohorts["province"].to_numpy()[inside]))
    planned = planted_sink_mt_co2(start[inside], area[inside], params, rates, accounting_step, groups,
                                  bundle.growth_by_zone)
    return CarbonTotals(
        carbon_discount_rates=rates,
        scenario_rate=scenario_rate,
        start_year=params.start_year,
        horizon_yr=horizon,
        per_hectare_t_co2={r: float(per_hectare_pool_totals_t_co2(params, r).sum()) for r in rates},
        planned_path_mt_co2=planned,
        planned_path_planted_10k_ha=float(area[inside].sum()),
    )


@dataclass(frozen=True)
class SupplyCurve:
    """One supply curve as arrays, classes sorted by marginal cost (then rank)."""

    area_10k_ha: NDArray[np.float64]
    area_start_10k_ha: NDArray[np.float64]
    pv_cost_yuan_per_ha: NDArray[np.float64]
    carbon_t_co2_per_ha: NDArray[np.float64]
    marginal_cost_yuan_per_t_co2: NDArray[np.float64]

    def fill(self, area_10k_ha: float) -> dict[str, float]:
        """:func:`~afforest.model.supply_curve.cost_summary` of :func:`~afforest.model.supply_curve.fill_supply_curve`."""
        total = float(self.area_10k_ha.sum())
        if not (math.isfinite(area_10k_ha) and 0 <= area_10k_ha <= total * (1 + AREA_SLACK)):
            raise InputError(f"must lie in [0, {total:g}] (the curve's total area)", field="area_10k_ha", value=area_10k_ha)
        taken = np.clip(area_10k_ha - self.area_start_10k_ha, 0.0, self.area_10k_ha)
        kept = taken > 0
        taken = taken[kept]
        if not taken.size:
            return empty_summary()
        pv_10e8 = float((taken * self.pv_cost_yuan_per_ha[kept]).sum()) * HA_PER_10K_HA / YUAN_PER_10E8_YUAN
        carbon = float((MT_PER_10K_T * taken * self.carbon_t_co2_per_ha[kept]).sum())
        marginal = self.marginal_cost_yuan_per_t_co2[kept]
        return {
            "area_10k_ha": float(taken.sum()),
            "carbon_mt_co2": carbon,
            "pv_cost_10e8_yuan": pv_10e8,
            "min_marginal_cost_yuan_per_t_co2": float(marginal.min()),
            "max_marginal_cost_yuan_per_t_co2": float(marginal.max()),
            "average_cost_yuan_per_t_co2": pv_10e8 * YUAN_PER_10E8_YUAN / (carbon * T_PER_MT),
        }

    def cost_effective_area_10k_ha(self, price_yuan_per_t_co2: float) -> float:
        """Area of the classes whose marginal cost is at most the price (:func:`~afforest.model.supply_curve.cost_effective`)."""
        if not math.isfinite(price_yuan_per_t_co2):
            raise InputError("must be a finite price", field="price_yuan_per_t_co2", value=price_yuan_per_t_co2)
        count = int(np.searchsorted(self.marginal_cost_yuan_per_t_co2, price_yuan_per_t_co2, side="right"))
        return float(self.area_10k_ha[:count].sum())


def empty_summary() -> dict[str, float]:
    """cost_summary of no classes."""
    return {"area_10k_ha": 0.0, "carbon_mt_co2": 0.0, "pv_cost_10e8_yuan": 0.0,
            "min_marginal_cost_yuan_per_t_co2": math.nan, "max_marginal_cost_yuan_per_t_co2": math.nan,
            "average_cost_yuan_per_t_co2": math.nan}


@dataclass(frozen=True)
class SupplyTotals:
    """The supply-curve stage a sweep row reads (the methods of :class:`~afforest.chain.stages.SupplyCurveStage`)."""

    discounting: CostDiscounting
    curves: Mapping[float, SupplyCurve]
    plan_area_10k_ha: float
    summaries: Mapping[float, dict[str, float]]

    def at(self, rate: float) -> dict[str, float]:
        """The summary at r_c (``carbon_discount_rate`` and cost_summary's keys)."""
        if rate not in self.summaries:
            raise InputError(f"no supply curve at this r_c; the chain drew them at {sorted(self.summaries)}",
                             field="carbon_discount_rate", value=rate)
        return {"carbon_discount_rate": float(rate), **self.summaries[rate]}

    def cost_effective_area_10k_ha(self, rate: float, price_yuan_per_t_co2: float) -> float:
        self.at(rate)
        return self.curves[rate].cost_effective_area_10k_ha(price_yuan_per_t_co2)


def _direct_cost_pv(bundle: InputBundle, discounting: CostDiscounting) -> float:
    return cached_by_value("direct_cost_pv", (frame_key(bundle.direct_costs), discounting),
                           lambda: present_value_direct_costs(bundle.direct_costs, discounting))


def supply_totals(classes: Any, financial_discount_rate: float, plan_area_10k_ha: float, carbon: CarbonTotals,
                  bundle: InputBundle, carbon_parameters: Any = None) -> SupplyTotals:
    """:func:`afforest.chain.stages.supply_curve_stage` at each rate of ``carbon``, on arrays."""
    for column in ("rank", "land_type", "province", "area_10k_ha", "esv_yuan_per_ha_yr"):
        if column not in classes.columns:
            raise InputError("classes table lacks a column", field=column)
    discounting = CostDiscounting.from_study(financial_discount_rate, bundle.cost_effectiveness)
    area = classes["area_10k_ha"].to_numpy(dtype=float)
    pv = _direct_cost_pv(bundle, discounting) + classes["esv_yuan_per_ha_yr"].to_numpy(dtype=float) * discounting.annuity(1)
    rank = classes["rank"].to_numpy()
    by_zone = bundle.growth_by_zone is not None and carbon_parameters is not None
    if by_zone:
        keys = [(str(a), str(b)) for a, b in zip(classes["land_type"], classes["province"])]
        unique = list(dict.fromkeys(keys))  # one growth per (land type, province), as per_hectare_totals_by_class
        owns = {key: carbon_parameters.replace(growth=growth)
                for key, growth in zip(unique, growths_of(bundle.growth_by_zone, carbon_parameters.growth, unique))}
    curves, summaries = {}, {}
    plan = min(plan_area_10k_ha, float(area.sum()))
    for rate in carbon.carbon_discount_rates:
        if by_zone:
            totals = {key: float(per_hectare_pool_totals_t_co2(own, rate).sum()) for key, own in owns.items()}
            per_ha = np.array([totals[key] for key in keys])
        else:
            per_ha = np.full(area.size, carbon.per_hectare_total_t_co2(rate))
        if not (np.isfinite(per_ha).all() and (per_ha > 0).all()):
            raise InputError("carbon per hectare must be > 0", field="carbon_t_co2_per_ha", value=float(per_ha.min()))
        marginal = pv / per_ha
        order = np.lexsort((rank, marginal))
        sorted_area = area[order]
        area_end = np.cumsum(sorted_area)
        curve = SupplyCurve(sorted_area, area_end - sorted_area, pv[order], per_ha[order], marginal[order])
        curves[rate] = curve
        summaries[rate] = curve.fill(plan)
    return SupplyTotals(discounting=discounting, curves=curves, plan_area_10k_ha=plan, summaries=summaries)


def power_benchmarks(bundle: InputBundle) -> dict[str, float]:
    """Benchmark -> price, yuan/t CO2: each power-sector option's gross abatement cost (Table 5) and the carbon
    market's price, as :func:`afforest.chain.stages.cost_effectiveness_stage` computes them; cached by the data."""
    cep = bundle.cost_effectiveness

    def compute() -> dict[str, float]:
        fuels = thermal_emissions(bundle.power_fuels)
        intensity = emission_intensity_t_co2_per_mwh(float(fuels["emissions_10k_t_co2"].sum()),
                                                     cep.thermal_generation_10e8_kwh)
        gross = abatement_costs(bundle.power_technologies, intensity, AbatementConvention.GROSS).set_index("option")
        prices = {str(option): float(gross.loc[option, "abatement_cost_yuan_per_t_co2"]) for option in gross.index}
        prices[CARBON_PRICE_BENCHMARK] = cep.carbon_price_yuan_per_t_co2
        return prices

    key = (frame_key(bundle.power_fuels), frame_key(bundle.power_technologies), cep)
    return dict(cached_by_value("power_benchmarks", key, compute))
