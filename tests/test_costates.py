"""Duals, costates, the Pontryagin certificate and the policy shadow prices (issue 12), on closed forms first.

Sign convention (afforest.solvers.DUAL_SIGN_CONVENTION): a dual is the gain of the maximised objective per unit
the constraint is relaxed; the costate of unconverted land is negative (-tau(0) at a steady state,
-(tau0 + 2 tau1 R) on a planting period).
"""

from __future__ import annotations

import math

import numpy as np
import pyomo.environ as pyo
import pytest

from afforest.model.costates import (
    PontryaginCertificate,
    policy_shadow_prices,
    pontryagin_certificate,
    state_costates,
    unit_costates,
)
from afforest.model.formulations import add_planting_cap
from afforest.model.landuse import TimeGrid, build_classes_model, build_curves_model
from afforest.solvers import cyipopt_version, solve

needs_ipopt = pytest.mark.skipif(cyipopt_version() is None, reason="cyipopt is not available")


def _tiny_qp() -> pyo.ConcreteModel:
    """max 3x + 2y - 0.1 x^2  s.t.  x + y <= 4 (slack), y <= 1 (binds), x - y == 0.

    At the optimum x = y = 1. Raising y's bound to 1 + b gives x = y = 1 + b and W = 5(1 + b) - 0.1 (1 + b)^2, so
    dW/db = 5 - 0.2 = 4.8; moving the equality to x - y = b (x = 1 + b, y = 1): dW/db = 3 - 0.2 = 2.8; the slack
    constraint's dual is 0."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(within=pyo.NonNegativeReals)
    m.y = pyo.Var(within=pyo.NonNegativeReals)
    m.slack = pyo.Constraint(expr=m.x + m.y <= 4)
    m.bound = pyo.Constraint(expr=m.y <= 1)
    m.tie = pyo.Constraint(expr=m.x - m.y == 0)
    m.obj = pyo.Objective(expr=3 * m.x + 2 * m.y - 0.1 * m.x**2, sense=pyo.maximize)
    return m


@pytest.mark.unit
@pytest.mark.parametrize("solver", ["highs", pytest.param("cyipopt", marks=needs_ipopt)])
def test_duals_are_the_value_of_relaxing_a_constraint_for_both_solvers(solver):
    m = _tiny_qp()
    result = solve(m, solver)
    assert result.duals[m.bound] == pytest.approx(4.8, abs=1e-6)
    assert result.duals[m.tie] == pytest.approx(2.8, abs=1e-6)
    assert result.duals[m.slack] == pytest.approx(0.0, abs=1e-6)
    assert m.component("dual") is None  # the model comes back as it went in
    assert "duals" not in result.as_dict()


@needs_ipopt
@pytest.mark.unit
def test_a_model_with_its_own_dual_suffix_keeps_it():
    m = _tiny_qp()
    m.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    result = solve(m, "cyipopt")
    assert m.dual[m.bound] == pytest.approx(4.8, abs=1e-6)
    assert result.duals[m.bound] == pytest.approx(4.8, abs=1e-6)


def _one_period_rate(p) -> float:
    """One planting period (dt = 1, T = 1) with linear B' = a0 + a1 A, C' = b0 + b1 z and the ``rest`` terminal
    value: the state after planting is held forever (weight 1/r from t = 0), so R solves (C'(R) - B'(A0 - R))/r = tau0 + 2 tau1 R."""
    (a0, a1), (b0, b1) = p.unconverted_esv_coefficients, p.afforested_esv_coefficients
    r, tau0, tau1, area = (p.financial_discount_rate, p.planting_cost_intercept_yuan_per_ha,
                           p.planting_cost_slope_yuan_per_ha_per_10k_ha_yr, p.initial_area_10k_ha)
    return (b0 - a0 - a1 * area - r * tau0) / (2 * tau1 * r - b1 - a1)


@pytest.mark.unit
@pytest.mark.parametrize("solver", ["highs", pytest.param("cyipopt", marks=needs_ipopt)])
def test_one_period_costate_is_minus_the_marginal_planting_cost(linear_params, solver):
    """Closed form: R = 960000/18000 = 53.33 x 10^4 ha/yr and the costate -(tau0 + 2 tau1 R) = -466 667 yuan/ha."""
    rate = _one_period_rate(linear_params)
    assert rate == pytest.approx(160 / 3)
    m = build_curves_model(linear_params, TimeGrid(horizon_yr=1.0, step_yr=1.0, terminal_value="rest"))
    result = solve(m, solver)
    assert pyo.value(m.planting_rate_10k_ha_per_yr[0]) == pytest.approx(rate, rel=1e-7)
    costates = state_costates(m, result.duals)
    expected = -(linear_params.planting_cost_intercept_yuan_per_ha
                 + 2 * linear_params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr * rate)
    assert costates["costate_pv_yuan_per_ha"].iloc[0] == pytest.approx(expected, rel=1e-7)
    assert costates["costate_cv_yuan_per_ha"].iloc[0] == pytest.approx(expected, rel=1e-7)  # t_0 = 0
    # the dual of the initial state: one more hectare of A_0 is one more hectare of A_1 (integrated discounting)
    assert result.duals[m.initial_state] * 1e4 == pytest.approx(expected, rel=1e-7)
    certificate = pontryagin_certificate(m, result.duals)
    assert certificate.max_residual < 1e-8


@pytest.mark.unit
def test_a_binding_cap_has_the_closed_form_shadow_price(linear_params):
    """Cap 10 < 53.33: R = 10, the costate (B'(90) - C'(10))/r = (12000 - 57000)/0.05 = -900 000 yuan/ha, and
    the cap's shadow price -(costate + tau0 + 2 tau1 10) = 780 000 yuan (PV) per ha/yr of cap (d_0 = 1, dt = 1)."""
    m = build_curves_model(linear_params, TimeGrid(horizon_yr=1.0, step_yr=1.0, terminal_value="rest"))
    add_planting_cap(m, 10.0)
    result = solve(m, "highs")
    costate = state_costates(m, result.duals)["costate_cv_yuan_per_ha"].iloc[0]
    assert costate == pytest.approx(-900_000, rel=1e-7)
    (price,) = policy_shadow_prices(m, result.duals)
    assert price["constraint"] == "planting_cap.annual_planting_cap" and price["index"] == 0
    assert price["unit"] == "yuan (PV at t=0) per ha/yr"
    assert price["value"] == pytest.approx(780_000, rel=1e-7)
    # the certificate counts the cap's multiplier in the planting condition: without it, it would fail by 780 000
    assert pontryagin_certificate(m, result.duals).max_residual < 1e-8


def _steady_state_unconverted(p) -> float:
    """Eq. 3 with linear B', C': C'(A0 - A) - B'(A) = r tau0."""
    (a0, a1), (b0, b1) = p.unconverted_esv_coefficients, p.afforested_esv_coefficients
    r, tau0, area = p.financial_discount_rate, p.planting_cost_intercept_yuan_per_ha, p.initial_area_10k_ha
    return (b0 + b1 * area - a0 - r * tau0) / (a1 + b1)


@pytest.mark.component
@pytest.mark.parametrize("discounting", ["integrated", "sampled"])
def test_costates_along_a_path_meet_the_discrete_conditions(linear_params, discounting):
    """T = 100 yr: every planting period has costate -(tau0 + 2 tau1 R_k) (current value); the path comes to
    rest at Eq. 3's state, where the costate is -tau0 (integrated: exact for every dt); the certificate holds."""
    grid = TimeGrid(horizon_yr=100.0, step_yr=1.0, discounting=discounting, terminal_value="rest")
    m = build_curves_model(linear_params, grid)
    result = solve(m, "highs")
    costates = state_costates(m, result.duals)
    tau0 = linear_params.planting_cost_intercept_yuan_per_ha
    tau1 = linear_params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
    rates = [pyo.value(m.planting_rate_10k_ha_per_yr[k]) for k in m.periods]
    for k, rate in enumerate(rates):
        if rate > 1e-3:
            assert costates["costate_cv_yuan_per_ha"].iloc[k] == pytest.approx(-(tau0 + 2 * tau1 * rate), rel=1e-7)
    assert all(c < 0 for c in costates["costate_cv_yuan_per_ha"])
    certificate = pontryagin_certificate(m, result.duals)
    assert certificate.max_residual < 1e-6
    if discounting == "integrated":
        assert pyo.value(m.unconverted_area_10k_ha[100]) == pytest.approx(_steady_state_unconverted(linear_params), rel=1e-6)
        assert costates["costate_cv_yuan_per_ha"].iloc[-1] == pytest.approx(-tau0, rel=1e-6)


@pytest.mark.unit
@pytest.mark.parametrize("step_yr", [1.0, 0.25])
def test_with_the_saddle_path_value_one_period_plants_the_infinite_horizon_policy(linear_params, step_yr):
    """The ``saddle_path`` terminal value is the discrete program's own value function (linear B', C'): the program of
    ONE period plants what the infinite-horizon program plants in its first period, the Bellman policy
    u = -(2 d p - G/r) x / (2 a), a = tau1/dt + G/(2r) - d p (x = A0 - A*, d = e^{-r dt}, G = g'(A*), p of
    continuation_premium): the same rate as the first period of a 300-year program."""
    from afforest.model.saddle_path import continuation_premium, continuation_target

    r, tau1 = linear_params.financial_discount_rate, linear_params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
    target = continuation_target(linear_params)
    p = continuation_premium(target.net_gain_slope, r, tau1, step_yr)
    d, g = np.exp(-r * step_yr), target.net_gain_slope
    x = linear_params.initial_area_10k_ha - target.steady_state_10k_ha
    policy = (g / r - 2 * d * p) * x / (2 * (tau1 / step_yr + g / (2 * r) - d * p)) / step_yr
    one = build_curves_model(linear_params, TimeGrid(horizon_yr=step_yr, step_yr=step_yr, terminal_value="saddle_path"))
    solve(one, "highs")
    assert pyo.value(one.planting_rate_10k_ha_per_yr[0]) == pytest.approx(policy, rel=1e-7)
    long = build_curves_model(linear_params, TimeGrid(horizon_yr=300.0, step_yr=step_yr, terminal_value="saddle_path"))
    solve(long, "highs", tail_scaling=True)
    assert pyo.value(long.planting_rate_10k_ha_per_yr[0]) == pytest.approx(policy, rel=1e-7)
    assert continuation_premium(g, r, tau1, 1e-6) == pytest.approx(continuation_premium(g, r, tau1), rel=1e-5)


@pytest.mark.unit
def test_the_certificate_finds_a_misstated_cost_and_a_broken_costate(linear_params):
    """Able to fail: a tau0_eff off by 1 % of tau(0) leaves every planting period 400 yuan/ha off; duals of the
    land balance scaled by 1.01 break the costate equation."""
    m = build_curves_model(linear_params, TimeGrid(horizon_yr=30.0, step_yr=1.0))
    result = solve(m, "highs")
    exact = pontryagin_certificate(m, result.duals)
    assert exact.max_residual < 1e-7
    shifted = pontryagin_certificate(m, result.duals, planting_cost_shift_yuan_per_ha=400.0)
    assert shifted.max_optimality == pytest.approx(400.0 / shifted.scale_yuan_per_ha, rel=1e-6)
    broken = {con: value * (1.01 if con.parent_component() is m.land_balance else 1.0) for con, value in result.duals.items()}
    assert pontryagin_certificate(m, broken).max_costate_equation > 1e-4


@pytest.mark.component
def test_classes_costates_and_quota_shadow_price(study_classes, study_params):
    """Classes: the region's costate is -(tau0 + 2 tau1 R_k) on planting periods; each class has its own; a
    binding province quota has a positive shadow price per ha, what relaxing it by 100 ha gains per ha (to 0.1 %)."""
    from afforest.model.formulations import add_province_quotas

    grid = TimeGrid(horizon_yr=60.0, step_yr=1.0)
    m = build_classes_model(study_classes, study_params, grid)
    add_province_quotas(m, {"Qinghai": 40.0})
    result = solve(m)
    region = state_costates(m, result.duals)
    tau0 = study_params.planting_cost_intercept_yuan_per_ha
    tau1 = study_params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
    for k in m.periods:
        rate = pyo.value(m.planting_rate_10k_ha_per_yr[k])
        if rate > 1e-3:
            assert region["costate_cv_yuan_per_ha"].iloc[k] == pytest.approx(-(tau0 + 2 * tau1 * rate), rel=1e-6)
    units = unit_costates(m, result.duals)
    assert len(units) == len(m.classes) * len(m.periods)
    (price,) = policy_shadow_prices(m, result.duals)
    assert price["constraint"] == "province_quotas.province_quota" and price["index"] == "Qinghai"
    assert price["unit"] == "yuan (PV at t=0) per ha" and price["value"] > 0
    assert pontryagin_certificate(m, result.duals).max_residual < 1e-5
    before = pyo.value(m.welfare)
    step_10k_ha = 0.01
    m.province_quotas.province_quota_10k_ha["Qinghai"] = 40.0 + step_10k_ha
    solve(m)
    gain_yuan_per_ha = (pyo.value(m.welfare) - before) * 1e8 / 1e4 / step_10k_ha
    assert gain_yuan_per_ha == pytest.approx(price["value"], rel=1e-3)  # a finite step of a concave value function
    assert gain_yuan_per_ha <= price["value"] * (1 + 1e-9)


@pytest.mark.component
def test_a_failing_certificate_makes_the_result_suspect():
    from afforest.chain.certify import PONTRYAGIN_RESIDUAL_LIMIT, pontryagin_checks
    from afforest.chain.landuse import solve_landuse

    result = solve_landuse("baseline")
    assert result.status == "ok"
    assert [c.name for c in pontryagin_checks(result)] == ["curves_pontryagin", "classes_pontryagin"]
    assert result.pontryagin_max_residual < PONTRYAGIN_RESIDUAL_LIMIT
    assert {"costate_pv_yuan_per_ha", "costate_cv_yuan_per_ha"} <= set(result.curves_path.columns)
    assert {"costate_pv_yuan_per_ha", "costate_cv_yuan_per_ha"} <= set(result.classes_path.columns)
    good = result.pontryagin["curves"]
    bad = PontryaginCertificate(
        "curves", good.scale_yuan_per_ha, good.periods.assign(optimality_pv_yuan_per_ha=good.periods["optimality_pv_yuan_per_ha"] + 500.0),
        good.terminal_pv_yuan_per_ha,
    )
    result.pontryagin["curves"] = bad
    result.checks = [c for c in result.checks if not c.name.endswith("_pontryagin")] + pontryagin_checks(result)
    assert result.status == "suspect"
    assert any("planting optimality" in reason for reason in result.suspect_reasons)
    summary = result.to_dict()
    assert summary["pontryagin_max_residual"] == pytest.approx(500.0 / good.scale_yuan_per_ha, rel=1e-3)
    assert math.isfinite(summary["pontryagin"]["classes"]["max_residual"])


@pytest.mark.component
def test_cells_costates_and_certificate_with_site_costs_and_a_carbon_price():
    """Cells carry their own tau0 and carbon yield, terms on the units' rates: the certificate reads them from
    the objective's gradient, and holds; the region's costate is -(tau0 + 2 tau1 R_k) on planting periods."""
    from afforest.chain.bundle import load_bundle
    from afforest.model.cells import build_cells_model
    from afforest.model.cells.table import load_cell_spreads, synthetic_cells

    bundle = load_bundle()
    params = bundle.landuse_parameters
    cells = synthetic_cells(200, params=params, area=bundle.afforestable_area, esv=bundle.esv, spreads=load_cell_spreads())
    m = build_cells_model(cells, params, TimeGrid(horizon_yr=40.0, step_yr=1.0), carbon_price_yuan_per_t_co2=50.0)
    result = solve(m, "highs")
    assert pontryagin_certificate(m, result.duals).max_residual < 1e-5
    wrong = pontryagin_certificate(m, result.duals, planting_cost_shift_yuan_per_ha=-0.01 * params.planting_cost_intercept_yuan_per_ha)
    assert wrong.max_residual > 1e-3
    region = state_costates(m, result.duals)
    tau1 = params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
    for k in m.periods:
        rate = pyo.value(m.planting_rate_10k_ha_per_yr[k])
        if rate > 1e-3:
            expected = -(params.planting_cost_intercept_yuan_per_ha + 2 * tau1 * rate)
            assert region["costate_cv_yuan_per_ha"].iloc[k] == pytest.approx(expected, rel=1e-6)
    assert len(unit_costates(m, result.duals)) == 200 * 40


@pytest.mark.unit
def test_column_certificate_is_the_table_certificate() -> None:
    """The fast path's ColumnCertificate (table built when read, maxima from the arrays) equals a
    PontryaginCertificate of the same table: the table itself, every maximum bit for bit (NaN rows skipped), and
    after a pickle round trip."""
    import pickle

    import pandas as pd

    from afforest.model.costates import ColumnCertificate, PontryaginCertificate

    rng = np.random.default_rng(3)
    d = np.exp(-0.05 * np.arange(6))
    opt, by_state = rng.normal(size=6) * 10.0, rng.normal(size=6) * 1e-3
    by_state[0] = np.nan
    columns = {"period_start_yr": np.arange(6.0), "discount_weight": d, "optimality_pv_yuan_per_ha": opt * d,
               "optimality_cv_yuan_per_ha": opt, "costate_equation_pv_yuan_per_ha": by_state,
               "costate_equation_cv_yuan_per_ha": by_state / d}
    reference = PontryaginCertificate("classes", 1234.5, pd.DataFrame(columns), 0.25, -10.0, {"x": 1.0})
    fast = ColumnCertificate("classes", 1234.5, columns, 0.25, -10.0, {"x": 1.0})
    for cert in (fast, pickle.loads(pickle.dumps(ColumnCertificate("classes", 1234.5, columns, 0.25, -10.0, {"x": 1.0})))):
        for name in ("max_optimality", "max_costate_equation", "terminal", "max_residual"):
            assert getattr(cert, name).hex() == getattr(reference, name).hex(), name
        assert cert.as_dict() == reference.as_dict()
        pd.testing.assert_frame_equal(cert.periods, reference.periods, check_exact=True)
        assert (cert.representation, cert.scale_yuan_per_ha, cert.planting_cost_shift_yuan_per_ha, cert.detail) == (
            "classes", 1234.5, -10.0, {"x": 1.0})
