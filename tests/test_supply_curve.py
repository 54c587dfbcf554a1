"""Supply curve, present values, power-sector benchmark: closed forms, the study's numbers, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afforest.data import data_path, load_direct_costs, load_landuse_parameters, load_quantities
from afforest.errors import InputError
from afforest.model.merit_order import merit_order
from afforest.model.supply_curve import (
    CostDiscounting,
    CostFlows,
    abatement_costs,
    cost_effective,
    cost_summary,
    emission_intensity_t_co2_per_mwh,
    fill_supply_curve,
    load_cost_effectiveness_parameters,
    load_power_fuels,
    load_power_technologies,
    present_value_direct_costs,
    regional_contribution,
    supply_curve,
    thermal_emissions,
    to_usd,
)

pytestmark = pytest.mark.unit

R, T = 0.05, 40.0


@pytest.fixture(scope="module")
def published() -> dict[str, float]:
    return {k: q.value for k, q in load_quantities(data_path("published_results.toml")).items()}


@pytest.fixture(scope="module")
def classes(study_area, study_esv) -> pd.DataFrame:
    return merit_order(study_area, study_esv)


@pytest.fixture(scope="module")
def costs() -> pd.DataFrame:
    return load_direct_costs()


def _classes(esv: list[float], area: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {"rank": range(1, len(esv) + 1), "land_type": [f"t{i}" for i in range(len(esv))], "province": "p",
         "area_10k_ha": area, "esv_yuan_per_ha_yr": esv}
    )


# -- present values ------------------------------------------------------------------------------------------

def test_pv_of_table4_is_the_reference_formula(costs):
    """Wang et al. 2024, section 5 and Table 4: 42265 + 1326 e^-r + 1326 e^-2r + 750 e^-3r + 181 (1 - e^-40r) / r."""
    expected = 42265 + 1326 * math.exp(-R) + 1326 * math.exp(-2 * R) + 750 * math.exp(-3 * R) + 181 * (1 - math.exp(-T * R)) / R
    assert present_value_direct_costs(costs, CostDiscounting(R, T)) == pytest.approx(expected, rel=1e-14)


def test_undiscounted_pv_is_the_plain_sum(costs):
    assert present_value_direct_costs(costs, CostDiscounting(0.0, T)) == pytest.approx(42265 + 1326 + 1326 + 750 + 181 * 40)
    assert present_value_direct_costs(costs, CostDiscounting(0.0, T, CostFlows.ANNUAL)) == pytest.approx(42265 + 1326 + 1326 + 750 + 181 * 40)


def test_annual_flows_are_paid_at_the_start_of_each_stand_year():
    discounting = CostDiscounting(R, 3.0, "annual")
    assert discounting.annuity(1) == pytest.approx(1 + math.exp(-R) + math.exp(-2 * R))
    assert discounting.annuity(2) == pytest.approx(math.exp(-R) + math.exp(-2 * R))
    assert CostDiscounting(R, 3.0).annuity(2) == pytest.approx((math.exp(-R) - math.exp(-3 * R)) / R)


def test_the_study_defaults_come_from_data():
    study = CostDiscounting.from_study(load_landuse_parameters().financial_discount_rate, load_cost_effectiveness_parameters())
    assert (study.financial_discount_rate, study.horizon_yr, study.flows) == (0.05, 40.0, CostFlows.CONTINUOUS)


# -- supply curve ----------------------------------------------------------------------------------------------

def test_small_curve_by_hand(costs):
    discounting = CostDiscounting(R, T)
    curve = supply_curve(_classes([2000.0, 500.0], [3.0, 1.0]), costs, 200.0, discounting)
    annuity = (1 - math.exp(-R * T)) / R
    direct = present_value_direct_costs(costs, discounting)
    assert list(curve["esv_yuan_per_ha_yr"]) == [500.0, 2000.0]  # sorted by marginal cost
    np.testing.assert_allclose(curve["marginal_cost_yuan_per_t_co2"], [(direct + 500 * annuity) / 200, (direct + 2000 * annuity) / 200])
    np.testing.assert_allclose(curve["carbon_end_mt_co2"], [2.0, 8.0])  # 10^4 ha x t/ha = 10^4 t
    part = fill_supply_curve(curve, 2.5)
    np.testing.assert_allclose(part["area_10k_ha"], [1.0, 1.5])
    summary = cost_summary(part)
    mean = (1.0 * curve["marginal_cost_yuan_per_t_co2"].iloc[0] + 1.5 * curve["marginal_cost_yuan_per_t_co2"].iloc[1]) / 2.5
    assert summary["average_cost_yuan_per_t_co2"] == pytest.approx(mean, rel=1e-13)


def test_the_published_costs_follow_from_the_study_carbon_per_hectare(classes, costs, published):
    """Wang et al. 2024, sections 4-5: with 374.88 Mt / 102.71 x 10^4 ha per planted ha, continuous discounting over 40 yr
    reproduces 153.72-1499.67 and 948.81 to within 0.05 yuan (the study rounds its carbon to 365.0)."""
    carbon = published["cumulative_sink_rc0"] * 100 / published["desirable_area"]
    curve = supply_curve(classes, costs, carbon, CostDiscounting(R, T))
    summary = cost_summary(fill_supply_curve(curve, published["desirable_area"]))
    assert summary["min_marginal_cost_yuan_per_t_co2"] == pytest.approx(published["marginal_cost_min_rc0"], abs=0.05)
    assert summary["max_marginal_cost_yuan_per_t_co2"] == pytest.approx(published["marginal_cost_max_rc0"], abs=0.05)
    assert summary["average_cost_yuan_per_t_co2"] == pytest.approx(published["average_cost_rc0"], abs=0.05)
    assert summary["carbon_mt_co2"] == pytest.approx(published["cumulative_sink_rc0"], rel=1e-12)


def test_at_the_carbon_price_nothing_is_supplied(classes, costs):
    price = load_cost_effectiveness_parameters().carbon_price_yuan_per_t_co2
    curve = supply_curve(classes, costs, 370.0, CostDiscounting(R, T))
    assert cost_effective(curve, price).empty
    assert cost_effective(curve, float(curve["marginal_cost_yuan_per_t_co2"].max())).shape[0] == len(curve)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 100_000).map(float), st.floats(0.01, 100)), min_size=1, max_size=10),
    st.floats(10, 1000),
    st.floats(0, 0.2),
)
def test_uniform_carbon_curves_rise_with_esv_and_average_is_the_area_weighted_mean(costs, cells, carbon, rate):
    esv, area = zip(*cells)
    curve = supply_curve(_classes(list(esv), list(area)), costs, carbon, CostDiscounting(rate, T))
    assert curve["esv_yuan_per_ha_yr"].is_monotonic_increasing
    assert curve["marginal_cost_yuan_per_t_co2"].is_monotonic_increasing
    mean = np.average(curve["marginal_cost_yuan_per_t_co2"], weights=curve["area_10k_ha"])
    assert cost_summary(curve)["average_cost_yuan_per_t_co2"] == pytest.approx(mean, rel=1e-9)
    assert curve["carbon_end_mt_co2"].iloc[-1] == pytest.approx(0.01 * carbon * sum(area), rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 0.5), st.floats(0.001, 0.3))
def test_a_higher_rate_never_raises_the_pv_of_costs(costs, low, step):
    high = min(low + step, 0.99)
    assert present_value_direct_costs(costs, CostDiscounting(high, T)) <= present_value_direct_costs(costs, CostDiscounting(low, T)) + 1e-9


def test_bad_supply_curve_input_is_refused(classes, costs):
    with pytest.raises(InputError, match="financial_discount_rate"):
        CostDiscounting(-0.01, T)
    with pytest.raises(InputError, match="horizon_yr"):
        CostDiscounting(R, 40.5)
    with pytest.raises(InputError, match="carbon_t_co2_per_ha"):
        supply_curve(classes, costs, 0.0, CostDiscounting(R, T))
    curve = supply_curve(classes, costs, 370.0, CostDiscounting(R, T))
    with pytest.raises(InputError, match="area_10k_ha"):
        fill_supply_curve(curve, 600.0)
    with pytest.raises(InputError, match="price"):
        cost_effective(curve, float("nan"))


# -- power sector ----------------------------------------------------------------------------------------------

def test_unit_conversion_of_fuels():
    fuels = pd.DataFrame(
        {"fuel": ["coal", "gas"], "consumption": [1.0, 1.0], "consumption_unit": ["10^4 t", "10^8 m^3"],
         "coal_equivalent_factor": [0.5, 1.0], "coal_equivalent_factor_printed": [0.5, 1.0],
         "emission_factor_t_co2_per_tce": [2.0, 2.0]}
    )
    out = thermal_emissions(fuels)
    # 10^4 t x 0.5 kgce/kg = 0.5 x 10^4 tce; 10^8 m^3 x 1 kgce/m^3 = 10^8 kgce = 10 x 10^4 tce
    np.testing.assert_allclose(out["coal_equivalent_10k_tce"], [0.5, 10.0])
    np.testing.assert_allclose(out["emissions_10k_t_co2"], [1.0, 20.0])
    assert emission_intensity_t_co2_per_mwh(1.0, 1.0) == pytest.approx(0.1)  # 10^4 t / 10^5 MWh


def test_table5_is_computed_from_its_fuels(published):
    """Standard coal-equivalent factors (0.7143 ...) give the published emissions to 0.1 %; Table 5's printed
    two-decimal roundings (0.71 ...) give 0.66 % less, which is why the standard values are the default."""
    params = load_cost_effectiveness_parameters()
    emissions = float(thermal_emissions(load_power_fuels())["emissions_10k_t_co2"].sum())
    printed = float(thermal_emissions(load_power_fuels(), "coal_equivalent_factor_printed")["emissions_10k_t_co2"].sum())
    assert emissions == pytest.approx(published["thermal_emissions"], rel=1e-3)
    assert printed / published["thermal_emissions"] - 1 == pytest.approx(-0.0066, abs=0.0002)
    intensity = emission_intensity_t_co2_per_mwh(emissions, params.thermal_generation_10e8_kwh)
    assert intensity == pytest.approx(published["emission_intensity"], abs=0.005)  # printed to 0.01
    costs = abatement_costs(load_power_technologies(), intensity).set_index("option")["abatement_cost_yuan_per_t_co2"]
    for option in ("cut_thermal", "solar_pv", "onshore_wind"):
        assert costs[option] == pytest.approx(published[f"abatement_cost_{option}"], rel=1e-3)


def test_net_convention_subtracts_the_avoided_thermal_cost():
    tech = load_power_technologies()
    net = abatement_costs(tech, 0.8, "net").set_index("option")["abatement_cost_yuan_per_t_co2"]
    assert net["cut_thermal"] == pytest.approx(596.80 / 0.8)
    assert net["onshore_wind"] == pytest.approx((496.00 - 596.80) / 0.8)
    with pytest.raises(InputError, match="cut_thermal"):
        abatement_costs(tech[tech["option"] != "cut_thermal"], 0.8, "net")


def test_bad_power_tables_are_refused(tmp_path: Path):
    bad = tmp_path / "fuels.csv"
    bad.write_text(data_path("power_sector.csv").read_text().replace("10^8 m^3", "barrels"))
    with pytest.raises(InputError, match=r"fuels.csv, line 5, field 'consumption_unit', value 'barrels'"):
        load_power_fuels(bad)
    bad.write_text(data_path("power_sector.csv").read_text().replace("33137.58", "-1"))
    with pytest.raises(InputError, match=r"line 2, field 'consumption'"):
        load_power_fuels(bad)
    with pytest.raises(InputError, match="intensity"):
        abatement_costs(load_power_technologies(), 0.0)


# -- contribution and currency --------------------------------------------------------------------------------

def test_contribution_of_the_published_sink_is_the_published_range(published):
    """9.37 Mt/yr over 96.60 and 62.20 Mt/yr: 9.70 % and 15.06 % (printed to 0.01 %)."""
    target = load_cost_effectiveness_parameters().regional_target_mt_co2_per_yr
    low, high = regional_contribution(published["annual_sink_rc0"], target)
    assert low == pytest.approx(published["contribution_rc0_low"], abs=5e-5)
    assert high == pytest.approx(published["contribution_rc0_high"], abs=5e-5)


def test_usd_conversion():
    assert to_usd(689.76, 6.8976) == pytest.approx(100.0)
    with pytest.raises(InputError, match="exchange_rate"):
        to_usd(1.0, 0.0)
