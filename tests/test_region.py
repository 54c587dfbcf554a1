"""Issue 11: a region is data. The bundled regions validate; a bad region folder is refused naming file, field and
value before anything is built; scenarios and commands take a region; the synthetic example region runs the whole
chain from rasters; Eq. 3 and the curves model follow the data (``landuse.curves``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from afforest.chain.bundle import load_bundle
from afforest.chain.inputs import resolve_inputs
from afforest.chain.stages import run_chain
from afforest.data import AFFORESTABLE_LAND_TYPES, PROVINCES, data_path
from afforest.data.region import DEFAULT_REGION, bundled_region_dir, bundled_regions, load_region
from afforest.errors import InputError
from afforest.scenarios import Scenario, load_scenario

EXAMPLE = "example_basin"
AGREE_REL = 1e-3  # the issue's bar: Eq. 3 and the curves model agree to 0.1 % on a region's own data


def _copy_example(tmp_path: Path) -> Path:
    """The example region copied into ``tmp_path`` (its shared factor table pointed at by absolute path)."""
    folder = tmp_path / "region"
    shutil.copytree(bundled_region_dir(EXAMPLE), folder)
    manifest = folder / "region.toml"
    manifest.write_text(manifest.read_text().replace('"../../xie2015_equivalents.csv"',
                                                     f'"{data_path("xie2015_equivalents.csv")}"'))
    return folder


def _replace(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text, old
    file.write_text(text.replace(old, new))


@pytest.mark.unit
def test_the_bundled_regions_are_data_and_the_study_is_the_default():
    assert {DEFAULT_REGION, EXAMPLE} <= set(bundled_regions())
    study, example = load_region(None), load_region(EXAMPLE)
    assert study.is_default and study.zones == PROVINCES and study.afforestable_land_types == AFFORESTABLE_LAND_TYPES
    assert example.synthetic and not study.synthetic
    assert len(example.zones) == 3 and len(example.afforestable_land_types) == 4  # plainly not the study
    assert load_bundle().published_curves and not load_bundle(region=EXAMPLE).published_curves


def _bad(tmp_path: Path, case: str) -> tuple[Path, str, str, object]:
    """Break a copy of the example region one way; return its folder and the (file, field, value) the error names."""
    folder = _copy_example(tmp_path)
    manifest = folder / "region.toml"
    if case == "missing_manifest":
        manifest.unlink()
        return folder, str(manifest), "region", str(folder)
    if case == "unknown_key":
        _replace(manifest, 'synthetic = true', 'synthetic = true\ncolour = "green"')
        return folder, str(manifest), "region.colour", "green"
    if case == "wrong_type":
        _replace(manifest, 'synthetic = true', 'synthetic = "yes please"')
        return folder, str(manifest), "region.synthetic", "yes please"
    if case == "missing_table":
        _replace(manifest, '[tables.direct_costs]\nfile = "direct_costs.csv"\nunit = "yuan/(ha yr)"\nsource = "synthetic"\n', "")
        return folder, str(manifest), "tables.direct_costs", None
    if case == "wrong_unit":
        _replace(manifest, 'file = "afforestable_area.csv"\nunit = "10^4 ha"', 'file = "afforestable_area.csv"\nunit = "ha"')
        return folder, str(manifest), "tables.afforestable_area.unit", "ha"
    if case == "unknown_zone":
        _replace(folder / "afforestable_area.csv", "scrubland,lower_basin,6.0", "scrubland,delta,6.0")
        return folder, str(folder / "afforestable_area.csv"), "province", "delta"
    if case == "unmapped_land_type":
        _replace(folder / "esv_landuse_mapping.csv", "scrubland,shrub,0.7,\nscrubland,steppe,0.3,\n", "")
        return folder, str(folder / "esv_landuse_mapping.csv"), "land_type", "scrubland"
    if case == "totals_disagree":
        _replace(folder / "afforestable_area_totals.csv", "all,all,66.0", "all,all,70.0")
        return folder, str(folder / "afforestable_area.csv"), "area_10k_ha", 66.0
    if case == "area_against_a0":
        _replace(folder / "landuse_parameters.toml", "value = 66.0", "value = 80.0")
        return folder, str(folder / "afforestable_area.csv"), "area_10k_ha", 66.0
    raise AssertionError(case)


@pytest.mark.unit
@pytest.mark.parametrize("case", ["missing_manifest", "unknown_key", "wrong_type", "missing_table", "wrong_unit",
                                  "unknown_zone", "unmapped_land_type", "totals_disagree", "area_against_a0"])
def test_a_bad_region_folder_is_refused_naming_file_field_and_value(tmp_path, case):
    folder, file, field, value = _bad(tmp_path, case)
    with pytest.raises(InputError) as info:
        load_region(folder)
    error = info.value
    assert (Path(error.file).resolve(), error.field) == (Path(file).resolve(), field), str(error)
    if value is not None:
        assert error.value == value, str(error)
    with pytest.raises(InputError):  # and a scenario naming it is refused at load, before anything is built
        load_scenario("baseline").with_region(folder)


@pytest.mark.unit
def test_a_scenario_names_its_region_and_is_checked_against_it(tmp_path):
    base = load_scenario("baseline")
    example = base.with_region(EXAMPLE)
    assert base.digest() == load_scenario("baseline").digest() and example.digest() != base.digest()
    assert "region" not in base.model_dump(mode="json", exclude_none=True)["inputs"]
    quota = example.with_overrides({"policy.excluded_provinces": ["upper_basin"]})
    assert quota.policy.excluded_provinces == ["upper_basin"]
    with pytest.raises(InputError, match="unknown province 'Gansu'"):  # a study province is not the example's
        example.with_overrides({"policy.excluded_provinces": ["Gansu"]})
    with pytest.raises(InputError, match="unknown province 'upper_basin'"):
        base.with_overrides({"policy.excluded_provinces": ["upper_basin"]})
    file = tmp_path / "s.toml"
    file.write_text(f'[inputs]\nregion = "{EXAMPLE}"\n[policy]\ndirect_cost_multiplier_by_land_type = {{ scrubland = 1.5 }}\n')
    assert load_scenario(file).policy.direct_cost_multiplier_by_land_type == {"scrubland": 1.5}
    assert load_scenario(file).inputs.region == Path(EXAMPLE)  # a bundled name is kept as the name: digests travel
    # validated without the context (a sweep's model_validate_json): still checked against its own region
    with pytest.raises(Exception, match="unknown land type 'shrubland'"):
        Scenario.model_validate_json(example.model_dump_json().replace('"direct_cost_multiplier_by_land_type":{}',
                                                                       '"direct_cost_multiplier_by_land_type":{"shrubland":2.0}'))


# ----------------------------------------------------------------- the example region, from rasters to money
def _overlay_area(tmp_path: Path) -> Path:
    """Synthetic rasters of the example region (3 basins side by side, land-use bands across) through the overlay;
    returns the area table it writes (the Table 2 shape of the example's zones and land types)."""
    from rasterio.transform import from_origin

    from afforest.model import suitability as suit
    from raster_fixtures import UTM43N, write_case

    bands = [(65, 4), (33, 10), (12, 6), (22, 4), (31, 3)]  # bare soil, low-cover grass, dry land, shrub, excluded
    basins = [30, 24, 18]
    rows, cols = sum(n for _, n in bands), sum(basins)
    land_use = np.concatenate([np.full((n, cols), code, dtype="int16") for code, n in bands])
    zones = np.concatenate([np.full((rows, n), k + 1, dtype="int16") for k, n in enumerate(basins)], axis=1)
    slope = np.where(land_use == 12, 20.0, 5.0).astype("float32")  # dry land counts only above 15 degrees
    layers = {"land_use": land_use, "soil_order": np.full((rows, cols), 4, dtype="int16"),
              "elevation": np.full((rows, cols), 1500.0, dtype="float32"), "slope": slope,
              "precipitation": np.full((rows, cols), 600.0, dtype="float32"),
              "temperature": np.full((rows, cols), 5.0, dtype="float32"), "provinces": zones}
    region = load_region(EXAMPLE)
    config = write_case(tmp_path, layers, UTM43N, from_origin(500_000, 4_000_000, 1000, 1000),
                        codes={k + 1: z for k, z in enumerate(region.zones)},
                        extra=f'region = "{EXAMPLE}"')  # the region's rules: its land types, its zones
    result = suit.overlay(suit.load_suitability_config(config), preview_pixels=None)
    path = tmp_path / "area.csv"
    result.area.to_csv(path, index=False)
    return path


@pytest.mark.integration
def test_the_example_region_runs_the_whole_chain_from_rasters(tmp_path):
    area_file = _overlay_area(tmp_path)
    region = load_region(EXAMPLE)
    area = pd.read_csv(area_file)
    assert set(area["province"]) == set(region.zones) and set(area["land_type"]) == set(region.afforestable_land_types)
    assert area["area_10k_ha"].sum() == pytest.approx((4 + 10 + 6 + 4) * 72 * 0.01)
    scenario = load_scenario("baseline").with_region(EXAMPLE).with_overrides({})
    data = scenario.model_dump(mode="json")
    data["inputs"]["afforestable_area_file"] = str(area_file)
    scenario = Scenario.model_validate(data, context={"region": EXAMPLE})
    chain = run_chain(scenario)
    landuse = chain.landuse
    assert landuse.status == "ok", landuse.suspect_reasons
    assert chain.inputs.params.initial_area_10k_ha == pytest.approx(17.28)  # A0 = the overlay's table
    assert 0 < landuse.analytic_afforested_area_10k_ha < 17.28
    assert landuse.numeric_afforested_area_10k_ha == pytest.approx(landuse.analytic_afforested_area_10k_ha, rel=AGREE_REL)
    assert landuse.classes_afforested_area_10k_ha > 0
    assert set(chain.esv.classes["province"]) <= set(region.zones)
    assert chain.carbon is not None and chain.supply is not None and chain.cost_effectiveness is not None
    assert chain.bundle.region.name == EXAMPLE and chain.bundle.cost_effectiveness.thermal_generation_10e8_kwh == 1500.0


@pytest.mark.unit
def test_a_suitability_config_naming_a_region_takes_its_rules_and_zones(tmp_path):
    from afforest.model.suitability import load_suitability_config

    region = load_region(EXAMPLE)
    layers = "\n".join(f'{name} = "{name}.tif"' for name in ("land_use", "soil_order", "elevation", "precipitation",
                                                            "temperature"))
    for name in ("land_use", "soil_order", "elevation", "precipitation", "temperature", "zones"):
        (tmp_path / f"{name}.tif").write_bytes(b"x")
    config = tmp_path / "config.toml"
    config.write_text(f'region = "{EXAMPLE}"\n[layers]\n{layers}\n[provinces]\npath = "zones.tif"\n'
                      'codes = { 1 = "upper_basin", 2 = "lower_basin" }\n')
    assert load_suitability_config(config).rules == region.file("suitability_rules")
    config.write_text(config.read_text().replace('2 = "lower_basin"', '2 = "Gansu"'))
    with pytest.raises(InputError) as info:
        load_suitability_config(config)
    assert (info.value.field, info.value.value) == ("provinces.codes", "Gansu")


@pytest.mark.unit
def test_afforest_suitability_region_overrides_the_config(tmp_path, capsys):
    """``--region`` (``load_suitability_config(..., region)``): a config naming no region takes the given one's rules
    and is held to its zones; on the command line a province code outside them is a named error (exit 2)."""
    from afforest.cli import main
    from afforest.model.suitability import load_suitability_config

    region = load_region(EXAMPLE)
    layers = "\n".join(f'{name} = "{name}.tif"' for name in ("land_use", "soil_order", "elevation", "precipitation",
                                                             "temperature"))
    for name in ("land_use", "soil_order", "elevation", "precipitation", "temperature", "zones"):
        (tmp_path / f"{name}.tif").write_bytes(b"x")
    config = tmp_path / "config.toml"
    config.write_text(f'[layers]\n{layers}\n[provinces]\npath = "zones.tif"\ncodes = {{ 1 = "upper_basin" }}\n')
    assert load_suitability_config(config, EXAMPLE).rules == region.file("suitability_rules")
    assert load_suitability_config(config).rules != region.file("suitability_rules")  # without it: the study's rules
    config.write_text(config.read_text().replace('"upper_basin"', '"Gansu"'))
    code = main(["suitability", "--config", str(config), "--output", str(tmp_path / "out"), "--region", EXAMPLE])
    assert code == 2 and "Gansu" in capsys.readouterr().err


@pytest.mark.integration
def test_eq3_and_the_curves_model_agree_on_the_example_region():
    chain = run_chain(load_scenario("baseline").with_region(EXAMPLE), until="landuse")
    landuse = chain.landuse
    assert chain.inputs.params.initial_area_10k_ha == 66.0
    assert landuse.analytic_afforested_area_10k_ha == pytest.approx(57.3035, abs=1e-3)
    assert landuse.numeric_afforested_area_10k_ha == pytest.approx(landuse.analytic_afforested_area_10k_ha, rel=AGREE_REL)
    with pytest.raises(InputError, match="publishes no curve coefficients"):
        resolve_inputs(load_scenario("baseline").with_region(EXAMPLE).with_overrides({"landuse.curves": "published"}))


@pytest.mark.integration
def test_a_changed_area_table_moves_eq3_the_curves_and_the_classes_model_together(tmp_path):
    """On the study's region with landuse.curves = 'fitted', halving medium-cover grassland in Table 2 moves Eq. 3,
    the curves model and the classes model; Eq. 3 and the curves model still agree."""
    area = pd.read_csv(data_path("afforestable_area.csv"))
    area.loc[area["land_type"] == "medium_cover_grassland", "area_10k_ha"] *= 0.5
    area.to_csv(tmp_path / "half.csv", index=False)
    fitted = load_scenario("baseline").with_overrides({"landuse.curves": "fitted"})
    data = fitted.model_dump(mode="json")
    data["inputs"]["afforestable_area_file"] = str(tmp_path / "half.csv")
    changed = Scenario.model_validate(data, context={"region": None})
    before, after = (run_chain(s, until="landuse").landuse for s in (fitted, changed))
    for result in (before, after):
        assert result.numeric_afforested_area_10k_ha == pytest.approx(result.analytic_afforested_area_10k_ha, rel=AGREE_REL)
    assert before.analytic_afforested_area_10k_ha == pytest.approx(113.836, abs=1e-2)
    assert after.analytic_afforested_area_10k_ha == pytest.approx(97.411, abs=1e-2)
    assert after.classes_afforested_area_10k_ha < before.classes_afforested_area_10k_ha - 10
    published = run_chain("baseline", until="landuse").landuse  # the default (published) is the reproduction's
    assert published.analytic_afforested_area_10k_ha == pytest.approx(103.35, abs=1e-2)


@pytest.mark.integration
def test_a_sweep_runs_on_the_example_region():
    from afforest.chain.sweep import grid_points, run_sweep

    scenario = load_scenario("baseline").with_region(EXAMPLE)
    rows = run_sweep(scenario, grid_points({"landuse.planting_cost_intercept_yuan_per_ha": [20000.0, 30000.0]}),
                     workers=1, progress=False)
    assert list(rows["status"]) == ["ok", "ok"]
    assert np.allclose(rows["numeric_afforested_area_10k_ha"], rows["analytic_afforested_area_10k_ha"], rtol=AGREE_REL)
    assert rows["analytic_afforested_area_10k_ha"].iloc[0] > rows["analytic_afforested_area_10k_ha"].iloc[1]
    assert list(rows["financial_discount_rate"]) == [0.04, 0.04]  # the region's own r, not the default region's 0.05


# ------------------------------------------------------------------------------------------- growth per zone
@pytest.mark.integration
def test_growth_per_zone_reaches_the_carbon_accounts_and_the_supply_curve():
    from afforest.model.carbon import growth_of

    study, example = load_bundle(), load_bundle(region=EXAMPLE)
    assert study.growth_by_zone is None  # the study's single curve
    base = example.carbon_parameters.growth
    table = example.growth_by_zone
    assert growth_of(table, base, "sloping_cropland", "middle_basin") is base  # no row: the region's curve
    assert growth_of(table, base, "barren_land", "upper_basin").asymptote_m3_per_ha == 140.0  # the zone's row
    assert growth_of(table, base, "scrubland", "lower_basin").asymptote_m3_per_ha == 190.0  # the zone x type row
    chain = run_chain(load_scenario("baseline").with_region(EXAMPLE))
    carbon, supply = chain.carbon, chain.supply.curves[0.0]
    per_ha = supply.groupby("province")["carbon_t_co2_per_ha"].mean()
    assert per_ha["upper_basin"] < per_ha["middle_basin"] < per_ha["lower_basin"]
    by_class = carbon.planned_by_class[carbon.planned_by_class["carbon_discount_rate"] == 0.0]["sink_mt_co2"].sum()
    assert by_class == pytest.approx(carbon.total_mt_co2("planned_path", 0.0), rel=1e-12)


@pytest.mark.unit
def test_a_growth_table_with_an_unknown_zone_is_refused(tmp_path):
    folder = _copy_example(tmp_path)
    _replace(folder / "growth_by_zone.csv", "upper_basin,,140.0", "delta,,140.0")
    with pytest.raises(InputError) as info:
        load_region(folder)
    assert (Path(info.value.file).name, info.value.field, info.value.value) == ("growth_by_zone.csv", "province", "delta")


@pytest.mark.unit
def test_a_region_may_give_grain_statistics_instead_of_sv(tmp_path):
    """SV_i = (V / 7) (y_i / y): V = 12 600 yuan/ha and yields 6000, 8000, 10 333.33 kg/ha (national 6000) give the
    example's 1800, 2400, 3100 yuan per standard equivalent, so the same ESV."""
    folder = _copy_example(tmp_path)
    manifest = folder / "region.toml"
    _replace(manifest, '[tables.standard_equivalent]\nfile = "standard_equivalent.csv"\n'
             'unit = "yuan/(standard equivalent ha yr)"',
             '[tables.grain_statistics]\nfile = "grain.csv"\nunit = "kg/ha"')
    (folder / "grain.csv").write_text("region,grain_yield_kg_per_ha\nnational,6000\nupper_basin,6000\n"
                                      "middle_basin,8000\nlower_basin,10333.333333333\n")
    parameters = folder / "landuse_parameters.toml"
    parameters.write_text(parameters.read_text() + '\n[national_grain_value]\nvalue = 12600.0\nunit = "yuan/ha"\n'
                          'source = "synthetic"\ndescription = "national grain output value per ha"\n')
    own, shipped = load_bundle(region=folder).esv, load_bundle(region=EXAMPLE).esv
    assert np.allclose(own["esv_yuan_per_ha_yr"], shipped["esv_yuan_per_ha_yr"], rtol=1e-9)
    _replace(manifest, '[tables.grain_statistics]', '[tables.standard_equivalent]\nfile = "standard_equivalent.csv"\n'
             'unit = "yuan/(standard equivalent ha yr)"\nsource = "x"\n\n[tables.grain_statistics]')
    with pytest.raises(InputError, match="exactly one of"):
        load_region(folder)


@pytest.mark.integration
def test_the_commands_take_a_region(capsys, tmp_path):
    import json

    from afforest.cli import main

    figure = tmp_path / "fit.png"
    assert main(["curves", "fit", "--region", EXAMPLE, "--json", "--figure", str(figure)]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert fit["region"] == EXAMPLE and fit["published"] is None and fit["r2_unconverted"] > 0.95
    assert fit["figure"] == str(figure) and figure.stat().st_size > 10_000  # the fit alone, its own land types
    assert fit["eq3_steady_state"]["fitted_afforested_area_10k_ha"] == pytest.approx(57.3035, abs=1e-3)
    assert main(["steady-state", "--region", EXAMPLE, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["analytic_afforested_area_10k_ha"] == pytest.approx(57.3035, abs=1e-3)
    assert main(["solve", "--region", EXAMPLE, "--json"]) == 0
    solved = json.loads(capsys.readouterr().out)
    assert solved["numeric_afforested_area_10k_ha"] == pytest.approx(solved["analytic_afforested_area_10k_ha"], rel=AGREE_REL)
    assert main(["esv", "--region", EXAMPLE]) == 0
    assert "mixed_forest" in capsys.readouterr().out
    assert main(["solve", "--region", str(Path("no") / "such" / "region")]) != 0
    assert "region folder not found" in capsys.readouterr().err
