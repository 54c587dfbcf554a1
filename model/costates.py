"""Costates, a Pontryagin certificate and the shadow prices of policy constraints, from a solved model's duals.

The duals are those of :attr:`afforest.solvers.SolveResult.duals`: the change of the welfare W (10^8 yuan, PV at
t = 0) per unit raised of a constraint's bound, an equality lhs == rhs read as lhs - rhs = b
(:data:`afforest.solvers.DUAL_SIGN_CONVENTION`). One objective unit per 10^4 ha is 10^8 / 10^4 = 10^4 yuan/ha.

**The costate.** ``land_balance[k]`` is A_{k+1} - A_k + R_k dt = b_k, so its dual y_k is the value (PV at t = 0)
of one more unit of unconverted land in the post-planting state A_{k+1} (and, the balance being a chain, in every
later state): the present-value costate of period k, lambda_pv,k = y_k / s yuan/ha (s = 10^-4). Its current value
at the planting time t_k is lambda_cv,k = lambda_pv,k e^{r t_k}. An extra hectare of unconverted land with A0
fixed is a hectare less afforested, so the costate is NEGATIVE: at a steady state lambda_cv = (B' - C')/r =
-tau(0) (Eq. 3), and on a period that plants lambda_cv = -(tau0 + 2 tau1 R_k), the marginal planting cost with
its sign turned. ``initial_state`` gives the costate of A_0 (= lambda_pv,0 under integrated discounting).

Classes and cells have one costate per unit (``land_balance[c, k]``) and a region-level one, the dual of
``planting_rate_total[k]`` (R_k - sum_c x_ck = b_k), lambda_reg,k = y_k / (s dt) PV and / e^{-r t_k} CV: the
value of one hectare more of the region's planting in period k, which the planting condition for R uses. Where
nothing is planted it is not unique (any value in [-tau0_eff, min_c(lambda_cv,c + e_c)] satisfies the conditions):
the solver reports one point of that interval, e.g. a positive one at the baseline's steady state, where the
converted classes sit on their bound A_c = 0.

**The discrete conditions (KKT of the program, integrated discounting).** With F(A) the yearly ESV flow of a
state (10^8 yuan/yr: s [B(A) + C(A0 - A)] for the curves, s sum_c [b_c A_c + f_c (a_c - A_c)] for units), w_k
the flow weights, W_T = e^{-rT}/r, d_k = e^{-r t_k}, the Lagrangian of the maximisation is
L = W - sum_i y_i (g_i - b_i), and its stationarity gives, in yuan/ha:

(a) planting, R_k: -s d_k dt (tau0_eff + 2 tau1 R_k) - y_k dt - p_k + z_k = 0, z_k >= 0, z_k R_k = 0, p_k the
    multipliers of the policy constraints on R_k (a planting cap's dual). Divided by s d_k dt:
    G_k = lambda_cv,k + tau0_eff + 2 tau1 R_k + p_cv,k >= 0, = 0 when R_k > 0 (lambda_reg for units). tau0_eff is
    tau(0) shifted by the switches (:meth:`afforest.model.formulations.Switch.planting_cost_shift_yuan_per_ha`).
    Units: H_ck = lambda_cv,ck - lambda_reg_cv,k + e_ck + p_cv,ck >= 0, = 0 when x_ck > 0, e_ck = -dW/dx_ck /
    (s d_k dt) the unit's cost beyond the region's (land-type multipliers, a cell's own tau0), read from the
    objective's gradient so that any switch's term on x counts.
(b) the costate equation, state A_j (1 <= j < N): omega_j F'(A_j) - y_{j-1} + y_j - p_j + zA_j = 0, i.e.
    y_{j-1} = y_j + omega_j F'(A_j) - p_j (+ zA_j >= 0 only where A_j = 0), omega_j = w_{j-1} (integrated: the
    flows of period j-1 use A_j) or w_j (sampled).
(c) the terminal condition, A_N: y_{N-1} = (omega_N + W_T) F'(A_N) + K'(A_N) - p_N (+ zA_N): integrated,
    omega_N + W_T = e^{-r t_{N-1}}/r, so lambda_cv,N-1 = (B'(A_N) - C'(A0 - A_N))/r: the final costate is the PV
    of holding A_N forever; p_N carries the dual of a province quota on the final state. K is the curves model's
    ``saddle_path_continuation_pv`` (K' = s e^{-rT} 2 p (A_N - A*); 0 without it), the value of continuing
    along the saddle path after T beyond resting.

An exact solution has every residual zero; a solver leaves them at its tolerance. The complementarity of (a) is
measured by min(G, 2 tau1 R) (the marginal cost's rise from R: the same units, zero both for an interior rate
and for R = 0 with G >= 0); of (b) and (c) by |e| where the state is off its bound, max(0, -e) where it is on it.

**Weighing.** Every residual is reported in present value (yuan/ha at t = 0) relative to period 0's marginal
planting cost (:attr:`PontryaginCertificate.scale_yuan_per_ha`). The solvers stop when the KKT residuals of the
objective, a present value, are below their tolerance; a current-value residual of period k is the PV one times
e^{r t_k}, so late periods' current-value residuals grow like e^{rt} while the solver is exact to its tolerance
(measured on the baseline: README "Costates and the Pontryagin certificate"). The PV residual is what the solver
controls; the current-value ones are in the per-period table for reading.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.calculus.derivatives import Modes, differentiate
from pyomo.repn import generate_standard_repn

from afforest.errors import InputError
from afforest.model.formulations import registered_switches
from afforest.model.landuse import BASE_WELFARE_TERMS, LandUseModel
from afforest.model.problem import OBJECTIVE_UNIT_YUAN, YUAN_10K_IN_OBJECTIVE_UNIT, Discounting

__all__ = [
    "AT_BOUND_SHARE",
    "YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA",
    "PontryaginCertificate",
    "ColumnCertificate",
    "state_costates",
    "unit_costates",
    "pontryagin_certificate",
    "policy_shadow_prices",
]

YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA = OBJECTIVE_UNIT_YUAN / 1e4
"""10^8 yuan per 10^4 ha in yuan/ha (= 1/s = 10^4)."""

AT_BOUND_SHARE = 1e-6
"""A state below this share of its initial area counts as on its bound A >= 0 (where the costate equation may
hold as an inequality): the classes' balances are held to 1e-10 by HiGHS and Ipopt relaxes bounds by 1e-8 in
these units, so 1e-6 of a unit's area (>= 1e-6 x 10^4 ha in the shipped classes) is far above both and far below
a reported area (chain.certify.MIN_REPORTED_SHARE is the same floor)."""

_S = YUAN_10K_IN_OBJECTIVE_UNIT


@dataclass(frozen=True)
class PontryaginCertificate:
    """Residuals of the discrete Pontryagin conditions of a solved land-use model (module docstring).

    ``periods``: one row per period k with ``period_start_yr``, ``discount_weight`` (e^{-r t_k}), and for each
    condition (``optimality``, ``costate_equation``) the largest residual over the region and its units in PV
    yuan/ha (``*_pv_yuan_per_ha``) and current value (``*_cv_yuan_per_ha``). The costate equation of row k is that
    of state A_k (row 0: none). ``terminal_pv_yuan_per_ha`` is (c)'s residual.
    """

    representation: str
    scale_yuan_per_ha: float
    """Period 0's marginal planting cost |tau0_eff + 2 tau1 R_0|, at least tau(0): the yardstick of the residuals."""
    periods: pd.DataFrame
    terminal_pv_yuan_per_ha: float
    planting_cost_shift_yuan_per_ha: float = 0.0
    detail: dict[str, float] = field(default_factory=dict)

    @cached_property
    def max_optimality(self) -> float:
        """Largest residual of (a), PV, relative to the scale."""
        return _max_abs(self.periods["optimality_pv_yuan_per_ha"]) / self.scale_yuan_per_ha

    @cached_property
    def max_costate_equation(self) -> float:
        """Largest residual of (b), PV, relative to the scale."""
        return _max_abs(self.periods["costate_equation_pv_yuan_per_ha"]) / self.scale_yuan_per_ha

    @property
    def terminal(self) -> float:
        """Residual of (c), PV, relative to the scale."""
        return float(abs(self.terminal_pv_yuan_per_ha) / self.scale_yuan_per_ha)

    @cached_property
    def max_residual(self) -> float:
        """The certificate: the largest of the three, relative (NaN if a residual is not finite). The maxima are
        computed once (the checks, the JSON summary and a sweep row each read them)."""
        values = (self.max_optimality, self.max_costate_equation, self.terminal)
        return float("nan") if not all(np.isfinite(values)) else max(values)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (relative residuals, the scale and what it is)."""
        return {
            "max_residual": self.max_residual,
            "optimality": self.max_optimality,
            "costate_equation": self.max_costate_equation,
            "terminal": self.terminal,
            "scale_yuan_per_ha": self.scale_yuan_per_ha,
        }


class ColumnCertificate(PontryaginCertificate):
    """A :class:`PontryaginCertificate` given by its columns (the fast path's, :mod:`afforest.model.fast_landuse`):
    ``periods`` is the same table, built when first read (a sweep row reads only the maxima, which come from the
    same arrays: a maximum of |x| is exact whatever holds the numbers, so they are the table's bit for bit)."""

    def __init__(self, representation: str, scale_yuan_per_ha: float, columns: dict[str, np.ndarray],
                 terminal_pv_yuan_per_ha: float, planting_cost_shift_yuan_per_ha: float = 0.0,
                 detail: dict[str, float] | None = None) -> None:
        """``columns``: the columns of :attr:`periods`, in order, as :class:`PontryaginCertificate` documents them."""
        for name, value in (("representation", representation), ("scale_yuan_per_ha", scale_yuan_per_ha),
                            ("terminal_pv_yuan_per_ha", terminal_pv_yuan_per_ha),
                            ("planting_cost_shift_yuan_per_ha", planting_cost_shift_yuan_per_ha),
                            ("detail", {} if detail is None else detail), ("columns", columns)):
            object.__setattr__(self, name, value)  # frozen, as the dataclass sets its fields

    @cached_property
    def periods(self) -> pd.DataFrame:  # type: ignore[override]
        """The per-period table (built once, when first read)."""
        return pd.DataFrame(self.columns)

    @cached_property
    def max_optimality(self) -> float:
        """Largest residual of (a), PV, relative to the scale (from the column, as the table gives it)."""
        return _max_abs_values(self.columns["optimality_pv_yuan_per_ha"]) / self.scale_yuan_per_ha

    @cached_property
    def max_costate_equation(self) -> float:
        """Largest residual of (b), PV, relative to the scale (from the column, as the table gives it)."""
        return _max_abs_values(self.columns["costate_equation_pv_yuan_per_ha"]) / self.scale_yuan_per_ha

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with its table (a copy, a worker's result): every reader sees the same certificate."""
        self.periods  # noqa: B018 (builds and keeps it)
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _max_abs(column: pd.Series) -> float:
    """Largest |value| of a residual column; NaN marks a condition not asked of that row (none there)."""
    return _max_abs_values(column.to_numpy(dtype=float))


def _max_abs_values(values: np.ndarray) -> float:
    """:func:`_max_abs` of the column's float64 values."""
    values = np.abs(np.asarray(values, dtype=float))
    return float(values[~np.isnan(values)].max(initial=0.0))


def _dual(duals: Any, con: Any) -> float:
    value = duals.get(con)
    if value is None:
        raise InputError(
            "no dual for this constraint: solve the model with afforest.solvers.solve (which reads the duals)",
            field="duals", value=con.name,
        )
    return float(value)


def _weights(m: LandUseModel) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(d_k, omega_j for j = 0..N, W_T, dt): the discount factor of period k and the flow weight of state j."""
    n = len(m.periods)
    d = np.array([pyo.value(m.cost_discount[k]) for k in m.periods], dtype=float)
    w = np.array([pyo.value(m.flow_discount_yr[k]) for k in m.periods], dtype=float)
    omega = np.zeros(n + 1)
    if m.discounting is Discounting.INTEGRATED:
        omega[1:] = w
    else:
        omega[:n] = w
    return d, omega, float(pyo.value(m.terminal_discount_yr)), float(pyo.value(m.step_yr))


def state_costates(m: LandUseModel, duals: Any) -> pd.DataFrame:
    """Per period k: the costate of the region's unconverted land after period k's planting, yuan/ha.

    Curves: the dual of ``land_balance[k]``; classes and cells: the region-level costate, the dual of
    ``planting_rate_total[k]`` per hectare. Columns ``period_start_yr``, ``costate_pv_yuan_per_ha`` (PV at t = 0),
    ``costate_cv_yuan_per_ha`` (current value at t_k). Negative (module docstring).
    """
    d, _, _, dt = _weights(m)
    if m.representation == "curves":
        pv = np.array([_dual(duals, m.land_balance[k]) for k in m.periods]) * YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA
    else:
        pv = np.array([_dual(duals, m.planting_rate_total[k]) for k in m.periods]) / dt * YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA
    return pd.DataFrame(
        {
            "period_start_yr": [float(pyo.value(m.period_start_yr[k])) for k in m.periods],
            "costate_pv_yuan_per_ha": pv,
            "costate_cv_yuan_per_ha": pv / d,
        }
    )


def _unit_pv(m: LandUseModel, duals: Any) -> np.ndarray:
    """(units x periods) PV costates of the units, yuan/ha."""
    return np.array(
        [[_dual(duals, m.land_balance[c, k]) for k in m.periods] for c in m.classes]
    ) * YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA


def unit_costates(m: LandUseModel, duals: Any) -> pd.DataFrame:
    """Classes or cells: one costate per land unit and period (tidy): ``land_type``, ``province``, the unit's id,
    ``period_start_yr``, ``costate_pv_yuan_per_ha``, ``costate_cv_yuan_per_ha``."""
    if m.representation == "curves":
        raise InputError("the curves model has one costate: use state_costates", field="representation", value="curves")
    d, _, _, _ = _weights(m)
    pv = _unit_pv(m, duals)
    starts = np.array([float(pyo.value(m.period_start_yr[k])) for k in m.periods])
    keys = list(m.classes)
    n = len(starts)
    id_column = m.problem.unit_id_column if m.problem is not None else "id"
    return pd.DataFrame(
        {
            "land_type": np.repeat([c[0] for c in keys], n),
            "province": np.repeat([c[1] for c in keys], n),
            id_column: np.repeat([c[2] for c in keys], n),
            "period_start_yr": np.tile(starts, len(keys)),
            "costate_pv_yuan_per_ha": pv.ravel(),
            "costate_cv_yuan_per_ha": (pv / d).ravel(),
        }
    )


def _policy_constraints(m: LandUseModel) -> list[Any]:
    """Active constraint data of every switch's Block (:mod:`afforest.model.formulations`), in build order."""
    out: list[Any] = []
    for name in m.switch_refreshers:
        block = m.component(name)
        if block is not None:
            out += list(block.component_data_objects(pyo.Constraint, active=True, descend_into=True))
    return out


def _policy_terms(m: LandUseModel, duals: Any) -> dict[int, float]:
    """id(var) -> sum_i y_i dg_i/dvar over the switches' active (linear) constraints: their share of stationarity."""
    terms: dict[int, float] = defaultdict(float)
    for con in _policy_constraints(m):
        y = float(duals.get(con, 0.0))
        if y == 0.0:
            continue
        repn = generate_standard_repn(con.body, compute_values=True)
        if not repn.is_linear():
            raise InputError("a policy constraint must be linear for the certificate", field="constraint", value=con.name)
        for var, coef in zip(repn.linear_vars, repn.linear_coefs):
            terms[id(var)] += y * float(coef)
    return terms


def _complementarity(residual: np.ndarray, room: np.ndarray) -> np.ndarray:
    """min(G, room): zero iff G >= 0, room >= 0 and one of them is zero (room: the variable's distance from its
    bound, in G's units)."""
    return np.minimum(residual, room)


def _on_bound(residual: np.ndarray, at_bound: np.ndarray) -> np.ndarray:
    """An equality off the bound (residual e), an inequality e >= 0 on it (the bound's multiplier)."""
    return np.where(at_bound, np.minimum(residual, 0.0), residual)


def _unit_rate_gradient(m: LandUseModel, x_vars: list[Any]) -> np.ndarray:
    """dW/dx of the units' own rates: only the welfare terms beyond BASE_WELFARE_TERMS can hold them (a site-cost
    premium, a switch's term), so only those are differentiated (the whole objective would cost ~0.2 s a solve)."""
    extra = [m.find_component(name) for name in m.welfare_terms if name not in BASE_WELFARE_TERMS]
    if not extra:
        return np.zeros(len(x_vars))
    return np.array(differentiate(pyo.quicksum(extra), wrt_list=x_vars, mode=Modes.reverse_numeric), dtype=float)


def _continuation_slope(m: LandUseModel) -> float:
    """d saddle_path_continuation_pv / dA_N = s e^{-rT} 2 p (A_N - A*) (0 without that terminal value)."""
    if m.component("saddle_path_continuation_pv") is None:
        return 0.0
    premium = float(pyo.value(m.horizon_discount * m.continuation_premium_yuan_per_ha_per_10k_ha))
    gap = float(pyo.value(m.unconverted_area_10k_ha[m.time_points.last()] - m.continuation_steady_state_10k_ha))
    return _S * 2.0 * premium * gap


def pontryagin_certificate(
    m: LandUseModel, duals: Any, planting_cost_shift_yuan_per_ha: float = 0.0, *, held_from_yr: float | None = None
) -> PontryaginCertificate:
    """Residuals of (a) planting optimality, (b) the costate equation and (c) the terminal condition (module
    docstring) of a solved model, from its duals. ``planting_cost_shift_yuan_per_ha``: what the switches shift
    tau(0) by (``Inputs.effective_planting_cost_yuan_per_ha - tau(0)``). ``held_from_yr``: planting was held at
    zero from this year (``afforest.chain.landuse.solve_models``), so it was not chosen there: (a) is not asked of
    those periods (NaN in the table); (b) and (c) still are."""
    d, omega, terminal_w, dt = _weights(m)
    n = len(d)
    tau0 = float(pyo.value(m.planting_cost_intercept_yuan_per_ha))
    tau1 = float(pyo.value(m.planting_cost_slope_yuan_per_ha_per_10k_ha_yr))
    tau_eff = tau0 + planting_cost_shift_yuan_per_ha
    rates = np.array([float(pyo.value(m.planting_rate_10k_ha_per_yr[k])) for k in m.periods])
    policy = _policy_terms(m, duals)
    per_ha = YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA

    def policy_of(var: Any) -> float:
        return policy.get(id(var), 0.0)

    region = state_costates(m, duals)["costate_cv_yuan_per_ha"].to_numpy()
    pol_r = np.array([policy_of(m.planting_rate_10k_ha_per_yr[k]) for k in m.periods]) * per_ha / (d * dt)
    g = region + tau_eff + 2 * tau1 * rates + pol_r
    optimality_cv = np.abs(_complementarity(g, 2 * tau1 * np.maximum(rates, 0.0)))
    detail: dict[str, float] = {}

    if m.representation == "curves":
        a0 = float(pyo.value(m.initial_area_10k_ha))
        alpha = [float(pyo.value(m.unconverted_esv_coefficient[i])) for i in m.unconverted_esv_coefficient]
        beta = [float(pyo.value(m.afforested_esv_coefficient[i])) for i in m.afforested_esv_coefficient]
        states = np.array([[float(pyo.value(m.unconverted_area_10k_ha[t])) for t in m.time_points]])
        slope = _S * (np.polynomial.polynomial.polyval(states, alpha) - np.polynomial.polynomial.polyval(a0 - states, beta))
        y = np.array([[_dual(duals, m.land_balance[k]) for k in m.periods]])
        pol_a = np.array([[policy_of(m.unconverted_area_10k_ha[t]) for t in m.time_points]])
        areas = np.array([a0])
    else:
        keys = list(m.classes)
        gain = np.array([float(pyo.value(m.afforested_esv_yuan_per_ha_yr[c]) - pyo.value(m.current_esv_yuan_per_ha_yr[c])) for c in keys])
        states = np.array([[float(pyo.value(m.unconverted_area_10k_ha[c, t])) for t in m.time_points] for c in keys])
        slope = np.repeat((-_S * gain)[:, None], n + 1, axis=1)
        y = _unit_pv(m, duals) / per_ha
        pol_a = np.array([[policy_of(m.unconverted_area_10k_ha[c, t]) for t in m.time_points] for c in keys])
        areas = np.array([float(pyo.value(m.class_area_10k_ha[c])) for c in keys])
        # (a) for each unit: H = lambda_cv,c - lambda_reg + e_c + p_c >= 0, complementary to x_ck
        x_vars = [m.class_planting_rate_10k_ha_per_yr[c, k] for c in keys for k in m.periods]
        grad = _unit_rate_gradient(m, x_vars).reshape(len(keys), n)
        x = np.array([float(pyo.value(v)) for v in x_vars]).reshape(len(keys), n)
        pol_x = np.array([policy_of(v) for v in x_vars]).reshape(len(keys), n)
        scale_k = _S * d * dt
        h = (y * per_ha) / d - region[None, :] - grad / scale_k + pol_x / scale_k
        unit_opt = np.abs(_complementarity(h, 2 * tau1 * np.maximum(x, 0.0)))
        detail["units_optimality_cv_max_yuan_per_ha"] = float(unit_opt.max(initial=0.0))
        optimality_cv = np.maximum(optimality_cv, unit_opt.max(axis=0, initial=0.0))

    at_bound = states <= AT_BOUND_SHARE * areas[:, None]
    # (b) states 1..N-1: e_j = y_{j-1} - y_j - omega_j F'(A_j) + p_j  (objective units per 10^4 ha, PV)
    e = y[:, :-1] - y[:, 1:] - omega[None, 1:n] * slope[:, 1:n] + pol_a[:, 1:n]
    costate_pv = np.abs(_on_bound(e, at_bound[:, 1:n])) * per_ha
    costate_pv_by_state = np.concatenate([[np.nan], costate_pv.max(axis=0, initial=0.0)]) if n > 1 else np.array([np.nan])
    # (c) state N: e_N = y_{N-1} - (omega_N + W_T) F'(A_N) + p_N
    e_n = y[:, -1] - (omega[n] + terminal_w) * slope[:, n] - _continuation_slope(m) + pol_a[:, n]
    terminal_pv = float(np.abs(_on_bound(e_n, at_bound[:, n])).max(initial=0.0)) * per_ha

    starts = np.array([float(pyo.value(m.period_start_yr[k])) for k in m.periods])
    if held_from_yr is not None:
        optimality_cv = np.where(starts > held_from_yr - dt / 2, np.nan, optimality_cv)  # the periods starting from then
    scale = float(max(abs(tau_eff + 2 * tau1 * rates[0]), tau0))
    frame = pd.DataFrame(
        {
            "period_start_yr": starts,
            "discount_weight": d,
            "optimality_pv_yuan_per_ha": optimality_cv * d,
            "optimality_cv_yuan_per_ha": optimality_cv,
            "costate_equation_pv_yuan_per_ha": costate_pv_by_state,
            "costate_equation_cv_yuan_per_ha": costate_pv_by_state / d,
        }
    )
    return PontryaginCertificate(m.representation, scale, frame, terminal_pv, planting_cost_shift_yuan_per_ha, detail)


def policy_shadow_prices(m: LandUseModel, duals: Any) -> list[dict[str, Any]]:
    """Every active constraint of the model's switches (planting cap per period, province quotas, a user's switch)
    with its dual in economic units: ``{constraint, index, value, unit}``.

    ``value`` is the dual (:data:`afforest.solvers.DUAL_SIGN_CONVENTION`) times 10^4: yuan of welfare (PV at t = 0)
    per hectare of the constraint's bound, or per ha/yr when the constraint binds planting rates only (a cap).
    """
    out: list[dict[str, Any]] = []
    rate_vars = {id(v) for v in m.planting_rate_10k_ha_per_yr.values()}
    if m.component("class_planting_rate_10k_ha_per_yr") is not None:
        rate_vars |= {id(v) for v in m.class_planting_rate_10k_ha_per_yr.values()}
    for con in _policy_constraints(m):
        repn = generate_standard_repn(con.body, compute_values=True)
        is_rate = bool(repn.linear_vars) and all(id(v) in rate_vars for v in repn.linear_vars)
        unit = "yuan (PV at t=0) per ha/yr" if is_rate else "yuan (PV at t=0) per ha"
        block = con.parent_block()
        switch = next((sw for sw in registered_switches() if sw.name == block.local_name), None) if block is not m else None
        unit = switch.shadow_price_units.get(con.parent_component().local_name, unit) if switch is not None else unit
        index = con.index()
        out.append(
            {
                "constraint": con.parent_component().getname(fully_qualified=True, relative_to=m),
                "index": index if not isinstance(index, tuple) else list(index),
                "value": float(duals.get(con, float("nan"))) * YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA,
                "unit": unit,
            }
        )
    return out
