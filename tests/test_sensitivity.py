"""Sensitivity analysis: the [sensitivity] schema and its errors, the distributions, the Sobol' plumbing against the
Ishigami function's analytic indices, Morris against known elementary effects, failed evaluations, the output folder,
and one tiny run of the real chain (with resume).

The checks plug an evaluator into the same functions the chain's analysis uses (analyse_scenario -> analyse ->
build_design, evaluate_design, indices_from_evaluations), so they test the plumbing, not a copy of it.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from afforest.chain.sensitivity import (
    ISHIGAMI_INDICES,
    analyse,
    analyse_scenario,
    build_design,
    ishigami,
    quantile,
)
from afforest.chain.sensitivity_output import write
from afforest.cli.main import main
from afforest.errors import InputError
from afforest.scenarios import (
    DiscreteInput,
    LogUniformInput,
    NormalInput,
    TriangularInput,
    UniformInput,
    load_scenario,
    shipped_scenarios,
)


def _uniform(lo: float, hi: float) -> UniformInput:
    return UniformInput(distribution="uniform", lo=lo, hi=hi)


def _write(tmp_path, body: str, name: str = "s.toml"):
    path = tmp_path / name
    path.write_text('extends = "baseline"\n' + body)
    return path


# --- the schema --------------------------------------------------------------------------------------------

ISHIGAMI_KEYS = {  # three scenario keys whose valid ranges hold these uniforms; the evaluator maps them to [-pi, pi]
    "policy.carbon_price_yuan_per_t_co2": (0.0, 100.0),
    "landuse.opportunity_cost_share": (0.0, 1.0),
    "landuse.planting_cost_intercept_yuan_per_ha": (0.0, 1e5),
}


def _ishigami_scenario(tmp_path, samples: int, method: str = "sobol"):
    body = f'[sensitivity]\nmethod = "{method}"\nsamples = {samples}\noutputs = ["analytic_afforested_area_10k_ha"]\n'
    for key, (lo, hi) in ISHIGAMI_KEYS.items():
        body += f'[sensitivity.inputs."{key}"]\ndistribution = "uniform"\nlo = {lo}\nhi = {hi}\n'
    return load_scenario(_write(tmp_path, body))


def _ishigami_on_scenario_keys(inputs: pd.DataFrame) -> pd.DataFrame:
    unit = pd.DataFrame({k: (inputs[k] - lo) / (hi - lo) for k, (lo, hi) in ISHIGAMI_KEYS.items()})
    y = ishigami(-math.pi + 2 * math.pi * unit)["y"]
    return pd.DataFrame({"analytic_afforested_area_10k_ha": y, "status": "ok"}, index=inputs.index)


BAD_SECTIONS = [
    ('[sensitivity.inputs."landuse.discount"]\ndistribution = "uniform"\nlo = 0.01\nhi = 0.1\n', "landuse.discount"),
    ('[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "normal"\nmean = 0.05\nsd = 0.0\n',
     "greater than 0"),
    ('[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "normal"\nmean = 0.05\nsd = -0.01\n',
     "greater than 0"),
    ('[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "triangular"\nlo = 0.03\nmode = 0.08\n'
     'hi = 0.07\n', "mode = 0.08 outside [0.03, 0.07]"),
    ('[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "log_uniform"\nlo = 0.0\nhi = 0.1\n',
     "log_uniform needs lo > 0"),
    ('[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "uniform"\nlo = -0.01\nhi = 0.1\n',
     "lo = -0.01, outside the parameter's valid range 0 < value < 1"),
    ('[sensitivity.inputs."landuse.opportunity_cost_share"]\ndistribution = "uniform"\nlo = 0.5\nhi = 1.2\n',
     "hi = 1.2, outside the parameter's valid range 0 <= value <= 1"),
    ('[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "normal"\nmean = 0.05\nsd = 0.02\n',
     "truncated at mean - 4 sd"),
    ('[sensitivity.inputs."policy.annual_planting_cap_10k_ha_per_yr"]\ndistribution = "uniform"\nlo = 1.0\n'
     'hi = 1e6\n', "hi = 1e+06, outside"),
    ('[sensitivity.inputs."classes.post_planting_rule"]\ndistribution = "uniform"\nlo = 0.0\nhi = 1.0\n',
     "give it a discrete distribution"),
    ('[sensitivity.inputs."classes.post_planting_rule"]\ndistribution = "discrete"\nvalues = ["curve_average", "x"]\n',
     "'x' is not one of"),
    ('[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "discrete"\nvalues = [0.05]\n',
     "at least 2"),
    ('[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "discrete"\nvalues = [0.03, 0.05]\n'
     'weights = [1.0]\n', "one weight per value"),
    ('[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "gamma"\nlo = 0.03\nhi = 0.05\n', "gamma"),
    ('[sensitivity.inputs."landuse.financial_discount_rate"]\ndistribution = "uniform"\nlo = 0.03\nhi = 0.05\n'
     'mode = 0.04\n', "unknown key"),
    ('[sensitivity.inputs."policy.province_quota_10k_ha"]\ndistribution = "uniform"\nlo = 0.0\nhi = 1.0\n',
     "is not a number"),
    ('[sensitivity]\nmethod = "sobol"\nsamples = 100\n', "N a power of 2"),
    ('[sensitivity]\nmethod = "morris"\nsamples = 1\n', "N >= 2 trajectories"),
    ('[sensitivity]\noutputs = ["area"]\n', "unknown output 'area'"),
    ('[sensitivity]\noat_quantiles = [0.6, 0.9]\n', "oat_quantiles"),
]


@pytest.mark.unit
@pytest.mark.parametrize("body, reason", BAD_SECTIONS, ids=[r for _, r in BAD_SECTIONS])
def test_bad_sensitivity_sections_are_refused_naming_field_and_value(tmp_path, body, reason):
    with pytest.raises(InputError) as info:
        load_scenario(_write(tmp_path, body))
    assert info.value.field.startswith("sensitivity")
    assert reason in str(info.value)


@pytest.mark.unit
def test_the_section_changes_no_digest_and_the_shipped_analysis_loads(tmp_path):
    baseline = load_scenario("baseline")
    shipped = load_scenario("sensitivity")
    assert "sensitivity" in shipped_scenarios()
    assert shipped.digest() == baseline.digest()  # the design is not the scenario
    assert len(shipped.sensitivity.inputs) >= 8
    kinds = {d.distribution for d in shipped.sensitivity.inputs.values()}
    assert kinds == {"uniform", "normal", "triangular", "log_uniform", "discrete"}
    carbon = load_scenario("sensitivity_carbon")  # the same analysis with the carbon accounts' inputs added
    assert set(carbon.sensitivity.inputs) == {*shipped.sensitivity.inputs, "carbon.survival_rate", "carbon.soil_scale"}
    assert carbon.digest() == baseline.digest()
    for name in shipped_scenarios():  # every other scenario: no section, digest as before (tests/test_golden.py)
        if not name.startswith("sensitivity"):
            assert not load_scenario(name).sensitivity.inputs
    # with_overrides (every sweep point) keeps the section valid
    assert shipped.with_overrides({"landuse.financial_discount_rate": 0.04}).sensitivity == shipped.sensitivity


# --- distributions and the design --------------------------------------------------------------------------


@pytest.mark.unit
def test_quantiles_match_scipy_and_the_supports():
    from scipy import stats

    u = np.linspace(0.0, 1.0, 11)
    assert np.allclose(quantile(_uniform(2.0, 4.0), u), 2.0 + 2.0 * u)
    log = quantile(LogUniformInput(distribution="log_uniform", lo=1.0, hi=100.0), u)
    assert np.allclose(np.log10(log), 2.0 * u)
    tri = TriangularInput(distribution="triangular", lo=0.0, mode=0.25, hi=1.0)
    assert np.allclose(quantile(tri, u), stats.triang.ppf(u, 0.25, loc=0.0, scale=1.0))
    normal = NormalInput(distribution="normal", mean=10.0, sd=2.0)
    q = quantile(normal, u)
    assert q[0] == pytest.approx(2.0) and q[-1] == pytest.approx(18.0) and q[5] == pytest.approx(10.0)
    discrete = DiscreteInput(distribution="discrete", values=["a", "b", "c"], weights=[1.0, 1.0, 2.0])
    assert list(quantile(discrete, np.array([0.0, 0.25, 0.3, 0.5, 0.51, 1.0]))) == ["a", "a", "b", "b", "c", "c"]
    two = DiscreteInput(distribution="discrete", values=[1.0, 2.0])
    assert list(quantile(two, np.array([0.05, 0.5, 0.95]))) == [1.0, 1.0, 2.0]  # the median is the first value


@pytest.mark.unit
def test_design_sizes_and_one_at_a_time_rows():
    inputs = {"a": _uniform(0.0, 1.0), "b": _uniform(0.0, 2.0), "c": _uniform(5.0, 6.0)}
    sobol = build_design(inputs, "sobol", 8)
    assert len(sobol.unit) == 8 * (3 + 2) and len(sobol.values) == 8 * 5 + 2 * 3 + 1
    assert len(build_design(inputs, "sobol", 8, second_order=True).unit) == 8 * (2 * 3 + 2)
    morris = build_design(inputs, "morris", 4)
    assert len(morris.unit) == 4 * (3 + 1)
    oat = sobol.values[sobol.values["part"].str.startswith("oat")]
    centre = oat[oat["part"] == "oat_centre"].iloc[0]
    assert centre["b"] == pytest.approx(1.0)
    low_b = oat[(oat["part"] == "oat_low") & (oat["oat_input"] == "b")].iloc[0]
    assert low_b["b"] == pytest.approx(0.1) and low_b["a"] == pytest.approx(0.5)
    with pytest.raises(InputError, match="power of 2") as info:
        build_design(inputs, "sobol", 12)
    assert info.value.field == "--samples" and info.value.value == 12
    with pytest.raises(InputError, match="at least 2"):
        build_design({"a": _uniform(0.0, 1.0)}, "sobol", 8)


# --- the plumbing where the answer is known ----------------------------------------------------------------


@pytest.mark.unit
def test_sobol_indices_of_ishigami_through_the_scenario_path(tmp_path):
    """N = 1024 (5 120 + 7 evaluations, < 1 s): the 95 % bootstrap half-widths are 0.03-0.09 here (docs/sensitivity.md
    has the table); each estimate must lie within two of them of the analytic value (about 4 standard errors), and
    the intervals must be narrow enough for that to mean something (< 0.1)."""
    scenario = _ishigami_scenario(tmp_path, 1024)
    out = tmp_path / "out"
    result = analyse_scenario(scenario, evaluator=_ishigami_on_scenario_keys, output=out)
    write(result, scenario, out)
    table = result.indices.set_index("input").loc[list(ISHIGAMI_KEYS)]
    for name in ("S1", "ST"):
        estimate, conf = table[name].to_numpy(), table[f"{name}_conf"].to_numpy()
        truth = np.array(ISHIGAMI_INDICES[name])
        assert (conf < 0.1).all(), conf
        assert (np.abs(estimate - truth) <= 2 * conf).all(), (name, estimate, truth, conf)
    assert result.failures["failed_evaluations"] == 0
    indices = pd.read_csv(out / "indices.csv")
    assert list(indices.columns[:7]) == ["output", "input", "method", "S1", "S1_conf", "ST", "ST_conf"]
    assert {"scenario_hash", "afforest_version", "salib_version"} <= set(indices.columns)
    assert (indices["scenario_hash"] == scenario.digest()).all()
    assert pd.read_parquet(out / "indices.parquet").shape == indices.shape
    meta = json.loads((out / "sensitivity.json").read_text())
    assert meta["samples"] == 1024 and meta["design_evaluations"] == 5120 and meta["failures"]["failed_evaluations"] == 0
    assert len(pd.read_csv(out / "evaluations.csv")) == 5120 + 7
    assert (out / "sensitivity_sobol.png").stat().st_size > 0 and (out / "sensitivity_tornado.png").exists()


@pytest.mark.unit
def test_second_order_indices_of_ishigami(tmp_path):
    """Ishigami's only interaction is x1 with x3: S13 = ST3 - S1_3 = 0.2437, S12 = S23 = 0 (N = 1024, 8 192 runs)."""
    inputs = {f"x{i}": _uniform(-math.pi, math.pi) for i in (1, 2, 3)}
    result = analyse(inputs, ishigami, ["y"], method="sobol", samples=1024, second_order=True)
    pairs = result.second_order.set_index(["input", "input_2"])
    for pair, truth in ((("x1", "x2"), 0.0), (("x1", "x3"), 0.2437), (("x2", "x3"), 0.0)):
        conf = pairs.loc[pair, "S2_conf"]
        assert conf < 0.15 and abs(pairs.loc[pair, "S2"] - truth) <= 2 * conf, (pair, pairs.loc[pair].to_dict())
    written = write(result, None, tmp_path)
    assert tmp_path / "indices_second_order.csv" in written


@pytest.mark.unit
def test_morris_recovers_known_elementary_effects():
    """f = 2 a - 3 b + log(c) + 0 d with a ~ U(0, 1), b ~ U(0, 2), c log-uniform on [1, e^4], d ~ U(0, 1): in the
    quantile space every elementary effect is exact, 2, -6, 4 and 0, so mu* = (2, 6, 4, 0) and sigma = 0."""
    inputs = {"a": _uniform(0.0, 1.0), "b": _uniform(0.0, 2.0),
              "c": LogUniformInput(distribution="log_uniform", lo=1.0, hi=math.exp(4.0)), "d": _uniform(0.0, 1.0)}

    def linear(x: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"y": 2 * x["a"] - 3 * x["b"] + np.log(x["c"]) + 0 * x["d"]}, index=x.index)

    result = analyse(inputs, linear, ["y"], method="morris", samples=10)
    table = result.indices.set_index("input")
    assert np.allclose(table["mu_star"], [2.0, 6.0, 4.0, 0.0])
    assert np.allclose(table["mu"], [2.0, -6.0, 4.0, 0.0])
    assert np.allclose(table["sigma"], 0.0, atol=1e-9)
    oat = result.oat.set_index("input")
    assert oat.loc["b", "y_high"] - oat.loc["b", "y_low"] == pytest.approx(-3 * (1.9 - 0.1))


@pytest.mark.unit
def test_failed_evaluations_are_dropped_by_block_or_refused():
    inputs = {"a": _uniform(0.0, 1.0), "b": _uniform(0.0, 1.0)}
    bad = {5, 6, 40}  # base samples 1 (rows 4-7) and 10 (rows 40-43) of the Sobol' design, k + 2 = 4 rows each

    def flaky(x: pd.DataFrame) -> pd.DataFrame:
        status = ["failed" if i in bad else "ok" for i in x.index]
        y = [math.nan if i in bad else a + 2 * b for i, a, b in zip(x.index, x["a"], x["b"])]
        return pd.DataFrame({"y": y, "status": status}, index=x.index)

    dropped = analyse(inputs, flaky, ["y"], method="sobol", samples=16)
    assert dropped.failures["failed_evaluations"] == 3
    assert dropped.failures["by_output"]["y"]["base_samples_used"] == 14
    assert "2 of 16 base samples dropped" in dropped.indices["note"].iloc[0]
    assert dropped.indices["S1"].notna().all()
    refused = analyse(inputs, flaky, ["y"], method="sobol", samples=16, on_failure="refuse")
    assert refused.indices["S1"].isna().all() and refused.indices["note"].iloc[0].startswith("refused: 3")
    morris = analyse(inputs, flaky, ["y"], method="morris", samples=16)
    # k + 1 = 3 rows per trajectory: row 5 is in trajectory 1 (rows 3-5), 6 in 2 (6-8), 40 in 13 (39-41)
    assert morris.failures["by_output"]["y"]["trajectories_used"] == 13


@pytest.mark.unit
def test_command_line_refuses_bad_samples_before_any_chain(capsys):
    assert main(["sensitivity", "sensitivity", "--samples", "100"]) == 2
    assert "'--samples', value 100: Sobol' (Saltelli) sampling needs N a power of 2" in capsys.readouterr().err
    assert main(["sensitivity", "baseline"]) == 2
    assert "declares no [sensitivity] inputs" in capsys.readouterr().err
    assert main(["sensitivity", "sensitivity", "--method", "morris", "--second-order"]) == 2
    assert "--second-order" in capsys.readouterr().err


# --- the real chain ------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_a_tiny_morris_run_of_the_chain_resumes(tmp_path, capsys):
    """2 inputs, 2 trajectories: 6 + 5 chains on a short horizon (about 5 s on one worker), then the same command
    again finds every chain in the folder and solves none."""
    path = _write(tmp_path, """
[numerics]
horizon_yr = 60.0
step_yr = 2.0
[sensitivity]
method = "morris"
samples = 2
# three outputs (the default is all 24: their figures alone would take ~10 s here), two of issue 14's per-rate ones
outputs = ["analytic_afforested_area_10k_ha", "desirable_carbon_rc5_mt_co2", "cost_effective_area_solar_pv_rc0_10k_ha"]
[sensitivity.inputs."landuse.financial_discount_rate"]
distribution = "uniform"
lo = 0.04
hi = 0.06
[sensitivity.inputs."landuse.opportunity_cost_share"]
distribution = "triangular"
lo = 0.8
mode = 1.0
hi = 1.0
""")
    out = tmp_path / "out"
    args = ["sensitivity", str(path), "--output", str(out), "--workers", "1", "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["evaluations"] == 11 and first["failures"]["failed_evaluations"] == 0
    assert {r["output"] for r in first["indices"]} == {"analytic_afforested_area_10k_ha", "desirable_carbon_rc5_mt_co2",
                                                        "cost_effective_area_solar_pv_rc0_10k_ha"}
    area = {r["input"]: r for r in first["indices"] if r["output"] == "analytic_afforested_area_10k_ha"}
    assert area["landuse.opportunity_cost_share"]["mu_star"] > 0 and area["landuse.financial_discount_rate"]["mu_star"] > 0
    rows = pd.read_parquet(out / "results.parquet")
    assert len(rows) == 11 and set(rows["status"]) == {"ok"}
    progress = (out / "progress.jsonl").read_text().count("\n")
    assert main(args) == 0  # resumed: nothing solved again
    assert json.loads(capsys.readouterr().out)["indices"] == first["indices"]
    assert (out / "progress.jsonl").read_text().count("\n") == progress
    for name in ("indices.csv", "oat.csv", "evaluations.csv", "sensitivity.json", "sensitivity_morris.png",
                 "sensitivity_tornado.png"):
        assert (out / name).exists(), name


@pytest.mark.unit
def test_the_output_catalogue_names_the_rows_columns_of_every_shipped_region():
    """Every catalogued output is a column of a sweep row, on the default region and the example one: the catalogue's
    rates and benchmarks are the shipped data's (a change of data that renames a column fails here)."""
    from afforest.chain.bundle import load_bundle
    from afforest.chain.row_stages import power_benchmarks
    from afforest.chain.stages import run_chain
    from afforest.chain.sweep import chain_outputs
    from afforest.scenarios.outputs import (CATALOGUE_BENCHMARKS, CATALOGUE_CARBON_RATES, SENSITIVITY_OUTPUTS,
                                            benchmark_slug, rate_tag)

    assert [rate_tag(r) for r in (0.0, 0.05, 0.025)] == ["rc0", "rc5", "rc2p5"]
    assert benchmark_slug("Solar PV (utility)") == "solar_pv_utility"
    assert load_scenario("sensitivity").sensitivity.outputs == list(SENSITIVITY_OUTPUTS)  # the default: every output
    for region in (None, "example_basin"):
        bundle = load_bundle(None, region)
        assert bundle.carbon_discount_rates == CATALOGUE_CARBON_RATES
        assert [benchmark_slug(b) for b in power_benchmarks(bundle)] == list(CATALOGUE_BENCHMARKS)
        scenario = load_scenario("baseline") if region is None else load_scenario("baseline").with_region(region)
        row = chain_outputs(run_chain(scenario, engine="fast", tables=False))
        assert set(SENSITIVITY_OUTPUTS) <= set(row)
        assert all(isinstance(row[name], float) for name in SENSITIVITY_OUTPUTS)
