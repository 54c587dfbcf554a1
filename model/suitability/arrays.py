"""Array helpers of the block functions: nodata cells, scaled floats, code look-up, row strips (the strips
bound the float64 temporaries of a block to a strip of the chunk).
"""

from __future__ import annotations

import numpy as np


def invalid_cells(values: np.ndarray, nodata: float | None) -> np.ndarray:
    """Where ``values`` are nodata: NaN (floats) or the layer's nodata value."""
    bad = np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, dtype=bool)
    if nodata is not None and not np.isnan(nodata):
        bad |= values == nodata
    return bad


def as_float(values: np.ndarray, nodata: float | None, scale: tuple[float, float]) -> np.ndarray:
    """``values`` as float64 after ``scale`` (value = raw x scale + offset), nodata as NaN."""
    out = values.astype(np.float64)
    if scale != (1.0, 0.0):
        out *= scale[0]
        out += scale[1]
    out[invalid_cells(values, nodata)] = np.nan
    return out


_LOOKUP_TABLE_MAX_CODE = 1 << 16


def lookup(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each value in the sorted ``codes`` and whether it is there (a table for small codes)."""
    if values.dtype.kind == "u" and values.dtype.itemsize <= 2:
        table = np.full(1 << (8 * values.dtype.itemsize), -1, dtype=np.int32)  # every possible value
        small = codes[(codes >= 0) & (codes < len(table))]
        table[small] = np.searchsorted(codes, small)
        index = table[values]
        return np.maximum(index, 0), index >= 0
    if values.dtype.kind in "ui" and len(codes) and 0 <= codes[0] and codes[-1] < _LOOKUP_TABLE_MAX_CODE:
        table = np.full(int(codes[-1]) + 2, -1, dtype=np.int32)
        table[codes] = np.arange(len(codes))
        index = table[np.clip(values, -1, int(codes[-1]) + 1)]
        return np.maximum(index, 0), index >= 0
    pos = np.minimum(np.searchsorted(codes, values), len(codes) - 1)
    return pos, codes[pos] == values


STRIP_ROWS = 256
"""Rows a block function processes at a time: its float64 temporaries then scale with a strip of the
chunk, not the whole chunk, so peak memory stays near the chunk's inputs and outputs."""


def strips(rows: int) -> list[tuple[int, int]]:
    """Row ranges of at most :data:`STRIP_ROWS` rows covering ``rows``."""
    return [(r, min(r + STRIP_ROWS, rows)) for r in range(0, rows, STRIP_ROWS)]
