"""ESV by the equivalent-factor method (Eq. 6): closed-form cases, Table 3 of the study, invariants, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afforest.data import AFFORESTABLE_LAND_TYPES, FOREST_LAND_TYPE, PROVINCES, data_path
from afforest.errors import InputError
from afforest.model import esv
from afforest.model.merit_order import fill_merit_order, landuse_classes, shares

pytestmark = pytest.mark.unit

LAND_TYPES = (*AFFORESTABLE_LAND_TYPES, FOREST_LAND_TYPE)
HEADER = "xie_class,xie_group," + ",".join(esv.SERVICES)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _two_class_factors(tmp_path: Path) -> Path:
    """Class a: every service 1 (total 11); class b: services 1..11 (total 66)."""
    a = ",".join(["1"] * 11)
    b = ",".join(str(i) for i in range(1, 12))
    return _write(tmp_path, "factors.csv", f"{HEADER}\na,g,{a}\nb,g,{b}\n")


def _mapping_text(rows: dict[str, str]) -> str:
    """Every land type mapped to class a with weight 1, except the rows given."""
    lines = ["land_type,xie_class,weight,scaled_total_equivalent"]
    for land_type in LAND_TYPES:
        lines.append(rows.get(land_type, f"{land_type},a,1,"))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------- closed form


def test_weighted_mapping_and_eq6_closed_form(tmp_path):
    factors = esv.load_equivalent_factors(_two_class_factors(tmp_path))
    mapping = esv.load_landuse_mapping(
        _write(tmp_path, "map.csv", _mapping_text({"shrubland": "shrubland,a,0.5,\nshrubland,b,0.5,"})), factors=factors
    )
    eq = esv.land_type_equivalents(factors, mapping)
    shrub = eq[eq["land_type"] == "shrubland"].set_index("service")["equivalent"]
    assert shrub["food_production"] == pytest.approx(0.5 * 1 + 0.5 * 1)
    assert shrub["aesthetic_landscape"] == pytest.approx(0.5 * 1 + 0.5 * 11)
    sv = pd.DataFrame({"province": ["P"], "sv_yuan_per_ha": [1000.0]})
    table = esv.esv_table(eq, sv).set_index("land_type")["esv_yuan_per_ha_yr"]
    assert table["shrubland"] == pytest.approx(1000 * (0.5 * 11 + 0.5 * 66))
    assert table["bare_soil"] == pytest.approx(1000 * 11)


def test_scaled_total_rule_keeps_the_class_profile(tmp_path):
    factors = esv.load_equivalent_factors(_two_class_factors(tmp_path))
    mapping = esv.load_landuse_mapping(
        _write(tmp_path, "map.csv", _mapping_text({"sparse_forest": "sparse_forest,b,,33"})), factors=factors
    )
    eq = esv.land_type_equivalents(factors, mapping)
    sparse = eq[eq["land_type"] == "sparse_forest"]["equivalent"].to_numpy()
    np.testing.assert_allclose(sparse, 0.5 * np.arange(1, 12))  # class b's profile, scaled to total 33 = 66 / 2


def test_standard_equivalent_value_closed_form():
    # V / 7 x y_i / y = 7000 / 7 x 6000 / 5000 = 1200 yuan/ha
    assert esv.standard_equivalent_value(7000.0, 6000.0, 5000.0) == pytest.approx(1200.0)
    assert esv.standard_equivalent_value(7000.0, 6000.0, 5000.0, divisor=10.0) == pytest.approx(840.0)


def test_standard_equivalent_values_from_grain_statistics(tmp_path):
    stats = esv.load_grain_statistics(
        _write(tmp_path, "grain.csv", "region,grain_yield_kg_per_ha\nnational,5000\nShaanxi,4000\nXinjiang,7500\n")
    )
    sv = esv.standard_equivalent_values_from_statistics(stats, national_grain_value_yuan_per_ha=14000.0)
    assert dict(zip(sv["province"], sv["sv_yuan_per_ha"])) == pytest.approx({"Shaanxi": 1600.0, "Xinjiang": 3000.0})


def test_implied_standard_value_recovers_a_known_value_and_flags_a_typo():
    equivalents = esv.land_type_equivalents()
    sv = pd.DataFrame({"province": ["P"], "sv_yuan_per_ha": [1234.5678]})
    printed = esv.esv_table(equivalents, sv).assign(esv_yuan_per_ha_yr=lambda f: f["esv_yuan_per_ha_yr"].round(2))
    printed.loc[printed["land_type"] == "shrubland", "esv_yuan_per_ha_yr"] += 100.0  # one misprinted cell
    implied = esv.implied_standard_equivalent_values(printed, equivalents).iloc[0]
    assert implied["lower"] <= 1234.5678 <= implied["upper"]
    assert implied["cells_used"] == len(LAND_TYPES) - 1
    assert implied["inconsistent_land_types"] == "shrubland"


# --------------------------------------------------------------------------------- the study's data


def test_xie_table_has_14_classes_and_the_published_row_sums():
    factors = esv.load_equivalent_factors()
    totals = factors.groupby("xie_class", sort=False)["equivalent"].sum().round(2)
    # Row sums as printed in Xie et al. 2015 (their table of equivalent factors per unit area, column "sum").
    published = {
        "dry_land": 4.01, "paddy": 3.89, "coniferous_forest": 17.53, "mixed_conifer_broadleaf_forest": 23.09,
        "broadleaf_forest": 22.95, "shrub": 15.22, "steppe": 5.07, "shrub_grassland": 19.69, "meadow": 11.43,
        "wetland": 52.02, "desert": 1.10, "bare_land": 0.20, "water": 125.61, "glacier_snow": 10.27,
    }
    assert totals.to_dict() == pytest.approx(published, abs=1e-9)
    assert set(factors["service"]) == set(esv.SERVICES) and len(factors) == 14 * 11


def test_land_type_totals_match_the_ratios_inside_table3(study_esv):
    """sum_n F_jn equals ESV_j / ESV_broadleaf x 22.95 in every province (to Table 3's rounding)."""
    totals = esv.land_type_equivalents().groupby("land_type")["equivalent"].sum()
    wide = study_esv.pivot(index="land_type", columns="province", values="esv_yuan_per_ha_yr")
    ratios = wide.div(wide.loc[FOREST_LAND_TYPE], axis=1) * totals[FOREST_LAND_TYPE]
    deviation = ratios.sub(totals, axis=0).abs()
    # Half a fen on a cell of >= 440 yuan and on the forest cell: < 0.005 equivalents. Gansu's medium-cover
    # grassland is the known misprint (see the next test).
    deviation.loc["medium_cover_grassland", "Gansu"] = 0.0
    assert (deviation < 0.005).all().all()


def test_table3_reproduced_to_the_fen_in_49_of_50_cells(study_esv):
    computed = esv.esv_table()
    comparison = esv.compare_with_published(computed, study_esv)
    assert len(comparison) == 50
    misses = comparison[~comparison["matches"]]
    assert comparison["matches"].sum() == 49
    # The one gap: Table 3 prints Gansu medium-cover grassland 1.93 % below SV_Gansu x 11.43, whereas the
    # nine other Gansu cells and the same land type in the four other provinces agree with Eq. 6 to the fen.
    # The package computes Eq. 6; it does not copy the misprint.
    assert list(zip(misses["land_type"], misses["province"])) == [("medium_cover_grassland", "Gansu")]
    miss = misses.iloc[0]
    assert miss["published"] / miss["computed"] - 1 == pytest.approx(-0.0193, abs=5e-5)
    sv_gansu = esv.load_standard_equivalent_values().set_index("province").loc["Gansu", "sv_yuan_per_ha"]
    assert miss["computed"] == pytest.approx(sv_gansu * 11.43, rel=1e-12)


def test_shipped_standard_values_are_the_ones_table3_implies(study_esv):
    implied = esv.implied_standard_equivalent_values(study_esv).set_index("province")
    shipped = esv.load_standard_equivalent_values().set_index("province")["sv_yuan_per_ha"]
    assert list(shipped.index) == list(PROVINCES)
    assert (shipped == implied["sv_yuan_per_ha"]).all()
    assert ((implied["lower"] <= shipped) & (shipped <= implied["upper"])).all()
    assert implied.loc["Gansu", "inconsistent_land_types"] == "medium_cover_grassland"
    assert (implied.drop(index="Gansu")["cells_used"] == 10).all()


def test_sv_rounded_to_the_yuan_fen_cannot_reproduce_table3(study_esv):
    """Why SV_i carries four decimals: SV_i rounded to 0.01 (2523.87 for Shaanxi) is off by up to half a fen,
    which the 22.95 equivalents of broadleaf forest magnify to 0.11 yuan, beyond Table 3's rounding."""
    shipped = esv.load_standard_equivalent_values()
    rounded = shipped.assign(sv_yuan_per_ha=shipped["sv_yuan_per_ha"].round(2))
    comparison = esv.compare_with_published(esv.esv_table(standard_values=rounded), study_esv)
    assert comparison["matches"].sum() < 49


def test_sparse_and_other_forest_rule(study_esv):
    eq = esv.land_type_equivalents()
    wide = eq.pivot(index="service", columns="land_type", values="equivalent")
    assert wide["sparse_forest"].sum() == pytest.approx(13.44, abs=1e-12)
    assert wide["other_forest"].sum() == pytest.approx(11.58, abs=1e-12)
    for land_type in ("sparse_forest", "other_forest"):
        np.testing.assert_allclose(wide[land_type] / wide[land_type].sum(), wide["broadleaf_forest"] / 22.95, rtol=1e-12)


def test_by_service_rows_sum_to_the_total():
    table = esv.esv_by_service()
    assert len(table) == len(PROVINCES) * len(LAND_TYPES) * (len(esv.SERVICES) + 1)
    services = table[table["service"] != esv.TOTAL_SERVICE].groupby(["province", "land_type"])["esv_yuan_per_ha_yr"].sum()
    totals = table[table["service"] == esv.TOTAL_SERVICE].set_index(["province", "land_type"])["esv_yuan_per_ha_yr"]
    np.testing.assert_allclose(services.sort_index(), totals.sort_index(), rtol=1e-12)


def test_computed_esv_gives_the_studys_province_shares(study_area, study_params):
    """Filling 102.71 x 10^4 ha in the merit order of the computed ESV reproduces the published province
    shares, as the printed Table 3 does: the misprinted cell lies beyond the cut in both orders."""
    classes = landuse_classes(study_area, esv.esv_table(), study_params)
    province = shares(fill_merit_order(classes, 102.71), "province")
    assert province["Qinghai"] == pytest.approx(0.7667, abs=5e-5)
    assert province["Gansu"] == pytest.approx(0.1103, abs=5e-5)
    assert province["Shaanxi"] == pytest.approx(0.0980, abs=5e-5)


# ------------------------------------------------------------------------------------------ invariants


@settings(max_examples=30, deadline=None)
@given(
    scale=st.floats(min_value=0.1, max_value=10.0),
    province=st.sampled_from(PROVINCES),
)
def test_esv_is_linear_in_the_standard_value(scale, province):
    sv = esv.load_standard_equivalent_values()
    changed = sv.assign(sv_yuan_per_ha=np.where(sv["province"] == province, sv["sv_yuan_per_ha"] * scale, sv["sv_yuan_per_ha"]))
    base = esv.esv_table().set_index(["land_type", "province"])["esv_yuan_per_ha_yr"]
    new = esv.esv_table(standard_values=changed).set_index(["land_type", "province"])["esv_yuan_per_ha_yr"]
    ratio = new / base
    in_province = ratio.index.get_level_values("province") == province
    np.testing.assert_allclose(ratio[in_province], scale, rtol=1e-12)
    np.testing.assert_allclose(ratio[~in_province], 1.0, rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(xie_class=st.sampled_from(["meadow", "steppe", "desert", "shrub", "dry_land"]), factor=st.floats(0.2, 5.0))
def test_a_changed_factor_flows_to_exactly_the_land_types_mapped_to_it(xie_class, factor):
    factors = esv.load_equivalent_factors()
    changed = factors.assign(equivalent=np.where(factors["xie_class"] == xie_class, factors["equivalent"] * factor, factors["equivalent"]))
    mapping = esv.load_landuse_mapping(factors=factors)
    users = set(mapping.loc[mapping["xie_class"] == xie_class, "land_type"])
    base = esv.esv_table(esv.land_type_equivalents(factors, mapping)).set_index(["land_type", "province"])["esv_yuan_per_ha_yr"]
    new = esv.esv_table(esv.land_type_equivalents(changed, mapping)).set_index(["land_type", "province"])["esv_yuan_per_ha_yr"]
    affected = base.index.get_level_values("land_type").isin(users)
    np.testing.assert_allclose((new / base)[affected], factor, rtol=1e-12)
    np.testing.assert_allclose((new / base)[~affected], 1.0, rtol=1e-12)


# ----------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("rows", "field", "fragment"),
    [
        ({"shrubland": "shrubland,a,1,15"}, "weight", "exactly one of weight and scaled_total_equivalent"),
        ({"shrubland": "shrubland,a,,"}, "weight", "exactly one of weight and scaled_total_equivalent"),
        ({"shrubland": "shrubland,nowhere,1,"}, "xie_class", "unknown xie class"),
        ({"shrubland": "shrubland,a,-1,"}, "weight", "must be >= 0"),
        ({"shrubland": "shrubland,a,x,"}, "weight", "not a number"),
        ({"shrubland": "orchard,a,1,"}, "land_type", "unknown land type"),
        ({"shrubland": "shrubland,a,,10\nshrubland,b,1,"}, "land_type", "only row"),
    ],
)
def test_bad_mapping_names_file_field_and_value(tmp_path, rows, field, fragment):
    factors = esv.load_equivalent_factors(_two_class_factors(tmp_path))
    path = _write(tmp_path, "map.csv", _mapping_text(rows))
    with pytest.raises(InputError) as info:
        esv.load_landuse_mapping(path, factors=factors)
    assert info.value.field == field and fragment in str(info.value) and str(path) in str(info.value)


def test_unmapped_land_type_is_refused(tmp_path):
    factors = esv.load_equivalent_factors(_two_class_factors(tmp_path))
    text = "\n".join(line for line in _mapping_text({}).splitlines() if not line.startswith("shrubland")) + "\n"
    with pytest.raises(InputError, match="without a mapping.*shrubland"):
        esv.load_landuse_mapping(_write(tmp_path, "map.csv", text), factors=factors)


def test_bad_factor_table(tmp_path):
    a = ",".join(["1"] * 10)
    with pytest.raises(InputError, match="not a number") as info:
        esv.load_equivalent_factors(_write(tmp_path, "f.csv", f"{HEADER}\na,g,{a},high\n"))
    assert info.value.row == 2 and info.value.field == "aesthetic_landscape"
    with pytest.raises(InputError, match="header must be"):
        esv.load_equivalent_factors(_write(tmp_path, "g.csv", "xie_class,food_production\na,1\n"))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("province,sv_yuan_per_ha\nShaanxi,0\n", "must be > 0"),
        ("province,sv_yuan_per_ha\nShaanxi,-3\n", "must be >= 0"),
        ("province,sv_yuan_per_ha\nShaanxi,1\nShaanxi,2\n", "duplicate row"),
    ],
)
def test_bad_standard_values(tmp_path, text, fragment):
    with pytest.raises(InputError, match=fragment):
        esv.load_standard_equivalent_values(_write(tmp_path, "sv.csv", text))


def test_bad_grain_statistics(tmp_path):
    with pytest.raises(InputError, match="national"):
        esv.load_grain_statistics(_write(tmp_path, "g.csv", "region,grain_yield_kg_per_ha\nShaanxi,4000\n"))
    with pytest.raises(InputError, match="must be finite and > 0"):
        esv.standard_equivalent_value(7000.0, 0.0, 5000.0)


def test_every_esv_input_is_catalogued_with_units_and_source():
    import tomllib

    with data_path("catalog.toml").open("rb") as fh:
        tables = tomllib.load(fh)["tables"]
    for name in ("xie2015_equivalents", "esv_landuse_mapping", "esv_standard_equivalent"):
        spec = tables[name]
        assert spec["source"] and spec["description"] and data_path(spec["file"]).exists()
        assert list(pd.read_csv(data_path(spec["file"]), nrows=0).columns) == list(spec["columns"])
