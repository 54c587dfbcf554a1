"""Open the overlay's layers lazily on the land-use grid (refusing or aligning other grids), and read one
window of a layer or of the provinces inside a dask task; a failed read names its file and field.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.features
import rasterio.warp
import rioxarray
import xarray as xr
from afforest.errors import InputError
from afforest.model.suitability.arrays import invalid_cells, lookup
from afforest.model.suitability.config import LayerSpec, SuitabilityConfig
from afforest.model.suitability.grid import Grid, grid_of
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

# rasterio.features.rasterize creates its in-memory raster before giving it the transform we pass, and warns
# about that moment (in dask's worker threads, so a local catch_warnings would not be thread-safe); the
# rasterised GeoJSON provinces are correct (tests/test_suitability.py checks them at cell centres).
warnings.filterwarnings(
    "ignore", message="Dataset has no geotransform, gcps, or rpcs", category=rasterio.errors.NotGeoreferencedWarning
)


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


def _rebuild_input_error(cls: type, reason: str, file: str | None, field: str | None, value: Any, row: int | None) -> Exception:
    return cls(reason, file=file, field=field, value=value, row=row)


class LayerReadError(InputError):
    """A layer could not be read during the overlay (e.g. a truncated or corrupt GeoTIFF). Raised inside a
    dask task; pickles with its file and field, so it arrives intact from a distributed worker."""

    def __reduce__(self) -> tuple:
        return (_rebuild_input_error, (type(self), self.reason, self.file, self.field, self.value, self.row))


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
    grid = grid_of(land_use, config.cell_area)
    specs: dict[str, LayerSpec] = {name: spec for name, spec in config.layers if spec is not None}
    descriptions = {"land_use": land_use_desc}
    mismatched: list[str] = []
    opened: dict[str, xr.DataArray] = {"land_use": land_use}
    for name, spec in specs.items():
        if name == "land_use":
            continue
        opened[name], descriptions[name] = _open_raster(name, spec.path, grid, align)
        if not grid_of(opened[name]).same_as(grid):
            mismatched.append(name)
    province_spec = config.provinces
    if not province_spec.path.exists():
        raise InputError("province file not found", file=province_spec.path, field="provinces")
    if province_spec.codes is not None:
        opened["provinces"], descriptions["provinces"] = _open_raster("provinces", province_spec.path, grid, align)
        if not grid_of(opened["provinces"]).same_as(grid):
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


def read_window(inputs: OverlayInputs, name: str, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
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


def province_window(inputs: OverlayInputs, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """0-based province index of each cell of the window, -1 outside every listed province, -2 where the
    province raster has a code that is neither nodata, nor listed in ``codes``, nor in ``ignore_codes``."""
    if inputs.province_shapes is not None:
        return rasterio.features.rasterize(
            inputs.province_shapes, out_shape=(r1 - r0, c1 - c0), transform=inputs.grid.block_transform(r0, c0),
            fill=-1, dtype="int32",
        )
    codes, index = inputs.province_codes  # type: ignore[misc]
    raw = read_window(inputs, "provinces", r0, r1, c0, c1)
    pos, found = lookup(raw, codes)
    found &= ~invalid_cells(raw, inputs.nodata["provinces"])
    out = np.where(found, index[pos], -1).astype(np.int32)
    del pos
    unlisted = found
    unlisted |= invalid_cells(raw, inputs.nodata["provinces"])
    np.logical_not(unlisted, out=unlisted)  # neither listed nor nodata
    if unlisted.any():
        if inputs.province_ignore is not None and len(inputs.province_ignore):
            unlisted &= ~lookup(raw, inputs.province_ignore)[1]
        out[unlisted] = -2
    return out
