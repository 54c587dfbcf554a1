"""Carbon accounting: closed-form stands, the cohort convolution, the soil calibration and the study's totals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from afforest.data import data_path, load_quantities
from afforest.errors import InputError
from afforest.model.carbon import (
    POOLS,
    CarbonParameters,
    LinearGrowth,
    Pool,
    RichardsGrowth,
    SoilSchedule,
    SoilShape,
    SoilTarget,
    biomass_carbon_t_c_per_ha,
    calibrate_from_provenance,
    calibrate_soil_schedule,
    cohort_sink,
    cohorts_from_rates,
    cumulative_sink,
    load_carbon_parameters,
    load_soil_schedule,
    per_hectare_sink,
    per_hectare_totals,
    single_cohort,
    soil_target_from_total,
    split_at_horizon,
    study_carbon_discount_rates,
)

pytestmark = pytest.mark.unit

HORIZON = 40.0


@pytest.fixture(scope="module")
def study() -> CarbonParameters:
    return load_carbon_parameters()


@pytest.fixture(scope="module")
def published() -> dict[str, float]:
    return {k: q.value for k, q in load_quantities(data_path("published_results.toml")).items()}


def _simple(growth, omega: float = 2.0, horizon: float = HORIZON) -> CarbonParameters:
    """Round numbers so closed forms are easy: BEF 0.8, RSR 0.25, delta 0.5, theta 0.8, 44/12."""
    return CarbonParameters(
        growth=growth,
        biomass_expansion_factor_t_per_m3=0.8,
        root_shoot_ratio=0.25,
        carbon_fraction=0.5,
        survival_rate=0.8,
        co2_per_carbon=44 / 12,
        horizon_yr=horizon,
        soil=SoilSchedule((0.0,), (horizon,), (omega,)),
    )


def _annuity(rate: float, horizon: float) -> float:
    return horizon if rate == 0 else (1 - math.exp(-rate * horizon)) / rate


# -- exact small cases ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [0.0, 0.03, 0.05, 0.2])
def test_constant_growth_and_constant_soil_rate_match_closed_form(rate):
    params = _simple(LinearGrowth(3.0), omega=2.0)
    totals = per_hectare_totals(params, rate)
    factor = 44 / 12 * 0.8
    above = factor * 0.5 * 0.8 * 3.0 * _annuity(rate, HORIZON)
    assert totals[Pool.ABOVE_GROUND_BIOMASS.value] == pytest.approx(above, rel=1e-12)
    assert totals[Pool.BELOW_GROUND_BIOMASS.value] == pytest.approx(0.25 * above, rel=1e-12)
    assert totals[Pool.SOIL.value] == pytest.approx(factor * 2.0 * _annuity(rate, HORIZON), rel=1e-12)


@pytest.mark.parametrize("rate", [0.0, 0.05])
def test_richards_with_unit_shape_has_closed_form_growth_integral(rate):
    """c = 1: v' = a k e^{-kt}, so int_0^T v' e^{-rt} = a k (1 - e^{-(k+r)T}) / (k + r)."""
    a, k = 100.0, 0.04
    params = _simple(RichardsGrowth(a, k, 1.0), omega=0.0)
    expected = a * k * (1 - math.exp(-(k + rate) * HORIZON)) / (k + rate)
    above = per_hectare_totals(params, rate)[Pool.ABOVE_GROUND_BIOMASS.value]
    assert above == pytest.approx(44 / 12 * 0.8 * 0.5 * 0.8 * expected, rel=1e-12)


def test_yearly_discounted_growth_of_the_study_curve_matches_adaptive_quadrature(study):
    """Gauss-Legendre by parts on each year vs scipy's adaptive quadrature of v'(t) e^{-rt} (v' is singular-ish
    at t = 0 when c < 2; the by-parts form integrates the smooth v instead)."""
    rate = 0.05
    curve = per_hectare_sink(study, rate)
    above = curve[curve["pool"] == Pool.ABOVE_GROUND_BIOMASS.value]["discounted_sink_t_co2_per_ha"].to_numpy()
    scale = study.t_co2_per_t_c_surviving * study.carbon_fraction * study.biomass_expansion_factor_t_per_m3
    for year in (0, 1, 15, 39):
        exact = quad(lambda t: study.growth.growth_m3_per_ha_yr(t) * math.exp(-rate * t), year, year + 1,
                     epsabs=0, epsrel=1e-13)[0]
        assert above[year] == pytest.approx(scale * exact, rel=1e-10)


def test_zero_carbon_discount_rate_equals_the_undiscounted_sums(study):
    curve = per_hectare_sink(study, 0.0)
    np.testing.assert_array_equal(curve["sink_t_co2_per_ha"], curve["discounted_sink_t_co2_per_ha"])
    path = pd.DataFrame({"period_start_yr": [0.0, 3.0, 7.0], "planted_area_10k_ha": [5.0, 2.0, 1.0]})
    sink = cohort_sink(path, study, 0.0)
    np.testing.assert_array_equal(sink["sink_mt_co2"], sink["discounted_sink_mt_co2"])


def test_single_cohort_in_year_zero_is_the_per_hectare_curve(study):
    area = 7.5
    sink = cohort_sink(single_cohort(area), study, 0.05)
    curve = per_hectare_sink(study, 0.05)
    for column_sink, column_curve in (("sink_mt_co2", "sink_t_co2_per_ha"), ("discounted_sink_mt_co2", "discounted_sink_t_co2_per_ha")):
        np.testing.assert_allclose(sink[column_sink].to_numpy(), 0.01 * area * curve[column_curve].to_numpy(), rtol=1e-14)


def test_a_later_cohort_is_the_curve_shifted_and_discounted_from_its_planting_date(study):
    rate, start = 0.05, 6.0
    sink = cohort_sink(single_cohort(1.0, start), study, rate)
    curve = per_hectare_sink(study, rate)
    for pool in POOLS:
        got = sink[sink["pool"] == pool.value]
        ref = curve[curve["pool"] == pool.value]
        assert (got["sink_mt_co2"].iloc[: int(start)] == 0).all()
        shifted = 0.01 * ref["discounted_sink_t_co2_per_ha"].to_numpy()[: int(HORIZON - start)]
        np.testing.assert_allclose(got["discounted_sink_mt_co2"].iloc[int(start):], math.exp(-rate * start) * shifted, rtol=1e-12)


def test_the_pools_keep_the_root_shoot_ratio_every_year(study):
    curve = per_hectare_sink(study, 0.0).pivot(index="age_start_yr", columns="pool", values="sink_t_co2_per_ha")
    ratio = curve[Pool.BELOW_GROUND_BIOMASS.value] / curve[Pool.ABOVE_GROUND_BIOMASS.value]
    np.testing.assert_allclose(ratio, study.root_shoot_ratio, rtol=1e-13)


def test_sink_by_class_sums_to_the_sink_of_the_whole_path(study):
    path = pd.DataFrame(
        {"land_type": ["a", "b", "a", "c"], "province": ["x", "x", "y", "x"],
         "period_start_yr": [0.0, 2.0, 2.0, 10.0], "planted_area_10k_ha": [1.0, 2.0, 0.5, 4.0]}
    )
    by_class = cohort_sink(path, study, 0.05, by=["land_type", "province"])
    whole = cohort_sink(path, study, 0.05)
    summed = by_class.groupby(["period_start_yr", "pool"], sort=False)["discounted_sink_mt_co2"].sum().to_numpy()
    np.testing.assert_allclose(summed, whole["discounted_sink_mt_co2"].to_numpy(), rtol=1e-13)
    assert len(by_class[["land_type", "province"]].drop_duplicates()) == 4


def test_half_year_steps_accumulate_to_the_same_totals(study):
    yearly = cumulative_sink(cohort_sink(single_cohort(1.0), study, 0.05, step_yr=1.0), HORIZON)
    half = cumulative_sink(cohort_sink(single_cohort(1.0), study, 0.05, step_yr=0.5), HORIZON)
    np.testing.assert_allclose(half["discounted_sink_mt_co2"], yearly["discounted_sink_mt_co2"], rtol=1e-10)


def test_cumulative_to_a_year_counts_the_periods_ending_by_then(study):
    sink = cohort_sink(single_cohort(1.0), study, 0.0)
    to_ten = cumulative_sink(sink, 10.0, by=())
    curve = per_hectare_sink(study, 0.0)
    expected = 0.01 * curve[curve["age_end_yr"] <= 10]["sink_t_co2_per_ha"].sum()
    assert float(to_ten["sink_mt_co2"].iloc[0]) == pytest.approx(expected, rel=1e-13)
    with pytest.raises(InputError, match="to_yr"):
        cumulative_sink(sink, 10.5)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 39), st.floats(0, 50, allow_nan=False)), min_size=1, max_size=12),
    st.sampled_from([0.0, 0.02, 0.05, 0.1]),
)
def test_convolution_equals_the_sum_over_cohorts(study, cohorts, rate):
    """Property: the vectorised convolution equals adding up each cohort's shifted, discounted curve."""
    path = pd.DataFrame({"period_start_yr": [float(s) for s, _ in cohorts], "planted_area_10k_ha": [a for _, a in cohorts]})
    sink = cohort_sink(path, study, rate).pivot(index="period_start_yr", columns="pool", values="discounted_sink_mt_co2")
    curve = per_hectare_sink(study, rate).pivot(index="age_start_yr", columns="pool", values="discounted_sink_t_co2_per_ha")
    expected = np.zeros_like(sink.to_numpy())
    for start, area in cohorts:
        expected[start:] += 0.01 * area * math.exp(-rate * start) * curve.to_numpy()[: int(HORIZON) - start]
    np.testing.assert_allclose(sink.to_numpy(), expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 38), st.integers(1, 10), st.sampled_from([0.0, 0.05]))
def test_planting_later_never_stores_more_by_the_horizon(study, start, delay, rate):
    """Every pool's yearly sink is >= 0 under the shipped schedule, so a delayed cohort stores less by 2060."""
    later = min(start + delay, 39)
    early = cumulative_sink(cohort_sink(single_cohort(1.0, start), study, rate), by=())
    late = cumulative_sink(cohort_sink(single_cohort(1.0, later), study, rate), by=())
    assert float(late["discounted_sink_mt_co2"].iloc[0]) <= float(early["discounted_sink_mt_co2"].iloc[0]) + 1e-15


# -- the dynamic program's path -------------------------------------------------------------------------------

def test_a_rate_path_past_the_horizon_is_split_explicitly(study):
    rates = pd.DataFrame({"period_start_yr": np.arange(60.0), "planting_rate_10k_ha_per_yr": np.full(60, 2.0)})
    cohorts = cohorts_from_rates(rates, 1.0)
    with pytest.raises(InputError, match="longer than the growth horizon"):
        cohort_sink(cohorts, study)
    inside, late = split_at_horizon(cohorts, study.horizon_yr)
    assert len(inside) == 40 and late == pytest.approx(40.0)
    assert cumulative_sink(cohort_sink(inside, study), by=())["sink_mt_co2"].iloc[0] > 0


# -- bad input -----------------------------------------------------------------------------------------------

def test_negative_area_in_a_path_is_refused(study):
    path = pd.DataFrame({"period_start_yr": [0.0, 1.0], "planted_area_10k_ha": [1.0, -0.5]})
    with pytest.raises(InputError, match=r"planted_area_10k_ha.*-0.5.*>= 0 \(path row 1\)"):
        cohort_sink(path, study)


def test_a_path_longer_than_the_growth_horizon_is_refused(study):
    with pytest.raises(InputError, match=r"period_start_yr.*40.0.*longer than the growth horizon \(40 yr\)"):
        cohort_sink(single_cohort(1.0, 40.0), study)


@pytest.mark.parametrize("rate", [-0.01, 1.0, 1.5, float("nan"), True])
def test_a_discount_rate_outside_zero_one_is_refused(study, rate):
    with pytest.raises(InputError, match=r"carbon_discount_rate.*must be in \[0, 1\)"):
        per_hectare_sink(study, rate)
    with pytest.raises(InputError, match="carbon_discount_rate"):
        cohort_sink(single_cohort(1.0), study, rate)


def test_off_grid_planting_dates_and_missing_columns_are_refused(study):
    with pytest.raises(InputError, match="not on the 1-yr grid"):
        cohort_sink(single_cohort(1.0, 2.5), study)
    with pytest.raises(InputError, match="planted_area_10k_ha.*lacks a column"):
        cohort_sink(pd.DataFrame({"period_start_yr": [0.0]}), study)


def test_schedules_and_parameters_are_validated(tmp_path: Path):
    with pytest.raises(InputError, match="start where period 1 ends"):
        SoilSchedule((0.0, 9.0), (8.0, 16.0), (1.0, 1.0))
    with pytest.raises(InputError, match="before the horizon"):
        _simple(LinearGrowth(1.0), horizon=40.0).replace(soil=SoilSchedule((0.0,), (30.0,), (1.0,)))
    with pytest.raises(InputError, match="survival_rate"):
        _simple(LinearGrowth(1.0)).replace(survival_rate=1.2)
    bad = tmp_path / "soil.csv"
    bad.write_text(data_path("soil_carbon_schedule.csv").read_text().replace("2.789637", "fast"))
    with pytest.raises(InputError, match=r"soil.csv, line 4, field 'rate_t_c_per_ha_yr', value 'fast'"):
        load_soil_schedule(bad)


# -- soil calibration ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [SoilShape.CONSTANT, SoilShape.BIOMASS_GROWTH])
def test_one_parameter_shapes_hit_their_target(study, shape):
    target = SoilTarget(0.05, 30.0)
    calibration = calibrate_soil_schedule([target], [0, 5, 10, 20, 30, 40], shape, study.growth)
    params = study.replace(soil=calibration.schedule)
    soil = per_hectare_totals(params, 0.05)[Pool.SOIL.value] / params.t_co2_per_t_c_surviving
    assert soil == pytest.approx(30.0, rel=1e-12)
    if shape is SoilShape.CONSTANT:
        assert len(set(calibration.schedule.rate_t_c_per_ha_yr)) == 1


def test_the_tilted_shape_hits_two_targets_and_tilts_later_for_a_smaller_discounted_share(study):
    targets = [SoilTarget(0.0, 90.0), SoilTarget(0.05, 30.0)]
    calibration = calibrate_soil_schedule(targets, [0, 8, 16, 24, 32, 40], "tilted_biomass_growth", study.growth)
    params = study.replace(soil=calibration.schedule)
    for target in targets:
        soil = per_hectare_totals(params, target.carbon_discount_rate)[Pool.SOIL.value] / params.t_co2_per_t_c_surviving
        assert soil == pytest.approx(target.soil_carbon_t_c_per_ha, rel=1e-10)
    untilted = calibrate_soil_schedule(targets[:1], [0, 8, 16, 24, 32, 40], "biomass_growth", study.growth)
    ratio = per_hectare_totals(study.replace(soil=untilted.schedule), 0.05)[Pool.SOIL.value] / (90.0 * study.t_co2_per_t_c_surviving)
    assert (calibration.tilt_per_yr > 0) == (30.0 / 90.0 < ratio)


def test_calibration_refuses_a_mismatch_of_targets_and_parameters(study):
    with pytest.raises(InputError, match="needs as many targets"):
        calibrate_soil_schedule([SoilTarget(0.0, 90.0)], [0, 20, 40], "tilted_biomass_growth", study.growth)
    with pytest.raises(InputError, match="different carbon discount rates"):
        calibrate_soil_schedule([SoilTarget(0.0, 9.0), SoilTarget(0.0, 8.0)], [0, 20, 40], "tilted_biomass_growth", study.growth)
    with pytest.raises(InputError, match="no tilt"):
        calibrate_soil_schedule([SoilTarget(0.0, 90.0), SoilTarget(0.05, 89.0)], [0, 20, 40], "tilted_biomass_growth", study.growth)
    with pytest.raises(InputError, match="period_bounds_yr"):
        calibrate_soil_schedule([SoilTarget(0.0, 90.0)], [0, 20, 20, 40], "constant")


def test_the_shipped_schedule_is_the_output_of_its_recorded_calibration(study):
    rerun = calibrate_from_provenance()
    np.testing.assert_allclose(rerun.schedule.rate_t_c_per_ha_yr, study.soil.rate_t_c_per_ha_yr, atol=5e-7)
    assert rerun.schedule.period_end_yr == study.soil.period_end_yr


def test_the_calibration_targets_are_the_published_figures(published):
    import tomllib

    with data_path("soil_carbon_schedule.toml").open("rb") as fh:
        target = tomllib.load(fh)["targets"]["soil_pool_rc0"]
    assert target["total_sink_mt_co2"] == published["cumulative_sink_rc0"]
    assert target["soil_share"] == published["pool_share_soil"]
    assert target["area_10k_ha"] == published["desirable_area"]


# -- the study's figures --------------------------------------------------------------------------------------

def test_richards_biomass_is_the_reference_reconstruction_and_its_gap(study, published):
    """Wang et al. 2024, section 4 (Richards growth with the published a, k, c): v(40) = 77.56 m^3/ha -> 40.3 t C/ha of biomass vs 38.3 implied by the pool shares."""
    assert float(study.growth.volume_m3_per_ha(40.0)) == pytest.approx(77.56, abs=0.005)  # printed to 0.01
    biomass = biomass_carbon_t_c_per_ha(study, 0.0)
    assert biomass == pytest.approx(40.34, abs=0.005)
    assert biomass / published["biomass_carbon_per_surviving_ha"] - 1 == pytest.approx(0.053, abs=0.002)


def test_the_r_c_zero_gap_is_exactly_the_biomass_gap(study, published):
    """Cumulative sink on the study's area is 1.56 % above 374.88: remove the excess biomass (our 40.34 vs the
    share-implied 29.65 % x 129.28 t C/ha) and 374.88 comes back to the rounding of the stored rates, so no other term
    (theta, 44/12, the area, the soil pool, the cohort arithmetic) contributes to the gap."""
    area = published["desirable_area"]
    total = cumulative_sink(cohort_sink(single_cohort(area), study, 0.0), by=())["sink_mt_co2"].iloc[0]
    assert total / published["cumulative_sink_rc0"] - 1 == pytest.approx(0.0156, abs=0.0005)
    per_surviving = published["cumulative_sink_rc0"] * 100 / area / study.t_co2_per_t_c_surviving
    share_biomass = (published["pool_share_above_ground_biomass"] + published["pool_share_below_ground_biomass"]) * per_surviving
    excess_mt = (biomass_carbon_t_c_per_ha(study, 0.0) - share_biomass) * study.t_co2_per_t_c_surviving * area / 100
    # the shipped rates are rounded to 1e-6 t C/(ha yr): at most 4e-5 t C/ha over 40 yr, 3e-7 of 129 t C/ha
    assert total - excess_mt == pytest.approx(published["cumulative_sink_rc0"], rel=3e-7)


def test_the_r_c_five_percent_total_is_a_prediction_with_a_documented_gap(study, published):
    """Calibrated on r_c = 0 only, the schedule predicts 154.41 Mt at r_c = 5 % (+4.6 % vs 147.60): the
    study's soil rates are later-weighted than biomass growth. The gap is pinned so a change shows."""
    rc0, rc5 = study_carbon_discount_rates()
    area = published["desirable_area"]
    total = cumulative_sink(cohort_sink(single_cohort(area), study, rc5), by=())["discounted_sink_mt_co2"].iloc[0]
    assert total == pytest.approx(154.41, abs=0.01)
    tilted = calibrate_soil_schedule(
        [
            soil_target_from_total(published["cumulative_sink_rc0"], area, study, rc0, published["pool_share_soil"]),
            soil_target_from_total(published["cumulative_sink_rc5"], area, study, rc5),
        ],
        [0, *study.soil.period_end_yr],
        "tilted_biomass_growth",
        study.growth,
    )
    refit = study.replace(soil=tilted.schedule)
    refit_total = cumulative_sink(cohort_sink(single_cohort(area), refit, rc5), by=())["discounted_sink_mt_co2"].iloc[0]
    assert refit_total == pytest.approx(published["cumulative_sink_rc5"], rel=1e-10)
    assert tilted.tilt_per_yr > 0


def test_published_pool_shares_respect_the_root_shoot_ratio(study, published):
    """0.0688 / 0.2277 = 0.3022: RSR = 0.302 up to the rounding of the printed shares (+-0.00005 each)."""
    ratio = published["pool_share_below_ground_biomass"] / published["pool_share_above_ground_biomass"]
    worst = (0.06885 / 0.22765) - ratio
    assert abs(ratio - study.root_shoot_ratio) <= worst
