"""The fast land-use path (afforest.chain.fast_path) against closed forms and the Pyomo models.

Closed forms first (linear B' and C': the costate is a sum of known flows, so every rate is explicit), then a sample
of points against the Pyomo models solved with tail scaling (docs/tail.md: Ipopt's default tolerance leaves the
tail's last rates at ~1e-5 x 10^4 ha/yr where the exact program plants ~1e-8, 1.8e-6 of the baseline's area; scaled,
both solvers pin it down), to 1e-6 relative: areas, paths, welfare terms, costates where planting, cap prices.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from afforest.chain.bundle import load_bundle
from afforest.chain.fast_path import fast_path_ineligibility, resolve_engine, solve_fast
from afforest.chain.inputs import resolve_inputs
from afforest.chain.landuse import build_models, solve_models
from afforest.chain.stages import run_chain, welfare_terms
from afforest.errors import InputError
from afforest.model.fast_landuse import solve_curves_fast
from afforest.model.problem import TimeGrid, discount_weights
from afforest.scenarios import load_scenario

RTOL = 1e-6
"""The issue's bound: the fast path gives the Pyomo models' answers to 1e-6 relative."""


def test_linear_curves_closed_form() -> None:
    """B' = a, C' = c constant: y_k = (a - c) s sum_{j>k} Omega_j, so R_k = -(lambda_cv + tau0 + ...)/(2 tau1) exactly
    (clipped at 0 and at the cap)."""
    bundle = load_bundle()
    params = bundle.landuse_parameters.replace(unconverted_esv_coefficients=(20_000.0,), afforested_esv_coefficients=(25_000.0,))
    grid = TimeGrid(horizon_yr=40.0, step_yr=1.0)
    tau = params.planting_cost_intercept_yuan_per_ha
    w = discount_weights(params.financial_discount_rate, grid)
    omega = np.concatenate([w.flow_yr, [0.0]])
    omega[-2] += w.terminal_yr  # Omega_N = w_{N-1} + W_T (integrated: period N-1's flows use A_N)
    suffix = np.cumsum(omega[::-1])[::-1][:-1]  # sum over states j = k+1..N of Omega_j
    lam_cv = (20_000.0 - 25_000.0) * suffix / w.cost
    tau1 = params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
    for cap in (None, 5.0):
        exact = np.clip(-(lam_cv + tau) / (2 * tau1), 0.0, np.inf if cap is None else cap)
        solution = solve_curves_fast(params, grid, tau, cap)
        assert solution.converged
        np.testing.assert_allclose(solution.rates_10k_ha_per_yr, exact, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(solution.land_balance_duals * 1e4 / w.cost, lam_cv, rtol=1e-12)


POINTS = [
    ("baseline", {}),
    ("baseline", {"landuse.financial_discount_rate": 0.03, "landuse.planting_cost_slope_yuan_per_ha_per_10k_ha_yr": 1500.0}),
    ("baseline", {"landuse.financial_discount_rate": 0.07, "landuse.planting_cost_intercept_yuan_per_ha": 55_000.0}),
    ("baseline", {"landuse.opportunity_cost_share": 0.6, "policy.carbon_price_yuan_per_t_co2": 60.0}),
    ("baseline", {"policy.annual_planting_cap_10k_ha_per_yr": 6.0, "landuse.planting_cost_slope_yuan_per_ha_per_10k_ha_yr": 15_000.0}),
    ("baseline", {"numerics.horizon_yr": 60.0, "numerics.step_yr": 0.5}),
    ("baseline", {"numerics.discounting": "sampled", "policy.annual_planting_cap_10k_ha_per_yr": 12.0}),
]


def _close(a: float, b: float, scale: float | None = None) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b) if scale is None else scale, 1e-12)


@pytest.mark.parametrize("name,overrides", POINTS, ids=[str(i) for i in range(len(POINTS))])
def test_fast_matches_pyomo(name: str, overrides: dict) -> None:
    bundle = load_bundle()
    scenario = load_scenario(name).with_overrides(overrides)
    inputs = resolve_inputs(scenario, bundle)
    assert not fast_path_ineligibility(inputs)
    fast, welfare, why = solve_fast(inputs)
    assert fast is not None, why
    models = build_models(inputs)
    reference = solve_models(inputs, models, tail_scaling=True)
    assert fast.status == "ok", fast.suspect_reasons
    assert fast.landuse_path == "fast" and reference.landuse_path == "pyomo"
    for attr in ("numeric_afforested_area_10k_ha", "classes_afforested_area_10k_ha", "analytic_afforested_area_10k_ha"):
        assert _close(getattr(fast, attr), getattr(reference, attr)), (attr, getattr(fast, attr), getattr(reference, attr))
    for rep in ("curves", "classes"):
        f, p = getattr(fast, f"{rep}_path"), getattr(reference, f"{rep}_path")
        area = float(p["afforested_area_10k_ha"].iloc[-1])
        np.testing.assert_allclose(f["afforested_area_10k_ha"], p["afforested_area_10k_ha"], rtol=0, atol=RTOL * area)
        rates = p["planting_rate_10k_ha_per_yr"].to_numpy()
        np.testing.assert_allclose(f["planting_rate_10k_ha_per_yr"], rates, rtol=0, atol=RTOL * rates.max())
        planting = rates > 1e-3 * rates.max()
        np.testing.assert_allclose(f["costate_cv_yuan_per_ha"][planting], p["costate_cv_yuan_per_ha"][planting], rtol=RTOL)
        reference_terms = welfare_terms(models)[rep]
        total = abs(sum(reference_terms.values()))
        assert set(welfare[rep]) == set(reference_terms)
        for term, value in reference_terms.items():
            assert _close(welfare[rep][term], value, total), (rep, term, welfare[rep][term], value)
    prices = {(p["representation"], p["index"]): p["value"] for p in reference.shadow_prices}
    for price in fast.shadow_prices:
        key = (price["representation"], price["index"])
        largest = max(abs(v) for (rep, _), v in prices.items() if rep == key[0])
        assert abs(price["value"] - prices[key]) <= RTOL * largest + 1e-3, (key, price["value"], prices[key])
    assert len(fast.shadow_prices) == len(prices)
    assert fast.pontryagin_max_residual < 1e-9


def test_suspect_point_fails_the_same_checks() -> None:
    """A tight cap (sensitivity design point): the path has not come to rest by T on either engine, and both say so with
    the same failed checks; the fast duals still certify (a class entered by a rounding's 1e-14 x 10^4 ha once broke
    them)."""
    overrides = {
        "landuse.financial_discount_rate": 0.04817257657012914, "landuse.planting_cost_intercept_yuan_per_ha": 38233.554195084085,
        "landuse.planting_cost_slope_yuan_per_ha_per_10k_ha_yr": 8201.991753521253, "landuse.opportunity_cost_share": 0.5376325189135969,
        "landuse.esv_source": "table3", "classes.post_planting_rule": "curve_average",
        "policy.carbon_price_yuan_per_t_co2": 24.108647173074893, "policy.annual_planting_cap_10k_ha_per_yr": 2.3620350378562147,
    }
    inputs = resolve_inputs(load_scenario("sensitivity").with_overrides(overrides), load_bundle())
    fast, _, why = solve_fast(inputs)
    assert fast is not None, why
    reference = solve_models(inputs, build_models(inputs))
    failed = {c.name for c in fast.checks if not c.passed}
    assert failed == {c.name for c in reference.checks if not c.passed} == {"curves_converged_by_horizon"}
    assert fast.pontryagin_max_residual < 1e-9
    for attr in ("numeric_afforested_area_10k_ha", "classes_afforested_area_10k_ha"):
        assert _close(getattr(fast, attr), getattr(reference, attr))


def test_chain_engines_and_fallback() -> None:
    """run_chain says which engine ran; an ineligible scenario falls back to Pyomo under auto and is refused by fast."""
    auto = run_chain("baseline", engine="auto", until="landuse")
    assert auto.landuse.landuse_path == "fast" and auto.landuse.to_dict()["landuse_path"] == "fast"
    assert any(c.name == "landuse_fast_path" for c in auto.landuse.checks)
    quotas = load_scenario("province_quotas")
    inputs = resolve_inputs(quotas)
    assert any("province_quotas" in r for r in fast_path_ineligibility(inputs))
    chosen, why = resolve_engine("auto", inputs)
    assert chosen == "pyomo" and "province_quotas" in why
    with pytest.raises(InputError):
        resolve_engine("fast", inputs)
    saddle = resolve_inputs(load_scenario("baseline").with_overrides({"numerics.terminal_value": "saddle_path"}))
    assert resolve_engine("auto", saddle)[0] == "pyomo"


def test_fast_rows_in_a_sweep() -> None:
    """A sweep on engine auto gives the fast path's rows, with the column saying so, and the Pyomo sweep's numbers."""
    from afforest.chain.sweep import grid_points, run_sweep

    points = grid_points({"financial_discount_rate": [0.04]})
    fast = run_sweep("baseline", points, workers=1, progress=False, engine="auto").iloc[0]
    assert fast["landuse_path"] == "fast" and fast["status"] == "ok"
    assert math.isclose(fast["classes_afforested_area_10k_ha"], 96.77, rel_tol=1e-3)
    with pytest.raises(InputError):
        run_sweep("baseline", points, workers=1, progress=False, engine="numba")
