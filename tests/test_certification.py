"""Certification of the land-use results, and `afforest solve` against independent expectations.

Every expectation here is derived by hand or recomputed with numpy/scipy from the inputs, never read back
from the code under test: closed forms on a linear problem (Eq. 3's root, the discrete saddle path, the
classes' own steady state), the carbon value of a priced hectare by quadrature of the Richards stream, and
milestones of a hand-made path.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

import afforest.chain.certify as certify_module
import afforest.chain.inputs as inputs_module
import afforest.chain.landuse as run
import afforest.chain.results as results_module
from afforest.chain.bundle import load_bundle
from afforest.cli import main
from afforest.data import LandUseParameters, load_afforestable_area, load_esv, load_landuse_parameters
from afforest.model.carbon import load_carbon_parameters
from afforest.model.merit_order import classes_steady_state_area
from afforest.scenarios import load_scenario

# --- a linear problem solvable by hand -----------------------------------------------------------------------
#
# B'(A) = 10000 - 200 A, C'(z) = 40000 - 300 z, A0 = 100, r = 5 %, tau(0) = 40000, tau1 = 4000.
# P(A) = C'(A0 - A) - B'(A) = 40000 - 300 (100 - A) - 10000 + 200 A = 500 A, so Eq. 3, P(A*) = r tau(0) = 2000,
# gives A* = 4: 96 x 10^4 ha afforested (96 % of A0), one root, g' = 500 > 0: saddle-path stable.
#
# Two classes tile [0, 100]: unused land in Qinghai (60 x 10^4 ha, ESV 2420.60 in Table 3) and medium-cover
# grassland in Shaanxi (40, ESV 28847.82). Curve averages of C' over their intervals: 40000 - 300 x 30 = 31000
# and 40000 - 300 x 80 = 16000. Gains net of the planting-cost annuity 2000: 26579.40 > 0 and -14847.82 < 0,
# so the classes program converts exactly the first class: 60 x 10^4 ha. Filling 96 into the merit order puts
# 60 in Qinghai and 36 in Shaanxi: shares 62.5 % and 37.5 %.

R, TAU0, TAU1, A0 = 0.05, 40000.0, 4000.0, 100.0
LINEAR = LandUseParameters(
    initial_area_10k_ha=A0,
    financial_discount_rate=R,
    planting_cost_intercept_yuan_per_ha=TAU0,
    planting_cost_slope_yuan_per_ha_per_10k_ha_yr=TAU1,
    unconverted_esv_coefficients=(10000.0, -200.0),
    afforested_esv_coefficients=(40000.0, -300.0),
)
CLASS_AREAS = {("unused_land", "Qinghai"): 60.0, ("medium_cover_grassland", "Shaanxi"): 40.0}


def _linear_area_table() -> pd.DataFrame:
    table = load_afforestable_area().copy()
    table["area_10k_ha"] = [CLASS_AREAS.get((lt, p), 0.0) for lt, p in zip(table["land_type"], table["province"])]
    return table


@pytest.fixture
def linear_study(monkeypatch):
    """The chain's inputs bundle holds the linear problem (A0 and the table agree: 100 x 10^4 ha)."""
    linear = dataclasses.replace(load_bundle(), landuse_parameters=LINEAR, afforestable_area=_linear_area_table())
    import afforest.chain.stages as stages_module

    for module in (inputs_module, stages_module):  # wherever the chain reads its bundle
        monkeypatch.setattr(module, "load_bundle", lambda *a, **k: linear)


def _discrete_saddle_ratio(g_slope: float, rate: float, tau1: float, step: float) -> float:
    """Stable root rho of the integrated program's Euler equation on a linear problem (derived by hand):
    -omega g' x_{k+1} + kappa (x_k - x_{k+1}) - delta kappa (x_{k+1} - x_{k+2}) = 0, x_k = A_k - A*,
    kappa = 2 tau1 / dt, delta = e^{-r dt}, omega = (1 - delta) / r; try x_k = rho^k."""
    delta = math.exp(-rate * step)
    omega = (1 - delta) / rate
    kappa = 2 * tau1 / step
    b = omega * g_slope + kappa * (1 + delta)
    return (b - math.sqrt(b * b - 4 * delta * kappa * kappa)) / (2 * delta * kappa)


def _milestones_geometric(distance: float, rho: float, periods: int, step: float) -> dict[str, float]:
    final = distance * (1 - rho**periods)
    out = {"first": distance * (1 - rho) / step, "final": final}
    for pct in (50, 90, 99):
        # afforested by the end of period k: distance (1 - rho^{k+1}) >= pct/100 final
        k1 = math.ceil(math.log(1 - pct / 100 * (1 - rho**periods)) / math.log(rho) - 1e-12)
        out[pct] = k1 * step
    return out


def _single_class_path(net_gain: float, area: float, rate: float, tau1: float, periods: int) -> np.ndarray:
    """Planting rates of one linear class (1-yr periods), derived by hand: while the class lasts the Euler
    equation is R_k - delta R_{k+1} = q with q = omega n / (2 tau1) (n: yearly gain net of r tau(0)), so
    R_k = q / (1 - delta) + D delta^{-k}; the class runs out in period M - 1, where the multiplier of
    A_M >= 0, omega n - 2 tau1 R_{M-1}, must be >= 0: 0 <= R_{M-1} <= q; D follows from sum R_k = area. Exactly one M satisfies both (a strictly convex QP)."""
    delta = math.exp(-rate)
    q = (1 - delta) / rate * net_gain / (2 * tau1)
    found = []
    for m in range(1, periods + 1):
        k = np.arange(m)
        d = (area - m * q / (1 - delta)) / np.sum(delta ** (-k))
        rates = q / (1 - delta) + d * delta ** (-k)
        if rates.min() >= 0 and rates[-1] <= q:
            found.append(np.r_[rates, np.zeros(periods - m)])
    assert len(found) == 1, f"{len(found)} candidate exhaustion periods"
    return found[0]


def _milestones_of(rates: np.ndarray, step: float) -> dict[str, float]:
    z = np.cumsum(rates) * step
    out = {"first": rates[0], "final": z[-1]}
    for pct in (50, 90, 99):
        out[pct] = (int(np.argmax(z >= pct / 100 * z[-1])) + 1) * step
    return out


def _welfare_10e8_yuan(rates: np.ndarray, flow_of_state, a_start: float, rate: float, step: float) -> float:
    """W of the integrated program (README): flows of period k at the post-planting state weighted
    e^{-r t_k}(1 - e^{-r dt})/r, cost tau(R) R dt weighted e^{-r t_k}, the last state held forever (e^{-rT}/r);
    yuan/ha x 10^4 ha = 10^4 yuan = 10^-4 x 10^8 yuan."""
    n = rates.size
    t = np.arange(n) * step
    states = a_start - np.cumsum(rates) * step  # unconverted land after each period
    flows = np.array([flow_of_state(x) for x in states])
    w = np.exp(-rate * t) * (1 - math.exp(-rate * step)) / rate
    cost = np.exp(-rate * t) * (TAU0 * rates + TAU1 * rates**2) * step
    terminal = math.exp(-rate * n * step) / rate * flows[-1]
    return 1e-4 * (float(w @ flows) - float(cost.sum()) + terminal)


def _expected_linear() -> dict[str, object]:
    a_star = R * TAU0 / 500.0
    area = A0 - a_star
    curves = _milestones_geometric(area, _discrete_saddle_ratio(500.0, R, TAU1, 1.0), 100, 1.0)
    esv = load_esv().set_index(["land_type", "province"])["esv_yuan_per_ha_yr"]
    gain = 31000.0 - esv[("unused_land", "Qinghai")] - R * TAU0
    class_rates = _single_class_path(gain, 60.0, R, TAU1, 100)
    classes = _milestones_of(class_rates, 1.0)
    rho = _discrete_saddle_ratio(500.0, R, TAU1, 1.0)
    curve_rates = area * (1 - rho) * rho ** np.arange(100)

    def curves_flow(a: float) -> float:  # B(A) + C(A0 - A), B(A) = 10000 A - 100 A^2, C(z) = 40000 z - 150 z^2
        z = A0 - a
        return 10000 * a - 100 * a * a + 40000 * z - 150 * z * z

    e1, e2 = esv[("unused_land", "Qinghai")], esv[("medium_cover_grassland", "Shaanxi")]

    def classes_flow(x1: float) -> float:  # class 1 (60) partly planted, class 2 (40) never
        return e1 * x1 + 31000.0 * (60.0 - x1) + e2 * 40.0

    welfare = {
        "curves": _welfare_10e8_yuan(curve_rates, curves_flow, A0, R, 1.0),
        "classes": _welfare_10e8_yuan(class_rates, classes_flow, 60.0, R, 1.0),
    }
    return {"area": area, "curves": curves, "classes": classes, "welfare": welfare}


@pytest.mark.component
def test_linear_problem_json_matches_hand_derivations(linear_study, capsys):
    assert main(["solve", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    exp = _expected_linear()
    assert out["status"] == "ok", out["suspect_reasons"]
    (root,) = out["analytic_roots"]
    assert root["afforested_area_10k_ha"] == pytest.approx(96.0, abs=1e-9)
    assert root["stability"] == "saddle_path_stable" and root["reached"]
    assert out["analytic_afforested_area_10k_ha"] == pytest.approx(96.0, abs=1e-9)
    assert out["afforested_share_of_A0"] == pytest.approx(0.96, abs=1e-11)
    # Solvers are within 3e-6 of closed forms (README); the discrete program satisfies Eq. 3 exactly.
    assert out["numeric_afforested_area_10k_ha"] == pytest.approx(96.0, rel=1e-6)
    assert out["classes_afforested_area_10k_ha"] == pytest.approx(60.0, rel=1e-6)
    assert out["numeric_gap_to_analytic_pct"] == pytest.approx(0.0, abs=1e-4)
    path, cpath = out["planting_path"], out["classes_planting_path"]
    assert path["first_period_rate_10k_ha_per_yr"] == pytest.approx(exp["curves"]["first"], rel=1e-5)
    assert cpath["first_period_rate_10k_ha_per_yr"] == pytest.approx(exp["classes"]["first"], rel=1e-5)
    for pct in (50, 90, 99):
        assert path[f"years_to_{pct}pct"] == exp["curves"][pct]
        assert cpath[f"years_to_{pct}pct"] == exp["classes"][pct]
    assert out["province_shares"] == pytest.approx({"Qinghai": 0.625, "Shaanxi": 0.375}, abs=1e-9)
    rows = {(r["land_type"], r["province"]): r["area_10k_ha"] for r in out["allocation"]}
    assert rows == pytest.approx({("unused_land", "Qinghai"): 60.0, ("medium_cover_grassland", "Shaanxi"): 36.0})
    classes_rows = {(r["land_type"], r["province"]): r["area_10k_ha"] for r in out["classes_allocation"]}
    assert classes_rows == pytest.approx({("unused_land", "Qinghai"): 60.0}, rel=1e-6)
    assert out["headline"] == {"representation": "analytic", "afforested_area_10k_ha": pytest.approx(96.0)}
    assert out["ignored_switches"] == {"analytic": [], "curves": [], "classes": []}
    assert out["effective_planting_cost_yuan_per_ha"] == TAU0
    # Welfare from the hand-derived paths; Eq. 6 and Table 3 differ by < 0.005 yuan/ha on these two classes.
    assert out["welfare_10e8_yuan"]["curves"] == pytest.approx(exp["welfare"]["curves"], rel=1e-8)
    assert out["welfare_10e8_yuan"]["classes"] == pytest.approx(exp["welfare"]["classes"], rel=1e-7)
    assert out["initial_area_10k_ha"] == A0 and out["financial_discount_rate"] == R


@pytest.mark.component
def test_linear_problem_text_report_prints_the_hand_derived_numbers(linear_study, capsys):
    assert main(["solve"]) == 0
    text = capsys.readouterr().out
    exp = _expected_linear()
    c, k = exp["curves"], exp["classes"]
    assert "r = 0.05/yr, A0 = 100 x 10^4 ha, tau(0) = 40000 yuan/ha" in text
    assert "status: ok" in text
    assert "afforested    96.000 x 10^4 ha  (saddle_path_stable)  <- reached from A0" in text
    assert "long-run afforested area 96.000 x 10^4 ha = 96.00 % of A0" in text
    assert ": 96.000 x 10^4 ha (+0.000 % vs analytic)" in text
    assert ": 60.000 x 10^4 ha (each class keeps its own ESV" in text
    assert (f"planting path (curves): {c['first']:.2f} x 10^4 ha/yr at first; 50 % by year {c[50]:g}, "
            f"90 % by {c[90]:g}, 99 % by {c[99]:g}") in text
    assert (f"planting path (classes): {k['first']:.2f} x 10^4 ha/yr at first; 50 % by year {k[50]:g}, "
            f"90 % by {k[90]:g}, 99 % by {k[99]:g}") in text
    assert "Qinghai    62.50 %" in text and "Shaanxi    37.50 %" in text
    assert "unused_land              Qinghai     60.000" in text
    assert "medium_cover_grassland   Shaanxi     36.000" in text


@pytest.mark.unit
def test_discrete_saddle_ratio_is_the_continuous_rate_in_the_limit():
    """The hand-derived rho tends to e^{-mu dt} with mu = (sqrt(r^2 + 2 g'/tau1) - r)/2 (continuous saddle path)."""
    mu = (math.sqrt(R**2 + 2 * 500.0 / TAU1) - R) / 2
    for step in (1e-3, 1e-4):
        rho = _discrete_saddle_ratio(500.0, R, TAU1, step)
        assert -math.log(rho) / step == pytest.approx(mu, rel=10 * step)


# --- the baseline stays certified -----------------------------------------------------------------------------

@pytest.mark.component
def test_baseline_is_ok_with_its_published_numbers():
    result = run.solve_landuse("baseline")
    assert result.status == "ok", result.suspect_reasons
    assert result.suspect_reasons == []
    assert result.analytic_afforested_area_10k_ha == pytest.approx(103.349, abs=5e-4)
    assert result.numeric_afforested_area_10k_ha == pytest.approx(103.349, abs=5e-4)
    assert result.classes_afforested_area_10k_ha == pytest.approx(96.77, abs=5e-3)
    names = {c.name for c in result.checks}
    assert names == {
        "curves_solver_optimal", "classes_solver_optimal", "curves_gap_to_eq3", "curves_converged_by_horizon",
        "classes_converged_by_horizon", "classes_within_land", "classes_gap_to_steady_state",
        "curves_pontryagin", "classes_pontryagin",
    }
    out = result.to_dict()
    assert out["status"] == "ok" and out["suspect_reasons"] == []
    assert {tuple(sorted(c)) for c in out["checks"]} == {("limit", "name", "passed", "reason", "value")}
    json.dumps(out["checks"])  # plain JSON


@pytest.mark.component
def test_sampled_discounting_is_checked_against_its_own_steady_state():
    """The sampled rule's steady state solves C' - B' = tau(0)(e^{r dt} - 1)/dt (README): a 5-yr step moves it
    by O(r dt) from Eq. 3 on purpose; the certificate compares with that root, so the result stays ok."""
    scenario = load_scenario("baseline").with_overrides({"numerics.discounting": "sampled", "numerics.step_yr": 5.0})
    result = run.solve_landuse(scenario)
    assert result.status == "ok", result.suspect_reasons
    assert abs(result.numeric_afforested_area_10k_ha / result.analytic_afforested_area_10k_ha - 1) > 2e-3


@pytest.mark.component
def test_nonoptimal_result_is_suspect_never_ok(monkeypatch):
    """A caller that allows non-optimal results gets them flagged with the solver's status."""
    from afforest.solvers import SolverStatus

    real = run.solve

    def stopped(model, *args, **kwargs):
        result = real(model, *args, **kwargs)
        if model.name == "afforest_classes":
            return result.__class__(**{**result.__dict__, "status": SolverStatus.ITERATION_LIMIT, "termination": "iterationLimit"})
        return result

    monkeypatch.setattr(run, "solve", stopped)
    scenario = load_scenario("baseline").with_overrides({"numerics.horizon_yr": 40.0, "numerics.step_yr": 2.0})
    with pytest.raises(run.SolverError, match=r"scenario 'baseline'.*classes QP.*iteration_limit.*--allow-nonoptimal"):
        run.solve_landuse(scenario)
    result = run.solve_landuse(scenario, allow_nonoptimal=True)
    assert result.status == "suspect"
    (reason,) = [c.reason for c in result.checks if c.name == "classes_solver_optimal"]
    assert "iteration_limit" in reason and "not an optimum" in reason


# --- the classes' closed-form steady state ---------------------------------------------------------------------

@pytest.mark.unit
def test_classes_steady_state_area_by_hand():
    classes = pd.DataFrame(
        {
            "land_type": ["a", "b", "c", "d"],
            "province": ["P", "P", "Q", "Q"],
            "area_10k_ha": [10.0, 20.0, 30.0, 40.0],
            "esv_yuan_per_ha_yr": [1000.0, 2000.0, 3000.0, 9000.0],
            "afforested_esv_yuan_per_ha_yr": [9000.0, 6000.0, 8000.0, 9500.0],
        }
    )
    # gains 8000, 4000, 5000, 500 against a hurdle of 2000: a, b, c converted (60); d not.
    assert classes_steady_state_area(classes, 2000.0) == 60.0
    # land type b costs 3000 more a year: its 4000 no longer beats 5000.
    assert classes_steady_state_area(classes, 2000.0, extra_hurdle_by_land_type={"b": 3000.0}) == 40.0
    # a quota of 15 in P takes the better class a (10) and 5 of b; Q unlimited (30).
    assert classes_steady_state_area(classes, 2000.0, province_quota_10k_ha={"P": 15.0}) == 45.0
    assert classes_steady_state_area(classes, 2000.0, province_quota_10k_ha={"P": 0.0, "Q": 0.0}) == 0.0


# --- the convergence certificate on hand-made paths ------------------------------------------------------------

def _path(rates, step=1.0):
    rates = np.asarray(rates, float)
    z = np.cumsum(rates) * step
    return pd.DataFrame(
        {
            "period_start_yr": np.arange(rates.size) * step,
            "planting_rate_10k_ha_per_yr": rates,
            "unconverted_area_10k_ha": 100 - z,
            "afforested_area_10k_ha": z,
        }
    )


@pytest.fixture(scope="module")
def baseline_inputs():
    return inputs_module.resolve_inputs("baseline")


@pytest.mark.unit
def test_convergence_certificate_on_hand_made_paths(baseline_inputs):
    inputs = baseline_inputs
    # geometric decay 0.5^k from 50/yr: 100 in the long run, 100 x 0.5^100 left: at rest.
    rest, why = certify_module.path_diagnosis(_path(50 * 0.5 ** np.arange(100)), inputs, "curves NLP", 100.0)
    assert why is None and rest < 1e-20
    # decay 0.98^k: after 100 periods 13 % of the area is still to plant (0.98^100 = 0.133): not at rest.
    rest, why = certify_module.path_diagnosis(_path(2 * 0.98 ** np.arange(100)), inputs, "curves NLP", 100.0)
    # what the last tenth plants, 0.98^90 (1 - 0.98^10), bounds what is left (0.98^100 = 13 % extrapolated)
    assert rest == pytest.approx(0.98**90 * (1 - 0.98**10), rel=1e-9)
    assert "has not converged" in why and "numerics.horizon_yr" in why
    # constant planting: never at rest.
    rest, why = certify_module.path_diagnosis(_path(np.full(100, 0.07)), inputs, "classes QP", 7.0)
    assert rest == pytest.approx(0.1) and "has not converged" in why  # a tenth of the 7 planted in the last tenth
    # planting that restarts in year 40: undetermined tail.
    rates = np.r_[10 * 0.5 ** np.arange(40), np.linspace(0.1, 8, 60)]
    rest, why = certify_module.path_diagnosis(_path(rates), inputs, "curves NLP", 20.0)
    assert rest == math.inf and "restarts in year 40" in why and "shorten numerics.horizon_yr to about 40" in why
    # one period: cannot tell.
    rest, why = certify_module.path_diagnosis(_path([59.5]), inputs, "curves NLP", 59.5)
    assert "single planting period" in why
    # a small rise at the very end (the terminal value's end effect) is not a restart: 1e-5 of the area.
    rates = np.r_[10 * 0.5 ** np.arange(95), [1e-5, 2e-5, 4e-5, 8e-5, 1.6e-4]]
    rest, why = certify_module.path_diagnosis(_path(rates), inputs, "curves NLP", 20.0)
    assert why is None and rest == pytest.approx(3.1e-4 / (20 + 3.1e-4), rel=1e-9)  # last tenth over all planted
    # nothing planted: at rest.
    assert certify_module.path_diagnosis(_path(np.zeros(10)), inputs, "classes QP", 0.0) == (0.0, None)


# --- bug (ii): the milestones of a hand-made path ------------------------------------------------------------

@pytest.mark.unit
def test_path_milestones_by_hand():
    """Rates 10, 5, 2.5, 1.25, 0 over 2-yr periods afforest 20, 30, 35, 37.5, 37.5 by the periods' ends
    (years 2, 4, 6, 8, 10). 50 % of 37.5 = 18.75 is reached by year 2, 90 % = 33.75 by year 6,
    99 % = 37.125 by year 8."""
    summary = results_module.path_summary(_path([10, 5, 2.5, 1.25, 0], step=2.0), 2.0)
    assert summary == {
        "first_period_rate_10k_ha_per_yr": 10.0,
        "final_afforested_area_10k_ha": 37.5,
        "years_to_50pct": 2.0,
        "years_to_90pct": 6.0,
        "years_to_99pct": 8.0,
    }
    # without the step, it is read from the path
    assert results_module.path_summary(_path([10, 5, 2.5, 1.25, 0], step=2.0))["years_to_90pct"] == 6.0
    # one period of 1 yr: everything is planted by its end, year 1 (the catalogue's C12 printed year 0)
    assert results_module.path_summary(_path([59.5]), 1.0)["years_to_50pct"] == 1.0
    # nothing planted: no milestone
    assert results_module.path_summary(_path([0.0, 0.0]), 1.0)["years_to_50pct"] is None


# --- bug (i): the carbon value of a priced hectare is discounted --------------------------------------------

def _carbon_pv_by_quadrature(rate: float) -> float:
    """t CO2 per planted ha over the accounting horizon, discounted continuously at ``rate``, from the Richards
    curve's derivative and the soil schedule (scipy quadrature, independent of afforest.model.carbon):
    theta (44/12) [delta BEF (1 + RSR) int_0^H v'(t) e^{-rt} dt + sum_i omega_i int_{s_i}^{e_i} e^{-rt} dt]."""
    from scipy.integrate import quad

    p = load_carbon_parameters()
    a, k, c = _richards_constants()

    def dv(t: float) -> float:
        return a * c * (1 - math.exp(-k * t)) ** (c - 1) * k * math.exp(-k * t)

    horizon = p.horizon_yr
    biomass = quad(lambda t: dv(t) * math.exp(-rate * t), 0.0, horizon, limit=200, epsabs=0, epsrel=1e-12)[0]
    soil = 0.0
    for start, end, omega in zip(p.soil.period_start_yr, p.soil.period_end_yr, p.soil.rate_t_c_per_ha_yr):
        end = min(end, horizon)
        if end > start:
            soil += omega * (math.exp(-rate * start) - math.exp(-rate * end)) / rate
    factor = p.survival_rate * p.co2_per_carbon
    return factor * (p.carbon_fraction * p.biomass_expansion_factor_t_per_m3 * (1 + p.root_shoot_ratio) * biomass + soil)


def _richards_constants() -> tuple[float, float, float]:
    """(a, k, c) of the Richards curve, read from data/carbon_parameters.toml."""
    import tomllib

    from afforest.data import data_path

    with open(data_path("carbon_parameters.toml"), "rb") as f:
        table = tomllib.load(f)
    return table["richards_asymptote"]["value"], table["richards_rate"]["value"], table["richards_shape"]["value"]


@pytest.mark.unit
def test_priced_carbon_is_discounted_at_the_planners_rate():
    expected_pv = _carbon_pv_by_quadrature(0.05)
    scenario = load_scenario("carbon_price")
    assert inputs_module.carbon_pv_t_co2_per_ha(scenario, 0.05) == pytest.approx(expected_pv, rel=1e-6)
    inputs = inputs_module.resolve_inputs(scenario)
    tau0 = load_landuse_parameters().planting_cost_intercept_yuan_per_ha
    effective = tau0 - 50.0 * expected_pv
    assert inputs.effective_planting_cost_yuan_per_ha == pytest.approx(effective, rel=1e-9)
    # Eq. 3 recomputed with numpy's polynomial roots: g(A) = C'(A0 - A) - B'(A) - r tau_eff, largest root in
    # [0, A0] with g' > 0 (the one reached from A0 since g(A0) > 0).
    params = inputs.params
    a0 = params.initial_area_10k_ha
    c_prime = np.polynomial.Polynomial(params.afforested_esv_coefficients)(np.polynomial.Polynomial([a0, -1.0]))
    g = c_prime - np.polynomial.Polynomial(params.unconverted_esv_coefficients) - params.financial_discount_rate * effective
    roots = [z.real for z in g.roots() if abs(z.imag) < 1e-9 and 0 <= z.real <= a0 and g.deriv()(z.real) > 0]
    assert g(a0) > 0
    expected_area = a0 - max(roots)
    result_area = run.analytic_long_run(params, planting_cost_intercept_yuan_per_ha=inputs.effective_planting_cost_yuan_per_ha)[0]
    assert result_area == pytest.approx(expected_area, rel=1e-9)
    baseline_area = a0 - max(
        z.real for z in (g + params.financial_discount_rate * (effective - tau0)).roots()
        if abs(z.imag) < 1e-9 and 0 <= z.real <= a0
    )
    # 50 yuan/t moves the desirable area by about 0.84 x 10^4 ha (undiscounted carbon would give ~2.5 x that)
    assert expected_area - baseline_area == pytest.approx(result_area - baseline_area, rel=1e-6)


# --- which representation honours which switch ----------------------------------------------------------------

@pytest.mark.unit
def test_ignored_switches_name_what_each_representation_does_not_honour():
    assert results_module.ignored_switches(load_scenario("baseline")) == {"analytic": [], "curves": [], "classes": []}
    quotas = results_module.ignored_switches(load_scenario("province_quotas"))
    assert quotas["analytic"] == quotas["curves"] == ["policy.province_quota_10k_ha", "policy.excluded_provinces"]
    assert quotas["classes"] == []
    costs = results_module.ignored_switches(load_scenario("land_type_costs"))
    assert costs["analytic"] == ["policy.direct_cost_multiplier_by_land_type"]
    # carbon price, cap and opportunity share reach every representation (Eq. 3 through the effective cost)
    for name in ("carbon_price", "planting_capacity", "economic_only", "urgent"):
        assert results_module.ignored_switches(load_scenario(name)) == {"analytic": [], "curves": [], "classes": []}
    a0 = load_scenario("baseline").with_overrides({"landuse.initial_area_10k_ha": 499.0})
    assert results_module.ignored_switches(a0)["classes"] == ["landuse.initial_area_10k_ha"]


# --- switches whose long run is not Eq. 3's --------------------------------------------------------------------


def _policy_scenario(tmp_path, name: str, policy: str):
    path = tmp_path / f"{name}.toml"
    path.write_text(f'extends = "baseline"\n[numerics]\nhorizon_yr = 60.0\n[policy]\n{policy}\n')
    return load_scenario(path)


@pytest.mark.component
def test_a_binding_carbon_target_hands_the_steady_state_checks_to_the_certificate(tmp_path):
    """600 Mt by 2060: 195.7 x 10^4 ha against Eq. 3's 103.3 is the target's doing, not a fault: the steady-state
    checks say why they are not asked and the Pontryagin certificate passes; the dual is in yuan/t CO2."""
    result = run.solve_landuse(_policy_scenario(tmp_path, "target", "carbon_target_mt_co2 = 600.0"))
    checks = {c.name: c for c in result.checks}
    assert result.status == "ok"
    for name in ("curves_gap_to_eq3", "classes_gap_to_steady_state", "curves_converged_by_horizon"):
        assert checks[name].reason.startswith("not asked: carbon_target"), checks[name].reason
    assert checks["curves_pontryagin"].passed and checks["classes_pontryagin"].passed
    (curves_price,) = [p for p in result.shadow_prices if p["representation"] == "curves"]
    assert curves_price["unit"].endswith("per t CO2 (minus the marginal cost of carbon)")
    assert curves_price["value"] < -100.0


@pytest.mark.component
def test_a_slack_carbon_target_keeps_eq3(tmp_path):
    result = run.solve_landuse(_policy_scenario(tmp_path, "slack", "carbon_target_mt_co2 = 1.0"))
    checks = {c.name: c for c in result.checks}
    assert checks["curves_gap_to_eq3"].passed and checks["curves_gap_to_eq3"].value is not None
    assert not checks["curves_gap_to_eq3"].reason.startswith("not asked")


@pytest.mark.component
def test_a_growing_carbon_price_is_not_held_and_not_judged_by_eq3(tmp_path):
    """The late planting a rising price causes is the policy's: no tail hold (it would stop planting and change the
    answer), no Eq. 3 check; the certificate judges the path."""
    scenario = _policy_scenario(tmp_path, "growing", "carbon_price_yuan_per_t_co2 = 100.0\ncarbon_price_growth_rate_per_yr = 0.02")
    result = run.solve_landuse(scenario)
    names = {c.name for c in result.checks}
    assert not {"curves_tail_held", "classes_tail_held"} & names
    assert {c.name for c in result.checks if c.reason.startswith("not asked: carbon_price_path")} == {
        "curves_gap_to_eq3", "curves_converged_by_horizon", "classes_converged_by_horizon", "classes_gap_to_steady_state"}
    assert result.status == "ok"
