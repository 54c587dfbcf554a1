"""Raster suitability overlay (Table 1 of the study): where planting is physically possible.

A cell is afforestable where all five factors of Table 1 admit it and no input is nodata:

* land use (RESDC class codes): an admitted class, and for cropland a slope above 25 degrees;
* soil order: one of the eight admitted orders;
* aridity: de Martonne index I = P / (T + 10) > 30, i.e. P > 30 (T + 10) with T + 10 > 0;
* elevation below 3400 m; slope below 40 degrees (derived from the elevation when no slope layer is given).

The thresholds and class lists live in ``data/suitability_rules.toml`` (:func:`load_suitability_rules`);
the inputs are named in a TOML config (:func:`load_suitability_config`). Layers are opened lazily with
rioxarray; the overlay is a dask array of ``chunk_size`` x ``chunk_size`` blocks whose independent tasks
read their own window of every layer (the elevation with a one-cell halo), so memory is bounded by the
chunk size, not the grid, and the same graph runs on the threaded scheduler or on a ``dask.distributed``
cluster (files must then be readable by every worker).

Each cell gets a 64-bit code (:class:`Exclusion` flags in bits 0-23, land-type index in bits 24-31,
province in bits 32-63). From it come the afforestable mask (uint8: 0 excluded by a rule, k = afforestable and of land type k
(1-based, order of :data:`afforest.data.AFFORESTABLE_LAND_TYPES`), 255 = outside the provinces or not
decidable because of nodata) and, per province, the afforestable area by land type (Table 2), the area
each rule excludes and the area lost to nodata. Cell areas follow the CRS: projected grids have a
constant cell area (|det A| of the affine transform, in the CRS's linear unit squared; or, with
``cell_area = "ground"``, that area divided by the projection's areal scale factor), geographic grids the
exact area of each latitude band on the CRS's ellipsoid.
"""

from __future__ import annotations

import json
import math
import os
import threading
import uuid
import warnings
from collections import Counter
from dataclasses import dataclass, field
from enum import IntFlag
from pathlib import Path
from typing import Any, Literal

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.features
import rasterio.warp
import rioxarray
import xarray as xr
from affine import Affine
from afforest.data import AFFORESTABLE_LAND_TYPES, data_path, read_toml
from afforest.errors import InputError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

# rasterio.features.rasterize creates its in-memory raster before giving it the transform we pass, and warns
# about that moment (in dask's worker threads, so a local catch_warnings would not be thread-safe); the
# rasterised GeoJSON provinces are correct (tests/test_suitability.py checks them at cell centres).
warnings.filterwarnings(
    "ignore", message="Dataset has no geotransform, gcps, or rpcs", category=rasterio.errors.NotGeoreferencedWarning
)

__all__ = [
    "Exclusion",
    "RULE_FLAGS",
    "NODATA_FLAGS",
    "RASTER_LAYERS",
    "MASK_NODATA",
    "SuitabilityRules",
    "SuitabilityConfig",
    "SuitabilityWarning",
    "Grid",
    "OverlayInputs",
    "SuitabilityResult",
    "load_suitability_rules",
    "load_suitability_config",
    "open_inputs",
    "cell_codes",
    "province_index",
    "afforestable_mask",
    "overlay",
    "slope_degrees",
    "PLAUSIBLE_LAYERS",
    "LayerReadError",
    "partial_path",
]

M2_PER_10K_HA = 1e8
"""Square metres in 10^4 ha (unit definition: 1 ha = 10^4 m^2)."""

MASK_NODATA = 255
"""Mask value of cells outside the provinces or not decidable because an input is nodata."""

RASTER_LAYERS: tuple[str, ...] = ("land_use", "soil_order", "elevation", "slope", "precipitation", "temperature")
"""Raster inputs of the overlay (``slope`` optional: derived from ``elevation`` when absent)."""

RESAMPLING: dict[str, Resampling] = {
    "land_use": Resampling.nearest,
    "soil_order": Resampling.nearest,
    "provinces": Resampling.nearest,
    "elevation": Resampling.bilinear,
    "slope": Resampling.bilinear,
    "precipitation": Resampling.bilinear,
    "temperature": Resampling.bilinear,
}
"""How a layer is resampled onto the land-use grid when ``align = "land_use"``: classes by nearest
neighbour (a class is never averaged), continuous fields bilinearly (GDAL skips nodata source cells)."""


class Exclusion(IntFlag):
    """Why a cell is not afforestable (bits of the cell code)."""

    LAND_USE = 1 << 0
    """Land-use class not admitted (e.g. closed forest, high-cover grassland, water, built-up land)."""
    SLOPING_CROPLAND = 1 << 1
    """Cropland whose slope is not above the class's ``min_slope_deg`` (25 degrees)."""
    SOIL = 1 << 2
    ARIDITY = 1 << 3
    ELEVATION = 1 << 4
    SLOPE = 1 << 5
    NODATA_LAND_USE = 1 << 8
    NODATA_SOIL_ORDER = 1 << 9
    NODATA_ELEVATION = 1 << 10
    NODATA_SLOPE = 1 << 11
    NODATA_PRECIPITATION = 1 << 12
    NODATA_TEMPERATURE = 1 << 13
    IMPLAUSIBLE_ELEVATION = 1 << 14
    """A value outside the layer's physically plausible range (``[plausible_range]`` of the rules)."""
    IMPLAUSIBLE_SLOPE = 1 << 15
    UNKNOWN_LAND_USE = 1 << 16
    UNKNOWN_SOIL_ORDER = 1 << 17
    IMPLAUSIBLE_PRECIPITATION = 1 << 18
    IMPLAUSIBLE_TEMPERATURE = 1 << 19
    OUTSIDE = 1 << 20
    """Not inside any listed province."""
    UNLISTED_PROVINCE = 1 << 21
    """A province-raster code that is neither nodata, nor in ``codes``, nor in ``ignore_codes``."""


RULE_FLAGS: dict[str, Exclusion] = {
    "land_use": Exclusion.LAND_USE,
    "sloping_cropland": Exclusion.SLOPING_CROPLAND,
    "soil": Exclusion.SOIL,
    "aridity": Exclusion.ARIDITY,
    "elevation": Exclusion.ELEVATION,
    "slope": Exclusion.SLOPE,
}
NODATA_FLAGS: dict[str, Exclusion] = {
    "land_use": Exclusion.NODATA_LAND_USE,
    "soil_order": Exclusion.NODATA_SOIL_ORDER,
    "elevation": Exclusion.NODATA_ELEVATION,
    "slope": Exclusion.NODATA_SLOPE,
    "precipitation": Exclusion.NODATA_PRECIPITATION,
    "temperature": Exclusion.NODATA_TEMPERATURE,
}
UNKNOWN_FLAGS: dict[str, Exclusion] = {
    "land_use": Exclusion.UNKNOWN_LAND_USE,
    "soil_order": Exclusion.UNKNOWN_SOIL_ORDER,
}
IMPLAUSIBLE_FLAGS: dict[str, Exclusion] = {
    "elevation": Exclusion.IMPLAUSIBLE_ELEVATION,
    "slope": Exclusion.IMPLAUSIBLE_SLOPE,
    "precipitation": Exclusion.IMPLAUSIBLE_PRECIPITATION,
    "temperature": Exclusion.IMPLAUSIBLE_TEMPERATURE,
}
PLAUSIBLE_LAYERS: tuple[str, ...] = tuple(IMPLAUSIBLE_FLAGS)
"""Continuous layers whose values are checked against ``[plausible_range]`` of the rules."""
_ANY_RULE = int(sum(RULE_FLAGS.values()))
_ANY_NODATA = int(sum(NODATA_FLAGS.values()))
_ANY_UNKNOWN = int(sum(UNKNOWN_FLAGS.values()))
_ANY_IMPLAUSIBLE = int(sum(IMPLAUSIBLE_FLAGS.values()))
_UNDECIDED = _ANY_NODATA | _ANY_UNKNOWN | _ANY_IMPLAUSIBLE
"""Flags that make a cell undecidable (mask 255) unless a rule excludes it on valid data."""
_FLAG_BITS = (1 << 24) - 1
_LAND_TYPE_SHIFT = 24
_ALL_FLAGS: tuple[Exclusion, ...] = tuple(Exclusion)
_BIT: dict[Exclusion, np.uint32] = {flag: np.uint32(flag) for flag in Exclusion}


class SuitabilityWarning(UserWarning):
    """Part of a province cannot be evaluated (nodata in some layer): it is counted as not afforestable."""


def _rebuild_input_error(cls: type, reason: str, file: str | None, field: str | None, value: Any, row: int | None) -> Exception:
    return cls(reason, file=file, field=field, value=value, row=row)


class LayerReadError(InputError):
    """A layer could not be read during the overlay (e.g. a truncated or corrupt GeoTIFF). Raised inside a
    dask task; pickles with its file and field, so it arrives intact from a distributed worker."""

    def __reduce__(self) -> tuple:
        return (_rebuild_input_error, (type(self), self.reason, self.file, self.field, self.value, self.row))


def partial_path(path: str | Path) -> Path:
    """A unique temporary name next to ``path`` (hidden, ``.partial`` before the suffix): outputs are
    written there and renamed onto ``path`` only when the whole run has succeeded."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.partial{path.suffix}")


# --------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class SuitabilityRules:
    """Table 1 as arrays for vectorised lookup (codes sorted ascending)."""

    land_use_codes: np.ndarray
    land_use_names: tuple[str, ...]
    land_use_type_index: np.ndarray
    """1-based index into ``land_types`` of each land-use code, 0 for an excluded class."""
    land_use_min_slope_deg: np.ndarray
    """Slope a class must exceed (NaN = no slope condition)."""
    soil_codes: np.ndarray
    soil_names: tuple[str, ...]
    soil_suitable: np.ndarray
    aridity_min_exclusive: float
    temperature_offset_c: float
    elevation_max_exclusive_m: float
    slope_max_exclusive_deg: float
    land_types: tuple[str, ...] = AFFORESTABLE_LAND_TYPES
    file: str = ""
    plausible: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    """Per continuous layer: (min, max, unit) of physically possible values, inclusive; layers not listed
    are not checked."""

    def land_use_code_of(self, land_type: str) -> list[int]:
        """RESDC codes counted under ``land_type``."""
        k = self.land_types.index(land_type) + 1
        return [int(c) for c, i in zip(self.land_use_codes, self.land_use_type_index) if i == k]


def _require(table: dict[str, Any], key: str, file: Path, where: str) -> Any:
    if key not in table:
        raise InputError("missing key", file=file, field=f"{where}.{key}")
    return table[key]


def _number(value: Any, file: Path, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError("must be a finite number", file=file, field=field, value=value)
    return float(value)


def load_suitability_rules(path: str | Path | None = None) -> SuitabilityRules:
    """Read and check a rules file (default: the study's Table 1, ``data/suitability_rules.toml``)."""
    file = Path(path) if path is not None else data_path("suitability_rules.toml")
    raw = read_toml(file)
    for section in ("land_use", "soil", "aridity", "elevation", "slope"):
        if not isinstance(raw.get(section), dict):
            raise InputError("missing section", file=file, field=section)

    classes = _require(raw["land_use"], "classes", file, "land_use")
    lu: list[tuple[int, str, int, float]] = []
    for i, entry in enumerate(classes):
        where = f"land_use.classes[{i}]"
        code = _require(entry, "code", file, where)
        if isinstance(code, bool) or not isinstance(code, int):
            raise InputError("code must be an integer", file=file, field=f"{where}.code", value=code)
        land_type = entry.get("land_type")
        if land_type is not None and land_type not in AFFORESTABLE_LAND_TYPES:
            raise InputError(
                f"unknown land type; expected one of {list(AFFORESTABLE_LAND_TYPES)}",
                file=file, field=f"{where}.land_type", value=land_type,
            )
        min_slope = entry.get("min_slope_deg")
        if min_slope is not None:
            min_slope = _number(min_slope, file, f"{where}.min_slope_deg")
            if land_type is None:
                raise InputError("min_slope_deg needs a land_type", file=file, field=f"{where}.min_slope_deg", value=min_slope)
        index = AFFORESTABLE_LAND_TYPES.index(land_type) + 1 if land_type else 0
        lu.append((code, str(entry.get("name", code)), index, np.nan if min_slope is None else min_slope))
    codes = [c for c, *_ in lu]
    if len(set(codes)) != len(codes):
        dup = next(c for c in codes if codes.count(c) > 1)
        raise InputError("duplicate land-use code", file=file, field="land_use.classes", value=dup)
    lu.sort()

    orders = _require(raw["soil"], "orders", file, "soil")
    soil: list[tuple[int, str, bool]] = []
    for i, entry in enumerate(orders):
        where = f"soil.orders[{i}]"
        code = _require(entry, "code", file, where)
        suitable = _require(entry, "suitable", file, where)
        if isinstance(code, bool) or not isinstance(code, int):
            raise InputError("code must be an integer", file=file, field=f"{where}.code", value=code)
        if not isinstance(suitable, bool):
            raise InputError("suitable must be true or false", file=file, field=f"{where}.suitable", value=suitable)
        soil.append((code, str(entry.get("name", code)), suitable))
    soil_codes = [c for c, *_ in soil]
    if len(set(soil_codes)) != len(soil_codes):
        raise InputError("duplicate soil-order code", file=file, field="soil.orders")
    soil.sort()

    return SuitabilityRules(
        plausible=_plausible_ranges(raw, file),
        land_use_codes=np.array([c for c, *_ in lu], dtype=np.int64),
        land_use_names=tuple(n for _, n, _, _ in lu),
        land_use_type_index=np.array([k for *_, k, _ in lu], dtype=np.uint32),
        land_use_min_slope_deg=np.array([s for *_, s in lu], dtype=np.float64),
        soil_codes=np.array([c for c, *_ in soil], dtype=np.int64),
        soil_names=tuple(n for _, n, _ in soil),
        soil_suitable=np.array([s for *_, s in soil], dtype=bool),
        aridity_min_exclusive=_number(_require(raw["aridity"], "min_exclusive", file, "aridity"), file, "aridity.min_exclusive"),
        temperature_offset_c=_number(
            _require(raw["aridity"], "temperature_offset_c", file, "aridity"), file, "aridity.temperature_offset_c"
        ),
        elevation_max_exclusive_m=_number(
            _require(raw["elevation"], "max_exclusive_m", file, "elevation"), file, "elevation.max_exclusive_m"
        ),
        slope_max_exclusive_deg=_number(
            _require(raw["slope"], "max_exclusive_deg", file, "slope"), file, "slope.max_exclusive_deg"
        ),
        file=str(file),
    )


def _plausible_ranges(raw: dict[str, Any], file: Path) -> dict[str, tuple[float, float, str]]:
    """``[plausible_range.<layer>]`` of a rules file (min, max, unit, source); the shipped ranges when the
    file has no such section (a rules file copied before the section existed)."""
    section = raw.get("plausible_range")
    if section is None:
        shipped = data_path("suitability_rules.toml")
        if file.resolve() == shipped.resolve():
            raise InputError("missing section", file=file, field="plausible_range")
        return load_suitability_rules(shipped).plausible
    if not isinstance(section, dict):
        raise InputError("must be a table of layers", file=file, field="plausible_range")
    out: dict[str, tuple[float, float, str]] = {}
    for layer, entry in section.items():
        where = f"plausible_range.{layer}"
        if layer not in PLAUSIBLE_LAYERS:
            raise InputError(f"not a checked layer; expected one of {list(PLAUSIBLE_LAYERS)}", file=file, field=where)
        if not isinstance(entry, dict):
            raise InputError("must be a table with min, max, unit and source", file=file, field=where)
        low = _number(_require(entry, "min", file, where), file, f"{where}.min")
        high = _number(_require(entry, "max", file, where), file, f"{where}.max")
        unit = _require(entry, "unit", file, where)
        source = _require(entry, "source", file, where)
        if not isinstance(source, str) or not source.strip():
            raise InputError("must name where the bound comes from", file=file, field=f"{where}.source", value=source)
        if not low < high:
            raise InputError(f"min must be below max ({high})", file=file, field=f"{where}.min", value=low)
        out[layer] = (low, high, str(unit))
    return out


# -------------------------------------------------------------------------------------------- config


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerSpec(_Strict):
    """One raster input: its file, and a linear rescaling value x scale + offset (e.g. 0.1 for a
    temperature stored in tenths of a degree). ``nodata`` overrides the file's nodata value."""

    path: Path
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None


class ProvinceSpec(_Strict):
    """Province boundaries: a raster of integer codes with ``codes`` {code: name}, or a GeoJSON file whose
    features carry the name in property ``name_field`` (rasterised at cell centres). Every code of the
    raster (other than its nodata) must be in ``codes`` or in ``ignore_codes`` (cells outside the region,
    e.g. a neighbouring province): an unlisted code is an error, never a silent loss of area."""

    path: Path
    codes: dict[int, str] | None = None
    name_field: str | None = None
    ignore_codes: list[int] = Field(default_factory=list)


class LayersSection(_Strict):
    land_use: LayerSpec
    soil_order: LayerSpec
    elevation: LayerSpec
    precipitation: LayerSpec = Field(description="annual precipitation, mm")
    temperature: LayerSpec = Field(description="mean annual temperature, deg C")
    slope: LayerSpec | None = Field(None, description="slope in degrees; derived from elevation when absent")

    @field_validator("*", mode="before")
    @classmethod
    def _plain_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


class SuitabilityConfig(_Strict):
    """Inputs of one overlay run (a TOML file; relative paths are relative to it)."""

    layers: LayersSection
    provinces: ProvinceSpec
    rules: Path | None = Field(None, description="rules file; default: the study's Table 1")
    soil_codes: dict[int, int] | None = Field(
        None, description="raster soil code -> soil-order code of the rules file (codes not listed: unknown)"
    )
    align: Literal["refuse", "land_use"] = Field(
        "refuse", description="refuse layers on other grids, or resample them onto the land-use grid"
    )
    chunk_size: int = Field(2048, ge=16, le=65536, description="cells per chunk side")
    gdal_cache_mb: int = Field(
        64, ge=8, le=65536,
        description="GDAL's raster block cache, MiB. Each chunk is read once, so the cache only needs the tiles "
        "being read; GDAL's default (5 % of RAM) would let resident memory grow with the grid up to that size",
    )
    cell_area: Literal["map", "ground"] = Field(
        "map",
        description="projected grids: 'map' counts each cell at its map area (the study's method), 'ground' "
        "divides it by the projection's areal scale factor at the cell centre (true area on the ellipsoid)",
    )

    @field_validator("provinces", mode="before")
    @classmethod
    def _province_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    def resolved(self, base: Path) -> SuitabilityConfig:
        """A copy with every path made absolute relative to ``base``."""

        def fix(p: Path) -> Path:
            return p if p.is_absolute() else (base / p).resolve()

        layers = {
            name: spec.model_copy(update={"path": fix(spec.path)})
            for name, spec in self.layers
            if spec is not None
        }
        return self.model_copy(
            update={
                "layers": self.layers.model_copy(update=layers),
                "provinces": self.provinces.model_copy(update={"path": fix(self.provinces.path)}),
                "rules": fix(self.rules) if self.rules is not None else None,
            }
        )


def load_suitability_config(path: str | Path) -> SuitabilityConfig:
    """Read a suitability config TOML; errors name the file and the key."""
    file = Path(path)
    raw = read_toml(file)
    try:
        config = SuitabilityConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        reason = "missing (a required layer or key)" if err["type"] == "missing" else err["msg"]
        raise InputError(reason, file=file, field=where, value=err.get("input") if err["type"] != "missing" else None) from None
    config = config.resolved(file.parent)
    if (config.provinces.codes is None) == (config.provinces.name_field is None):
        raise InputError("give either codes (province raster) or name_field (GeoJSON)", file=file, field="provinces")
    if config.provinces.ignore_codes:
        if config.provinces.codes is None:
            raise InputError("ignore_codes applies to a province raster (with codes), not to GeoJSON boundaries",
                             file=file, field="provinces.ignore_codes", value=config.provinces.ignore_codes)
        both = sorted(set(config.provinces.ignore_codes) & set(config.provinces.codes))
        if both:
            raise InputError("codes both listed as provinces and ignored; keep each in one place", file=file,
                             field="provinces.ignore_codes", value=both)
    return config


# ---------------------------------------------------------------------------------------------- grid


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


def _grid_of(array: xr.DataArray, cell_area_method: Literal["map", "ground"] = "map") -> Grid:
    return Grid(
        crs=array.rio.crs, transform=array.rio.transform(), height=array.rio.height, width=array.rio.width,
        cell_area_method=cell_area_method,
    )


# -------------------------------------------------------------------------------------------- inputs


@dataclass
class OverlayInputs:
    """The overlay's inputs on one grid, not yet read: each chunk's task reads its own window of every layer
    (the elevation with a one-cell halo), so no task waits for another's data and memory is bounded by the
    chunk size whatever the grid size or the scheduler's order."""

    grid: Grid
    layers: dict[str, xr.DataArray]
    """2-D (y, x) arrays on the grid: lazily indexed rasters from rioxarray (through a GDAL WarpedVRT when
    aligned), or in-memory arrays. ``slope`` is absent when it is derived from ``elevation``."""
    nodata: dict[str, float | None]
    scale: dict[str, tuple[float, float]]
    """Per continuous layer: value = raw x scale + offset."""
    provinces: tuple[str, ...]
    sources: dict[str, str]
    """Per layer: its grid (and resampling, if aligned), for reports and error messages."""
    province_file: Path
    chunk_size: int
    province_codes: tuple[np.ndarray, np.ndarray] | None = None
    """(sorted raster codes, 0-based province index of each) when ``layers["provinces"]`` is a raster."""
    province_shapes: list[tuple[dict, int]] | None = None
    """(geometry in the grid's CRS, province index) when the boundaries are vector."""
    soil_code_map: dict[int, int] | None = None
    paths: dict[str, Path] = field(default_factory=dict)
    """File of each layer (and ``provinces``), for errors raised while reading."""
    province_ignore: np.ndarray | None = None
    """Sorted province-raster codes that lie outside the region (``ignore_codes``)."""

    @property
    def slope_derived(self) -> bool:
        return "slope" not in self.layers

    @property
    def chunks(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        def axis(n: int) -> tuple[int, ...]:
            return tuple(min(self.chunk_size, n - start) for start in range(0, n, self.chunk_size))

        return axis(self.grid.height), axis(self.grid.width)


def _open_raster(name: str, spec_path: Path, reference: Grid | None, align: bool) -> tuple[xr.DataArray, str]:
    if not spec_path.exists():
        raise InputError("raster file not found", file=spec_path, field=f"layers.{name}")
    try:
        with rasterio.open(spec_path) as src:
            count, src_crs, src_nodata, dtype = src.count, src.crs, src.nodata, src.dtypes[0]
            if count != 1:
                raise InputError(f"has {count} bands; expected a single-band raster", file=spec_path, field=f"layers.{name}")
            if src_crs is None:
                raise InputError("raster has no CRS", file=spec_path, field=f"layers.{name}")
            grid = Grid(src_crs, src.transform, src.height, src.width)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"not a readable raster ({exc})", file=spec_path, field=f"layers.{name}") from exc
    if grid.transform.b != 0 or grid.transform.d != 0:
        raise InputError("rotated grids are not supported", file=spec_path, field=f"layers.{name}", value=tuple(grid.transform)[:6])
    # Lazily indexed, uncached: a window is read from the file when a task asks for it, never the whole layer.
    options = {"lock": False, "cache": False, "masked": False}
    if reference is None or grid.same_as(reference) or not align:
        return rioxarray.open_rasterio(spec_path, **options).squeeze("band", drop=True), grid.describe()
    nodata = src_nodata
    if nodata is None:
        nodata = np.nan if np.issubdtype(np.dtype(dtype), np.floating) else (
            np.iinfo(dtype).min if np.issubdtype(np.dtype(dtype), np.signedinteger) else np.iinfo(dtype).max
        )
    # rioxarray keeps the warp parameters, not these objects: each read reopens the file through its own VRT.
    with rasterio.open(spec_path) as src, WarpedVRT(
        src,
        crs=reference.crs,
        transform=reference.transform,
        width=reference.width,
        height=reference.height,
        resampling=RESAMPLING[name],
        nodata=nodata,
    ) as vrt:
        array = rioxarray.open_rasterio(vrt, **options).squeeze("band", drop=True)
    return array, grid.describe() + f", resampled ({RESAMPLING[name].name}) onto the land-use grid"


def _geojson_shapes(path: Path, name_field: str, grid: Grid) -> tuple[list[tuple[dict, int]], tuple[str, ...]]:
    try:
        collection = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"not a readable GeoJSON file ({exc})", file=path, field="provinces") from exc
    features = collection.get("features") if isinstance(collection, dict) else None
    if not features:
        raise InputError("no features", file=path, field="provinces")
    crs_name = ((collection.get("crs") or {}).get("properties") or {}).get("name", "OGC:CRS84")
    source_crs = CRS.from_user_input("EPSG:4326" if "CRS84" in crs_name else crs_name)
    names: list[str] = []
    shapes: list[tuple[dict, int]] = []
    for i, feature in enumerate(features):
        name = (feature.get("properties") or {}).get(name_field)
        if not isinstance(name, str) or not name:
            raise InputError(f"feature has no text property {name_field!r}", file=path, field=f"features[{i}]")
        if name not in names:
            names.append(name)
        geometry = rasterio.warp.transform_geom(source_crs, grid.crs, feature["geometry"])
        shapes.append((geometry, names.index(name)))
    return shapes, tuple(names)


def open_inputs(config: SuitabilityConfig) -> OverlayInputs:
    """Open every layer lazily on the land-use grid; refuse (or align, per ``config.align``) other grids."""
    align = config.align == "land_use"
    land_use, land_use_desc = _open_raster("land_use", config.layers.land_use.path, None, False)
    grid = _grid_of(land_use, config.cell_area)
    specs: dict[str, LayerSpec] = {name: spec for name, spec in config.layers if spec is not None}
    descriptions = {"land_use": land_use_desc}
    mismatched: list[str] = []
    opened: dict[str, xr.DataArray] = {"land_use": land_use}
    for name, spec in specs.items():
        if name == "land_use":
            continue
        opened[name], descriptions[name] = _open_raster(name, spec.path, grid, align)
        if not _grid_of(opened[name]).same_as(grid):
            mismatched.append(name)
    province_spec = config.provinces
    if not province_spec.path.exists():
        raise InputError("province file not found", file=province_spec.path, field="provinces")
    if province_spec.codes is not None:
        opened["provinces"], descriptions["provinces"] = _open_raster("provinces", province_spec.path, grid, align)
        if not _grid_of(opened["provinces"]).same_as(grid):
            mismatched.append("provinces")
    if mismatched:
        lines = [f"  land_use ({config.layers.land_use.path.name}): {descriptions['land_use']}"] + [
            f"  {name} ({(specs[name].path if name in specs else province_spec.path).name}): {descriptions[name]}"
            for name in mismatched
        ]
        raise InputError(
            "layers are on different grids:\n" + "\n".join(lines)
            + '\nset align = "land_use" in the config to resample them onto the land-use grid '
            "(nearest neighbour for classes, bilinear for continuous fields), or regrid them beforehand",
            field="layers",
            value=mismatched,
        )
    nodata: dict[str, float | None] = {}
    for name, array in opened.items():
        spec_nodata = specs[name].nodata if name in specs else None
        nodata[name] = spec_nodata if spec_nodata is not None else array.rio.nodata
    province_codes = province_shapes = None
    if province_spec.codes is not None:
        names = tuple(dict.fromkeys(province_spec.codes.values()))
        codes = np.array(sorted(province_spec.codes), dtype=np.int64)
        province_codes = (codes, np.array([names.index(province_spec.codes[int(c)]) for c in codes], dtype=np.int32))
    else:
        province_shapes, names = _geojson_shapes(province_spec.path, province_spec.name_field or "", grid)
        descriptions["provinces"] = f"GeoJSON {province_spec.path.name}, {len(names)} provinces rasterised at cell centres"
    return OverlayInputs(
        grid=grid,
        layers=opened,
        nodata=nodata,
        scale={name: (spec.scale, spec.offset) for name, spec in specs.items()},
        provinces=names,
        sources=descriptions,
        province_file=province_spec.path,
        chunk_size=config.chunk_size,
        province_codes=province_codes,
        province_shapes=province_shapes,
        soil_code_map=config.soil_codes,
        paths={**{name: spec.path for name, spec in specs.items()}, "provinces": province_spec.path},
        province_ignore=np.array(sorted(province_spec.ignore_codes), dtype=np.int64),
    )


# --------------------------------------------------------------------------------------------- slope


def _invalid(values: np.ndarray, nodata: float | None) -> np.ndarray:
    bad = np.isnan(values) if values.dtype.kind == "f" else np.zeros(values.shape, dtype=bool)
    if nodata is not None and not np.isnan(nodata):
        bad |= values == nodata
    return bad


def _as_float(values: np.ndarray, nodata: float | None, scale: tuple[float, float]) -> np.ndarray:
    out = values.astype(np.float64)
    if scale != (1.0, 0.0):
        out *= scale[0]
        out += scale[1]
    out[_invalid(values, nodata)] = np.nan
    return out


def _extrapolate_edges(z: np.ndarray, top: bool, bottom: bool, left: bool, right: bool) -> np.ndarray:
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


def _horn_slope(zp: np.ndarray, row0: int, grid: Grid) -> np.ndarray:
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
    for r0, r1 in _strips(h):
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
    zp = _extrapolate_edges(_as_float(z, nodata, scale), i > 0, i < ni - 1, j > 0, j < nj - 1)
    return _horn_slope(zp, int(sum(row_chunks[:i])), grid)


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


# ------------------------------------------------------------------------------------------ evaluate

_LOOKUP_TABLE_MAX_CODE = 1 << 16


def _lookup(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


_STRIP_ROWS = 256
"""Rows a block function processes at a time: its float64 temporaries then scale with a strip of the
chunk, not the whole chunk, so peak memory stays near the chunk's inputs and outputs."""

_PROVINCE_SHIFT = 32
"""Cell codes carry the province (0 = outside, k = province index + 1) in bits 32-63."""


def _strips(rows: int) -> list[tuple[int, int]]:
    return [(r, min(r + _STRIP_ROWS, rows)) for r in range(0, rows, _STRIP_ROWS)]


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

    bad = _invalid(land_use, nodata["land_use"])
    code[bad] |= _BIT[Exclusion.NODATA_LAND_USE]
    pos, found = _lookup(land_use, rules.land_use_codes)
    known = ~bad & found
    code[~bad & ~found] |= _BIT[Exclusion.UNKNOWN_LAND_USE]
    land_type = np.where(known, rules.land_use_type_index[pos], 0).astype(np.uint32)
    code[known & (land_type == 0)] |= _BIT[Exclusion.LAND_USE]
    min_slope = np.where(known, rules.land_use_min_slope_deg[pos], np.nan)

    slope_v = _as_float(slope, nodata["slope"], scale["slope"])
    _flag_implausible(code, slope_v, rules.plausible.get("slope"), Exclusion.IMPLAUSIBLE_SLOPE)
    slope_ok = ~np.isnan(slope_v)
    code[~slope_ok] |= _BIT[Exclusion.NODATA_SLOPE]
    with np.errstate(invalid="ignore"):
        sloping = ~np.isnan(min_slope)
        code[sloping & slope_ok & ~(slope_v > min_slope)] |= _BIT[Exclusion.SLOPING_CROPLAND]
        code[slope_ok & ~(slope_v < rules.slope_max_exclusive_deg)] |= _BIT[Exclusion.SLOPE]

    bad = _invalid(soil, nodata["soil_order"])
    code[bad] |= _BIT[Exclusion.NODATA_SOIL_ORDER]
    soil_values = soil
    if soil_map is not None:
        raw_pos, raw_found = _lookup(soil, soil_map[0])
        soil_values = np.where(raw_found, soil_map[1][raw_pos], -1)
    pos, found = _lookup(soil_values, rules.soil_codes)
    known = ~bad & found
    code[~bad & ~found] |= _BIT[Exclusion.UNKNOWN_SOIL_ORDER]
    code[known & ~rules.soil_suitable[pos]] |= _BIT[Exclusion.SOIL]

    elev = _as_float(elevation, nodata["elevation"], scale["elevation"])
    _flag_implausible(code, elev, rules.plausible.get("elevation"), Exclusion.IMPLAUSIBLE_ELEVATION)
    ok = ~np.isnan(elev)
    code[~ok] |= _BIT[Exclusion.NODATA_ELEVATION]
    code[ok & ~(elev < rules.elevation_max_exclusive_m)] |= _BIT[Exclusion.ELEVATION]

    p = _as_float(precipitation, nodata["precipitation"], scale["precipitation"])
    t = _as_float(temperature, nodata["temperature"], scale["temperature"])
    _flag_implausible(code, p, rules.plausible.get("precipitation"), Exclusion.IMPLAUSIBLE_PRECIPITATION)
    _flag_implausible(code, t, rules.plausible.get("temperature"), Exclusion.IMPLAUSIBLE_TEMPERATURE)
    p_ok, t_ok = ~np.isnan(p), ~np.isnan(t)
    code[~p_ok] |= _BIT[Exclusion.NODATA_PRECIPITATION]
    code[~t_ok] |= _BIT[Exclusion.NODATA_TEMPERATURE]
    denominator = t + rules.temperature_offset_c
    with np.errstate(invalid="ignore"):
        humid = (denominator > 0) & (p > rules.aridity_min_exclusive * denominator)
    code[p_ok & t_ok & ~humid] |= _BIT[Exclusion.ARIDITY]

    code[province < 0] |= _BIT[Exclusion.OUTSIDE]
    code[province == -2] |= _BIT[Exclusion.UNLISTED_PROVINCE]
    code |= land_type << np.uint32(_LAND_TYPE_SHIFT)
    region = np.where(province >= 0, province + 1, 0).astype(np.uint64) << np.uint64(_PROVINCE_SHIFT)
    return region | code


def _flag_implausible(code: np.ndarray, values: np.ndarray, bounds: tuple[float, float, str] | None, flag: Exclusion) -> None:
    """Set ``flag`` where a (scaled, valid) value lies outside its plausible range; NaN (nodata) never does.
    Two comparisons per cell; the flagged cells are only indexed when there are any."""
    if bounds is None:
        return
    with np.errstate(invalid="ignore"):
        bad = (values < bounds[0]) | (values > bounds[1])
    if bad.any():
        code[bad] |= _BIT[flag]


def _error_chain(exc: BaseException) -> str:
    """The messages of an exception and its causes (GDAL's detail is in the innermost ones), deduplicated."""
    messages: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(messages) < 4:
        seen.add(id(exc))
        text = " ".join(str(exc).split())
        if text and "See previous exception" not in text and text not in messages:
            messages.append(text)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return "; ".join(messages)


def _read_window(inputs: OverlayInputs, name: str, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Window [r0, r1) x [c0, c1) of layer ``name``; a failed read (truncated or corrupt file, file removed
    during the run) is a :class:`LayerReadError` naming the layer's file and field."""
    try:
        return np.asarray(inputs.layers[name].isel(y=slice(r0, r1), x=slice(c0, c1)).values)
    except (rasterio.errors.RasterioError, OSError) as exc:
        detail = _error_chain(exc)
        raise LayerReadError(
            f"read failed at rows {r0}-{r1 - 1}, columns {c0}-{c1 - 1} ({detail or type(exc).__name__}): the file "
            "is truncated or corrupt (an interrupted copy or download?); copy it again or check it with gdalinfo -checksum",
            file=inputs.paths.get(name, inputs.sources.get(name, name)),
            field="provinces" if name == "provinces" else f"layers.{name}",
        ) from None


def _province_window(inputs: OverlayInputs, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """0-based province index of each cell of the window, -1 outside every listed province, -2 where the
    province raster has a code that is neither nodata, nor listed in ``codes``, nor in ``ignore_codes``."""
    if inputs.province_shapes is not None:
        return rasterio.features.rasterize(
            inputs.province_shapes, out_shape=(r1 - r0, c1 - c0), transform=inputs.grid.block_transform(r0, c0),
            fill=-1, dtype="int32",
        )
    codes, index = inputs.province_codes  # type: ignore[misc]
    raw = _read_window(inputs, "provinces", r0, r1, c0, c1)
    pos, found = _lookup(raw, codes)
    found &= ~_invalid(raw, inputs.nodata["provinces"])
    out = np.where(found, index[pos], -1).astype(np.int32)
    del pos
    unlisted = found
    unlisted |= _invalid(raw, inputs.nodata["provinces"])
    np.logical_not(unlisted, out=unlisted)  # neither listed nor nodata
    if unlisted.any():
        if inputs.province_ignore is not None and len(inputs.province_ignore):
            unlisted &= ~_lookup(raw, inputs.province_ignore)[1]
        out[unlisted] = -2
    return out


def _elevation_and_slope(inputs: OverlayInputs, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
    """The window's elevation (raw values) and its slope, from one read with a one-cell halo."""
    height, width = inputs.grid.height, inputs.grid.width
    top, bottom, left, right = max(r0 - 1, 0), min(r1 + 1, height), max(c0 - 1, 0), min(c1 + 1, width)
    raw = _read_window(inputs, "elevation", top, bottom, left, right)
    zp = _extrapolate_edges(
        _as_float(raw, inputs.nodata["elevation"], inputs.scale["elevation"]), r0 > 0, r1 < height, c0 > 0, c1 < width
    )
    return raw[r0 - top : r1 - top, c0 - left : c1 - left], _horn_slope(zp, r0, inputs.grid)


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
        elevation, slope = (_read_window(inputs, n, r0, r1, c0, c1) for n in ("elevation", "slope"))
    layers = (
        _read_window(inputs, "land_use", r0, r1, c0, c1),
        _read_window(inputs, "soil_order", r0, r1, c0, c1),
        elevation,
        slope,
        _read_window(inputs, "precipitation", r0, r1, c0, c1),
        _read_window(inputs, "temperature", r0, r1, c0, c1),
        _province_window(inputs, r0, r1, c0, c1),
    )
    code = np.empty((r1 - r0, c1 - c0), dtype=np.uint64)
    for s0, s1 in _strips(r1 - r0):
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


def _province_block(code: np.ndarray) -> np.ndarray:
    return (code >> np.uint64(_PROVINCE_SHIFT)).astype(np.int32) - 1


def province_index(codes: da.Array) -> da.Array:
    """0-based province index of each cell (-1 outside) from cell codes."""
    return da.map_blocks(_province_block, codes, dtype=np.int32, meta=np.empty((0, 0), dtype=np.int32))


def _mask_block(code: np.ndarray) -> np.ndarray:
    out = np.empty(code.shape, dtype=np.uint8)
    for r0, r1 in _strips(code.shape[0]):
        out[r0:r1] = _mask_strip(code[r0:r1])
    return out


def _mask_strip(code: np.ndarray) -> np.ndarray:
    flags = (code & _FLAG_BITS).astype(np.uint32)
    land_type = ((code >> np.uint64(_LAND_TYPE_SHIFT)) & np.uint64(0xFF)).astype(np.uint8)
    out = np.where(flags == 0, land_type, np.uint8(0))
    undecided = ((flags & _ANY_RULE) == 0) & ((flags & _UNDECIDED) != 0)
    out[undecided | ((flags & Exclusion.OUTSIDE) != 0)] = MASK_NODATA
    return out


def afforestable_mask(codes: da.Array) -> da.Array:
    """uint8 mask from cell codes: 0 excluded, k afforestable land type k (1-based), 255 outside/undecidable."""
    return da.map_blocks(_mask_block, codes, dtype=np.uint8, meta=np.empty((0, 0), dtype=np.uint8))


# ------------------------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class _Layout:
    """Offsets of the per-province statistics in the flat vector a block summary returns."""

    provinces: int
    land_types: int

    @property
    def width(self) -> int:
        # suitable[L+1], land type area[L+1], province area, undecided area, flag areas
        return 2 * (self.land_types + 1) + 2 + len(_ALL_FLAGS)

    @property
    def size(self) -> int:
        # per-province statistics, then the number of cells with an unlisted province code
        return self.provinces * self.width + 1


def _summary_block(code: np.ndarray, block_info: dict | None = None, *, grid: Grid, layout: _Layout) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    total = np.zeros(layout.size)
    for s0, s1 in _strips(code.shape[0]):
        total += _summary_strip(code[s0:s1], grid.cell_area_m2(r0 + s0, r0 + s1, c0, c1), layout)
    return total.reshape(1, 1, layout.size)


def _summary_strip(code: np.ndarray, cell_area: float | np.ndarray, layout: _Layout) -> np.ndarray:
    province = _province_block(code)
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

    flags = c & _FLAG_BITS
    land_type = np.minimum((c >> _LAND_TYPE_SHIFT).astype(np.int64), n_l - 1)
    key = p * n_l + land_type
    parts = [
        area_by(key, flags == 0, n_p * n_l).reshape(n_p, n_l),
        area_by(key, None, n_p * n_l).reshape(n_p, n_l),
        area_by(p, None, n_p)[:, None],
    ]
    undecided = ((flags & _ANY_RULE) == 0) & ((flags & _UNDECIDED) != 0)
    parts.append(area_by(p, undecided, n_p)[:, None])
    present = int(np.bitwise_or.reduce(flags)) if flags.size else 0
    for flag in _ALL_FLAGS:
        if present & flag:
            parts.append(area_by(p, (flags & _BIT[flag]) != 0, n_p)[:, None])
        else:
            parts.append(np.zeros((n_p, 1)))
    unlisted = 0
    if not inside.all() and int(np.bitwise_or.reduce(code, axis=None)) & Exclusion.UNLISTED_PROVINCE:
        unlisted = np.count_nonzero(code & np.uint64(Exclusion.UNLISTED_PROVINCE))
    return np.append(np.concatenate(parts, axis=1).ravel(), float(unlisted))


def _summaries(codes: da.Array, grid: Grid, layout: _Layout) -> da.Array:
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


def _mode_block(block: np.ndarray, *, factor: int, values: int, fill: int) -> np.ndarray:
    """Most frequent value 0..values-1 in each factor x factor tile (``fill`` where none occurs)."""
    h, w = block.shape
    th, tw = -(-h // factor), -(-w // factor)
    counts = np.zeros((th * tw, values), dtype=np.int64)
    column_tile = (np.arange(w) // factor).astype(np.int32)
    rows_per_strip = max(factor, _STRIP_ROWS // factor * factor)
    for r0 in range(0, h, rows_per_strip):
        strip = block[r0 : r0 + rows_per_strip]
        key = ((np.arange(r0, r0 + len(strip)) // factor).astype(np.int32)[:, None] * tw + column_tile) * values
        valid = (strip >= 0) & (strip < values)
        counts += np.bincount((key + strip.astype(np.int32))[valid], minlength=th * tw * values).reshape(th * tw, values)
    out = counts.argmax(axis=1)
    out[counts.max(axis=1) == 0] = fill
    return out.reshape(th, tw).astype(np.int32)


def _preview(array: da.Array, factor: int, values: int, fill: int) -> da.Array:
    chunks = tuple(tuple(-(-c // factor) for c in axis) for axis in array.chunks)
    return da.map_blocks(
        _mode_block, array, factor=factor, values=values, fill=fill, chunks=chunks, dtype=np.int32,
        meta=np.empty((0, 0), dtype=np.int32),
    )


def _preview_factor(grid: Grid, chunk: int, pixels: int) -> int:
    """Smallest divisor of the chunk size that brings the longer side to at most ``pixels``."""
    need = max(1, math.ceil(max(grid.height, grid.width) / pixels))
    return next((f for f in range(need, chunk + 1) if chunk % f == 0), chunk)


# -------------------------------------------------------------------------------------------- result


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


def _unknown_in_window(
    inputs: OverlayInputs, window: tuple[int, int, int, int], layer: str, known: np.ndarray
) -> Counter:
    values = _read_window(inputs, layer, *window)
    values = values[(_province_window(inputs, *window) >= 0) & ~_invalid(values, inputs.nodata[layer])]
    mapped = values
    if layer == "soil_order" and inputs.soil_code_map:
        keys = np.array(sorted(inputs.soil_code_map), dtype=np.int64)
        pos, found = _lookup(values, keys)
        mapped = np.where(found, np.array([inputs.soil_code_map[int(k)] for k in keys])[pos], -1)
    _, ok = _lookup(mapped, known)
    unique, counts = np.unique(values[~ok], return_counts=True)
    return Counter({(int(v) if float(v).is_integer() else float(v)): int(n) for v, n in zip(unique, counts)})


def _per_window(inputs: OverlayInputs, function: Any, *args: Any) -> list[Any]:
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


def _unknown_codes(inputs: OverlayInputs, layer: str, known: np.ndarray) -> Counter:
    """Codes of ``layer`` inside the provinces that the rules do not list, with their cell counts."""
    total: Counter = Counter()
    for part in _per_window(inputs, _unknown_in_window, layer, known):
        total.update(part)
    return total


def _unlisted_in_window(inputs: OverlayInputs, window: tuple[int, int, int, int]) -> Counter:
    raw = _read_window(inputs, "provinces", *window)
    codes, _ = inputs.province_codes  # type: ignore[misc]
    unlisted = ~_invalid(raw, inputs.nodata["provinces"]) & ~_lookup(raw, codes)[1]
    if inputs.province_ignore is not None and len(inputs.province_ignore):
        unlisted &= ~_lookup(raw, inputs.province_ignore)[1]
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
    values = _as_float(_read_window(inputs, layer, *window), inputs.nodata[layer], inputs.scale[layer])
    values = values[(_province_window(inputs, *window) >= 0) & ~np.isnan(values)]
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


def _implausible_error(
    config: SuitabilityConfig, inputs: OverlayInputs, rules: SuitabilityRules, layers: list[str]
) -> InputError:
    lines = []
    first: tuple[str, _Range] | None = None
    for layer in layers:
        bounds = rules.plausible[layer]
        parts = _per_window(inputs, _range_in_window, layer, bounds)
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
    layout = _Layout(provinces=len(inputs.provinces), land_types=len(rules.land_types))
    tasks: list[Any] = [_summaries(codes, inputs.grid, layout)]
    factor = 1
    if preview_pixels:
        factor = _preview_factor(inputs.grid, inputs.chunk_size, preview_pixels)
        tasks.append(_preview(mask_cells, factor, len(rules.land_types) + 1, MASK_NODATA))
        tasks.append(_preview(province_index(codes), factor, len(inputs.provinces), -1))
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
        for part in _per_window(inputs, _unlisted_in_window):
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
    flag_area = {flag: stats[:, flag_offset + k] for k, flag in enumerate(_ALL_FLAGS)}
    for layer, flag in UNKNOWN_FLAGS.items():
        if flag_area[flag].sum() > 0:
            known = rules.land_use_codes if layer == "land_use" else rules.soil_codes
            unknown = _unknown_codes(inputs, layer, known)
            listed = ", ".join(f"{c} ({n} cells)" for c, n in sorted(unknown.items(), key=lambda kv: -kv[1])[:10])
            spec = getattr(config.layers, layer)
            raise InputError(
                f"unknown {layer.replace('_', '-')} codes inside the provinces: {listed}; list them in the "
                f"rules file ({rules.file}) or fix the raster",
                file=spec.path, field=f"layers.{layer}", value=sorted(unknown)[:10],
            )
    implausible = [layer for layer, flag in IMPLAUSIBLE_FLAGS.items() if flag_area[flag].sum() > 0]
    if implausible:
        raise _implausible_error(config, inputs, rules, implausible)

    result = _tables(stats, layout, inputs, rules, flag_area)
    if preview_pixels:
        result.preview = computed[1]
        result.preview_provinces = computed[2]
        result.preview_factor = factor
    return result


def _tables(
    stats: np.ndarray, layout: _Layout, inputs: OverlayInputs, rules: SuitabilityRules, flag_area: dict[Exclusion, np.ndarray]
) -> SuitabilityResult:
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
