"""The planner's land-use problem (Eqs. 1-2) as explicit Pyomo dynamic programs.

Continuous time is cut into planting periods k = 0..N-1 of length dt, starting at t_k = k dt, with
states A_0..A_N (unconverted land, 10^4 ha):

    A_{k+1} = A_k - R_k dt,   R_k >= 0,   A_0 = A0.

Two representations of the ESV share this skeleton, the cost and the discounting:

* :func:`build_curves_model`: the study's fitted curves, B(A) = int_0^A B'(s) ds and
  C(z) = int_0^z C'(s) ds (quartic) -> an NLP for Ipopt.
* :func:`build_landuse_model`: land units with their own ESV before and after planting, one state per unit
  -> a convex QP for HiGHS. The units are those of a :class:`~afforest.model.problem.LandUseProblem`:
  merit-order classes of Table 2 (:func:`build_classes_model`) or cells
  (:func:`afforest.model.cells.build_cells_model`). The set ``classes`` holds the land units either way.

Welfare, in 10^8 yuan (present value at t = 0), is the sum of named terms listed in the set
``welfare_terms`` (each an ``Expression`` on the model): ``esv_unconverted_pv``, ``esv_afforested_pv``,
``planting_cost_pv`` (negative) and ``terminal_value_pv``. Add or remove terms with
:func:`add_welfare_term` / :func:`remove_welfare_term` (a switch of :mod:`afforest.model.formulations` adds its
own terms from its own Block, registered by their full names); add constraints directly on the model.

Discounting (``TimeGrid.discounting``):

* ``integrated`` (default): the land planted in period k is planted at its start t_k, pays its cost with
  factor e^{-r t_k}, and the flows of period k, evaluated at the post-planting state A_{k+1}, carry the
  exact integral of the discount factor over the period, e^{-r t_k} (1 - e^{-r dt}) / r. A hectare
  converted at t_k then earns sum_{j>=k} of those weights = e^{-r t_k} / r per yuan of yearly gain, as in
  continuous time, so the discrete steady state satisfies Eq. 3 exactly for every dt.
* ``sampled``: the textbook Euler rule, flows at A_k weighted by dt e^{-r t_k}. Its steady state
  solves C' - B' = tau(0) (e^{r dt} - 1) / dt instead of r tau(0): an O(r dt) bias.

The weights are mutable Params derived from ``discount_rate`` by
:func:`afforest.model.problem.discount_weights`. Every model is a :class:`LandUseModel`, whose public
:meth:`LandUseModel.refresh_derived_params` recomputes them (and asks each switch to refresh its own derived
params); :func:`afforest.solvers.solve` calls it before every solve, so assigning ``m.discount_rate`` is all a
user or a sweep does (call it yourself if you hand the model to a solver directly).

After the horizon T = N dt, the terminal term values the last state as a perpetuity of its flows (no
planting after T), weight W_T = e^{-r T} / r (integrated) or dt e^{-r T} / (1 - e^{-r dt}) (sampled). On the
curves model the grid's ``terminal_value = "saddle_path"`` (:class:`~afforest.model.problem.TerminalValue`; the
default is ``rest``) adds the value of continuing along the saddle path after T, ``saddle_path_continuation_pv`` = s e^{-rT} p (A_N - A*)^2, with
A*, mu and p in the mutable params ``continuation_steady_state_10k_ha``, ``continuation_saddle_eigenvalue_per_yr``
and ``continuation_premium_yuan_per_ha_per_10k_ha`` (p from the discrete program's own Bellman equation,
:func:`afforest.model.saddle_path.continuation_premium`), derived by :meth:`LandUseModel.refresh_derived_params`
from the model's own parameters and the switches' shift of tau(0). The finite program then follows the
infinite-horizon path up to T instead of planting before T what that path plants after it. The units' programs reach their steady state in finite time: past it, holding is exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap
from pyomo.core.expr.visitor import identify_variables

from afforest.data import LandUseParameters
from afforest.errors import InputError
from afforest.model.problem import (
    OBJECTIVE_UNIT_YUAN,
    YUAN_10K_IN_OBJECTIVE_UNIT,
    Discounting,
    LandUseProblem,
    TerminalValue,
    TimeGrid,
    discount_weights,
)
from afforest.model.saddle_path import continuation_is_concave, continuation_premium, continuation_target

__all__ = [
    "Discounting",
    "TerminalValue",
    "TimeGrid",
    "LandUseModel",
    "Representation",
    "build_curves_model",
    "build_landuse_model",
    "build_classes_model",
    "add_welfare_term",
    "refresh_discount_weights",
    "remove_welfare_term",
    "welfare_term_values",
    "planting_path",
    "class_allocation",
    "class_planting_path",
    "afforested_area_by_horizon",
    "OBJECTIVE_UNIT_YUAN",
    "BASE_WELFARE_TERMS",
]

_PER_10K_YUAN = YUAN_10K_IN_OBJECTIVE_UNIT

BASE_WELFARE_TERMS: tuple[str, ...] = ("esv_unconverted_pv", "esv_afforested_pv", "planting_cost_pv", "terminal_value_pv")
"""The welfare terms every model has: ESV flows of the states and the planting cost of the region's total rate R_k
(no term on a unit's own rate: :mod:`afforest.model.costates` differentiates only the other terms for those)."""

Representation = Literal["curves", "classes", "cells"]
"""The three representations of the planner's problem: the study's fitted curves, merit-order classes, cells."""


class LandUseModel(pyo.ConcreteModel):
    """A Pyomo model of the land-use DP with the state Pyomo does not know about declared, and an explicit refresh.

    ``grid`` is the time grid (and its discounting rule), ``representation`` one of ``curves``, ``classes``,
    ``cells``, ``problem`` the :class:`~afforest.model.problem.LandUseProblem` the model was built from (None for
    the curves model). Params derived from others (the discount weights from ``discount_rate``, and whatever a
    switch derives) are recomputed by :meth:`refresh_derived_params`, which :func:`afforest.solvers.solve` calls.
    """

    grid: TimeGrid
    representation: Representation
    problem: LandUseProblem | None
    switch_refreshers: dict[str, Callable[["LandUseModel"], None]]
    """Per switch name (see :mod:`afforest.model.formulations`), what recomputes its derived params."""
    switch_cost_shifts: dict[str, float]
    """Per switch name, how much it shifts the first-year cost tau(0) that Eq. 3 sees, yuan/ha (set when the switch
    is built or updated; see ``Switch.planting_cost_shift_yuan_per_ha``)."""

    def __init__(self, *, name: str, grid: TimeGrid, representation: Representation, problem: LandUseProblem | None = None) -> None:
        super().__init__(name=name)
        self.grid = grid
        self.representation = representation
        self.problem = problem
        self.switch_refreshers = {}
        self.switch_cost_shifts = {}

    @property
    def discounting(self) -> Discounting:
        """The discounting rule of the model's grid."""
        return self.grid.discounting

    def refresh_derived_params(self) -> None:
        """Recompute ``flow_discount_yr``, ``cost_discount`` and ``terminal_discount_yr`` from ``discount_rate``
        (:func:`afforest.model.problem.discount_weights`), then each switch's own derived params."""
        weights = discount_weights(float(pyo.value(self.discount_rate)), self.grid)
        for k, w_flow, w_cost in zip(self.periods, weights.flow_yr, weights.cost):
            self.flow_discount_yr[k] = float(w_flow)
            self.cost_discount[k] = float(w_cost)
        self.terminal_discount_yr = weights.terminal_yr
        for refresh in self.switch_refreshers.values():
            refresh(self)
        if self.component("continuation_steady_state_10k_ha") is not None:
            self.refresh_continuation()

    @property
    def planting_cost_shift_yuan_per_ha(self) -> float:
        """What the built switches shift tau(0) by, yuan/ha (negative: a payment per planted hectare)."""
        return float(sum(self.switch_cost_shifts.values()))

    def economic_parameters(self) -> LandUseParameters:
        """The curves model's own r, A0, tau(0), tau1, alpha_i and beta_i, as :class:`LandUseParameters`."""
        if self.representation != "curves":
            raise InputError("only the curves model holds the ESV curves", field="representation", value=self.representation)
        return LandUseParameters(
            initial_area_10k_ha=float(pyo.value(self.initial_area_10k_ha)),
            financial_discount_rate=float(pyo.value(self.discount_rate)),
            planting_cost_intercept_yuan_per_ha=float(pyo.value(self.planting_cost_intercept_yuan_per_ha)),
            planting_cost_slope_yuan_per_ha_per_10k_ha_yr=float(pyo.value(self.planting_cost_slope_yuan_per_ha_per_10k_ha_yr)),
            unconverted_esv_coefficients=tuple(float(pyo.value(v)) for v in self.unconverted_esv_coefficient.values()),
            afforested_esv_coefficients=tuple(float(pyo.value(v)) for v in self.afforested_esv_coefficient.values()),
        )

    def refresh_continuation(self) -> None:
        """A*, mu and p of the ``saddle_path`` terminal value from the model's parameters, the switches' shift of
        tau(0) and the start (A0, or the value ``unconverted_area_10k_ha[0]`` is fixed at)
        (:func:`afforest.model.saddle_path.continuation_target`; p = 0, i.e. ``rest``, where no saddle path leads from
        the start)."""
        params = self.economic_parameters()
        rate, tau1 = params.financial_discount_rate, params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
        self.check_continuation_sees_everything()
        first = self.unconverted_area_10k_ha[0]
        start = float(first.value) if first.fixed else None  # a start fixed by hand (A0 stays the land base)
        target = continuation_target(
            params, params.planting_cost_intercept_yuan_per_ha + self.planting_cost_shift_yuan_per_ha, start
        )
        step = self.grid.step_yr if self.discounting is Discounting.INTEGRATED else None
        self.continuation_steady_state_10k_ha = target.steady_state_10k_ha
        self.continuation_saddle_eigenvalue_per_yr = target.saddle_eigenvalue_per_yr
        premium = continuation_premium(target.net_gain_slope, rate, tau1, step)
        self.continuation_premium_yuan_per_ha_per_10k_ha = premium
        self.horizon_discount = math.exp(-rate * self.grid.horizon_yr)
        # A_N >= A* only where the premium could pay for crossing A* (a bound's barrier perturbs interior points)
        self.continuation_floor_10k_ha = 0.0 if continuation_is_concave(params, premium) else target.steady_state_10k_ha

    def check_continuation_sees_everything(self) -> None:
        """Refuse, for the ``saddle_path`` terminal value, a model with what its continuation cannot see: an active
        constraint beyond the land balance (a planting cap binding after T, a user's own row), or a welfare term that
        is neither a base term nor that of a switch shifting tau(0) (its steady state would not be Eq. 3's)."""
        base = {"initial_state", "land_balance"}
        for con in self.component_objects(pyo.Constraint, active=True, descend_into=True):
            name = con.getname(fully_qualified=True, relative_to=self)
            if name not in base:
                raise InputError(
                    "the saddle_path terminal value continues along the unconstrained saddle path after T, which this "
                    "constraint may not allow; use terminal_value = \"rest\" with a horizon long enough to converge",
                    field="constraint", value=name,
                )
        shifting = {n for n, shift in self.switch_cost_shifts.items() if shift != 0.0}
        for term in self.welfare_terms:
            if term not in BASE_WELFARE_TERMS and term.split(".")[0] not in shifting:
                raise InputError(
                    "the saddle_path terminal value's steady state is Eq. 3's at tau(0) and the switches' shifts; this "
                    "welfare term may move it; use terminal_value = \"rest\" with a horizon long enough to converge",
                    field="welfare_term", value=term,
                )

    def current_value_scaling(self) -> ComponentMap:
        """Scaling factors that put period k in current values, for ``afforest.solvers.solve(..., tail_scaling=True)``
        (docs/tail.md): e^{-r t_k} (``cost_discount[k]``, refreshed) on the rates of period k, on the states at its
        end and on its land balance (and its ``planting_rate_total`` row), so that the solver sees every period's
        stationarity and costate at the scale of year 0's. A switch's row within one period gets that period's factor. A
        ``ComponentMap`` (Pyomo data objects are not hashable) of variable or constraint data -> factor."""
        factors = ComponentMap()
        area, balance = self.unconverted_area_10k_ha, self.land_balance
        units = [()] if self.representation == "curves" else [tuple(c) for c in self.classes]
        for k in self.periods:
            discount = float(pyo.value(self.cost_discount[k]))
            factors[self.planting_rate_10k_ha_per_yr[k]] = discount
            for unit in units:
                factors[area[(*unit, k + 1)]] = discount
                factors[balance[(*unit, k)]] = discount
                if unit:
                    factors[self.class_planting_rate_10k_ha_per_yr[(*unit, k)]] = discount
            if units != [()]:
                factors[self.planting_rate_total[k]] = discount
        self._scale_switch_rows(factors)
        return factors

    def _scale_switch_rows(self, factors: ComponentMap) -> None:
        """A switch's row whose variables all belong to one period (a planting cap's R_k <= cap, a quota on the final
        states) gets that period's factor, so its multiplier is in the current values of its period too."""
        period_of = ComponentMap()
        for k in self.periods:
            period_of[self.planting_rate_10k_ha_per_yr[k]] = k
        for index, var in self.unconverted_area_10k_ha.items():
            t = index[-1] if isinstance(index, tuple) else index
            if t > 0:
                period_of[var] = t - 1
        if self.component("class_planting_rate_10k_ha_per_yr") is not None:
            for index, var in self.class_planting_rate_10k_ha_per_yr.items():
                period_of[var] = index[-1]
        for name in self.switch_refreshers:
            block = self.component(name)
            if block is None:
                continue
            for con in block.component_data_objects(pyo.Constraint, active=True, descend_into=True):
                periods = {period_of.get(var) for var in identify_variables(con.body)}
                if len(periods) == 1 and None not in periods:
                    factors[con] = float(pyo.value(self.cost_discount[periods.pop()]))

    def set_economic_params(self, params: LandUseParameters) -> None:
        """Assign r, A0, tau(0), tau1 (and, on the curves model, alpha_i and beta_i) from ``params``."""
        self.discount_rate = params.financial_discount_rate
        self.initial_area_10k_ha = params.initial_area_10k_ha
        self.planting_cost_intercept_yuan_per_ha = params.planting_cost_intercept_yuan_per_ha
        self.planting_cost_slope_yuan_per_ha_per_10k_ha_yr = params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
        if self.representation == "curves":
            for i, value in enumerate(params.unconverted_esv_coefficients):
                self.unconverted_esv_coefficient[i] = value
            for i, value in enumerate(params.afforested_esv_coefficients):
                self.afforested_esv_coefficient[i] = value

    def set_land_units(self, problem: LandUseProblem) -> None:
        """Point a classes or cells model at new unit data with the same keys (areas, ESVs, unit costs)."""
        if self.problem is None or problem.keys != self.problem.keys:
            raise InputError("the land units differ from those the model was built with", field="problem")
        for key, area, current, afforested in zip(
            problem.keys, problem.area_10k_ha, problem.current_esv_yuan_per_ha_yr, problem.afforested_esv_yuan_per_ha_yr
        ):
            self.class_area_10k_ha[key] = float(area)
            self.current_esv_yuan_per_ha_yr[key] = float(current)
            self.afforested_esv_yuan_per_ha_yr[key] = float(afforested)
        if problem.has_unit_costs:
            for key, cost in zip(problem.keys, problem.planting_cost_yuan_per_ha):
                self.planting_cost_yuan_per_ha[key] = float(cost)
        self.problem = problem


def _add_skeleton(m: LandUseModel, params: LandUseParameters) -> None:
    """Time sets, the mutable economic parameters, the planting rate and the discount weights."""
    grid = m.grid
    n = grid.periods
    m.periods = pyo.RangeSet(0, n - 1, doc="planting periods k; period k starts at k * step_yr")
    m.time_points = pyo.RangeSet(0, n, doc="state indices 0..N; state k holds at the start of period k")
    m.step_yr = pyo.Param(initialize=grid.step_yr, doc="length of a planting period, yr")
    m.horizon_yr = pyo.Param(initialize=grid.horizon_yr, doc="planning horizon T, yr")
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
    # Derived from discount_rate by m.refresh_derived_params (afforest.solvers.solve calls it before every solve).
    # As leaves, they keep HiGHS's coefficient updates cheap.
    m.refresh_derived_params()


def refresh_discount_weights(m: LandUseModel) -> None:
    """Recompute the params a model derives from others: ``m.refresh_derived_params()``."""
    m.refresh_derived_params()


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
    continuation = m.component("saddle_path_continuation_pv")
    m.terminal_value_pv = pyo.Expression(
        expr=m.terminal_discount_yr * (m.unconverted_esv_flow[last] + m.afforested_esv_flow[last])
        + (0.0 if continuation is None else continuation),
        doc="PV of the final state after T, 10^8 yuan: its ESV flows held forever (plus, on the curves model with the "
        "saddle_path terminal value, saddle_path_continuation_pv)",
    )
    m.welfare_terms = pyo.Set(
        initialize=list(BASE_WELFARE_TERMS),
        ordered=True,
        doc="names of the Expressions summed into the objective",
    )
    _rebuild_objective(m)


def _rebuild_objective(m: pyo.ConcreteModel) -> None:
    if m.component("welfare") is not None:
        m.del_component("welfare")
    m.welfare = pyo.Objective(
        expr=pyo.quicksum(m.find_component(name) for name in m.welfare_terms),
        sense=pyo.maximize,
        doc="discounted net social value W (Eq. 1), 10^8 yuan",
    )


def add_welfare_term(
    m: pyo.ConcreteModel, name: str, expression: pyo.Expression | object, *, block: pyo.Block | None = None
) -> str:
    """Add ``expression`` (10^8 yuan, PV) as an Expression ``name`` (on ``block`` if given, else on the model) and
    include it in the objective; return the term's registered name (the component's full name, e.g.
    ``carbon_price.carbon_value_pv`` for a switch's term)."""
    owner = m if block is None else block
    if owner.component(name) is not None:
        raise InputError("a component of this name already exists on the model", field="name", value=name)
    if name in _term_names(m):
        raise InputError("a welfare term of this name exists (in another block): term names are unique",
                         field="name", value=name)
    owner.add_component(name, pyo.Expression(expr=expression))
    full_name = owner.component(name).getname(fully_qualified=True, relative_to=m)
    m.welfare_terms.add(full_name)
    _rebuild_objective(m)
    return full_name


def remove_welfare_term(m: pyo.ConcreteModel, name: str) -> None:
    """Drop a term from the objective (the Expression stays on the model for inspection)."""
    if name not in m.welfare_terms:
        raise InputError(f"not a welfare term; terms are {list(m.welfare_terms)}", field="name", value=name)
    m.welfare_terms.remove(name)
    _rebuild_objective(m)


def _term_names(m: pyo.ConcreteModel) -> dict[str, str]:
    """Short name (the Expression's own name) -> registered full name, of every welfare term."""
    return {m.find_component(full).local_name: full for full in m.welfare_terms}


def welfare_term_values(m: pyo.ConcreteModel) -> dict[str, float]:
    """Value of every welfare term of a solved model, 10^8 yuan, by its short name (``carbon_value_pv``, not
    ``carbon_price.carbon_value_pv``: term names are unique across blocks), in objective order."""
    return {short: float(pyo.value(m.find_component(full))) for short, full in _term_names(m).items()}


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


def build_curves_model(params: LandUseParameters, grid: TimeGrid | None = None) -> LandUseModel:
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
    m = LandUseModel(name="afforest_curves", grid=grid, representation="curves")
    _add_skeleton(m, params)
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
    if grid.terminal_value is TerminalValue.SADDLE_PATH:
        _add_continuation(m)
    _add_welfare(m)
    if grid.terminal_value is TerminalValue.SADDLE_PATH:
        m.refresh_continuation()
    return m


def _add_continuation(m: LandUseModel) -> None:
    """The ``saddle_path`` terminal value's premium over resting at A_N (module docstring)."""
    m.continuation_steady_state_10k_ha = pyo.Param(
        mutable=True, initialize=0.0, doc="A*, the steady state the path heads for after T, 10^4 ha (derived)"
    )
    m.continuation_saddle_eigenvalue_per_yr = pyo.Param(
        mutable=True, initialize=0.0, doc="mu, its stable eigenvalue, 1/yr (derived; 0: rest after T)"
    )
    m.continuation_premium_yuan_per_ha_per_10k_ha = pyo.Param(
        mutable=True, initialize=0.0,
        doc="p of V(A) = (B + C)(A) / r + p (A - A*)^2 at T, current value (derived, "
        "afforest.model.saddle_path.continuation_premium; 0: rest after T)",
    )
    m.horizon_discount = pyo.Param(mutable=True, initialize=0.0, doc="e^{-r T} (derived)")
    m.continuation_floor_10k_ha = pyo.Param(
        mutable=True, initialize=0.0, doc="lower bound of A_N: A* on a saddle path, else 0 (derived), 10^4 ha"
    )
    m.unconverted_area_10k_ha[m.time_points.last()].setlb(m.continuation_floor_10k_ha)
    m.saddle_path_continuation_pv = pyo.Expression(
        expr=_PER_10K_YUAN * m.horizon_discount * m.continuation_premium_yuan_per_ha_per_10k_ha
        * (m.unconverted_area_10k_ha[m.time_points.last()] - m.continuation_steady_state_10k_ha) ** 2,
        doc="PV of continuing along the saddle path after T beyond resting at A_N, s e^{-rT} p (A_N - A*)^2, 10^8 yuan",
    )


def build_landuse_model(problem: LandUseProblem) -> LandUseModel:
    """The classes or cells representation over the land units of ``problem``: one state per unit (a convex QP).

    Components beyond the shared ones: set ``classes`` (the land units, (land_type, province, id) in the
    problem's order: merit order for classes, table order for cells); mutable params ``class_area_10k_ha[c]``,
    ``current_esv_yuan_per_ha_yr[c]``, ``afforested_esv_yuan_per_ha_yr[c]``; variables
    ``unconverted_area_10k_ha[c, t]``, ``class_planting_rate_10k_ha_per_yr[c, k]``; constraints
    ``initial_state[c]``, ``land_balance[c, k]``, ``planting_rate_total[k]`` (R_k is the sum over units, so the
    rising marginal cost applies to the region's total planting). Units with their own tau0 (cells) add the
    mutable param ``planting_cost_yuan_per_ha[c]`` and the welfare term ``site_cost_premium_pv`` (minus the PV of
    each unit's cost above the regional tau(0)). Policy switches are added by
    :func:`afforest.model.formulations.add_switch`.
    """
    kind = problem.unit_kind
    m = LandUseModel(name=f"afforest_{kind}", grid=problem.grid, representation=kind, problem=problem)
    _add_skeleton(m, problem.params)
    keys = problem.keys
    unit = "class" if kind == "classes" else "cell"
    m.classes = pyo.Set(
        initialize=keys, dimen=3, ordered=True,
        doc=f"land units (land_type, province, {problem.unit_id_column}): {kind}, in the problem's order",
    )

    def by_unit(values: np.ndarray) -> dict[tuple[str, str, int], float]:
        return dict(zip(keys, values))

    areas = by_unit(problem.area_10k_ha)
    m.class_area_10k_ha = pyo.Param(m.classes, initialize=areas, mutable=True, doc=f"{unit} area, 10^4 ha")
    m.current_esv_yuan_per_ha_yr = pyo.Param(
        m.classes, initialize=by_unit(problem.current_esv_yuan_per_ha_yr), mutable=True, doc="ESV of the current use"
    )
    m.afforested_esv_yuan_per_ha_yr = pyo.Param(
        m.classes, initialize=by_unit(problem.afforested_esv_yuan_per_ha_yr), mutable=True, doc="ESV once planted"
    )
    if problem.has_unit_costs:
        m.planting_cost_yuan_per_ha = pyo.Param(
            m.classes, initialize=by_unit(problem.planting_cost_yuan_per_ha), mutable=True, doc=f"the {unit}'s tau(0), yuan/ha"
        )
    m.unconverted_area_10k_ha = pyo.Var(
        m.classes,
        m.time_points,
        within=pyo.NonNegativeReals,
        initialize=lambda m, *ct: areas[ct[:3]],
        doc=f"{unit} land not yet converted, 10^4 ha",
    )
    m.class_planting_rate_10k_ha_per_yr = pyo.Var(
        m.classes, m.periods, within=pyo.NonNegativeReals, initialize=0.0, doc=f"planting rate by {unit}, 10^4 ha/yr"
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
    if problem.has_unit_costs:
        x = m.class_planting_rate_10k_ha_per_yr
        add_welfare_term(
            m,
            "site_cost_premium_pv",
            -_PER_10K_YUAN
            * pyo.quicksum(
                m.cost_discount[k]
                * m.step_yr
                * pyo.quicksum(
                    (m.planting_cost_yuan_per_ha[c] - m.planting_cost_intercept_yuan_per_ha) * x[c, k] for c in m.classes
                )
                for k in m.periods
            ),
        )
    return m


def build_classes_model(
    classes: pd.DataFrame, params: LandUseParameters, grid: TimeGrid | None = None
) -> LandUseModel:
    """Classes representation: one state per merit-order class (a convex QP; solve with HiGHS).

    ``classes`` is a table from :func:`afforest.model.merit_order.landuse_classes` (columns
    ``land_type``, ``province``, ``slice``, ``rank``, ``area_10k_ha``, ``esv_yuan_per_ha_yr``,
    ``afforested_esv_yuan_per_ha_yr``). A class is indexed by (land_type, province, slice). The model is
    :func:`build_landuse_model` of :meth:`LandUseProblem.from_classes`.
    """
    _check_argument_types(
        "build_classes_model(classes: pandas.DataFrame, params: LandUseParameters, grid: TimeGrid | None = None)",
        classes=classes,
        params=params,
        grid=grid,
    )
    return build_landuse_model(LandUseProblem.from_classes(classes, params, grid or TimeGrid()))


def _unconverted_total(m: pyo.ConcreteModel, t: int) -> float:
    var = m.unconverted_area_10k_ha
    if var.dim() == 1:
        return float(pyo.value(var[t]))
    return float(sum(pyo.value(var[c, t]) for c in m.classes))


def afforested_area_by_horizon(m: pyo.ConcreteModel) -> float:
    """A0 - A_N of a solved model, 10^4 ha: the area afforested by the end of the horizon T (the analytic
    long-run area is :func:`afforest.model.steady_state.long_run_afforested_area`)."""
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
