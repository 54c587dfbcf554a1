"""Rows E1-E18 of docs/bad-input-catalogue.md: bad raster inputs to ``afforest suitability``. Each ends in a
clear error (exit code 2, the file, the field and the value named, no traceback), or, where the input is
usable, in a result with a warning; no failed run leaves a partial or misleading file behind."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from afforest.cli import main
from afforest.errors import InputError
from afforest.model import suitability as suit
from afforest.chain.prepare import OUTPUT_FILES
from raster_fixtures import DTYPES, KM2_IN_10K_HA, NODATA, UTM43N, WGS84, base_layers, write_case, write_raster

ORIGIN = from_origin(500_000, 4_000_000, 1000, 1000)
SHAPE = (12, 16)


def run(config: Path, output: Path, capsys, *extra: str) -> tuple[int, str, str]:
    """``afforest suitability`` in-process: (exit code, stdout, stderr)."""
    rc = main(["suitability", "--config", str(config), "--output", str(output), "--no-figure", *extra])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def assert_clear(rc: int, err: str, *fragments: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err and err.startswith("afforest: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def leftovers(folder: Path) -> list[str]:
    """Files a failed run must not leave: any output or temporary (``.partial``) file."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name in OUTPUT_FILES.values() or ".partial" in p.name)


def case(tmp_path: Path, layers: dict | None = None, **kwargs) -> Path:
    return write_case(tmp_path, layers or base_layers(SHAPE), UTM43N, ORIGIN, **kwargs)


# ------------------------------------------------------------------------------------------------ grids


@pytest.mark.unit
@pytest.mark.catalogue("E1")
def test_e1_misaligned_layer_is_refused_naming_each_grid(tmp_path, capsys):
    layers = base_layers(SHAPE)
    layers["soil_order"] = layers["soil_order"][:8, :10]
    config = case(tmp_path, layers, transforms={"soil_order": from_origin(500_300, 4_000_200, 1500, 1500)})
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, "layers are on different grids", "soil_order (soil_order.tif)", "cell 1500 x 1500 m",
                 "cell 1000 x 1000 m", "origin (500300, 4.0002e+06)", 'align = "land_use"', "field 'layers'",
                 "value ['soil_order']")
    assert leftovers(tmp_path / "out") == []


@pytest.mark.unit
@pytest.mark.catalogue("E2")
def test_e2_layer_in_another_crs_is_refused(tmp_path, capsys):
    config = case(tmp_path)
    write_raster(tmp_path / "precipitation.tif", np.full(SHAPE, 600.0), WGS84, from_origin(100.0, 38.0, 0.01, 0.01),
                 NODATA["precipitation"], DTYPES["precipitation"])
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, "layers are on different grids", "precipitation (precipitation.tif): EPSG:4326",
                 "land_use (land_use.tif): EPSG:32643", "value ['precipitation']")


@pytest.mark.unit
@pytest.mark.catalogue("E3")
def test_e3_half_cell_origin_shift_is_refused(tmp_path, capsys):
    config = case(tmp_path, transforms={"elevation": from_origin(500_500, 4_000_000, 1000, 1000)})
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, "layers are on different grids", "origin (500500, 4e+06)", "origin (500000, 4e+06)",
                 "value ['elevation']")


# --------------------------------------------------------------------------------------- unreadable files


def _truncated_elevation(tmp_path: Path) -> Path:
    """A config whose elevation GeoTIFF (uncompressed, 64 x 64 tiles) is cut in half: its header and first
    tiles read, the rest fails only when the overlay reads it."""
    shape = (256, 256)
    config = write_case(tmp_path, base_layers(shape), UTM43N, ORIGIN, chunk_size=64)
    path = tmp_path / "elevation.tif"
    with rasterio.open(path, "w", driver="GTiff", height=shape[0], width=shape[1], count=1, dtype="float32",
                       crs=UTM43N, transform=ORIGIN, nodata=NODATA["elevation"], tiled=True, blockxsize=64,
                       blockysize=64, compress="none") as dst:
        dst.write(np.full(shape, 1000.0, dtype="float32"), 1)
    size = path.stat().st_size
    assert size > 256 * 256 * 4  # the data are stored raw
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    with rasterio.open(path) as src:  # still opens: the failure comes during the computation
        assert src.shape == shape
    return config


@pytest.mark.integration  # about a second or more: several runs
@pytest.mark.catalogue("E4")
def test_e4_truncated_geotiff_is_a_clear_error_and_leaves_no_mask(tmp_path, capsys):
    config = _truncated_elevation(tmp_path)
    out = tmp_path / "out"
    rc, _, err = run(config, out, capsys)
    assert_clear(rc, err, f"{tmp_path / 'elevation.tif'}, field 'layers.elevation': read failed at rows",
                 "TIFFReadEncodedTile", "truncated or corrupt")
    assert not out.exists()  # the run created the folder and removed it again, empty
    # An existing folder with an earlier run's outputs: they are left as they were, nothing is added.
    out.mkdir()
    (out / OUTPUT_FILES["mask"]).write_bytes(b"earlier run")
    rc, _, err = run(config, out, capsys)
    assert rc == 2 and "layers.elevation" in err
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_FILES["mask"]]
    assert (out / OUTPUT_FILES["mask"]).read_bytes() == b"earlier run"
    # The API: the same error, with file and field, and no mask or temporary file next to mask_path.
    with pytest.raises(InputError) as info:
        suit.overlay(suit.load_suitability_config(config), mask_path=tmp_path / "mask.tif")
    assert info.value.field == "layers.elevation" and info.value.file == str(tmp_path / "elevation.tif")
    assert not [p.name for p in tmp_path.iterdir() if "mask" in p.name]


@pytest.mark.unit
@pytest.mark.catalogue("E4")
def test_e4_read_error_pickles_with_its_file_and_field():
    import pickle

    error = suit.LayerReadError("read failed", file="dem.tif", field="layers.elevation")
    copy = pickle.loads(pickle.dumps(error))  # as it travels from a dask.distributed worker
    assert isinstance(copy, InputError) and copy.field == "layers.elevation" and str(copy) == str(error)


@pytest.mark.unit
@pytest.mark.catalogue("E5")
def test_e5_random_bytes_are_not_a_readable_raster(tmp_path, capsys):
    config = case(tmp_path)
    (tmp_path / "soil_order.tif").write_bytes(np.random.default_rng(5).bytes(4096))
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, f"{tmp_path / 'soil_order.tif'}, field 'layers.soil_order': not a readable raster")
    assert leftovers(tmp_path / "out") == []


@pytest.mark.unit
@pytest.mark.catalogue("E6")
def test_e6_raster_without_crs(tmp_path, capsys):
    config = case(tmp_path)
    with rasterio.open(tmp_path / "elevation.tif", "w", driver="GTiff", height=SHAPE[0], width=SHAPE[1], count=1,
                       dtype="float32", transform=ORIGIN) as dst:
        dst.write(np.full(SHAPE, 1000.0, dtype="float32"), 1)
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, f"{tmp_path / 'elevation.tif'}, field 'layers.elevation': raster has no CRS")


@pytest.mark.unit
@pytest.mark.catalogue("E7")
def test_e7_two_band_raster(tmp_path, capsys):
    config = case(tmp_path)
    with rasterio.open(tmp_path / "temperature.tif", "w", driver="GTiff", height=SHAPE[0], width=SHAPE[1], count=2,
                       dtype="float32", crs=UTM43N, transform=ORIGIN) as dst:
        dst.write(np.full((2, *SHAPE), 5.0, dtype="float32"))
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, "field 'layers.temperature': has 2 bands; expected a single-band raster")


@pytest.mark.unit
@pytest.mark.catalogue("E8")
def test_e8_missing_raster_file(tmp_path, capsys):
    config = case(tmp_path)
    (tmp_path / "temperature.tif").unlink()
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, f"{tmp_path / 'temperature.tif'}, field 'layers.temperature': raster file not found")


# --------------------------------------------------------------------------------------- codes and nodata


@pytest.mark.unit
@pytest.mark.catalogue("E9")
def test_e9_unknown_land_use_code_is_listed_with_its_cells(tmp_path, capsys):
    layers = base_layers(SHAPE)
    layers["land_use"][2:4, 5:7] = 99
    rc, _, err = run(case(tmp_path, layers), tmp_path / "out", capsys)
    assert_clear(rc, err, "field 'layers.land_use', value [99]: unknown land-use codes inside the provinces: "
                 "99 (4 cells); list them in the rules file", "or fix the raster")
    assert leftovers(tmp_path / "out") == []


@pytest.mark.unit
@pytest.mark.catalogue("E10")
def test_e10_precipitation_all_nodata(tmp_path, capsys):
    layers = base_layers(SHAPE)
    layers["precipitation"][:] = NODATA["precipitation"]
    rc, _, err = run(case(tmp_path, layers), tmp_path / "out", capsys)
    assert_clear(rc, err, "field 'provinces', value 'Shaanxi': no cell of this province can be evaluated",
                 "precipitation 100.0 %")
    assert leftovers(tmp_path / "out") == []


@pytest.mark.unit
@pytest.mark.catalogue("E11")
def test_e11_nan_precipitation_without_nodata_tag_is_nodata_with_a_warning(tmp_path, capsys):
    layers = base_layers((6, 8))
    layers["precipitation"][:5] = np.nan  # 5 of 6 rows
    config = case(tmp_path, layers)
    write_raster(tmp_path / "precipitation.tif", layers["precipitation"], UTM43N, ORIGIN, None, "float32")
    with rasterio.open(tmp_path / "precipitation.tif") as src:
        assert src.nodata is None
    with pytest.warns(suit.SuitabilityWarning, match=r"Shaanxi: .*\(83\.33 % of the province\).*precipitation 83\.33 %"):
        rc, out, err = run(config, tmp_path / "out", capsys)
    assert rc == 0, err
    area = (tmp_path / "out" / OUTPUT_FILES["totals"]).read_text()
    assert f"all,all,{8 * KM2_IN_10K_HA}" in area  # the one row with precipitation: 8 cells of 1 km^2


@pytest.mark.integration  # about a second or more: several runs
@pytest.mark.catalogue("E12")
def test_e12_province_code_not_in_codes_is_an_error_naming_it(tmp_path, capsys):
    shape = (36, 40)  # 3 x 3 chunks of 16: the unlisted cells span several chunks
    layers = base_layers(shape)
    layers["provinces"][:, 20:] = 65
    layers["provinces"][:10, 20:] = 66  # 200 cells of a code the config does not list
    config = case(tmp_path, layers, codes={1: "Shaanxi", 65: "Xinjiang"})
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, f"{tmp_path / 'provinces.tif'}, field 'provinces.codes', value [66]: ",
                 "province codes on the grid that [provinces] codes does not list: 66 (200 cells)",
                 '66 = "Name"', "ignore_codes = [66]")
    assert leftovers(tmp_path / "out") == []
    # Declared outside the region: those cells are left out on purpose, the rest is counted.
    config.write_text(config.read_text() + "ignore_codes = [66]\n")
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert rc == 0, err
    coverage = suit.overlay(suit.load_suitability_config(config), preview_pixels=None).coverage.set_index("province")
    assert coverage.loc["Xinjiang", "province_area_10k_ha"] == pytest.approx(26 * 20 * KM2_IN_10K_HA)
    assert coverage.loc["Shaanxi", "province_area_10k_ha"] == pytest.approx(36 * 20 * KM2_IN_10K_HA)


@pytest.mark.unit
@pytest.mark.catalogue("E12")
def test_e12_ignore_codes_must_not_overlap_codes_nor_be_used_with_geojson(tmp_path):
    config = case(tmp_path, extra="")
    config.write_text(config.read_text() + "ignore_codes = [1, 70]\n")
    with pytest.raises(InputError, match="both listed as provinces and ignored") as info:
        suit.load_suitability_config(config)
    assert info.value.field == "provinces.ignore_codes" and info.value.value == [1]
    geojson = config.read_text().split("[provinces]")[0] + '[provinces]\npath = "p.geojson"\nname_field = "name"\nignore_codes = [66]\n'
    config.write_text(geojson)
    with pytest.raises(InputError, match="applies to a province raster") as info:
        suit.load_suitability_config(config)
    assert info.value.field == "provinces.ignore_codes"


@pytest.mark.unit
@pytest.mark.catalogue("E13")
def test_e13_listed_province_absent_from_the_grid(tmp_path, capsys):
    config = case(tmp_path, codes={1: "Shaanxi", 65: "Xinjiang"})
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, f"{tmp_path / 'provinces.tif'}, field 'provinces', value 'Xinjiang': province has no cell on the grid")
    assert leftovers(tmp_path / "out") == []


# ------------------------------------------------------------------------------------ plausible values


@pytest.mark.unit
@pytest.mark.catalogue("E14")
def test_e14_negative_precipitation_is_implausible(tmp_path, capsys):
    layers = base_layers(SHAPE)
    layers["precipitation"][4:6, :] = -500.0
    rc, _, err = run(case(tmp_path, layers), tmp_path / "out", capsys)
    assert_clear(rc, err, f"{tmp_path / 'precipitation.tif'}, field 'layers.precipitation', value (-500.0, 600.0): "
                 "values outside the physically plausible range",
                 "observed min -500, max 600 mm; plausible range [0, 26470] mm", "32 cells below, 0 above, of 192",
                 "set nodata = -500 for this layer")
    assert leftovers(tmp_path / "out") == []


@pytest.mark.integration  # about a second or more: several runs
@pytest.mark.catalogue("E15")
def test_e15_temperature_in_tenths_of_a_degree_is_implausible_and_scale_fixes_it(tmp_path, capsys):
    layers = base_layers(SHAPE)
    layers["temperature"][:] = 80.0  # 8.0 deg C stored in tenths
    config = case(tmp_path, layers)
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, f"{tmp_path / 'temperature.tif'}, field 'layers.temperature', value (80.0, 80.0): ",
                 "observed min 80, max 80 deg C; plausible range [-60, 50] deg C",
                 "stored in tenths of a degree? set scale = 0.1 for this layer",
                 f'temperature = {{ path = "{tmp_path / "temperature.tif"}", scale = 0.1 }}')
    assert leftovers(tmp_path / "out") == []
    config.write_text(config.read_text().replace('temperature = "temperature.tif"',
                                                 f'temperature = {{ path = "{tmp_path / "temperature.tif"}", scale = 0.1 }}'))
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert rc == 0, err  # 600 / (8 + 10) = 33 > 30: every cell afforestable
    assert f"all,all,{SHAPE[0] * SHAPE[1] * KM2_IN_10K_HA}" in (tmp_path / "out" / OUTPUT_FILES["totals"]).read_text()


@pytest.mark.unit
@pytest.mark.catalogue("E14", "E15")
@pytest.mark.parametrize(
    ("layer", "value", "message"),
    [
        ("elevation", 9500.0, "observed min 1000, max 9500 m; plausible range [-500, 9000] m"),
        ("elevation", -612.5, "0.52 % of the cells are outside the range: artefacts of the raster?"),
        ("slope", 95.0, "a slope in percent rise?"),
        ("precipitation", 30000.0, "plausible range [0, 26470] mm"),
        ("precipitation", -3.5, "an amount of precipitation cannot be negative"),
        ("temperature", -61.0, "observed min -61, max 5 deg C"),
    ],
)
def test_each_bound_of_each_layer_is_checked(tmp_path, layer, value, message):
    layers = base_layers(SHAPE)
    layers[layer][0, 0] = value
    with pytest.raises(InputError, match="physically plausible") as info:
        suit.overlay(suit.load_suitability_config(case(tmp_path, layers)), preview_pixels=None)
    assert info.value.field == f"layers.{layer}" and message in str(info.value)


@pytest.mark.unit
@pytest.mark.catalogue("E15")
def test_temperature_in_kelvin_suggests_the_offset(tmp_path):
    layers = base_layers(SHAPE)
    layers["temperature"][:] = 278.15
    with pytest.raises(InputError, match=r"stored in kelvin\? set offset = -273.15 for this layer") as info:
        suit.overlay(suit.load_suitability_config(case(tmp_path, layers)), preview_pixels=None)
    assert info.value.value == pytest.approx((278.15, 278.15))


@pytest.mark.unit
@pytest.mark.catalogue("E14", "E15")
def test_plausible_values_at_the_bounds_and_outside_the_provinces_are_accepted(tmp_path):
    layers = base_layers(SHAPE)
    layers["elevation"][0, :2] = (-500.0, 9000.0)  # inclusive bounds
    layers["temperature"][1, :2] = (-60.0, 50.0)
    layers["precipitation"][2, 0] = 0.0
    layers["provinces"][5, 5] = 0  # outside the region: its value is never used
    layers["precipitation"][5, 5] = -123.0
    result = suit.overlay(suit.load_suitability_config(case(tmp_path, layers)), preview_pixels=None)
    assert result.coverage["province_area_10k_ha"].iloc[0] == pytest.approx((SHAPE[0] * SHAPE[1] - 1) * KM2_IN_10K_HA)


@pytest.mark.unit
def test_every_plausible_range_has_a_source_and_a_rules_file_without_them_uses_the_shipped_ones(tmp_path):
    from afforest.data import data_path, read_toml

    raw = read_toml(data_path("suitability_rules.toml"))["plausible_range"]
    assert set(raw) == set(suit.PLAUSIBLE_LAYERS)
    assert all(entry["source"].strip() and entry["unit"] for entry in raw.values())
    rules = suit.load_suitability_rules()
    assert rules.plausible == {"precipitation": (0.0, 26470.0, "mm"), "temperature": (-60.0, 50.0, "deg C"),
                               "elevation": (-500.0, 9000.0, "m"), "slope": (0.0, 90.0, "degrees")}
    text = data_path("suitability_rules.toml").read_text()
    old = tmp_path / "old_rules.toml"
    old.write_text(text[: text.index("# Physical plausibility")])
    assert suit.load_suitability_rules(old).plausible == rules.plausible
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace('unit = "deg C"\nmin = -60.0', 'unit = "deg C"\nmin = 60.0'))
    with pytest.raises(InputError) as info:
        suit.load_suitability_rules(broken)
    assert info.value.field == "plausible_range.temperature.min"


# ------------------------------------------------------------------------------------ config and output


@pytest.mark.unit
@pytest.mark.catalogue("E16")
def test_e16_config_file_missing(tmp_path, capsys):
    rc, _, err = run(tmp_path / "nope.toml", tmp_path / "out", capsys)
    assert_clear(rc, err, f"{tmp_path / 'nope.toml'}: file not found")
    assert not (tmp_path / "out").exists()


@pytest.mark.unit
@pytest.mark.catalogue("E17")
def test_e17_config_is_a_csv(tmp_path, capsys):
    config = tmp_path / "config.csv"
    config.write_text("land_type,province,area_10k_ha\nshrubland,Gansu,1.0\n")
    rc, _, err = run(config, tmp_path / "out", capsys)
    assert_clear(rc, err, str(config), "not valid TOML", "line 1")


@pytest.mark.unit
@pytest.mark.catalogue("E18")
def test_e18_output_below_a_regular_file(tmp_path, capsys):
    config = case(tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    rc, _, err = run(config, blocker / "out", capsys)
    assert_clear(rc, err, f"field '--output', value '{blocker / 'out'}': cannot be created: {blocker} is a file, not a folder")


@pytest.mark.unit
@pytest.mark.catalogue("E18")
def test_e18_output_is_an_existing_file(tmp_path, capsys):
    config = case(tmp_path)
    target = tmp_path / "results.tif"
    target.write_text("x")
    rc, _, err = run(config, target, capsys)
    assert_clear(rc, err, f"field '--output', value '{target}': is an existing file, not a folder")
    assert target.read_text() == "x"


@pytest.mark.unit
@pytest.mark.catalogue("E18")
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_e18_output_not_creatable(tmp_path, capsys):
    config = case(tmp_path)
    rc, _, err = run(config, Path("/proc/afforest-nope"), capsys)
    assert_clear(rc, err, "field '--output', value '/proc/afforest-nope': cannot create or write to this folder")


@pytest.mark.unit
@pytest.mark.catalogue("E18")
@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_e18_output_in_a_read_only_folder(tmp_path, capsys):
    config = case(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        rc, _, err = run(config, locked / "out", capsys)
    finally:
        locked.chmod(0o700)
    assert_clear(rc, err, "field '--output'", "is not writable")


@pytest.mark.unit
@pytest.mark.catalogue("E18")
def test_output_folder_holding_the_inputs_is_refused_when_an_output_would_overwrite_one(tmp_path, capsys):
    config = case(tmp_path)
    config.write_text(config.read_text().replace('"land_use.tif"', '"afforestable_mask.tif"'))
    (tmp_path / "land_use.tif").rename(tmp_path / "afforestable_mask.tif")
    rc, _, err = run(config, tmp_path, capsys)
    assert_clear(rc, err, "field '--output'", "the output afforestable_mask.tif would overwrite the input layers.land_use")


@pytest.mark.unit
def test_successful_run_leaves_exactly_its_outputs_and_no_stale_map(tmp_path, capsys):
    config = case(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / OUTPUT_FILES["figure"]).write_bytes(b"map of an earlier run")
    rc, _, err = run(config, out, capsys)
    assert rc == 0, err
    expected = sorted(name for kind, name in OUTPUT_FILES.items() if kind != "figure")
    assert sorted(p.name for p in out.iterdir()) == expected  # no temporaries, no map from the earlier run
