"""The saddle path's integration (:mod:`afforest.model.saddle_path`) on Python floats: scipy's DOP853, step for step.

The stable manifold is one two-dimensional autonomous ODE with a polynomial right-hand side, integrated at
rtol 1e-12 (~50 steps of 12 stages, ~800 right-hand sides). ``scipy.integrate.solve_ivp`` spends ~100 us a step
on its array machinery for two numbers; this module runs the same method on floats, ~3 times cheaper: the same
Dormand-Prince 8(5,3) tableau (read from ``scipy.integrate.DOP853``), the same initial step (Hairer, Norsett and
Wanner II.4), the same error norm and step-size control (safety 0.9, factors 0.2 to 10, exponent -1/8), the same
7th-degree dense output and the same terminal events (located by ``brentq`` on the dense output at 4 eps). What can
differ is rounding: numpy sums a stage with BLAS, this module in order, so the two agree to ~1e-15 relative per
step and the manifolds to far below the integration's tolerance (tests/test_saddle_path.py holds them together).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import DOP853
from scipy.optimize import brentq

__all__ = ["ManifoldSolution", "integrate_manifold"]

SAFETY = 0.9
"""scipy's step-size safety factor (scipy/integrate/_ivp/rk.py)."""
MIN_FACTOR = 0.2
"""Largest decrease of the step after a rejected one (scipy's)."""
MAX_FACTOR = 10.0
"""Largest increase of the step after an accepted one (scipy's)."""
ERROR_EXPONENT = -1.0 / (DOP853.error_estimator_order + 1)
"""-1/8: the step scales as the error norm to this power."""
EVENT_TOLERANCE = 4 * np.finfo(float).eps
"""brentq's xtol and rtol for an event's time (scipy's solve_event_equation)."""
STAGES = DOP853.n_stages

_A = [[(j, float(a)) for j, a in enumerate(row[:s]) if a != 0.0] for s, row in enumerate(DOP853.A[:STAGES])]
_C = [float(c) for c in DOP853.C[:STAGES]]
_B = [(j, float(b)) for j, b in enumerate(DOP853.B) if b != 0.0]
_E3 = [(j, float(e)) for j, e in enumerate(DOP853.E3) if e != 0.0]
_E5 = [(j, float(e)) for j, e in enumerate(DOP853.E5) if e != 0.0]
_A_EXTRA = [[(j, float(a)) for j, a in enumerate(row[: STAGES + 1 + i]) if a != 0.0]
            for i, row in enumerate(DOP853.A_EXTRA)]
_C_EXTRA = [float(c) for c in DOP853.C_EXTRA]
_D = [[(j, float(d)) for j, d in enumerate(row) if d != 0.0] for row in DOP853.D]

Rhs = Callable[[float, float], tuple[float, float]]
"""(A, R) -> (dA/ds, dR/ds): the autonomous right-hand side on floats."""


@dataclass(frozen=True, eq=False)
class ManifoldSolution:
    """The dense output of :func:`integrate_manifold`, called like scipy's ``OdeSolution``: s -> (A, R), shape (2,)
    for a scalar, (2, m) for m times; a time on a step boundary is evaluated on the earlier step, as scipy does."""

    t: NDArray[np.float64]
    """Step boundaries, the last one the end (an event's time, or the bound)."""
    t_old: NDArray[np.float64]
    h: NDArray[np.float64]
    y_old: NDArray[np.float64]
    """(steps, 2): the state at each step's start."""
    coefficients: NDArray[np.float64]
    """(steps, 7, 2): each step's interpolating polynomial (scipy's Dop853DenseOutput.F)."""

    def __call__(self, time: ArrayLike) -> NDArray[np.float64]:
        s = np.asarray(time, dtype=float)
        points = np.atleast_1d(s)
        segment = np.clip(np.searchsorted(self.t, points, side="left") - 1, 0, len(self.h) - 1)
        x = ((points - self.t_old[segment]) / self.h[segment])[:, None]
        y = np.zeros((points.size, 2))
        for i in range(self.coefficients.shape[1]):
            y += self.coefficients[segment, -1 - i]
            y *= x if i % 2 == 0 else 1 - x
        y += self.y_old[segment]
        return y[0] if s.ndim == 0 else y.T


@dataclass(frozen=True, eq=False)
class ManifoldIntegration:
    """What :func:`integrate_manifold` returns: like ``solve_ivp``'s result, for what the saddle path reads."""

    success: bool
    message: str
    solution: ManifoldSolution
    end_time: float
    event_times: tuple[list[float], list[float]]
    """Times of the two terminal events (A reaches the upper end; R falls to 0); at most one is non-empty."""


def _norm_2(e0: float, e1: float) -> float:
    """numpy.linalg.norm([e0, e1]) ** 2, as scipy's DOP853 error norm takes it."""
    return math.sqrt(e0 * e0 + e1 * e1) ** 2


def _initial_step(rhs: Rhs, y0: tuple[float, float], f0: tuple[float, float], interval: float, rtol: float,
                  atol: float) -> float:
    """scipy's select_initial_step for two components (Hairer, Norsett and Wanner, Sec. II.4)."""
    scale = (atol + abs(y0[0]) * rtol, atol + abs(y0[1]) * rtol)
    d0 = math.sqrt((y0[0] / scale[0]) ** 2 + (y0[1] / scale[1]) ** 2) / math.sqrt(2)
    d1 = math.sqrt((f0[0] / scale[0]) ** 2 + (f0[1] / scale[1]) ** 2) / math.sqrt(2)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, interval)
    f1 = rhs(y0[0] + h0 * f0[0], y0[1] + h0 * f0[1])
    d2 = math.sqrt(((f1[0] - f0[0]) / scale[0]) ** 2 + ((f1[1] - f0[1]) / scale[1]) ** 2) / math.sqrt(2) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1 / (DOP853.error_estimator_order + 1))
    return min(100 * h0, h1, interval)


def stage_sum(row: list[tuple[int, float]], k0: list[float], k1: list[float]) -> tuple[float, float]:
    """sum_j a_j k_j for both components, in the order of j (the reference of :func:`_compiled_sum`)."""
    s0 = s1 = 0.0
    for j, a in row:
        s0 += k0[j] * a
        s1 += k1[j] * a
    return s0, s1


StageSum = Callable[[list[float], list[float]], tuple[float, float]]
"""(k0, k1) -> (sum_j a_j k0[j], sum_j a_j k1[j]) for one row of the tableau."""


def _compiled_sum(row: list[tuple[int, float]]) -> StageSum:
    """:func:`stage_sum` of one fixed row as one expression, ``0.0 + k0[j1] * a1 + k0[j2] * a2 + ...``: Python adds
    left to right, so the operations and their order are the loop's (the same floats, bit for bit: ``repr`` of a
    float reads back exactly), without the loop's interpretation (the hot path: ~1000 sums an integration)."""
    def terms(k: str) -> str:
        return "".join(f" + {k}[{j}] * {a!r}" for j, a in row)

    namespace: dict[str, StageSum] = {}
    exec(f"def stage_sum(k0, k1):\n    return 0.0{terms('k0')}, 0.0{terms('k1')}\n", namespace)  # noqa: S102 (tableau constants)
    return namespace["stage_sum"]


_A_SUMS = [_compiled_sum(row) for row in _A]
_B_SUM, _E3_SUM, _E5_SUM = (_compiled_sum(row) for row in (_B, _E3, _E5))
_A_EXTRA_SUMS = [_compiled_sum(row) for row in _A_EXTRA]
_D_SUMS = [_compiled_sum(row) for row in _D]


def tableau_sums() -> list[tuple[list[tuple[int, float]], StageSum]]:
    """Every row of the tableau the integration sums, with its compiled sum (tests hold each to :func:`stage_sum`)."""
    rows = [*_A, _B, _E3, _E5, *_A_EXTRA, *_D]
    sums = [*_A_SUMS, _B_SUM, _E3_SUM, _E5_SUM, *_A_EXTRA_SUMS, *_D_SUMS]
    return list(zip(rows, sums, strict=True))


def integrate_manifold(rhs: Rhs, y0: tuple[float, float], t_bound: float, upper: float, rtol: float,
                       atol: float) -> ManifoldIntegration:
    """Integrate (A, R)' = rhs(A, R) from s = 0 to ``t_bound`` with DOP853 as ``solve_ivp(..., method="DOP853",
    dense_output=True)`` does, stopping at the first terminal event: A rising through ``upper``, or R falling
    through 0."""
    t, (a, r) = 0.0, y0
    f = rhs(a, r)
    h_abs = _initial_step(rhs, (a, r), f, abs(t_bound), rtol, atol)
    g = (a - upper, r)
    ts, t_olds, hs, y_olds, polys = [t], [], [], [], []
    events: tuple[list[float], list[float]] = ([], [])
    k0 = [0.0] * (STAGES + 4)  # the stages' dA/ds
    k1 = [0.0] * (STAGES + 4)  # the stages' dR/ds
    while t < t_bound:
        min_step = 10 * abs(math.nextafter(t, math.inf) - t)  # np.nextafter's value, as a float
        h_abs = max(h_abs, min_step)
        rejected = False
        while True:
            if h_abs < min_step:
                return ManifoldIntegration(False, "Required step size is less than spacing between numbers.",
                                           _solution(ts, t_olds, hs, y_olds, polys), t, events)
            t_new = t + h_abs
            if t_new - t_bound > 0:
                t_new = t_bound
            h = t_new - t
            h_abs = abs(h)
            k0[0], k1[0] = f
            for s in range(1, STAGES):
                d0, d1 = _A_SUMS[s](k0, k1)
                k0[s], k1[s] = rhs(a + d0 * h, r + d1 * h)
            b0, b1 = _B_SUM(k0, k1)
            a_new, r_new = a + h * b0, r + h * b1
            f_new = rhs(a_new, r_new)
            k0[STAGES], k1[STAGES] = f_new
            scale0 = atol + max(abs(a), abs(a_new)) * rtol
            scale1 = atol + max(abs(r), abs(r_new)) * rtol
            e5 = _E5_SUM(k0, k1)
            e3 = _E3_SUM(k0, k1)
            e5_2 = _norm_2(e5[0] / scale0, e5[1] / scale1)
            e3_2 = _norm_2(e3[0] / scale0, e3[1] / scale1)
            error = 0.0 if e5_2 == 0 and e3_2 == 0 else abs(h) * e5_2 / math.sqrt((e5_2 + 0.01 * e3_2) * 2)
            if error < 1:
                factor = MAX_FACTOR if error == 0 else min(MAX_FACTOR, SAFETY * error**ERROR_EXPONENT)
                h_abs *= min(1.0, factor) if rejected else factor
                break
            h_abs *= max(MIN_FACTOR, SAFETY * error**ERROR_EXPONENT)
            rejected = True
        # the dense output of the step (scipy's DOP853._dense_output_impl)
        for i, extra_sum in enumerate(_A_EXTRA_SUMS):
            d0, d1 = extra_sum(k0, k1)
            k0[STAGES + 1 + i], k1[STAGES + 1 + i] = rhs(a + d0 * h, r + d1 * h)
        delta = (a_new - a, r_new - r)
        poly = [delta, (h * f[0] - delta[0], h * f[1] - delta[1]),
                (2 * delta[0] - h * (f_new[0] + f[0]), 2 * delta[1] - h * (f_new[1] + f[1]))]
        for d_sum in _D_SUMS:
            d0, d1 = d_sum(k0, k1)
            poly.append((h * d0, h * d1))
        t_olds.append(t)
        hs.append(t_new - t)
        y_olds.append((a, r))
        polys.append(poly)
        g_new = (a_new - upper, r_new)
        active = [i for i, up in ((0, True), (1, False))
                  if (g[i] <= 0 <= g_new[i] if up else g[i] >= 0 >= g_new[i])]
        if active:
            step = _segment(t, t_new - t, (a, r), poly)
            roots = [float(brentq(lambda s, i=i: step(s)[i] - (upper if i == 0 else 0.0), t, t_new,
                                  xtol=EVENT_TOLERANCE, rtol=EVENT_TOLERANCE)) for i in active]
            first = int(np.argsort(roots)[0])
            events[active[first]].append(roots[first])
            ts.append(roots[first])
            return ManifoldIntegration(True, "A termination event occurred.", _solution(ts, t_olds, hs, y_olds, polys),
                                       roots[first], events)
        ts.append(t_new)
        t, a, r, f, g = t_new, a_new, r_new, f_new, g_new
    return ManifoldIntegration(True, "The solver successfully reached the end of the integration interval.",
                               _solution(ts, t_olds, hs, y_olds, polys), t, events)


def _segment(t_old: float, h: float, y_old: tuple[float, float],
             poly: list[tuple[float, float]]) -> Callable[[float], tuple[float, float]]:
    """One step's interpolant on floats (scipy's Dop853DenseOutput for a scalar time)."""

    def evaluate(s: float) -> tuple[float, float]:
        x = (s - t_old) / h
        y0 = y1 = 0.0
        for i, (c0, c1) in enumerate(reversed(poly)):
            y0 += c0
            y1 += c1
            w = x if i % 2 == 0 else 1 - x
            y0 *= w
            y1 *= w
        return y0 + y_old[0], y1 + y_old[1]

    return evaluate


def _solution(ts: list[float], t_olds: list[float], hs: list[float], y_olds: list[tuple[float, float]],
              polys: list[list[tuple[float, float]]]) -> ManifoldSolution:
    return ManifoldSolution(t=np.array(ts), t_old=np.array(t_olds), h=np.array(hs), y_old=np.array(y_olds).reshape(-1, 2),
                            coefficients=np.array(polys).reshape(-1, 7, 2))
