"""Phase diagram of the planner's problem on the (A, R) plane, with the costate lambda = -(tau0 + 2 tau1 R) on
the right-hand axis (:mod:`afforest.model.saddle_path` for the canonical system and its sign convention).

Drawn: the isoclines dA/dt = 0 (R = 0) and d lambda/dt = 0 (R = g(A) / (2 tau1 r)); the roots of Eq. 3 (filled:
saddle-path stable, open: unstable); each saddle path (the nonlinear stable manifold, solid; its linear
approximation, dashed); the starts from which the planner rests (R = 0 forever); the Skiba point if there is
one; the half-plane R < 0 that irreversible planting rules out; faint flow lines; numerical paths as points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from afforest.data import LandUseParameters
from afforest.errors import InputError
from afforest.model.saddle_path import indifference_start, optimal_start_outcome, saddle_paths
from afforest.model.steady_state import Stability, net_marginal_gain, steady_state_roots
from afforest.plots.palette import NUMERICAL_PATH_COLOURS, PHASE_STYLES

__all__ = ["plot_phase_diagram", "write_phase_diagram"]

_DPI = 130
_GRID_POINTS = 400
"""Samples of A for the isocline and the rest set."""
_RATE_HEADROOM = 1.35
"""Top of the R axis as a multiple of the largest rate drawn (room for the legend)."""
_NEGATIVE_RATE_SHOWN = 0.25
"""Depth of the shaded R < 0 band, as a fraction of the top of the R axis."""
_FLOW_DENSITY = 0.7
"""Density of the faint flow lines (matplotlib streamplot)."""
_FLOW_GRID = (60, 40)
"""Points of the flow field along A and R."""
_MIN_RATE_AXIS_10K_HA_PER_YR = 1.0
"""Smallest top of the R axis, so a problem where nothing is planted still has one."""
_POINT_SPACING_YR = 1.0
"""A numerical path is drawn with about one point per this many years (every period when dt is longer)."""
_COSTATE_AXIS_UNIT_YUAN_PER_HA = 1e3
"""The costate axis is in 10^3 yuan/ha."""


def _pyplot() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _mid_area(path: pd.DataFrame, start_area_10k_ha: float) -> np.ndarray:
    """Area at the middle of each period: the period's average rate is the policy there to O(dt^2)."""
    end = path["unconverted_area_10k_ha"].to_numpy(float)
    begin = np.r_[start_area_10k_ha, end[:-1]]
    return 0.5 * (begin + end)


def plot_phase_diagram(
    params: LandUseParameters,
    *,
    planting_cost_intercept_yuan_per_ha: float | None = None,
    numerical_paths: dict[str, tuple[float, pd.DataFrame]] | None = None,
    title: str | None = None,
    area_range_10k_ha: tuple[float, float] | None = None,
    ax: Any = None,
) -> Any:
    """The (A, R) phase diagram of ``params`` (A from 0 to A0); returns the matplotlib Figure.

    ``numerical_paths``: label -> (start A(0) in 10^4 ha, ``planting_path`` table), drawn as points at
    (mid-period area, period rate), every point when dt >= 1 yr, thinned to about one a year otherwise.
    ``area_range_10k_ha``: the A axis shown (default 0 to A0; every root is computed on [0, A0] either way).
    """
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(9.5, 6.2))
    else:
        fig = ax.figure
    tau0 = params.planting_cost_intercept_yuan_per_ha if planting_cost_intercept_yuan_per_ha is None else float(
        planting_cost_intercept_yuan_per_ha)
    r, tau1, a0 = params.financial_discount_rate, params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr, params.initial_area_10k_ha
    roots = steady_state_roots(params, planting_cost_intercept_yuan_per_ha=tau0)
    paths = saddle_paths(params, tau0)
    g = net_marginal_gain(params) - r * tau0
    lo, hi = (0.0, a0) if area_range_10k_ha is None else (float(area_range_10k_ha[0]), float(area_range_10k_ha[1]))
    if not 0.0 <= lo < hi <= a0:
        raise InputError(f"must be (low, high) with 0 <= low < high <= A0 = {a0:g}", field="area_range_10k_ha",
                         value=area_range_10k_ha)
    area = np.linspace(lo, hi, _GRID_POINTS)

    curves = [p.curve() for p in paths]
    top = max([float(c["planting_rate_10k_ha_per_yr"].max()) for c in curves] + [_MIN_RATE_AXIS_10K_HA_PER_YR])
    for _start, table in (numerical_paths or {}).values():
        top = max(top, float(table["planting_rate_10k_ha_per_yr"].max()))
    top *= _RATE_HEADROOM
    bottom = -_NEGATIVE_RATE_SHOWN * top

    ax.axhspan(bottom, 0.0, zorder=0, label="R < 0 ruled out: planting is irreversible", **PHASE_STYLES["infeasible"])
    grid_a, grid_r = np.meshgrid(np.linspace(lo, hi, _FLOW_GRID[0]), np.linspace(0.0, top, _FLOW_GRID[1]))
    ax.streamplot(grid_a, grid_r, -grid_r, r * grid_r - g(grid_a) / (2.0 * tau1), density=_FLOW_DENSITY,
                  linewidth=0.6, arrowsize=0.8, zorder=1, **PHASE_STYLES["flow"])
    ax.axhline(0.0, zorder=2, label="dA/dt = 0 isocline (R = 0)", **PHASE_STYLES["rate_isocline"])
    isocline = g(area) / (2.0 * tau1 * r)
    shown = (isocline >= bottom) & (isocline <= top)
    ax.plot(np.where(shown, area, np.nan), np.where(shown, isocline, np.nan), zorder=3,
            label="d\u03bb/dt = 0 isocline, R = g(A) / (2 \u03c41 r)", **PHASE_STYLES["costate_isocline"])

    rest = np.array([optimal_start_outcome(params, float(a), paths, tau0).path is None for a in area])
    ax.plot(area, np.where(rest, 0.0, np.nan), zorder=3, label="starts from which the planner rests (R = 0 forever)",
            **PHASE_STYLES["rest"])

    for i, (path, curve) in enumerate(zip(paths, curves)):
        tag = f"A* = {path.steady_state_10k_ha:.1f}, \u03bc = {path.saddle_eigenvalue_per_yr:.3f}/yr"
        ax.plot(curve["unconverted_area_10k_ha"], curve["planting_rate_10k_ha_per_yr"], zorder=4,
                label=f"saddle path ({tag})", **PHASE_STYLES["saddle_path"])
        span = np.linspace(path.steady_state_10k_ha, path.upper_end_10k_ha, 50)
        linear = path.linear_policy(span)
        # drawn while it is a fair local approximation: up to the manifold's own highest rate, with some headroom
        inside = linear <= min(top, _RATE_HEADROOM * float(curve["planting_rate_10k_ha_per_yr"].max()))
        ax.plot(span[inside], linear[inside], zorder=4, label="its linear approximation R = -\u03bc (A - A*)" if i == 0 else None,
                **PHASE_STYLES["linear_saddle_path"])

    style = dict(PHASE_STYLES["steady_state"])
    colour = style.pop("color")
    stable = [x.unconverted_area_10k_ha for x in roots if x.stability is Stability.SADDLE]
    unstable = [x.unconverted_area_10k_ha for x in roots if x.stability is not Stability.SADDLE]
    if stable:
        ax.scatter(stable, np.zeros(len(stable)), facecolors=colour, edgecolors=colour,
                   label="steady state, saddle-path stable", **style)
    if unstable:
        ax.scatter(unstable, np.zeros(len(unstable)), facecolors="none", edgecolors=colour, linewidths=1.5,
                   label="steady state, unstable", **style)

    for x in roots:
        ax.annotate(f"{x.unconverted_area_10k_ha:.1f}", (x.unconverted_area_10k_ha, 0.0), xytext=(0, -14),
                    textcoords="offset points", ha="center", fontsize=8)
    skiba = indifference_start(paths)
    if skiba is not None:
        low = min(p.steady_state_10k_ha for p in paths if p.ends_at_zero_rate)
        ax.axvline(skiba, zorder=3, label=f"Skiba point A = {skiba:.2f}: resting and planting down to {low:.1f} "
                   "are worth the same", **PHASE_STYLES["skiba"])

    for (name, (start, table)), colour in zip((numerical_paths or {}).items(), NUMERICAL_PATH_COLOURS):
        step = float(np.diff(table["period_start_yr"].to_numpy())[0]) if len(table) > 1 else 1.0
        every = max(1, round(_POINT_SPACING_YR / step))
        mid = _mid_area(table, start)[::every]
        ax.scatter(mid, table["planting_rate_10k_ha_per_yr"].to_numpy()[::every], s=14, color=colour, zorder=5,
                   label=f"{name} (rate of each period at its mid-period area)")

    ax.set_xlim(lo, hi)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("A, land not yet converted (10^4 ha); planting moves the state left")
    ax.set_ylabel("R, planting rate (10^4 ha / yr)")
    unit = _COSTATE_AXIS_UNIT_YUAN_PER_HA
    costate = ax.secondary_yaxis("right", functions=(lambda rate: -(tau0 + 2.0 * tau1 * rate) / unit,
                                                     lambda lam: -(lam * unit + tau0) / (2.0 * tau1)))
    costate.set_ylabel("\u03bb = -(\u03c40 + 2 \u03c41 R), shadow price of unconverted land (10^3 yuan / ha)")
    ax.legend(fontsize=7.5, loc="upper left", framealpha=0.92)
    ax.set_title(title or f"Phase diagram (r = {r:g}/yr, \u03c40 = {tau0:,.0f} yuan/ha, \u03c41 = {tau1:,.1f} yuan/ha per 10^4 ha/yr)",
                 fontsize=10)
    ax.grid(alpha=0.25)
    fig.tight_layout()
    return fig


def write_phase_diagram(params: LandUseParameters, output: str | Path, **kwargs: Any) -> Path:
    """:func:`plot_phase_diagram` saved as a PNG at ``output``; returns the path."""
    plt = _pyplot()
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = plot_phase_diagram(params, **kwargs)
    fig.savefig(out, dpi=_DPI)
    plt.close(fig)
    return out
