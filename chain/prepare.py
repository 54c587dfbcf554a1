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

import afforest
from afforest.errors import InputError, check_output_dir
from afforest.model import suitability as suit

__all__ = [
    "run_suitability",
    "write_suitability_outputs",
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


def run_suitability(
    config_path: str | Path,
    output_dir: str | Path,
    *,
    chunk_size: int | None = None,
    figure: bool = True,
    output_field: str = "output_dir",
    region: str | Path | None = None,
) -> tuple[suit.SuitabilityResult, dict[str, Path]]:
    """Overlay of ``config_path`` with every output written to ``output_dir``; returns the result and paths.

    The folder is checked (and created) before the computation; errors name it as ``output_field``. Every
    output is written to a temporary name in the folder and renamed only when all of them are written: a
    failed run leaves no partial or new file behind (earlier outputs in the folder are left as they were,
    and a folder this run created is removed again if it is empty). ``region`` overrides the config's region (its
    rules where the config names none; its zones for the province codes)."""
    out, created = _make_output_dir(output_dir, output_field)
    staged: dict[str, Path] = {}

    def stage(kind: str) -> Path:
        staged[kind] = suit.partial_path(out / OUTPUT_FILES[kind])
        return staged[kind]

    try:
        config = suit.load_suitability_config(config_path, region)
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
            # matplotlib is imported only when a map is drawn
            from afforest.plots.suitability_map import plot_suitability_map

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


