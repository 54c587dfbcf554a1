"""The study's tables load, agree with their printed totals, and bad files fail with a precise message."""

from __future__ import annotations

from pathlib import Path

import pytest

from afforest.data import (
    AFFORESTABLE_LAND_TYPES,
    PROVINCES,
    data_path,
    load_afforestable_area,
    load_direct_costs,
    load_esv,
    load_landuse_parameters,
    load_quantities,
)
from afforest.errors import InputError

pytestmark = pytest.mark.unit


def _copy_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = data_path(name).read_text()
    assert old in text, f"fixture text {old!r} not in {name}"
    target = tmp_path / name
    target.write_text(text.replace(old, new, 1))
    return target


def test_table2_shape_and_totals(study_area):
    assert len(study_area) == len(AFFORESTABLE_LAND_TYPES) * len(PROVINCES)
    assert (study_area["area_10k_ha"] > 0).sum() == 32  # the 32 non-empty classes of the study
    assert study_area["area_10k_ha"].sum() == pytest.approx(499.58, abs=0.005)


def test_table3_implies_one_equivalent_value_per_province(study_esv):
    """Wang et al. 2024, section 2, Eq. 6: ESV = SV_i x sum_n F_jn, so ESV / forest ESV is the same in every province.

    Printed to 0.01 yuan, the smallest entry (440.11) carries up to 1.1e-5 relative rounding error and a
    ratio of two printed numbers up to about twice that, so provinces may differ by 4.6e-5. One printed
    cell breaks the rule: Gansu medium-cover grassland is 30349.10 where SV_Gansu x 11.43 = 30945.2
    (-1.93 %), an inconsistency of the published table that the package keeps as printed.
    """
    wide = study_esv.pivot(index="land_type", columns="province", values="esv_yuan_per_ha_yr")
    ratios = wide.div(wide.loc["broadleaf_forest"], axis=1)
    typical = ratios.median(axis=1)
    deviation = ratios.sub(typical, axis=0).div(typical, axis=0).abs()
    off = deviation.stack()
    off = off[off > 4.6e-5]
    assert list(off.index) == [("medium_cover_grassland", "Gansu")]
    assert off.iloc[0] == pytest.approx(0.0193, abs=0.0001)


def test_table4_and_tau0(study_params):
    costs = load_direct_costs()
    assert costs["cost_yuan_per_ha_yr"].sum() == pytest.approx(42265 + 1326 + 1326 + 750 + 181)
    assert study_params.planting_cost_intercept_yuan_per_ha == 42265.0  # study: tau(0) = first-year cost


def test_initial_area_matches_table2_total(study_params, study_area):
    assert study_params.initial_area_10k_ha == pytest.approx(study_area["area_10k_ha"].sum(), abs=0.005)


def test_every_parameter_has_unit_and_source():
    for quantity in load_quantities().values():
        assert quantity.unit and quantity.source and quantity.description
    for quantity in load_quantities(data_path("published_results.toml")).values():
        assert quantity.unit and quantity.source


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        ("bare_soil,Gansu,0.44", "bare_soil,Gansu,-0.44", "area_10k_ha", "must be >= 0"),
        ("bare_soil,Gansu,0.44", "bare_soil,Gansu,", "area_10k_ha", "not a number"),
        ("bare_soil,Gansu,0.44", "bare_soil,Gansu,nan", "area_10k_ha", "finite"),
        ("bare_soil,Gansu,0.44", "bare_soil,Mongolia,0.44", "province", "unknown province"),
        ("bare_soil,Gansu,0.44", "bare_rock,Gansu,0.44", "land_type", "unknown land type"),
        ("bare_soil,Gansu,0.44", "bare_soil,Shaanxi,0.44", "land_type+province", "duplicate"),
        ("bare_soil,Gansu,0.44", "bare_soil,Gansu,4.4", "area_10k_ha", "stated total"),
        ("land_type,province,area_10k_ha", "land_type,province,area_ha", "header", "header must be"),
    ],
)
def test_bad_area_file_names_file_field_and_value(tmp_path, old, new, field, fragment):
    bad = _copy_with(tmp_path, "afforestable_area.csv", old, new)
    with pytest.raises(InputError) as info:
        # a table of one's own is checked against printed totals only when they are given
        load_afforestable_area(bad, totals_path=data_path("afforestable_area_totals.csv"))
    error = info.value
    assert error.file == str(bad)
    assert error.field == field
    assert fragment in str(error)
    assert str(bad) in str(error)


def test_bad_area_file_reports_the_line(tmp_path):
    bad = _copy_with(tmp_path, "afforestable_area.csv", "bare_soil,Gansu,0.44", "bare_soil,Gansu,-0.44")
    with pytest.raises(InputError, match="line 3") as info:
        load_afforestable_area(bad)
    assert info.value.value == "-0.44"


def test_own_table_without_totals_skips_the_total_check(tmp_path):
    own = _copy_with(tmp_path, "afforestable_area.csv", "bare_soil,Gansu,0.44", "bare_soil,Gansu,4.4")
    assert load_afforestable_area(own)["area_10k_ha"].sum() == pytest.approx(499.58 + 3.96)


def test_missing_row_is_an_error(tmp_path):
    bad = _copy_with(tmp_path, "afforestable_area.csv", "bare_soil,Ningxia,0\n", "")
    with pytest.raises(InputError, match="missing row"):
        load_afforestable_area(bad)


def test_malformed_csv(tmp_path):
    bad = tmp_path / "area.csv"
    bad.write_text('land_type,province,area_10k_ha\n"bare_soil,Gansu,0.44\n')
    with pytest.raises(InputError) as info:
        load_afforestable_area(bad)
    assert str(bad) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_esv(tmp_path / "nope.csv")


def test_esv_needs_the_forest_value(tmp_path):
    bad = _copy_with(tmp_path, "esv.csv", "broadleaf_forest,Qinghai,50502.48\n", "")
    with pytest.raises(InputError, match="planted forest") as info:
        load_esv(bad)
    assert info.value.value == "Qinghai"


def test_cost_years_must_be_ordered(tmp_path):
    bad = _copy_with(tmp_path, "direct_costs.csv", "tending,4,4,750", "tending,4,3,750")
    with pytest.raises(InputError, match="before first_year"):
        load_direct_costs(bad)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("value = 0.05", "value = 0.0", "financial_discount_rate"),
        ("value = 0.05", "value = -0.01", "financial_discount_rate"),
        ("value = 0.05", 'value = "five"', "financial_discount_rate"),
        ("value = 499.58", "value = -1.0", "initial_area"),
        ('unit = "1/yr"\n', "", "financial_discount_rate"),
    ],
)
def test_bad_parameter_file(tmp_path, old, new, field):
    bad = _copy_with(tmp_path, "landuse_parameters.toml", old, new)
    with pytest.raises(InputError) as info:
        load_landuse_parameters(bad)
    assert info.value.file == str(bad)
    assert field in (info.value.field or "")


def test_parameters_refuse_nonpositive_rate(study_params):
    with pytest.raises(InputError, match="financial_discount_rate"):
        study_params.replace(financial_discount_rate=0.0)
