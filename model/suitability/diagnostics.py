"""The error paths' second pass over the inputs: which unknown or unlisted codes, and which values outside
the plausible range, with the likely fix. Run only when the first pass found such cells.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import dask
import numpy as np
import rasterio
from afforest.errors import InputError
from afforest.model.suitability.arrays import as_float, invalid_cells, lookup
from afforest.model.suitability.config import LayerSpec, SuitabilityConfig
from afforest.model.suitability.inputs import OverlayInputs, province_window, read_window
from afforest.model.suitability.rules import SuitabilityRules


def _unknown_in_window(
    inputs: OverlayInputs, window: tuple[int, int, int, int], layer: str, known: np.ndarray
) -> Counter:
    values = read_window(inputs, layer, *window)
    values = values[(province_window(inputs, *window) >= 0) & ~invalid_cells(values, inputs.nodata[layer])]
    mapped = values
    if layer == "soil_order" and inputs.soil_code_map:
        keys = np.array(sorted(inputs.soil_code_map), dtype=np.int64)
        pos, found = lookup(values, keys)
        mapped = np.where(found, np.array([inputs.soil_code_map[int(k)] for k in keys])[pos], -1)
    _, ok = lookup(mapped, known)
    unique, counts = np.unique(values[~ok], return_counts=True)
    return Counter({(int(v) if float(v).is_integer() else float(v)): int(n) for v, n in zip(unique, counts)})


def per_window(inputs: OverlayInputs, function: Any, *args: Any) -> list[Any]:
    """``function(inputs, window, *args)`` for every chunk window, run by dask (the error paths' second pass)."""
    shared = dask.delayed(inputs, pure=False, traverse=False)
    rows, cols = inputs.chunks
    row_starts, col_starts = np.cumsum((0, *rows[:-1])), np.cumsum((0, *cols[:-1]))
    parts = [
        dask.delayed(function)(shared, (int(r), int(r + h), int(c), int(c + w)), *args)
        for r, h in zip(row_starts, rows)
        for c, w in zip(col_starts, cols)
    ]
    with rasterio.Env(GDAL_CACHEMAX=64):
        return list(dask.compute(*parts))


def unknown_codes(inputs: OverlayInputs, layer: str, known: np.ndarray) -> Counter:
    """Codes of ``layer`` inside the provinces that the rules do not list, with their cell counts."""
    total: Counter = Counter()
    for part in per_window(inputs, _unknown_in_window, layer, known):
        total.update(part)
    return total


def unlisted_in_window(inputs: OverlayInputs, window: tuple[int, int, int, int]) -> Counter:
    """Province-raster codes of one window that are neither nodata, listed, nor ignored, with their cell counts."""
    raw = read_window(inputs, "provinces", *window)
    codes, _ = inputs.province_codes  # type: ignore[misc]
    unlisted = ~invalid_cells(raw, inputs.nodata["provinces"]) & ~lookup(raw, codes)[1]
    if inputs.province_ignore is not None and len(inputs.province_ignore):
        unlisted &= ~lookup(raw, inputs.province_ignore)[1]
    unique, counts = np.unique(raw[unlisted], return_counts=True)
    return Counter({(int(v) if float(v).is_integer() else float(v)): int(n) for v, n in zip(unique, counts)})


@dataclass
class _Range:
    """Values of a layer inside the provinces (after scale and offset): extent and those outside a range."""

    cells: int = 0
    low: float = math.inf
    high: float = -math.inf
    below: int = 0
    above: int = 0
    outside_values: set = field(default_factory=set)
    """Up to two distinct values outside the range (one value only: a missing-data code?)."""

    def merge(self, other: _Range) -> _Range:
        return _Range(
            self.cells + other.cells, min(self.low, other.low), max(self.high, other.high), self.below + other.below,
            self.above + other.above, set(sorted(self.outside_values | other.outside_values)[:2]),
        )


def _range_in_window(
    inputs: OverlayInputs, window: tuple[int, int, int, int], layer: str, bounds: tuple[float, float, str]
) -> _Range:
    values = as_float(read_window(inputs, layer, *window), inputs.nodata[layer], inputs.scale[layer])
    values = values[(province_window(inputs, *window) >= 0) & ~np.isnan(values)]
    if values.size == 0:
        return _Range()
    below, above = values < bounds[0], values > bounds[1]
    outside = np.unique(values[below | above])[:2]
    return _Range(int(values.size), float(values.min()), float(values.max()), int(below.sum()), int(above.sum()),
                  {float(v) for v in outside})


_FRACTIONS = {0.1: "tenths", 0.01: "hundredths", 0.001: "thousandths"}


_UNIT_WORDS = {"deg C": "degree", "degrees": "degree"}


def _implausible_hint(layer: str, spec: LayerSpec, found: _Range, bounds: tuple[float, float, str]) -> str:
    """The likely cause of values outside the plausible range, and the config line that fixes it."""
    low, high, unit = bounds
    scale, offset = spec.scale, spec.offset
    entry = f'{layer} = {{ path = "{spec.path.as_posix()}", %s }} in [layers]'

    def fits(f: float, shift: float = 0.0) -> bool:
        # the values if the layer had scale x f and offset + shift (v = raw * scale + offset)
        lo, hi = ((found.low - offset) * f + offset + shift, (found.high - offset) * f + offset + shift)
        return low <= lo and hi <= high

    if len(found.outside_values) == 1 and found.below + found.above < found.cells:
        value = next(iter(found.outside_values))
        raw = (value - offset) / scale
        if float(raw).is_integer() and abs(raw) >= 99:  # a round code among plausible values: missing data?
            return (f"every value outside the range is {value:g}: if it marks missing data, set nodata = {raw:g} for "
                    "this layer: " + entry % f"nodata = {raw:g}" + "; otherwise fix the raster")
    if layer == "slope" and found.high > high:
        return ("a slope in percent rise? convert it to degrees (atan(percent / 100)), or leave out the slope layer "
                "to derive the slope from the elevation")
    if layer == "precipitation" and found.low < 0:
        return ("an amount of precipitation cannot be negative: check the layer's nodata value (nodata = ... in "
                f"[layers]) and the raster itself (gdalinfo -stats {spec.path.name})")
    share = (found.below + found.above) / max(found.cells, 1)
    if share < 0.01:  # a unit slip shifts most cells; a few outliers are artefacts of the raster
        return (f"only {100 * share:.2g} % of the cells are outside the range: artefacts of the raster? set them to "
                f"nodata (or correct them) in {spec.path.name}")
    if layer == "temperature" and fits(1.0, -273.15):
        return "stored in kelvin? set offset = -273.15 for this layer: " + entry % f"offset = {offset - 273.15:g}"
    for f, word in _FRACTIONS.items():
        if fits(f):
            keys = f"scale = {scale * f:g}" + ("" if offset == 0 else f", offset = {offset:g}")
            return f"stored in {word} of a {_UNIT_WORDS.get(unit, unit)}? set scale = {scale * f:g} for this layer: " + entry % keys
    if layer == "elevation" and fits(0.3048):
        return "in feet? set scale = 0.3048 for this layer: " + entry % f"scale = {scale * 0.3048:g}"
    return ("check the layer's unit (scale and offset in [layers]), its nodata value (nodata = ...) and the raster "
            f"itself (gdalinfo -stats {spec.path.name})")


def implausible_error(
    config: SuitabilityConfig, inputs: OverlayInputs, rules: SuitabilityRules, layers: list[str]
) -> InputError:
    """The error for values outside the plausible range of ``layers``: observed range, counts and likely fix."""
    lines = []
    first: tuple[str, _Range] | None = None
    for layer in layers:
        bounds = rules.plausible[layer]
        parts = per_window(inputs, _range_in_window, layer, bounds)
        found = parts[0]
        for part in parts[1:]:
            found = found.merge(part)
        spec = getattr(config.layers, layer)
        low, high, unit = bounds
        scaled = "" if (spec.scale, spec.offset) == (1.0, 0.0) else f" after scale = {spec.scale:g}, offset = {spec.offset:g}"
        lines.append(
            f"{layer} ({spec.path.name}): observed min {found.low:g}, max {found.high:g} {unit}{scaled}; plausible range "
            f"[{low:g}, {high:g}] {unit} (rules file {rules.file}, [plausible_range.{layer}]): {found.below} cells below, "
            f"{found.above} above, of {found.cells} inside the provinces. Likely fix: "
            + _implausible_hint(layer, spec, found, bounds)
        )
        first = first or (layer, found)
    assert first is not None
    layer, found = first
    return InputError(
        "values outside the physically plausible range inside the provinces:\n  " + "\n  ".join(lines),
        file=getattr(config.layers, layer).path, field=f"layers.{layer}", value=(found.low, found.high),
    )
