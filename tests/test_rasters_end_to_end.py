"""From synthetic rasters to a planting decision with no manual step: `afforest suitability` writes the area
table, the optimisation reads it (as its Table 2) with ESV from the equivalent-factor model, HiGHS solves the
classes dynamic program, and the classes it converts are the ones the steady-state condition predicts.
Also: the same overlay on a dask.distributed cluster, and `afforest esv --json`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin

from afforest.cli import main
from afforest.data import PROVINCES, load_afforestable_area, load_landuse_parameters
from afforest.model import suitability as suit
from afforest.model.esv import esv_table
from afforest.model.landuse import TimeGrid, build_classes_model, class_allocation
from afforest.model.merit_order import PostPlantingRule, landuse_classes
from afforest.chain.prepare import OUTPUT_FILES
from afforest.solvers import solve

pytestmark = pytest.mark.integration

CELL_M = 1000.0
CELL_10K_HA = CELL_M * CELL_M / suit.M2_PER_10K_HA
# Province strips (columns) and land-use bands (rows) of the synthetic region.
PROVINCE_COLUMNS = {"Shaanxi": 12, "Gansu": 16, "Qinghai": 20, "Ningxia": 6, "Xinjiang": 10}
BANDS = [(33, "low_cover_grassland", 8), (32, "medium_cover_grassland", 10), (22, "shrubland", 6),
         (31, None, 5), (61, "unused_land", 4), (12, None, 3)]  # high-cover grassland and flat dry land: excluded


def _write(path: Path, array: np.ndarray, nodata) -> None:
    with rasterio.open(path, "w", driver="GTiff", height=array.shape[0], width=array.shape[1], count=1, dtype=array.dtype,
                       crs="EPSG:32643", transform=from_origin(300_000, 4_300_000, CELL_M, CELL_M), nodata=nodata,
                       tiled=True, blockxsize=16, blockysize=16) as dst:
        dst.write(array, 1)


def synthetic_region(tmp_path: Path) -> tuple[Path, dict[tuple[str, str], float]]:
    """Five provinces side by side, land-use bands across them; Xinjiang too dry (de Martonne 20) to plant.
    Returns the config and the afforestable area of each (land type, province), known by construction."""
    rows = sum(n for *_, n in BANDS)
    cols = sum(PROVINCE_COLUMNS.values())
    land_use = np.concatenate([np.full((n, cols), code, dtype="int16") for code, _, n in BANDS])
    provinces = np.concatenate([np.full((rows, n), 61 + i, dtype="int16") for i, n in enumerate(PROVINCE_COLUMNS.values())], axis=1)
    precipitation = np.full((rows, cols), 600.0, dtype="float32")
    xinjiang = provinces == 65
    precipitation[xinjiang] = 300.0  # 300 / (5 + 10) = 20 < 30
    layers = {
        "land_use": (land_use, 0),
        "soil_order": (np.full((rows, cols), 4, dtype="int16"), 0),
        "elevation": (np.full((rows, cols), 1800.0, dtype="float32"), -9999.0),
        "precipitation": (precipitation, -9999.0),
        "temperature": (np.full((rows, cols), 5.0, dtype="float32"), -9999.0),
        "provinces": (provinces, 0),
    }
    for name, (array, nodata) in layers.items():
        _write(tmp_path / f"{name}.tif", array, nodata)
    codes = ", ".join(f'{61 + i} = "{name}"' for i, name in enumerate(PROVINCE_COLUMNS))
    config = tmp_path / "region.toml"
    config.write_text(
        "chunk_size = 32\n[layers]\n"
        + "".join(f'{name} = "{name}.tif"\n' for name in layers if name != "provinces")
        + f'[provinces]\npath = "provinces.tif"\ncodes = {{ {codes} }}\n'
    )
    expected = {
        (land_type, province): (0.0 if province == "Xinjiang" else n * width * CELL_10K_HA)
        for _, land_type, n in BANDS
        if land_type
        for province, width in PROVINCE_COLUMNS.items()
    }
    return config, expected


def test_rasters_to_area_table_to_optimisation(tmp_path, capsys):
    config, expected = synthetic_region(tmp_path)
    out = tmp_path / "out"
    assert main(["suitability", "--config", str(config), "--output", str(out)]) == 0
    report = capsys.readouterr().out
    assert "Afforestable area (10^4 ha)" in report and "aridity" in report

    area = load_afforestable_area(out / OUTPUT_FILES["area"], out / OUTPUT_FILES["totals"])
    got = {(r.land_type, r.province): r.area_10k_ha for r in area.itertuples() if r.area_10k_ha > 0}
    assert got == pytest.approx({k: v for k, v in expected.items() if v > 0}, abs=1e-12)
    assert (out / OUTPUT_FILES["mask"]).exists() and (out / OUTPUT_FILES["figure"]).stat().st_size > 10_000
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES.values())  # renamed into place, no temporaries
    run = json.loads((out / OUTPUT_FILES["run"]).read_text())
    assert run["cells"] == 36 * 64 and run["afforestable_area_10k_ha"] == pytest.approx(sum(expected.values()))

    # The optimisation: ESV from the equivalent-factor model, the planted forest worth its province's
    # broadleaf ESV, and a planting cost tau(0) set between two classes' net gains so the answer is not trivial.
    esv = esv_table()
    params = load_landuse_parameters()
    classes = landuse_classes(area, esv, params, rule=PostPlantingRule.PROVINCE_FOREST_ESV)
    gain = classes["afforested_esv_yuan_per_ha_yr"] - classes["esv_yuan_per_ha_yr"]
    qinghai_meadow = gain[(classes["land_type"] == "medium_cover_grassland") & (classes["province"] == "Qinghai")].item()
    shaanxi_meadow = gain[(classes["land_type"] == "medium_cover_grassland") & (classes["province"] == "Shaanxi")].item()
    r = params.financial_discount_rate
    tau0 = 0.5 * (qinghai_meadow + shaanxi_meadow) / r
    params = params.replace(initial_area_10k_ha=float(area["area_10k_ha"].sum()), planting_cost_intercept_yuan_per_ha=tau0)
    model = build_classes_model(classes, params, TimeGrid(horizon_yr=100.0, step_yr=1.0))
    result = solve(model, "highs")
    assert result.status == "optimal"

    # Steady state of the classes program: a class is converted in full iff its ESV gain exceeds r tau(0).
    planted = class_allocation(model).set_index(["land_type", "province"])["area_10k_ha"]
    converted = classes[gain > r * tau0]
    assert 0 < len(converted) < len(classes)
    assert set(planted.index) == set(zip(converted["land_type"], converted["province"]))
    for row in converted.itertuples():
        assert planted[(row.land_type, row.province)] == pytest.approx(row.area_10k_ha, rel=1e-5)


def test_overlay_runs_unchanged_on_a_distributed_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    config, _ = synthetic_region(tmp_path)
    threaded = suit.overlay(suit.load_suitability_config(config), mask_path=tmp_path / "threaded.tif")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster):
            clustered = suit.overlay(suit.load_suitability_config(config), mask_path=tmp_path / "cluster.tif")
    pd.testing.assert_frame_equal(threaded.area, clustered.area)
    with rasterio.open(tmp_path / "threaded.tif") as a, rasterio.open(tmp_path / "cluster.tif") as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))


def test_cli_suitability_reports_bad_config_as_an_error(tmp_path, capsys):
    config, _ = synthetic_region(tmp_path)
    config.write_text(config.read_text().replace('temperature = "temperature.tif"\n', ""))
    assert main(["suitability", "--config", str(config), "--output", str(tmp_path / "out")]) == 2
    assert "layers.temperature" in capsys.readouterr().err


def test_cli_esv_json_rows(capsys):
    assert main(["esv", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert set(rows[0]) == {"province", "land_type", "service", "esv_yuan_per_ha"}
    totals = {(r["land_type"], r["province"]): r["esv_yuan_per_ha"] for r in rows if r["service"] == "total"}
    table = esv_table()
    assert totals == pytest.approx(dict(zip(zip(table["land_type"], table["province"]), table["esv_yuan_per_ha_yr"])), rel=1e-12)
    assert {r["province"] for r in rows} == set(PROVINCES)


def test_cli_esv_report_shows_the_one_gap_to_table3(capsys):
    assert main(["esv", "--by-service"]) == 0
    out = capsys.readouterr().out
    assert "reproduced to 0.01 yuan in 49 of 50 cells" in out
    assert "medium_cover_grassland Gansu" in out and "-1.93 %" in out
