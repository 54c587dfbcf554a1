"""Carbon supply curve and cost-effectiveness (section 5, Table 5).

For each merit-order class k (a land type in a province), per planted hectare:

    PV cost_k = PV(direct costs, Table 4) + ESV_k x PV(1 yuan/yr over the horizon)
    marginal cost_k = PV cost_k / carbon per planted ha          (yuan/t CO2)

The supply curve lists the classes by marginal cost with the cumulative area and carbon; the average cost
of supplying an area is total PV cost / total carbon (with one carbon figure per hectare this is the
area-weighted mean of the marginal costs, the study's average). Present values follow the study by
default: one-off items paid at the start of their stand year, e^{-r (y - 1)}, and yearly flows (management,
lost ESV) as continuous annuities over 40 years, (1 - e^{-r T}) / r; :class:`CostDiscounting` changes that.

The benchmark is the power sector: thermal emissions = sum over fuels of consumption x coal-equivalent
factor x emission factor; intensity = emissions / thermal generation; abatement cost of an option =
its generation cost / intensity (the study's gross convention) or net of the thermal cost it avoids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from afforest.data import check_unique, parse_number, read_table, data_path, load_quantities
from afforest.errors import InputError
from afforest.model.carbon import MT_PER_10K_T

__all__ = [
    "CostFlows",
    "CostDiscounting",
    "present_value_direct_costs",
    "supply_curve",
    "fill_supply_curve",
    "cost_summary",
    "cost_effective",
    "CostEffectivenessParameters",
    "load_cost_effectiveness_parameters",
    "load_power_fuels",
    "load_power_technologies",
    "thermal_emissions",
    "emission_intensity_t_co2_per_mwh",
    "AbatementConvention",
    "abatement_costs",
    "regional_contribution",
    "to_usd",
]

_10K_T_PER_KGCE_UNIT = {"10^4 t": 1.0, "10^8 m^3": 10.0}
"""10^4 tce per (consumption unit x kgce per kg or m^3): 10^4 t x kgce/kg = 10^4 tce; 10^8 m^3 x kgce/m^3 =
10^8 kgce = 10 x 10^4 tce."""
_MWH_PER_10E8_KWH = 1e5
_T_PER_10K_T = 1e4
_REFERENCE_OPTION = "cut_thermal"
"""The option whose cost is the thermal generation the other options replace (net convention)."""


class CostFlows(StrEnum):
    """How yearly flows (management, lost ESV) are discounted."""

    CONTINUOUS = "continuous"
    """A continuous annuity over [first_year - 1, T): the study's convention."""
    ANNUAL = "annual"
    """One payment at the start of each stand year, like the one-off items."""


@dataclass(frozen=True)
class CostDiscounting:
    """Present-value convention for costs per hectare (the study's by default)."""

    financial_discount_rate: float
    """r, 1/yr (the study: the planner's 5 %)."""
    horizon_yr: float
    """Whole years (the study: 40)."""
    flows: CostFlows = CostFlows.CONTINUOUS

    @classmethod
    def from_study(
        cls,
        financial_discount_rate: float,
        cost_effectiveness: CostEffectivenessParameters,
        flows: CostFlows | str = CostFlows.CONTINUOUS,
    ) -> CostDiscounting:
        """The study's convention from data already read: the planner's r (``landuse_parameters.toml``, or a
        scenario's) and the cost horizon of ``cost_effectiveness.toml`` (the chain passes its bundle's)."""
        return cls(financial_discount_rate=financial_discount_rate, horizon_yr=cost_effectiveness.cost_horizon_yr, flows=CostFlows(flows))

    def __post_init__(self) -> None:
        rate = self.financial_discount_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise InputError("must be in [0, 1) per year", field="financial_discount_rate", value=rate)
        if not (isinstance(self.horizon_yr, (int, float)) and self.horizon_yr >= 1 and float(self.horizon_yr).is_integer()):
            raise InputError("must be a whole number of years >= 1", field="horizon_yr", value=self.horizon_yr)
        object.__setattr__(self, "flows", CostFlows(self.flows))

    def payment_factor(self, stand_year: np.ndarray | int) -> np.ndarray:
        """Discount factor of a payment at the start of stand year y (y = 1 is the planting year)."""
        return np.exp(-self.financial_discount_rate * (np.asarray(stand_year, dtype=float) - 1))

    def annuity(self, first_stand_year: int = 1) -> float:
        """PV of 1 yuan per year from stand year ``first_stand_year`` to the horizon, yr."""
        r, start, end = self.financial_discount_rate, first_stand_year - 1, self.horizon_yr
        if start >= end:
            return 0.0
        if self.flows is CostFlows.ANNUAL:
            return float(self.payment_factor(np.arange(first_stand_year, int(end) + 1)).sum())
        if r == 0:
            return end - start
        return math.exp(-r * start) * -math.expm1(-r * (end - start)) / r


def present_value_direct_costs(costs: pd.DataFrame, discounting: CostDiscounting) -> float:
    """PV per hectare of the direct cost items (Table 4 layout: ``first_year``, ``last_year`` (<NA> for
    every year), ``cost_yuan_per_ha_yr``), yuan/ha, at the planting date. Plain data in: ``discounting`` is
    explicit (the chain builds it from its bundle), so this never reads a file."""
    total = 0.0
    for row in costs.itertuples(index=False):
        first, last, cost = int(row.first_year), row.last_year, float(row.cost_yuan_per_ha_yr)
        if pd.isna(last):
            total += cost * discounting.annuity(first)
        else:
            years = np.arange(first, min(int(last), int(discounting.horizon_yr)) + 1)
            total += cost * float(discounting.payment_factor(years).sum())
    return total


def supply_curve(
    classes: pd.DataFrame,
    costs: pd.DataFrame,
    carbon_t_co2_per_ha: float | pd.Series,
    discounting: CostDiscounting,
) -> pd.DataFrame:
    """Marginal cost of carbon per class, sorted by marginal cost, with cumulative area and carbon.

    ``classes`` comes from :func:`afforest.model.merit_order.merit_order` (``rank``, ``land_type``,
    ``province``, ``area_10k_ha``, ``esv_yuan_per_ha_yr``); ``carbon_t_co2_per_ha`` is the sink per
    planted hectare (one number, or a Series aligned with ``classes``). Added columns:
    ``pv_direct_cost_yuan_per_ha``, ``pv_lost_esv_yuan_per_ha``, ``pv_cost_yuan_per_ha``,
    ``carbon_t_co2_per_ha``, ``marginal_cost_yuan_per_t_co2``, ``carbon_mt_co2`` and the cumulative
    ``area_start_10k_ha``, ``area_end_10k_ha``, ``carbon_start_mt_co2``, ``carbon_end_mt_co2``.
    """
    for column in ("rank", "land_type", "province", "area_10k_ha", "esv_yuan_per_ha_yr"):
        if column not in classes.columns:
            raise InputError("classes table lacks a column", field=column)
    carbon = pd.Series(carbon_t_co2_per_ha, index=classes.index, dtype=float) if np.isscalar(carbon_t_co2_per_ha) else carbon_t_co2_per_ha.astype(float)
    if not (np.isfinite(carbon).all() and (carbon > 0).all()):
        raise InputError("carbon per hectare must be > 0", field="carbon_t_co2_per_ha", value=float(carbon.min()))
    curve = classes[["rank", "land_type", "province", "area_10k_ha", "esv_yuan_per_ha_yr"]].copy()
    curve["pv_direct_cost_yuan_per_ha"] = present_value_direct_costs(costs, discounting)
    curve["pv_lost_esv_yuan_per_ha"] = curve["esv_yuan_per_ha_yr"] * discounting.annuity(1)
    curve["pv_cost_yuan_per_ha"] = curve["pv_direct_cost_yuan_per_ha"] + curve["pv_lost_esv_yuan_per_ha"]
    curve["carbon_t_co2_per_ha"] = carbon.to_numpy()
    curve["marginal_cost_yuan_per_t_co2"] = curve["pv_cost_yuan_per_ha"] / curve["carbon_t_co2_per_ha"]
    curve["carbon_mt_co2"] = MT_PER_10K_T * curve["area_10k_ha"] * curve["carbon_t_co2_per_ha"]
    curve = curve.sort_values(["marginal_cost_yuan_per_t_co2", "rank"], kind="stable").reset_index(drop=True)
    curve["area_end_10k_ha"] = curve["area_10k_ha"].cumsum()
    curve["area_start_10k_ha"] = curve["area_end_10k_ha"] - curve["area_10k_ha"]
    curve["carbon_end_mt_co2"] = curve["carbon_mt_co2"].cumsum()
    curve["carbon_start_mt_co2"] = curve["carbon_end_mt_co2"] - curve["carbon_mt_co2"]
    return curve


def fill_supply_curve(curve: pd.DataFrame, area_10k_ha: float) -> pd.DataFrame:
    """The classes that supply the cheapest ``area_10k_ha`` (the last one partly): ``area_10k_ha`` and
    ``carbon_mt_co2`` are the amounts taken."""
    total = float(curve["area_10k_ha"].sum())
    if not (math.isfinite(area_10k_ha) and 0 <= area_10k_ha <= total * (1 + 1e-12)):
        raise InputError(f"must lie in [0, {total:g}] (the curve's total area)", field="area_10k_ha", value=area_10k_ha)
    taken = np.clip(area_10k_ha - curve["area_start_10k_ha"].to_numpy(), 0.0, curve["area_10k_ha"].to_numpy())
    out = curve.assign(area_10k_ha=taken)
    out["carbon_mt_co2"] = MT_PER_10K_T * out["area_10k_ha"] * out["carbon_t_co2_per_ha"]
    return out[out["area_10k_ha"] > 0].reset_index(drop=True)


def cost_summary(supplied: pd.DataFrame) -> dict[str, float]:
    """Range and average marginal cost (yuan/t CO2), area (10^4 ha), carbon (Mt CO2) and PV cost
    (10^8 yuan) of the classes in ``supplied`` (a curve or a fill of it)."""
    if supplied.empty:
        return {
            "area_10k_ha": 0.0, "carbon_mt_co2": 0.0, "pv_cost_10e8_yuan": 0.0,
            "min_marginal_cost_yuan_per_t_co2": math.nan, "max_marginal_cost_yuan_per_t_co2": math.nan,
            "average_cost_yuan_per_t_co2": math.nan,
        }
    pv_10e8 = float((supplied["area_10k_ha"] * supplied["pv_cost_yuan_per_ha"]).sum()) * 1e4 / 1e8
    carbon = float(supplied["carbon_mt_co2"].sum())
    return {
        "area_10k_ha": float(supplied["area_10k_ha"].sum()),
        "carbon_mt_co2": carbon,
        "pv_cost_10e8_yuan": pv_10e8,
        "min_marginal_cost_yuan_per_t_co2": float(supplied["marginal_cost_yuan_per_t_co2"].min()),
        "max_marginal_cost_yuan_per_t_co2": float(supplied["marginal_cost_yuan_per_t_co2"].max()),
        "average_cost_yuan_per_t_co2": pv_10e8 * 1e8 / (carbon * 1e6),
    }


def cost_effective(curve: pd.DataFrame, price_yuan_per_t_co2: float) -> pd.DataFrame:
    """Classes whose marginal cost is at most the benchmark price (the area and carbon it buys)."""
    if not math.isfinite(price_yuan_per_t_co2):
        raise InputError("must be a finite price", field="price_yuan_per_t_co2", value=price_yuan_per_t_co2)
    return curve[curve["marginal_cost_yuan_per_t_co2"] <= price_yuan_per_t_co2].reset_index(drop=True)


# -- benchmarks ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CostEffectivenessParameters:
    """Scalars of ``cost_effectiveness.toml``."""

    thermal_generation_10e8_kwh: float
    carbon_price_yuan_per_t_co2: float
    exchange_rate_yuan_per_usd: float
    regional_target_mt_co2_per_yr: tuple[float, float]
    cost_horizon_yr: float

    def __post_init__(self) -> None:
        for name in ("thermal_generation_10e8_kwh", "carbon_price_yuan_per_t_co2", "exchange_rate_yuan_per_usd", "cost_horizon_yr"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InputError("must be > 0", field=name, value=value)
        low, high = self.regional_target_mt_co2_per_yr
        if not 0 < low <= high:
            raise InputError("needs 0 < low <= high", field="regional_target_mt_co2_per_yr", value=(low, high))


def load_cost_effectiveness_parameters(path: str | Path | None = None) -> CostEffectivenessParameters:
    file = Path(path) if path is not None else data_path("cost_effectiveness.toml")
    q = load_quantities(file)
    names = ["thermal_generation", "carbon_price", "exchange_rate", "regional_target_low", "regional_target_high", "cost_horizon"]
    for name in names:
        if name not in q:
            raise InputError("missing parameter", file=file, field=name)
        if isinstance(q[name].value, tuple):
            raise InputError("expected a single number", file=file, field=name, value=q[name].value)
    try:
        return CostEffectivenessParameters(
            thermal_generation_10e8_kwh=q["thermal_generation"].value,
            carbon_price_yuan_per_t_co2=q["carbon_price"].value,
            exchange_rate_yuan_per_usd=q["exchange_rate"].value,
            regional_target_mt_co2_per_yr=(q["regional_target_low"].value, q["regional_target_high"].value),
            cost_horizon_yr=q["cost_horizon"].value,
        )
    except InputError as exc:
        raise InputError(exc.reason, file=file, field=exc.field, value=exc.value) from exc


def load_power_fuels(path: str | Path | None = None) -> pd.DataFrame:
    """Table 5 fuels: consumption, unit, coal-equivalent factors (standard and as printed), emission factor."""
    frame, file = read_table("power_sector_fuels", path)
    check_unique(frame, ["fuel"], file)
    for column in ("consumption", "coal_equivalent_factor", "coal_equivalent_factor_printed", "emission_factor_t_co2_per_tce"):
        frame[column] = parse_number(frame, column, file)
    for idx, unit in frame["consumption_unit"].items():
        if unit not in _10K_T_PER_KGCE_UNIT:
            raise InputError(
                f"unknown unit; expected one of {list(_10K_T_PER_KGCE_UNIT)}", file=file, row=int(idx) + 2,
                field="consumption_unit", value=unit,
            )
    return frame.reset_index(drop=True)


def load_power_technologies(path: str | Path | None = None) -> pd.DataFrame:
    """Generation cost of each option that avoids thermal emissions (Table 5)."""
    frame, file = read_table("power_technologies", path)
    check_unique(frame, ["option"], file)
    frame["generation_cost_yuan_per_mwh"] = parse_number(frame, "generation_cost_yuan_per_mwh", file)
    return frame.reset_index(drop=True)


def thermal_emissions(fuels: pd.DataFrame, factor: str = "coal_equivalent_factor") -> pd.DataFrame:
    """Emissions per fuel: consumption x coal-equivalent factor x emission factor.

    ``factor`` picks the coal-equivalent column: the standard value (default) or the study's printed
    two-decimal rounding (``coal_equivalent_factor_printed``). Adds ``coal_equivalent_10k_tce`` and
    ``emissions_10k_t_co2``.
    """
    if factor not in ("coal_equivalent_factor", "coal_equivalent_factor_printed"):
        raise InputError("unknown coal-equivalent column", field="factor", value=factor)
    out = fuels.copy()
    out["coal_equivalent_10k_tce"] = out["consumption"] * out[factor] * out["consumption_unit"].map(_10K_T_PER_KGCE_UNIT)
    out["emissions_10k_t_co2"] = out["coal_equivalent_10k_tce"] * out["emission_factor_t_co2_per_tce"]
    return out


def emission_intensity_t_co2_per_mwh(emissions_10k_t_co2: float, generation_10e8_kwh: float) -> float:
    """t CO2 per MWh of thermal generation."""
    if not generation_10e8_kwh > 0:
        raise InputError("must be > 0", field="generation_10e8_kwh", value=generation_10e8_kwh)
    return emissions_10k_t_co2 * _T_PER_10K_T / (generation_10e8_kwh * _MWH_PER_10E8_KWH)


class AbatementConvention(StrEnum):
    GROSS = "gross"
    """Study: the option's whole generation cost per t CO2 avoided, cost / intensity."""
    NET = "net"
    """The replacement options net of the thermal cost they avoid, (cost - thermal cost) / intensity."""


def abatement_costs(
    technologies: pd.DataFrame, intensity_t_co2_per_mwh: float, convention: AbatementConvention | str = AbatementConvention.GROSS
) -> pd.DataFrame:
    """Abatement cost of each option, yuan/t CO2 (column ``abatement_cost_yuan_per_t_co2``)."""
    convention = AbatementConvention(convention)
    if not intensity_t_co2_per_mwh > 0:
        raise InputError("must be > 0", field="intensity_t_co2_per_mwh", value=intensity_t_co2_per_mwh)
    out = technologies.copy()
    cost = out["generation_cost_yuan_per_mwh"]
    if convention is AbatementConvention.NET:
        reference = out.loc[out["option"] == _REFERENCE_OPTION, "generation_cost_yuan_per_mwh"]
        if reference.empty:
            raise InputError(f"the net convention needs the option {_REFERENCE_OPTION!r}", field="option")
        cost = cost.where(out["option"] == _REFERENCE_OPTION, cost - float(reference.iloc[0]))
    out["abatement_cost_yuan_per_t_co2"] = cost / intensity_t_co2_per_mwh
    return out


def regional_contribution(annual_sink_mt_co2_per_yr: float, target_mt_co2_per_yr: tuple[float, float]) -> tuple[float, float]:
    """Share (0-1) of the region's yearly sink target met: (against the high target, against the low)."""
    low, high = target_mt_co2_per_yr
    return annual_sink_mt_co2_per_yr / high, annual_sink_mt_co2_per_yr / low


def to_usd(yuan: float, exchange_rate_yuan_per_usd: float) -> float:
    """Yuan to US dollars at a stated rate."""
    if not exchange_rate_yuan_per_usd > 0:
        raise InputError("must be > 0", field="exchange_rate_yuan_per_usd", value=exchange_rate_yuan_per_usd)
    return yuan / exchange_rate_yuan_per_usd
