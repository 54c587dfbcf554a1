"""Analytic steady state of the planner's problem (Eq. 3), vectorised over discount rates.

At a steady state nothing is planted (R = 0), so the shadow price of unconverted land is -tau(0) and the
costate equation gives Eq. 3,  C'(A0 - A*) / r - tau(0) = B'(A*) / r,  or, multiplied by r,

    g(A*) = P(A*) - r tau(0) = 0,   P(A) = C'(A0 - A) - B'(A),

the yearly ESV gained by converting the marginal hectare net of the annuity of its planting cost.
Linearising the canonical system (A, lambda) with tau(R) = tau0 + tau1 R around a root gives the
Jacobian [[0, 1/(2 tau1)], [g'(A*), r]]: trace r > 0 and determinant -g'(A*)/(2 tau1), so the root is
saddle-path stable exactly when g'(A*) > 0, whatever tau1 > 0 is. Neither the roots nor their stability
depend on tau1.

Roots are found robustly: the critical points of P (roots of P', independent of r) split [0, A0] into
intervals where g is monotone; each interval with a sign change is bisected, for all rates at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from afforest.data import LandUseParameters
from afforest.errors import InputError
from afforest.model.value_cache import ValueCache

__all__ = [
    "Stability",
    "SteadyStateRoot",
    "net_marginal_gain",
    "steady_state_roots",
    "clear_roots_cache",
    "steady_state_sweep",
    "long_run_afforested_area",
]


class Stability(StrEnum):
    """Local dynamics of the canonical system around a steady state."""

    SADDLE = "saddle_path_stable"
    """g'(A*) > 0: one stable and one unstable eigenvalue; an optimal path converges to it."""
    UNSTABLE = "unstable"
    """g'(A*) < 0: both eigenvalues have positive real part; no optimal path approaches it."""
    DEGENERATE = "degenerate"
    """g'(A*) = 0 (a tangent root): the linearisation does not decide."""


@dataclass(frozen=True)
class SteadyStateRoot:
    """One root of Eq. 3 in [0, A0]."""

    unconverted_area_10k_ha: float
    """A*, land left in its current use."""
    afforested_area_10k_ha: float
    """A0 - A*, the desirable (afforested) area."""
    stability: Stability
    net_gain_slope: float
    """g'(A*), yuan/(ha yr) per 10^4 ha: positive for a saddle-path stable root."""
    reached: bool
    """True for the steady state that the optimal path from A(0) = A0 approaches."""


def net_marginal_gain(params: LandUseParameters) -> np.polynomial.Polynomial:
    """P(A) = C'(A0 - A) - B'(A), yuan/(ha yr), as a polynomial in A (10^4 ha).

    Cached per process by value (the frozen parameters; a copy is returned): an evaluation composes it ~5 times."""
    def compose() -> np.polynomial.Polynomial:
        a0 = params.initial_area_10k_ha
        return params.afforested_marginal_esv(np.polynomial.Polynomial([a0, -1.0])) - params.unconverted_marginal_esv

    return _gain_cache.get(params, compose).copy()


def _breakpoints(p: np.polynomial.Polynomial, a0: float) -> NDArray[np.float64]:
    """0, the critical points of P inside (0, A0), and A0: P is monotone between neighbours (cached by value for a
    polynomial of the default window: an evaluation asks for them at ~3 shifts of one P)."""
    if not _default_window(p):
        return _find_breakpoints(p, a0)
    return _breakpoints_cache.get((tuple(p.coef.tolist()), float(a0)), lambda: _find_breakpoints(p, a0)).copy()


def _find_breakpoints(p: np.polynomial.Polynomial, a0: float) -> NDArray[np.float64]:
    """0, the critical points of P inside (0, A0), and A0: P is monotone between neighbours.

    Leading coefficients too small to matter on [0, A0] (|c_i| A0^i below 1e-14 of the largest term) are
    dropped first, so a negligible top coefficient cannot throw the companion-matrix roots off.
    """
    dp = p.deriv()
    weights = np.abs(dp.coef) * max(a0, 1.0) ** np.arange(dp.coef.size)
    keep = np.nonzero(weights > 1e-14 * weights.max(initial=0.0))[0]
    critical: list[float] = []
    if keep.size and keep[-1] >= 1:
        for z in np.polynomial.Polynomial(dp.coef[: keep[-1] + 1]).roots():
            if abs(z.imag) <= 1e-9 * max(1.0, abs(z.real)) and 0.0 < z.real < a0:
                critical.append(float(z.real))
    return np.array([0.0, *sorted(set(critical)), a0])


def _horner(coefficients: list[float], x: float) -> float:
    """sum_i c_i x^i (lowest degree first) as ``numpy.polynomial.polynomial.polyval`` computes it, same operations in
    the same order (so the same bits), on Python floats: ~20 times cheaper for one point."""
    value = coefficients[-1] + x * 0
    for c in coefficients[-2::-1]:
        value = c + value * x
    return value


def _bisect_scalar(p: np.polynomial.Polynomial, lo: float, hi: float, f_lo: float, target: float,
                   width_tol: float) -> float:
    """The vectorised bisection of :func:`_solve` for one shift, on Python floats: the same midpoints, signs and
    stopping rule, hence the same root to the bit (tests/test_steady_state.py holds them equal)."""
    coefficients = [float(c) for c in p.coef]
    a, b, fa = float(lo), float(hi), f_lo
    for _ in range(200):
        mid = 0.5 * (a + b)
        f_mid = _horner(coefficients, mid) - target
        if (f_mid > 0) == (fa > 0) and (f_mid < 0) == (fa < 0):  # np.sign(f_mid) == np.sign(fa), NaN included
            a, fa = mid, f_mid
        else:
            b = mid
        if b - a <= width_tol:
            break
    return 0.5 * (a + b)


def _default_window(p: np.polynomial.Polynomial) -> bool:
    """True when ``p(x)`` maps x to itself (domain = window = [-1, 1]), so Horner's rule on x is ``p(x)``."""
    return bool(np.array_equal(p.domain, p.window) and np.array_equal(p.domain, [-1.0, 1.0]))


def _solve(
    p: np.polynomial.Polynomial, a0: float, shift: NDArray[np.float64], scalar: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Roots of P(A) = shift for each shift: (n, k) arrays of roots and slopes, NaN where absent.

    One shift (``scalar``, the chain's case) is bisected on Python floats (:func:`_bisect_scalar`), bit for bit
    the array bisection, and cached by value (the polynomial, A0, the shift): the long run and the roots of one
    evaluation solve the same equation."""
    scalar = scalar and _default_window(p)
    if not (scalar and shift.size == 1):
        return _solve_uncached(p, a0, shift, scalar)
    key = (tuple(p.coef.tolist()), float(a0), float(shift[0]))
    roots, slopes = _solve_cache.get(key, lambda: _solve_uncached(p, a0, shift, scalar))
    return roots.copy(), slopes.copy()


def _solve_uncached(
    p: np.polynomial.Polynomial, a0: float, shift: NDArray[np.float64], scalar: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    edges = _breakpoints(p, a0)
    scale = max(float(np.max(np.abs(p(np.linspace(0.0, a0, 65))))), float(np.max(np.abs(shift), initial=0.0)), 1.0)
    atol = 64 * np.finfo(float).eps * scale
    n, k = shift.size, edges.size - 1
    roots = np.full((n, k), np.nan)
    for j in range(k):
        lo, hi = edges[j], edges[j + 1]
        f_lo = p(lo) - shift
        f_hi = p(hi) - shift
        at_lo = np.abs(f_lo) <= atol
        at_hi = (np.abs(f_hi) <= atol) & (j == k - 1)
        crossing = ~at_lo & ~(np.abs(f_hi) <= atol) & (np.sign(f_lo) != np.sign(f_hi))
        if crossing.any() and n == 1 and scalar:
            roots[0, j] = _bisect_scalar(p, lo, hi, float(f_lo[0]), float(shift[0]), 4 * np.finfo(float).eps * max(a0, 1.0))
        elif crossing.any():
            a = np.full(int(crossing.sum()), lo)
            b = np.full_like(a, hi)
            fa = f_lo[crossing]
            target = shift[crossing]
            width_tol = 4 * np.finfo(float).eps * max(a0, 1.0)
            for _ in range(200):
                mid = 0.5 * (a + b)
                f_mid = p(mid) - target
                same = np.sign(f_mid) == np.sign(fa)
                a = np.where(same, mid, a)
                fa = np.where(same, f_mid, fa)
                b = np.where(same, b, mid)
                if np.max(b - a) <= width_tol:
                    break
            roots[crossing, j] = 0.5 * (a + b)
        roots[at_lo & ~crossing, j] = lo
        roots[at_hi & ~at_lo & ~crossing, j] = hi
    slopes = p.deriv()(roots)
    return roots, slopes


def _shift(
    params: LandUseParameters,
    financial_discount_rate: ArrayLike | None,
    planting_cost_intercept_yuan_per_ha: ArrayLike | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    rate = np.atleast_1d(
        np.asarray(params.financial_discount_rate if financial_discount_rate is None else financial_discount_rate, float)
    )
    tau0 = np.atleast_1d(
        np.asarray(
            params.planting_cost_intercept_yuan_per_ha
            if planting_cost_intercept_yuan_per_ha is None
            else planting_cost_intercept_yuan_per_ha,
            float,
        )
    )
    rate, tau0 = np.broadcast_arrays(rate, tau0)
    rate, tau0 = rate.ravel(), tau0.ravel()
    bad = ~np.isfinite(rate)
    if bad.any():
        raise InputError("must be a finite number", field="financial_discount_rate", value=float(rate[bad][0]))
    bad = rate <= 0
    if bad.any():
        raise InputError("must be > 0: Eq. 3 divides by r", field="financial_discount_rate", value=float(rate[bad][0]))
    bad = ~np.isfinite(tau0)
    if bad.any():  # a negative value is allowed: an effective cost net of a subsidy or of carbon revenue
        raise InputError("must be finite", field="planting_cost_intercept_yuan_per_ha", value=float(tau0[bad][0]))
    return rate, tau0, rate * tau0


def _reached_index(roots: NDArray[np.float64], p: np.polynomial.Polynomial, a0: float, shift: NDArray[np.float64]) -> NDArray[np.int64]:
    """Column of the root reached from A0: the largest root when planting the first hectare pays, else -1.

    Moving down from A0, g > 0 until the first root, where g turns negative: that root is the long-run
    state. If g(A0) <= 0 (and A0 is not itself a root) nothing is planted; if g > 0 on all of [0, A0],
    everything is (A* = 0). Both corners are returned as -1 and handled by the caller.
    """
    filled = np.where(np.isnan(roots), -np.inf, roots)
    largest = np.argmax(filled, axis=1)
    has_root = np.isfinite(filled.max(axis=1))
    plant_first = (p(a0) - shift) > 0
    at_a0 = np.isclose(filled.max(axis=1), a0, rtol=0, atol=1e-9 * max(a0, 1.0))
    return np.where(has_root & (plant_first | at_a0), largest, -1)


ROOTS_CACHE_SIZE = 64
"""Entries of :func:`steady_state_roots`'s per-process cache: an evaluation asks for the roots at ~3 values of
tau(0) (the scenario's, the hurdle-adjusted one of the checks, the saddle path's), so 64 spans ~20 evaluations."""
_roots_cache: ValueCache[tuple[SteadyStateRoot, ...]] = ValueCache(ROOTS_CACHE_SIZE)
_long_run_cache: ValueCache[NDArray[np.float64]] = ValueCache(ROOTS_CACHE_SIZE)
_gain_cache: ValueCache[np.polynomial.Polynomial] = ValueCache(ROOTS_CACHE_SIZE)
_solve_cache: ValueCache[tuple[NDArray[np.float64], NDArray[np.float64]]] = ValueCache(ROOTS_CACHE_SIZE)
_breakpoints_cache: ValueCache[NDArray[np.float64]] = ValueCache(ROOTS_CACHE_SIZE)


def steady_state_roots(
    params: LandUseParameters, planting_cost_intercept_yuan_per_ha: float | None = None
) -> list[SteadyStateRoot]:
    """All roots of Eq. 3 in [0, A0] for the parameters' r and tau(0) (or the given effective tau(0)), ascending in A*.

    Cached per process by value (the frozen parameters and tau(0)): the chain asks for the same roots several
    times per evaluation (the checks, the targets, the saddle path)."""
    tau = None if planting_cost_intercept_yuan_per_ha is None else float(planting_cost_intercept_yuan_per_ha)
    return list(_roots_cache.get((params, tau), lambda: tuple(_steady_state_roots(params, tau))))


def clear_roots_cache() -> None:
    """Forget the cached roots and long-run areas (tests compare cached and uncached answers)."""
    _roots_cache.clear()
    _long_run_cache.clear()
    _gain_cache.clear()
    _solve_cache.clear()
    _breakpoints_cache.clear()


def _steady_state_roots(params: LandUseParameters, planting_cost_intercept_yuan_per_ha: float | None) -> list[SteadyStateRoot]:
    """The rows of :func:`steady_state_sweep` for one point, from its arrays (no table)."""
    sweep = _sweep_arrays(params, None, planting_cost_intercept_yuan_per_ha)
    return [
        SteadyStateRoot(
            unconverted_area_10k_ha=float(sweep["unconverted_area_10k_ha"][i]),
            afforested_area_10k_ha=float(sweep["afforested_area_10k_ha"][i]),
            stability=Stability(sweep["stability"][i]),
            net_gain_slope=float(sweep["net_gain_slope"][i]),
            reached=bool(sweep["reached"][i]),
        )
        for i in range(sweep["point"].size)
    ]


def steady_state_sweep(
    params: LandUseParameters,
    financial_discount_rate: ArrayLike | None = None,
    planting_cost_intercept_yuan_per_ha: ArrayLike | None = None,
) -> pd.DataFrame:
    """Roots of Eq. 3 for many rates (and/or tau(0) values) at once: one row per (point, root).

    Columns: ``point``, ``financial_discount_rate``, ``planting_cost_intercept_yuan_per_ha``,
    ``root_index``, ``unconverted_area_10k_ha``, ``afforested_area_10k_ha``, ``stability``,
    ``net_gain_slope``, ``reached``. Points without a root in [0, A0] have no rows; see
    :func:`long_run_afforested_area` for the long-run state including corners.
    """
    sweep = _sweep_arrays(params, financial_discount_rate, planting_cost_intercept_yuan_per_ha)
    sweep["stability"] = pd.Categorical(sweep["stability"], categories=[s.value for s in Stability])
    return pd.DataFrame(sweep)


def _sweep_arrays(
    params: LandUseParameters,
    financial_discount_rate: ArrayLike | None,
    planting_cost_intercept_yuan_per_ha: ArrayLike | None,
) -> dict[str, NDArray]:
    """The columns of :func:`steady_state_sweep` as arrays (``stability`` as strings)."""
    rate, tau0, shift = _shift(params, financial_discount_rate, planting_cost_intercept_yuan_per_ha)
    p = net_marginal_gain(params)
    a0 = params.initial_area_10k_ha
    roots, slopes = _solve(p, a0, shift)
    reached = _reached_index(roots, p, a0, shift)
    point, column = np.nonzero(~np.isnan(roots))
    values = roots[point, column]
    order = np.lexsort((values, point))
    point, column, values = point[order], column[order], values[order]
    slope_values = slopes[point, column]
    tol = 1e-9 * max(1.0, float(np.max(np.abs(p.deriv()(np.linspace(0.0, a0, 65))))))
    stability = np.where(
        slope_values > tol,
        Stability.SADDLE.value,
        np.where(slope_values < -tol, Stability.UNSTABLE.value, Stability.DEGENERATE.value),
    )
    root_index = np.zeros_like(point)
    if point.size:
        starts = np.r_[True, point[1:] != point[:-1]]
        group_start = np.maximum.accumulate(np.where(starts, np.arange(point.size), 0))
        root_index = np.arange(point.size) - group_start
    return {
        "point": point,
        "financial_discount_rate": rate[point],
        "planting_cost_intercept_yuan_per_ha": tau0[point],
        "root_index": root_index,
        "unconverted_area_10k_ha": values,
        "afforested_area_10k_ha": a0 - values,
        "stability": stability,
        "net_gain_slope": slope_values,
        "reached": column == reached[point],
    }


def long_run_afforested_area(
    params: LandUseParameters,
    financial_discount_rate: ArrayLike | None = None,
    planting_cost_intercept_yuan_per_ha: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """A0 - A_inf for each point: the steady state reached from A0, or a corner (0 or A0).

    One point at the parameters' r (the chain's call, twice per evaluation) is cached per process by value, like
    :func:`steady_state_roots`."""
    if financial_discount_rate is None and (planting_cost_intercept_yuan_per_ha is None
                                            or np.ndim(planting_cost_intercept_yuan_per_ha) == 0):
        tau = None if planting_cost_intercept_yuan_per_ha is None else float(planting_cost_intercept_yuan_per_ha)
        return _long_run_cache.get((params, tau), lambda: _long_run_afforested_area(params, None, tau)).copy()
    return _long_run_afforested_area(params, financial_discount_rate, planting_cost_intercept_yuan_per_ha)


def _long_run_afforested_area(
    params: LandUseParameters, financial_discount_rate: ArrayLike | None, planting_cost_intercept_yuan_per_ha: ArrayLike | None,
) -> NDArray[np.float64]:
    rate, tau0, shift = _shift(params, financial_discount_rate, planting_cost_intercept_yuan_per_ha)
    p = net_marginal_gain(params)
    a0 = params.initial_area_10k_ha
    roots, _ = _solve(p, a0, shift)
    reached = _reached_index(roots, p, a0, shift)
    rows = np.arange(rate.size)
    unconverted = np.where(reached >= 0, roots[rows, np.maximum(reached, 0)], np.nan)
    plant_first = (p(a0) - shift) > 0
    unconverted = np.where(reached >= 0, unconverted, np.where(plant_first, 0.0, a0))
    return a0 - unconverted
