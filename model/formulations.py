"""Alternative formulations as named switches on a built land-use model, not forks of the builders.

Each function adds named components (a mutable Param, a Constraint or a welfare term) to a model made by
:mod:`afforest.model.landuse`, so that a sweep can change the switch's value by assigning the Param and a
user can deactivate or delete the component. Switches that need land types or provinces apply to the
classes model only; data-level switches (excluding provinces, scaling the opportunity cost) act on the
inputs before a model is built (:func:`exclude_provinces`, :func:`scale_opportunity_cost`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import pyomo.environ as pyo

from afforest.data import PROVINCES, LandUseParameters
from afforest.errors import InputError
from afforest.model.landuse import add_welfare_term

__all__ = [
    "add_planting_cap",
    "set_planting_cap",
    "add_province_quotas",
    "add_carbon_value",
    "add_land_type_costs",
    "exclude_provinces",
    "scale_opportunity_cost",
]

_PER_10K_YUAN = 1e-4
"""10^4 yuan (yuan/ha x 10^4 ha) in the welfare unit of 10^8 yuan."""


def add_planting_cap(m: pyo.ConcreteModel, cap_10k_ha_per_yr: float | None) -> None:
    """Annual planting capacity: R_k <= cap (constraint ``annual_planting_cap``; None deactivates it)."""
    m.annual_planting_cap_10k_ha_per_yr = pyo.Param(
        initialize=0.0 if cap_10k_ha_per_yr is None else cap_10k_ha_per_yr, mutable=True, doc="10^4 ha/yr"
    )
    m.annual_planting_cap = pyo.Constraint(
        m.periods, rule=lambda m, k: m.planting_rate_10k_ha_per_yr[k] <= m.annual_planting_cap_10k_ha_per_yr
    )
    set_planting_cap(m, cap_10k_ha_per_yr)


def set_planting_cap(m: pyo.ConcreteModel, cap_10k_ha_per_yr: float | None) -> None:
    """Change (or with None switch off) the planting cap of a model that has one."""
    if cap_10k_ha_per_yr is None:
        m.annual_planting_cap.deactivate()
        return
    if not cap_10k_ha_per_yr > 0:
        raise InputError("must be > 0", field="annual_planting_cap_10k_ha_per_yr", value=cap_10k_ha_per_yr)
    m.annual_planting_cap_10k_ha_per_yr = cap_10k_ha_per_yr
    m.annual_planting_cap.activate()


def _check_provinces(names: Sequence[str], field: str) -> None:
    for name in names:
        if name not in PROVINCES:
            raise InputError(f"unknown province; expected one of {list(PROVINCES)}", field=field, value=name)


def add_province_quotas(m: pyo.ConcreteModel, quotas_10k_ha: Mapping[str, float]) -> None:
    """Classes model: area afforested in a province by the horizon <= its quota (``province_quota[p]``)."""
    if not hasattr(m, "classes"):
        raise InputError("province quotas need the classes model", field="province_quota_10k_ha")
    _check_provinces(list(quotas_10k_ha), "province_quota_10k_ha")
    for province, quota in quotas_10k_ha.items():
        if not quota >= 0:
            raise InputError("must be >= 0", field=f"province_quota_10k_ha.{province}", value=quota)
    last = m.time_points.last()
    m.quota_provinces = pyo.Set(initialize=list(quotas_10k_ha), ordered=True)
    m.province_quota_10k_ha = pyo.Param(m.quota_provinces, initialize=dict(quotas_10k_ha), mutable=True)
    m.province_quota = pyo.Constraint(
        m.quota_provinces,
        rule=lambda m, p: pyo.quicksum(
            m.class_area_10k_ha[c] - m.unconverted_area_10k_ha[c, last] for c in m.classes if c[1] == p
        )
        <= m.province_quota_10k_ha[p],
    )


def add_carbon_value(m: pyo.ConcreteModel, price_yuan_per_t_co2: float, carbon_pv_t_co2_per_ha: float) -> None:
    """Carbon valued at a price in the planner's objective (welfare term ``carbon_value_pv``).

    A hectare planted at t_k earns the price times its sequestration stream, discounted at the planner's
    rate back to t_k (``carbon_pv_t_co2_per_ha``, from the carbon module). This is the same as lowering
    tau(0) by price x carbon PV, so Eq. 3 still holds with that effective cost.
    """
    if not price_yuan_per_t_co2 >= 0:
        raise InputError("must be >= 0", field="carbon_price_yuan_per_t_co2", value=price_yuan_per_t_co2)
    m.carbon_price_yuan_per_t_co2 = pyo.Param(initialize=price_yuan_per_t_co2, mutable=True)
    m.carbon_pv_t_co2_per_ha = pyo.Param(
        initialize=carbon_pv_t_co2_per_ha, mutable=True, doc="PV at planting of the sequestration of one ha, t CO2"
    )
    add_welfare_term(
        m,
        "carbon_value_pv",
        _PER_10K_YUAN
        * m.carbon_price_yuan_per_t_co2
        * m.carbon_pv_t_co2_per_ha
        * pyo.quicksum(m.cost_discount[k] * m.step_yr * m.planting_rate_10k_ha_per_yr[k] for k in m.periods),
    )


def add_land_type_costs(m: pyo.ConcreteModel, multiplier_by_land_type: Mapping[str, float]) -> None:
    """Classes model: direct cost tau(0) x multiplier for the listed land types (welfare term
    ``land_type_cost_adjustment_pv``, param ``direct_cost_multiplier[c]``; unlisted types keep 1)."""
    if not hasattr(m, "classes"):
        raise InputError("land-type costs need the classes model", field="direct_cost_multiplier_by_land_type")
    known = {c[0] for c in m.classes}
    for land_type, factor in multiplier_by_land_type.items():
        if land_type not in known:
            raise InputError(
                f"no class of this land type; known: {sorted(known)}",
                field="direct_cost_multiplier_by_land_type",
                value=land_type,
            )
        if not factor > 0:
            raise InputError("must be > 0", field=f"direct_cost_multiplier_by_land_type.{land_type}", value=factor)
    m.direct_cost_multiplier = pyo.Param(
        m.classes, initialize=lambda m, *c: float(multiplier_by_land_type.get(c[0], 1.0)), mutable=True
    )
    add_welfare_term(
        m,
        "land_type_cost_adjustment_pv",
        -_PER_10K_YUAN
        * m.planting_cost_intercept_yuan_per_ha
        * pyo.quicksum(
            m.cost_discount[k] * m.step_yr * (m.direct_cost_multiplier[c] - 1) * m.class_planting_rate_10k_ha_per_yr[c, k]
            for c in m.classes
            for k in m.periods
        ),
    )


def exclude_provinces(area: pd.DataFrame, provinces: Sequence[str]) -> pd.DataFrame:
    """Drop excluded provinces from an afforestable-area table before the merit order is formed.

    The remaining classes are re-ranked, so their merit-order intervals (and curve-average values) close up.
    """
    _check_provinces(provinces, "excluded_provinces")
    kept = area[~area["province"].isin(list(provinces))]
    if not (kept["area_10k_ha"] > 0).any():
        raise InputError("every class is excluded", field="excluded_provinces", value=list(provinces))
    return kept.reset_index(drop=True)


def scale_opportunity_cost(
    params: LandUseParameters, classes: pd.DataFrame, share: float
) -> tuple[LandUseParameters, pd.DataFrame]:
    """Count only ``share`` of the current use's ESV as lost (e.g. its marketed, provisioning part).

    Scales B'(A) (curves and Eq. 3) and each class's current ESV; the afforested ESV is unchanged.
    """
    if not 0 <= share <= 1:
        raise InputError("must lie in [0, 1]", field="opportunity_cost_share", value=share)
    if share == 1:
        return params, classes
    scaled = params.replace(unconverted_esv_coefficients=tuple(share * a for a in params.unconverted_esv_coefficients))
    return scaled, classes.assign(esv_yuan_per_ha_yr=classes["esv_yuan_per_ha_yr"] * share)
