"""Issue 13 (calibration and permanence): the `study` calibration beside `equations`, the hazard of loss and the
buffer share, their bounds, and the published figures of sections 4-5 under both calibrations."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from afforest.chain.bundle import load_bundle
from afforest.chain.reproduce import (
    CARBON_AND_COST_FIGURES,
    EXPLAIN_ABOVE_PCT,
    Reproduction,
    check_explained,
    compare_calibrations,
    reproduce,
)
from afforest.chain.stages import carbon_stage
from afforest.cli import main
from afforest.data import data_path, load_direct_costs, load_quantities
from afforest.errors import InputError
from afforest.model.carbon import (
    CarbonParameters,
    LinearGrowth,
    SoilSchedule,
    biomass_carbon_t_c_per_ha,
    cohort_sink,
    cumulative_sink,
    load_carbon_parameters,
    per_hectare_sink,
    per_hectare_totals,
    single_cohort,
)
from afforest.model.carbon_calibration import (
    CALIBRATION_TARGETS,
    Calibration,
    calibrated_parameters,
    calibration_of,
    carbon_parameters_for,
)
from afforest.model.merit_order import merit_order
from afforest.model.supply_curve import CostDiscounting, supply_curve
from afforest.scenarios import load_scenario

HORIZON = 40.0


@pytest.fixture(scope="module")
def base() -> CarbonParameters:
    return load_carbon_parameters()


@pytest.fixture(scope="module")
def published() -> dict[str, float]:
    return {k: q.value for k, q in load_quantities(data_path("published_results.toml")).items()}


def _stream(hazard: float = 0.0, buffer: float = 0.0) -> CarbonParameters:
    """A constant-rate stream: linear stand volume (g = 5 m^3/(ha yr)) and one constant soil rate (1.5 t C/(ha yr)),
    so the stock per surviving ha is k t with k = delta BEF (1 + RSR) g + omega = 0.5 x 0.8 x 1.25 x 5 + 1.5 = 4 t C/yr."""
    return CarbonParameters(
        growth=LinearGrowth(5.0), biomass_expansion_factor_t_per_m3=0.8, root_shoot_ratio=0.25, carbon_fraction=0.5,
        survival_rate=0.8, co2_per_carbon=44 / 12, horizon_yr=HORIZON, soil=SoilSchedule((0.0,), (HORIZON,), (1.5,)),
        loss_hazard_per_yr=hazard, buffer_share=buffer,
    )


STREAM_K_T_C_PER_YR = 4.0


# -- permanence: hazard of loss and buffer share -----------------------------------------------------------------

@pytest.mark.unit
@pytest.mark.parametrize("rate", [0.0, 0.05])
def test_zero_hazard_and_zero_buffer_change_nothing(base, rate):
    """h = 0, b = 0 are the study's accounts; a hazard of 1e-15 goes through the hazard formula and agrees to 1e-12."""
    plain = per_hectare_sink(base, rate)
    for changed in (base.replace(loss_hazard_per_yr=0.0, buffer_share=0.0), base.replace(loss_hazard_per_yr=1e-15)):
        other = per_hectare_sink(changed, rate)
        for column in ("sink_t_co2_per_ha", "discounted_sink_t_co2_per_ha"):
            np.testing.assert_allclose(other[column], plain[column], rtol=1e-12, atol=1e-12)


@pytest.mark.unit
@pytest.mark.parametrize(("rate", "hazard", "buffer"), [(0.0, 0.01, 0.0), (0.05, 0.01, 0.0), (0.03, 0.05, 0.2), (0.0, 0.2, 0.1)])
def test_a_constant_rate_stream_under_hazard_matches_its_closed_form(rate, hazard, buffer):
    """Stock k t per surviving ha; expected stock E(t) = k t e^{-h t}; credited, discounted sink to T:
    (1 - b)(44/12) theta int_0^T e^{-r t} dE = (1 - b)(44/12) theta k [(1 - e^{-cT})/c - h (1 - e^{-cT}(1 + cT))/c^2],
    c = r + h; undiscounted, (1 - b)(44/12) theta k T e^{-hT}. Year by year (r = 0): E(t + 1) - E(t)."""
    params = _stream(hazard, buffer)
    factor = (1 - buffer) * (44 / 12) * 0.8 * STREAM_K_T_C_PER_YR
    c = rate + hazard
    expected = factor * ((1 - math.exp(-c * HORIZON)) / c - hazard * (1 - math.exp(-c * HORIZON) * (1 + c * HORIZON)) / c**2)
    assert per_hectare_totals(params, rate).sum() == pytest.approx(expected, rel=1e-10)
    yearly = per_hectare_sink(params, rate).groupby("age_start_yr")["sink_t_co2_per_ha"].sum().to_numpy()
    t = np.arange(41.0)
    stock = factor * t * np.exp(-hazard * t)
    np.testing.assert_allclose(yearly, np.diff(stock), rtol=1e-10, atol=1e-12)
    assert yearly.sum() == pytest.approx(factor * HORIZON * math.exp(-hazard * HORIZON), rel=1e-10)


@pytest.mark.unit
def test_a_constant_planting_stream_under_hazard_matches_its_closed_form():
    """R ha planted at the start of each of n years: by T the expected stock is R k sum_{j=T-n+1}^{T} j q^j, q = e^{-h},
    an arithmetico-geometric sum: [q^a (a - (a - 1) q) - q^{b+1} (b + 1 - b q)] / (1 - q)^2 with a = T - n + 1, b = T."""
    hazard, n, area = 0.03, 25, 2.0
    params = _stream(hazard)
    path = pd.DataFrame({"period_start_yr": np.arange(n, dtype=float), "planted_area_10k_ha": area})
    total = cumulative_sink(cohort_sink(path, params, 0.0), by=())["sink_mt_co2"].iloc[0]
    q, a, b = math.exp(-hazard), HORIZON - n + 1, HORIZON
    series = (q**a * (a - (a - 1) * q) - q ** (b + 1) * (b + 1 - b * q)) / (1 - q) ** 2
    expected_mt = area * 1e4 * (44 / 12) * 0.8 * STREAM_K_T_C_PER_YR * series / 1e6
    assert total == pytest.approx(expected_mt, rel=1e-10)


@pytest.mark.unit
def test_the_study_stand_under_hazard_keeps_its_stock_times_survival(base):
    """Undiscounted, the credited sink of a stand by T is its stock times e^{-hT} times (1 - b), any growth curve."""
    plain = per_hectare_totals(base, 0.0)
    lossy = per_hectare_totals(base.replace(loss_hazard_per_yr=0.02, buffer_share=0.1), 0.0)
    np.testing.assert_allclose(lossy, plain * math.exp(-0.02 * HORIZON) * 0.9, rtol=1e-12)


@pytest.mark.unit
def test_more_hazard_less_credited_carbon_and_a_higher_cost_per_tonne(base):
    bundle = load_bundle()
    classes = merit_order(bundle.afforestable_area, bundle.esv)
    discounting = CostDiscounting.from_study(0.05, bundle.cost_effectiveness)
    costs = load_direct_costs()
    for rate in (0.0, 0.05):
        carbon, cheapest = [], []
        for hazard in (0.0, 0.002, 0.01, 0.03, 0.1):
            per_ha = float(per_hectare_totals(base.replace(loss_hazard_per_yr=hazard), rate).sum())
            carbon.append(per_ha)
            curve = supply_curve(classes, costs, per_ha, discounting)
            cheapest.append(float(curve["marginal_cost_yuan_per_t_co2"].min()))
        assert all(np.diff(carbon) < 0) and all(np.diff(cheapest) > 0), (rate, carbon, cheapest)
    buffered = [float(per_hectare_totals(base.replace(buffer_share=b), 0.05).sum()) for b in (0.0, 0.1, 0.3)]
    assert buffered == pytest.approx([buffered[0], 0.9 * buffered[0], 0.7 * buffered[0]], rel=1e-12)


@pytest.mark.unit
@pytest.mark.parametrize("field", ["loss_hazard_per_yr", "buffer_share"])
@pytest.mark.parametrize("value", [-0.01, 1.0, 1.5, float("nan"), True])
def test_a_hazard_or_buffer_outside_zero_one_is_named(base, field, value):
    with pytest.raises(InputError) as err:
        base.replace(**{field: value})
    assert err.value.field == field and (err.value.value is value or err.value.value == value)
    assert "[0, 1)" in str(err.value)
    with pytest.raises(InputError) as err:
        carbon_parameters_for(base, "equations", **{field: value})
    assert err.value.field == f"carbon.{field}"


@pytest.mark.unit
@pytest.mark.parametrize(("key", "value"), [("loss_hazard_per_yr", 1.0), ("buffer_share", -0.1), ("calibration", "paper"),
                                            ("survival_rate", 0.0), ("survival_rate", 1.2), ("soil_scale", 0.0),
                                            ("soil_scale", -1.0), ("soil_scale", 11.0)])
def test_a_scenario_names_a_bad_carbon_field_and_its_value(key, value):
    with pytest.raises(InputError) as err:
        load_scenario().with_overrides({f"carbon.{key}": value})
    assert err.value.field == f"carbon.{key}" and err.value.value == value


@pytest.mark.unit
def test_the_new_carbon_fields_leave_every_digest_alone_at_their_defaults(tmp_path: Path):
    baseline = load_scenario()
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('extends = "baseline"\n[carbon]\ncalibration = "equations"\n')
    assert load_scenario(explicit).digest() == baseline.digest()
    for key, value in (("calibration", "study"), ("loss_hazard_per_yr", 0.01), ("buffer_share", 0.1),
                       ("loss_hazard_per_yr", 0.0), ("survival_rate", 0.5), ("soil_scale", 1.0)):
        assert baseline.with_overrides({f"carbon.{key}": value}).digest() != baseline.digest(), key


@pytest.mark.unit
@pytest.mark.parametrize("calibration", ["equations", "study"])
def test_survival_scales_every_pool_and_the_soil_scale_the_soil_alone(base, calibration):
    """carbon.survival_rate and carbon.soil_scale (sensitivity inputs on the carbon accounts): theta enters every pool
    as a factor (Eq. 7), so halving it halves each pool; the soil factor multiplies the soil pool and nothing else."""
    theta = base.survival_rate
    reference = carbon_parameters_for(base, calibration)
    for rate in (0.0, 0.05):
        pools = per_hectare_totals(reference, rate)
        halved = per_hectare_totals(carbon_parameters_for(base, calibration, survival_rate=theta / 2), rate)
        np.testing.assert_allclose(halved.to_numpy(), pools.to_numpy() / 2, rtol=1e-13)
        doubled = per_hectare_totals(carbon_parameters_for(base, calibration, soil_scale=2.0), rate)
        np.testing.assert_allclose(doubled["soil"], 2 * pools["soil"], rtol=1e-13)
        np.testing.assert_allclose(doubled.drop("soil").to_numpy(), pools.drop("soil").to_numpy(), rtol=0, atol=0)
    assert carbon_parameters_for(base, calibration, survival_rate=theta, soil_scale=1.0) == reference


@pytest.mark.integration
def test_the_chain_carries_survival_and_the_soil_scale_into_carbon_not_the_area():
    """Through the whole chain (a sweep row, as a sensitivity evaluation): the desirable area is unchanged, its carbon
    halves with theta at both r_c, and the cost per tonne doubles."""
    from afforest.chain.stages import run_chain
    from afforest.chain.sweep import chain_outputs

    baseline = load_scenario()
    theta = load_carbon_parameters().survival_rate
    rows = [chain_outputs(run_chain(s, engine="fast", tables=False))
            for s in (baseline, baseline.with_overrides({"carbon.survival_rate": theta / 2}))]
    assert rows[1]["analytic_afforested_area_10k_ha"] == rows[0]["analytic_afforested_area_10k_ha"]
    for tag in ("rc0", "rc5"):
        assert rows[1][f"desirable_carbon_{tag}_mt_co2"] == pytest.approx(rows[0][f"desirable_carbon_{tag}_mt_co2"] / 2,
                                                                            rel=1e-12)
        assert rows[1][f"average_carbon_cost_{tag}_yuan_per_t_co2"] == pytest.approx(
            2 * rows[0][f"average_carbon_cost_{tag}_yuan_per_t_co2"], rel=1e-12)


# -- the study calibration ------------------------------------------------------------------------------------

@pytest.mark.unit
def test_the_study_calibration_hits_its_three_targets(base, published):
    study = calibrated_parameters(base, "study")
    area, per_surviving = published["desirable_area"], base.t_co2_per_t_c_surviving
    total_t_c = published["cumulative_sink_rc0"] * 100 / area / per_surviving
    assert biomass_carbon_t_c_per_ha(study, 0.0) == pytest.approx((1 - published["pool_share_soil"]) * total_t_c, rel=1e-12)
    for rate, key in ((0.0, "cumulative_sink_rc0"), (0.05, "cumulative_sink_rc5")):
        total = cumulative_sink(cohort_sink(single_cohort(area), study, rate), by=())["discounted_sink_mt_co2"].iloc[0]
        assert total == pytest.approx(published[key], rel=1e-10)
    shares = per_hectare_totals(study, 0.0) / per_hectare_totals(study, 0.0).sum()
    assert shares["soil"] == pytest.approx(published["pool_share_soil"], rel=1e-12)
    fit = calibration_of("study", base)
    assert fit.tilt_per_yr > 0  # later-weighted than the stand's growth: discounting cuts the sink more
    assert fit.biomass_scale == pytest.approx(38.33 / 40.34, abs=5e-4) and study.biomass_scale == fit.biomass_scale
    assert study.growth == base.growth and study.survival_rate == base.survival_rate  # printed parameters kept
    assert calibrated_parameters(base, "equations") is base
    assert CALIBRATION_TARGETS[Calibration.STUDY] == ("cumulative_sink_rc0", "pool_share_soil", "cumulative_sink_rc5")
    hazardous = carbon_parameters_for(base, "study", 0.01, 0.1)
    assert (hazardous.loss_hazard_per_yr, hazardous.buffer_share, hazardous.soil) == (0.01, 0.1, study.soil)


# -- the report under both calibrations ---------------------------------------------------------------------------

REASONS = {
    "rounded_coefficients": "rounded alpha",
    "printed_factors": "printed two-decimal factors",
    "richards_biomass": "Richards",
    "soil_shape": "soil shape",
    "the_sinks_gap": "gap = the sink's gap",
    "area_and_carbon": "area gap x carbon gap",
    "carbon_per_ha": "costs divide by carbon",
}

STUDY_OUTSIDE = {
    "cumulative_sink_rc0_full_chain": "rounded_coefficients",
    "cumulative_sink_rc5_full_chain": "rounded_coefficients",
    "thermal_emissions_printed_factors": "printed_factors",
}
"""Under `study`, the only published figures of sections 4-5 more than 0.5 % off, and why: each is the study's own
arithmetic (its printed, rounded alpha and beta put Eq. 3's root at 103.35, not its 102.71; its printed two-decimal
coal factor does not give its printed emissions)."""

STUDY_WITHIN = set(CARBON_AND_COST_FIGURES) - set(STUDY_OUTSIDE)

EQUATIONS_OUTSIDE = {
    **{f: "richards_biomass" for f in ("sink_per_planted_ha_rc0", "biomass_carbon_per_surviving_ha", "cumulative_sink_rc0",
                                       "annual_sink_rc0", "pool_share_above_ground_biomass",
                                       "pool_share_below_ground_biomass", "pool_share_soil")},
    **{f: "soil_shape" for f in ("cumulative_sink_rc5", "annual_sink_rc5", "sink_reduction_rc5")},
    "contribution_rc0_low": "the_sinks_gap",
    "contribution_rc0_high": "the_sinks_gap",
    "cumulative_sink_rc0_full_chain": "area_and_carbon",
    "cumulative_sink_rc5_full_chain": "area_and_carbon",
    **{f: "carbon_per_ha" for f in ("marginal_cost_min_rc0", "marginal_cost_max_rc0", "average_cost_rc0",
                                    "marginal_cost_min_rc5", "marginal_cost_max_rc5")},
    "thermal_emissions_printed_factors": "printed_factors",
}


@pytest.fixture(scope="module")
def reps() -> dict[Calibration, Reproduction]:
    return {c: reproduce(calibration=c) for c in Calibration}


@pytest.fixture(scope="module")
def comparison(reps) -> pd.DataFrame:
    return compare_calibrations(reps).set_index("figure")


@pytest.mark.integration
def test_under_study_every_consistent_figure_of_sections_4_5_is_within_half_a_percent(comparison, published):
    gap = (comparison["study"] / comparison["published"] - 1).abs() * 100
    zero = comparison["published"] == 0
    within = set(comparison.index[(gap <= EXPLAIN_ABOVE_PCT) | (zero & (comparison["study"] == 0))])
    assert within == STUDY_WITHIN, (sorted(within - STUDY_WITHIN), sorted(STUDY_WITHIN - within))
    assert set(comparison.index[~comparison["study_within"]]) == set(STUDY_OUTSIDE)
    for figure, reason in STUDY_OUTSIDE.items():
        assert REASONS[reason] in comparison.loc[figure, "study_note"], figure
        assert "the study's own arithmetic" in comparison.loc[figure, "study_note"] or reason == "printed_factors"
    # the r_c = 5 % figures the issue quotes: the sink and both marginal costs
    assert comparison.loc["cumulative_sink_rc5", "study"] == pytest.approx(147.60, rel=1e-10)
    for figure in ("marginal_cost_min_rc5", "marginal_cost_max_rc5"):
        assert comparison.loc[figure, "published"] == published[figure]
        assert abs(comparison.loc[figure, "study_gap_pct"]) < 0.02


@pytest.mark.integration
def test_under_equations_the_gaps_are_todays_each_with_its_reason(comparison):
    assert set(comparison.index[~comparison["equations_within"]]) == set(EQUATIONS_OUTSIDE)
    for figure, reason in EQUATIONS_OUTSIDE.items():
        assert REASONS[reason] in comparison.loc[figure, "equations_note"], figure
    assert comparison.loc["cumulative_sink_rc5", "equations_gap_pct"] == pytest.approx(4.61, abs=0.05)
    assert comparison.loc["marginal_cost_min_rc5", "equations_gap_pct"] == pytest.approx(-4.40, abs=0.05)


@pytest.mark.integration
def test_each_column_states_its_targets_and_the_rest_are_predictions(comparison, reps):
    for c in Calibration:
        roles = comparison[f"{c.value}_role"]
        assert set(roles[roles == "target"].index) == set(CALIBRATION_TARGETS[c]) & set(comparison.index)
        assert reps[c].targets == CALIBRATION_TARGETS[c] and reps[c].calibration is c
    assert (comparison.loc[["pool_share_below_ground_biomass", "marginal_cost_max_rc5", "average_cost_rc0"], "study_role"]
            == "prediction").all()
    for figure in CALIBRATION_TARGETS[Calibration.STUDY]:
        assert "calibration target" in comparison.loc[figure, "study_note"]


@pytest.mark.integration
def test_the_study_report_is_explained_and_runs_the_chain_on_the_study_calibration(reps, published):
    rep = reps[Calibration.STUDY]
    check_explained(rep.table)
    assert rep.chain is not None and rep.chain.scenario.carbon.calibration == "study"
    per_ha = rep.chain.carbon.per_hectare_total_t_co2(0.0)
    assert per_ha == pytest.approx(published["cumulative_sink_rc0"] * 100 / published["desirable_area"], rel=1e-10)
    # the land use does not depend on the carbon calibration (no carbon price in the baseline)
    equations = reps[Calibration.EQUATIONS].table.set_index("figure")
    rows = rep.table.set_index("figure")
    for figure in ("desirable_area", "province_share_shaanxi", "thermal_emissions", "abatement_cost_solar_pv"):
        assert rows.loc[figure, "afforest"] == equations.loc[figure, "afforest"]


@pytest.mark.integration
def test_the_chains_carbon_stage_applies_the_scenarios_hazard(reps):
    """The carbon stage reads carbon.loss_hazard_per_yr: one cohort in year 0, undiscounted, keeps e^{-hT} of its
    stock; h = 0 set explicitly changes nothing (to 1e-12)."""
    chain = reps[Calibration.EQUATIONS].chain
    assert chain is not None and chain.bundle is not None and chain.carbon is not None
    rates = chain.carbon.carbon_discount_rates
    for hazard, factor in ((0.0, 1.0), (0.01, math.exp(-0.01 * HORIZON))):
        scenario = chain.scenario.with_overrides({"carbon.loss_hazard_per_yr": hazard})
        stage = carbon_stage(dataclasses.replace(chain.landuse, scenario=scenario), chain.bundle, rates, 0.0)
        assert stage.total_mt_co2("year0", 0.0) == pytest.approx(factor * chain.carbon.total_mt_co2("year0", 0.0), rel=1e-12)
        if hazard == 0.0:
            pd.testing.assert_frame_equal(stage.cumulative, chain.carbon.cumulative, rtol=1e-12)
        else:
            assert stage.total_mt_co2("planned_path", 0.05) < chain.carbon.total_mt_co2("planned_path", 0.05)


@pytest.mark.integration
def test_cli_calibration_both_and_study(reps, monkeypatch, capsys):
    import afforest.chain.reproduce as report

    monkeypatch.setattr(report, "reproduce", lambda *_, calibration=None, **__: reps[Calibration(calibration or "equations")])
    assert main(["reproduce", "--calibration", "both"]) == 0
    text = capsys.readouterr().out
    assert "study: 27 of 30 within 0.5 %" in text and "cumulative_sink_rc0_full_chain" in text
    assert main(["reproduce", "--calibration", "study", "--json"]) == 0
    assert '"marginal_cost_max_rc5"' in capsys.readouterr().out
    assert main(["reproduce", "--calibration", "study"]) == 0
    assert "carbon calibration: study (fitted to cumulative_sink_rc0, pool_share_soil, cumulative_sink_rc5" in capsys.readouterr().out


@pytest.mark.unit
def test_calibrate_soil_reruns_the_study_calibration(capsys):
    assert main(["calibrate-soil", "--calibration", "study"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("shape tilted_biomass_growth") and "biomass x 0.95" in text and "target total_rc5" in text
    assert "r_c = 0.05: 143.71 t CO2 per planted ha" in text  # 147.60 Mt / 102.71 x 10^4 ha


@pytest.mark.unit
@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [("biomass_share = 0.2965", "biomass_share = 1.2965", "field 'biomass.biomass_share', value 1.2965: must be in (0, 1)"),
     ("biomass_share = 0.2965", "", "field 'biomass': [biomass] lacks ['biomass_share']"),
     ("area_10k_ha = 102.71\nsource = \"Wang et al. 2024, section 4: above", "area_10k_ha = -1\nsource = \"x",
      "field 'biomass.area_10k_ha', value -1: must be > 0")],
)
def test_a_bad_biomass_table_is_named(tmp_path: Path, capsys, old, new, fragment):
    text = data_path("soil_carbon_schedule_study.toml").read_text()
    assert old in text
    bad = tmp_path / "prov.toml"
    bad.write_text(text.replace(old, new, 1))
    assert main(["calibrate-soil", "--provenance", str(bad)]) == 2
    assert fragment in capsys.readouterr().err


@dataclasses.dataclass
class _MutableGrowth:
    """A user's growth class: a plain (unhashable) dataclass with the Richards volume."""

    a: float = 120.323

    def volume_m3_per_ha(self, age_yr):
        return self.a * (-np.expm1(-0.040 * np.asarray(age_yr, dtype=float))) ** 1.947


@pytest.mark.unit
def test_the_study_calibration_takes_any_growth_class_and_refuses_an_unknown_name(base):
    own = base.replace(growth=_MutableGrowth())
    with pytest.raises(TypeError):
        hash(own)
    study = calibrated_parameters(own, "study")
    assert study.soil == calibrated_parameters(base, "study").soil  # the same volume: the same fit
    with pytest.raises(InputError) as err:
        carbon_parameters_for(base, "paper")
    assert err.value.field == "calibration" and err.value.value == "paper"


@pytest.mark.unit
def test_the_carbon_policy_reads_the_scenarios_calibration_and_hazard():
    """A carbon target's per-hectare coefficients (chain.inputs.carbon_policy_data) come from the scenario's carbon
    parameters: the study calibration stores less by 2060 (r_c = 0) than the printed equations, a hazard less still."""
    from afforest.chain.inputs import carbon_policy_data, resolve_inputs

    bundle = load_bundle()
    coefficients = {}
    for name, overrides in (("equations", {}), ("study", {"carbon.calibration": "study"}),
                            ("hazard", {"carbon.loss_hazard_per_yr": 0.01})):
        scenario = load_scenario().with_overrides({"policy.carbon_target_mt_co2": 100.0, **overrides})
        inputs = resolve_inputs(scenario, bundle)
        data = carbon_policy_data(scenario, inputs.params, inputs.grid, bundle)
        coefficients[name] = np.asarray(data["carbon_target_t_co2_per_ha_by_period"])
    assert coefficients["equations"][0] == pytest.approx(370.675958, rel=1e-6)  # a hectare planted in 2020
    assert coefficients["study"][0] == pytest.approx(364.988803, rel=1e-6)
    assert coefficients["hazard"][0] == pytest.approx(370.675958 * math.exp(-0.4), rel=1e-6)
