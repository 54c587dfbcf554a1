"""Carbon accounting (Eqs. 7-10): stand growth -> carbon per hectare by pool -> the sink of any planting path.

Per planted hectare and stand-age interval [u, u + h), discounted to the planting date at r_c:

    above-ground biomass   (44/12) theta delta BEF       int_u^{u+h} v'(t) e^{-r_c t} dt
    below-ground biomass   (44/12) theta delta BEF RSR   int_u^{u+h} v'(t) e^{-r_c t} dt
    soil                   (44/12) theta sum_i omega_i   int_{[u, u+h) cap period i} e^{-r_c t} dt

with v(t) = a (1 - e^{-k t})^c the Richards stand volume. Biomass integrates the *growth* of v: the printed
Eq. 8 integrates v itself, which has units of m^3 yr/ha and gives totals ~30 times the published ones.
A cohort of area A planted at calendar time s adds A x curve(t - s) to period [t, t + h), discounted to
t = 0 by e^{-r_c s}; the sink of a planting path is the convolution of its cohorts with the per-hectare
curves (:func:`cohort_sink`, one matrix product, no loop over cohorts or years).

The soil rates omega_i are not published. :func:`calibrate_soil_schedule` solves them from stated targets
under a named shape assumption; ``data/soil_carbon_schedule.csv`` is its output for the inputs recorded
in ``data/soil_carbon_schedule.toml``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from afforest.data import (
    check_category,
    check_unique,
    csv_line,
    data_path,
    load_quantities,
    parse_number,
    read_table,
    read_toml,
)
from afforest.errors import InputError
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

__all__ = [
    "MT_PER_10K_T",
    "GROWTH_PARAMETERS",
    "load_growth_by_zone",
    "growth_of",
    "zone_cohort_sink",
    "per_hectare_totals_by_class",
    "Pool",
    "POOLS",
    "StandGrowth",
    "RichardsGrowth",
    "LinearGrowth",
    "SoilSchedule",
    "CarbonParameters",
    "load_carbon_parameters",
    "load_soil_schedule",
    "study_carbon_discount_rates",
    "write_soil_schedule",
    "check_discount_rate",
    "check_loss_hazard",
    "check_buffer_share",
    "per_hectare_sink",
    "per_hectare_totals",
    "per_hectare_arrays",
    "validated_cohorts",
    "before_horizon",
    "biomass_carbon_t_c_per_ha",
    "single_cohort",
    "cohorts_from_rates",
    "split_at_horizon",
    "cohort_sink",
    "cumulative_sink",
    "SoilShape",
    "SoilTarget",
    "SoilCalibration",
    "soil_target_from_total",
    "calibrate_soil_schedule",
    "calibrate_from_provenance",
]

MT_PER_10K_T = 1e-2
"""10^4 ha x t/ha = 10^4 t = 0.01 Mt (the one definition: supply curve, carbon policy and row stages import it)."""
_GAUSS_NODES = 24
"""Gauss-Legendre nodes per accounting step for int v e^{-rt}: v is smooth (C^1 at t = 0 for c > 1), the
rule is exact to ~1e-12 on one-year steps (checked against scipy.integrate.quad in the tests)."""
_GAUSS_POINTS, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(_GAUSS_NODES)
"""The rule's nodes on [-1, 1] and weights, computed once (leggauss solves an eigenproblem: ~0.3 ms a call)."""
_GRID_TOLERANCE = 1e-9


class Pool(StrEnum):
    """Carbon pools of Eq. 7."""

    ABOVE_GROUND_BIOMASS = "above_ground_biomass"
    BELOW_GROUND_BIOMASS = "below_ground_biomass"
    SOIL = "soil"


POOLS: tuple[Pool, ...] = tuple(Pool)


@runtime_checkable
class StandGrowth(Protocol):
    """Stand volume as a function of stand age; only the volume is needed (growth is integrated by parts)."""

    def volume_m3_per_ha(self, age_yr: NDArray[np.float64]) -> NDArray[np.float64]: ...


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise InputError("must be >= 0" if allow_zero else "must be > 0", field=name, value=value)
    return float(value)


@dataclass(frozen=True)
class RichardsGrowth:
    """v(t) = a (1 - e^{-k t})^c, m^3/ha (Eq. 10)."""

    asymptote_m3_per_ha: float
    rate_per_yr: float
    shape: float

    def __post_init__(self) -> None:
        for name in ("asymptote_m3_per_ha", "rate_per_yr", "shape"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))

    def volume_m3_per_ha(self, age_yr: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(age_yr, dtype=float)
        return self.asymptote_m3_per_ha * (-np.expm1(-self.rate_per_yr * t)) ** self.shape

    def growth_m3_per_ha_yr(self, age_yr: ArrayLike) -> NDArray[np.float64]:
        """v'(t), m^3/(ha yr)."""
        t = np.asarray(age_yr, dtype=float)
        k, c = self.rate_per_yr, self.shape
        return self.asymptote_m3_per_ha * c * k * np.exp(-k * t) * (-np.expm1(-k * t)) ** (c - 1)


@dataclass(frozen=True)
class LinearGrowth:
    """v(t) = g t: a constant mean annual increment g (m^3/(ha yr)); totals are known in closed form."""

    increment_m3_per_ha_yr: float

    def __post_init__(self) -> None:
        _positive("increment_m3_per_ha_yr", self.increment_m3_per_ha_yr, allow_zero=True)

    def volume_m3_per_ha(self, age_yr: ArrayLike) -> NDArray[np.float64]:
        return self.increment_m3_per_ha_yr * np.asarray(age_yr, dtype=float)


@dataclass(frozen=True)
class SoilSchedule:
    """Soil carbon accumulation rates omega_i (t C per surviving ha and yr) over contiguous stand-age periods."""

    period_start_yr: tuple[float, ...]
    period_end_yr: tuple[float, ...]
    rate_t_c_per_ha_yr: tuple[float, ...]

    def __post_init__(self) -> None:
        start = tuple(float(x) for x in self.period_start_yr)
        end = tuple(float(x) for x in self.period_end_yr)
        rate = tuple(float(x) for x in self.rate_t_c_per_ha_yr)
        if not (len(start) == len(end) == len(rate) >= 1):
            raise InputError("needs at least one period and as many starts, ends and rates", field="soil_schedule")
        if start[0] != 0.0:
            raise InputError("the first period must start at stand age 0", field="start_age_yr", value=start[0])
        for i, (a, b, w) in enumerate(zip(start, end, rate)):
            if not (math.isfinite(a) and math.isfinite(b) and b > a):
                raise InputError(f"period {i + 1} must have end > start", field="end_age_yr", value=b)
            if i > 0 and abs(a - end[i - 1]) > _GRID_TOLERANCE:
                raise InputError(f"period {i + 1} must start where period {i} ends", field="start_age_yr", value=a)
            if not math.isfinite(w):
                raise InputError(f"rate of period {i + 1} must be finite", field="rate_t_c_per_ha_yr", value=w)
        object.__setattr__(self, "period_start_yr", start)
        object.__setattr__(self, "period_end_yr", end)
        object.__setattr__(self, "rate_t_c_per_ha_yr", rate)

    @property
    def end_yr(self) -> float:
        return self.period_end_yr[-1]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "period": np.arange(1, len(self.period_start_yr) + 1),
                "start_age_yr": self.period_start_yr,
                "end_age_yr": self.period_end_yr,
                "rate_t_c_per_ha_yr": self.rate_t_c_per_ha_yr,
            }
        )


@dataclass(frozen=True)
class CarbonParameters:
    """Everything the carbon accounts read (Eqs. 7-10)."""

    growth: StandGrowth
    biomass_expansion_factor_t_per_m3: float
    root_shoot_ratio: float
    carbon_fraction: float
    survival_rate: float
    co2_per_carbon: float
    """t CO2 per t C (44/12)."""
    horizon_yr: float
    """Growth and accounting horizon T: ages and calendar years [0, T)."""
    soil: SoilSchedule
    start_year: int = 2020
    """Calendar year of t = 0, for labels."""
    biomass_scale: float = 1.0
    """Factor on both biomass pools (Eq. 8 x s): 1 for the printed equations; the ``study`` calibration
    (:mod:`afforest.model.carbon_calibration`) scales biomass to the pool shares the study reports."""
    loss_hazard_per_yr: float = 0.0
    """h: annual hazard that a surviving stand is lost (fire, drought, pests) and re-emits what it stored;
    the expected stock at age t is S(t) e^{-h t}. 0: no loss after establishment (the study)."""
    buffer_share: float = 0.0
    """b: share of the expected sink withheld from the credited carbon (an offset protocol's buffer pool)."""

    def __post_init__(self) -> None:
        if not isinstance(self.growth, StandGrowth):
            raise InputError("must provide volume_m3_per_ha(age_yr)", field="growth", value=type(self.growth).__name__)
        _positive("biomass_expansion_factor_t_per_m3", self.biomass_expansion_factor_t_per_m3)
        _positive("root_shoot_ratio", self.root_shoot_ratio, allow_zero=True)
        _positive("co2_per_carbon", self.co2_per_carbon)
        _positive("horizon_yr", self.horizon_yr)
        for name in ("carbon_fraction", "survival_rate"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value <= 1):
                raise InputError("must be in (0, 1]", field=name, value=value)
        _positive("biomass_scale", self.biomass_scale)
        check_loss_hazard(self.loss_hazard_per_yr)
        check_buffer_share(self.buffer_share)
        if self.soil.end_yr < self.horizon_yr - _GRID_TOLERANCE:
            raise InputError(
                f"the soil schedule ends at age {self.soil.end_yr:g} yr, before the horizon {self.horizon_yr:g} yr",
                field="end_age_yr",
                value=self.soil.end_yr,
            )

    def replace(self, **changes: Any) -> CarbonParameters:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def t_co2_per_t_c_surviving(self) -> float:
        """t CO2 per planted ha for 1 t C per surviving ha: (44/12) theta."""
        return self.co2_per_carbon * self.survival_rate


def load_soil_schedule(path: str | Path | None = None) -> SoilSchedule:
    """The soil schedule CSV (``data/soil_carbon_schedule.csv`` by default), validated."""
    frame, file = read_table("soil_carbon_schedule", path)
    period = parse_number(frame, "period", file, minimum=1, integer=True)
    if list(period) != list(range(1, len(frame) + 1)):
        raise InputError("periods must be numbered 1, 2, ... in order", file=file, field="period", value=list(period))
    start = parse_number(frame, "start_age_yr", file)
    end = parse_number(frame, "end_age_yr", file)
    rate = parse_number(frame, "rate_t_c_per_ha_yr", file, minimum=None)
    try:
        return SoilSchedule(tuple(start), tuple(end), tuple(rate))
    except InputError as exc:
        raise InputError(exc.reason, file=file, field=exc.field, value=exc.value) from exc


def write_soil_schedule(schedule: SoilSchedule, path: str | Path) -> Path:
    """Write a schedule in the catalogued CSV layout (rates to 1e-6 t C/(ha yr))."""
    frame = schedule.to_frame().astype({"start_age_yr": object, "end_age_yr": object, "rate_t_c_per_ha_yr": object})
    frame["start_age_yr"] = [f"{x:g}" for x in schedule.period_start_yr]
    frame["end_age_yr"] = [f"{x:g}" for x in schedule.period_end_yr]
    frame["rate_t_c_per_ha_yr"] = [f"{x:.6f}" for x in schedule.rate_t_c_per_ha_yr]
    path = Path(path)
    frame.to_csv(path, index=False)
    return path


def load_carbon_parameters(
    path: str | Path | None = None, soil_schedule: SoilSchedule | str | Path | None = None
) -> CarbonParameters:
    """Study parameters from ``carbon_parameters.toml`` with a soil schedule: a :class:`SoilSchedule`, the
    path of a schedule CSV, or None for the calibrated ``data/soil_carbon_schedule.csv``."""
    file = Path(path) if path is not None else data_path("carbon_parameters.toml")
    soil = soil_schedule if isinstance(soil_schedule, SoilSchedule) else load_soil_schedule(soil_schedule)
    quantities = load_quantities(file)

    def scalar(name: str) -> float:
        if name not in quantities:
            raise InputError("missing parameter", file=file, field=name)
        value = quantities[name].value
        if isinstance(value, tuple):
            raise InputError("expected a single number", file=file, field=name, value=value)
        return value

    try:
        return CarbonParameters(
            growth=RichardsGrowth(scalar("richards_asymptote"), scalar("richards_rate"), scalar("richards_shape")),
            biomass_expansion_factor_t_per_m3=scalar("biomass_expansion_factor"),
            root_shoot_ratio=scalar("root_shoot_ratio"),
            carbon_fraction=scalar("carbon_fraction"),
            survival_rate=scalar("survival_rate"),
            co2_per_carbon=scalar("molar_mass_co2") / scalar("molar_mass_carbon"),
            horizon_yr=scalar("accounting_horizon"),
            soil=soil,
            start_year=int(scalar("accounting_start_year")),
            # optional entries (a file without them: no loss after establishment, nothing withheld)
            loss_hazard_per_yr=scalar("loss_hazard") if "loss_hazard" in quantities else 0.0,
            buffer_share=scalar("buffer_share") if "buffer_share" in quantities else 0.0,
        )
    except InputError as exc:
        if exc.file is not None:
            raise
        raise InputError(exc.reason, file=file, field=exc.field, value=exc.value) from exc


def study_carbon_discount_rates(path: str | Path | None = None) -> tuple[float, ...]:
    """The study's two carbon discount rates (0 and 5 %), from ``carbon_parameters.toml``."""
    file = Path(path) if path is not None else data_path("carbon_parameters.toml")
    value = load_quantities(file)["carbon_discount_rates"].value
    rates = value if isinstance(value, tuple) else (value,)
    return tuple(check_discount_rate(r) for r in rates)


def check_discount_rate(rate: float, field: str = "carbon_discount_rate") -> float:
    """A continuous discount rate must lie in [0, 1) per year."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or not (0 <= rate < 1):
        raise InputError("must be in [0, 1) per year", field=field, value=rate)
    return float(rate)


def check_loss_hazard(value: float, field: str = "loss_hazard_per_yr") -> float:
    """An annual hazard of loss must lie in [0, 1) per year."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not (0 <= value < 1):
        raise InputError("must be in [0, 1) per year", field=field, value=value)
    return float(value)


def check_buffer_share(value: float, field: str = "buffer_share") -> float:
    """A buffer-pool share must lie in [0, 1): the share of the sink withheld from credit."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not (0 <= value < 1):
        raise InputError("must be in [0, 1) (a share of the credited carbon)", field=field, value=value)
    return float(value)


def _discounted_length(lo: NDArray[np.float64], hi: NDArray[np.float64], rate: float) -> NDArray[np.float64]:
    """int_lo^hi e^{-rate t} dt (0 where hi <= lo); exactly hi - lo at rate 0."""
    width = np.maximum(hi - lo, 0.0)
    if rate == 0.0:
        return width
    return np.exp(-rate * lo) * -np.expm1(-rate * width) / rate


def _discounted_growth(growth: StandGrowth, lo: NDArray[np.float64], hi: NDArray[np.float64], rate: float) -> NDArray[np.float64]:
    """int_lo^hi v'(t) e^{-rate t} dt, by parts: [v e^{-rt}] + r int v e^{-rt} dt (Gauss-Legendre)."""
    v_lo, v_hi = growth.volume_m3_per_ha(lo), growth.volume_m3_per_ha(hi)
    if rate == 0.0:
        return v_hi - v_lo
    x, w = _GAUSS_POINTS, _GAUSS_WEIGHTS
    mid, half = (hi + lo) / 2, (hi - lo) / 2
    t = mid[:, None] + half[:, None] * x[None, :]
    integral = half * ((growth.volume_m3_per_ha(t) * np.exp(-rate * t)) @ w)
    return v_hi * np.exp(-rate * hi) - v_lo * np.exp(-rate * lo) + rate * integral


def _steps(horizon_yr: float, step_yr: float) -> int:
    _positive("step_yr", step_yr)
    n = horizon_yr / step_yr
    if abs(n - round(n)) > _GRID_TOLERANCE * max(n, 1.0):
        raise InputError(f"the horizon {horizon_yr:g} yr must be a whole number of steps", field="step_yr", value=step_yr)
    return int(round(n))


def per_hectare_arrays(
    params: CarbonParameters, rate: float, step_yr: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(undiscounted, discounted) sink per planted ha, t CO2, shape (pool, age step), pools in POOLS order."""
    n = _steps(params.horizon_yr, step_yr)
    lo = np.arange(n) * step_yr
    hi = lo + step_yr
    soil = params.soil
    start, end = np.array(soil.period_start_yr), np.array(soil.period_end_yr)
    omega = np.array(soil.rate_t_c_per_ha_yr)
    factor = params.t_co2_per_t_c_surviving
    above = factor * params.carbon_fraction * params.biomass_expansion_factor_t_per_m3
    if params.biomass_scale != 1.0:
        above *= params.biomass_scale
    hazard = params.loss_hazard_per_yr

    def pools(growth: NDArray[np.float64], soil_c: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.vstack([above * growth, above * params.root_shoot_ratio * growth, factor * soil_c])

    def soil_flow(r: float) -> NDArray[np.float64]:
        return _discounted_length(np.maximum(lo[:, None], start[None, :]), np.minimum(hi[:, None], end[None, :]), r) @ omega

    out = []
    for r in (0.0, rate):
        if hazard == 0.0:
            out.append(pools(_discounted_growth(params.growth, lo, hi, r), soil_flow(r)))
            continue
        # Expected stock E(t) = S(t) e^{-h t}; the period's discounted sink int e^{-r t} dE(t) is, with c = r + h,
        # (r/c) int e^{-c t} S'(t) dt + (h/c) [e^{-c t} S(t)]_lo^hi (by parts; exact for any S with S(0) = 0).
        c = r + hazard

        def stock(t: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            soil_stock = np.clip(t[:, None] - start[None, :], 0.0, end - start) @ omega
            return params.growth.volume_m3_per_ha(t) - params.growth.volume_m3_per_ha(np.zeros(1)), soil_stock

        (v_lo, s_lo), (v_hi, s_hi) = stock(lo), stock(hi)
        w_lo, w_hi = np.exp(-c * lo), np.exp(-c * hi)
        growth = (r / c) * _discounted_growth(params.growth, lo, hi, c) + (hazard / c) * (w_hi * v_hi - w_lo * v_lo)
        soil_c = (r / c) * soil_flow(c) + (hazard / c) * (w_hi * s_hi - w_lo * s_lo)
        out.append(pools(growth, soil_c))
    if params.buffer_share != 0.0:
        out = [(1.0 - params.buffer_share) * x for x in out]
    return out[0], out[1]


def per_hectare_sink(params: CarbonParameters, carbon_discount_rate: float = 0.0, step_yr: float = 1.0) -> pd.DataFrame:
    """Sink per planted hectare by stand-age step and pool, t CO2/ha (theta included).

    Columns: ``age_start_yr``, ``age_end_yr``, ``pool``, ``sink_t_co2_per_ha`` (undiscounted) and
    ``discounted_sink_t_co2_per_ha`` (discounted to the planting date at ``carbon_discount_rate``).
    """
    rate = check_discount_rate(carbon_discount_rate)
    undiscounted, discounted = per_hectare_arrays(params, rate, step_yr)
    n = undiscounted.shape[1]
    ages = np.arange(n) * step_yr
    return pd.DataFrame(
        {
            "age_start_yr": np.tile(ages, len(POOLS)),
            "age_end_yr": np.tile(ages + step_yr, len(POOLS)),
            "pool": np.repeat([p.value for p in POOLS], n),
            "sink_t_co2_per_ha": undiscounted.ravel(),
            "discounted_sink_t_co2_per_ha": discounted.ravel(),
        }
    )


def per_hectare_totals(params: CarbonParameters, carbon_discount_rate: float = 0.0) -> pd.Series:
    """Sink per planted hectare accumulated over the horizon, discounted at r_c, by pool (t CO2/ha)."""
    rate = check_discount_rate(carbon_discount_rate)
    steps = max(1, math.ceil(params.horizon_yr - _GRID_TOLERANCE))  # about one year each: the quadrature's accuracy
    _, discounted = per_hectare_arrays(params, rate, params.horizon_yr / steps)
    return pd.Series(discounted.sum(axis=1), index=pd.Index([p.value for p in POOLS], name="pool"), name="t_co2_per_ha")


def biomass_carbon_t_c_per_ha(params: CarbonParameters, carbon_discount_rate: float = 0.0) -> float:
    """Biomass carbon (above + below ground) per surviving ha over the horizon, discounted, t C/ha."""
    totals = per_hectare_totals(params, carbon_discount_rate)
    biomass = totals[Pool.ABOVE_GROUND_BIOMASS.value] + totals[Pool.BELOW_GROUND_BIOMASS.value]
    return float(biomass / params.t_co2_per_t_c_surviving)


# -- planting paths -----------------------------------------------------------------------------------------

def single_cohort(area_10k_ha: float, planted_at_yr: float = 0.0) -> pd.DataFrame:
    """The study's assumption: the whole area planted at once (a one-row path)."""
    return pd.DataFrame({"period_start_yr": [float(planted_at_yr)], "planted_area_10k_ha": [float(area_10k_ha)]})


def cohorts_from_rates(path: pd.DataFrame, step_yr: float) -> pd.DataFrame:
    """A path of planting rates (``period_start_yr``, ``planting_rate_10k_ha_per_yr``, as returned by
    :func:`afforest.model.landuse.planting_path`) as cohorts: area planted per period = rate x step."""
    for column in ("period_start_yr", "planting_rate_10k_ha_per_yr"):
        if column not in path.columns:
            raise InputError("planting path lacks a column", field=column)
    _positive("step_yr", step_yr)
    return pd.DataFrame(
        {
            "period_start_yr": path["period_start_yr"].astype(float).to_numpy(),
            "planted_area_10k_ha": path["planting_rate_10k_ha_per_yr"].astype(float).to_numpy() * step_yr,
        }
    )


def split_at_horizon(path: pd.DataFrame, horizon_yr: float) -> tuple[pd.DataFrame, float]:
    """Cohorts planted before the horizon, and the area planted at or after it (10^4 ha), which stores
    nothing inside the accounts. Use it on a dynamic program's path, which runs past the carbon horizon."""
    inside = before_horizon(path["period_start_yr"].to_numpy(dtype=float), horizon_yr)
    return path[inside].reset_index(drop=True), float(path.loc[~inside, "planted_area_10k_ha"].sum())


def before_horizon(start_yr: NDArray[np.float64], horizon_yr: float) -> NDArray[np.bool_]:
    """Which cohorts, planted at ``start_yr``, grow inside the accounts (the rest store nothing)."""
    return start_yr < horizon_yr - _GRID_TOLERANCE


def _validated_path(
    path: pd.DataFrame, by: Sequence[str], horizon_yr: float, step_yr: float
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Period index and area of every row, after the checks that make the convolution meaningful."""
    for column in ("period_start_yr", "planted_area_10k_ha", *by):
        if column not in path.columns:
            raise InputError("planting path lacks a column", field=column)
    return validated_cohorts(path["period_start_yr"].to_numpy(dtype=float),
                             path["planted_area_10k_ha"].to_numpy(dtype=float), horizon_yr, step_yr)


def validated_cohorts(start: NDArray[np.float64], area: NDArray[np.float64], horizon_yr: float,
                      step_yr: float) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Period index and area of cohorts planted at ``start`` (yr) with ``area`` (10^4 ha), after the checks that make
    the convolution meaningful (:func:`cohort_sink`'s, which a table-free caller repeats on arrays)."""
    bad = ~np.isfinite(area) | (area < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"planted area must be a finite number >= 0 (path row {i})", field="planted_area_10k_ha", value=float(area[i]))
    bad = ~np.isfinite(start) | (start < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"planting time must be >= 0 (path row {i})", field="period_start_yr", value=float(start[i]))
    late = start >= horizon_yr - _GRID_TOLERANCE
    if late.any():
        i = int(np.argmax(late))
        raise InputError(
            f"the path is longer than the growth horizon ({horizon_yr:g} yr): a cohort planted then stores "
            f"nothing in the accounts; drop it explicitly with split_at_horizon() (path row {i})",
            field="period_start_yr",
            value=float(start[i]),
        )
    index = start / step_yr
    off = np.abs(index - np.round(index)) > _GRID_TOLERANCE * np.maximum(index, 1.0)
    if off.any():
        i = int(np.argmax(off))
        raise InputError(f"planting time is not on the {step_yr:g}-yr grid (path row {i})", field="period_start_yr", value=float(start[i]))
    return np.round(index).astype(np.int64), area


def cohort_sink(
    path: pd.DataFrame,
    params: CarbonParameters,
    carbon_discount_rate: float = 0.0,
    *,
    step_yr: float = 1.0,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Sink of a planting path by period and pool (and by the ``by`` columns), Mt CO2.

    ``path`` has one row per cohort: ``period_start_yr`` (on the ``step_yr`` grid, before the horizon),
    ``planted_area_10k_ha`` (>= 0) and the ``by`` columns (e.g. land_type, province). Returns a tidy table:
    the ``by`` columns, ``period_start_yr``, ``period_end_yr``, ``year`` (calendar year of the period start), ``pool``,
    ``sink_mt_co2`` (undiscounted) and ``discounted_sink_mt_co2`` (discounted to t = 0 at r_c).
    """
    rate = check_discount_rate(carbon_discount_rate)
    by = list(by)
    n = _steps(params.horizon_yr, step_yr)
    period, area = _validated_path(path, by, params.horizon_yr, step_yr)
    if by:
        keys = path[by].drop_duplicates().reset_index(drop=True)  # first-appearance order, as ngroup numbers them
        group = path.groupby(by, sort=False, dropna=False).ngroup().to_numpy()
    else:
        keys = pd.DataFrame(index=[0])
        group = np.zeros(len(path), dtype=np.int64)
    planted = np.zeros((len(keys), n))
    np.add.at(planted, (group, period), area)

    undiscounted, discounted = per_hectare_arrays(params, rate, step_yr)
    lag = np.arange(n)[:, None] - np.arange(n)[None, :]  # t - s
    valid = lag >= 0
    lag = np.where(valid, lag, 0)
    cohort_discount = np.exp(-rate * np.arange(n) * step_yr)
    sinks = []
    pools = len(POOLS)
    for curve, weights in ((undiscounted, planted), (discounted, planted * cohort_discount)):
        toeplitz = np.where(valid[None, :, :], curve[:, lag], 0.0)  # (pool, t, s): curve[p, t - s]
        by_source = toeplitz.transpose(2, 0, 1).reshape(n, pools * n)  # (s, pool x t), one BLAS product
        sinks.append(MT_PER_10K_T * (weights @ by_source).reshape(len(keys), pools, n))

    g, p, t = (ix.ravel() for ix in np.indices(sinks[0].shape))
    out = keys.iloc[g].reset_index(drop=True) if by else pd.DataFrame(index=range(g.size))
    out["period_start_yr"] = t * step_yr
    out["period_end_yr"] = (t + 1) * step_yr
    out["year"] = params.start_year + t * step_yr
    out["pool"] = pd.Categorical.from_codes(p, categories=[q.value for q in POOLS])
    out["sink_mt_co2"] = sinks[0].ravel()
    out["discounted_sink_mt_co2"] = sinks[1].ravel()
    return out


def cumulative_sink(sink: pd.DataFrame, to_yr: float | None = None, by: Sequence[str] = ("pool",)) -> pd.DataFrame:
    """Sink accumulated over the periods that end by ``to_yr`` (years after t = 0; default: all), by ``by``.

    ``sink`` is a table from :func:`cohort_sink`; the result has the ``by`` columns, ``sink_mt_co2`` and
    ``discounted_sink_mt_co2``. ``to_yr`` must fall on a period end (or 0).
    """
    if to_yr is not None:
        ends = np.unique(np.r_[0.0, sink["period_end_yr"].to_numpy(dtype=float)])
        if not np.any(np.abs(ends - to_yr) <= _GRID_TOLERANCE * max(abs(to_yr), 1.0)):
            raise InputError("must be the end of an accounting period", field="to_yr", value=to_yr)
        sink = sink[sink["period_end_yr"] <= to_yr + _GRID_TOLERANCE]
    columns = ["sink_mt_co2", "discounted_sink_mt_co2"]
    if not by:
        return sink[columns].sum().to_frame().T
    return sink.groupby(list(by), as_index=False, sort=False, observed=True)[columns].sum()


# -- growth per zone -----------------------------------------------------------------------------------------
GROWTH_PARAMETERS = ("richards_asymptote_m3_per_ha", "richards_rate_per_yr", "richards_shape")
"""Columns of a region's ``growth_by_zone`` table: a, k, c of :class:`RichardsGrowth` (Eq. 10)."""


def load_growth_by_zone(path: str | Path, zones: Sequence[str], land_types: Sequence[str]) -> pd.DataFrame:
    """Richards parameters by zone (``province``) and land type (empty: every land type of the zone), checked:
    known zones and land types, one row per (zone, land type), every parameter a valid :class:`RichardsGrowth`.
    Where a region gives no row, its single curve (``carbon_parameters``) applies."""
    frame, file = read_table("growth_by_zone", path)
    check_category(frame, "province", list(zones), file)
    check_category(frame, "land_type", ["", *land_types], file)
    check_unique(frame, ["province", "land_type"], file)
    for column in GROWTH_PARAMETERS:
        frame[column] = parse_number(frame, column, file)
    for idx, row in frame.iterrows():
        try:
            RichardsGrowth(*(float(row[c]) for c in GROWTH_PARAMETERS))
        except InputError as exc:
            raise InputError(exc.reason, file=file, row=csv_line(idx), field=exc.field, value=exc.value) from None
    return frame.reset_index(drop=True)


def growth_of(table: pd.DataFrame | None, default: StandGrowth, land_type: str, province: str) -> StandGrowth:
    """The growth of ``land_type`` planted in ``province``: its own row, else its zone's row, else ``default``."""
    if table is None:
        return default
    rows = table[table["province"] == province]
    for match in (rows[rows["land_type"] == land_type], rows[rows["land_type"] == ""]):
        if len(match):
            return RichardsGrowth(*(float(match.iloc[0][c]) for c in GROWTH_PARAMETERS))
    return default


def zone_cohort_sink(
    path: pd.DataFrame, params: CarbonParameters, table: pd.DataFrame | None, carbon_discount_rate: float = 0.0,
    *, step_yr: float = 1.0,
) -> pd.DataFrame:
    """:func:`cohort_sink` by ``land_type`` and ``province``, each group on its own growth (:func:`growth_of`)."""
    by = ["land_type", "province"]
    if table is None or path.empty:
        return cohort_sink(path, params, carbon_discount_rate, step_yr=step_yr, by=by)
    frames = [
        cohort_sink(group, params.replace(growth=growth_of(table, params.growth, str(keys[0]), str(keys[1]))),
                    carbon_discount_rate, step_yr=step_yr, by=by)
        for keys, group in path.groupby(by, sort=False)
    ]
    return pd.concat(frames, ignore_index=True)


def per_hectare_totals_by_class(
    params: CarbonParameters, table: pd.DataFrame | None, classes: pd.DataFrame, carbon_discount_rate: float = 0.0
) -> pd.Series:
    """Sink per planted hectare over the horizon (t CO2/ha, all pools) of each class on its zone's growth."""
    cache: dict[tuple[str, str], float] = {}
    values = []
    for land_type, province in zip(classes["land_type"], classes["province"]):
        key = (str(land_type), str(province))
        if key not in cache:
            own = params.replace(growth=growth_of(table, params.growth, *key))
            cache[key] = float(per_hectare_totals(own, carbon_discount_rate).sum())
        values.append(cache[key])
    return pd.Series(values, index=classes.index, dtype=float)


# -- soil calibration ---------------------------------------------------------------------------------------

class SoilShape(StrEnum):
    """How the soil rates omega_i relate to each other; the free parameters are solved from the targets."""

    CONSTANT = "constant"
    """omega_i = s: one parameter."""
    BIOMASS_GROWTH = "biomass_growth"
    """omega_i = s x mean growth of v over period i: soil accrues in step with the stand. One parameter."""
    TILTED_BIOMASS_GROWTH = "tilted_biomass_growth"
    """omega_i = s x mean growth x e^{kappa (m_i - T/2)} (m_i the period's mid-age): a tilt kappa (1/yr)
    towards later (kappa > 0) or earlier ages. Two parameters, so two targets at different r_c."""

    @property
    def parameters(self) -> int:
        return 2 if self is SoilShape.TILTED_BIOMASS_GROWTH else 1


@dataclass(frozen=True)
class SoilTarget:
    """Soil carbon per surviving hectare accumulated over the horizon, discounted at r_c (t C/ha)."""

    carbon_discount_rate: float
    soil_carbon_t_c_per_ha: float
    label: str = ""

    def __post_init__(self) -> None:
        check_discount_rate(self.carbon_discount_rate)
        _positive("soil_carbon_t_c_per_ha", self.soil_carbon_t_c_per_ha)


@dataclass(frozen=True)
class SoilCalibration:
    """A calibrated schedule with what produced it."""

    schedule: SoilSchedule
    shape: SoilShape
    scale: float
    """s: t C/(ha yr) (constant) or t C per m^3 of stand growth (biomass shapes)."""
    tilt_per_yr: float
    targets: tuple[SoilTarget, ...]
    biomass_scale: float = 1.0
    """Factor on the printed biomass the soil targets were computed with (a provenance's ``[biomass]`` table)."""


def soil_target_from_total(
    total_sink_mt_co2: float,
    area_10k_ha: float,
    params: CarbonParameters,
    carbon_discount_rate: float = 0.0,
    soil_share: float | None = None,
    label: str = "",
) -> SoilTarget:
    """Turn a published total sink on an area into a soil target per surviving ha.

    With ``soil_share`` the soil pool is the share of the total (the study's own split; the package's
    biomass does not enter). Without it, soil = total - the package's biomass at the same r_c.
    """
    _positive("total_sink_mt_co2", total_sink_mt_co2)
    _positive("area_10k_ha", area_10k_ha)
    per_ha_t_c = total_sink_mt_co2 / MT_PER_10K_T / area_10k_ha / params.t_co2_per_t_c_surviving
    if soil_share is not None:
        if not 0 < soil_share < 1:
            raise InputError("must be in (0, 1)", field="soil_share", value=soil_share)
        soil = soil_share * per_ha_t_c
    else:
        soil = per_ha_t_c - biomass_carbon_t_c_per_ha(params, carbon_discount_rate)
        if soil <= 0:
            raise InputError(
                "the package's biomass alone exceeds this total: no positive soil pool fits",
                field="total_sink_mt_co2",
                value=total_sink_mt_co2,
            )
    return SoilTarget(carbon_discount_rate, soil, label)


def _shape_weights(
    shape: SoilShape, start: NDArray[np.float64], end: NDArray[np.float64], growth: StandGrowth | None, tilt: float
) -> NDArray[np.float64]:
    if shape is SoilShape.CONSTANT:
        return np.ones_like(start)
    if growth is None:
        raise InputError("a biomass shape needs the stand growth curve", field="growth")
    mean_growth = (growth.volume_m3_per_ha(end) - growth.volume_m3_per_ha(start)) / (end - start)
    if shape is SoilShape.BIOMASS_GROWTH:
        return mean_growth
    middle = (start + end) / 2 - end[-1] / 2
    return mean_growth * np.exp(tilt * middle)


def calibrate_soil_schedule(
    targets: Sequence[SoilTarget],
    period_bounds_yr: Sequence[float],
    shape: SoilShape | str = SoilShape.BIOMASS_GROWTH,
    growth: StandGrowth | None = None,
) -> SoilCalibration:
    """Solve the soil rates omega_i from as many targets as the shape has free parameters.

    ``period_bounds_yr`` are the n + 1 bounds 0 = b_0 < ... < b_n of the n periods; targets accumulate over
    [0, b_n). A one-parameter shape scales its weights to the one target; the tilted shape finds the tilt
    kappa that gives the ratio of two targets (at different r_c, bracketed root of a monotone function),
    then the scale.
    """
    shape = SoilShape(shape)
    targets = tuple(targets)
    if len(targets) != shape.parameters:
        raise InputError(
            f"shape {shape.value!r} has {shape.parameters} free parameter(s) and needs as many targets",
            field="targets",
            value=len(targets),
        )
    bounds = np.asarray(period_bounds_yr, dtype=float)
    if bounds.ndim != 1 or bounds.size < 2 or bounds[0] != 0 or np.any(np.diff(bounds) <= 0):
        raise InputError("must rise strictly from 0", field="period_bounds_yr", value=list(map(float, bounds)))
    start, end = bounds[:-1], bounds[1:]

    def accumulated(weights: NDArray[np.float64], rate: float) -> float:
        return float(weights @ _discounted_length(start, end, rate))

    tilt = 0.0
    if shape.parameters == 2:
        first, second = sorted(targets, key=lambda x: x.carbon_discount_rate)
        if first.carbon_discount_rate == second.carbon_discount_rate:
            raise InputError("the two targets need different carbon discount rates", field="targets")
        wanted = second.soil_carbon_t_c_per_ha / first.soil_carbon_t_c_per_ha

        def excess(kappa: float) -> float:
            w = _shape_weights(shape, start, end, growth, kappa)
            return accumulated(w, second.carbon_discount_rate) / accumulated(w, first.carbon_discount_rate) - wanted

        span = 1.0
        limit = 50.0 / bounds[-1]
        while excess(-span) * excess(span) > 0 and span < limit:
            span *= 2
        if excess(-span) * excess(span) > 0:
            raise InputError(
                f"no tilt of the shape gives the ratio {wanted:.4f} of the two targets", field="targets", value=wanted
            )
        tilt = float(brentq(excess, -span, span, xtol=1e-14, rtol=1e-14))
    weights = _shape_weights(shape, start, end, growth, tilt)
    anchor = targets[0]
    scale = anchor.soil_carbon_t_c_per_ha / accumulated(weights, anchor.carbon_discount_rate)
    schedule = SoilSchedule(tuple(start), tuple(end), tuple(scale * weights))
    return SoilCalibration(schedule=schedule, shape=shape, scale=float(scale), tilt_per_yr=tilt, targets=targets)


def calibrate_from_provenance(
    params: CarbonParameters | None = None, path: str | Path | None = None
) -> SoilCalibration:
    """Re-run the calibration recorded in ``data/soil_carbon_schedule.toml`` (or ``path``)."""
    file = Path(path) if path is not None else data_path("soil_carbon_schedule.toml")
    raw = read_toml(file)
    spec = raw.get("calibration")
    if not isinstance(spec, dict) or "shape" not in spec or "period_bounds_yr" not in spec:
        raise InputError("needs a [calibration] table with shape and period_bounds_yr", file=file, field="calibration")
    if spec["shape"] not in {s.value for s in SoilShape}:
        raise InputError(f"unknown shape; expected one of {[s.value for s in SoilShape]}", file=file, field="shape", value=spec["shape"])
    if params is None:
        # The calibration reads growth, theta and 44/12 only; a schedule without soil carbon stands in for
        # the one being calibrated, so the first calibration needs no schedule file.
        horizon = load_quantities(data_path("carbon_parameters.toml"))["accounting_horizon"].value
        params = load_carbon_parameters(soil_schedule=SoilSchedule((0.0,), (float(horizon),), (0.0,)))
    biomass = raw.get("biomass")
    if biomass is not None:
        params = params.replace(biomass_scale=_biomass_scale_from(biomass, params, file))
    targets = []
    for name, entry in raw.get("targets", {}).items():
        missing = [k for k in ("carbon_discount_rate", "total_sink_mt_co2", "area_10k_ha", "source") if k not in entry]
        if missing:
            raise InputError(f"target lacks {missing}", file=file, field=f"targets.{name}")
        try:
            targets.append(
                soil_target_from_total(
                    entry["total_sink_mt_co2"],
                    entry["area_10k_ha"],
                    params,
                    entry["carbon_discount_rate"],
                    entry.get("soil_share"),
                    label=name,
                )
            )
        except InputError as exc:
            raise InputError(exc.reason, file=file, field=f"targets.{name}.{exc.field}", value=exc.value) from exc
    try:
        calibration = calibrate_soil_schedule(targets, spec["period_bounds_yr"], spec["shape"], params.growth)
    except InputError as exc:
        raise InputError(exc.reason, file=file, field=exc.field, value=exc.value) from exc
    return dataclasses.replace(calibration, biomass_scale=params.biomass_scale)


def _biomass_scale_from(entry: Any, params: CarbonParameters, file: Path) -> float:
    """The factor s that makes the biomass per surviving ha (at the entry's r_c) the published biomass share
    of a published total on an area: s = share x total / (area x (44/12) theta) / the printed biomass."""
    needed = ("carbon_discount_rate", "total_sink_mt_co2", "biomass_share", "area_10k_ha", "source")
    missing = [k for k in needed if not isinstance(entry, dict) or k not in entry]
    if missing:
        raise InputError(f"[biomass] lacks {missing}", file=file, field="biomass")
    share = entry["biomass_share"]
    if not (isinstance(share, (int, float)) and 0 < share < 1):
        raise InputError("must be in (0, 1)", file=file, field="biomass.biomass_share", value=share)
    try:
        total = _positive("total_sink_mt_co2", entry["total_sink_mt_co2"])
        area = _positive("area_10k_ha", entry["area_10k_ha"])
        rate = check_discount_rate(entry["carbon_discount_rate"])
    except InputError as exc:
        raise InputError(exc.reason, file=file, field=f"biomass.{exc.field}", value=exc.value) from exc
    wanted_t_c = share * total / MT_PER_10K_T / area / params.t_co2_per_t_c_surviving
    return params.biomass_scale * wanted_t_c / biomass_carbon_t_c_per_ha(params, rate)
