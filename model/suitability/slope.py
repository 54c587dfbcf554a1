"""Slope in degrees from the elevation by Horn's (1981) method, on projected and geographic grids."""

from __future__ import annotations

import dask.array as da
import numpy as np
from afforest.model.suitability.arrays import as_float, strips
from afforest.model.suitability.grid import Grid


def extrapolate_edges(z: np.ndarray, top: bool, bottom: bool, left: bool, right: bool) -> np.ndarray:
    """Pad the sides that have no halo (``False``) by linear extrapolation (exact for a plane)."""

    def pad(arr: np.ndarray, axis: int, first: bool) -> np.ndarray:
        n = arr.shape[axis]
        edge = np.take(arr, [0] if first else [n - 1], axis=axis)
        inner = np.take(arr, [1] if first else [n - 2], axis=axis) if n > 1 else edge
        extra = 2.0 * edge - inner
        return np.concatenate([extra, arr] if first else [arr, extra], axis=axis)

    if not top:
        z = pad(z, 0, True)
    if not bottom:
        z = pad(z, 0, False)
    if not left:
        z = pad(z, 1, True)
    if not right:
        z = pad(z, 1, False)
    return z


def horn_slope(zp: np.ndarray, row0: int, grid: Grid) -> np.ndarray:
    """Slope (degrees, float32) of the interior of ``zp`` (elevation in m with a one-cell border), whose first
    interior row is grid row ``row0``, by Horn's (1981) 3 x 3 differences, strip by strip."""
    h = zp.shape[0] - 2
    if grid.geographic:
        a, e2 = grid.ellipsoid
        phi = grid.row_latitudes_rad(np.arange(row0, row0 + h))
        w = 1.0 - e2 * np.sin(phi) ** 2
        dx = (a / np.sqrt(w) * np.cos(phi) * abs(grid.transform.a) * grid.unit_factor)[:, None]
        dy = (a * (1.0 - e2) / w**1.5 * abs(grid.transform.e) * grid.unit_factor)[:, None]
    else:
        dx = abs(grid.transform.a) * grid.unit_factor
        dy = abs(grid.transform.e) * grid.unit_factor
    out = np.empty((h, zp.shape[1] - 2), dtype=np.float32)
    for r0, r1 in strips(h):
        z = zp[r0 : r1 + 2]
        sx = dx if np.ndim(dx) == 0 else dx[r0:r1]
        sy = dy if np.ndim(dy) == 0 else dy[r0:r1]
        gx = ((z[:-2, 2:] + 2.0 * z[1:-1, 2:] + z[2:, 2:]) - (z[:-2, :-2] + 2.0 * z[1:-1, :-2] + z[2:, :-2])) / (8.0 * sx)
        gy = ((z[2:, :-2] + 2.0 * z[2:, 1:-1] + z[2:, 2:]) - (z[:-2, :-2] + 2.0 * z[:-2, 1:-1] + z[:-2, 2:])) / (8.0 * sy)
        slope = np.degrees(np.arctan(np.hypot(gx, gy)))
        slope[np.isnan(z[1:-1, 1:-1])] = np.nan  # Horn's stencil skips the centre cell
        out[r0:r1] = slope
    return out


def _slope_block(
    z: np.ndarray,
    block_info: dict | None = None,
    *,
    grid: Grid,
    row_chunks: tuple[int, ...],
    nodata: float | None,
    scale: tuple[float, float],
) -> np.ndarray:
    info = block_info[0]
    (i, j), (ni, nj) = info["chunk-location"], info["num-chunks"]
    zp = extrapolate_edges(as_float(z, nodata, scale), i > 0, i < ni - 1, j > 0, j < nj - 1)
    return horn_slope(zp, int(sum(row_chunks[:i])), grid)


def slope_degrees(
    elevation: da.Array, grid: Grid, nodata: float | None = None, scale: tuple[float, float] = (1.0, 0.0)
) -> da.Array:
    """Slope in degrees of a dask elevation array in metres (after ``scale``), with a one-cell halo.

    Horn's method, the one of GDAL and ArcGIS; cell sizes in metres from the CRS (geographic grids: the
    ellipsoid's local radii at each row's latitude). Grid edges are extrapolated linearly; a nodata cell
    makes itself and its eight neighbours nodata (NaN). The overlay computes the same slope from each
    chunk's own window read (:func:`cell_codes`).
    """
    return da.map_overlap(
        _slope_block,
        elevation,
        depth=1,
        boundary="none",
        trim=False,
        dtype=np.float32,
        chunks=elevation.chunks,
        grid=grid,
        row_chunks=tuple(elevation.chunks[0]),
        nodata=nodata,
        scale=scale,
        meta=np.empty((0, 0), dtype=np.float32),
    )
