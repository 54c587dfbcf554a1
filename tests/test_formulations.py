"""Formulation switches: each changes the answer the way its economics says, and Eq. 3 stays the check."""

from __future__ import annotations

import pytest

from afforest.errors import InputError
from afforest.model.formulations import exclude_provinces, scale_opportunity_cost
from afforest.model.steady_state import long_run_afforested_area as analytic_area
from afforest.chain.inputs import resolve_inputs
from afforest.chain.landuse import build_models, solve_models
from afforest.scenarios import load_scenario

pytestmark = pytest.mark.component

FAST = {"numerics.horizon_yr": 80.0, "numerics.step_yr": 2.0}


def _solve(name: str, **overrides):
    scenario = load_scenario(name).with_overrides({**FAST, **overrides})
    inputs = resolve_inputs(scenario)
    return inputs, solve_models(inputs, build_models(inputs))


def test_carbon_price_is_a_lower_effective_planting_cost():
    inputs, result = _solve("carbon_price", **{"policy.carbon_price_yuan_per_t_co2": 300.0})
    assert inputs.carbon_pv_t_co2_per_ha > 0
    effective = inputs.params.planting_cost_intercept_yuan_per_ha - 300.0 * inputs.carbon_pv_t_co2_per_ha
    assert inputs.effective_planting_cost_yuan_per_ha == pytest.approx(effective)
    expected = analytic_area(inputs.params, planting_cost_intercept_yuan_per_ha=effective)[0]
    assert result.analytic_afforested_area_10k_ha == pytest.approx(expected)
    assert result.numeric_afforested_area_10k_ha == pytest.approx(expected, rel=1e-3)
    _, baseline = _solve("baseline")
    assert result.numeric_afforested_area_10k_ha > baseline.numeric_afforested_area_10k_ha


def test_land_type_costs_move_only_the_costed_classes(study_area):
    """x1.5 on unused land and bare soil: their hurdle rises from r tau0 = 2113 to 3170 yuan/ha/yr, still far
    below their gain of ~75000, so they stay converted; nothing else changes."""
    _, costed = _solve("land_type_costs")
    _, baseline = _solve("baseline")
    assert costed.classes_afforested_area_10k_ha == pytest.approx(baseline.classes_afforested_area_10k_ha, abs=1e-4)
    # A prohibitive multiplier keeps unused land unplanted.
    _, prohibitive = _solve("land_type_costs", **{"policy.direct_cost_multiplier_by_land_type": {"unused_land": 100.0}})
    planted = set(zip(prohibitive.classes_allocation["land_type"], prohibitive.classes_allocation["province"]))
    assert not any(lt == "unused_land" for lt, _ in planted)
    unused = study_area.loc[study_area["land_type"] == "unused_land", "area_10k_ha"].sum()
    assert prohibitive.classes_afforested_area_10k_ha == pytest.approx(baseline.classes_afforested_area_10k_ha - unused, abs=1e-3)


def test_quota_and_exclusion():
    _, result = _solve("province_quotas")
    by_province = result.classes_allocation.groupby("province")["area_10k_ha"].sum()
    assert by_province["Qinghai"] == pytest.approx(40.0, abs=1e-4)
    assert "Xinjiang" not in by_province.index
    assert "Xinjiang" not in set(result.allocation["province"])


def test_economic_only_opportunity_cost_plants_more(study_params, study_classes):
    _, result = _solve("economic_only")
    _, baseline = _solve("baseline")
    assert result.analytic_afforested_area_10k_ha > 2 * baseline.analytic_afforested_area_10k_ha
    assert result.numeric_afforested_area_10k_ha == pytest.approx(result.analytic_afforested_area_10k_ha, rel=1e-3)
    scaled_params, scaled_classes = scale_opportunity_cost(study_params, study_classes, 0.5)
    assert scaled_params.unconverted_esv_coefficients[1] == pytest.approx(0.5 * study_params.unconverted_esv_coefficients[1])
    assert (scaled_classes["esv_yuan_per_ha_yr"] == 0.5 * study_classes["esv_yuan_per_ha_yr"]).all()
    with pytest.raises(InputError, match="opportunity_cost_share"):
        scale_opportunity_cost(study_params, study_classes, 1.5)


def test_planting_cap_switch_on_and_off():
    inputs, capped = _solve("planting_capacity")
    assert capped.curves_path["planting_rate_10k_ha_per_yr"].max() <= 5.0 + 1e-6
    assert capped.classes_path["planting_rate_10k_ha_per_yr"].max() <= 5.0 + 1e-6
    assert capped.numeric_afforested_area_10k_ha == pytest.approx(capped.analytic_afforested_area_10k_ha, rel=1e-3)


def test_bad_switch_values(study_area):
    with pytest.raises(InputError, match="unknown province"):
        exclude_provinces(study_area, ["Tibet"])
    with pytest.raises(InputError, match="every class is excluded"):
        exclude_provinces(study_area, ["Shaanxi", "Gansu", "Qinghai", "Ningxia", "Xinjiang"])
    with pytest.raises(InputError, match="unknown province"):
        load_scenario("baseline").with_overrides({"policy.province_quota_10k_ha": {"Tibet": 1.0}})
