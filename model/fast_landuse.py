"""The land-use programs of the standard formulation in numpy: the curves NLP and the classes QP without Pyomo.

Both programs are the ones :mod:`afforest.model.landuse` builds (same grid, discount weights, terminal value
``rest``, welfare terms), with the built-in switches a fast path can honour exactly: a carbon price (a shift of
tau(0), :meth:`afforest.model.formulations.CarbonPrice.planting_cost_shift_yuan_per_ha`) and an annual planting
cap (a bound on each R_k). :mod:`afforest.chain.fast_path` decides when they apply and assembles the result.

**Curves NLP.** With A_j = A0 - dt sum_{k<j} R_k, the program is a function of the rates alone,

    max_R  sum_j Omega_j F(A_j) - s dt sum_k d_k (tau0_eff R_k + tau1 R_k^2),   0 <= R_k <= cap,

F(A) = s [B(A) + C(A0 - A)] the yearly ESV flow, Omega_j the flow weight of state j (plus W_T for the final
state), d_k = e^{-r t_k}. Gradient and Hessian in closed form (the Hessian is dt^2 S_max(k,l) - 2 s dt d_k tau1,
S_k the suffix sums of Omega_j F''(A_j)), solved by a projected Newton method (Bertsekas 1982) with an Armijo
search along the projection arc, from R = 0 (where Ipopt starts). At the optimum the duals are the suffix sums
y_k = sum_{j>k} Omega_j F'(A_j) (the costate equation and the terminal condition of
:mod:`afforest.model.costates` hold by construction), and the cap's multiplier is what the planting condition
leaves where R_k = cap; planting optimality is then a real check of the primal.

**Classes QP.** The price decomposition of :mod:`afforest.solvers.decomposition` (its master problem in the
cumulative areas of the units sorted by value, solved and polished exactly by
:func:`~afforest.solvers.decomposition.solve_master`). A planting cap bounds the yearly areas Y_k <= cap dt; where
it binds it does so on the first K periods (the desired rate falls along a path), so those plant cap dt each and the
rest is the same master over the units left, from period K (:func:`_capped_master`, which checks the cap's
multipliers are >= 0; each sub-master's active-set search starts from the nearest solved K's path). The region's
costate is -(tau0_eff + 2 tau1 R_k) - p_k where it plants; the units' duals are one point of the dual set
(:func:`_unit_duals`), so that the certificate checks the planting conditions of every unit and the costate equation
between the periods a unit plants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numpy.polynomial import polynomial as P
from scipy.linalg.lapack import dpotrs

from afforest.data import LandUseParameters
from afforest.solvers.decomposition import plan_from_cumulative, solve_master
from afforest.model.costates import (
    AT_BOUND_SHARE,
    YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA,
    ColumnCertificate,
    PontryaginCertificate,
)
from afforest.model.problem import (
    YUAN_10K_IN_OBJECTIVE_UNIT,
    Discounting,
    LandUseProblem,
    TimeGrid,
    discount_weights,
)

__all__ = [
    "CurvesSolution",
    "ClassesSolution",
    "box_newton",
    "solve_curves_fast",
    "solve_classes_fast",
    "array_certificate",
    "NEWTON_TOLERANCE",
]

_S = YUAN_10K_IN_OBJECTIVE_UNIT
_PER_HA = YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA

NEWTON_TOLERANCE = 1e-11
"""Projected-gradient tolerance of the Newton solves, relative to tau(0) (PV yuan/ha): ~4e-7 yuan/ha at the
baseline, ~1e-3 of Ipopt's own tolerance (1e-10 on the scaled objective) and far below the certificate's limit
(1e-5 of period 0's marginal cost). Sums of ~10^2 terms of ~10^5 yuan/ha round at ~1e-11 of that scale, so this is
near the floor of double precision."""

_ARMIJO = 1e-4
"""Sufficient-decrease constant of the line search (Nocedal and Wright 2006, section 3.1: 1e-4 is customary)."""
_MAX_NEWTON_ITERATIONS = 200
"""Projected Newton converges in 5-30 iterations on every point tested; 200 means something is wrong."""
_ROUND_OFF = 1e-13
"""Relative round-off allowance of the objective in the line search (a few ulps of a sum of ~10^2 terms)."""
_LEVENBERG_START = 1e-10
"""First diagonal shift, relative to the largest diagonal entry, where the free block is not positive definite (a
non-concave stretch of the quartic curves): just above the rounding of that entry, doubled until Cholesky succeeds."""
_LEVENBERG_LIMIT = 1e12
"""A shift this many times the diagonal means the Hessian is not finite: give up (the caller falls back to Pyomo)."""
_MIN_STEP = 1e-12
"""Smallest line-search step (40 halvings): below it the search has stalled on round-off; reported as not converged."""
_MASTER_SLACK = 1e-9
"""Relative slack of the capped master's comparisons (a rate at the cap, a multiplier's sign): the decomposition's
polish holds its optimality conditions to 1e-10 of the area and of max |u| (``_RELATIVE_SLACK`` there), so 1e-9 is
above its rounding and far below anything reported."""


@dataclass
class NewtonResult:
    """A box-constrained minimum: point, gradient there, iterations, and whether the tolerance was met."""

    x: np.ndarray
    gradient: np.ndarray
    iterations: int
    converged: bool


Evaluate = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


def box_newton(evaluate: Evaluate, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: float,
               max_iterations: int = _MAX_NEWTON_ITERATIONS) -> NewtonResult:
    """min phi(x) on lo <= x <= hi by projected Newton (Bertsekas 1982): Newton on the free variables, a scaled
    gradient step on those at a bound with the gradient pushing out, an Armijo search along the projection arc.
    ``evaluate(x)`` returns (phi, gradient, Hessian); ``tol`` bounds the projected gradient (max norm)."""
    x = np.clip(x0, lo, hi)
    phi, g, h = evaluate(x)
    for iteration in range(1, max_iterations + 1):
        projected = x - np.clip(x - g, lo, hi)
        if float(np.max(np.abs(projected), initial=0.0)) <= tol:
            return NewtonResult(x, g, iteration - 1, True)
        room = np.minimum(tol, 0.5 * (hi - lo))
        active = ((x <= lo + room) & (g > 0)) | ((x >= hi - room) & (g < 0))
        free = ~active
        step = np.zeros_like(x)
        diag = np.diag(h)
        step[active] = -g[active] / np.where(diag[active] > 0, diag[active], 1.0)
        if free.any():
            hff = h[np.ix_(free, free)]
            shift = 0.0
            scale = float(np.max(np.abs(np.diag(hff)), initial=1.0))
            while True:  # Levenberg: shift until the free block is positive definite (a non-concave stretch)
                try:
                    chol = np.linalg.cholesky(hff + shift * np.eye(hff.shape[0]) if shift else hff)
                    break
                except np.linalg.LinAlgError:
                    shift = max(2 * shift, _LEVENBERG_START * scale)
                    if not shift <= _LEVENBERG_LIMIT * scale:
                        return NewtonResult(x, g, iteration, False)
            solved, info = dpotrs(chol, g[free], lower=1)  # scipy's cho_solve without its wrapper's checks
            if info != 0:
                return NewtonResult(x, g, iteration, False)
            step[free] = -solved
        alpha = 1.0
        while True:
            trial = np.clip(x + alpha * step, lo, hi)
            phi_t, g_t, h_t = evaluate(trial)
            if phi_t <= phi + _ARMIJO * float(g @ (trial - x)) + _ROUND_OFF * abs(phi):
                break
            alpha *= 0.5
            if alpha < _MIN_STEP:
                return NewtonResult(x, g, iteration, False)
        x, phi, g, h = trial, phi_t, g_t, h_t
    projected = x - np.clip(x - g, lo, hi)
    return NewtonResult(x, g, max_iterations, bool(np.max(np.abs(projected), initial=0.0) <= tol))


def _polyval(x: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """numpy.polynomial.polynomial.polyval(x, coefficients) for a float coefficient array, by the same Horner steps
    (so the same numbers) without its argument handling (~10 us a call, ~50 calls per solve)."""
    value = coefficients[-1] + x * 0
    for i in range(2, len(coefficients) + 1):
        value = coefficients[-i] + value * x
    return value


@lru_cache(maxsize=16)
def _max_index(n: int) -> np.ndarray:
    """max(k, l) for k, l < n (the Hessians' index pattern), cached per n."""
    ar = np.arange(n)
    return np.maximum.outer(ar, ar)


def _state_weights(grid: TimeGrid, rate: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(d_k, Omega_j for j = 0..N without the terminal weight, W_T): as afforest.model.costates reads them."""
    w = discount_weights(rate, grid)
    n = grid.periods
    omega = np.zeros(n + 1)
    if grid.discounting is Discounting.INTEGRATED:
        omega[1:] = w.flow_yr
    else:
        omega[:n] = w.flow_yr
    return w.cost, omega, w.terminal_yr


# --------------------------------------------------------------------------------------------------- curves


@dataclass
class CurvesSolution:
    """The curves NLP's optimum: rates, states, the duals the chain reports, welfare terms and how it was found."""

    rates_10k_ha_per_yr: np.ndarray
    states_10k_ha: np.ndarray
    """A_0..A_N."""
    land_balance_duals: np.ndarray
    """y_k, objective units per 10^4 ha (the dual of ``land_balance[k]``)."""
    cap_multiplier_cv_yuan_per_ha: np.ndarray
    """p_cv,k of the planting cap (0 where it does not bind or there is none)."""
    welfare_terms_10e8_yuan: dict[str, float]
    iterations: int
    converged: bool


def solve_curves_fast(params: LandUseParameters, grid: TimeGrid, tau_eff_yuan_per_ha: float,
                      cap_10k_ha_per_yr: float | None = None, carbon_value_yuan_per_ha: float = 0.0) -> CurvesSolution:
    """The curves NLP (module docstring) at the effective first-year cost ``tau_eff_yuan_per_ha``; the welfare term
    ``carbon_value_pv`` carries ``carbon_value_yuan_per_ha`` (= tau(0) - tau_eff) when it is nonzero."""
    n, dt = grid.periods, float(grid.step_yr)
    a0, tau1 = params.initial_area_10k_ha, params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
    d, omega, terminal = _state_weights(grid, params.financial_discount_rate)
    big_omega = omega.copy()
    big_omega[n] += terminal
    alpha, beta = np.asarray(params.unconverted_esv_coefficients), np.asarray(params.afforested_esv_coefficients)
    b_int, c_int = P.polyint(alpha), P.polyint(beta)
    a1, b1 = P.polyder(alpha), P.polyder(beta)
    index = _max_index(n)
    tau = tau_eff_yuan_per_ha

    def states(r: np.ndarray) -> np.ndarray:
        return np.concatenate([[a0], a0 - dt * np.cumsum(r)])

    def evaluate(r: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        a = states(r)
        z = a0 - a
        flow = _polyval(a, b_int) + _polyval(z, c_int)  # yuan/yr per 10^4 ha... x s: objective units/yr
        slope = _polyval(a, alpha) - _polyval(z, beta)
        curvature = _polyval(a, a1) + _polyval(z, b1)
        phi = -(float(big_omega @ flow) - dt * float(d @ (tau * r + tau1 * r * r))) / dt
        suffix = np.cumsum((big_omega * slope)[::-1])[::-1][1:]  # sum_{j>k} Omega_j F'(A_j) / s
        grad = suffix + d * (tau + 2 * tau1 * r)
        curv = np.cumsum((big_omega * curvature)[::-1])[::-1][1:]
        hess = (-dt * curv)[index]
        hess[np.diag_indices(n)] += 2 * tau1 * d
        return phi, grad, hess

    cap = np.inf if cap_10k_ha_per_yr is None else float(cap_10k_ha_per_yr)
    lo, hi = np.zeros(n), np.full(n, cap)
    tol = NEWTON_TOLERANCE * max(abs(params.planting_cost_intercept_yuan_per_ha), abs(tau), 1.0)
    result = box_newton(evaluate, np.zeros(n), lo, hi, tol)
    r = np.maximum(result.x, 0.0)
    a = states(r)
    z = a0 - a
    slope = _S * (_polyval(a, alpha) - _polyval(z, beta))
    y = np.cumsum((big_omega * slope)[::-1])[::-1][1:]
    at_cap = np.isfinite(cap) & (r >= cap - tol)
    planting = y * _PER_HA / d + tau + 2 * tau1 * r  # G_k without the cap's multiplier
    cap_mult = np.where(at_cap, np.maximum(-planting, 0.0), 0.0)
    unconverted = _S * _polyval(a, b_int)
    afforested = _S * _polyval(z, c_int)
    terms = {
        "esv_unconverted_pv": float(omega @ unconverted),
        "esv_afforested_pv": float(omega @ afforested),
        "planting_cost_pv": -_S * dt * float(d @ (params.planting_cost_intercept_yuan_per_ha * r + tau1 * r * r)),
        "terminal_value_pv": terminal * float(unconverted[n] + afforested[n]),
    }
    if carbon_value_yuan_per_ha:
        terms["carbon_value_pv"] = _S * dt * carbon_value_yuan_per_ha * float(d @ r)
    return CurvesSolution(r, a, y, cap_mult, terms, result.iterations, result.converged)


# -------------------------------------------------------------------------------------------------- classes


@dataclass
class ClassesSolution:
    """The classes QP's optimum: the plan per unit and period, its duals and welfare terms."""

    planted_10k_ha: np.ndarray
    """(units x periods) area planted, 10^4 ha (rate x dt)."""
    rates_10k_ha_per_yr: np.ndarray
    """R_k, the region's rate."""
    region_costate_cv_yuan_per_ha: np.ndarray
    cap_multiplier_cv_yuan_per_ha: np.ndarray
    unit_duals: np.ndarray
    """(units x periods) y_ck of ``land_balance[c, k]``, objective units per 10^4 ha."""
    welfare_terms_10e8_yuan: dict[str, float]
    iterations: int
    converged: bool
    note: str = ""
    detail: dict[str, float] = field(default_factory=dict)


def _capped_master(gamma: np.ndarray, rate_cost: np.ndarray, bounds: np.ndarray, slopes: np.ndarray,
                   cap_area: float, method: str = "active_set") -> tuple[np.ndarray, np.ndarray, int, bool, str]:
    """Yearly areas Y of the master problem with 0 <= Y_k <= ``cap_area`` and the cap's multipliers nu_k.

    Without a binding cap this is :func:`afforest.solvers.decomposition.solve_master` (exact, polished). A cap binds on
    the first K periods (the desired rate falls along the path): they plant cap_area each, and the rest is the same
    master over the units left from K cap_area on, from period K. K is the least count for which the rest keeps
    below the cap; nu_k = dW/dY_k (>= 0 is checked) follows from the rest's stationarity in period K. Another
    binding pattern is reported as not converged (the caller then runs the Pyomo model). ``method`` is the masters'
    (:data:`afforest.solvers.decomposition.MASTER_METHODS`); each sub-master starts from the nearest solved K's path."""
    n = len(gamma)
    total = float(bounds[-1])
    slack = _MASTER_SLACK * max(total, 1.0)
    iterations = 0
    if len(bounds) == 1:
        return np.zeros(n), np.zeros(n), 0, True, ""
    master = solve_master(gamma, rate_cost, bounds, slopes, method=method)
    iterations += master.iterations
    y = np.diff(np.concatenate([[0.0], master.cumulative_10k_ha]))
    if not np.isfinite(cap_area) or float(y.max()) <= cap_area + slack:
        return y, np.zeros(n), iterations, True, ""
    # The least K for which the rest keeps below the cap, by bisection on [K0, N] (K0: the uncapped path's leading
    # periods above the cap; K = N, every period at the cap, always fits); the multipliers' signs verify the answer.
    solved: dict[int, tuple[np.ndarray, float | None]] = {}
    # cumulative areas of the whole path for each K solved so far (K = 0: the uncapped master): the nearest one,
    # shifted, starts the next sub-master's active-set search (a guess only: the answer is the verified polish)
    paths: dict[int, np.ndarray] = {0: master.cumulative_10k_ha}

    def rest_from(k: int) -> tuple[np.ndarray, float | None]:
        nonlocal iterations
        if k not in solved:
            start = k * cap_area
            if k >= n or start >= total - slack:  # everything planted at the cap, or every period at it
                solved[k] = (np.zeros(n - k), None)
            else:
                keep = bounds > start + slack
                sub_bounds = np.concatenate([[0.0], bounds[keep] - start])
                first = int(np.argmax(keep))  # the unit holding position `start`
                sub_slopes = np.concatenate([[np.inf], slopes[first:first + len(sub_bounds) - 1], [-np.inf]])
                nearest = paths[min(paths, key=lambda solved_k: abs(solved_k - k))]
                sub = solve_master(gamma[k:], rate_cost[k:], sub_bounds, sub_slopes, method=method,
                                   start=nearest[k:] - start)
                iterations += sub.iterations
                paths[k] = np.concatenate([np.arange(1, k + 1) * cap_area, start + sub.cumulative_10k_ha])
                rest = np.diff(np.concatenate([[0.0], sub.cumulative_10k_ha]))
                solved[k] = (rest, 2 * rate_cost[k] * rest[0] if rest[0] > slack else None)
        return solved[k]

    def fits(k: int) -> bool:
        return float(rest_from(k)[0].max(initial=0.0)) <= cap_area + slack

    # K planting periods at the cap cannot hold more than the land: K <= ceil(total / cap)
    high = min(n, int(np.ceil((total - slack) / cap_area)))
    low = min(int(np.argmax(y <= cap_area + slack)) if np.any(y <= cap_area + slack) else n, high)
    while low < high:
        mid = (low + high) // 2
        if fits(mid):
            high = mid
        else:
            low = mid + 1
    k = low
    rest, tail = rest_from(k)
    y = np.concatenate([np.full(k, cap_area), rest])
    z = np.cumsum(y)
    cell = np.clip(np.searchsorted(bounds, z[:k], side="left"), 1, len(bounds) - 1)
    value = gamma[:k] * slopes[cell]
    if k * cap_area > total + slack:
        return y, np.zeros(n), iterations, False, "the planting cap's leading periods would plant more than the land"
    if tail is None:  # nothing planted from period K on: dW/dY_K there, on the conservative side of a boundary
        start = k * cap_area
        if k >= n or start >= total - slack:
            tail = 0.0  # every unit planted (or no period left): zero multipliers are one valid choice
        else:
            right = int(np.searchsorted(bounds, start + slack, side="left"))
            tail = float(gamma[k:].sum() * slopes[min(right, len(slopes) - 1)])
    nu = np.zeros(n)
    nu[:k] = np.cumsum(value[::-1])[::-1] + tail - 2 * rate_cost[:k] * cap_area
    if np.any(nu[:k] < -_MASTER_SLACK * float(np.max(np.abs(value), initial=1.0))):
        return y, nu, iterations, False, "the planting cap's multipliers come out negative: not the optimum's pattern"
    return y, np.maximum(nu, 0.0), iterations, True, ""


def solve_classes_fast(problem: LandUseProblem, tau_eff_yuan_per_ha: float, cap_10k_ha_per_yr: float | None = None,
                       carbon_value_yuan_per_ha: float = 0.0, master_method: str = "active_set") -> ClassesSolution:
    """The classes QP (module docstring) of ``problem`` (the classes at tau(0)) at the effective first-year cost
    ``tau_eff_yuan_per_ha`` (tau(0) net of the carbon value, ``carbon_value_yuan_per_ha``). ``master_method``: how
    the masters are searched (:data:`afforest.solvers.decomposition.MASTER_METHODS`; the same verified optimum)."""
    grid, params = problem.grid, problem.params
    n, dt = grid.periods, float(grid.step_yr)
    tau1, tau_eff = params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr, float(tau_eff_yuan_per_ha)
    tau0_yuan_per_ha = params.planting_cost_intercept_yuan_per_ha
    d, omega, terminal = _state_weights(grid, params.financial_discount_rate)
    ratio = problem.weights.gain_yr / problem.weights.cost
    if not np.allclose(ratio, ratio[0], rtol=1e-10, atol=0.0):
        raise ValueError("the value of planting is not separable into a unit and a time factor")
    unit_value = problem.esv_gain_yuan_per_ha_yr * float(ratio[0]) - tau_eff
    positive = np.flatnonzero(unit_value > 0)
    order = positive[np.argsort(-unit_value[positive], kind="stable")]
    areas = problem.area_10k_ha
    bounds = np.concatenate([[0.0], np.cumsum(areas[order])])
    slopes = np.concatenate([[np.inf], unit_value[order], [-np.inf]])
    gamma = _S * (d - np.append(d[1:], 0.0))
    rate_cost = _S * d * tau1 / dt
    cap_area = np.inf if cap_10k_ha_per_yr is None else float(cap_10k_ha_per_yr) * dt
    y, nu, iterations, converged, note = _capped_master(gamma, rate_cost, bounds, slopes, cap_area, master_method)
    cumulative = np.cumsum(y)
    planted = plan_from_cumulative(order, bounds, cumulative, len(areas)) if len(order) else np.zeros((len(areas), n))
    # a cumulative area a rounding past a class boundary gives the next class ~1e-14: nothing is planted there
    planted[planted <= _ROUND_OFF * 100 * max(float(bounds[-1]), 1.0)] = 0.0
    rates = planted.sum(axis=0) / dt
    cap_mult = nu / (_S * d)  # nu: objective units per 10^4 ha of Y_k at the cap; per R_k it is nu dt, i.e. nu / (s d) in CV
    region = -(tau_eff + 2 * tau1 * rates) - cap_mult
    region = np.where(rates > 0, region, -tau_eff)
    unit_duals = _unit_duals(problem, planted, region * d / _PER_HA, omega, terminal, dt)
    states = areas[:, None] - np.concatenate([np.zeros((len(areas), 1)), np.cumsum(planted, axis=1)], axis=1)
    current, afforested_esv = problem.current_esv_yuan_per_ha_yr, problem.afforested_esv_yuan_per_ha_yr
    unconverted_flow = _S * (current @ states)
    afforested_flow = _S * (afforested_esv @ (areas[:, None] - states))
    terms = {
        "esv_unconverted_pv": float(omega @ unconverted_flow),
        "esv_afforested_pv": float(omega @ afforested_flow),
        "planting_cost_pv": -_S * dt * float(d @ (tau0_yuan_per_ha * rates + tau1 * rates * rates)),
        "terminal_value_pv": terminal * float(unconverted_flow[n] + afforested_flow[n]),
    }
    if carbon_value_yuan_per_ha:
        terms["carbon_value_pv"] = _S * dt * carbon_value_yuan_per_ha * float(d @ rates)
    return ClassesSolution(planted, rates, region, cap_mult, unit_duals, terms, iterations, converged, note)


def _unit_duals(problem: LandUseProblem, planted: np.ndarray, region_pv: np.ndarray, omega: np.ndarray,
                terminal: float, dt: float) -> np.ndarray:
    """y_ck of each unit's land balance (objective units per 10^4 ha), one point of the dual set.

    Where the unit plants, y_ck equals the region's (its planting condition with no cost of its own). Before its first
    planting, and for a unit never planted, its state is off the bound A >= 0 and the costate equation
    y_{k-1} = y_k + Omega_k F'_c fixes y backwards from the first planting (or from the terminal condition). After its
    last planting the state sits at 0 and y_ck is the least value both inequalities allow going backwards:
    max(y_{k+1} + Omega_{k+1} F'_c, the region's) (so that the unit's planting condition holds as >= 0)."""
    n_units, n = planted.shape
    slope = -_S * problem.esv_gain_yuan_per_ha_yr  # F'_c
    if n == 0:
        return np.zeros((n_units, 0))
    planting = planted > 0
    planted_somewhere = planting.any(axis=1)
    first = np.where(planted_somewhere, np.argmax(planting, axis=1), n)
    last = np.where(planted_somewhere, n - 1 - np.argmax(planting[:, ::-1], axis=1), -1)
    last_weight = omega[n] + terminal
    # one backward pass over the periods for all units at once (per unit and period the same operations as a loop
    # over the units, so the same numbers): planting periods take the region's, the others follow the costate
    # equation, floored at the region's after the last planting
    end_value = last_weight * slope
    period = np.arange(n)[:, None]  # periods x units below: each step of the pass works on one contiguous row
    inside = (period >= first) & (period <= last)
    after_last = planted_somewhere & (period > last)
    step = omega[:n, None] * slope  # row k: Omega_k F'_c
    floor = np.broadcast_to(region_pv[:, None], (n, n_units))
    out = np.empty((n, n_units))
    out[n - 1] = np.where(inside[n - 1], region_pv[n - 1],
                          np.where(after_last[n - 1], np.maximum(end_value, region_pv[n - 1]), end_value))
    for k in range(n - 1, 0, -1):
        carried = out[k] + step[k]
        out[k - 1] = np.where(inside[k - 1], floor[k - 1],
                              np.where(after_last[k - 1], np.maximum(carried, floor[k - 1]), carried))
    return np.ascontiguousarray(out.T)


# ---------------------------------------------------------------------------------------------- certificate


def array_certificate(representation: str, grid: TimeGrid, rate: float, tau0: float, tau1: float, tau_eff: float,
                      rates: np.ndarray, region_cv: np.ndarray, cap_cv: np.ndarray, states: np.ndarray,
                      slope: np.ndarray, duals: np.ndarray, areas: np.ndarray,
                      unit_planted: np.ndarray | None = None) -> PontryaginCertificate:
    """:func:`afforest.model.costates.pontryagin_certificate` from arrays (same conditions, same weighing).

    ``states``/``slope``: (units x N+1) A and F'(A) (objective units per 10^4 ha per yr); ``duals``: (units x N)
    y of the land balances; ``unit_planted``: (units x N) areas planted (units' planting condition), None for the
    curves."""
    d, omega, terminal = _state_weights(grid, rate)
    n, dt = grid.periods, float(grid.step_yr)
    g = region_cv + tau_eff + 2 * tau1 * rates + cap_cv
    optimality = np.abs(np.minimum(g, 2 * tau1 * np.maximum(rates, 0.0)))
    detail: dict[str, float] = {}
    if unit_planted is not None:
        h = duals * _PER_HA / d - region_cv[None, :]
        unit_opt = np.abs(np.minimum(h, 2 * tau1 * np.maximum(unit_planted / dt, 0.0)))
        detail["units_optimality_cv_max_yuan_per_ha"] = float(unit_opt.max(initial=0.0))
        optimality = np.maximum(optimality, unit_opt.max(axis=0, initial=0.0))
    at_bound = states <= AT_BOUND_SHARE * areas[:, None]
    e = duals[:, :-1] - duals[:, 1:] - omega[None, 1:n] * slope[:, 1:n]
    costate = np.abs(np.where(at_bound[:, 1:n], np.minimum(e, 0.0), e)) * _PER_HA
    by_state = np.concatenate([[np.nan], costate.max(axis=0, initial=0.0)]) if n > 1 else np.array([np.nan])
    e_n = duals[:, -1] - (omega[n] + terminal) * slope[:, n]
    terminal_pv = float(np.abs(np.where(at_bound[:, n], np.minimum(e_n, 0.0), e_n)).max(initial=0.0)) * _PER_HA
    starts = np.arange(n) * dt
    columns = {
        "period_start_yr": starts,
        "discount_weight": d,
        "optimality_pv_yuan_per_ha": optimality * d,
        "optimality_cv_yuan_per_ha": optimality,
        "costate_equation_pv_yuan_per_ha": by_state,
        "costate_equation_cv_yuan_per_ha": by_state / d,
    }
    scale = float(max(abs(tau_eff + 2 * tau1 * rates[0]), tau0))
    return ColumnCertificate(representation, scale, columns, terminal_pv, tau_eff - tau0, detail)
