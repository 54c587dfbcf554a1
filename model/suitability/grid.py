"""A raster grid (CRS, affine transform, size) and the area of its cells: constant on projected grids (map
or ground area), by latitude band on the ellipsoid for geographic grids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyproj
import xarray as xr
from affine import Affine
from afforest.errors import InputError
from rasterio.crs import CRS


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS, affine transform (cell corner to map coordinates) and size."""

    crs: CRS
    transform: Affine
    height: int
    width: int
    cell_area_method: Literal["map", "ground"] = "map"
    """Projected grids: "map" = the constant map area of a cell, "ground" = map area / areal scale factor."""

    @property
    def geographic(self) -> bool:
        return bool(self.crs.is_geographic)

    @property
    def cells(self) -> int:
        return self.height * self.width

    def _pyproj(self) -> pyproj.CRS:
        return pyproj.CRS.from_user_input(self.crs.to_wkt())

    @property
    def unit_factor(self) -> float:
        """Metres (projected) or radians (geographic) per unit of the CRS axes."""
        return float(self._pyproj().axis_info[0].unit_conversion_factor)

    @property
    def ellipsoid(self) -> tuple[float, float]:
        """(semi-major axis a in m, first eccentricity squared e^2)."""
        ell = self._pyproj().ellipsoid
        if ell is None:
            raise InputError("the CRS has no ellipsoid: cell areas cannot be computed", field="crs", value=self.crs.to_string())
        a = float(ell.semi_major_metre)
        b = float(ell.semi_minor_metre)
        return a, 1.0 - (b * b) / (a * a)

    def describe(self) -> str:
        unit = "deg" if self.geographic else "m"
        scale = math.degrees(self.unit_factor) if self.geographic else self.unit_factor
        return (
            f"{self.crs.to_string()}, cell {abs(self.transform.a) * scale:g} x {abs(self.transform.e) * scale:g} {unit}, "
            f"{self.height} x {self.width} cells, origin ({self.transform.c:g}, {self.transform.f:g})"
        )

    def same_as(self, other: Grid) -> bool:
        return (
            self.crs == other.crs
            and (self.height, self.width) == (other.height, other.width)
            and self.transform.almost_equals(other.transform, precision=1e-9 * max(abs(self.transform.a), abs(self.transform.e)))
        )

    def row_latitudes_rad(self, rows: np.ndarray, where: float = 0.5) -> np.ndarray:
        """Latitude (radians) of the row edge/centre ``rows + where`` on a geographic grid."""
        y = self.transform.f + (np.asarray(rows, dtype=float) + where) * self.transform.e
        return y * self.unit_factor

    def cell_area_m2(
        self, row_start: int, row_stop: int, col_start: int = 0, col_stop: int | None = None
    ) -> float | np.ndarray:
        """Cell areas (m^2) of the window: a scalar (projected, map area), a column (geographic: by latitude,
        on the ellipsoid) or a 2-D array (projected, ground area)."""
        if not self.geographic:
            map_area = abs(self.transform.determinant) * self.unit_factor**2
            if self.cell_area_method == "map":
                return map_area
            cols = self.width if col_stop is None else col_stop
            return map_area / self.areal_scale(row_start, row_stop, col_start, cols)
        a, e2 = self.ellipsoid
        rows = np.arange(row_start, row_stop)
        north = _band_area_per_radian(self.row_latitudes_rad(rows, 0.0), a, e2)
        south = _band_area_per_radian(self.row_latitudes_rad(rows, 1.0), a, e2)
        dlon = abs(self.transform.a) * self.unit_factor
        return (np.abs(north - south) * dlon)[:, None]

    def areal_scale(self, row_start: int, row_stop: int, col_start: int, col_stop: int) -> np.ndarray:
        """Areal scale factor of the projection (map area / ground area) at the cell centres of a window.

        Exact (pyproj) on a lattice every ``_SCALE_LATTICE_CELLS`` cells plus the window's last row and
        column, bilinear in between: the factor is smooth on the scale of the Earth's radius, so the
        interpolated values agree with per-cell ones to about 2e-6, the accuracy of PROJ's own (numerically
        differentiated) factors, even 2000 km from the central meridian, at a fraction of the cost.
        """
        rows = _lattice(row_start, row_stop)
        cols = _lattice(col_start, col_stop)
        crs = pyproj.CRS.from_user_input(self.crs.to_wkt())
        to_lonlat = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
        x, y = self.transform @ (cols[None, :] + 0.5, rows[:, None] + 0.5)
        lon, lat = to_lonlat.transform(*np.broadcast_arrays(x, y))
        lattice = np.asarray(pyproj.Proj(crs).get_factors(lon, lat).areal_scale).reshape(len(rows), len(cols))
        all_rows = np.arange(row_start, row_stop)
        all_cols = np.arange(col_start, col_stop)
        across = np.stack([np.interp(all_cols, cols, line) for line in lattice])
        i = np.clip(np.searchsorted(rows, all_rows, side="right") - 1, 0, max(len(rows) - 2, 0))
        if len(rows) == 1:
            return np.broadcast_to(across, (len(all_rows), len(all_cols))).copy()
        t = ((all_rows - rows[i]) / (rows[i + 1] - rows[i]))[:, None]
        return across[i] * (1 - t) + across[i + 1] * t

    def block_transform(self, row0: int, col0: int) -> Affine:
        return self.transform @ Affine.translation(col0, row0)


_SCALE_LATTICE_CELLS = 16


def _lattice(start: int, stop: int) -> np.ndarray:
    points = np.arange(start, stop, _SCALE_LATTICE_CELLS)
    return points if points[-1] == stop - 1 else np.append(points, stop - 1)


def _band_area_per_radian(phi: np.ndarray, a: float, e2: float) -> np.ndarray:
    """Area between the equator and latitude phi per radian of longitude on an ellipsoid of revolution.

    S(phi) = (b^2 / 2) [sin phi / (1 - e^2 sin^2 phi) + atanh(e sin phi) / e]; on a sphere R^2 sin phi.
    """
    s = np.sin(phi)
    if e2 < 1e-15:
        return a * a * s
    e = math.sqrt(e2)
    b2 = a * a * (1.0 - e2)
    return 0.5 * b2 * (s / (1.0 - e2 * s * s) + np.arctanh(e * s) / e)


def grid_of(array: xr.DataArray, cell_area_method: Literal["map", "ground"] = "map") -> Grid:
    """The :class:`Grid` of a rioxarray array."""
    return Grid(
        crs=array.rio.crs, transform=array.rio.transform(), height=array.rio.height, width=array.rio.width,
        cell_area_method=cell_area_method,
    )
