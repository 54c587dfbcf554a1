"""Prepare the optimisation's inputs from their sources: ``afforest esv`` and ``afforest suitability``.

* ``afforest esv`` computes Table 3 (ESV by province and land type) from Xie et al.'s equivalent factors
  and the value of one standard equivalent per province (:mod:`afforest.model.esv`).
* ``afforest suitability --config FILE --output DIR`` runs the raster overlay of Table 1
  (:mod:`afforest.model.suitability`) and writes the afforestable mask, the area table in the shape of
  Table 2 (``afforestable_area.csv`` + ``afforestable_area_totals.csv``, readable by
  :func:`afforest.data.load_afforestable_area`), the diagnostics tables and a map (study Fig. 1).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import afforest
from afforest.errors import InputError, check_output_dir
from afforest.model import suitability as suit

__all__ = [
    "run_suitability",
    "write_suitability_outputs",
    "plot_suitability_map",
    "OUTPUT_FILES",
]

OUTPUT_FILES: dict[str, str] = {
    "mask": "afforestable_mask.tif",
    "area": "afforestable_area.csv",
    "totals": "afforestable_area_totals.csv",
    "land_types": "suitability_land_types.csv",
    "exclusions": "suitability_exclusions.csv",
    "coverage": "suitability_coverage.csv",
    "figure": "afforestable_land.png",
    "run": "suitability_run.json",
}
"""File names written by :func:`run_suitability` into the output directory."""

# Colours of the land types on the map (display choice), in the order of AFFORESTABLE_LAND_TYPES.
_LAND_TYPE_COLOURS = (
    "#8c6d46",  # bare soil
    "#e3c878",  # unused land (sand, gobi, saline)
    "#3d8fd1",  # sloping paddy
    "#c44e52",  # sloping dry land
    "#c7e59a",  # low-cover grassland
    "#6fbf4a",  # medium-cover grassland
    "#8172b2",  # other forest
    "#2f8f6f",  # sparse forest
    "#0b5d3b",  # shrubland
)
_EXCLUDED_COLOUR = "#e6e6e6"


# ------------------------------------------------------------------------------------------------ ESV


# ---------------------------------------------------------------------------------------- suitability


_TABLE_KINDS = ("area", "totals", "land_types", "exclusions", "coverage")


def _write_tables(result: suit.SuitabilityResult, paths: dict[str, Path]) -> None:
    result.area.to_csv(paths["area"], index=False)
    result.totals.to_csv(paths["totals"], index=False)
    result.land_types.to_csv(paths["land_types"], index=False)
    result.exclusions.to_csv(paths["exclusions"], index=False)
    result.coverage.to_csv(paths["coverage"], index=False)


def write_suitability_outputs(result: suit.SuitabilityResult, output_dir: str | Path) -> dict[str, Path]:
    """Write the area tables (CSV) of a result; returns {kind: path}. Each table is written to a temporary
    name and renamed when all are written, so a failure leaves no partial table."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {kind: out / OUTPUT_FILES[kind] for kind in _TABLE_KINDS}
    staged = {kind: suit.partial_path(path) for kind, path in paths.items()}
    try:
        _write_tables(result, staged)
        for kind, path in paths.items():
            os.replace(staged[kind], path)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    return paths


def _make_output_dir(path: str | Path, field: str) -> tuple[Path, Path | None]:
    """Check and create the output folder and try a write into it; returns (folder, topmost folder created)."""
    out = check_output_dir(path, option=field)
    missing = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".afforest-write-test-"):
            pass
    except OSError as exc:
        _remove_empty(out, missing[-1] if missing else None)
        raise InputError(f"cannot create or write to this folder ({exc.strerror or exc})", field=field, value=str(out)) from None
    return out, (missing[-1] if missing else None)


def _remove_empty(out: Path, top: Path | None) -> None:
    """Remove the folders this run created (``out`` up to ``top``) if they are empty."""
    if top is None:
        return
    for folder in (out, *out.parents):
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == top:
            return


def _refuse_overwriting_inputs(config: suit.SuitabilityConfig, config_path: Path, out: Path, field: str) -> None:
    inputs = {Path(config_path).resolve(): "--config", config.provinces.path.resolve(): "provinces"}
    inputs |= {spec.path.resolve(): f"layers.{name}" for name, spec in config.layers if spec is not None}
    if config.rules is not None:
        inputs[config.rules.resolve()] = "rules"
    for name in OUTPUT_FILES.values():
        target = (out / name).resolve()
        if target in inputs:
            raise InputError(f"the output {name} would overwrite the input {inputs[target]} ({target}); give another folder",
                             field=field, value=str(out))


def plot_suitability_map(result: suit.SuitabilityResult, path: str | Path, title: str | None = None) -> Path:
    """Map of afforestable land by land-use type (the study's Fig. 1) from the result's preview."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if result.preview is None or result.preview_provinces is None:
        raise InputError("the overlay was run without a preview (preview_pixels=None)", field="preview")
    preview = result.preview.astype(float)
    land_types = list(result.area["land_type"].drop_duplicates())
    preview[preview == suit.MASK_NODATA] = np.nan
    colours = [_EXCLUDED_COLOUR, *_LAND_TYPE_COLOURS[: len(land_types)]]
    grid = result.grid
    f = result.preview_factor
    t = grid.transform
    scale = 1.0 if grid.geographic else grid.unit_factor / 1000.0
    h, w = preview.shape
    x0, y0 = t.c * scale, t.f * scale
    extent = (x0, x0 + w * f * t.a * scale, y0 + h * f * t.e * scale, y0)

    map_width_in = 8.0
    fig, ax = plt.subplots(figsize=(map_width_in + 3.2, map_width_in * h / max(w, 1) + 1.0), constrained_layout=True)
    # Resample in colour space: interpolating class codes would invent classes at boundaries.
    ax.imshow(preview, cmap=ListedColormap(colours), vmin=-0.5, vmax=len(colours) - 0.5, extent=extent,
              interpolation="nearest", interpolation_stage="rgba")
    provinces = result.preview_provinces
    ys = y0 + (np.arange(h) + 0.5) * f * t.e * scale
    xs = x0 + (np.arange(w) + 0.5) * f * t.a * scale
    names = list(result.coverage["province"])
    for k, name in enumerate(names):
        inside = (provinces == k).astype(float)
        if inside.any() and h > 1 and w > 1:
            ax.contour(xs, ys, inside, levels=[0.5], colors="#333333", linewidths=0.8)
            r, c = np.argwhere(inside > 0).mean(axis=0)
            ax.annotate(name, (x0 + (c + 0.5) * f * t.a * scale, y0 + (r + 0.5) * f * t.e * scale),
                        ha="center", va="center", fontsize=9, color="#111111",
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.7})
    totals = result.area.groupby("land_type", sort=False)["area_10k_ha"].sum()
    handles = [Patch(color=_EXCLUDED_COLOUR, label="not afforestable")] + [
        Patch(color=colours[i + 1], label=f"{lt.replace('_', ' ')} ({totals[lt]:,.2f})") for i, lt in enumerate(land_types)
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
    fig.savefig(out, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return out


def run_suitability(
    config_path: str | Path,
    output_dir: str | Path,
    *,
    chunk_size: int | None = None,
    figure: bool = True,
    output_field: str = "output_dir",
) -> tuple[suit.SuitabilityResult, dict[str, Path]]:
    """Overlay of ``config_path`` with every output written to ``output_dir``; returns the result and paths.

    The folder is checked (and created) before the computation; errors name it as ``output_field``. Every
    output is written to a temporary name in the folder and renamed only when all of them are written: a
    failed run leaves no partial or new file behind (earlier outputs in the folder are left as they were,
    and a folder this run created is removed again if it is empty)."""
    out, created = _make_output_dir(output_dir, output_field)
    staged: dict[str, Path] = {}

    def stage(kind: str) -> Path:
        staged[kind] = suit.partial_path(out / OUTPUT_FILES[kind])
        return staged[kind]

    try:
        config = suit.load_suitability_config(config_path)
        _refuse_overwriting_inputs(config, Path(config_path), out, output_field)
        if chunk_size is not None:
            config = config.model_copy(update={"chunk_size": chunk_size})
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", suit.SuitabilityWarning)
            result = suit.overlay(config, mask_path=stage("mask"), preview_pixels=1200 if figure else None)
        wall = time.perf_counter() - start
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        _write_tables(result, {kind: stage(kind) for kind in _TABLE_KINDS})
        if figure:
            plot_suitability_map(result, stage("figure"))
        paths = {kind: out / OUTPUT_FILES[kind] for kind in (*staged, "run")}
        run = {
            "afforest_version": afforest.__version__,
            "config": str(Path(config_path).resolve()),
            "rules": str(config.rules or "shipped data/suitability_rules.toml"),
            "grid": result.grid.describe(),
            "cells": result.cells,
            "chunk_size": result.chunk_size,
            "slope": "derived from elevation (Horn)" if result.slope_derived else "slope layer",
            "layers": result.sources,
            "wall_time_s": wall,
            "cells_per_s": result.cells / wall if wall > 0 else None,
            "afforestable_area_10k_ha": float(result.area["area_10k_ha"].sum()),
            "warnings": result.warnings,
            "files": {k: str(v) for k, v in paths.items()},
        }
        stage("run").write_text(json.dumps(run, indent=2))
        for kind, tmp in staged.items():
            os.replace(tmp, paths[kind])
        if not figure:  # a map left by an earlier run would not show this run's result
            (out / OUTPUT_FILES["figure"]).unlink(missing_ok=True)
    except BaseException:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        _remove_empty(out, created)
        raise
    result.mask_path = paths["mask"]
    return result, paths


