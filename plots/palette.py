"""One palette for every figure of the package: a land type, a carbon pool or a suspect point looks the same in
the suitability map, the merit order (Fig. 2), the carbon figures and the sweep plots. Display choices only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "LAND_TYPE_COLOURS",
    "REGION_LAND_TYPE_COLOURS",
    "land_type_colours",
    "EXCLUDED_COLOUR",
    "OTHER_COLOUR",
    "POOL_COLOURS",
    "POOL_LABELS",
    "SUSPECT_STYLE",
    "BENCHMARK_STYLES",
    "SERIES_COLOURS",
    "PLANTING_STYLES",
    "land_type_colour",
    "label",
    "PHASE_STYLES",
    "NUMERICAL_PATH_COLOURS",
]

LAND_TYPE_COLOURS: dict[str, str] = {
    "bare_soil": "#8c6d46",
    "unused_land": "#e3c878",
    "sloping_paddy": "#3d8fd1",
    "sloping_dry_land": "#c44e52",
    "low_cover_grassland": "#c7e59a",
    "medium_cover_grassland": "#6fbf4a",
    "other_forest": "#8172b2",
    "sparse_forest": "#2f8f6f",
    "shrubland": "#0b5d3b",
}
"""Colour of each afforestable land type (browns for barren land, blues and reds for cropland, greens for
grass and woody cover; the forest types apart from one another on a map)."""

EXCLUDED_COLOUR = "#e6e6e6"
"""Land that is not afforestable (or excluded by a rule) on a map."""

OTHER_COLOUR = "#9e9e9e"
"""A land type without a colour of its own (a region's own types, until they are given one)."""

POOL_COLOURS: dict[str, str] = {"soil": "#8d6e63", "below_ground_biomass": "#d4a373", "above_ground_biomass": "#52b788"}
"""Carbon pools, keyed by ``afforest.model.carbon.Pool`` values."""

POOL_LABELS: dict[str, str] = {
    "soil": "soil",
    "below_ground_biomass": "below-ground biomass",
    "above_ground_biomass": "above-ground biomass",
}

SUSPECT_STYLE: dict[str, Any] = {"marker": "^", "s": 60, "facecolors": "none", "edgecolors": "tab:red", "linewidths": 1.4}
"""Scatter style of a point whose result is ``suspect`` (open red triangles), in every figure."""


BENCHMARK_STYLES: dict[str, tuple[str, str, str]] = {
    "cut_thermal": ("#c0392b", "--", "cutting thermal"),
    "solar_pv": ("#f39c12", "--", "solar PV replacing thermal"),
    "onshore_wind": ("#2980b9", "--", "onshore wind replacing thermal"),
    "carbon_price": ("black", "-.", "carbon price"),
    "policy_carbon_price": ("#6a1b9a", "-.", "the scenario's carbon price"),
}
"""Colour, line style and label of each cost-effectiveness benchmark (a horizontal line in the supply-curve figure)."""

SERIES_COLOURS: tuple[str, ...] = ("#1b5e20", "#6a1b9a", "#00838f", "#ad1457")
"""Colours of successive series of one kind (supply curves at each r_c, representations of a path)."""

PLANTING_STYLES: dict[str, tuple[str, str, str]] = {
    "planned_path": ("black", "-", "classes program's path (the plan)"),
    "curves_path": ("#6a1b9a", "--", "curves program's path"),
    "year0": ("#8d6e63", ":", "all planted in year 0"),
}
"""Colour, line style and label of each planting assumption of the carbon accounts."""


REGION_LAND_TYPE_COLOURS: tuple[str, ...] = ("#6d4c41", "#fbc02d", "#0288d1", "#7cb342", "#8e24aa", "#f4511e", "#00897b",
                                             "#c0ca33")
"""Colours handed in turn to the land types of a region that the palette does not know (afforest.data.region)."""


def land_type_colours(land_types: Sequence[str]) -> dict[str, str]:
    """A colour per land type: the palette's own where it has one, else the next of REGION_LAND_TYPE_COLOURS (in the
    order given), so a region's own types stay apart on a figure."""
    spare = iter(REGION_LAND_TYPE_COLOURS * (1 + len(land_types) // len(REGION_LAND_TYPE_COLOURS)))
    return {t: LAND_TYPE_COLOURS[t] if t in LAND_TYPE_COLOURS else next(spare) for t in dict.fromkeys(land_types)}


def land_type_colour(land_type: str) -> str:
    """The palette's colour of ``land_type`` (:data:`OTHER_COLOUR` for a type it does not know)."""
    return LAND_TYPE_COLOURS.get(land_type, OTHER_COLOUR)


def label(name: str) -> str:
    """A snake_case name as words for a legend or an axis."""
    return name.replace("_", " ")


PHASE_STYLES: dict[str, dict[str, Any]] = {
    "rate_isocline": {"color": "#37474f", "lw": 1.2, "ls": "-"},
    "costate_isocline": {"color": "#e65100", "lw": 1.4, "ls": "-."},
    "saddle_path": {"color": "#1b5e20", "lw": 2.2, "ls": "-"},
    "linear_saddle_path": {"color": "#1b5e20", "lw": 1.2, "ls": "--"},
    "steady_state": {"color": "#000000", "s": 70, "zorder": 6},
    "skiba": {"color": "#c62828", "lw": 1.2, "ls": ":"},
    "rest": {"color": "#8d6e63", "lw": 5.0, "alpha": 0.6, "solid_capstyle": "butt"},
    "infeasible": {"color": "#eceff1"},
    "flow": {"color": "#b0bec5"},
}
"""Phase diagram (:mod:`afforest.plots.phase`): isoclines, saddle paths (nonlinear solid, linear dashed), steady
states, the Skiba point, the rest set on R = 0, the infeasible half-plane R < 0 and the faint flow lines."""

NUMERICAL_PATH_COLOURS: tuple[str, ...] = ("#6a1b9a", "#00838f", "#ad1457")
"""Points of numerical paths on a phase diagram, one colour per path."""
