"""The saddle path of the planner's problem: eigenvalue, linear approximation, nonlinear stable manifold.

Canonical system of the continuous problem (Eqs. 1-2), current-value Hamiltonian

    H = B(A) + C(A0 - A) - (tau0 + tau1 R) R - lambda R,

with lambda the current-value shadow price of a unit of UNCONVERTED land (yuan/ha). Sign convention: one more
hectare of unconverted land, with the land base A0 fixed, is one hectare less of forest, so lambda is minus
what that forest hectare is worth at the margin; on a planting path (R > 0) dH/dR = 0 gives

    lambda = -(tau0 + 2 tau1 R)   (minus the marginal planting cost),   R = max(0, -(lambda + tau0) / (2 tau1)),

and the costate equation d lambda/dt = r lambda - dH/dA reads

    d lambda/dt = r lambda - (B'(A) - C'(A0 - A)) = r lambda + P(A),   P(A) = C'(A0 - A) - B'(A).

At rest (R -> 0, lambda = -tau0) this is P(A*) = r tau0, Eq. 3 (:mod:`afforest.model.steady_state`). As lambda
is affine in R, the system is written here in (A, R): with g(A) = P(A) - r tau0,

    dA/dt = -R,      dR/dt = r R - g(A) / (2 tau1).

Its Jacobian at a root has eigenvalues mu = (r -/+ sqrt(r^2 + 2 g'(A*) / tau1)) / 2; the stable one (mu < 0
when g'(A*) > 0) has eigenvector (dA, dR) = (1, -mu), i.e. (dA, d lambda) = (1, 2 tau1 mu), so near the root
R = -mu (A - A*) and A(t) = A* + (A(0) - A*) e^{mu t}. The nonlinear stable manifold (the policy R(A)) is
traced by integrating the system backwards in time from a small step off the root along that eigenvector.

Along any extremal converging to a steady state the value is V = H / r (Michel 1982), and on the manifold
H = B + C + tau1 R^2, so of two candidate paths from the same start the one planting faster is worth more;
at rest (R = 0, lambda = -P/r) the value is (B + C)/r. Planting is irreversible (R >= 0): a start A with
g(A) <= 0 may rest, and the path of the lowest stable root extended upward may meet R = 0 at some A_top inside
(A2, A3) of a three-root g: from A_top the planner is indifferent between resting and the push down to the
low root (both values (B + C)/r), the Skiba point of this problem (:func:`indifference_start`).

Units: areas in 10^4 ha, rates in 10^4 ha/yr, ESV in yuan/(ha yr), costs and lambda in yuan/ha, values in
10^4 yuan (10^4 ha x yuan/ha).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import math
from typing import Any

import numpy as np
import pandas as pd
from afforest.data import LandUseParameters
from afforest.errors import InputError
from afforest.model.manifold_ode import integrate_manifold
from afforest.model.steady_state import Stability, net_marginal_gain, steady_state_roots
from afforest.model.value_cache import ValueCache
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

__all__ = [
    "MANIFOLD_RTOL",
    "MANIFOLD_START_OFFSET_FRACTION",
    "PathGap",
    "SaddlePath",
    "StartOutcome",
    "backward_rhs",
    "canonical_rhs",
    "clear_paths_cache",
    "ContinuationTarget",
    "continuation_is_concave",
    "continuation_premium",
    "continuation_target",
    "indifference_start",
    "optimal_start_outcome",
    "path_value_10k_yuan",
    "rest_value_10k_yuan",
    "saddle_eigenvalue_per_yr",
    "saddle_path_gap",
    "saddle_path_summary",
    "saddle_paths",
]

MANIFOLD_START_OFFSET_FRACTION = 1e-7
"""Step off the root along the stable eigenvector, as a fraction of A0: the linear start misplaces the manifold
by O(step^2) (about 1e-9 x 10^4 ha at A0 = 500), and the backward integration contracts that error further."""
MANIFOLD_RTOL = 1e-12
"""Relative tolerance of the manifold's integration (the linear closed forms are reproduced to ~1e-10)."""
MANIFOLD_ATOL_FRACTION = 1e-14
"""Absolute tolerance of the integration, as a fraction of A0 (areas) or A0 / yr (rates)."""
ROOT_MATCH_FRACTION = 1e-12
"""An area this close to A* (relative) is the root itself (the bisected roots carry ~1e-15 relative error)."""
MAX_MANIFOLD_TIME_CONSTANTS = 200.0
"""Backward integration stops after this many 1/|mu| (the manifold then lies far outside [0, A0])."""


def _tau0(params: LandUseParameters, planting_cost_intercept_yuan_per_ha: float | None) -> float:
    tau0 = params.planting_cost_intercept_yuan_per_ha if planting_cost_intercept_yuan_per_ha is None else float(
        planting_cost_intercept_yuan_per_ha)
    if not np.isfinite(tau0):
        raise InputError("must be finite", field="planting_cost_intercept_yuan_per_ha", value=tau0)
    return tau0


def _tau1(params: LandUseParameters) -> float:
    tau1 = params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
    if tau1 <= 0:
        raise InputError("must be > 0: with a constant marginal cost there is no saddle path (planting is bang-bang)",
                         field="planting_cost_slope_yuan_per_ha_per_10k_ha_yr", value=tau1)
    return tau1


def _net_gain(params: LandUseParameters, tau0: float) -> np.polynomial.Polynomial:
    """g(A) = P(A) - r tau0, yuan/(ha yr)."""
    return net_marginal_gain(params) - params.financial_discount_rate * tau0


def canonical_rhs(
    params: LandUseParameters, planting_cost_intercept_yuan_per_ha: float | None = None
) -> Callable[[float, NDArray[np.float64]], NDArray[np.float64]]:
    """f(t, [A, R]) = [-R, r R - g(A) / (2 tau1)]: the canonical system in (A, R), 10^4 ha/yr and 10^4 ha/yr^2."""
    g = _net_gain(params, _tau0(params, planting_cost_intercept_yuan_per_ha))
    r, tau1 = params.financial_discount_rate, _tau1(params)

    def rhs(_t: float, y: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.array([-y[1], r * y[1] - g(y[0]) / (2.0 * tau1)])

    return rhs


def backward_rhs(params: LandUseParameters, tau0: float) -> Callable[[float, float], tuple[float, float]]:
    """-f of :func:`canonical_rhs` (the system in backward time) on floats, (A, R) -> (dA/ds, dR/ds), bit for bit:
    g by Horner's rule in the same operations and order as ``Polynomial.__call__`` (whose default domain maps x to
    0 + 1 x = x), several times cheaper per call than the array polynomial (the integration makes ~800 calls)."""
    g = _net_gain(params, tau0)
    r, tau1 = params.financial_discount_rate, _tau1(params)
    two_tau1 = 2.0 * tau1
    if not (np.array_equal(g.domain, g.window) and np.array_equal(g.domain, [-1.0, 1.0])):
        def general(area: float, rate: float) -> tuple[float, float]:
            return rate, -(r * rate - float(g(area)) / two_tau1)

        return general
    lead, *rest = [float(c) for c in g.coef[::-1]]  # highest degree first

    def backward(area: float, rate: float) -> tuple[float, float]:
        value = lead + area * 0
        for c in rest:
            value = c + value * area
        return rate, -(r * rate - value / two_tau1)

    constants = [lead, *rest, float(r), two_tau1]
    if not all(math.isfinite(c) for c in constants):
        return backward
    # the same Horner steps as one expression with the constants written in (repr reads a float back exactly):
    # the same operations in the same order, so the same floats, without the loop (~800 calls an integration)
    value = f"({lead!r} + area * 0)"
    for c in rest:
        value = f"({c!r} + {value} * area)"
    namespace: dict[str, Callable[[float, float], tuple[float, float]]] = {}
    exec(f"def backward(area, rate):\n    return rate, -({float(r)!r} * rate - {value} / {two_tau1!r})\n",  # noqa: S102
         namespace)
    return namespace["backward"]


def saddle_eigenvalue_per_yr(params: LandUseParameters, net_gain_slope: float) -> float:
    """Stable eigenvalue mu = (r - sqrt(r^2 + 2 g'(A*) / tau1)) / 2 of the linearised system, 1/yr (< 0 iff g' > 0).

    ``net_gain_slope``: g'(A*), yuan/(ha yr) per 10^4 ha (``SteadyStateRoot.net_gain_slope``).
    """
    r, tau1 = params.financial_discount_rate, _tau1(params)
    disc = r * r + 2.0 * net_gain_slope / tau1
    if net_gain_slope <= 0:
        raise InputError("the root is not saddle-path stable (g'(A*) <= 0): no stable eigenvalue",
                         field="net_gain_slope", value=net_gain_slope)
    return 0.5 * (r - float(np.sqrt(disc)))


@dataclass(frozen=True)
class SaddlePath:
    """The stable manifold of one saddle-path stable root, on the side A > A* where R > 0.

    ``manifold`` is the DOP853 dense output (:mod:`afforest.model.manifold_ode`) in backward time s (s = 0 at A* + step; A rises with s), so the
    forward time from a start on the manifold to a point on it is s(start) - s(point).
    """

    steady_state_10k_ha: float
    """A*, unconverted land at the root."""
    saddle_eigenvalue_per_yr: float
    """mu < 0, the stable eigenvalue: the path closes the gap A - A* at the rate |mu| per year near the root."""
    unstable_eigenvalue_per_yr: float
    """r - mu > 0, the other eigenvalue."""
    costate_eigenvector_yuan_per_ha_per_10k_ha: float
    """d lambda / dA along the stable eigenvector, 2 tau1 mu (the eigenvector is (1, 2 tau1 mu) in (A, lambda))."""
    net_gain_slope: float
    """g'(A*), yuan/(ha yr) per 10^4 ha."""
    step_10k_ha: float
    """Offset off the root where the integration starts (the linear approximation holds below it)."""
    upper_end_10k_ha: float
    """Largest A the manifold reaches: the upper limit asked for, or where its R falls back to 0."""
    ends_at_zero_rate: bool
    """True when the manifold meets R = 0 at ``upper_end_10k_ha`` (the lowest root of a three-root g)."""
    planting_cost_intercept_yuan_per_ha: float
    planting_cost_slope_yuan_per_ha_per_10k_ha_yr: float
    manifold: Any
    """The dense output of (A, R) in backward time s, yr, called like scipy's OdeSolution
    (:class:`afforest.model.manifold_ode.ManifoldSolution`)."""
    end_time_yr: float
    """s at ``upper_end_10k_ha``."""
    backward_times: dict[float, float] = field(default_factory=dict, compare=False, repr=False)
    """A -> s already found by :meth:`_backward_time_of` (its root-finding is the same for the same A: the value and
    the time path from one start ask for it twice)."""

    def _backward_time_of(self, area_10k_ha: float) -> float:
        """s at which the manifold passes A (A* + step <= A <= upper end)."""
        known = self.backward_times.get(area_10k_ha)
        if known is None:
            known = self.backward_times[area_10k_ha] = self._find_backward_time(area_10k_ha)
        return known

    def _find_backward_time(self, area_10k_ha: float) -> float:
        if area_10k_ha <= self.steady_state_10k_ha + self.step_10k_ha:
            gap = area_10k_ha - self.steady_state_10k_ha
            return float(np.log(gap / self.step_10k_ha) / -self.saddle_eigenvalue_per_yr) if gap > 0 else -np.inf
        if area_10k_ha >= self.manifold(self.end_time_yr)[0]:  # the event's location is exact only to its tolerance
            return self.end_time_yr
        return float(brentq(lambda s: self.manifold(s)[0] - area_10k_ha, 0.0, self.end_time_yr, xtol=1e-13, rtol=1e-15))

    def covers(self, area_10k_ha: float) -> bool:
        """True when A lies on the planting side of the manifold, A* < A <= upper end."""
        return self.steady_state_10k_ha < area_10k_ha <= self.upper_end_10k_ha * (1 + 1e-12)

    def policy(self, area_10k_ha: ArrayLike) -> NDArray[np.float64]:
        """R(A), 10^4 ha/yr, on the manifold; NaN outside (A*, upper end]."""
        areas = np.atleast_1d(np.asarray(area_10k_ha, float))
        out = np.full(areas.shape, np.nan)
        for i, a in enumerate(areas):
            if abs(a - self.steady_state_10k_ha) <= ROOT_MATCH_FRACTION * max(1.0, self.steady_state_10k_ha):
                out[i] = 0.0
            elif self.covers(float(a)):
                s = self._backward_time_of(float(min(a, self.upper_end_10k_ha)))
                out[i] = (-self.saddle_eigenvalue_per_yr * (a - self.steady_state_10k_ha) if s <= 0
                          else float(self.manifold(s)[1]))
        return out

    def linear_policy(self, area_10k_ha: ArrayLike) -> NDArray[np.float64]:
        """The linear approximation R = -mu (A - A*), 10^4 ha/yr."""
        return -self.saddle_eigenvalue_per_yr * (np.asarray(area_10k_ha, float) - self.steady_state_10k_ha)

    def costate_yuan_per_ha(self, planting_rate_10k_ha_per_yr: ArrayLike) -> NDArray[np.float64]:
        """lambda = -(tau0 + 2 tau1 R), yuan/ha: the current-value shadow price of unconverted land."""
        return -(self.planting_cost_intercept_yuan_per_ha
                 + 2.0 * self.planting_cost_slope_yuan_per_ha_per_10k_ha_yr * np.asarray(planting_rate_10k_ha_per_yr, float))

    def curve(self, points: int = 400) -> pd.DataFrame:
        """The manifold sampled in A from A* to its upper end: ``unconverted_area_10k_ha``,
        ``planting_rate_10k_ha_per_yr``, ``costate_yuan_per_ha`` (sampled in time, so the turn at R = 0 is kept)."""
        near = np.linspace(0.0, self.step_10k_ha, 3)
        s = np.linspace(0.0, self.end_time_yr, points)
        y = self.manifold(s)
        area = np.r_[self.steady_state_10k_ha + near[:-1], y[0]]
        rate = np.r_[-self.saddle_eigenvalue_per_yr * near[:-1], y[1]]
        return pd.DataFrame({"unconverted_area_10k_ha": area, "planting_rate_10k_ha_per_yr": rate,
                             "costate_yuan_per_ha": self.costate_yuan_per_ha(rate)})

    def time_path(self, start_area_10k_ha: float, time_yr: ArrayLike) -> pd.DataFrame:
        """The optimal path from a start on the manifold: A(t), R(t) and lambda(t) at the given times (yr >= 0)."""
        t = np.asarray(time_yr, float)
        area, rate = self.time_path_arrays(start_area_10k_ha, t)
        return pd.DataFrame({"time_yr": t, "unconverted_area_10k_ha": area, "planting_rate_10k_ha_per_yr": rate,
                             "costate_yuan_per_ha": self.costate_yuan_per_ha(rate)})

    def time_path_arrays(self, start_area_10k_ha: float,
                         time_yr: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(A(t), R(t)) of :meth:`time_path`, without the table."""
        if not self.covers(start_area_10k_ha):
            raise InputError(f"is not on this manifold (A* = {self.steady_state_10k_ha:.6g}, upper end "
                             f"{self.upper_end_10k_ha:.6g})", field="start_area_10k_ha", value=start_area_10k_ha)
        t = np.asarray(time_yr, float)
        s_start = self._backward_time_of(start_area_10k_ha)
        s = s_start - t
        mu = self.saddle_eigenvalue_per_yr
        # below the step (s < 0) and for a start inside it, the linear law is the manifold to O(step^2)
        base = self.step_10k_ha if s_start > 0 else start_area_10k_ha - self.steady_state_10k_ha
        lin_t = np.where(s_start > 0, -s, t)
        gap = base * np.exp(mu * np.maximum(lin_t, 0.0))
        area = self.steady_state_10k_ha + gap
        rate = -mu * gap
        inside = s > 0
        if s_start > 0 and inside.any():
            y = self.manifold(s[inside])
            area[inside], rate[inside] = y[0], y[1]
        return area, rate

    def linear_time_path(self, start_area_10k_ha: float, time_yr: ArrayLike) -> pd.DataFrame:
        """The linear approximation A(t) = A* + (A(0) - A*) e^{mu t}, R(t) = -mu (A(0) - A*) e^{mu t}."""
        t = np.asarray(time_yr, float)
        gap = (start_area_10k_ha - self.steady_state_10k_ha) * np.exp(self.saddle_eigenvalue_per_yr * t)
        return pd.DataFrame({"time_yr": t, "unconverted_area_10k_ha": self.steady_state_10k_ha + gap,
                             "planting_rate_10k_ha_per_yr": -self.saddle_eigenvalue_per_yr * gap})


def _trace_manifold(params: LandUseParameters, tau0: float, root_10k_ha: float, slope: float,
                    upper_10k_ha: float) -> SaddlePath:
    mu = saddle_eigenvalue_per_yr(params, slope)
    tau1 = _tau1(params)
    scale = params.initial_area_10k_ha
    step = MANIFOLD_START_OFFSET_FRACTION * scale
    backward = backward_rhs(params, tau0)
    if upper_10k_ha <= root_10k_ha + step:
        raise InputError("must lie above the root plus the manifold's start step", field="upper_10k_ha", value=upper_10k_ha)
    sol = integrate_manifold(backward, (root_10k_ha + step, -mu * step), MAX_MANIFOLD_TIME_CONSTANTS / -mu,
                             upper_10k_ha, MANIFOLD_RTOL, MANIFOLD_ATOL_FRACTION * scale)
    if not sol.success:
        raise InputError(f"the stable manifold could not be traced: {sol.message}", field="steady_state_10k_ha",
                         value=root_10k_ha)
    hit_upper, hit_zero = (len(e) > 0 for e in sol.event_times)
    end = sol.end_time
    y_end = sol.solution(end)
    return SaddlePath(
        steady_state_10k_ha=root_10k_ha, saddle_eigenvalue_per_yr=mu, unstable_eigenvalue_per_yr=params.financial_discount_rate - mu,
        costate_eigenvector_yuan_per_ha_per_10k_ha=2.0 * tau1 * mu, net_gain_slope=slope, step_10k_ha=step,
        upper_end_10k_ha=upper_10k_ha if hit_upper else float(y_end[0]), ends_at_zero_rate=hit_zero and not hit_upper,
        planting_cost_intercept_yuan_per_ha=tau0, planting_cost_slope_yuan_per_ha_per_10k_ha_yr=tau1,
        manifold=sol.solution, end_time_yr=end,
    )


def saddle_paths(params: LandUseParameters, planting_cost_intercept_yuan_per_ha: float | None = None,
                 upper_10k_ha: float | None = None) -> list[SaddlePath]:
    """The stable manifold of every saddle-path stable root of Eq. 3, ascending in A*, each traced from its root up
    to ``upper_10k_ha`` (default A0) or to where its R falls back to zero."""
    tau0 = _tau0(params, planting_cost_intercept_yuan_per_ha)
    upper = params.initial_area_10k_ha if upper_10k_ha is None else float(upper_10k_ha)

    def trace() -> tuple[SaddlePath, ...]:
        roots = steady_state_roots(params, planting_cost_intercept_yuan_per_ha=tau0)
        return tuple(_trace_manifold(params, tau0, root.unconverted_area_10k_ha, root.net_gain_slope, upper)
                     for root in roots if root.stability is Stability.SADDLE and root.unconverted_area_10k_ha < upper)

    return list(_paths_cache.get((params, tau0, upper), trace))


PATHS_CACHE_SIZE = 64
"""Entries of :func:`saddle_paths`' per-process cache, keyed by value (the frozen parameters, tau(0), the upper
end): the manifolds are the same for the same ODE, and a sensitivity design repeats the curves' parameters
whenever only inputs they do not read change (the classes' ESV, carbon). A manifold's dense output is ~50 steps of
7 x 2 coefficients (~10 kB), so the cache holds < 1 MB, as many entries as the roots cache of model/steady_state.py."""
_paths_cache: ValueCache[tuple[SaddlePath, ...]] = ValueCache(PATHS_CACHE_SIZE)


def clear_paths_cache() -> None:
    """Forget the cached manifolds (tests compare cached and uncached answers)."""
    _paths_cache.clear()


def rest_value_10k_yuan(params: LandUseParameters, area_10k_ha: float) -> float:
    """(B(A) + C(A0 - A)) / r, 10^4 yuan: the value of resting at A forever (nothing planted)."""
    b = params.unconverted_marginal_esv.integ()
    c = params.afforested_marginal_esv.integ()
    return float(b(area_10k_ha) + c(params.initial_area_10k_ha - area_10k_ha)) / params.financial_discount_rate


def path_value_10k_yuan(params: LandUseParameters, path: SaddlePath, start_area_10k_ha: float) -> float:
    """V = H / r = (B + C + tau1 R^2) / r at the start, 10^4 yuan: the value of following ``path`` from the start."""
    rate = float(path.policy(start_area_10k_ha)[0])
    return rest_value_10k_yuan(params, start_area_10k_ha) + path.planting_cost_slope_yuan_per_ha_per_10k_ha_yr * rate**2 / (
        params.financial_discount_rate)


@dataclass(frozen=True)
class StartOutcome:
    """Where the optimal path from a start goes (:func:`optimal_start_outcome`)."""

    start_area_10k_ha: float
    long_run_area_10k_ha: float
    """Unconverted land in the long run: the root reached, or the start itself when the planner rests."""
    path: SaddlePath | None
    """The manifold followed (None: nothing is planted)."""
    value_10k_yuan: float
    candidates: dict[float, float]
    """Value (10^4 yuan) of each candidate, keyed by its long-run area (the start itself for resting)."""


def optimal_start_outcome(params: LandUseParameters, start_area_10k_ha: float, paths: list[SaddlePath] | None = None,
                          planting_cost_intercept_yuan_per_ha: float | None = None) -> StartOutcome:
    """The optimal path from A(0) = start (the land base A0 of C(A0 - A) fixed): the candidate extremals are the
    manifolds through the start (R > 0) and, where g(start) <= 0, resting; the best has the largest V = H / r."""
    if not 0.0 <= start_area_10k_ha <= params.initial_area_10k_ha:
        raise InputError(f"must lie in [0, A0 = {params.initial_area_10k_ha:g}]", field="start_area_10k_ha",
                         value=start_area_10k_ha)
    tau0 = _tau0(params, planting_cost_intercept_yuan_per_ha)
    paths = saddle_paths(params, tau0) if paths is None else paths
    candidates: dict[float, tuple[float, SaddlePath | None]] = {}
    for path in paths:
        if path.covers(start_area_10k_ha):
            candidates[path.steady_state_10k_ha] = (path_value_10k_yuan(params, path, start_area_10k_ha), path)
    if _net_gain(params, tau0)(start_area_10k_ha) <= 0:
        candidates.setdefault(start_area_10k_ha, (rest_value_10k_yuan(params, start_area_10k_ha), None))
    elif not candidates:  # g > 0 at the start and no manifold through it: the path heads for the corner A = 0
        raise InputError("planting pays at the start but no saddle-path stable root lies below it (the optimum "
                         "heads for the corner A = 0, which this module does not trace)", field="start_area_10k_ha",
                         value=start_area_10k_ha)
    best = max(candidates, key=lambda key: candidates[key][0])
    return StartOutcome(start_area_10k_ha=start_area_10k_ha, long_run_area_10k_ha=best, path=candidates[best][1],
                        value_10k_yuan=candidates[best][0], candidates={k: v for k, (v, _) in candidates.items()})


@dataclass(frozen=True)
class ContinuationTarget:
    """Where the optimal path from A0 heads (:func:`continuation_target`): the curves model's ``saddle_path``
    terminal value continues along this root's saddle path after T."""

    steady_state_10k_ha: float
    """A*; A0 when no saddle path leads from A0 (then the terminal value is ``rest``)."""
    saddle_eigenvalue_per_yr: float
    """mu < 0; 0.0 for ``rest``."""
    net_gain_slope: float
    """g'(A*), yuan/(ha yr) per 10^4 ha; 0.0 for ``rest``."""


def continuation_target(params: LandUseParameters, planting_cost_intercept_yuan_per_ha: float | None = None,
                        start_area_10k_ha: float | None = None) -> ContinuationTarget:
    """The steady state the optimal path from the start (default A0) heads for, its stable eigenvalue and g'(A*), for
    the curves model's ``saddle_path`` terminal value (:class:`afforest.model.problem.TerminalValue`).

    Only where Eq. 3 has a single root, saddle-path stable and below the start, with planting paying at the start;
    else the start with mu = g' = 0, i.e. the ``rest`` closure. With several roots the quadratic continuation value,
    right near its root, overstates what lies across the unstable root (where the planner would rest, or head for
    another root): measured on a three-root problem, it drew the program from A = 500 down to 66 instead of the
    root 400. There the program makes its own choice under ``rest``, with a horizon long enough to converge.
    """
    start = params.initial_area_10k_ha if start_area_10k_ha is None else float(start_area_10k_ha)
    rest = ContinuationTarget(start, 0.0, 0.0)
    if params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr <= 0:
        return rest
    tau0 = _tau0(params, planting_cost_intercept_yuan_per_ha)
    roots = steady_state_roots(params, planting_cost_intercept_yuan_per_ha=tau0)
    if len(roots) != 1:
        return rest
    (root,) = roots
    if (root.stability is not Stability.SADDLE or not root.unconverted_area_10k_ha < start
            or not _net_gain(params, tau0)(start) > 0):
        return rest
    return ContinuationTarget(root.unconverted_area_10k_ha, saddle_eigenvalue_per_yr(params, root.net_gain_slope),
                              root.net_gain_slope)


def continuation_is_concave(params: LandUseParameters, premium_yuan_per_ha_per_10k_ha: float) -> bool:
    """Whether the continuation value (B + C)(A) / r + p (A - A*)^2 is concave on [0, A0]: g'(A) >= 2 p r there
    (g' = -(B + C)''). Linear B', C' always are (2 p r -> 2 tau1 mu^2 = 2 tau1 r mu + g' < g'); where it is not,
    the convex premium can pay for crossing A*, and the curves model bounds A_N below at A*."""
    slope = net_marginal_gain(params).deriv()
    a0 = params.initial_area_10k_ha
    candidates = [0.0, a0] + [float(x.real) for x in slope.deriv().roots() if abs(x.imag) < 1e-12 and 0.0 < x.real < a0]
    return min(float(slope(x)) for x in candidates) >= 2.0 * premium_yuan_per_ha_per_10k_ha * params.financial_discount_rate


def continuation_premium(net_gain_slope: float, rate: float, tau1: float, step_yr: float | None = None) -> float:
    """p in V(A) = (B + C)(A) / r + p (A - A*)^2, yuan/ha per 10^4 ha (current value): what continuing along the
    saddle path adds to resting at A, to second order in A - A* (exact for linear B', C').

    ``step_yr`` None: the continuous problem's p = tau1 mu^2 / r. A step dt: the discrete program's own (integrated
    discounting), from its Bellman equation V(A) = max_u [-tau0 u - tau1 u^2 / dt + (B + C)(A - u) / r
    + e^{-r dt} p (A - u - A*)^2]: with G = g'(A*) and d = e^{-r dt}, 4 d p^2 - b p + G^2 / r^2 = 0,
    b = 4 d G / r + 4 (1 - d) (tau1 / dt + G / (2 r)); its smaller root, which tends to tau1 mu^2 / r as dt -> 0.
    """
    if net_gain_slope <= 0 or tau1 <= 0:
        return 0.0
    g = net_gain_slope
    if step_yr is None:
        mu = 0.5 * (rate - float(np.sqrt(rate * rate + 2.0 * g / tau1)))
        return tau1 * mu * mu / rate
    d = float(np.exp(-rate * step_yr))
    one_minus_d = float(-np.expm1(-rate * step_yr))
    b = 4.0 * d * g / rate + 4.0 * one_minus_d * (tau1 / step_yr + g / (2.0 * rate))
    c = (g / rate) ** 2
    return float(2.0 * c / (b + np.sqrt(max(b * b - 16.0 * d * c, 0.0))))  # the smaller root, without cancellation


def indifference_start(paths: list[SaddlePath]) -> float | None:
    """The Skiba point, 10^4 ha: the start from which resting and planting down to a lower root are worth the same
    (the upper end of a manifold that falls back to R = 0, where V = (B + C)/r on both); None if no manifold does."""
    ends = [p.upper_end_10k_ha for p in paths if p.ends_at_zero_rate]
    return min(ends) if ends else None


@dataclass(frozen=True)
class PathGap:
    """Gap between a numerical path and the manifold's path from the same start, per period and at most."""

    columns: dict[str, NDArray[np.float64]]
    """The columns of :attr:`table`, which is built from them when read (the chain reads only the maxima)."""
    max_area_gap_10k_ha: float
    max_rate_gap_10k_ha_per_yr: float

    @property
    def table(self) -> pd.DataFrame:
        """Per period: ``period_start_yr``, ``period_end_yr``, numerical and exact area at the period's end, the
        numerical rate and the exact average rate over the period, and their differences (``area_gap_10k_ha``,
        ``rate_gap_10k_ha_per_yr``)."""
        return pd.DataFrame(self.columns)


_PATH_COLUMNS = ("period_start_yr", "planting_rate_10k_ha_per_yr", "unconverted_area_10k_ha")


def saddle_path_gap(path_table: pd.DataFrame, saddle: SaddlePath | None, start_area_10k_ha: float) -> PathGap:
    """Compare a discrete path (the ``planting_path`` table; row k holds A at the END of period k and the rate
    R_k over the period) with the continuous optimum from the same start: A_{k+1} against A(t_k + dt), R_k against
    the exact average rate (A(t_k) - A(t_k + dt)) / dt. ``saddle`` None: the optimum rests at the start."""
    missing = [c for c in _PATH_COLUMNS if c not in path_table.columns]
    if missing:
        raise InputError("the path table lacks columns", field="path", value=missing)
    start = path_table["period_start_yr"].to_numpy(float)
    if start.size == 0:
        raise InputError("has no periods", field="path", value=0)
    step = np.diff(start)
    step_yr = float(step[0]) if step.size else float("nan")
    if step.size and not np.allclose(step, step_yr, rtol=1e-9, atol=0.0):
        raise InputError("periods must be of equal length", field="period_start_yr", value=float(step.max()))
    if not step.size:
        raise InputError("needs at least two periods to know the step", field="path", value=1)
    end = start + step_yr
    if saddle is None:
        a_start = a_end = np.full(start.size, start_area_10k_ha)
    else:
        both = saddle.time_path_arrays(start_area_10k_ha, np.r_[start, end[-1]])[0]
        a_start, a_end = both[:-1], both[1:]
    exact_rate = (a_start - a_end) / step_yr
    num_area = path_table["unconverted_area_10k_ha"].to_numpy(float)
    num_rate = path_table["planting_rate_10k_ha_per_yr"].to_numpy(float)
    columns = {
        "period_start_yr": start, "period_end_yr": end,
        "unconverted_area_10k_ha": num_area, "exact_unconverted_area_10k_ha": a_end,
        "planting_rate_10k_ha_per_yr": num_rate, "exact_average_rate_10k_ha_per_yr": exact_rate,
        "area_gap_10k_ha": num_area - a_end, "rate_gap_10k_ha_per_yr": num_rate - exact_rate,
    }
    return PathGap(columns=columns, max_area_gap_10k_ha=_max_abs(columns["area_gap_10k_ha"]),
                   max_rate_gap_10k_ha_per_yr=_max_abs(columns["rate_gap_10k_ha_per_yr"]))


def _max_abs(values: NDArray[np.float64]) -> float:
    """max |x| skipping NaN, NaN when nothing is left (as ``pandas.Series.abs().max()``)."""
    finite = np.abs(values[~np.isnan(values)])
    return float(finite.max()) if finite.size else float("nan")


def saddle_path_summary(params: LandUseParameters, planting_cost_intercept_yuan_per_ha: float | None,
                        path: pd.DataFrame | None = None, start_area_10k_ha: float | None = None) -> dict[str, Any]:
    """Plain data for ``solve --json``: the optimum from the start (default A0), its ``saddle_eigenvalue_per_yr``
    (None when nothing is planted) and, given a numerical ``path``, ``saddle_path_max_gap_10k_ha`` and
    ``saddle_path_max_rate_gap_10k_ha_per_yr``. Toward the corner A = 0 (no root below the start) the numbers are None
    and ``saddle_path_note`` says why."""
    start = params.initial_area_10k_ha if start_area_10k_ha is None else float(start_area_10k_ha)
    try:
        outcome = optimal_start_outcome(params, start, planting_cost_intercept_yuan_per_ha=planting_cost_intercept_yuan_per_ha)
    except InputError as exc:
        if exc.field != "start_area_10k_ha" or not 0.0 <= start <= params.initial_area_10k_ha:
            raise
        return {"start_area_10k_ha": start, "long_run_unconverted_area_10k_ha": None, "saddle_eigenvalue_per_yr": None,
                "saddle_path_max_gap_10k_ha": None, "saddle_path_max_rate_gap_10k_ha_per_yr": None,
                "saddle_path_note": exc.reason}
    summary: dict[str, Any] = {
        "start_area_10k_ha": start,
        "long_run_unconverted_area_10k_ha": outcome.long_run_area_10k_ha,
        "saddle_eigenvalue_per_yr": None if outcome.path is None else outcome.path.saddle_eigenvalue_per_yr,
        "saddle_path_max_gap_10k_ha": None,
        "saddle_path_max_rate_gap_10k_ha_per_yr": None,
    }
    if path is not None:
        gap = saddle_path_gap(path, outcome.path, start)
        summary["saddle_path_max_gap_10k_ha"] = gap.max_area_gap_10k_ha
        summary["saddle_path_max_rate_gap_10k_ha_per_yr"] = gap.max_rate_gap_10k_ha_per_yr
    return summary
