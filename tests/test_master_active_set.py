"""The decomposition's master by the active-set iteration against the proximal gradient method; the classes' unit
duals against their per-unit recursions.

Both end in the same verified polish (afforest.solvers.decomposition), so they must give the same cumulative areas:
on random masters (long horizons and steep discounting included, where H is badly conditioned), on the classes QP of
the ``sensitivity`` scenario's design points with and without a planting cap (the capped search's warm-started
sub-masters included), and through the fallback where the active set does not settle.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from afforest.chain.bundle import load_bundle
from afforest.chain.inputs import resolve_inputs, scenario_bundle
from afforest.chain.sensitivity import build_design
from afforest.chain.sweep import resolve_key
from afforest.model.cells import cell_problem, load_cell_spreads, synthetic_cells
from afforest.model.fast_landuse import solve_classes_fast
from afforest.model.costates import YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA
from afforest.model.problem import YUAN_10K_IN_OBJECTIVE_UNIT, Discounting, LandUseProblem, TimeGrid, discount_weights
from afforest.scenarios import load_scenario
from afforest.solvers.decomposition import solve_master

pytestmark = pytest.mark.unit

SAME = 1e-12
"""Both methods solve the same pattern's system; they agree to rounding (bit-equal on every instance measured)."""


def _random_master(seed: int, periods: int, rate: float, cells: int) -> tuple[np.ndarray, ...]:
    """gamma, k, bounds, slopes of a master with falling values e^{-r t} and rate costs k_j ~ e^{-r t_j}."""
    rng = np.random.default_rng(seed)
    t = np.arange(periods) * float(rng.choice([1.0, 5.0]))
    e = np.exp(-rate * t) * rng.uniform(0.5, 2.0)
    gamma = e - np.append(e[1:], 0.0)
    k = np.exp(-rate * t) * rng.uniform(0.01, 10.0)
    u = np.sort(rng.lognormal(0.0, 1.0, cells))[::-1] * rng.uniform(0.1, 10.0)
    bounds = np.concatenate([[0.0], np.cumsum(rng.uniform(0.01, 5.0, cells))])
    return gamma, k, bounds, np.concatenate([[np.inf], u, [-np.inf]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    periods=st.sampled_from([1, 2, 5, 20, 100, 300]),
    rate=st.floats(0.02, 0.2),
    cells=st.sampled_from([1, 3, 32, 200]),
)
def test_active_set_and_proximal_gradient_give_the_same_master(seed, periods, rate, cells):
    gamma, k, bounds, slopes = _random_master(seed, periods, rate, cells)
    fast = solve_master(gamma, k, bounds, slopes)
    reference = solve_master(gamma, k, bounds, slopes, method="proximal_gradient")
    assert fast.polished and reference.polished
    np.testing.assert_allclose(fast.cumulative_10k_ha, reference.cumulative_10k_ha, rtol=0.0, atol=SAME * bounds[-1])


def test_a_master_the_active_set_cannot_settle_falls_back_to_the_same_optimum():
    """The cells' masters (a long run inside the last cells) make the patterns oscillate: the answer is still the
    proximal gradient method's, reached after the active set's steps (so more iterations are reported)."""
    bundle = load_bundle()
    cells = synthetic_cells(100, params=bundle.landuse_parameters, area=bundle.afforestable_area, esv=bundle.esv,
                            spreads=load_cell_spreads())
    problem = cell_problem(cells, bundle.landuse_parameters, TimeGrid(horizon_yr=40.0, step_yr=1.0))
    value_weight, unit_value = problem.product_form()
    positive = np.flatnonzero(unit_value > 0)
    order = positive[np.argsort(-unit_value[positive], kind="stable")]
    bounds = np.concatenate([[0.0], np.cumsum(problem.area_10k_ha[order])])
    slopes = np.concatenate([[np.inf], unit_value[order], [-np.inf]])
    gamma = value_weight - np.append(value_weight[1:], 0.0)
    k = problem.rate_cost_10e8_yuan_per_10k_ha2
    fast = solve_master(gamma, k, bounds, slopes)
    reference = solve_master(gamma, k, bounds, slopes, method="proximal_gradient")
    assert fast.iterations > reference.iterations
    np.testing.assert_array_equal(fast.cumulative_10k_ha, reference.cumulative_10k_ha)


def test_an_unknown_master_method_is_refused():
    gamma, k, bounds, slopes = _random_master(0, 5, 0.05, 3)
    with pytest.raises(ValueError, match="unknown master method"):
        solve_master(gamma, k, bounds, slopes, method="simplex")


def _design_problems(count: int) -> list[tuple[LandUseProblem, float, float]]:
    """(classes problem, tau_eff, carbon value) of the first ``count`` points of the sensitivity scenario's design."""
    base = load_scenario("sensitivity")
    spec = base.sensitivity
    design = build_design(spec.inputs, "sobol", 8, seed=spec.seed)
    keys = {key: resolve_key(key) for key in design.keys}
    out = []
    for _, row in design.values[design.keys].head(count).iterrows():
        overrides = {keys[key]: (value if isinstance(value, str) else float(value)) for key, value in row.items()}
        scenario = base.with_overrides(overrides)
        inputs = resolve_inputs(scenario, scenario_bundle(scenario))
        tau0 = inputs.params.planting_cost_intercept_yuan_per_ha
        tau_eff = inputs.effective_planting_cost_yuan_per_ha
        out.append((LandUseProblem.from_classes(inputs.classes, inputs.params, inputs.grid), tau_eff, tau0 - tau_eff))
    return out


def test_classes_fast_path_is_the_same_with_either_master_method():
    """The sensitivity design's classes QP, uncapped and with tight caps (2 and 5 x 10^4 ha/yr: the capped search
    and its warm-started sub-masters): every array of the solution agrees."""
    compared = 0
    for problem, tau_eff, carbon_value in _design_problems(4):
        for cap in (None, 2.0, 5.0):
            fast = solve_classes_fast(problem, tau_eff, cap, carbon_value)
            reference = solve_classes_fast(problem, tau_eff, cap, carbon_value, master_method="proximal_gradient")
            assert (fast.converged, fast.note) == (reference.converged, reference.note)
            for name in ("planted_10k_ha", "rates_10k_ha_per_yr", "region_costate_cv_yuan_per_ha",
                         "cap_multiplier_cv_yuan_per_ha", "unit_duals"):
                a, b = getattr(fast, name), getattr(reference, name)
                scale = max(float(np.max(np.abs(b), initial=0.0)), 1.0)
                np.testing.assert_allclose(a, b, rtol=0.0, atol=SAME * scale, err_msg=name)
            for term, value in reference.welfare_terms_10e8_yuan.items():
                assert fast.welfare_terms_10e8_yuan[term] == pytest.approx(value, rel=SAME, abs=SAME)
            compared += 1
    assert compared == 12


def _unit_duals_by_loop(problem: LandUseProblem, planted: np.ndarray, region_pv: np.ndarray) -> np.ndarray:
    """The units' duals by the per-unit recursions of afforest.model.fast_landuse's docstring, one unit at a time."""
    grid = problem.grid
    n = grid.periods
    w = discount_weights(problem.params.financial_discount_rate, grid)
    omega = np.zeros(n + 1)
    if grid.discounting is Discounting.INTEGRATED:
        omega[1:] = w.flow_yr
    else:
        omega[:n] = w.flow_yr
    slope = -YUAN_10K_IN_OBJECTIVE_UNIT * problem.esv_gain_yuan_per_ha_yr
    last_weight = omega[n] + w.terminal_yr
    y = np.zeros(planted.shape)
    for c in range(planted.shape[0]):
        where = np.flatnonzero(planted[c] > 0)
        if where.size == 0:
            y[c, n - 1] = last_weight * slope[c]
            for k in range(n - 1, 0, -1):
                y[c, k - 1] = y[c, k] + omega[k] * slope[c]
            continue
        first, last = int(where[0]), int(where[-1])
        y[c, first:last + 1] = region_pv[first:last + 1]
        if last < n - 1:
            y[c, n - 1] = max(last_weight * slope[c], region_pv[n - 1])
            for k in range(n - 1, last + 1, -1):
                y[c, k - 1] = max(y[c, k] + omega[k] * slope[c], region_pv[k - 1])
        for k in range(first, 0, -1):
            y[c, k - 1] = y[c, k] + omega[k] * slope[c]
    return y


def test_the_units_duals_follow_the_per_unit_recursions():
    """The vectorised backward pass gives, unit by unit, the recursions' numbers (uncapped and capped plans: units
    planted over several periods, once, or never)."""
    for problem, tau_eff, carbon_value in _design_problems(2):
        d = discount_weights(problem.params.financial_discount_rate, problem.grid).cost
        for cap in (None, 2.0):
            solution = solve_classes_fast(problem, tau_eff, cap, carbon_value)
            region_pv = solution.region_costate_cv_yuan_per_ha * d / YUAN_PER_HA_PER_OBJECTIVE_UNIT_PER_10K_HA
            expected = _unit_duals_by_loop(problem, solution.planted_10k_ha, region_pv)
            np.testing.assert_array_equal(solution.unit_duals, expected)
