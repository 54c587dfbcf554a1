"""The planner's land-use problem (Eqs. 1-2) as explicit Pyomo dynamic programs.

Continuous time is cut into planting periods k = 0..N-1 of length dt, starting at t_k = k dt, with
states A_0..A_N (unconverted land, 10^4 ha):

    A_{k+1} = A_k - R_k dt,   R_k >= 0,   A_0 = A0.

Two representations of the ESV share this skeleton, the cost and the discounting:

* :func:`build_curves_model`: the study's fitted curves, B(A) = int_0^A B'(s) ds and
  C(z) = int_0^z C'(s) ds (quartic) -> an NLP for Ipopt.
* :func:`build_classes_model`: the merit-order classes of Table 2 with their own ESV before and after
  planting, one state per class -> a convex QP for HiGHS.

Welfare, in 10^8 yuan (present value at t = 0), is the sum of named terms listed in the set
``welfare_terms`` (each an ``Expression`` on the model): ``esv_unconverted_pv``, ``esv_afforested_pv``,
``planting_cost_pv`` (negative) and ``terminal_value_pv``. Add or remove terms with
:func:`add_welfare_term` / :func:`remove_welfare_term`; add constraints directly on the model.

Discounting (``TimeGrid.discounting``):

* ``integrated`` (default): the land planted in period k is planted at its start t_k, pays its cost with
  factor e^{-r t_k}, and the flows of period k, evaluated at the post-planting state A_{k+1}, carry the
  exact integral of the discount factor over the period, e^{-r t_k} (1 - e^{-r dt}) / r. A hectare
  converted at t_k then earns sum_{j>=k} of those weights = e^{-r t_k} / r per yuan of yearly gain, as in
  continuous time, so the discrete steady state satisfies Eq. 3 exactly for every dt.
* ``sampled``: the textbook Euler rule, flows at A_k weighted by dt e^{-r t_k}. Its steady state
  solves C' - B' = tau(0) (e^{r dt} - 1) / dt instead of r tau(0): an O(r dt) bias.

The weights are mutable Params derived from ``discount_rate``; :func:`afforest.solvers.solve` refreshes them
before every solve (call :func:`refresh_discount_weights` yourself if you hand the model to a solver directly).

After the horizon T = N dt, the terminal term values the last state as a perpetuity of its flows (no
planting after T), weight e^{-r T} / r (integrated) or dt e^{-r T} / (1 - e^{-r dt}) (sampled). With a
horizon of many adjustment time constants, the path has converged by T and the truncation is negligible.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from enum import StrEnum

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from afforest.data import LandUseParameters
from afforest.errors import InputError

__all__ = [
    "Discounting",
    "TimeGrid",
    "build_curves_model",
    "build_classes_model",
    "add_welfare_term",
    "refresh_discount_weights",
    "remove_welfare_term",
    "planting_path",
    "class_allocation",
    "class_planting_path",
    "long_run_afforested_area",
    "OBJECTIVE_UNIT_YUAN",
]

OBJECTIVE_UNIT_YUAN = 1e8
"""Welfare is reported in 10^8 yuan: yuan/ha x 10^4 ha = 10^4 yuan, so terms are scaled by 10^-4."""
_PER_10K_YUAN = 1e4 / OBJECTIVE_UNIT_YUAN


class Discounting(StrEnum):
    """How the continuous discount factor e^{-rt} is carried onto the planting periods."""

    INTEGRATED = "integrated"
    SAMPLED = "sampled"


@dataclass(frozen=True)
class TimeGrid:
    """Planting periods: horizon T and step dt in years, and the discounting rule."""

    horizon_yr: float = 100.0
    step_yr: float = 1.0
    discounting: Discounting = Discounting.INTEGRATED

    def __post_init__(self) -> None:
        if not self.step_yr > 0:
            raise InputError("must be > 0", field="step_yr", value=self.step_yr)
        if not self.horizon_yr >= self.step_yr:
            raise InputError("must be >= step_yr", field="horizon_yr", value=self.horizon_yr)
        periods = self.horizon_yr / self.step_yr
        if abs(periods - round(periods)) > 1e-9 * periods:
            raise InputError("must be a whole number of steps", field="horizon_yr", value=self.horizon_yr)
        object.__setattr__(self, "discounting", Discounting(self.discounting))

    @property
    def periods(self) -> int:
        """Number of planting periods N."""
        return int(round(self.horizon_yr / self.step_yr))


def _add_skeleton(m: pyo.ConcreteModel, params: LandUseParameters, grid: TimeGrid) -> None:
    """Time sets, the mutable economic parameters, the planting rate and the discount weights."""
    n = grid.periods
    m.periods = pyo.RangeSet(0, n - 1, doc="planting periods k; period k starts at k * step_yr")
    m.time_points = pyo.RangeSet(0, n, doc="state indices 0..N; state k holds at the start of period k")
    m.step_yr = pyo.Param(initialize=grid.step_yr, doc="length of a planting period, yr")
    m.horizon_yr = pyo.Param(initialize=grid.horizon_yr, doc="planning horizon T, yr")
    m.discounting = grid.discounting
    m.period_start_yr = pyo.Param(m.time_points, initialize=lambda _, k: k * grid.step_yr, doc="t_k, yr")
    m.discount_rate = pyo.Param(
        initialize=params.financial_discount_rate, mutable=True, within=pyo.PositiveReals, doc="r, 1/yr"
    )
    m.initial_area_10k_ha = pyo.Param(
        initialize=params.initial_area_10k_ha, mutable=True, within=pyo.PositiveReals, doc="A0, 10^4 ha"
    )
    m.planting_cost_intercept_yuan_per_ha = pyo.Param(
        initialize=params.planting_cost_intercept_yuan_per_ha, mutable=True, doc="tau(0), yuan/ha"
    )
    m.planting_cost_slope_yuan_per_ha_per_10k_ha_yr = pyo.Param(
        initialize=params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr,
        mutable=True,
        doc="tau1 in tau(R) = tau(0) + tau1 R, yuan/ha per (10^4 ha/yr)",
    )
    m.planting_rate_10k_ha_per_yr = pyo.Var(
        m.periods, within=pyo.NonNegativeReals, initialize=0.0, doc="R_k, total planting rate, 10^4 ha/yr"
    )

    m.flow_discount_yr = pyo.Param(m.periods, mutable=True, initialize=0.0, doc="discount weight of period k's flows, yr")
    m.terminal_discount_yr = pyo.Param(mutable=True, initialize=0.0, doc="weight of the final state's perpetual flows, yr")
    m.cost_discount = pyo.Param(m.periods, mutable=True, initialize=0.0, doc="e^{-r t_k}, discount of period k's planting cost")
    # Derived from discount_rate: afforest.solvers.solve refreshes them before every solve, so assigning
    # m.discount_rate is all a user (or a sweep) does. As leaves, they keep HiGHS's coefficient updates cheap.
    m._afforest_refresh = refresh_discount_weights
    refresh_discount_weights(m)


def refresh_discount_weights(m: pyo.ConcreteModel) -> None:
    """Recompute ``flow_discount_yr``, ``cost_discount`` and ``terminal_discount_yr`` from ``discount_rate``.

    integrated: e^{-r t_k} (1 - e^{-r dt}) / r per period and e^{-r T} / r after T;
    sampled: dt e^{-r t_k} and dt e^{-r T} / (1 - e^{-r dt}).
    """
    r = float(pyo.value(m.discount_rate))
    if not r > 0:
        raise InputError("must be > 0", field="discount_rate", value=r)
    dt, horizon = float(pyo.value(m.step_yr)), float(pyo.value(m.horizon_yr))
    starts = np.array([pyo.value(m.period_start_yr[k]) for k in m.periods])
    cost = np.exp(-r * starts)
    if m.discounting is Discounting.INTEGRATED:
        flow = cost * -np.expm1(-r * dt) / r
        terminal = math.exp(-r * horizon) / r
    else:
        flow = dt * cost
        terminal = dt * math.exp(-r * horizon) / -math.expm1(-r * dt)
    for k, (w_flow, w_cost) in zip(m.periods, zip(flow, cost)):
        m.flow_discount_yr[k] = float(w_flow)
        m.cost_discount[k] = float(w_cost)
    m.terminal_discount_yr = terminal


def _flow_state(m: pyo.ConcreteModel, k: int) -> int:
    """State whose flows period k earns: after planting (integrated) or before it (sampled)."""
    return k + 1 if m.discounting is Discounting.INTEGRATED else k


def _add_welfare(m: pyo.ConcreteModel) -> None:
    """The four named welfare terms and the objective ``welfare`` (10^8 yuan, maximised).

    Needs ``unconverted_esv_flow[t]`` and ``afforested_esv_flow[t]`` (10^8 yuan/yr) on the model.
    """
    last = m.time_points.last()
    m.esv_unconverted_pv = pyo.Expression(
        expr=pyo.quicksum(m.flow_discount_yr[k] * m.unconverted_esv_flow[_flow_state(m, k)] for k in m.periods),
        doc="PV of the ESV of land left in its current use up to T, 10^8 yuan",
    )
    m.esv_afforested_pv = pyo.Expression(
        expr=pyo.quicksum(m.flow_discount_yr[k] * m.afforested_esv_flow[_flow_state(m, k)] for k in m.periods),
        doc="PV of the ESV of afforested land up to T, 10^8 yuan",
    )
    m.planting_cost_pv = pyo.Expression(
        expr=-_PER_10K_YUAN
        * pyo.quicksum(
            m.cost_discount[k]
            * m.step_yr
            * (
                m.planting_cost_intercept_yuan_per_ha * m.planting_rate_10k_ha_per_yr[k]
                + m.planting_cost_slope_yuan_per_ha_per_10k_ha_yr * m.planting_rate_10k_ha_per_yr[k] ** 2
            )
            for k in m.periods
        ),
        doc="minus the PV of direct costs tau(R) R dt, 10^8 yuan",
    )
    m.terminal_value_pv = pyo.Expression(
        expr=m.terminal_discount_yr * (m.unconverted_esv_flow[last] + m.afforested_esv_flow[last]),
        doc="PV of the ESV flows of the final state held forever after T, 10^8 yuan",
    )
    m.welfare_terms = pyo.Set(
        initialize=["esv_unconverted_pv", "esv_afforested_pv", "planting_cost_pv", "terminal_value_pv"],
        ordered=True,
        doc="names of the Expressions summed into the objective",
    )
    _rebuild_objective(m)


def _rebuild_objective(m: pyo.ConcreteModel) -> None:
    if m.component("welfare") is not None:
        m.del_component("welfare")
    m.welfare = pyo.Objective(
        expr=pyo.quicksum(m.component(name) for name in m.welfare_terms),
        sense=pyo.maximize,
        doc="discounted net social value W (Eq. 1), 10^8 yuan",
    )


def add_welfare_term(m: pyo.ConcreteModel, name: str, expression: pyo.Expression | object) -> None:
    """Add ``expression`` (10^8 yuan, PV) as an Expression ``name`` and include it in the objective."""
    if m.component(name) is not None:
        raise InputError("a component of this name already exists on the model", field="name", value=name)
    m.add_component(name, pyo.Expression(expr=expression))
    m.welfare_terms.add(name)
    _rebuild_objective(m)


def remove_welfare_term(m: pyo.ConcreteModel, name: str) -> None:
    """Drop a term from the objective (the Expression stays on the model for inspection)."""
    if name not in m.welfare_terms:
        raise InputError(f"not a welfare term; terms are {list(m.welfare_terms)}", field="name", value=name)
    m.welfare_terms.remove(name)
    _rebuild_objective(m)


def _polynomial_integral(coefficients: pyo.Param, x: object) -> object:
    """int_0^x sum_i c_i s^i ds = sum_i c_i x^{i+1} / (i+1)."""
    return pyo.quicksum(coefficients[i] * x ** (i + 1) / (i + 1) for i in coefficients)


_EXPECTED_TYPES: dict[str, tuple[type, ...]] = {
    "classes": (pd.DataFrame,),
    "params": (LandUseParameters,),
    "grid": (TimeGrid, type(None)),
}


def _check_argument_types(signature: str, **arguments: object) -> None:
    """A builder called with its arguments swapped or of the wrong kind says what it expects (TypeError)."""
    for name, value in arguments.items():
        expected = _EXPECTED_TYPES[name]
        if not isinstance(value, expected):
            names = " or ".join("None" if t is type(None) else t.__name__ for t in expected)
            raise TypeError(
                f"{signature}: argument {name!r} must be a {names}, got {type(value).__name__}"
                + (" (are the arguments in this order?)" if any(isinstance(value, _EXPECTED_TYPES[o]) for o in arguments if o != name) else "")
            )


def build_curves_model(params: LandUseParameters, grid: TimeGrid | None = None) -> pyo.ConcreteModel:
    """Curves representation: ESV from the study's fitted B'(A) and C'(z) (an NLP; solve with Ipopt).

    Components: sets ``periods``, ``time_points``; mutable params ``discount_rate``,
    ``initial_area_10k_ha``, ``planting_cost_intercept_yuan_per_ha``,
    ``planting_cost_slope_yuan_per_ha_per_10k_ha_yr``, ``unconverted_esv_coefficient[i]`` (alpha_i),
    ``afforested_esv_coefficient[i]`` (beta_i); variables ``unconverted_area_10k_ha[t]`` (A_t) and
    ``planting_rate_10k_ha_per_yr[k]`` (R_k); constraints ``initial_state``, ``land_balance[k]``;
    welfare terms as in the module docstring; objective ``welfare``.
    """
    _check_argument_types("build_curves_model(params: LandUseParameters, grid: TimeGrid | None = None)", params=params, grid=grid)
    grid = grid or TimeGrid()
    m = pyo.ConcreteModel(name="afforest_curves")
    _add_skeleton(m, params, grid)
    alpha, beta = params.unconverted_esv_coefficients, params.afforested_esv_coefficients
    m.unconverted_esv_coefficient = pyo.Param(
        range(len(alpha)), initialize=dict(enumerate(alpha)), mutable=True,
        doc="alpha_i of B'(A), yuan/(ha yr) per (10^4 ha)^i",
    )
    m.afforested_esv_coefficient = pyo.Param(
        range(len(beta)), initialize=dict(enumerate(beta)), mutable=True,
        doc="beta_i of C'(z), yuan/(ha yr) per (10^4 ha)^i",
    )
    m.unconverted_area_10k_ha = pyo.Var(
        m.time_points, within=pyo.NonNegativeReals, initialize=params.initial_area_10k_ha,
        doc="A_t, land not yet converted, 10^4 ha",
    )
    m.initial_state = pyo.Constraint(expr=m.unconverted_area_10k_ha[0] == m.initial_area_10k_ha)
    m.land_balance = pyo.Constraint(
        m.periods,
        rule=lambda m, k: m.unconverted_area_10k_ha[k + 1]
        == m.unconverted_area_10k_ha[k] - m.planting_rate_10k_ha_per_yr[k] * m.step_yr,
        doc="A_{k+1} = A_k - R_k dt",
    )
    m.unconverted_esv_flow = pyo.Expression(
        m.time_points,
        rule=lambda m, t: _PER_10K_YUAN * _polynomial_integral(m.unconverted_esv_coefficient, m.unconverted_area_10k_ha[t]),
        doc="B(A_t), ESV of unconverted land, 10^8 yuan/yr",
    )
    m.afforested_esv_flow = pyo.Expression(
        m.time_points,
        rule=lambda m, t: _PER_10K_YUAN
        * _polynomial_integral(m.afforested_esv_coefficient, m.initial_area_10k_ha - m.unconverted_area_10k_ha[t]),
        doc="C(A0 - A_t), ESV of afforested land, 10^8 yuan/yr",
    )
    _add_welfare(m)
    return m


def build_classes_model(
    classes: pd.DataFrame, params: LandUseParameters, grid: TimeGrid | None = None
) -> pyo.ConcreteModel:
    """Classes representation: one state per merit-order class (a convex QP; solve with HiGHS).

    ``classes`` is a table from :func:`afforest.model.merit_order.landuse_classes` (columns
    ``land_type``, ``province``, ``slice``, ``rank``, ``area_10k_ha``, ``esv_yuan_per_ha_yr``,
    ``afforested_esv_yuan_per_ha_yr``). A class is indexed by (land_type, province, slice).

    Components beyond the shared ones: set ``classes``; mutable params ``class_area_10k_ha[c]``,
    ``current_esv_yuan_per_ha_yr[c]``, ``afforested_esv_yuan_per_ha_yr[c]``; variables
    ``unconverted_area_10k_ha[c, t]``, ``class_planting_rate_10k_ha_per_yr[c, k]``; constraints
    ``initial_state[c]``, ``land_balance[c, k]``, ``planting_rate_total[k]`` (R_k is the sum over classes,
    so the rising marginal cost applies to the region's total planting).
    """
    _check_argument_types(
        "build_classes_model(classes: pandas.DataFrame, params: LandUseParameters, grid: TimeGrid | None = None)",
        classes=classes,
        params=params,
        grid=grid,
    )
    grid = grid or TimeGrid()
    required = ["land_type", "province", "slice", "rank", "area_10k_ha", "esv_yuan_per_ha_yr", "afforested_esv_yuan_per_ha_yr"]
    missing = [c for c in required if c not in classes.columns]
    if missing:
        raise InputError(f"classes table lacks columns {missing}", field="classes")
    if (classes["area_10k_ha"] <= 0).any() or classes[required[4:]].isna().any().any():
        raise InputError("classes need positive areas and finite ESVs", field="classes")
    ordered = classes.sort_values(["rank", "slice"])
    keys = list(zip(ordered["land_type"], ordered["province"], ordered["slice"].astype(int)))
    m = pyo.ConcreteModel(name="afforest_classes")
    _add_skeleton(m, params, grid)
    m.classes = pyo.Set(initialize=keys, dimen=3, ordered=True, doc="(land_type, province, slice) in merit order")

    def by_class(column: str) -> dict[tuple[str, str, int], float]:
        return dict(zip(keys, ordered[column].astype(float)))

    m.class_area_10k_ha = pyo.Param(m.classes, initialize=by_class("area_10k_ha"), mutable=True, doc="10^4 ha")
    m.current_esv_yuan_per_ha_yr = pyo.Param(
        m.classes, initialize=by_class("esv_yuan_per_ha_yr"), mutable=True, doc="ESV of the current use, Table 3"
    )
    m.afforested_esv_yuan_per_ha_yr = pyo.Param(
        m.classes, initialize=by_class("afforested_esv_yuan_per_ha_yr"), mutable=True, doc="ESV once planted"
    )
    areas = by_class("area_10k_ha")
    m.unconverted_area_10k_ha = pyo.Var(
        m.classes,
        m.time_points,
        within=pyo.NonNegativeReals,
        initialize=lambda m, *ct: areas[ct[:3]],
        doc="class land not yet converted, 10^4 ha",
    )
    m.class_planting_rate_10k_ha_per_yr = pyo.Var(
        m.classes, m.periods, within=pyo.NonNegativeReals, initialize=0.0, doc="planting rate by class, 10^4 ha/yr"
    )
    m.initial_state = pyo.Constraint(
        m.classes, rule=lambda m, *c: m.unconverted_area_10k_ha[c, 0] == m.class_area_10k_ha[c]
    )
    m.land_balance = pyo.Constraint(
        m.classes,
        m.periods,
        rule=lambda m, *ck: m.unconverted_area_10k_ha[ck[:3], ck[3] + 1]
        == m.unconverted_area_10k_ha[ck[:3], ck[3]] - m.class_planting_rate_10k_ha_per_yr[ck[:3], ck[3]] * m.step_yr,
    )
    m.planting_rate_total = pyo.Constraint(
        m.periods,
        rule=lambda m, k: m.planting_rate_10k_ha_per_yr[k]
        == pyo.quicksum(m.class_planting_rate_10k_ha_per_yr[c, k] for c in m.classes),
    )
    m.unconverted_esv_flow = pyo.Expression(
        m.time_points,
        rule=lambda m, t: _PER_10K_YUAN
        * pyo.quicksum(m.current_esv_yuan_per_ha_yr[c] * m.unconverted_area_10k_ha[c, t] for c in m.classes),
        doc="ESV of unconverted land, 10^8 yuan/yr",
    )
    m.afforested_esv_flow = pyo.Expression(
        m.time_points,
        rule=lambda m, t: _PER_10K_YUAN
        * pyo.quicksum(
            m.afforested_esv_yuan_per_ha_yr[c] * (m.class_area_10k_ha[c] - m.unconverted_area_10k_ha[c, t])
            for c in m.classes
        ),
        doc="ESV of afforested land, 10^8 yuan/yr",
    )
    _add_welfare(m)
    return m


def _unconverted_total(m: pyo.ConcreteModel, t: int) -> float:
    var = m.unconverted_area_10k_ha
    if var.dim() == 1:
        return float(pyo.value(var[t]))
    return float(sum(pyo.value(var[c, t]) for c in m.classes))


def long_run_afforested_area(m: pyo.ConcreteModel) -> float:
    """A0 - A_N of a solved model, 10^4 ha: the area afforested by the end of the horizon."""
    initial = _unconverted_total(m, 0)
    return initial - _unconverted_total(m, m.time_points.last())


def planting_path(m: pyo.ConcreteModel) -> pd.DataFrame:
    """The solved path, one row per period: start year, planting rate, land afforested by period end."""
    initial = _unconverted_total(m, 0)
    rows = []
    for k in m.periods:
        remaining = _unconverted_total(m, k + 1)
        rows.append(
            {
                "period_start_yr": float(pyo.value(m.period_start_yr[k])),
                "planting_rate_10k_ha_per_yr": float(pyo.value(m.planting_rate_10k_ha_per_yr[k])),
                "unconverted_area_10k_ha": remaining,
                "afforested_area_10k_ha": initial - remaining,
            }
        )
    return pd.DataFrame(rows)


def class_allocation(m: pyo.ConcreteModel, threshold_10k_ha: float = 1e-6) -> pd.DataFrame:
    """Area afforested by the end of the horizon in a solved classes model, by land type and province."""
    last = m.time_points.last()
    rows = [
        {
            "land_type": c[0],
            "province": c[1],
            "area_10k_ha": float(pyo.value(m.class_area_10k_ha[c]) - pyo.value(m.unconverted_area_10k_ha[c, last])),
        }
        for c in m.classes
    ]
    frame = pd.DataFrame(rows, columns=["land_type", "province", "area_10k_ha"])
    frame = frame.groupby(["land_type", "province"], as_index=False, sort=False)["area_10k_ha"].sum()
    return frame[frame["area_10k_ha"] > threshold_10k_ha].reset_index(drop=True)



def class_planting_path(m: pyo.ConcreteModel, threshold_10k_ha: float = 1e-9) -> pd.DataFrame:
    """Area planted per class and period in a solved classes model (tidy, only non-zero rows).

    Columns: ``land_type``, ``province``, ``slice``, ``period_start_yr``, ``planted_area_10k_ha``
    (= planting rate x step, the cohort planted in that period).
    """
    step = float(pyo.value(m.step_yr))
    rows = [
        (c[0], c[1], c[2], float(pyo.value(m.period_start_yr[k])), float(pyo.value(m.class_planting_rate_10k_ha_per_yr[c, k])) * step)
        for c in m.classes
        for k in m.periods
    ]
    frame = pd.DataFrame(rows, columns=["land_type", "province", "slice", "period_start_yr", "planted_area_10k_ha"])
    return frame[frame["planted_area_10k_ha"] > threshold_10k_ha].reset_index(drop=True)
