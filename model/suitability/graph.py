"""The overlay's dask graph: one independent task per chunk reads its window of every layer and evaluates
the rules into cell codes; the mask and the per-province area summary are block functions of the codes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import dask
import dask.array as da
import numpy as np
from afforest.model.suitability.arrays import as_float, invalid_cells, lookup, strips
from afforest.model.suitability.codes import (
    ALL_FLAGS,
    ANY_RULE,
    FLAG_BIT,
    FLAG_BITS,
    LAND_TYPE_SHIFT,
    MASK_NODATA,
    PROVINCE_SHIFT,
    UNDECIDED_FLAGS,
    Exclusion,
)
from afforest.model.suitability.grid import Grid
from afforest.model.suitability.inputs import OverlayInputs, province_window, read_window
from afforest.model.suitability.rules import SuitabilityRules
from afforest.model.suitability.slope import extrapolate_edges, horn_slope


def _codes_strip(
    land_use: np.ndarray,
    soil: np.ndarray,
    elevation: np.ndarray,
    slope: np.ndarray,
    precipitation: np.ndarray,
    temperature: np.ndarray,
    province: np.ndarray,
    *,
    rules: SuitabilityRules,
    nodata: dict[str, float | None],
    scale: dict[str, tuple[float, float]],
    soil_map: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    code = np.zeros(land_use.shape, dtype=np.uint32)

    bad = invalid_cells(land_use, nodata["land_use"])
    code[bad] |= FLAG_BIT[Exclusion.NODATA_LAND_USE]
    pos, found = lookup(land_use, rules.land_use_codes)
    known = ~bad & found
    code[~bad & ~found] |= FLAG_BIT[Exclusion.UNKNOWN_LAND_USE]
    land_type = np.where(known, rules.land_use_type_index[pos], 0).astype(np.uint32)
    code[known & (land_type == 0)] |= FLAG_BIT[Exclusion.LAND_USE]
    min_slope = np.where(known, rules.land_use_min_slope_deg[pos], np.nan)

    slope_v = as_float(slope, nodata["slope"], scale["slope"])
    _flag_implausible(code, slope_v, rules.plausible.get("slope"), Exclusion.IMPLAUSIBLE_SLOPE)
    slope_ok = ~np.isnan(slope_v)
    code[~slope_ok] |= FLAG_BIT[Exclusion.NODATA_SLOPE]
    with np.errstate(invalid="ignore"):
        sloping = ~np.isnan(min_slope)
        code[sloping & slope_ok & ~(slope_v > min_slope)] |= FLAG_BIT[Exclusion.SLOPING_CROPLAND]
        code[slope_ok & ~(slope_v < rules.slope_max_exclusive_deg)] |= FLAG_BIT[Exclusion.SLOPE]

    bad = invalid_cells(soil, nodata["soil_order"])
    code[bad] |= FLAG_BIT[Exclusion.NODATA_SOIL_ORDER]
    soil_values = soil
    if soil_map is not None:
        raw_pos, raw_found = lookup(soil, soil_map[0])
        soil_values = np.where(raw_found, soil_map[1][raw_pos], -1)
    pos, found = lookup(soil_values, rules.soil_codes)
    known = ~bad & found
    code[~bad & ~found] |= FLAG_BIT[Exclusion.UNKNOWN_SOIL_ORDER]
    code[known & ~rules.soil_suitable[pos]] |= FLAG_BIT[Exclusion.SOIL]

    elev = as_float(elevation, nodata["elevation"], scale["elevation"])
    _flag_implausible(code, elev, rules.plausible.get("elevation"), Exclusion.IMPLAUSIBLE_ELEVATION)
    ok = ~np.isnan(elev)
    code[~ok] |= FLAG_BIT[Exclusion.NODATA_ELEVATION]
    code[ok & ~(elev < rules.elevation_max_exclusive_m)] |= FLAG_BIT[Exclusion.ELEVATION]

    p = as_float(precipitation, nodata["precipitation"], scale["precipitation"])
    t = as_float(temperature, nodata["temperature"], scale["temperature"])
    _flag_implausible(code, p, rules.plausible.get("precipitation"), Exclusion.IMPLAUSIBLE_PRECIPITATION)
    _flag_implausible(code, t, rules.plausible.get("temperature"), Exclusion.IMPLAUSIBLE_TEMPERATURE)
    p_ok, t_ok = ~np.isnan(p), ~np.isnan(t)
    code[~p_ok] |= FLAG_BIT[Exclusion.NODATA_PRECIPITATION]
    code[~t_ok] |= FLAG_BIT[Exclusion.NODATA_TEMPERATURE]
    denominator = t + rules.temperature_offset_c
    with np.errstate(invalid="ignore"):
        humid = (denominator > 0) & (p > rules.aridity_min_exclusive * denominator)
    code[p_ok & t_ok & ~humid] |= FLAG_BIT[Exclusion.ARIDITY]

    code[province < 0] |= FLAG_BIT[Exclusion.OUTSIDE]
    code[province == -2] |= FLAG_BIT[Exclusion.UNLISTED_PROVINCE]
    code |= land_type << np.uint32(LAND_TYPE_SHIFT)
    region = np.where(province >= 0, province + 1, 0).astype(np.uint64) << np.uint64(PROVINCE_SHIFT)
    return region | code


def _flag_implausible(code: np.ndarray, values: np.ndarray, bounds: tuple[float, float, str] | None, flag: Exclusion) -> None:
    """Set ``flag`` where a (scaled, valid) value lies outside its plausible range; NaN (nodata) never does.
    Two comparisons per cell; the flagged cells are only indexed when there are any."""
    if bounds is None:
        return
    with np.errstate(invalid="ignore"):
        bad = (values < bounds[0]) | (values > bounds[1])
    if bad.any():
        code[bad] |= FLAG_BIT[flag]


def _elevation_and_slope(inputs: OverlayInputs, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
    """The window's elevation (raw values) and its slope, from one read with a one-cell halo."""
    height, width = inputs.grid.height, inputs.grid.width
    top, bottom, left, right = max(r0 - 1, 0), min(r1 + 1, height), max(c0 - 1, 0), min(c1 + 1, width)
    raw = read_window(inputs, "elevation", top, bottom, left, right)
    zp = extrapolate_edges(
        as_float(raw, inputs.nodata["elevation"], inputs.scale["elevation"]), r0 > 0, r1 < height, c0 > 0, c1 < width
    )
    return raw[r0 - top : r1 - top, c0 - left : c1 - left], horn_slope(zp, r0, inputs.grid)


def _window_codes(
    block_info: dict | None = None,
    *,
    inputs: OverlayInputs,
    rules: SuitabilityRules,
    soil_map: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    """Cell codes of one chunk: read its window of every layer, then evaluate strip by strip."""
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    nodata, scale = dict(inputs.nodata), dict(inputs.scale)
    if inputs.slope_derived:
        elevation, slope = _elevation_and_slope(inputs, r0, r1, c0, c1)
        nodata["slope"], scale["slope"] = None, (1.0, 0.0)
    else:
        elevation, slope = (read_window(inputs, n, r0, r1, c0, c1) for n in ("elevation", "slope"))
    layers = (
        read_window(inputs, "land_use", r0, r1, c0, c1),
        read_window(inputs, "soil_order", r0, r1, c0, c1),
        elevation,
        slope,
        read_window(inputs, "precipitation", r0, r1, c0, c1),
        read_window(inputs, "temperature", r0, r1, c0, c1),
        province_window(inputs, r0, r1, c0, c1),
    )
    code = np.empty((r1 - r0, c1 - c0), dtype=np.uint64)
    for s0, s1 in strips(r1 - r0):
        code[s0:s1] = _codes_strip(
            *(layer[s0:s1] for layer in layers), rules=rules, nodata=nodata, scale=scale, soil_map=soil_map
        )
    return code


def cell_codes(inputs: OverlayInputs, rules: SuitabilityRules) -> da.Array:
    """Lazy uint64 cell codes: :class:`Exclusion` flags (bits 0-23), land-type index (bits 24-31) and
    province (bits 32-63: 0 outside, k = province index + 1). One independent task per chunk."""
    soil_map = None
    if inputs.soil_code_map:
        keys = np.array(sorted(inputs.soil_code_map), dtype=np.int64)
        soil_map = (keys, np.array([inputs.soil_code_map[int(k)] for k in keys], dtype=np.int64))
    shared = dask.delayed(inputs, pure=False, traverse=False)  # one graph key, not a copy per task
    return da.map_blocks(
        _window_codes,
        dtype=np.uint64,
        chunks=inputs.chunks,
        meta=np.empty((0, 0), dtype=np.uint64),
        name=f"afforest-cell-codes-{uuid.uuid4().hex}",
        inputs=shared,
        rules=rules,
        soil_map=soil_map,
    )


def province_block(code: np.ndarray) -> np.ndarray:
    """0-based province index (-1 outside) of a block of cell codes."""
    return (code >> np.uint64(PROVINCE_SHIFT)).astype(np.int32) - 1


def province_index(codes: da.Array) -> da.Array:
    """0-based province index of each cell (-1 outside) from cell codes."""
    return da.map_blocks(province_block, codes, dtype=np.int32, meta=np.empty((0, 0), dtype=np.int32))


def _mask_block(code: np.ndarray) -> np.ndarray:
    out = np.empty(code.shape, dtype=np.uint8)
    for r0, r1 in strips(code.shape[0]):
        out[r0:r1] = _mask_strip(code[r0:r1])
    return out


def _mask_strip(code: np.ndarray) -> np.ndarray:
    flags = (code & FLAG_BITS).astype(np.uint32)
    land_type = ((code >> np.uint64(LAND_TYPE_SHIFT)) & np.uint64(0xFF)).astype(np.uint8)
    out = np.where(flags == 0, land_type, np.uint8(0))
    undecided = ((flags & ANY_RULE) == 0) & ((flags & UNDECIDED_FLAGS) != 0)
    out[undecided | ((flags & Exclusion.OUTSIDE) != 0)] = MASK_NODATA
    return out


def afforestable_mask(codes: da.Array) -> da.Array:
    """uint8 mask from cell codes: 0 excluded, k afforestable land type k (1-based), 255 outside/undecidable."""
    return da.map_blocks(_mask_block, codes, dtype=np.uint8, meta=np.empty((0, 0), dtype=np.uint8))


@dataclass(frozen=True)
class SummaryLayout:
    """Offsets of the per-province statistics in the flat vector a block summary returns."""

    provinces: int
    land_types: int

    @property
    def width(self) -> int:
        # suitable[L+1], land type area[L+1], province area, undecided area, flag areas
        return 2 * (self.land_types + 1) + 2 + len(ALL_FLAGS)

    @property
    def size(self) -> int:
        # per-province statistics, then the number of cells with an unlisted province code
        return self.provinces * self.width + 1


def _summary_block(code: np.ndarray, block_info: dict | None = None, *, grid: Grid, layout: SummaryLayout) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    total = np.zeros(layout.size)
    for s0, s1 in strips(code.shape[0]):
        total += _summary_strip(code[s0:s1], grid.cell_area_m2(r0 + s0, r0 + s1, c0, c1), layout)
    return total.reshape(1, 1, layout.size)


def _summary_strip(code: np.ndarray, cell_area: float | np.ndarray, layout: SummaryLayout) -> np.ndarray:
    province = province_block(code)
    inside = province >= 0
    p = province[inside]
    c = (code[inside] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    # Constant cell area (projected grids): count cells and scale; otherwise weight by each cell's area.
    a = None if np.ndim(cell_area) == 0 else np.broadcast_to(cell_area, code.shape)[inside]
    scale = float(cell_area) if a is None else 1.0
    n_p, n_l = layout.provinces, layout.land_types + 1

    def area_by(keys: np.ndarray, select: np.ndarray | None, length: int) -> np.ndarray:
        if select is None:
            return np.bincount(keys, weights=a, minlength=length) * scale
        return np.bincount(keys[select], weights=None if a is None else a[select], minlength=length) * scale

    flags = c & FLAG_BITS
    land_type = np.minimum((c >> LAND_TYPE_SHIFT).astype(np.int64), n_l - 1)
    key = p * n_l + land_type
    parts = [
        area_by(key, flags == 0, n_p * n_l).reshape(n_p, n_l),
        area_by(key, None, n_p * n_l).reshape(n_p, n_l),
        area_by(p, None, n_p)[:, None],
    ]
    undecided = ((flags & ANY_RULE) == 0) & ((flags & UNDECIDED_FLAGS) != 0)
    parts.append(area_by(p, undecided, n_p)[:, None])
    present = int(np.bitwise_or.reduce(flags)) if flags.size else 0
    for flag in ALL_FLAGS:
        if present & flag:
            parts.append(area_by(p, (flags & FLAG_BIT[flag]) != 0, n_p)[:, None])
        else:
            parts.append(np.zeros((n_p, 1)))
    unlisted = 0
    if not inside.all() and int(np.bitwise_or.reduce(code, axis=None)) & Exclusion.UNLISTED_PROVINCE:
        unlisted = np.count_nonzero(code & np.uint64(Exclusion.UNLISTED_PROVINCE))
    return np.append(np.concatenate(parts, axis=1).ravel(), float(unlisted))


def summaries(codes: da.Array, grid: Grid, layout: SummaryLayout) -> da.Array:
    """Per-province statistics of the whole grid, laid out by ``layout`` (a sum of one vector per chunk)."""
    per_block = da.map_blocks(
        _summary_block,
        codes,
        grid=grid,
        layout=layout,
        new_axis=2,
        chunks=((1,) * codes.numblocks[0], (1,) * codes.numblocks[1], (layout.size,)),
        dtype=np.float64,
        meta=np.empty((0, 0, 0), dtype=np.float64),
    )
    return per_block.sum(axis=(0, 1))
