"""Run the overlay: one pass computes the tables, writes the mask and the preview; outputs are written to
a temporary name and renamed only when the run succeeds.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import dask
import rasterio
import xarray as xr
from afforest.errors import InputError
from afforest.model.suitability.codes import ALL_FLAGS, IMPLAUSIBLE_FLAGS, MASK_NODATA, UNKNOWN_FLAGS
from afforest.model.suitability.config import SuitabilityConfig
from afforest.model.suitability.diagnostics import (
    implausible_error,
    per_window,
    unknown_codes,
    unlisted_in_window,
)
from afforest.model.suitability.graph import (
    SummaryLayout,
    afforestable_mask,
    cell_codes,
    province_index,
    summaries,
)
from afforest.model.suitability.inputs import OverlayInputs, open_inputs
from afforest.model.suitability.preview import majority_preview, preview_factor
from afforest.model.suitability.rules import SuitabilityRules, load_suitability_rules
from afforest.model.suitability.tables import SuitabilityResult, result_tables


class SuitabilityWarning(UserWarning):
    """Part of a province cannot be evaluated (nodata in some layer): it is counted as not afforestable."""


def partial_path(path: str | Path) -> Path:
    """A unique temporary name next to ``path`` (hidden, ``.partial`` before the suffix): outputs are
    written there and renamed onto ``path`` only when the whole run has succeeded."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.partial{path.suffix}")


def _write_lock() -> Any:
    try:
        from distributed import Lock, get_client

        get_client()
        return Lock("afforest-suitability-mask")
    except (ImportError, ValueError):
        return threading.Lock()


def overlay(
    config: SuitabilityConfig,
    rules: SuitabilityRules | None = None,
    *,
    mask_path: str | Path | None = None,
    preview_pixels: int | None = 1200,
) -> SuitabilityResult:
    """Run the overlay: one pass over the inputs computes the area tables, writes the mask (GeoTIFF, if
    ``mask_path``) and a majority-downsampled preview of at most ``preview_pixels`` per side.

    The mask is written to a temporary name next to ``mask_path`` (:func:`partial_path`) and renamed onto it
    only when the run succeeds; on any error the temporary file is removed and ``mask_path`` is untouched.

    Raises :class:`InputError` for a layer that cannot be read (:class:`LayerReadError`), for province-raster
    codes that ``codes`` does not list (and ``ignore_codes`` does not exclude), for unknown land-use or soil
    codes inside the provinces (listing them), for values outside a layer's physically plausible range
    (``[plausible_range]`` of the rules, with the observed range and the likely fix), for a listed province
    with no cell on the grid, or one where no cell can be evaluated; warns (:class:`SuitabilityWarning`) when
    part of a province is nodata in some layer.
    """
    rules = rules if rules is not None else load_suitability_rules(config.rules)
    inputs = open_inputs(config)
    path = Path(mask_path) if mask_path is not None else None
    partial = partial_path(path) if path is not None else None
    try:
        result = _overlay(config, rules, inputs, partial, preview_pixels)
        if partial is not None and path is not None:
            os.replace(partial, path)
    except BaseException:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise
    result.mask_path = path
    for message in result.warnings:
        warnings.warn(message, SuitabilityWarning, stacklevel=2)
    return result


def _overlay(
    config: SuitabilityConfig, rules: SuitabilityRules, inputs: OverlayInputs, path: Path | None, preview_pixels: int | None
) -> SuitabilityResult:
    codes = cell_codes(inputs, rules)
    mask_cells = afforestable_mask(codes)
    layout = SummaryLayout(provinces=len(inputs.provinces), land_types=len(rules.land_types))
    tasks: list[Any] = [summaries(codes, inputs.grid, layout)]
    factor = 1
    if preview_pixels:
        factor = preview_factor(inputs.grid, inputs.chunk_size, preview_pixels)
        tasks.append(majority_preview(mask_cells, factor, len(rules.land_types) + 1, MASK_NODATA))
        tasks.append(majority_preview(province_index(codes), factor, len(inputs.provinces), -1))
    if path is not None:
        mask = xr.DataArray(mask_cells, dims=("y", "x"))
        mask = mask.rio.write_crs(inputs.grid.crs).rio.write_transform(inputs.grid.transform).rio.write_nodata(MASK_NODATA)
        legend = {"0": "not afforestable", str(MASK_NODATA): "outside the provinces or nodata"} | {
            str(i + 1): name for i, name in enumerate(rules.land_types)
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tasks.append(
            mask.rio.to_raster(
                path, tiled=True, compress="deflate", BIGTIFF="IF_SAFER", lock=_write_lock(), compute=False,
                tags={"legend": json.dumps(legend), "rules": rules.file},
            )
        )
    with rasterio.Env(GDAL_CACHEMAX=config.gdal_cache_mb):
        computed = dask.compute(*tasks)
    unlisted_cells = int(computed[0][-1])
    stats = computed[0][:-1].reshape(layout.provinces, layout.width)

    if unlisted_cells:
        found: Counter = Counter()
        for part in per_window(inputs, unlisted_in_window):
            found.update(part)
        listed = ", ".join(f"{c} ({n} cells)" for c, n in sorted(found.items(), key=lambda kv: -kv[1])[:10])
        example = sorted(found)[0]
        raise InputError(
            f"province codes on the grid that [provinces] codes does not list: {listed}; their cells would silently "
            f'count as outside the region. Name them in codes (e.g. codes = {{ ..., {example} = "Name" }}) or, if they '
            f"lie outside the study region, list them in [provinces] as ignore_codes = {sorted(found)[:10]}",
            file=inputs.province_file, field="provinces.codes", value=sorted(found)[:10],
        )

    flag_offset = 2 * (layout.land_types + 1) + 2
    flag_area = {flag: stats[:, flag_offset + k] for k, flag in enumerate(ALL_FLAGS)}
    for layer, flag in UNKNOWN_FLAGS.items():
        if flag_area[flag].sum() > 0:
            known = rules.land_use_codes if layer == "land_use" else rules.soil_codes
            unknown = unknown_codes(inputs, layer, known)
            listed = ", ".join(f"{c} ({n} cells)" for c, n in sorted(unknown.items(), key=lambda kv: -kv[1])[:10])
            spec = getattr(config.layers, layer)
            raise InputError(
                f"unknown {layer.replace('_', '-')} codes inside the provinces: {listed}; list them in the "
                f"rules file ({rules.file}) or fix the raster",
                file=spec.path, field=f"layers.{layer}", value=sorted(unknown)[:10],
            )
    implausible = [layer for layer, flag in IMPLAUSIBLE_FLAGS.items() if flag_area[flag].sum() > 0]
    if implausible:
        raise implausible_error(config, inputs, rules, implausible)

    result = result_tables(stats, layout, inputs, rules, flag_area)
    if preview_pixels:
        result.preview = computed[1]
        result.preview_provinces = computed[2]
        result.preview_factor = factor
    return result
