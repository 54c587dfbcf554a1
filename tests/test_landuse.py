"""The Pyomo dynamic programs: closed-form cases, convergence to Eq. 3, and swapping formulation pieces."""

from __future__ import annotations

import math

import pandas as pd
import pyomo.environ as pyo
import pytest

from afforest.model.landuse import (
    Discounting,
    TimeGrid,
    add_welfare_term,
    build_classes_model,
    build_curves_model,
    class_allocation,
    afforested_area_by_horizon,
    planting_path,
    remove_welfare_term,
)
from afforest.model.merit_order import fill_merit_order, landuse_classes, shares
from afforest.model.steady_state import long_run_afforested_area as analytic_area
from afforest.solvers import solve
from afforest.data import data_path, load_quantities

pytestmark = pytest.mark.component

PUBLISHED = load_quantities(data_path("published_results.toml"))


def _curves_area(params, grid: TimeGrid, solver: str = "auto") -> float:
    m = build_curves_model(params, grid)
    solve(m, solver)
    return afforested_area_by_horizon(m)


# --- exact small cases ------------------------------------------------------------------------------

@pytest.mark.parametrize("step_yr", [0.5, 1.0, 5.0])
def test_linear_curves_hit_the_closed_form_for_any_step(linear_params, step_yr):
    """With integrated discounting the discrete steady state solves Eq. 3 exactly, whatever dt is.

    Linear B', C' make the problem a QP (quadratic B, C), solved by HiGHS's interior point with tolerances
    of 1e-12 (afforest.solvers); the transient left at T = 100 yr is e^{-0.23 x 100} ~ 1e-10. The measured
    error is ~3e-8 relative, so 1e-7 tests the discretisation, not the solver's slack.
    """
    expected = analytic_area(linear_params)[0]
    got = _curves_area(linear_params, TimeGrid(horizon_yr=100.0, step_yr=step_yr), "highs")
    assert got == pytest.approx(expected, rel=1e-7)


def test_linear_curves_same_on_ipopt_and_highs(linear_params):
    grid = TimeGrid(horizon_yr=60.0, step_yr=1.0)
    m_ipopt, m_highs = build_curves_model(linear_params, grid), build_curves_model(linear_params, grid)
    r_ipopt, r_highs = solve(m_ipopt, "ipopt"), solve(m_highs, "highs")
    assert r_ipopt.solver == "ipopt" and r_highs.solver == "highs"
    # Both stop at relative tolerances near 1e-10 of a welfare of ~1e4 (10^8 yuan).
    assert r_ipopt.objective == pytest.approx(r_highs.objective, rel=1e-9)
    path_i, path_h = planting_path(m_ipopt), planting_path(m_highs)
    # Rates of late periods are weakly determined (weight e^{-rt}); 1e-3 of 10^4 ha/yr is 10 ha/yr.
    assert (path_i["planting_rate_10k_ha_per_yr"] - path_h["planting_rate_10k_ha_per_yr"]).abs().max() < 1e-3


def test_linear_path_approaches_at_the_saddle_rate(linear_params):
    """Continuous time: A - A* decays at mu = (r - sqrt(r^2 + 2 g'/tau1)) / 2 (g' = a1 + b1 = 500).

    The discrete path with dt = 0.05 yr matches the decay rate over years 5-15 to 1 %.
    """
    grid = TimeGrid(horizon_yr=60.0, step_yr=0.05)
    m = build_curves_model(linear_params, grid)
    solve(m, "highs")
    path = planting_path(m)
    a_star = linear_params.initial_area_10k_ha - analytic_area(linear_params)[0]
    gap = (path["unconverted_area_10k_ha"] - a_star).to_numpy()  # row k: state at the end of period k

    def at(year: float) -> float:
        return gap[int(round(year / grid.step_yr)) - 1]

    measured = math.log(at(15.0) / at(5.0)) / 10.0
    r, tau1 = linear_params.financial_discount_rate, linear_params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
    mu = (r - math.sqrt(r * r + 2 * 500.0 / tau1)) / 2
    assert measured == pytest.approx(mu, rel=0.01)


# --- the study -------------------------------------------------------------------------------------

def test_curves_model_matches_eq3_at_default_settings(study_params):
    """At T = 100 yr, dt = 1 yr the long-run area is within 0.1 % of the analytic root (issue 2)."""
    expected = analytic_area(study_params)[0]
    got = _curves_area(study_params, TimeGrid())
    assert abs(got / expected - 1) < 1e-3


def test_sampled_discounting_error_shrinks_with_step(study_params):
    """The Euler rule's steady state solves C' - B' = tau0 (e^{r dt} - 1)/dt: its error is O(r dt).

    Halving dt must roughly halve the error (ratio in [1.6, 2.4]); integrated discounting stays within 0.1 %.
    """
    expected = analytic_area(study_params)[0]
    errors = []
    for step in (4.0, 2.0, 1.0, 0.5):
        sampled = _curves_area(study_params, TimeGrid(horizon_yr=120.0, step_yr=step, discounting=Discounting.SAMPLED))
        errors.append(abs(sampled / expected - 1))
    ratios = [errors[i] / errors[i + 1] for i in range(len(errors) - 1)]
    assert all(1.6 < q < 2.4 for q in ratios), (errors, ratios)
    integrated = _curves_area(study_params, TimeGrid(horizon_yr=120.0, step_yr=4.0))
    assert abs(integrated / expected - 1) < 1e-3 < errors[0]


def test_error_shrinks_with_horizon(study_params):
    """A short horizon stops the path before it converges (the terminal value forbids later planting)."""
    expected = analytic_area(study_params)[0]
    errors = [abs(_curves_area(study_params, TimeGrid(horizon_yr=t)) / expected - 1) for t in (5.0, 10.0, 40.0)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-3


def test_planting_cost_slope_sets_speed_not_destination(study_params):
    grid = TimeGrid(horizon_yr=150.0)
    slow = build_curves_model(study_params.replace(planting_cost_slope_yuan_per_ha_per_10k_ha_yr=20000.0), grid)
    fast = build_curves_model(study_params.replace(planting_cost_slope_yuan_per_ha_per_10k_ha_yr=1000.0), grid)
    solve(slow), solve(fast)
    expected = analytic_area(study_params)[0]
    assert afforested_area_by_horizon(slow) == pytest.approx(expected, rel=1e-3)
    assert afforested_area_by_horizon(fast) == pytest.approx(expected, rel=1e-3)
    assert planting_path(fast)["planting_rate_10k_ha_per_yr"].iloc[0] > 2 * planting_path(slow)["planting_rate_10k_ha_per_yr"].iloc[0]


def test_mutable_discount_rate_resolves_to_the_new_root(study_params):
    m = build_curves_model(study_params)
    solve(m)
    m.discount_rate = 0.03
    solve(m)
    assert afforested_area_by_horizon(m) == pytest.approx(analytic_area(study_params, 0.03)[0], rel=1e-3)


def test_merit_order_fill_reproduces_province_shares(study_classes):
    """Wang et al. 2024, section 3: filling 102.71 x 10^4 ha in merit order gives the published shares (to 0.01 pp)."""
    allocation = fill_merit_order(study_classes, PUBLISHED["desirable_area"].value)
    got = shares(allocation, "province")
    for province in ("qinghai", "gansu", "shaanxi"):
        assert got[province.capitalize()] == pytest.approx(PUBLISHED[f"province_share_{province}"].value, abs=5e-5)


def test_classes_model_converts_exactly_the_classes_that_pay(study_classes, study_params):
    """With a linear objective per class, a class is converted in the long run iff v_k - e_k > r tau0.

    That rule, computed here from the classes table, is the closed form the QP must reproduce.
    """
    m = build_classes_model(study_classes, study_params)
    result = solve(m)
    assert result.solver == "highs" and result.problem_class == "QP"
    hurdle = study_params.financial_discount_rate * study_params.planting_cost_intercept_yuan_per_ha
    pays = study_classes[study_classes["afforested_esv_yuan_per_ha_yr"] - study_classes["esv_yuan_per_ha_yr"] > hurdle]
    assert afforested_area_by_horizon(m) == pytest.approx(pays["area_10k_ha"].sum(), abs=1e-4)
    got = class_allocation(m, threshold_10k_ha=1e-4)
    assert set(zip(got["land_type"], got["province"])) == set(zip(pays["land_type"], pays["province"]))


def test_finer_classes_let_the_cut_fall_inside_a_class(study_area, study_esv, study_params):
    """Splitting classes lets the curve-average value vary within a class, so the cut can fall inside one.

    With tau(0) = 0 the hurdle is 0: Shaanxi medium-cover grassland (ESV 28848) is worth converting where
    C'(z) > 28848, i.e. at the start of its interval (C'(96.77) = 29575) but not on average over it (18954).
    Whole classes stop at 96.77; slices of 2 x 10^4 ha convert its first slices. Both follow the closed rule.
    """
    free = study_params.replace(planting_cost_intercept_yuan_per_ha=0.0)
    coarse = landuse_classes(study_area, study_esv, free)
    fine = landuse_classes(study_area, study_esv, free, max_class_area_10k_ha=2.0)
    assert fine["area_10k_ha"].sum() == pytest.approx(coarse["area_10k_ha"].sum())
    grid = TimeGrid(horizon_yr=60.0, step_yr=2.0)
    areas = []
    for classes in (coarse, fine):
        m = build_classes_model(classes, free, grid)
        solve(m)
        areas.append(afforested_area_by_horizon(m))
        pays = classes[classes["afforested_esv_yuan_per_ha_yr"] > classes["esv_yuan_per_ha_yr"]]
        assert areas[-1] == pytest.approx(pays["area_10k_ha"].sum(), abs=1e-4)
    assert areas[1] > areas[0] + 1.0


# --- changing the formulation without copying the builder ---------------------------------------------

def test_annual_planting_cap_slows_the_path_not_the_destination(study_params):
    grid = TimeGrid(horizon_yr=150.0)
    m = build_curves_model(study_params, grid)
    cap = 5.0  # 10^4 ha/yr, below the unconstrained first-year rate of ~23
    m.annual_planting_cap = pyo.Constraint(m.periods, rule=lambda m, k: m.planting_rate_10k_ha_per_yr[k] <= cap)
    solve(m)
    path = planting_path(m)
    assert path["planting_rate_10k_ha_per_yr"].max() <= cap + 1e-6
    assert afforested_area_by_horizon(m) == pytest.approx(analytic_area(study_params)[0], rel=1e-3)
    uncapped = build_curves_model(study_params, grid)
    solve(uncapped)
    assert pyo.value(m.welfare) < pyo.value(uncapped.welfare)
    m.annual_planting_cap.deactivate()
    solve(m)
    assert pyo.value(m.welfare) == pytest.approx(pyo.value(uncapped.welfare), rel=1e-7)


def test_province_quota_on_the_classes_model(study_classes, study_params, study_area):
    m = build_classes_model(study_classes, study_params, TimeGrid(horizon_yr=60.0, step_yr=2.0))
    last = m.time_points.last()
    quota = 50.0
    qinghai = [c for c in m.classes if c[1] == "Qinghai"]
    m.qinghai_quota = pyo.Constraint(
        expr=sum(m.class_area_10k_ha[c] - m.unconverted_area_10k_ha[c, last] for c in qinghai) <= quota
    )
    solve(m)
    got = class_allocation(m).groupby("province")["area_10k_ha"].sum()
    assert got["Qinghai"] == pytest.approx(quota, abs=1e-4)
    # The cheapest Qinghai land (lowest ESV, largest net gain) is kept; unused land is fully converted.
    allocation = class_allocation(m).set_index(["land_type", "province"])["area_10k_ha"]
    qinghai_unused = study_area.set_index(["land_type", "province"]).loc[("unused_land", "Qinghai"), "area_10k_ha"]
    assert allocation[("unused_land", "Qinghai")] == pytest.approx(qinghai_unused, abs=1e-4)


def test_planting_subsidy_term_equals_a_lower_tau0(study_params):
    """A welfare term paying s yuan per planted ha is the same as tau(0) - s: Eq. 3 with the lower cost."""
    subsidy = 10000.0
    m = build_curves_model(study_params)
    add_welfare_term(
        m,
        "planting_subsidy_pv",
        1e-4 * sum(m.cost_discount[k] * m.step_yr * subsidy * m.planting_rate_10k_ha_per_yr[k] for k in m.periods),
    )
    assert list(m.welfare_terms)[-1] == "planting_subsidy_pv"
    solve(m)
    expected = analytic_area(study_params, planting_cost_intercept_yuan_per_ha=study_params.planting_cost_intercept_yuan_per_ha - subsidy)[0]
    assert afforested_area_by_horizon(m) == pytest.approx(expected, rel=1e-3)
    remove_welfare_term(m, "planting_subsidy_pv")
    solve(m)
    assert afforested_area_by_horizon(m) == pytest.approx(analytic_area(study_params)[0], rel=1e-3)


def test_bad_grid_and_classes(study_params):
    from afforest.errors import InputError

    with pytest.raises(InputError, match="step_yr"):
        TimeGrid(step_yr=0.0)
    with pytest.raises(InputError, match="whole number"):
        TimeGrid(horizon_yr=10.0, step_yr=3.0)
    with pytest.raises(InputError, match="lacks columns"):
        build_classes_model(pd.DataFrame({"land_type": ["x"]}), study_params)


def test_params_derived_from_the_discount_rate_are_refreshed_explicitly(study_params):
    """The weights follow discount_rate through LandUseModel.refresh_derived_params, which solvers.solve calls
    (through the DerivedParamsModel protocol) before every solve."""
    import math

    from afforest.solvers import DerivedParamsModel, solve

    m = build_curves_model(study_params, TimeGrid(horizon_yr=10.0))
    assert isinstance(m, DerivedParamsModel)
    r0 = study_params.financial_discount_rate
    assert pyo.value(m.cost_discount[3]) == pytest.approx(math.exp(-3 * r0), rel=1e-15)
    m.discount_rate = 2 * r0
    assert pyo.value(m.cost_discount[3]) == pytest.approx(math.exp(-3 * r0), rel=1e-15)  # not yet: explicit
    solve(m)
    assert pyo.value(m.cost_discount[3]) == pytest.approx(math.exp(-6 * r0), rel=1e-15)
    assert pyo.value(m.terminal_discount_yr) == pytest.approx(math.exp(-20 * r0) / (2 * r0), rel=1e-15)
