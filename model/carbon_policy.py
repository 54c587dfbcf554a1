"""Carbon policy as numbers the land-use switches read: price paths and carbon targets (issue 13).

No Pyomo here: the switches ``carbon_price_path`` and ``carbon_target`` of :mod:`afforest.model.formulations` read
what these functions compute (through ``SwitchData.extra``, filled by :func:`afforest.chain.inputs.resolve_inputs`).
Derivations and measurements: ``docs/carbon_policy.md``.

**The value of a planted hectare under a price path.** A hectare planted at t_k stores s(a) t CO2 in its stand-age
year a (the carbon module's stream, 40 years). Paid the price of each year of its stream and discounted at the
planner's rate r back to t_k, it is worth (current value at t_k, yuan/ha)

    V_k = sum_a P(t_k + a) int_{year a} s e^{-r u} du.

Constant price P: V_k = P Q_r, Q_rho the stream's PV at rate rho (:func:`afforest.model.carbon.per_hectare_totals`).
Growing price P(t) = P0 e^{g t}: V_k = P0 e^{g t_k} Q_{r-g}, finite and decreasing in PV (e^{-r t_k} V_k =
P0 e^{-(r-g) t_k} Q_{r-g}) only for g < r: with g >= r delaying the planting never loses carbon value and the
planner's problem has no optimum (refused). A yearly series: the sum above, year by year.

**Generalised steady state.** Converting a hectare of yearly ESV gain G at t rather than t + dt changes the PV by
e^{-rt} [G - r c(t) + c'(t)] dt with c(t) = tau(0) - V(t) the planting cost net of carbon, so (tau1 -> 0) a hectare
is converted once G >= r tau(0) - (r - g) V(t). With g = 0 this is Eq. 3 at the cost tau(0) - P Q_r; with g > 0 the
right side falls for ever: no interior steady state, the boundary moves down until every hectare is converted, at
the first t with (r - g) V(t) >= r tau(0) - G_min. A unit of gain G is converted at
t* = ln[(r tau(0) - G) / ((r - g) P0 Q_{r-g})] / g (:func:`conversion_time_yr`), and in the discrete integrated
program in the period maximising e^{-r t_k} (G/r - tau(0) + V_k) (:func:`best_conversion_period`).

**A carbon target** is one linear constraint on the planting rates, sum_k dt R_k S_k >= X, with S_k the carbon a
hectare planted at t_k contributes (:func:`target_coefficients_t_co2_per_ha`): cumulative by a year Y (or over
its whole stream), or the sink in year Y, discounted to the start year at r_c. Its dual is the marginal cost of
carbon. With r_c = r and the whole stream, S_k = e^{-r t_k} Q_r: the carbon a constant price pays for, so the
target X(p) reached at price p has dual p.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from afforest.errors import InputError
from afforest.model.carbon import MT_PER_10K_T, CarbonParameters, per_hectare_sink, per_hectare_totals

__all__ = [
    "TARGET_CONSTRAINT",
    "MT_PER_10K_T",
    "stream_pv_t_co2_per_ha",
    "price_path_values_yuan_per_ha",
    "series_price_values_yuan_per_ha",
    "check_price_series",
    "cells_price_premium_yuan_per_t_co2",
    "target_coefficients_t_co2_per_ha",
    "max_reachable_mt_co2",
    "conversion_time_yr",
    "best_conversion_period",
    "carbon_target_marginal_cost",
]

TARGET_CONSTRAINT = "carbon_target.carbon_target"
"""Full name of the target's constraint on a land-use model (its dual: the marginal cost of carbon)."""


def stream_pv_t_co2_per_ha(params: CarbonParameters, rate: float, *, field: str = "carbon_discount_rate") -> float:
    """Q_rho: the PV at planting of one hectare's sequestration stream at rate ``rate`` (all pools, t CO2/ha)."""
    if not (0.0 <= rate < 1.0) or not math.isfinite(rate):
        raise InputError("the stream's discount rate must lie in [0, 1) per year", field=field, value=rate)
    return float(per_hectare_totals(params, rate).sum())


def price_path_values_yuan_per_ha(
    period_start_yr: ArrayLike, params: CarbonParameters, financial_discount_rate: float, price0_yuan_per_t_co2: float,
    growth_rate_per_yr: float = 0.0,
) -> NDArray[np.float64]:
    """V_k = P0 e^{g t_k} Q_{r-g}: the carbon value (current value at t_k, yuan/ha) of a hectare planted at t_k
    under P(t) = P0 e^{g t}. Refuses g >= r (no optimum), a negative or non-finite P0, and r - g >= 1."""
    r, g, p0 = float(financial_discount_rate), float(growth_rate_per_yr), float(price0_yuan_per_t_co2)
    if not (math.isfinite(p0) and p0 >= 0):
        raise InputError("must be a finite number >= 0", field="policy.carbon_price_yuan_per_t_co2", value=p0)
    if not math.isfinite(g) or g >= r:
        raise InputError(
            f"a carbon price growing at g >= r (= {r:g}) makes planting later always worth at least as much in present "
            "value: the planner's problem has no optimum; set g below the planner's rate",
            field="policy.carbon_price_growth_rate_per_yr", value=g,
        )
    q = stream_pv_t_co2_per_ha(params, r - g, field="policy.carbon_price_growth_rate_per_yr")
    t = np.asarray(period_start_yr, dtype=float)
    return p0 * np.exp(g * t) * q


def check_price_series(series: pd.DataFrame, file: Any = None) -> pd.Series:
    """A yearly price table (columns ``year``, ``carbon_price_yuan_per_t_co2``) as a Series by year, checked:
    whole distinct increasing years, finite prices >= 0."""
    for column in ("year", "carbon_price_yuan_per_t_co2"):
        if column not in series.columns:
            raise InputError("the carbon price file lacks a column", file=file, field=column)
    if series.empty:
        raise InputError("the carbon price file has no rows", file=file, field="carbon_price_yuan_per_t_co2")
    years = pd.to_numeric(series["year"], errors="coerce").to_numpy(dtype=float)
    prices = pd.to_numeric(series["carbon_price_yuan_per_t_co2"], errors="coerce").to_numpy(dtype=float)
    for i, (year, price) in enumerate(zip(years, prices)):
        line = i + 2  # after the header
        if not (math.isfinite(year) and year == round(year)):
            raise InputError(f"line {line}: a year must be a whole number", file=file, field="year", value=series["year"].iloc[i])
        if not (math.isfinite(price) and price >= 0):
            raise InputError(f"line {line}: a price must be a finite number >= 0", file=file,
                             field="carbon_price_yuan_per_t_co2", value=series["carbon_price_yuan_per_t_co2"].iloc[i])
    if np.any(np.diff(years) <= 0):
        raise InputError("years must be distinct and increasing", file=file, field="year")
    return pd.Series(prices, index=years.astype(int), name="carbon_price_yuan_per_t_co2")


def series_price_values_yuan_per_ha(
    period_start_yr: ArrayLike, params: CarbonParameters, financial_discount_rate: float, prices_by_year: pd.Series
) -> NDArray[np.float64]:
    """V_k = sum_a P(year of t_k + a) int_{year a} s e^{-r u} du for a yearly price series (calendar years; t = 0 is
    ``params.start_year``; before the first year the first price, after the last the last price)."""
    sink = per_hectare_sink(params, financial_discount_rate, step_yr=1.0)
    stream = sink.groupby("age_start_yr")["discounted_sink_t_co2_per_ha"].sum()
    ages = stream.index.to_numpy(dtype=float)
    years = prices_by_year.index.to_numpy(dtype=float)
    prices = prices_by_year.to_numpy(dtype=float)
    t = np.asarray(period_start_yr, dtype=float)
    calendar = params.start_year + np.floor(t[:, None] + ages[None, :] + 1e-9)
    index = np.clip(np.searchsorted(years, calendar, side="right") - 1, 0, len(years) - 1)
    return (prices[index] * stream.to_numpy()[None, :]).sum(axis=1)


def cells_price_premium_yuan_per_t_co2(values_yuan_per_ha: ArrayLike, stream_pv_t_co2: float,
                                       price0_yuan_per_t_co2: float) -> NDArray[np.float64]:
    """For cells (each with its own yield q_c): the equivalent constant price of period k, V_k / Q_r, beyond the
    P0 the ``carbon_price`` switch already pays, yuan/t CO2 (``SwitchData.extra`` of ``carbon_price_path``)."""
    if not stream_pv_t_co2 > 0:
        raise InputError("must be > 0", field="stream_pv_t_co2", value=stream_pv_t_co2)
    return np.asarray(values_yuan_per_ha, dtype=float) / stream_pv_t_co2 - float(price0_yuan_per_t_co2)


def target_coefficients_t_co2_per_ha(
    period_start_yr: ArrayLike, params: CarbonParameters, carbon_discount_rate: float, target_year: int | None,
    form: str = "cumulative",
) -> NDArray[np.float64]:
    """S_k: what one hectare planted at t_k adds to the target's account, t CO2/ha discounted to the start year at
    r_c: its sequestration up to the end of ``target_year`` (cumulative; None: its whole stream), or within that
    year (annual, t CO2/yr). Linear interpolation of the yearly accounts for a planting time inside a year."""
    rate = float(carbon_discount_rate)
    t = np.asarray(period_start_yr, dtype=float)
    if form not in ("cumulative", "annual"):
        raise InputError("must be cumulative or annual", field="policy.carbon_target_form", value=form)
    if target_year is None:
        if form == "annual":
            raise InputError("the annual form needs a year", field="policy.carbon_target_year", value=target_year)
        return np.exp(-rate * t) * stream_pv_t_co2_per_ha(params, rate, field="policy.carbon_target_discount_rate")
    sink = per_hectare_sink(params, rate, step_yr=1.0)
    stream = sink.groupby("age_start_yr")["discounted_sink_t_co2_per_ha"].sum().to_numpy()
    cumulative = np.r_[0.0, np.cumsum(stream)]  # by age 0, 1, ..., 40
    ages = np.arange(len(cumulative), dtype=float)
    end_age = float(target_year - params.start_year) - t  # the accounts close at t = Y - start year (2020-2060: 40 yr)
    upto = np.interp(end_age, ages, cumulative, left=0.0, right=cumulative[-1])
    if form == "annual":
        upto = upto - np.interp(end_age - 1.0, ages, cumulative, left=0.0, right=cumulative[-1])
    return np.exp(-rate * t) * upto


def max_reachable_mt_co2(
    coefficients_t_co2_per_ha: Sequence[float], step_yr: float, area_10k_ha: float, cap_10k_ha_per_yr: float | None = None
) -> float:
    """The largest target any plan reaches: the area planted in the periods of largest S_k first, each at most
    cap x dt (the linear program's greedy optimum: only the land and the cap bind it), Mt CO2."""
    s = np.sort(np.maximum(np.asarray(coefficients_t_co2_per_ha, dtype=float), 0.0))[::-1]
    room = np.full(len(s), math.inf if cap_10k_ha_per_yr is None else cap_10k_ha_per_yr * step_yr)
    left, total = float(area_10k_ha), 0.0
    for value, space in zip(s, room):
        planted = min(left, space)
        total += planted * value
        left -= planted
        if left <= 0:
            break
    return total * MT_PER_10K_T


def conversion_time_yr(gain_yuan_per_ha_yr: float, rate: float, tau0_yuan_per_ha: float, value0_yuan_per_ha: float,
                       growth_rate_per_yr: float) -> float:
    """Continuous time at which a unit of yearly gain G is converted under V(t) = V0 e^{g t} and tau1 = 0:
    G = r tau(0) - (r - g) V(t), i.e. t* = ln[(r tau(0) - G) / ((r - g) V0)] / g (0 if it pays at once; inf if
    never; g = 0: 0 or inf)."""
    r, g = rate, growth_rate_per_yr
    need = r * tau0_yuan_per_ha - gain_yuan_per_ha_yr
    have = (r - g) * value0_yuan_per_ha
    if need <= have:
        return 0.0
    if g <= 0 or have <= 0:
        return math.inf
    return math.log(need / have) / g


def best_conversion_period(gain_yuan_per_ha_yr: float, rate: float, tau0_yuan_per_ha: float,
                           values_yuan_per_ha: Sequence[float], period_start_yr: Sequence[float]) -> int | None:
    """The discrete integrated program's closed form (tau1 = 0): the period k maximising
    e^{-r t_k} (G/r - tau(0) + V_k); None if no period gives a positive value (the unit is never converted)."""
    t = np.asarray(period_start_yr, dtype=float)
    value = np.exp(-rate * t) * (gain_yuan_per_ha_yr / rate - tau0_yuan_per_ha + np.asarray(values_yuan_per_ha))
    k = int(np.argmax(value))
    return k if value[k] > 0 else None


def carbon_target_marginal_cost(shadow_prices: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The marginal cost of carbon (yuan per t CO2 of the target's account, PV at the start year) by representation,
    from ``LandUseResult.shadow_prices``: minus the target constraint's dual (its rows are in 10^4 t CO2 and the
    objective in 10^8 yuan, so the reported value, dual x 10^4, is already yuan/t)."""
    return {str(p["representation"]): -float(p["value"]) for p in shadow_prices if p["constraint"] == TARGET_CONSTRAINT}
