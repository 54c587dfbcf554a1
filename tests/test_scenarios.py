"""Scenario files: shipped ones load; every kind of bad file is refused with file, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from afforest.errors import InputError
from afforest.chain.inputs import resolve_inputs
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


# --- gaps from the mutation run (docs/mutation.md, "Surviving mutants: scenarios/__init__.py") ---


def test_digest_ignores_name_description_and_sweep_but_not_model_values(tmp_path):
    import re

    plain = load_scenario(_write(tmp_path, 'extends = "baseline"\n', "plain.toml"))
    other = load_scenario(_write(
        tmp_path,
        'extends = "baseline"\ndescription = "same model, other words"\n'
        '[sweep]\ngrid = {"landuse.financial_discount_rate" = [0.03, 0.05]}\n',
        "renamed.toml",
    ))
    assert (plain.name, other.name) == ("plain", "renamed")
    assert other.description != plain.description and other.sweep != plain.sweep
    assert other.digest() == plain.digest()
    assert re.fullmatch(r"[0-9a-f]{16}", plain.digest())
    for section, text in [("numerics", "step_yr = 2.0"), ("carbon", "carbon_discount_rate = 0.05"),
                          ("classes", "max_class_area_10k_ha = 10.0"), ("policy", "carbon_price_yuan_per_t_co2 = 50.0")]:
        changed = load_scenario(_write(tmp_path, f'extends = "baseline"\n[{section}]\n{text}\n', "plain.toml"))
        assert changed.name == "plain"
        assert changed.digest() != plain.digest(), section


def test_sweep_may_name_carbon_numerics_and_classes_keys(tmp_path):
    path = _write(tmp_path, '[sweep]\ngrid = {"carbon.carbon_discount_rate" = [0.0, 0.05], "numerics.step_yr" = [1.0, 2.0]}\n'
                  'ranges = {"classes.max_class_area_10k_ha" = [1.0, 10.0]}\n')
    sweep = load_scenario(path).sweep
    assert sweep.grid == {"carbon.carbon_discount_rate": [0.0, 0.05], "numerics.step_yr": [1.0, 2.0]}
    assert sweep.ranges == {"classes.max_class_area_10k_ha": (1.0, 10.0)}
    with pytest.raises(InputError) as info:
        load_scenario(_write(tmp_path, '[sweep]\ngrid = {"soil.depth_cm" = [1.0]}\n'))
    assert info.value.field == "sweep"
    assert info.value.reason.startswith("'soil.depth_cm' is not a scenario parameter")
    assert info.value.value is None  # a whole table is not repeated as the value


def test_a_table_given_as_a_scalar_names_its_value(tmp_path):
    with pytest.raises(InputError) as info:
        load_scenario(_write(tmp_path, "landuse = 5\n"))
    assert (info.value.field, info.value.value) == ("landuse", 5)


def test_extends_must_be_a_string(tmp_path):
    path = _write(tmp_path, "extends = 5\n")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.field == "extends"
    assert info.value.value == 5
    assert info.value.reason == "must be a scenario name or a path"


def test_extends_a_missing_path_lists_no_shipped_names_but_a_missing_name_does(tmp_path):
    path = _write(tmp_path, 'extends = "nope/missing.toml"\n')
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert (info.value.file, info.value.field, info.value.value) == (str(path), "extends", "nope/missing.toml")
    assert info.value.reason == "extends a scenario that does not exist"
    with pytest.raises(InputError) as info:
        load_scenario(_write(tmp_path, 'extends = "baselin"\n'))
    assert info.value.reason.startswith("extends a scenario that does not exist; no shipped scenario is called "
                                        "'baselin': did you mean 'baseline'?")
    assert str(shipped_scenarios()) in info.value.reason


def test_a_broken_extends_inside_an_extended_file_names_that_file(tmp_path):
    outer = _write(tmp_path, 'extends = "inner.toml"\n', "outer.toml")
    inner = _write(tmp_path, "extends = 5\n", "inner.toml")
    with pytest.raises(InputError) as info:
        load_scenario(outer)
    assert (info.value.file, info.value.field, info.value.value) == (str(inner), "extends", 5)
    _write(tmp_path, 'extends = "gone.toml"\n', "inner.toml")
    with pytest.raises(InputError) as info:
        load_scenario(outer)
    assert (info.value.file, info.value.field, info.value.value) == (str(inner), "extends", "gone.toml")


def test_extends_a_file_that_is_not_valid_toml_gives_that_file_and_line(tmp_path):
    path = _write(tmp_path, 'extends = "parent.toml"\n', "child.toml")
    parent = _write(tmp_path, "description = 'ok'\n[landuse\n", "parent.toml")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert (info.value.file, info.value.field, info.value.value) == (str(path), "extends", "parent.toml")
    assert "not valid TOML" in info.value.reason and "line 2" in info.value.reason
    assert info.value.reason.endswith(f"({parent})")  # the file; TOML's own message gives the line
    assert "line None" not in str(info.value)
    # bad bytes: the reader knows the line itself, and it follows the file
    parent.write_bytes(b"description = 'ok'\ncolour = '\xff'\n")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert "not UTF-8" in info.value.reason
    assert info.value.reason.endswith(f"({parent}, line 2)")


def test_an_extending_scenario_does_not_inherit_the_description(tmp_path):
    _write(tmp_path, 'description = "the parent asks this"\n[numerics]\nstep_yr = 2.0\n', "parent.toml")
    child = load_scenario(_write(tmp_path, 'extends = "parent.toml"\n', "child.toml"))
    assert child.numerics.step_yr == 2.0
    assert child.description == ""
    own = load_scenario(_write(tmp_path, 'extends = "parent.toml"\ndescription = "mine"\n', "child.toml"))
    assert own.description == "mine"


def test_a_non_string_input_path_is_refused_by_name(tmp_path):
    path = _write(tmp_path, "[inputs]\nafforestable_area_file = 5\n")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert (info.value.file, info.value.field, info.value.value) == (str(path), "inputs.afforestable_area_file", 5)


def test_unknown_key_without_a_close_match_gets_no_guess(tmp_path):
    with pytest.raises(InputError) as info:
        load_scenario(_write(tmp_path, "[landuse]\nzzzzzz = 1\n"))
    assert (info.value.field, info.value.reason) == ("landuse.zzzzzz", "unknown key")
    with pytest.raises(InputError) as info:
        load_scenario(_write(tmp_path, "[landuse]\nfinancial_discount_rte = 0.05\n"))
    assert info.value.reason == "unknown key; did you mean 'financial_discount_rate'?"


def test_unknown_scenario_name_without_a_close_match_lists_the_shipped_ones():
    from afforest.scenarios import scenario_path

    with pytest.raises(InputError) as info:
        load_scenario("zzzzqqq")
    assert info.value.file == str(scenario_path("zzzzqqq"))
    assert (info.value.field, info.value.value) == ("scenario", "zzzzqqq")
    assert info.value.reason == (f"no shipped scenario is called 'zzzzqqq'; the shipped ones are {shipped_scenarios()} "
                                 "(`afforest scenarios` describes them); or give the path of a .toml file")


def test_a_validator_message_has_no_pydantic_prefix(tmp_path):
    from afforest.data import PROVINCES

    with pytest.raises(InputError) as info:
        load_scenario(_write(tmp_path, '[policy]\nexcluded_provinces = ["Atlantis"]\n'))
    assert info.value.field == "policy.excluded_provinces"
    assert info.value.reason == f"unknown province 'Atlantis'; expected one of {list(PROVINCES)}"
    assert "Value error" not in str(info.value)


HINT = "is it in ha instead of 10^4 ha?"


@pytest.mark.parametrize(
    ("text", "key", "hinted"),
    [
        ("[landuse]\ninitial_area_10k_ha = 1e9\n", "landuse.initial_area_10k_ha", True),
        ("[policy]\nannual_planting_cap_10k_ha_per_yr = 1e9\n", "policy.annual_planting_cap_10k_ha_per_yr", True),
        ("[classes]\nmax_class_area_10k_ha = 1e9\n", "classes.max_class_area_10k_ha", True),
        ("[landuse]\ninitial_area_10k_ha = 0\n", "landuse.initial_area_10k_ha", False),  # below its bound
        ("[numerics]\nhorizon_yr = 5000\n", "numerics.horizon_yr", False),  # le bound, not an area
        ("[landuse]\nfinancial_discount_rate = 1.5\n", "landuse.financial_discount_rate", False),  # lt bound
    ],
)
def test_the_ha_hint_is_for_areas_above_their_bound_only(tmp_path, text, key, hinted):
    with pytest.raises(InputError) as info:
        load_scenario(_write(tmp_path, text))
    assert info.value.field == key
    assert (HINT in info.value.reason) is hinted
    if hinted:
        assert info.value.reason.startswith("Input should be less than or equal to 96000: larger than China's land area")


def test_load_scenario_defaults_to_the_baseline():
    assert load_scenario() == load_scenario("baseline")
    assert load_scenario().name == "baseline"
