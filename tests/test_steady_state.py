"""Eq. 3: closed-form cases first, then the study's root, then invariants over random cubics."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afforest.data import LandUseParameters, data_path, load_quantities
from afforest.errors import InputError
from afforest.model.steady_state import (
    Stability,
    long_run_afforested_area,
    net_marginal_gain,
    steady_state_roots,
    steady_state_sweep,
)

pytestmark = pytest.mark.unit

PUBLISHED = load_quantities(data_path("published_results.toml"))


def _linear_root(p: LandUseParameters) -> float:
    """Closed form of Eq. 3 with B' = a0 + a1 A, C' = b0 + b1 z: A* = (b0 + b1 A0 - a0 - r tau0) / (a1 + b1)."""
    (a0, a1), (b0, b1) = p.unconverted_esv_coefficients, p.afforested_esv_coefficients
    rate_tau = p.financial_discount_rate * p.planting_cost_intercept_yuan_per_ha
    return (b0 + b1 * p.initial_area_10k_ha - a0 - rate_tau) / (a1 + b1)


def test_linear_case_matches_closed_form(linear_params):
    roots = steady_state_roots(linear_params)
    assert len(roots) == 1
    expected = _linear_root(linear_params)
    assert roots[0].unconverted_area_10k_ha == pytest.approx(expected, rel=1e-12)
    # g'(A) = -(a1 + b1) = 500 > 0: saddle-path stable.
    assert roots[0].stability is Stability.SADDLE
    assert roots[0].net_gain_slope == pytest.approx(500.0)
    assert roots[0].reached


def test_eq3_holds_at_the_root(study_params):
    (root,) = steady_state_roots(study_params)
    a_star = root.unconverted_area_10k_ha
    lhs = study_params.afforested_marginal_esv(study_params.initial_area_10k_ha - a_star) / study_params.financial_discount_rate
    lhs -= study_params.planting_cost_intercept_yuan_per_ha
    rhs = study_params.unconverted_marginal_esv(a_star) / study_params.financial_discount_rate
    assert lhs == pytest.approx(rhs, rel=1e-10)


def test_study_root(study_params):
    """Wang et al. 2024, section 3, Eq. 3: with the rounded coefficients Eq. 3 has one root, A0 - A* = 103.35 (20.69 %).

    The study reports 102.71 (20.56 %); the 0.6 % gap is the rounding of alpha and beta to the printed digits
    (alpha_3 = -0.0016 alone moves B'(A*) by up to 0.5e-4 x 396^3 = 3100 yuan/ha).
    """
    roots = steady_state_roots(study_params)
    assert len(roots) == 1
    (root,) = roots
    assert root.afforested_area_10k_ha == pytest.approx(PUBLISHED["rounded_coefficient_root"].value, abs=0.01)
    assert root.stability is Stability.SADDLE and root.reached
    assert root.afforested_area_10k_ha / study_params.initial_area_10k_ha == pytest.approx(0.2069, abs=5e-5)
    gap = root.afforested_area_10k_ha / PUBLISHED["desirable_area"].value - 1
    assert 0.005 < gap < 0.007


def _three_root_params() -> LandUseParameters:
    """B' = 0 and C' chosen so that g(A) = P(A) - r tau0 = (A - 20)(A - 50)(A - 80) / 10."""
    cubic = np.polynomial.Polynomial.fromroots([20.0, 50.0, 80.0]) / 10.0
    z_of_a = np.polynomial.Polynomial([100.0, -1.0])  # A = 100 - z
    c_prime = cubic(z_of_a) + 0.05 * 1000.0
    return LandUseParameters(
        initial_area_10k_ha=100.0,
        financial_discount_rate=0.05,
        planting_cost_intercept_yuan_per_ha=1000.0,
        planting_cost_slope_yuan_per_ha_per_10k_ha_yr=100.0,
        unconverted_esv_coefficients=(0.0,),
        afforested_esv_coefficients=tuple(c_prime.coef),
    )


def test_three_roots_alternate_in_stability():
    roots = steady_state_roots(_three_root_params())
    assert [r.unconverted_area_10k_ha for r in roots] == pytest.approx([20.0, 50.0, 80.0], abs=1e-9)
    # g' = 180 at A = 20 and 80 (saddles), -90 at A = 50 (unstable).
    assert [r.stability for r in roots] == [Stability.SADDLE, Stability.UNSTABLE, Stability.SADDLE]
    assert [r.net_gain_slope for r in roots] == pytest.approx([180.0, -90.0, 180.0])
    # g(A0 = 100) = 800 > 0: planting pays from the start and the path stops at the first root below A0.
    assert [r.reached for r in roots] == [False, False, True]
    assert long_run_afforested_area(_three_root_params())[0] == pytest.approx(20.0)
    # Make planting dearer than the first hectare's gain: g(A0) < 0, nothing is planted.
    assert long_run_afforested_area(_three_root_params(), planting_cost_intercept_yuan_per_ha=1e6)[0] == 0.0


def test_tangent_root_is_degenerate():
    # g(A) = -(A - 40)^2 touches zero at A = 40 without crossing.
    z_of_a = np.polynomial.Polynomial([100.0, -1.0])
    c_prime = (-np.polynomial.Polynomial.fromroots([40.0, 40.0]))(z_of_a) + 50.0
    params = _three_root_params().replace(afforested_esv_coefficients=tuple(c_prime.coef))
    roots = steady_state_roots(params)
    assert len(roots) == 1
    assert roots[0].unconverted_area_10k_ha == pytest.approx(40.0, abs=1e-6)
    assert roots[0].stability is Stability.DEGENERATE


def test_corners(linear_params):
    # Planting so expensive that not even the first hectare pays: nothing is afforested.
    assert long_run_afforested_area(linear_params, planting_cost_intercept_yuan_per_ha=1e9)[0] == 0.0
    # Free planting and forest always better: everything is afforested.
    generous = linear_params.replace(afforested_esv_coefficients=(1e6, 0.0))
    assert long_run_afforested_area(generous, planting_cost_intercept_yuan_per_ha=0.0)[0] == pytest.approx(100.0)


def test_sweep_matches_scalar_solves(study_params):
    rates = np.array([0.01, 0.03, 0.05, 0.08, 0.12])
    table = steady_state_sweep(study_params, rates)
    for i, rate in enumerate(rates):
        (root,) = steady_state_roots(study_params.replace(financial_discount_rate=float(rate)))
        row = table[table["point"] == i]
        assert len(row) == 1
        assert row["afforested_area_10k_ha"].iloc[0] == pytest.approx(root.afforested_area_10k_ha, rel=1e-12)
    # Higher r makes the up-front cost weigh more against the perpetual ESV gain: less is afforested.
    assert np.all(np.diff(long_run_afforested_area(study_params, rates)) < 0)


def test_sweep_of_1e5_rates_is_vectorised(study_params):
    """Correctness at scale (the timing itself lives in bench/steady_state.py)."""
    rates = np.linspace(0.005, 0.2, 100_000)
    start = time.perf_counter()
    areas = long_run_afforested_area(study_params, rates)
    elapsed = time.perf_counter() - start
    assert areas.shape == rates.shape and np.all(np.isfinite(areas))
    p = net_marginal_gain(study_params)
    residual = p(study_params.initial_area_10k_ha - areas) - rates * study_params.planting_cost_intercept_yuan_per_ha
    assert np.max(np.abs(residual)) < 1e-6
    assert elapsed < 30  # a loose guard against an accidental Python loop, not a performance target


@pytest.mark.parametrize(
    ("rate", "reason"),
    [(0.0, "must be > 0"), (-0.05, "must be > 0"), (float("nan"), "must be a finite number"),
     (float("inf"), "must be a finite number")],
)
def test_nonpositive_or_nonfinite_rate_is_refused_with_its_own_reason(study_params, rate, reason):
    with pytest.raises(InputError, match=f"financial_discount_rate.*{reason}"):
        steady_state_sweep(study_params, [0.05, rate])


# Coefficients are yuan/(ha yr) per (10^4 ha)^i: zero or of economic size. The root finder treats |g| below
# ~1e-14 yuan/(ha yr) as zero, so polynomials that are that small everywhere (1e-84 and the like) are
# indifference, not a root-finding problem.
magnitude = st.floats(min_value=1e-3, max_value=1e3)
coefficient = st.one_of(st.just(0.0), magnitude, magnitude.map(lambda v: -v))


@settings(max_examples=200, deadline=None)
@given(
    alpha=st.lists(coefficient, min_size=1, max_size=4),
    beta=st.lists(coefficient, min_size=1, max_size=4),
    rate=st.floats(min_value=1e-3, max_value=0.5),
    tau0=st.floats(min_value=0.0, max_value=1e4),
)
def test_roots_are_roots_and_none_is_missed(alpha, beta, rate, tau0):
    params = LandUseParameters(
        initial_area_10k_ha=10.0,
        financial_discount_rate=rate,
        planting_cost_intercept_yuan_per_ha=tau0,
        planting_cost_slope_yuan_per_ha_per_10k_ha_yr=1.0,
        unconverted_esv_coefficients=tuple(alpha),
        afforested_esv_coefficients=tuple(beta),
    )
    p = net_marginal_gain(params)
    shift = rate * tau0
    found = [r.unconverted_area_10k_ha for r in steady_state_roots(params)]
    scale = max(1.0, float(np.max(np.abs(p(np.linspace(0, 10, 101))))), shift)
    for a in found:
        assert 0.0 <= a <= 10.0
        assert abs(p(a) - shift) <= 1e-9 * scale
    # Every sign change of g on a fine grid lies within one grid step of a reported root.
    grid = np.linspace(0.0, 10.0, 2001)
    g = p(grid) - shift
    changes = np.nonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0)[0]
    for i in changes:
        assert any(grid[i] - 1e-9 <= a <= grid[i + 1] + 1e-9 for a in found)
