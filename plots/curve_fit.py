"""The fitted ESV curves beside the study's: (a) B'(A), (b) C'(z), each with the land classes it was fitted to.

Each class is drawn as a bar over its interval of the curve's axis (its value, coloured by land type) with the
point the fit used on it; the fitted polynomial is solid, the published one dashed. Display choices only; the
numbers come from :mod:`afforest.model.curve_fit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from afforest.model.curve_fit import AFFORESTED, UNCONVERTED, AfforestedValue, CurveFit
from afforest.plots.palette import LAND_TYPE_COLOURS, SERIES_COLOURS, label, land_type_colours

__all__ = ["plot_curve_fit", "write_curve_fit_figure"]

_DPI = 130
_FITTED_COLOUR = SERIES_COLOURS[0]
_PUBLISHED_COLOUR = SERIES_COLOURS[1]
_YUAN_AXIS_UNIT = 1e3
"""The ESV axis is in 10^3 yuan/(ha yr)."""

_AFFORESTED_MEANING: dict[AfforestedValue, tuple[str, str]] = {
    AfforestedValue.FOREST_MERIT: ("forest ESV of the class's province", "lowest current ESV first"),
    AfforestedValue.FOREST_DESC: ("forest ESV of the class's province", "highest forest ESV first"),
    AfforestedValue.FOREST_BY_CURRENT_DESC: ("forest ESV of the class's province", "highest current ESV first"),
    AfforestedValue.GAIN_MERIT: ("gain: forest ESV - current ESV", "lowest current ESV first"),
    AfforestedValue.GAIN_DESC: ("gain: forest ESV - current ESV", "largest gain first"),
}
"""What the C' panel's bars are and in which order its classes are laid out."""


def _pyplot() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _panel(ax: Any, fit: CurveFit, curve: str, published: Sequence[float] | None, r2_published: float | None,
           colours: dict[str, str]) -> None:
    points = fit.points[fit.points["curve"] == curve]
    position = fit.candidate.position.value
    for row in points.itertuples():
        end = row.x_10k_ha + {"start": row.area_10k_ha, "middle": 0.5 * row.area_10k_ha, "end": 0.0}[position]
        ax.bar(end - row.area_10k_ha, row.esv_yuan_per_ha_yr / _YUAN_AXIS_UNIT, width=row.area_10k_ha, align="edge",
               color=colours[row.land_type], alpha=0.45, edgecolor="white", linewidth=0.4)
    ax.scatter(points["x_10k_ha"], points["esv_yuan_per_ha_yr"] / _YUAN_AXIS_UNIT, s=22, zorder=4,
               c=[colours[t] for t in points["land_type"]], edgecolors=_FITTED_COLOUR, linewidths=0.8,
               label=f"classes' points ({position} of each interval)")
    grid = np.linspace(0.0, fit.initial_area_10k_ha, 400)
    coef = fit.unconverted_esv_coefficients if curve == UNCONVERTED else fit.afforested_esv_coefficients
    r2 = fit.r2_unconverted if curve == UNCONVERTED else fit.r2_afforested
    ax.plot(grid, np.polynomial.polynomial.polyval(grid, coef) / _YUAN_AXIS_UNIT, color=_FITTED_COLOUR, lw=2.0,
            label=f"fitted, degree {fit.degree} (R² = {r2:.3f})")
    if published is not None:
        shown_r2 = f" (R² = {r2_published:g})" if r2_published is not None else ""
        ax.plot(grid, np.polynomial.polynomial.polyval(grid, list(published)) / _YUAN_AXIS_UNIT,
                color=_PUBLISHED_COLOUR, lw=2.0, ls="--", label=f"published{shown_r2}")
    ax.axhline(0.0, color=_PUBLISHED_COLOUR, lw=0.6, alpha=0.4)
    ax.set_xlim(0, fit.initial_area_10k_ha)
    ax.set_ylabel("marginal ESV (10³ yuan / ha / yr)")
    ax.grid(alpha=0.3)


def plot_curve_fit(
    fit: CurveFit,
    published_unconverted: Sequence[float] | None,
    published_afforested: Sequence[float] | None,
    *,
    published_r2: tuple[float, float] | None = None,
) -> Any:
    """Two panels, B'(A) and C'(z): the classes, the fitted and (where the region publishes them, else None) the
    published curves; returns the Figure.

    ``published_r2``: the published (R² of B', R² of C') for the legend."""
    plt = _pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(14, 5.6))
    r2_b, r2_c = published_r2 if published_r2 is not None else (None, None)
    present = set(fit.points["land_type"])
    shown = [t for t in LAND_TYPE_COLOURS if t in present] + sorted(present - set(LAND_TYPE_COLOURS))
    colours = land_type_colours(shown)
    _panel(ax, fit, UNCONVERTED, published_unconverted, r2_b, colours)
    ax.set_xlabel("land still in its current use, A (10⁴ ha; classes from the highest current ESV down)")
    ax.set_title("(a) B'(A): ESV of the marginal unconverted hectare\n(bars: each class's current ESV)",
                 fontsize=10)
    _panel(bx, fit, AFFORESTED, published_afforested, r2_c, colours)
    meaning, order = _AFFORESTED_MEANING[fit.candidate.afforested]
    bx.set_xlabel(f"afforested area, z (10⁴ ha; classes laid out {order})")
    bx.set_title(f"(b) C'(z): ESV of the marginal afforested hectare\n(bars: {meaning})", fontsize=10)
    for axis in (ax, bx):
        axis.legend(fontsize=8, loc="upper right")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[t], alpha=0.6) for t in shown]
    fig.legend(handles, [label(t) for t in shown], loc="lower center", ncol=len(shown), fontsize=8,
               title="land type of the class (one bar per province)", title_fontsize=8, frameon=False)
    against = " against the published ones" if published_unconverted is not None else " (the region publishes none)"
    fig.suptitle(f"Fitted marginal ESV curves{against} (candidate {fit.candidate.name})", fontsize=12)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig


def write_curve_fit_figure(
    fit: CurveFit,
    published_unconverted: Sequence[float] | None,
    published_afforested: Sequence[float] | None,
    output: str | Path,
    *,
    published_r2: tuple[float, float] | None = None,
) -> Path:
    """:func:`plot_curve_fit` saved as a PNG at ``output``; returns the path."""
    plt = _pyplot()
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = plot_curve_fit(fit, published_unconverted, published_afforested, published_r2=published_r2)
    fig.savefig(out, dpi=_DPI)
    plt.close(fig)
    return out
