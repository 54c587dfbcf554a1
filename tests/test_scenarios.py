"""Scenario files: shipped ones load; every kind of bad file is refused with file, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from afforest.errors import InputError
from afforest.run import resolve_inputs
from afforest.scenarios import load_scenario, shipped_scenarios

pytestmark = pytest.mark.unit


def test_every_shipped_scenario_loads_and_resolves():
    names = shipped_scenarios()
    assert "baseline" in names
    for name in names:
        inputs = resolve_inputs(load_scenario(name))
        assert inputs.params.initial_area_10k_ha > 0
        assert len(inputs.classes) >= 1 and inputs.classes["area_10k_ha"].gt(0).all()


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("[landuse]\nfinancial_discount_rte = 0.05\n", "landuse.financial_discount_rte", "unknown key"),
        ("colour = 'green'\n", "colour", "unknown key"),
        ("[landuse]\nfinancial_discount_rate = 'five percent'\n", "landuse.financial_discount_rate", "number"),
        ("[landuse]\nfinancial_discount_rate = 0.0\n", "landuse.financial_discount_rate", "greater than 0"),
        ("[landuse]\nfinancial_discount_rate = 1.5\n", "landuse.financial_discount_rate", "less than 1"),
        ("[numerics]\ndiscounting = 'trapezoid'\n", "numerics.discounting", "integrated"),
        ("[numerics]\nhorizon_yr = -5\n", "numerics.horizon_yr", "greater than or equal"),
    ],
)
def test_bad_scenario(tmp_path, text, key, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.field == key
    assert fragment in str(info.value)


def test_invalid_toml(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        load_scenario(_write(tmp_path, "[landuse\n"))


def test_extends_overrides_a_few_values(tmp_path):
    path = _write(tmp_path, 'extends = "baseline"\n[landuse]\nfinancial_discount_rate = 0.03\n', "low_rate.toml")
    scenario = load_scenario(path)
    baseline = load_scenario("baseline")
    assert scenario.name == "low_rate"
    assert scenario.landuse.financial_discount_rate == 0.03
    assert scenario.numerics == baseline.numerics
    assert scenario.digest() != baseline.digest()


def test_extends_missing_and_cyclic(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_scenario(_write(tmp_path, 'extends = "no_such_scenario"\n'))
    _write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    _write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(InputError, match="cycle"):
        load_scenario(tmp_path / "a.toml")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_scenario(tmp_path / "nope.toml")


def test_missing_referenced_file_names_scenario_key_and_value(tmp_path):
    path = _write(tmp_path, '[inputs]\nafforestable_area_file = "my_overlay/area.csv"\n')
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.field == "inputs.afforestable_area_file"
    assert "does not exist" in str(info.value) and "my_overlay/area.csv" in str(info.value)


def test_own_tables_flow_into_the_classes(tmp_path):
    """A user's Table 2 (half of every cell) and a changed equivalent factor reach the optimisation inputs."""
    from afforest.data import data_path, load_afforestable_area

    area = load_afforestable_area()
    area.assign(area_10k_ha=area["area_10k_ha"] / 2).to_csv(tmp_path / "area.csv", index=False)
    factors = data_path("xie2015_equivalents.csv").read_text().splitlines()
    steppe = next(i for i, line in enumerate(factors) if line.startswith("steppe,"))
    cells = factors[steppe].split(",")
    food = factors[0].split(",").index("food_production")
    cells[food] = f"{float(cells[food]) + 1.0:.2f}"  # one more standard equivalent of food on steppe
    factors[steppe] = ",".join(cells)
    (tmp_path / "xie.csv").write_text("\n".join(factors) + "\n")
    # the planner's A0 must match the table's total (afforest.data.check_area_against_initial_area)
    path = _write(tmp_path, '[inputs]\nafforestable_area_file = "area.csv"\nequivalent_factors_file = "xie.csv"\n'
                  '[landuse]\ninitial_area_10k_ha = 249.79\n')
    own = resolve_inputs(load_scenario(path)).classes.set_index(["land_type", "province"])
    study = resolve_inputs(load_scenario("baseline")).classes.set_index(["land_type", "province"])
    assert own["area_10k_ha"].sum() == pytest.approx(study["area_10k_ha"].sum() / 2)
    low = ("low_cover_grassland", "Qinghai")  # low-cover grassland maps to Xie's steppe
    # one more equivalent adds SV_Qinghai = 2200.55 yuan/ha (Wang et al. 2024 Table 3 by Eq. 6; shipped to 4 decimals, hence 0.05)
    assert own.loc[low, "esv_yuan_per_ha_yr"] - study.loc[low, "esv_yuan_per_ha_yr"] == pytest.approx(2200.55, abs=0.05)
