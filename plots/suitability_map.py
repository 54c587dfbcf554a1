"""Map of afforestable land by land-use type (the study's Fig. 1), drawn from a suitability overlay's preview in
the package's one palette (:mod:`afforest.plots.palette`): a land type has the same colour here as in Fig. 2."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import numpy as np  # noqa: E402
from afforest.errors import InputError  # noqa: E402
from afforest.model.suitability.codes import MASK_NODATA  # noqa: E402
from afforest.plots.palette import EXCLUDED_COLOUR, label, land_type_colour  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

if TYPE_CHECKING:
    from afforest.model.suitability.tables import SuitabilityResult

__all__ = ["plot_suitability_map"]

MAP_WIDTH_IN = 8.0
"""Width of the map itself (inches); the legend and margins come on top (display choice)."""
LEGEND_WIDTH_IN = 3.2
"""Room to the right of the map for the legend (inches)."""
TITLE_HEIGHT_IN = 1.0
"""Room above and below the map for the title and the axis label (inches)."""
DPI = 130
"""Resolution of the written PNG (dots per inch)."""
M_PER_KM = 1000.0
"""Metres in a kilometre: projected maps are labelled in km."""
BOUNDARY_COLOUR = "#333333"
"""Province boundaries."""
LABEL_COLOUR = "#111111"
"""Province names."""


def plot_suitability_map(result: SuitabilityResult, path: str | Path, title: str | None = None) -> Path:
    """Write the map of afforestable land by land type from ``result``'s majority preview to ``path`` (PNG);
    cells outside the provinces or not decidable stay blank. Returns ``path``."""
    if result.preview is None or result.preview_provinces is None:
        raise InputError("the overlay was run without a preview (preview_pixels=None)", field="preview")
    preview = result.preview.astype(float)
    land_types = list(result.area["land_type"].drop_duplicates())
    preview[preview == MASK_NODATA] = np.nan
    colours = [EXCLUDED_COLOUR, *(land_type_colour(lt) for lt in land_types)]
    grid = result.grid
    f = result.preview_factor
    t = grid.transform
    scale = 1.0 if grid.geographic else grid.unit_factor / M_PER_KM
    h, w = preview.shape
    x0, y0 = t.c * scale, t.f * scale
    extent = (x0, x0 + w * f * t.a * scale, y0 + h * f * t.e * scale, y0)

    fig, ax = plt.subplots(
        figsize=(MAP_WIDTH_IN + LEGEND_WIDTH_IN, MAP_WIDTH_IN * h / max(w, 1) + TITLE_HEIGHT_IN), constrained_layout=True
    )
    # Resample in colour space: interpolating class codes would invent classes at boundaries.
    ax.imshow(preview, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(colours) - 0.5, extent=extent,
              interpolation="nearest", interpolation_stage="rgba")
    provinces = result.preview_provinces
    ys = y0 + (np.arange(h) + 0.5) * f * t.e * scale
    xs = x0 + (np.arange(w) + 0.5) * f * t.a * scale
    for k, name in enumerate(result.coverage["province"]):
        inside = (provinces == k).astype(float)
        if inside.any() and h > 1 and w > 1:
            ax.contour(xs, ys, inside, levels=[0.5], colors=BOUNDARY_COLOUR, linewidths=0.8)
            r, c = np.argwhere(inside > 0).mean(axis=0)
            ax.annotate(name, (x0 + (c + 0.5) * f * t.a * scale, y0 + (r + 0.5) * f * t.e * scale),
                        ha="center", va="center", fontsize=9, color=LABEL_COLOUR,
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.7})
    totals = result.area.groupby("land_type", sort=False)["area_10k_ha"].sum()
    handles = [Patch(color=EXCLUDED_COLOUR, label="not afforestable")] + [
        Patch(color=colours[i + 1], label=f"{label(lt)} ({totals[lt]:,.2f})") for i, lt in enumerate(land_types)
    ]
    ax.legend(handles=handles, title="afforestable land (10^4 ha)", loc="center left", bbox_to_anchor=(1.01, 0.5),
              fontsize=9, title_fontsize=9, frameon=False)
    unit = "degrees" if grid.geographic else "km"
    ax.set_xlabel(f"x ({unit}, {grid.crs.to_string()})")
    ax.set_ylabel(f"y ({unit})")
    total = float(result.area["area_10k_ha"].sum())
    ax.set_title(title or f"Afforestable land by land-use type: {total:,.2f} x 10^4 ha (Table 1 rules; "
                 f"majority of {f} x {f} cells per pixel)", fontsize=11)
    out = Path(path)
    fig.savefig(out, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return out

