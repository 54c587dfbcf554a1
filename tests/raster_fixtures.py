"""Synthetic GeoTIFFs for the suitability tests: a cell that passes every rule of Table 1, layers of any shape
filled with it, and a config naming them (shared by tests/test_suitability.py and
tests/test_catalogue_suitability.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

from afforest.data import AFFORESTABLE_LAND_TYPES

UTM43N = "EPSG:32643"
WGS84 = "EPSG:4326"
KM2_IN_10K_HA = 0.01  # 1 km^2 = 100 ha = 0.01 x 10^4 ha
LT = {name: i + 1 for i, name in enumerate(AFFORESTABLE_LAND_TYPES)}  # mask value of each land type

# A cell that passes every rule: medium-cover grassland (RESDC 32) on a leached soil (order 2), P = 600 mm,
# T = 5 deg C (de Martonne 600 / 15 = 40 > 30), 1000 m, slope 10 degrees.
BASE = {"land_use": 32, "soil_order": 2, "elevation": 1000.0, "slope": 10.0, "precipitation": 600.0, "temperature": 5.0}
DTYPES = {"land_use": "int16", "soil_order": "int16", "elevation": "float32", "slope": "float32",
          "precipitation": "float32", "temperature": "float32", "provinces": "int16"}
NODATA = {"land_use": 0, "soil_order": 0, "elevation": -9999.0, "slope": -9999.0, "precipitation": -9999.0,
          "temperature": -9999.0, "provinces": 0}


def write_raster(path: Path, array: np.ndarray, crs: str, transform, nodata=None, dtype=None) -> Path:
    array = np.asarray(array, dtype=dtype or array.dtype)
    with rasterio.open(path, "w", driver="GTiff", height=array.shape[0], width=array.shape[1], count=1,
                       dtype=array.dtype, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(array, 1)
    return path


def write_case(tmp_path: Path, layers: dict[str, np.ndarray], crs: str, transform, *, codes: dict[int, str] | None = None,
               chunk_size: int = 16, extra: str = "", transforms: dict | None = None) -> Path:
    """GeoTIFFs of ``layers`` and a config naming them; returns the config path."""
    transforms = transforms or {}
    lines = [f"chunk_size = {chunk_size}", extra, "[layers]"]
    for name, array in layers.items():
        if name == "provinces":
            continue
        write_raster(tmp_path / f"{name}.tif", array, crs, transforms.get(name, transform), NODATA[name], DTYPES[name])
        lines.append(f'{name} = "{name}.tif"')
    write_raster(tmp_path / "provinces.tif", layers["provinces"], crs, transforms.get("provinces", transform),
                 NODATA["provinces"], DTYPES["provinces"])
    codes = codes or {1: "Shaanxi"}
    lines += ["[provinces]", 'path = "provinces.tif"', "codes = { " + ", ".join(f'{k} = "{v}"' for k, v in codes.items()) + " }"]
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def base_layers(shape: tuple[int, int], with_slope: bool = True) -> dict[str, np.ndarray]:
    layers = {name: np.full(shape, value, dtype=DTYPES[name]) for name, value in BASE.items()}
    if not with_slope:
        del layers["slope"]
    layers["provinces"] = np.ones(shape, dtype="int16")
    return layers


def read_mask(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)
