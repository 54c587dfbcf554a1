"""A majority-downsampled preview of a class raster (the mask, the provinces) for maps."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
from afforest.model.suitability.arrays import STRIP_ROWS
from afforest.model.suitability.grid import Grid


def _mode_block(block: np.ndarray, *, factor: int, values: int, fill: int) -> np.ndarray:
    """Most frequent value 0..values-1 in each factor x factor tile (``fill`` where none occurs)."""
    h, w = block.shape
    th, tw = -(-h // factor), -(-w // factor)
    counts = np.zeros((th * tw, values), dtype=np.int64)
    column_tile = (np.arange(w) // factor).astype(np.int32)
    rows_per_strip = max(factor, STRIP_ROWS // factor * factor)
    for r0 in range(0, h, rows_per_strip):
        strip = block[r0 : r0 + rows_per_strip]
        key = ((np.arange(r0, r0 + len(strip)) // factor).astype(np.int32)[:, None] * tw + column_tile) * values
        valid = (strip >= 0) & (strip < values)
        counts += np.bincount((key + strip.astype(np.int32))[valid], minlength=th * tw * values).reshape(th * tw, values)
    out = counts.argmax(axis=1)
    out[counts.max(axis=1) == 0] = fill
    return out.reshape(th, tw).astype(np.int32)


def majority_preview(array: da.Array, factor: int, values: int, fill: int) -> da.Array:
    """Majority of each ``factor`` x ``factor`` tile of a class raster (values 0..values-1; ``fill`` where none)."""
    chunks = tuple(tuple(-(-c // factor) for c in axis) for axis in array.chunks)
    return da.map_blocks(
        _mode_block, array, factor=factor, values=values, fill=fill, chunks=chunks, dtype=np.int32,
        meta=np.empty((0, 0), dtype=np.int32),
    )


def preview_factor(grid: Grid, chunk: int, pixels: int) -> int:
    """Smallest divisor of the chunk size that brings the longer side to at most ``pixels``."""
    need = max(1, math.ceil(max(grid.height, grid.width) / pixels))
    return next((f for f in range(need, chunk + 1) if chunk % f == 0), chunk)
