"""The overlay's tidy outputs: the per-province summary vector becomes the area tables (10^4 ha)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from afforest.errors import InputError
from afforest.model.suitability.codes import M2_PER_10K_HA, NODATA_FLAGS, RULE_FLAGS, Exclusion
from afforest.model.suitability.graph import SummaryLayout
from afforest.model.suitability.grid import Grid
from afforest.model.suitability.inputs import OverlayInputs
from afforest.model.suitability.rules import SuitabilityRules


@dataclass
class SuitabilityResult:
    """Tidy outputs of one overlay run (areas in 10^4 ha)."""

    area: pd.DataFrame
    """Afforestable area, Table 2 shape: ``land_type``, ``province``, ``area_10k_ha`` (every combination)."""
    totals: pd.DataFrame
    """Totals in the shape of ``data/afforestable_area_totals.csv`` (dimension, name, total_10k_ha)."""
    land_types: pd.DataFrame
    """Per province and admitted land type: ``land_type_area_10k_ha`` (all cells of that class inside the
    province), ``area_10k_ha`` (afforestable) and ``afforestable_share``."""
    exclusions: pd.DataFrame
    """Area failing each rule or lacking each layer, by province: ``province``, ``reason``, ``kind``
    (rule / nodata), ``area_10k_ha``. A cell can fail several rules, so rows overlap."""
    coverage: pd.DataFrame
    """By province: ``province_area_10k_ha``, ``undecided_area_10k_ha`` (nodata and no rule fails),
    ``afforestable_area_10k_ha``."""
    grid: Grid
    sources: dict[str, str]
    chunk_size: int
    slope_derived: bool
    preview: np.ndarray | None = None
    """Majority-downsampled mask for maps (same codes as the mask)."""
    preview_provinces: np.ndarray | None = None
    preview_factor: int = 1
    mask_path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return self.grid.cells


def result_tables(
    stats: np.ndarray, layout: SummaryLayout, inputs: OverlayInputs, rules: SuitabilityRules, flag_area: dict[Exclusion, np.ndarray]
) -> SuitabilityResult:
    """The result's tables from the summary statistics; refuses a province with no cell or none decidable."""
    n_l = layout.land_types + 1
    to_10k = 1.0 / M2_PER_10K_HA
    suitable = stats[:, 1:n_l] * to_10k
    by_type = stats[:, n_l + 1 : 2 * n_l] * to_10k
    province_area = stats[:, 2 * n_l] * to_10k
    undecided = stats[:, 2 * n_l + 1] * to_10k
    provinces = inputs.provinces

    messages: list[str] = []
    for k, name in enumerate(provinces):
        if province_area[k] == 0:
            raise InputError("province has no cell on the grid", file=inputs.province_file, field="provinces", value=name)
        missing = {layer: flag_area[flag][k] * to_10k for layer, flag in NODATA_FLAGS.items() if flag_area[flag][k] > 0}
        if missing and undecided[k] >= province_area[k] * (1 - 1e-12):
            raise InputError(
                "no cell of this province can be evaluated: every cell is nodata in at least one layer ("
                + ", ".join(f"{layer} {100 * area / province_area[k]:.1f} %" for layer, area in missing.items()) + ")",
                file=inputs.province_file, field="provinces", value=name,
            )
        if missing:
            messages.append(
                f"{name}: {undecided[k]:.4g} x 10^4 ha ({100 * undecided[k] / province_area[k]:.2f} % of the province) "
                "cannot be evaluated and counts as not afforestable; nodata share by layer: "
                + ", ".join(f"{layer} {100 * area / province_area[k]:.2f} %" for layer, area in missing.items())
            )

    land_types = rules.land_types
    area = pd.DataFrame(
        [(lt, prov, float(suitable[p, i])) for i, lt in enumerate(land_types) for p, prov in enumerate(provinces)],
        columns=["land_type", "province", "area_10k_ha"],
    )
    land = pd.DataFrame(
        [
            (prov, lt, float(by_type[p, i]), float(suitable[p, i]))
            for p, prov in enumerate(provinces)
            for i, lt in enumerate(land_types)
        ],
        columns=["province", "land_type", "land_type_area_10k_ha", "area_10k_ha"],
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        land["afforestable_share"] = land["area_10k_ha"] / land["land_type_area_10k_ha"]
    totals = pd.DataFrame(
        [("land_type", lt, float(suitable[:, i].sum())) for i, lt in enumerate(land_types)]
        + [("province", prov, float(suitable[p].sum())) for p, prov in enumerate(provinces)]
        + [("all", "all", float(suitable.sum()))],
        columns=["dimension", "name", "total_10k_ha"],
    )
    exclusions = pd.DataFrame(
        [(prov, reason, "rule", float(flag_area[flag][p] * to_10k)) for p, prov in enumerate(provinces) for reason, flag in RULE_FLAGS.items()]
        + [(prov, layer, "nodata", float(flag_area[flag][p] * to_10k)) for p, prov in enumerate(provinces) for layer, flag in NODATA_FLAGS.items()],
        columns=["province", "reason", "kind", "area_10k_ha"],
    )
    coverage = pd.DataFrame(
        {
            "province": list(provinces),
            "province_area_10k_ha": province_area,
            "undecided_area_10k_ha": undecided,
            "afforestable_area_10k_ha": suitable.sum(axis=1),
        }
    )
    return SuitabilityResult(
        area=area,
        totals=totals,
        land_types=land,
        exclusions=exclusions,
        coverage=coverage,
        grid=inputs.grid,
        sources=inputs.sources,
        chunk_size=inputs.chunk_size,
        slope_derived=inputs.slope_derived,
        warnings=messages,
    )
