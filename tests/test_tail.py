"""A tail that holds (issue 12) on the closed forms of tests/test_saddle_path.py.

Linear B' and C' make the optimal path exactly A(t) = A* + (A0 - A*) e^{mu t} and its costate
lambda(t) = -(tau0 + 2 tau1 R(t)). Two things make the curves program follow it to the end of any horizon:

* the ``saddle_path`` terminal value (``numerics.terminal_value``, :class:`afforest.model.problem.TerminalValue`): the value of
  continuing along the saddle path after T, from the discrete program's own Bellman equation, so the finite program
  no longer plants before T what the infinite-horizon path plants after it (``rest`` leaves 1.10 x 10^4 ha of
  truncation at T = 100 yr on the slow path, whatever dt);
* ``solve(..., tail_scaling=True)`` (current-value scaling), without which the solvers stall where e^{-rt} falls
  below their tolerance (HiGHS leaves 4.3 x 10^4 ha unplanted at T = 300 yr, more as dt shrinks).

With both, every period of every case (slow, middle and fast path; T = 100, 200, 300 yr; dt = 1, 0.5, 0.25 yr; HiGHS
and Ipopt) is within 0.1 % of the exact area and costate, except the fast path's costate at dt = 1 (0.335 %: the
period is 0.3 of the path's time constant), and every gap is second order in dt. Measured in docs/tail.md (command
there).
"""

from __future__ import annotations

import logging

import numpy as np
import pyomo.environ as pyo
import pytest
from afforest.chain.certify import PONTRYAGIN_RESIDUAL_LIMIT
from afforest.data import LandUseParameters, load_landuse_parameters
from afforest.errors import InputError, SolverError
from afforest.model.costates import pontryagin_certificate, state_costates
from afforest.model.landuse import build_classes_model, build_curves_model, planting_path
from afforest.model.problem import TimeGrid
from afforest.model.saddle_path import saddle_path_gap, saddle_paths
from afforest.solvers import solve
from test_saddle_path import A0_10K_HA, FAST, LINEAR_STEADY_STATE_10K_HA, MID, SLOW, TAU0_YUAN_PER_HA, TAU1, linear_problem

SOLVERS = ("highs", "ipopt")
STEPS_YR = (1.0, 0.5, 0.25)
RELATIVE_BOUND = 1e-3
"""The issue's bound: the numerical area and costate within 0.1 % of the exact ones at every period."""
SHARE_OF_ADJUSTMENT = 1e-3
"""A stricter yardstick for the area: within 0.1 % of the whole adjustment A0 - A* (0.1 x 10^4 ha here)."""
SECOND_ORDER_RATIO = 0.3
"""Largest ratio of the largest gaps at dt/2 and dt (measured 0.247-0.262 for area and costate in every case)."""
FAST_COARSE_COSTATE = 3.35e-3
"""Measured relative costate gap of the fast path (mu = -0.3/yr) at dt = 1 yr, the one case above the bound: the
discretisation's own, second order (9.2e-4 at dt = 0.5, 2.4e-4 at dt = 0.25). Not asserted as a bound; the test
asserts the order and the bound from dt = 0.5."""
HORIZON_DECAY_TOLERANCE = 0.05
"""``rest``, slow path at dt = 0.25: the truncation at T decays like e^{mu dT} as T grows (1.104, 0.1495, 0.0202 for
T = 100, 200, 300: ratios 0.1354 and 0.1353 against e^{-2} = 0.1353); relative tolerance on the ratio."""


def _gap_table(params: LandUseParameters, horizon_yr: float, step_yr: float, solver: str, tail_scaling: bool,
               terminal_value: str = "saddle_path") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per period: A_num - A_exact and A_exact (10^4 ha, end of the period), and the costate's relative gap."""
    m = build_curves_model(params, TimeGrid(horizon_yr=horizon_yr, step_yr=step_yr, terminal_value=terminal_value))
    result = solve(m, solver, tail_scaling=tail_scaling)
    (path,) = saddle_paths(params)
    table = saddle_path_gap(planting_path(m), path, A0_10K_HA).table
    exact_costate = -(TAU0_YUAN_PER_HA + 2.0 * TAU1 * table["exact_average_rate_10k_ha_per_yr"].to_numpy())
    costate = state_costates(m, result.duals)["costate_cv_yuan_per_ha"].to_numpy()
    return (table["area_gap_10k_ha"].to_numpy(), table["exact_unconverted_area_10k_ha"].to_numpy(),
            (costate - exact_costate) / exact_costate)


def _gaps(params: LandUseParameters, horizon_yr: float, step_yr: float, solver: str, tail_scaling: bool,
          terminal_value: str = "saddle_path") -> np.ndarray:
    """A_num - A_exact at the end of every period, 10^4 ha."""
    return _gap_table(params, horizon_yr, step_yr, solver, tail_scaling, terminal_value)[0]


@pytest.fixture(autouse=True)
def _quiet_rates_at_rest(caplog):
    caplog.set_level(logging.ERROR, logger="pyomo.core")  # Ipopt's rates of -1e-11 at rest, loaded into R >= 0


@pytest.mark.component
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("horizon_yr", (100.0, 200.0, 300.0))
@pytest.mark.parametrize("mu", (SLOW, MID, FAST))
def test_path_and_costate_follow_the_closed_form_to_the_end(mu, horizon_yr, solver):
    area_rel, costate_rel, area_abs = [], [], []
    for step in STEPS_YR:
        gap, exact, costate = _gap_table(linear_problem(mu), horizon_yr, step, solver, True)
        area_abs.append(float(np.abs(gap).max()))
        area_rel.append(float(np.abs(gap / exact).max()))
        costate_rel.append(float(np.abs(costate).max()))
    assert max(area_rel) < RELATIVE_BOUND, area_rel
    checked = costate_rel[1:] if mu == FAST else costate_rel
    assert max(checked) < RELATIVE_BOUND, costate_rel
    if mu != FAST:
        assert max(area_abs) < SHARE_OF_ADJUSTMENT * (A0_10K_HA - LINEAR_STEADY_STATE_10K_HA), area_abs
    for gaps in (area_abs, costate_rel):  # second order in dt, for every horizon
        assert gaps[1] < SECOND_ORDER_RATIO * gaps[0] and gaps[2] < SECOND_ORDER_RATIO * gaps[1], gaps


@pytest.mark.component
def test_rest_leaves_the_truncation_which_decays_with_t_and_the_saddle_path_value_removes_it():
    params = linear_problem(SLOW)
    ends = [float(_gaps(params, horizon, 0.25, "highs", True, "rest")[-1]) for horizon in (100.0, 200.0, 300.0)]
    decay = np.exp(SLOW * 100.0)
    assert all(end < 0 for end in ends), ends  # the truncated program plants what is left before T
    assert ends[1] / ends[0] == pytest.approx(decay, rel=HORIZON_DECAY_TOLERANCE)
    assert ends[2] / ends[1] == pytest.approx(decay, rel=HORIZON_DECAY_TOLERANCE)
    closed = float(np.abs(_gaps(params, 100.0, 0.25, "highs", True)).max())
    assert closed < 1e-3 * abs(ends[0]), (closed, ends[0])  # measured 2.1e-4 against 1.10


@pytest.mark.component
def test_the_certificate_holds_with_the_saddle_path_terminal_value():
    """The terminal condition (c) counts the continuation's slope: the slow path at T = 100 still converging at T
    (A_N - A* = 13.5 x 10^4 ha) passes it at the solver's tolerance, and fails the chain's limit if the slope is left
    out."""
    m = build_curves_model(linear_problem(SLOW), TimeGrid(horizon_yr=100.0, step_yr=1.0, terminal_value="saddle_path"))
    result = solve(m, "highs", tail_scaling=True)
    certificate = pontryagin_certificate(m, result.duals)
    assert certificate.terminal < 1e-6, certificate.terminal
    m.continuation_premium_yuan_per_ha_per_10k_ha = 0.0  # the same solution judged as if resting after T
    assert pontryagin_certificate(m, result.duals).terminal > 10 * PONTRYAGIN_RESIDUAL_LIMIT  # measured 1.07e-4


@pytest.mark.component
def test_the_classes_path_does_not_depend_on_the_horizon(study_classes, study_params):
    """The units' programs reach their steady state in finite time (each class's net gain is a constant), so holding
    the final state is their exact continuation once T lies past it: T = 100 and T = 200 give the same first century."""
    paths = []
    for horizon in (100.0, 200.0):
        m = build_classes_model(study_classes, study_params, TimeGrid(horizon_yr=horizon, step_yr=1.0))
        solve(m, tail_scaling=True)
        paths.append(planting_path(m)["unconverted_area_10k_ha"].to_numpy()[:100])
    assert paths[1] == pytest.approx(paths[0], abs=1e-4)


@pytest.mark.component
def test_without_scaling_the_solver_stalls_and_the_option_leaves_no_trace():
    """Unscaled, HiGHS under-plants the slow tail by 4.2 x 10^4 ha at T = 300, dt = 0.25 (the terminal value does not
    help the solver's tolerance), and a scaled solve leaves the model as it was (no scaling Suffix), with the same
    duals' convention."""
    params = linear_problem(SLOW)
    assert _gaps(params, 300.0, 0.25, "highs", False)[-1] > 1.0
    m = build_curves_model(params, TimeGrid(horizon_yr=100.0, step_yr=0.5))
    plain = solve(m, "highs")
    plain_duals = [plain.duals[m.land_balance[k]] for k in m.periods]
    scaled = solve(m, "highs", tail_scaling=True)
    assert m.component("scaling_factor") is None
    assert "current-value-scaling" in scaled.algorithm and plain.algorithm == "hipo"
    assert scaled.objective == pytest.approx(plain.objective, rel=1e-12)
    assert [scaled.duals[m.land_balance[k]] for k in m.periods] == pytest.approx(plain_duals, rel=1e-6, abs=1e-12)


@pytest.mark.component
def test_the_classes_qp_gives_the_same_answer_scaled(study_classes, study_params):
    m = build_classes_model(study_classes, study_params, TimeGrid(horizon_yr=100.0, step_yr=1.0))
    plain = solve(m)
    area = [pyo.value(m.unconverted_area_10k_ha[c, m.time_points.last()]) for c in m.classes]
    scaled = solve(m, tail_scaling=True)
    assert scaled.objective == pytest.approx(plain.objective, rel=1e-9)
    scaled_area = [pyo.value(m.unconverted_area_10k_ha[c, m.time_points.last()]) for c in m.classes]
    assert scaled_area == pytest.approx(area, abs=1e-4)


@pytest.mark.unit
def test_refusals():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 1))
    m.obj = pyo.Objective(expr=(m.x - 0.5) ** 2)
    with pytest.raises(SolverError, match="current_value_scaling"):
        solve(m, "highs", tail_scaling=True)
    curves = build_curves_model(load_landuse_parameters(), TimeGrid(horizon_yr=10.0))
    curves.scaling_factor = pyo.Suffix(direction=pyo.Suffix.EXPORT)
    with pytest.raises(SolverError, match="scaling_factor"):
        solve(curves, tail_scaling=True)


@pytest.mark.component
def test_the_saddle_path_value_keeps_the_end_on_the_planting_side(study_params):
    """The study's quartic curves with a cheap fast planting (tau1 = 1000): without the bound A_N >= A*, the convex
    premium p (A_N - A*)^2 drew the program to plant 499.6 of 500 x 10^4 ha; with it, Eq. 3's area."""
    from afforest.model.landuse import afforested_area_by_horizon
    from afforest.model.steady_state import long_run_afforested_area

    params = study_params.replace(planting_cost_slope_yuan_per_ha_per_10k_ha_yr=1000.0)
    m = build_curves_model(params, TimeGrid(horizon_yr=150.0, terminal_value="saddle_path"))
    solve(m)
    assert afforested_area_by_horizon(m) == pytest.approx(long_run_afforested_area(params)[0], rel=1e-3)
    assert pyo.value(m.continuation_floor_10k_ha) == pytest.approx(pyo.value(m.continuation_steady_state_10k_ha))
    linear = build_curves_model(linear_problem(SLOW), TimeGrid(horizon_yr=10.0, terminal_value="saddle_path"))
    assert pyo.value(linear.continuation_floor_10k_ha) == 0.0  # concave: no bound, whose barrier would perturb


@pytest.mark.unit
def test_the_saddle_path_value_refuses_what_it_cannot_see(study_params):
    from afforest.errors import InputError
    from afforest.model.formulations import add_carbon_value, add_planting_cap
    from afforest.model.landuse import add_welfare_term
    from afforest.model.saddle_path import continuation_target

    grid = TimeGrid(horizon_yr=20.0, terminal_value="saddle_path")
    m = build_curves_model(study_params, grid)
    add_welfare_term(m, "planting_subsidy_pv", 1e-4 * sum(m.cost_discount[k] * m.planting_rate_10k_ha_per_yr[k] for k in m.periods))
    with pytest.raises(InputError, match="planting_subsidy_pv"):
        m.refresh_derived_params()
    m = build_curves_model(study_params, grid)
    m.my_cap = pyo.Constraint(expr=m.planting_rate_10k_ha_per_yr[0] <= 5.0)
    with pytest.raises(InputError, match="my_cap"):
        m.refresh_derived_params()
    m = build_curves_model(study_params, grid)
    add_planting_cap(m, 5.0)
    with pytest.raises(InputError, match="planting_cap.annual_planting_cap"):
        m.refresh_derived_params()
    # a carbon price shifts tau(0): seen, and the target is Eq. 3's at the shifted cost
    m = build_curves_model(study_params, grid)
    add_carbon_value(m, 100.0, 50.0)
    m.refresh_derived_params()
    shifted = continuation_target(study_params, study_params.planting_cost_intercept_yuan_per_ha - 100.0 * 50.0)
    assert pyo.value(m.continuation_steady_state_10k_ha) == pytest.approx(shifted.steady_state_10k_ha)
    assert shifted.steady_state_10k_ha < continuation_target(study_params).steady_state_10k_ha


@pytest.mark.unit
def test_the_scenario_field_reaches_the_grid_and_the_digest(tmp_path):
    from afforest.chain.inputs import resolve_inputs
    from afforest.errors import InputError
    from afforest.scenarios import load_scenario

    good = tmp_path / "closed.toml"
    good.write_text('extends = "baseline"\n[numerics]\nterminal_value = "saddle_path"\n')
    assert resolve_inputs(load_scenario(good)).grid.terminal_value == "saddle_path"
    assert load_scenario(good).digest() != load_scenario("baseline").digest()
    rest = tmp_path / "rest.toml"
    rest.write_text('extends = "baseline"\n[numerics]\nterminal_value = "rest"\n')
    assert load_scenario(rest).digest() == load_scenario("baseline").digest()  # rest is every older scenario's program
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "baseline"\n[numerics]\nterminal_value = "infinite"\n')
    with pytest.raises(InputError, match="terminal_value"):
        load_scenario(bad)
    with pytest.raises(InputError, match="terminal_value"):
        TimeGrid(terminal_value="forever")


def _rate_scenario(tmp_path, rate: float):
    from afforest.scenarios import load_scenario

    path = tmp_path / f"r{rate}.toml"
    path.write_text(f'extends = "baseline"\n[landuse]\nfinancial_discount_rate = {rate}\n')
    return load_scenario(path)


@pytest.mark.component
def test_the_chain_scales_the_tail_where_the_horizon_discount_calls_for_it(tmp_path):
    """r = 0.2, T = 100 (e^{-rT} = 2e-9): scaled by default, the curves NLP meets Eq. 3 to 2e-9 (measured); unscaled
    its tail restarts and is held, 0.014 % off. The baseline (e^{-5}) and r = 0.3 (e^{-30}, below the floor, where the
    scaled classes QP is wrong) are solved as before."""
    from afforest.chain.landuse import solve_landuse, tail_scaling_applies
    from afforest.chain.inputs import resolve_inputs

    scenario = _rate_scenario(tmp_path, 0.2)
    auto = solve_landuse(scenario)
    names = {c.name for c in auto.checks}
    assert {"curves_tail_scaled", "classes_tail_scaled"} <= names and auto.status == "ok"
    assert auto.numeric_afforested_area_10k_ha == pytest.approx(auto.analytic_afforested_area_10k_ha, rel=1e-8)
    plain = solve_landuse(scenario, tail_scaling=False)
    assert abs(plain.numeric_afforested_area_10k_ha / plain.analytic_afforested_area_10k_ha - 1) > 1e-4
    assert not tail_scaling_applies(resolve_inputs("baseline"), "auto")
    assert not tail_scaling_applies(resolve_inputs(_rate_scenario(tmp_path, 0.3)), "auto")
    with pytest.raises(InputError, match="tail_scaling"):
        tail_scaling_applies(resolve_inputs("baseline"), "yes")


@pytest.mark.component
def test_a_scaled_solve_that_fails_is_retried_unscaled_and_said(tmp_path, monkeypatch):
    import afforest.chain.landuse as landuse_chain

    real = landuse_chain.solve

    def scaled_fails(model, solver="auto", *args, tail_scaling=False, **kwargs):
        if tail_scaling:
            raise SolverError("stopped at its iteration limit (made up for the test)")
        return real(model, solver, *args, tail_scaling=tail_scaling, **kwargs)

    monkeypatch.setattr(landuse_chain, "solve", scaled_fails)
    result = landuse_chain.solve_landuse(_rate_scenario(tmp_path, 0.2))
    (check,) = [c for c in result.checks if c.name == "curves_tail_scaled"]
    assert "solved unscaled" in check.reason
    assert "current-value-scaling" not in result.curves_solver.label


@pytest.mark.component
def test_a_planting_caps_rows_are_scaled_with_their_period(study_params):
    """The cap R_k <= cap gets e^{-r t_k}: scaled and unscaled give the same optimum and the same shadow prices."""
    from afforest.model.costates import policy_shadow_prices
    from afforest.model.formulations import add_planting_cap

    m = build_curves_model(study_params, TimeGrid(horizon_yr=60.0))
    add_planting_cap(m, 10.0)
    factors = m.current_value_scaling()
    cap = m.planting_cap.annual_planting_cap
    assert factors[cap[30]] == pytest.approx(np.exp(-study_params.financial_discount_rate * 30.0))
    plain = solve(m)
    prices = [p["value"] for p in policy_shadow_prices(m, plain.duals)]
    scaled = solve(m, tail_scaling=True)
    assert scaled.objective == pytest.approx(plain.objective, rel=1e-9)
    scaled_prices = [p["value"] for p in policy_shadow_prices(m, scaled.duals)]
    assert max(prices) > 1e3  # the cap binds early
    assert scaled_prices == pytest.approx(prices, rel=1e-5, abs=1e-5 * max(prices))
