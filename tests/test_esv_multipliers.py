"""ESV multipliers by land type (``landuse.esv_multiplier_by_land_type``, issue 14): a data-level switch on the
classes' current-use ESV, a sweep and sensitivity key per land type, refused when out of range or unknown.

The study's baseline plants the classes up to Qinghai's medium-cover grassland (96.77 x 10^4 ha, every class whose
afforested ESV beats its current ESV plus the cost); ten times the current ESV of low-cover grassland (11 157 to
21 387 yuan/(ha yr), x 10 above every afforested ESV of its classes) takes exactly its 45.65 x 10^4 ha out.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from afforest.chain.inputs import resolve_inputs
from afforest.chain.sensitivity import build_design
from afforest.chain.stages import run_chain
from afforest.chain.sweep import SweepPoint, resolve_key, solve_point, without_designs
from afforest.data import MAX_ESV_MULTIPLIER
from afforest.errors import InputError
from afforest.model.formulations import scale_esv_by_land_type
from afforest.scenarios import load_scenario, shipped_scenarios

KEY = "landuse.esv_multiplier_by_land_type"
LAND_TYPE = "low_cover_grassland"
STUDY_BASELINE_DIGEST = "16fb9077ececcfef"
"""The baseline's digest before the field existed (tests/golden/solve_baseline.json)."""


def _with(factors: dict[str, float]):
    return load_scenario("baseline").with_overrides({KEY: factors})


def _baseline_without_the_land_type() -> tuple[float, float]:
    """(the baseline's classes area, that area less what the baseline plants of LAND_TYPE), from the chain itself."""
    base = run_chain("baseline", engine="fast", tables=False).landuse
    allocation = base.classes_allocation
    taken = float(allocation.loc[allocation["land_type"] == LAND_TYPE, "area_10k_ha"].sum())
    assert taken > 0  # the baseline plants some of it: the test below takes it out
    return base.classes_afforested_area_10k_ha, base.classes_afforested_area_10k_ha - taken


@pytest.mark.unit
def test_factor_one_changes_no_number_and_no_digest_changes_at_the_default():
    base = resolve_inputs("baseline").classes
    ones = resolve_inputs(_with({LAND_TYPE: 1.0, "bare_soil": 1.0})).classes
    pd.testing.assert_frame_equal(ones, base, check_exact=True)
    assert load_scenario("baseline").digest() == STUDY_BASELINE_DIGEST
    for name in shipped_scenarios():  # an empty dict is the default: the digest every scenario had before the field
        scenario = load_scenario(name)
        assert scenario.landuse.esv_multiplier_by_land_type == {}
        assert scenario.with_overrides({KEY: {}}).digest() == scenario.digest()
    assert _with({LAND_TYPE: 2.0}).digest() != STUDY_BASELINE_DIGEST


@pytest.mark.unit
def test_a_factor_scales_exactly_its_land_types_current_esv():
    base = resolve_inputs("baseline")
    scaled = resolve_inputs(_with({LAND_TYPE: 2.5}))
    rows = (base.classes["land_type"] == LAND_TYPE).to_numpy()
    assert rows.sum() == 5
    esv, new = base.classes["esv_yuan_per_ha_yr"].to_numpy(), scaled.classes["esv_yuan_per_ha_yr"].to_numpy()
    np.testing.assert_array_equal(new[rows], esv[rows] * 2.5)
    np.testing.assert_array_equal(new[~rows], esv[~rows])
    others = [c for c in base.classes.columns if c != "esv_yuan_per_ha_yr"]
    pd.testing.assert_frame_equal(scaled.classes[others], base.classes[others], check_exact=True)
    assert scaled.params == base.params  # the curves describe the study's land as a whole: unchanged
    # the per-process caches are keyed by the tables: the study's classes are served unchanged afterwards
    pd.testing.assert_frame_equal(resolve_inputs("baseline").classes, base.classes, check_exact=True)
    halved = resolve_inputs(_with({LAND_TYPE: 0.5})).classes["esv_yuan_per_ha_yr"].to_numpy()
    np.testing.assert_array_equal(halved[rows], esv[rows] * 0.5)


@pytest.mark.unit
def test_the_function_refuses_unknown_land_types_and_bad_factors():
    classes = resolve_inputs("baseline").classes
    with pytest.raises(InputError) as info:
        scale_esv_by_land_type(classes, {"paddy_on_the_moon": 2.0})
    assert info.value.field == KEY and info.value.value == "paddy_on_the_moon"
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(InputError) as info:
            scale_esv_by_land_type(classes, {LAND_TYPE: bad})
        assert info.value.field == f"{KEY}.{LAND_TYPE}"


def test_both_engines_take_the_land_type_out():
    base = run_chain("baseline", engine="fast", tables=False).landuse
    scenario = _with({LAND_TYPE: 10.0})
    fast = run_chain(scenario, engine="fast", tables=False).landuse
    pyomo = run_chain(scenario, engine="pyomo", tables=False).landuse
    assert (fast.landuse_path, pyomo.landuse_path, fast.status, pyomo.status) == ("fast", "pyomo", "ok", "ok")
    assert math.isclose(base.classes_afforested_area_10k_ha, 96.77, rel_tol=1e-9)
    remaining = _baseline_without_the_land_type()[1]  # 96.77 - 45.65
    assert math.isclose(fast.classes_afforested_area_10k_ha, remaining, rel_tol=1e-9)
    assert math.isclose(pyomo.classes_afforested_area_10k_ha, fast.classes_afforested_area_10k_ha, rel_tol=1e-6)
    # the curves (and Eq. 3) do not read the classes: unchanged on both
    assert fast.numeric_afforested_area_10k_ha == base.numeric_afforested_area_10k_ha


def test_a_sweep_point_and_a_sensitivity_input_on_one_land_type(tmp_path):
    key = f"{KEY}.{LAND_TYPE}"
    assert resolve_key(key) == key
    with pytest.raises(InputError):
        resolve_key(f"{KEY}.")
    with pytest.raises(InputError):
        resolve_key("landuse.opportunity_cost_share.x")
    one = _with({"bare_soil": 3.0}).with_overrides({key: 10.0})  # sets that entry, keeps the others
    assert one.landuse.esv_multiplier_by_land_type == {"bare_soil": 3.0, LAND_TYPE: 10.0}
    base_json = without_designs(load_scenario("baseline")).model_dump_json()
    row = solve_point(base_json, SweepPoint(0, {key: 10.0}), engine="fast")
    assert row["status"] == "ok" and row["landuse_path"] == "fast"
    assert row[f"esv_multiplier_by_land_type.{LAND_TYPE}"] == 10.0
    assert math.isclose(row["classes_afforested_area_10k_ha"], _baseline_without_the_land_type()[1], rel_tol=1e-9)
    path = tmp_path / "s.toml"
    path.write_text(f'extends = "baseline"\n[sensitivity.inputs."{key}"]\ndistribution = "uniform"\nlo = 0.5\nhi = 2.0\n'
                    '[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "uniform"\nlo = 0.03\nhi = 0.07\n')
    scenario = load_scenario(path)
    design = build_design(scenario.sensitivity.inputs, "sobol", 8)
    values = design.values[key].to_numpy(dtype=float)
    assert values.min() >= 0.5 and values.max() <= 2.0 and len(np.unique(values)) > 2
    assert scenario.digest() == STUDY_BASELINE_DIGEST  # the design is not the scenario


BAD = [
    ({KEY: {"paddy_on_the_moon": 2.0}}, KEY, "paddy_on_the_moon"),
    ({KEY: {LAND_TYPE: 0.0}}, f"{KEY}.{LAND_TYPE}", 0.0),
    ({KEY: {LAND_TYPE: -1.0}}, f"{KEY}.{LAND_TYPE}", -1.0),
    ({KEY: {LAND_TYPE: MAX_ESV_MULTIPLIER * 2}}, f"{KEY}.{LAND_TYPE}", MAX_ESV_MULTIPLIER * 2),
    ({f"{KEY}.{LAND_TYPE}": MAX_ESV_MULTIPLIER * 2}, f"{KEY}.{LAND_TYPE}", MAX_ESV_MULTIPLIER * 2),
    ({f"{KEY}.{LAND_TYPE}": math.inf}, f"{KEY}.{LAND_TYPE}", math.inf),
    ({f"{KEY}.paddy_on_the_moon": 2.0}, KEY, "paddy_on_the_moon"),
]


@pytest.mark.unit
@pytest.mark.parametrize("overrides, field, value", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_factors_are_refused_naming_field_and_value(overrides, field, value):
    with pytest.raises(InputError) as info:
        load_scenario("baseline").with_overrides(overrides)
    assert info.value.field.startswith(field)
    assert str(value) in str(info.value)


@pytest.mark.unit
def test_bad_files_and_sensitivity_ranges_are_refused(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('extends = "baseline"\n[landuse.esv_multiplier_by_land_type]\npaddy_on_the_moon = 2.0\n')
    with pytest.raises(InputError, match="paddy_on_the_moon") as info:
        load_scenario(path)
    assert KEY in f"{info.value.field} {info.value}"
    path.write_text(f'extends = "baseline"\n[sensitivity.inputs."{KEY}.{LAND_TYPE}"]\ndistribution = "uniform"\n'
                    f'lo = 0.5\nhi = {MAX_ESV_MULTIPLIER * 2}\n')
    with pytest.raises(InputError, match="outside the parameter's valid range") as info:
        load_scenario(path)
    assert info.value.field.startswith("sensitivity") and f"{KEY}.{LAND_TYPE}" in str(info.value)
    assert f"{MAX_ESV_MULTIPLIER * 2:g}" in str(info.value)
    path.write_text(f'extends = "baseline"\n[sensitivity.inputs."{KEY}.{LAND_TYPE}"]\ndistribution = "uniform"\n'
                    'lo = 0.0\nhi = 2.0\n')
    with pytest.raises(InputError, match="lo = 0"):
        load_scenario(path)
    path.write_text(f'extends = "baseline"\n[sensitivity.inputs."{KEY}"]\ndistribution = "uniform"\nlo = 0.5\nhi = 2.0\n')
    with pytest.raises(InputError, match="not a number"):  # the whole dict: name one land type
        load_scenario(path)
    path.write_text(f'extends = "baseline"\n[sweep.grid]\n"{KEY}.{LAND_TYPE}" = [1.0, 2.0]\n')
    assert load_scenario(path).sweep.grid == {f"{KEY}.{LAND_TYPE}": [1.0, 2.0]}
