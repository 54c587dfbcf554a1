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


# ------------------------------------------------------------------ the built-in switches on the cells model
def _cells_setup():
    from afforest.chain.bundle import load_bundle
    from afforest.model.cells import load_cell_spreads, synthetic_cells
    from afforest.model.landuse import TimeGrid

    bundle = load_bundle()
    cells = synthetic_cells(48, seed=7, params=bundle.landuse_parameters, area=bundle.afforestable_area,
                            esv=bundle.esv, spreads=load_cell_spreads())
    return cells, bundle.landuse_parameters, TimeGrid(horizon_yr=12.0, step_yr=1.0)


CELLS_WELFARE_RELATIVE = 1e-7
"""HiGHS on the Pyomo model against the exact decomposition: they agree to ~1e-8 of the welfare."""


def test_land_type_costs_on_cells_scale_each_cells_own_cost():
    """The switch on a cells model equals the cells problem whose costed cells pay tau0_c x multiplier."""
    from afforest.model.cells import build_cells_model, cell_problem
    from afforest.model.formulations import add_switch
    from afforest.solvers import solve
    from afforest.solvers.decomposition import solve_cells_decomposition

    cells, params, grid = _cells_setup()
    multipliers = {"bare_soil": 3.0, "unused_land": 0.5}
    model = build_cells_model(cell_problem(cells, params, grid))
    add_switch(model, "land_type_costs", {"direct_cost_multiplier_by_land_type": multipliers})
    assert "land_type_costs.land_type_cost_adjustment_pv" in list(model.welfare_terms)
    result = solve(model, "highs")
    factor = cells["land_type"].map(multipliers).fillna(1.0)
    costed = cells.assign(planting_cost_yuan_per_ha=cells["planting_cost_yuan_per_ha"] * factor)
    exact = solve_cells_decomposition(cell_problem(costed, params, grid))
    assert result.objective == pytest.approx(exact.welfare_10e8_yuan, rel=CELLS_WELFARE_RELATIVE)
    plain = solve_cells_decomposition(cell_problem(cells, params, grid))
    assert abs(exact.welfare_10e8_yuan - plain.welfare_10e8_yuan) > 1e3 * CELLS_WELFARE_RELATIVE * abs(plain.welfare_10e8_yuan)


def test_province_quotas_and_carbon_price_on_cells():
    from afforest.model.cells import build_cells_model, cell_problem, plan_from_model
    from afforest.model.formulations import add_switch
    from afforest.solvers import solve
    from afforest.solvers.decomposition import solve_cells_decomposition

    cells, params, grid = _cells_setup()
    free = solve_cells_decomposition(cell_problem(cells, params, grid)).allocation()
    province = free.groupby("province")["area_10k_ha"].sum().idxmax()
    quota = 0.5 * float(free.groupby("province")["area_10k_ha"].sum().max())
    model = build_cells_model(cell_problem(cells, params, grid))
    add_switch(model, "province_quotas", {"province_quota_10k_ha": {province: quota}})
    solve(model, "highs")
    planted = plan_from_model(model).allocation().groupby("province")["area_10k_ha"].sum()
    assert planted[province] == pytest.approx(quota, rel=1e-6)  # binding: half of what it plants when free
    # carbon: the switch prices each cell's own yield, as the array paths do
    priced = cell_problem(cells, params, grid, carbon_price_yuan_per_t_co2=80.0)
    model = build_cells_model(priced)
    assert "carbon_price.carbon_value_pv" in list(model.welfare_terms)
    result = solve(model, "highs")
    assert result.objective == pytest.approx(solve_cells_decomposition(priced).welfare_10e8_yuan, rel=CELLS_WELFARE_RELATIVE)


@pytest.mark.unit
def test_a_quota_in_an_excluded_province_is_refused_by_its_switch_before_anything_is_built():
    scenario = load_scenario("province_quotas").with_overrides({"policy.excluded_provinces": ["Qinghai"]})
    with pytest.raises(InputError, match=r"Qinghai has a quota in policy.province_quota_10k_ha but is also listed") as caught:
        resolve_inputs(scenario)
    assert caught.value.field == "policy.province_quota_10k_ha" and caught.value.value == "Qinghai"
