"""Suitability overlay on synthetic rasters whose answer is known cell by cell: each rule of Table 1, the
sloping-cropland rule, slope from a tilted plane, cell areas on projected and geographic grids, grids that
do not match, nodata, and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from rasterio.transform import from_origin

from afforest.data import AFFORESTABLE_LAND_TYPES
from afforest.errors import InputError
from afforest.model import suitability as suit
from raster_fixtures import (  # shared synthetic-raster helpers
    KM2_IN_10K_HA,
    LT,
    NODATA,
    UTM43N,
    WGS84,
    base_layers,
    read_mask,
    write_case,
)

pytestmark = pytest.mark.unit


# --------------------------------------------------------------------------------- rules, cell by cell

SHAPE = (40, 50)  # three 16-cell chunks per side: the edits below sit inside blocks and on block edges

# (row, col, changed layer values, expected mask value, the rules that exclude the cell)
EDITS: list[tuple[int, int, dict, int, set[str]]] = [
    (0, 0, {"elevation": 3400.0}, 0, {"elevation"}),              # Table 1: below 3400 m, strictly
    (0, 1, {"elevation": 3399.9}, LT["medium_cover_grassland"], set()),
    (15, 16, {"elevation": 5200.0}, 0, {"elevation"}),            # on a chunk corner
    (1, 0, {"slope": 40.0}, 0, {"slope"}),                        # below 40 degrees, strictly
    (1, 1, {"slope": 39.9}, LT["medium_cover_grassland"], set()),
    (2, 0, {"precipitation": 450.0}, 0, {"aridity"}),             # I = 450 / 15 = 30, not > 30
    (2, 1, {"precipitation": 451.0}, LT["medium_cover_grassland"], set()),
    (2, 2, {"temperature": -10.0}, 0, {"aridity"}),               # T + 10 = 0: index undefined
    (2, 3, {"temperature": -12.0, "precipitation": 900.0}, 0, {"aridity"}),
    (2, 4, {"temperature": 25.0, "precipitation": 1040.0}, 0, {"aridity"}),   # 1040 / 35 = 29.71
    (2, 5, {"temperature": 25.0, "precipitation": 1051.0}, LT["medium_cover_grassland"], set()),  # 30.03
    (3, 0, {"soil_order": 10}, 0, {"soil"}),                      # saline-alkali soils
    (3, 1, {"soil_order": 12}, 0, {"soil"}),                      # alpine soils
    (3, 2, {"soil_order": 6}, 0, {"soil"}),                       # desert soils
    (3, 3, {"soil_order": 1}, 0, {"soil"}),                       # ferralitic soils (not in Table 1)
    (3, 4, {"soil_order": 11}, LT["medium_cover_grassland"], set()),
    (4, 0, {"land_use": 31}, 0, {"land_use"}),                    # high-cover grassland (protected)
    (4, 1, {"land_use": 21}, 0, {"land_use"}),                    # closed forest
    (4, 2, {"land_use": 64}, 0, {"land_use"}),                    # marsh (wetland law)
    (4, 3, {"land_use": 66}, 0, {"land_use"}),                    # bare rock
    (4, 4, {"land_use": 42}, 0, {"land_use"}),
    (4, 5, {"land_use": 52}, 0, {"land_use"}),
    (5, 0, {"land_use": 33}, LT["low_cover_grassland"], set()),
    (5, 1, {"land_use": 22}, LT["shrubland"], set()),
    (5, 2, {"land_use": 23}, LT["sparse_forest"], set()),
    (5, 3, {"land_use": 24}, LT["other_forest"], set()),
    (5, 4, {"land_use": 61}, LT["unused_land"], set()),
    (5, 5, {"land_use": 62}, LT["unused_land"], set()),
    (5, 6, {"land_use": 63}, LT["unused_land"], set()),
    (5, 7, {"land_use": 65}, LT["bare_soil"], set()),
    (6, 0, {"land_use": 11, "slope": 25.0}, 0, {"sloping_cropland"}),   # cropland must exceed 25 degrees
    (6, 1, {"land_use": 11, "slope": 25.1}, LT["sloping_paddy"], set()),
    (6, 2, {"land_use": 12, "slope": 10.0}, 0, {"sloping_cropland"}),
    (6, 3, {"land_use": 12, "slope": 30.0}, LT["sloping_dry_land"], set()),
    (6, 4, {"land_use": 12, "slope": 45.0}, 0, {"slope"}),
    (7, 0, {"land_use": 31, "soil_order": 10, "elevation": 4000.0}, 0, {"land_use", "soil", "elevation"}),
    (31, 47, {"land_use": 61, "slope": 41.0}, 0, {"slope"}),
]


def _rule_case(tmp_path: Path, crs: str, transform) -> tuple[Path, np.ndarray, dict[str, set]]:
    layers = base_layers(SHAPE)
    expected = np.full(SHAPE, LT["medium_cover_grassland"], dtype=np.uint8)
    reasons: dict[tuple[int, int], set[str]] = {}
    for row, col, values, mask_value, why in EDITS:
        for name, value in values.items():
            layers[name][row, col] = value
        expected[row, col] = mask_value
        reasons[(row, col)] = why
    return write_case(tmp_path, layers, crs, transform), expected, reasons


def _expected_area_10k_ha(expected: np.ndarray, cell_area_10k_ha: np.ndarray | float) -> dict[str, float]:
    area = np.broadcast_to(cell_area_10k_ha, expected.shape)
    return {name: float(area[expected == k].sum()) for name, k in LT.items()}


def test_each_rule_excludes_exactly_its_cells_on_a_projected_grid(tmp_path):
    config, expected, reasons = _rule_case(tmp_path, UTM43N, from_origin(500_000, 4_000_000, 1000, 1000))
    result = suit.overlay(suit.load_suitability_config(config), mask_path=tmp_path / "mask.tif")
    np.testing.assert_array_equal(read_mask(tmp_path / "mask.tif"), expected)
    area = result.area.set_index("land_type")["area_10k_ha"]
    assert area.to_dict() == pytest.approx(_expected_area_10k_ha(expected, KM2_IN_10K_HA), abs=1e-12)
    rules = result.exclusions[result.exclusions["kind"] == "rule"].set_index("reason")["area_10k_ha"]
    for rule in suit.RULE_FLAGS:
        cells = sum(rule in why for why in reasons.values())
        assert rules[rule] == pytest.approx(cells * KM2_IN_10K_HA, abs=1e-12), rule
    assert result.coverage["province_area_10k_ha"].iloc[0] == pytest.approx(SHAPE[0] * SHAPE[1] * KM2_IN_10K_HA)
    assert result.coverage["undecided_area_10k_ha"].iloc[0] == 0


def _geodesic_cell_area_m2(transform, rows: np.ndarray) -> np.ndarray:
    """Area of one cell per row from pyproj's geodesic polygon area (an independent computation)."""
    geod = pyproj.Geod(ellps="WGS84")
    out = []
    for row in rows:
        north = transform.f + row * transform.e
        south = north + transform.e
        west, east = transform.c, transform.c + transform.a
        area, _ = geod.polygon_area_perimeter([west, east, east, west], [south, south, north, north])
        out.append(abs(area))
    return np.array(out)


def test_each_rule_excludes_exactly_its_cells_on_a_geographic_grid(tmp_path):
    transform = from_origin(100.0, 38.0, 0.01, 0.01)
    config, expected, _ = _rule_case(tmp_path, WGS84, transform)
    result = suit.overlay(suit.load_suitability_config(config), mask_path=tmp_path / "mask.tif")
    np.testing.assert_array_equal(read_mask(tmp_path / "mask.tif"), expected)
    # Geodesic edges vs parallels as cell edges differ by < 1e-8 of a 0.01 degree cell's area.
    cell = _geodesic_cell_area_m2(transform, np.arange(SHAPE[0]))[:, None] / suit.M2_PER_10K_HA
    area = result.area.set_index("land_type")["area_10k_ha"]
    assert area.to_dict() == pytest.approx(_expected_area_10k_ha(expected, cell), rel=1e-7)
    assert result.coverage["province_area_10k_ha"].iloc[0] == pytest.approx(float(cell.sum() * SHAPE[1]), rel=1e-7)


def test_result_does_not_depend_on_the_chunk_size(tmp_path):
    config, _, _ = _rule_case(tmp_path, WGS84, from_origin(100.0, 38.0, 0.01, 0.01))
    small = suit.overlay(suit.load_suitability_config(config), preview_pixels=None)
    large = suit.overlay(suit.load_suitability_config(config).model_copy(update={"chunk_size": 64}), preview_pixels=None)
    pd.testing.assert_frame_equal(small.area, large.area, rtol=1e-12)
    pd.testing.assert_frame_equal(small.exclusions, large.exclusions, rtol=1e-12)


# ------------------------------------------------------------------------------------ slope and areas


@pytest.mark.parametrize(("gx", "gy"), [(math.tan(math.radians(30.0)), 0.0), (0.2, -0.35), (0.0, 1.0)])
def test_slope_of_a_tilted_plane_on_a_projected_grid(gx, gy):
    cell = 30.0
    grid = suit.Grid(rasterio.crs.CRS.from_string(UTM43N), from_origin(400_000, 4_200_000, cell, cell), 37, 41)
    rows, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    z = 2000.0 + gx * cols * cell - gy * rows * cell
    slope = suit.slope_degrees(da.from_array(z, chunks=16), grid).compute()
    # Horn's differences are exact on a plane, at block edges (halo) and grid edges (linear extrapolation).
    np.testing.assert_allclose(slope, math.degrees(math.atan(math.hypot(gx, gy))), atol=1e-4)


def test_slope_of_a_north_south_plane_on_a_geographic_grid():
    grid = suit.Grid(rasterio.crs.CRS.from_string(WGS84), from_origin(90.0, 40.0, 0.001, 0.001), 45, 30)
    lat = grid.transform.f + (np.arange(grid.height) + 0.5) * grid.transform.e
    geod = pyproj.Geod(ellps="WGS84")
    _, _, northing = geod.inv(np.full_like(lat, 90.0), np.full_like(lat, lat[-1]), np.full_like(lat, 90.0), lat)
    tilt = math.tan(math.radians(20.0))
    z = np.repeat((1500.0 + tilt * northing)[:, None], grid.width, axis=1)
    slope = suit.slope_degrees(da.from_array(z, chunks=16), grid).compute()
    np.testing.assert_allclose(slope, 20.0, atol=1e-5)


def test_nodata_elevation_blanks_the_slope_of_its_neighbours():
    grid = suit.Grid(rasterio.crs.CRS.from_string(UTM43N), from_origin(0, 0, 10, 10), 20, 20)
    z = np.full((20, 20), 100.0)
    z[5, 15] = -9999.0
    slope = suit.slope_degrees(da.from_array(z, chunks=8), grid, nodata=-9999.0).compute()
    assert np.isnan(slope[4:7, 14:17]).all()
    assert np.isnan(slope).sum() == 9
    assert np.nanmax(slope) == 0.0


@pytest.mark.parametrize(("degrees", "expected_mask", "rule"),
                         [(20.0, 0, "sloping_cropland"), (30.0, LT["sloping_dry_land"], None), (45.0, 0, "slope")])
def test_sloping_cropland_from_a_derived_slope(tmp_path, degrees, expected_mask, rule):
    shape, cell = (24, 20), 30.0
    layers = base_layers(shape, with_slope=False)
    layers["land_use"][:] = 12
    rows = np.arange(shape[0])[:, None]
    layers["elevation"] = np.repeat(1000.0 + math.tan(math.radians(degrees)) * rows * cell, shape[1], axis=1).astype("float32")
    config = write_case(tmp_path, layers, UTM43N, from_origin(400_000, 4_200_000, cell, cell))
    result = suit.overlay(suit.load_suitability_config(config), mask_path=tmp_path / "mask.tif")
    assert (read_mask(tmp_path / "mask.tif") == expected_mask).all()
    excluded = result.exclusions[result.exclusions["kind"] == "rule"].set_index("reason")["area_10k_ha"]
    total = shape[0] * shape[1] * cell * cell / suit.M2_PER_10K_HA
    if rule is None:
        assert result.area.set_index("land_type").loc["sloping_dry_land", "area_10k_ha"] == pytest.approx(total)
    else:
        assert excluded[rule] == pytest.approx(total)


def test_cell_areas_projected_and_geographic():
    projected = suit.Grid(rasterio.crs.CRS.from_string(UTM43N), from_origin(0, 0, 30, 30), 10, 10)
    assert projected.cell_area_m2(0, 10) == pytest.approx(900.0)
    feet = suit.Grid(rasterio.crs.CRS.from_epsg(2229), from_origin(0, 0, 100, 100), 10, 10)  # US survey feet
    assert feet.cell_area_m2(0, 10) == pytest.approx((100 * 1200 / 3937) ** 2, rel=1e-9)
    globe = suit.Grid(rasterio.crs.CRS.from_string(WGS84), from_origin(-180, 90, 1.0, 1.0), 180, 360)
    total = float(np.sum(globe.cell_area_m2(0, 180)) * 360)
    a, f = 6378137.0, 1 / 298.257223563
    b = a * (1 - f)
    e = math.sqrt(1 - b * b / (a * a))
    surface = 2 * math.pi * a * a + math.pi * b * b / e * math.log((1 + e) / (1 - e))  # ellipsoid of revolution
    assert total == pytest.approx(surface, rel=1e-12)
    assert surface == pytest.approx(510_065_621.724e6, rel=1e-11)  # WGS84 surface area, km^2 -> m^2
    rows = np.array([0, 50, 89, 130])
    np.testing.assert_allclose(globe.cell_area_m2(0, 180)[rows, 0], _geodesic_cell_area_m2(globe.transform, rows), rtol=1e-4)


# ------------------------------------------------------------------------------ grids and boundaries


def test_mismatched_grids_are_refused_with_layers_crs_and_resolution(tmp_path):
    layers = base_layers((32, 32))
    transforms = {"soil_order": from_origin(500_000, 4_000_000, 2000, 2000), "precipitation": from_origin(500_000, 4_000_000, 1000, 1000)}
    layers["soil_order"] = layers["soil_order"][:16, :16]
    config = write_case(tmp_path, layers, UTM43N, from_origin(500_000, 4_000_000, 1000, 1000), transforms=transforms)
    with pytest.raises(InputError) as info:
        suit.overlay(suit.load_suitability_config(config))
    message = str(info.value)
    assert "different grids" in message and "soil_order" in message and "EPSG:32643" in message
    assert "cell 2000 x 2000 m" in message and "cell 1000 x 1000 m" in message and 'align = "land_use"' in message
    assert info.value.value == ["soil_order"]


def test_align_resamples_classes_by_nearest_and_marks_uncovered_cells_nodata(tmp_path):
    layers = base_layers((32, 32))
    coarse_soil = np.full((16, 16), 2, dtype="int16")
    coarse_soil[:, 8:] = 10  # right half saline-alkali: excluded
    layers["soil_order"] = coarse_soil
    # precipitation covers only the top 24 rows: the 8 rows below have no data after alignment
    layers["precipitation"] = layers["precipitation"][:24]
    transforms = {"soil_order": from_origin(500_000, 4_000_000, 2000, 2000)}
    config = write_case(tmp_path, layers, UTM43N, from_origin(500_000, 4_000_000, 1000, 1000),
                        transforms=transforms, extra='align = "land_use"')
    with pytest.warns(suit.SuitabilityWarning, match=r"Shaanxi: .*precipitation 25.00 %"):
        result = suit.overlay(suit.load_suitability_config(config), mask_path=tmp_path / "mask.tif")
    mask = read_mask(tmp_path / "mask.tif")
    expected = np.full((32, 32), LT["medium_cover_grassland"], dtype=np.uint8)
    expected[:, 16:] = 0               # each coarse soil cell covers 2 x 2 fine cells exactly
    expected[24:, :16] = suit.MASK_NODATA  # no precipitation, and no rule fails there
    np.testing.assert_array_equal(mask, expected)
    assert result.area["area_10k_ha"].sum() == pytest.approx(24 * 16 * KM2_IN_10K_HA)
    assert result.coverage["undecided_area_10k_ha"].iloc[0] == pytest.approx(8 * 16 * KM2_IN_10K_HA)


def test_geojson_provinces_are_rasterised_at_cell_centres(tmp_path):
    shape = (20, 30)
    layers = base_layers(shape)
    transform = from_origin(100.0, 38.0, 0.1, 0.1)
    config = write_case(tmp_path, layers, WGS84, transform)

    def box(w, s, e, n):
        return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}

    features = [
        {"type": "Feature", "properties": {"name": "Gansu"}, "geometry": box(100.0, 36.0, 101.0, 38.0)},   # 10 columns
        {"type": "Feature", "properties": {"name": "Qinghai"}, "geometry": box(101.0, 36.0, 102.53, 37.0)},  # centres of 15 cols x 10 rows
    ]
    (tmp_path / "provinces.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    text = config.read_text().split("[provinces]")[0] + '[provinces]\npath = "provinces.geojson"\nname_field = "name"\n'
    config.write_text(text)
    result = suit.overlay(suit.load_suitability_config(config))
    cell = _geodesic_cell_area_m2(transform, np.arange(shape[0]))[:, None] / suit.M2_PER_10K_HA
    area = result.coverage.set_index("province")["province_area_10k_ha"]
    assert area["Gansu"] == pytest.approx(float(cell.sum() * 10), rel=1e-7)
    assert area["Qinghai"] == pytest.approx(float(cell[10:].sum() * 15), rel=1e-7)


# ------------------------------------------------------------------------------------------ bad input


def test_missing_layer_names_the_key(tmp_path):
    config = write_case(tmp_path, base_layers((8, 8)), UTM43N, from_origin(0, 0, 1000, 1000))
    config.write_text(config.read_text().replace('precipitation = "precipitation.tif"\n', ""))
    with pytest.raises(InputError, match="missing") as info:
        suit.load_suitability_config(config)
    assert info.value.field == "layers.precipitation" and str(config) in str(info.value)


def test_missing_raster_file_names_the_file(tmp_path):
    config = write_case(tmp_path, base_layers((8, 8)), UTM43N, from_origin(0, 0, 1000, 1000))
    (tmp_path / "temperature.tif").unlink()
    with pytest.raises(InputError, match="not found") as info:
        suit.overlay(suit.load_suitability_config(config))
    assert info.value.field == "layers.temperature" and "temperature.tif" in str(info.value)


def test_unknown_land_use_code_is_listed_and_no_mask_is_left(tmp_path):
    layers = base_layers((20, 20))
    layers["land_use"][3, 4] = 99
    layers["land_use"][10:12, 0] = 7
    config = write_case(tmp_path, layers, UTM43N, from_origin(0, 0, 1000, 1000))
    with pytest.raises(InputError, match=r"unknown land-use codes.*7 \(2 cells\), 99 \(1 cells\)") as info:
        suit.overlay(suit.load_suitability_config(config), mask_path=tmp_path / "mask.tif")
    assert info.value.value == [7, 99] and "land_use.tif" in str(info.value)
    assert not (tmp_path / "mask.tif").exists()


def test_unknown_code_outside_the_provinces_is_ignored(tmp_path):
    layers = base_layers((20, 20))
    layers["land_use"][0, 0] = 99
    layers["provinces"][0, 0] = 0  # nodata: outside the region
    config = write_case(tmp_path, layers, UTM43N, from_origin(0, 0, 1000, 1000))
    result = suit.overlay(suit.load_suitability_config(config))
    assert result.area["area_10k_ha"].sum() == pytest.approx(399 * KM2_IN_10K_HA)


def test_soil_codes_of_the_raster_are_mapped_onto_orders(tmp_path):
    layers = base_layers((8, 8))
    layers["soil_order"][:] = 23110  # a soil-map code, not an order
    layers["soil_order"][0, :] = 31000
    config = write_case(tmp_path, layers, UTM43N, from_origin(0, 0, 1000, 1000), extra="soil_codes = { 23110 = 2, 31000 = 10 }")
    result = suit.overlay(suit.load_suitability_config(config))
    assert result.area["area_10k_ha"].sum() == pytest.approx(56 * KM2_IN_10K_HA)
    rules = result.exclusions[result.exclusions["kind"] == "rule"].set_index("reason")
    assert rules.loc["soil", "area_10k_ha"] == pytest.approx(8 * KM2_IN_10K_HA)


def test_all_nodata_province_is_an_error_and_partial_nodata_a_warning(tmp_path):
    layers = base_layers((16, 16))
    layers["provinces"][:, 8:] = 2
    layers["temperature"][:, 8:] = NODATA["temperature"]   # Gansu has no temperature at all
    layers["elevation"][0, :4] = NODATA["elevation"]      # Shaanxi: 4 cells without elevation
    config = write_case(tmp_path, layers, UTM43N, from_origin(0, 0, 1000, 1000), codes={1: "Shaanxi", 2: "Gansu"})
    with pytest.raises(InputError, match=r"no cell of this province can be evaluated.*temperature 100.0 %") as info:
        suit.overlay(suit.load_suitability_config(config))
    assert info.value.value == "Gansu"
    layers["temperature"][:, 8:] = 5.0
    config = write_case(tmp_path, layers, UTM43N, from_origin(0, 0, 1000, 1000), codes={1: "Shaanxi", 2: "Gansu"})
    with pytest.warns(suit.SuitabilityWarning, match=r"Shaanxi: .*elevation 3.12 %"):
        result = suit.overlay(suit.load_suitability_config(config))
    assert result.coverage.set_index("province").loc["Shaanxi", "undecided_area_10k_ha"] == pytest.approx(4 * KM2_IN_10K_HA)
    assert result.area.groupby("province")["area_10k_ha"].sum()["Shaanxi"] == pytest.approx(124 * KM2_IN_10K_HA)


def test_province_without_cells_is_an_error(tmp_path):
    config = write_case(tmp_path, base_layers((8, 8)), UTM43N, from_origin(0, 0, 1000, 1000),
                        codes={1: "Shaanxi", 5: "Xinjiang"})
    with pytest.raises(InputError, match="no cell on the grid") as info:
        suit.overlay(suit.load_suitability_config(config))
    assert info.value.value == "Xinjiang"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("max_exclusive_m = 3400.0", 'max_exclusive_m = "high"', "elevation.max_exclusive_m"),
        ('land_type = "shrubland"', 'land_type = "orchard"', "land_use.classes[3].land_type"),
        ("{ code = 22,", "{ code = 21,", "land_use.classes"),
        ("suitable = true", "suitable = 1", "soil.orders[1].suitable"),
    ],
)
def test_bad_rules_file_names_the_key(tmp_path, old, new, field):
    from afforest.data import data_path

    text = data_path("suitability_rules.toml").read_text()
    assert old in text
    path = tmp_path / "rules.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as info:
        suit.load_suitability_rules(path)
    assert info.value.field == field and str(path) in str(info.value)


def test_rules_file_encodes_table1():
    rules = suit.load_suitability_rules()
    assert rules.elevation_max_exclusive_m == 3400 and rules.slope_max_exclusive_deg == 40
    assert rules.aridity_min_exclusive == 30 and rules.temperature_offset_c == 10
    assert rules.land_use_code_of("unused_land") == [61, 62, 63]
    assert rules.land_use_code_of("sloping_dry_land") == [12]
    admitted = {int(c) for c, k in zip(rules.land_use_codes, rules.land_use_type_index) if k}
    assert admitted == {11, 12, 22, 23, 24, 32, 33, 61, 62, 63, 65}
    assert int(rules.soil_suitable.sum()) == 8


# -------------------------------------------------------------------------------------------- invariants

_CODES = [11, 12, 21, 22, 23, 24, 31, 32, 33, 61, 62, 63, 64, 65, 66, 0]


def _inputs_from_arrays(layers: dict[str, np.ndarray]) -> suit.OverlayInputs:
    """In-memory layers (one province, code 1, everywhere) in place of rasters."""
    import xarray as xr

    shape = layers["land_use"].shape
    grid = suit.Grid(rasterio.crs.CRS.from_string(UTM43N), from_origin(0, 0, 1000, 1000), *shape)
    arrays = {k: xr.DataArray(v, dims=("y", "x")) for k, v in layers.items()}
    arrays["provinces"] = xr.DataArray(np.ones(shape, dtype=np.int16), dims=("y", "x"))
    return suit.OverlayInputs(
        grid=grid, layers=arrays, nodata={k: NODATA[k] for k in arrays}, scale={k: (1.0, 0.0) for k in layers},
        provinces=("Shaanxi",), sources={}, province_file=Path("synthetic"), chunk_size=4,
        province_codes=(np.array([1]), np.array([0], dtype=np.int32)),
    )


_cells = st.tuples(st.integers(2, 7), st.integers(2, 7))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), shape=_cells)
def test_mask_invariants_on_random_layers(data, shape):
    layers = {
        "land_use": data.draw(hnp.arrays(np.int16, shape, elements=st.sampled_from(_CODES))),
        "soil_order": data.draw(hnp.arrays(np.int16, shape, elements=st.integers(0, 12))),
        "elevation": data.draw(hnp.arrays(np.float32, shape, elements=st.sampled_from([-9999.0, 500.0, 3399.0, 3400.0, 4000.0]))),
        "slope": data.draw(hnp.arrays(np.float32, shape, elements=st.sampled_from([-9999.0, 0.0, 25.0, 26.0, 39.0, 40.0]))),
        "precipitation": data.draw(hnp.arrays(np.float32, shape, elements=st.sampled_from([-9999.0, 100.0, 450.0, 451.0, 900.0]))),
        "temperature": data.draw(hnp.arrays(np.float32, shape, elements=st.sampled_from([-9999.0, -12.0, -10.0, 5.0, 20.0]))),
    }
    rules = suit.load_suitability_rules()
    codes = suit.cell_codes(_inputs_from_arrays(layers), rules)
    mask = suit.afforestable_mask(codes).compute()
    nodata_anywhere = np.zeros(shape, dtype=bool)
    for name, array in layers.items():
        nodata_anywhere |= array == NODATA[name]
    assert not ((mask > 0) & (mask != suit.MASK_NODATA) & nodata_anywhere).any()  # nodata is never afforestable
    for k, land_type in enumerate(AFFORESTABLE_LAND_TYPES, start=1):  # mask value k only on land type k's codes
        assert np.isin(layers["land_use"][mask == k], rules.land_use_code_of(land_type)).all()
    # Relaxing a threshold never removes afforestable land.
    relaxed = suit.SuitabilityRules(**{**rules.__dict__, "elevation_max_exclusive_m": 5000.0, "slope_max_exclusive_deg": 90.0})
    codes_relaxed = suit.cell_codes(_inputs_from_arrays(layers), relaxed)
    mask_relaxed = suit.afforestable_mask(codes_relaxed).compute()
    afforestable = (mask > 0) & (mask != suit.MASK_NODATA)
    assert (mask_relaxed[afforestable] == mask[afforestable]).all()


def test_ground_cell_area_undoes_the_projections_scale_factor():
    """UTM 43N stretches areas far from 75 deg E: a 1 km map cell near Xi'an (108.9 E) covers only about
    1 / 1.27 km^2 of ground. 'ground' areas match pyproj's geodesic area of the cell polygon."""
    crs = rasterio.crs.CRS.from_string(UTM43N)
    to_utm = pyproj.Transformer.from_crs(WGS84, UTM43N, always_xy=True)
    x, y = to_utm.transform(108.9, 34.3)
    transform = from_origin(round(x, -3) - 5000, round(y, -3) + 5000, 1000, 1000)
    ground = suit.Grid(crs, transform, 10, 10, cell_area_method="ground")
    mapped = suit.Grid(crs, transform, 10, 10)
    areas = ground.cell_area_m2(0, 10, 0, 10)
    assert mapped.cell_area_m2(0, 10) == 1e6
    assert areas.mean() == pytest.approx(1e6 / 1.27, rel=0.01)
    to_lonlat = pyproj.Transformer.from_crs(UTM43N, WGS84, always_xy=True)
    geod = pyproj.Geod(ellps="WGS84")
    for row, col in [(0, 0), (4, 7), (9, 9)]:
        xs = [transform.c + col * 1000, transform.c + (col + 1) * 1000] * 2
        ys = [transform.f - row * 1000] * 2 + [transform.f - (row + 1) * 1000] * 2
        lon, lat = to_lonlat.transform([xs[0], xs[1], xs[3], xs[2]], [ys[0], ys[1], ys[3], ys[2]])
        exact = abs(geod.polygon_area_perimeter(lon, lat)[0])
        # The polygon's edges are geodesics, not the images of straight map lines: < 1e-5 over 1 km.
        assert areas[row, col] == pytest.approx(exact, rel=1e-5)


def test_interpolated_scale_factor_matches_the_exact_one():
    crs = rasterio.crs.CRS.from_string(UTM43N)
    grid = suit.Grid(crs, from_origin(200_000, 4_800_000, 1000, 1000), 300, 2400, cell_area_method="ground")
    scale = grid.areal_scale(3, 300, 17, 2400)
    rows, cols = np.meshgrid(np.arange(3, 300, 13), np.arange(17, 2400, 29), indexing="ij")
    x, y = grid.transform @ (cols + 0.5, rows + 0.5)
    pcrs = pyproj.CRS(UTM43N)
    lon, lat = pyproj.Transformer.from_crs(pcrs, pcrs.geodetic_crs, always_xy=True).transform(x, y)
    exact = pyproj.Proj(pcrs).get_factors(lon, lat).areal_scale
    np.testing.assert_allclose(scale[rows - 3, cols - 17], exact, rtol=5e-6)  # PROJ's factors: ~2e-6 noise


def test_ground_cell_areas_flow_through_the_overlay(tmp_path):
    transform = from_origin(1_500_000, 4_000_000, 1000, 1000)  # 1000 km east of 75 deg E: areal scale 1.025
    config = write_case(tmp_path, base_layers((20, 24)), UTM43N, transform, extra='cell_area = "ground"')
    result = suit.overlay(suit.load_suitability_config(config), preview_pixels=None)
    grid = suit.Grid(rasterio.crs.CRS.from_string(UTM43N), transform, 20, 24, cell_area_method="ground")
    expected = float((1e6 / grid.areal_scale(0, 20, 0, 24)).sum()) / suit.M2_PER_10K_HA
    # Each chunk interpolates the factor on its own lattice: chunks and whole grid agree to ~1e-7.
    assert result.coverage["province_area_10k_ha"].iloc[0] == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(20 * 24 * KM2_IN_10K_HA / 1.025, rel=1e-3)


# ------------------------------------------------------------------------------------------------ map


def test_the_map_draws_each_land_type_in_the_palettes_colour(tmp_path):
    """The map and Fig. 2 share plots/palette.py: bare soil on the map is the palette's bare soil, and a land
    type's colour does not depend on which types a region has (it is looked up by name, not by position)."""
    import matplotlib.image
    from affine import Affine
    from rasterio.crs import CRS

    from afforest.plots.palette import EXCLUDED_COLOUR, land_type_colour
    from afforest.plots.suitability_map import plot_suitability_map

    bare, shrub = AFFORESTABLE_LAND_TYPES.index("bare_soil") + 1, AFFORESTABLE_LAND_TYPES.index("shrubland") + 1
    preview = np.zeros((40, 40), dtype=np.int32)  # excluded, a large block of bare soil, a small one of shrubland
    preview[:30] = bare
    preview[30:36, :10] = shrub
    preview[36:, 35:] = suit.MASK_NODATA
    area = pd.DataFrame(
        [(lt, "Gansu", 1.0) for lt in AFFORESTABLE_LAND_TYPES], columns=["land_type", "province", "area_10k_ha"]
    )
    result = suit.SuitabilityResult(
        area=area, totals=pd.DataFrame(), land_types=pd.DataFrame(), exclusions=pd.DataFrame(),
        coverage=pd.DataFrame({"province": ["Gansu"]}),
        grid=suit.Grid(CRS.from_user_input(UTM43N), Affine(1000.0, 0, 500_000.0, 0, -1000.0, 4_500_000.0), 40, 40),
        sources={}, chunk_size=40, slope_derived=True, preview=preview, preview_provinces=np.zeros_like(preview),
    )
    png = plot_suitability_map(result, tmp_path / "map.png")
    pixels = np.round(matplotlib.image.imread(png)[..., :3] * 255).astype(int).reshape(-1, 3)

    def share(colour: str) -> float:
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        return float(np.mean(np.abs(pixels - rgb).max(axis=1) <= 2))

    bare_share, shrub_share = share(land_type_colour("bare_soil")), share(land_type_colour("shrubland"))
    assert bare_share > 0.2, "the large block is not drawn in the palette's bare-soil colour"
    assert 0 < shrub_share < bare_share / 5, "the small block is not drawn in the palette's shrubland colour"
    assert share(EXCLUDED_COLOUR) > 0.01
    assert share(land_type_colour("sloping_paddy")) < 0.01  # a type with no cell on the map (legend patch only)
