"""Catalogue rows C1-C16 and G1-G4 (docs/bad-input-catalogue.md): the land-use chain never answers silently wrong.

Each case ends in one of three ways, asserted exactly: an error naming the field and value (exit code 2 on the
command line), a result flagged ``suspect`` with a reason that names the scenario field to change, or the
correct number. Scenario fixtures are the catalogue's: ``extends = "baseline"`` plus the one bad value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyomo.environ as pyo
import pytest

import afforest.chain.inputs as inputs_module
import afforest.chain.landuse as run
from afforest.cli import build_parser, main
from afforest.errors import SolverError
from afforest.model.landuse import TimeGrid, build_classes_model, build_curves_model
from afforest.scenarios import load_scenario
from afforest.solvers import solve


def _scenario(tmp_path: Path, body: str, name: str = "case") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text('extends = "baseline"\n' + body)
    return str(path)


def _refused(capsys, *argv: str) -> str:
    """Run the CLI, expect exit code 2 with one error line and no traceback; return stderr."""
    assert main(["solve", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("afforest: error: ") and "Traceback" not in captured.err
    return captured.err


def _json(capsys, *argv: str) -> tuple[dict, str]:
    assert main(["solve", *argv, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


# --- errors before anything is solved ---------------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.catalogue("C2")
def test_c2_planting_cap_zero(tmp_path, capsys):
    err = _refused(capsys, _scenario(tmp_path, "[policy]\nannual_planting_cap_10k_ha_per_yr = 0.0\n"))
    assert "field 'policy.annual_planting_cap_10k_ha_per_yr', value 0.0" in err and "greater than 0" in err


@pytest.mark.integration
@pytest.mark.catalogue("C3")
def test_c3_planting_cap_below_the_solvers_tolerance(tmp_path, capsys):
    err = _refused(capsys, _scenario(tmp_path, "[policy]\nannual_planting_cap_10k_ha_per_yr = 1e-9\n"))
    assert "field 'policy.annual_planting_cap_10k_ha_per_yr', value 1e-09" in err
    assert "at least 0.001" in err and "allow_nonoptimal" not in err


@pytest.mark.integration
@pytest.mark.catalogue("C4")
def test_c4_every_province_excluded(tmp_path, capsys):
    body = '[policy]\nexcluded_provinces = ["Shaanxi", "Gansu", "Qinghai", "Ningxia", "Xinjiang"]\n'
    err = _refused(capsys, _scenario(tmp_path, body))
    assert "excluded_provinces" in err and "every class is excluded" in err


@pytest.mark.integration
@pytest.mark.catalogue("C5")
def test_c5_quota_on_an_excluded_province(tmp_path, capsys):
    body = '[policy]\nprovince_quota_10k_ha = { Qinghai = 40.0 }\nexcluded_provinces = ["Qinghai"]\n'
    err = _refused(capsys, _scenario(tmp_path, body))
    assert "field 'policy.province_quota_10k_ha', value 'Qinghai'" in err
    assert "policy.excluded_provinces" in err and "scenario 'case'" in err


@pytest.mark.integration
@pytest.mark.catalogue("C7")
def test_c7_land_type_cost_multiplier_zero(tmp_path, capsys):
    body = "[policy]\ndirect_cost_multiplier_by_land_type = { shrubland = 0.0 }\n"
    err = _refused(capsys, _scenario(tmp_path, body))
    assert "direct_cost_multiplier_by_land_type" in err and "multiplier of shrubland must be" in err and "got 0.0" in err


@pytest.mark.integration
@pytest.mark.catalogue("C10")
def test_c10_tau1_beyond_its_bound(tmp_path, capsys):
    err = _refused(capsys, _scenario(tmp_path, "[landuse]\nplanting_cost_slope_yuan_per_ha_per_10k_ha_yr = 1e9\n"))
    assert "field 'landuse.planting_cost_slope_yuan_per_ha_per_10k_ha_yr', value 1000000000.0" in err


@pytest.mark.integration
@pytest.mark.catalogue("C13")
def test_c13_horizon_shorter_than_a_step(tmp_path, capsys):
    err = _refused(capsys, _scenario(tmp_path, "[numerics]\nhorizon_yr = 1.0\nstep_yr = 50.0\n"))
    assert "horizon_yr" in err and "value 1.0" in err and "must be >= step_yr" in err


@pytest.mark.integration
@pytest.mark.catalogue("C14")
def test_c14_step_does_not_divide_the_horizon(tmp_path, capsys):
    err = _refused(capsys, _scenario(tmp_path, "[numerics]\nstep_yr = 30.0\n"))
    assert "horizon_yr" in err and "value 100.0" in err and "whole number of steps" in err


@pytest.mark.integration
@pytest.mark.catalogue("C15")
def test_c15_a0_overridden_below_the_classes_total(tmp_path, capsys):
    err = _refused(capsys, _scenario(tmp_path, "[landuse]\ninitial_area_10k_ha = 1.0\n"))
    assert "afforestable_area.csv" in err and "499.58" in err and "landuse.initial_area_10k_ha" in err


# --- policy switches that only the classes model honours: the headline follows the classes --------------------

@pytest.mark.integration
@pytest.mark.catalogue("C1")
def test_c1_zero_quotas_with_a_carbon_price_headline_is_the_classes_zero(tmp_path, capsys):
    quotas = ", ".join(f"{p} = 0.0" for p in ("Shaanxi", "Gansu", "Qinghai", "Ningxia", "Xinjiang"))
    path = _scenario(tmp_path, f"[policy]\ncarbon_price_yuan_per_t_co2 = 500.0\nprovince_quota_10k_ha = {{ {quotas} }}\n")
    out, _ = _json(capsys, path)
    assert out["status"] == "ok", out["suspect_reasons"]
    assert out["headline"]["representation"] == "classes"
    assert out["headline"]["afforested_area_10k_ha"] == pytest.approx(0.0, abs=1e-6)
    assert out["classes_afforested_area_10k_ha"] == pytest.approx(0.0, abs=1e-6)
    assert out["afforested_share_of_A0"] == pytest.approx(0.0, abs=1e-8)
    assert out["allocation_source"] == "classes" and out["allocation"] == [] and out["province_shares"] == {}
    assert out["ignored_switches"]["analytic"] == ["policy.province_quota_10k_ha"]
    assert out["ignored_switches"]["curves"] == ["policy.province_quota_10k_ha"]
    # Eq. 3 at the carbon-lowered cost still answers its own question (no quotas): 112.2, and says so.
    assert out["analytic_afforested_area_10k_ha"] == pytest.approx(112.201, abs=1e-3)
    assert main(["solve", path]) == 0
    text = capsys.readouterr().out
    assert "Eq. 3 and the curves model ignore policy.province_quota_10k_ha: the headline and the allocation" in text
    assert "Headline: long-run afforested area 0.000 x 10^4 ha = 0.00 % of A0 (classes dynamic program)" in text
    assert "planting path (classes): 0.00 x 10^4 ha/yr at first; 50 % by year never" in text


@pytest.mark.integration
@pytest.mark.catalogue("C6")
def test_c6_province_quotas_report_the_quota_respecting_allocation(capsys):
    out, _ = _json(capsys, "province_quotas")
    assert out["status"] == "ok", out["suspect_reasons"]
    area = out["headline"]["afforested_area_10k_ha"]
    assert out["headline"]["representation"] == "classes" and area == out["classes_afforested_area_10k_ha"]
    by_province: dict[str, float] = {}
    for row in out["allocation"]:
        by_province[row["province"]] = by_province.get(row["province"], 0.0) + row["area_10k_ha"]
    assert by_province["Qinghai"] == pytest.approx(40.0, abs=1e-4)  # the quota binds: 78.75 without it
    assert "Xinjiang" not in by_province
    assert sum(by_province.values()) == pytest.approx(area, abs=1e-4)
    assert out["province_shares"]["Qinghai"] == pytest.approx(40.0 / area, abs=1e-6)
    assert out["ignored_switches"]["analytic"] == ["policy.province_quota_10k_ha", "policy.excluded_provinces"]
    assert main(["solve", "province_quotas"]) == 0
    text = capsys.readouterr().out
    assert ("Eq. 3 and the curves model ignore policy.province_quota_10k_ha, policy.excluded_provinces: "
            "the headline and the allocation below come from the classes model") in text
    assert f"  Qinghai   {100 * 40.0 / area:6.2f} %" in text
    assert "76.20 %" not in text
    assert "Afforested area by province (classes dynamic program, honouring the scenario's policy):" in text


# --- numbers the solvers cannot resolve: flagged suspect, with the field to change ------------------------------

@pytest.mark.integration
@pytest.mark.catalogue("C8")
def test_c8_discount_rate_099_is_suspect(tmp_path, capsys):
    """At r = 0.99 both programs restart planting after year ~21 (weights below 1e-9); held at zero from year 15
    (e^{-15} = 3e-7) the paths have not come to rest: no numerical answer, Eq. 3's 40.6 is the long run."""
    out, err = _json(capsys, _scenario(tmp_path, "[landuse]\nfinancial_discount_rate = 0.99\n"))
    assert out["status"] == "suspect"
    assert out["analytic_afforested_area_10k_ha"] == pytest.approx(40.624, abs=1e-3)
    reasons = "; ".join(out["suspect_reasons"])
    assert "x 10^4 ha against 40.6 from Eq. 3" in reasons
    assert "held at zero from year 15, but the path has not come to rest by then" in reasons
    assert "the steady state (40.6 x 10^4 ha) is, or lower landuse.financial_discount_rate" in reasons
    assert "classes QP plants" in reasons
    assert "the result is SUSPECT" in err
    # without the hold, the 467 of the catalogue is flagged with the advice to shorten the horizon
    inputs = inputs_module.resolve_inputs(load_scenario(_scenario(tmp_path, "[landuse]\nfinancial_discount_rate = 0.99\n")))
    raw = run.solve_models(inputs, run.build_models(inputs), hold_undetermined_tail=False)
    assert raw.status == "suspect"
    assert "curves NLP plants 467.2 x 10^4 ha against 40.6 from Eq. 3" in "; ".join(raw.suspect_reasons)
    assert "shorten numerics.horizon_yr to about 15 yr" in "; ".join(raw.suspect_reasons)


@pytest.mark.integration
@pytest.mark.catalogue("C9")
def test_c9_discount_rate_03_is_correct_after_holding_the_undetermined_tail(tmp_path, capsys):
    """r = 0.3: the solvers let planting restart after year 50 (138.6 instead of Eq. 3's 82.4); held at zero from
    year 50 (e^{-15} = 3e-7) both programs come to rest and agree with their steady states."""
    path = _scenario(tmp_path, "[landuse]\nfinancial_discount_rate = 0.3\n")
    out, _ = _json(capsys, path)
    assert out["status"] == "ok", out["suspect_reasons"]
    assert out["analytic_afforested_area_10k_ha"] == pytest.approx(82.434, abs=1e-3)
    assert out["numeric_afforested_area_10k_ha"] == pytest.approx(82.434, rel=1e-3)
    checks = {c["name"]: c for c in out["checks"]}
    assert checks["curves_tail_held"]["value"] == 50.0 and checks["classes_tail_held"]["value"] == 50.0
    assert "restarted planting in year 50" in checks["curves_tail_held"]["reason"]
    assert checks["classes_gap_to_steady_state"]["passed"]
    assert main(["solve", path]) == 0
    text = capsys.readouterr().out
    assert "status: ok" in text and "note: the curves NLP restarted planting in year 50" in text
    # without the hold: flagged, with the catalogue's numbers and the advice that the hold follows
    inputs = inputs_module.resolve_inputs(load_scenario(path))
    raw = run.solve_models(inputs, run.build_models(inputs), hold_undetermined_tail=False)
    reasons = "; ".join(raw.suspect_reasons)
    assert raw.status == "suspect"
    assert "curves NLP plants 138.6 x 10^4 ha against 82.4 from Eq. 3 (+68.1 %" in reasons
    assert "planting restarts in year 50" in reasons and "shorten numerics.horizon_yr to about 50 yr" in reasons


@pytest.mark.integration
@pytest.mark.catalogue("C11")
def test_c11_tau1_at_its_maximum_has_not_converged(tmp_path, capsys):
    out, _ = _json(capsys, _scenario(tmp_path, "[landuse]\nplanting_cost_slope_yuan_per_ha_per_10k_ha_yr = 1e7\n"))
    assert out["status"] == "suspect"
    reasons = "; ".join(out["suspect_reasons"])
    assert "curves NLP plants 7.44 x 10^4 ha against 103.3 from Eq. 3 (-92.8 %" in reasons
    assert "has not converged by the horizon T = 100 yr" in reasons
    assert "lengthen numerics.horizon_yr" in reasons and "landuse.planting_cost_slope_yuan_per_ha_per_10k_ha_yr" in reasons
    assert 'numerics.terminal_value = "saddle_path"' in reasons


@pytest.mark.integration
@pytest.mark.catalogue("C12")
def test_c12_horizon_of_one_year(tmp_path, capsys):
    path = _scenario(tmp_path, "[numerics]\nhorizon_yr = 1.0\n")
    out, _ = _json(capsys, path)
    assert out["status"] == "suspect"
    reasons = "; ".join(out["suspect_reasons"])
    assert "single planting period" in reasons and "lengthen numerics.horizon_yr" in reasons
    # everything the one period plants is planted by its end, year 1 (was printed as year 0)
    assert out["planting_path"]["years_to_50pct"] == 1.0 and out["planting_path"]["years_to_99pct"] == 1.0


# --- API misuse and infeasible models ---------------------------------------------------------------------------

@pytest.mark.component
@pytest.mark.catalogue("G1")
def test_g1_infeasible_constraint_on_the_curves_nlp(study_params):
    m = build_curves_model(study_params, TimeGrid(horizon_yr=10.0))
    m.impossible = pyo.Constraint(expr=m.unconverted_area_10k_ha[m.time_points.last()] >= study_params.initial_area_10k_ha + 1)
    with pytest.raises(SolverError, match=r"ipopt .* stopped with status infeasible .* NLP 'afforest_curves'"):
        solve(m)


@pytest.mark.component
@pytest.mark.catalogue("G2")
def test_g2_infeasible_constraint_on_the_classes_qp(study_classes, study_params):
    m = build_classes_model(study_classes, study_params, TimeGrid(horizon_yr=10.0, step_yr=2.0))
    m.impossible = pyo.Constraint(expr=m.planting_rate_10k_ha_per_yr[0] <= -1)
    with pytest.raises(SolverError, match=r"highs .* stopped with status infeasible"):
        solve(m)


@pytest.mark.unit
@pytest.mark.catalogue("G3")
def test_g3_unknown_solver(study_params):
    with pytest.raises(SolverError, match=r"unknown solver 'gurobi'; choose one of"):
        solve(build_curves_model(study_params, TimeGrid(horizon_yr=5.0)), solver="gurobi")


@pytest.mark.unit
@pytest.mark.catalogue("G4")
def test_g4_builder_arguments_in_the_wrong_order(study_classes, study_params):
    with pytest.raises(TypeError, match=r"build_classes_model\(classes: pandas.DataFrame, params: LandUseParameters, "
                       r"grid: TimeGrid \| None = None\): argument 'classes' must be a DataFrame, got LandUseParameters"):
        build_classes_model(study_params, study_classes)
    with pytest.raises(TypeError, match=r"build_curves_model\(params: LandUseParameters.*got DataFrame"):
        build_curves_model(study_classes)


@pytest.mark.unit
def test_allow_nonoptimal_is_a_cli_option():
    args = build_parser().parse_args(["solve", "baseline", "--allow-nonoptimal"])
    assert args.allow_nonoptimal is True
    assert build_parser().parse_args(["solve"]).allow_nonoptimal is False


@pytest.mark.integration
@pytest.mark.catalogue("C16")
def test_c16_json_stdout_is_only_json_with_ipopt_on_the_qp(tmp_path, capsys):
    out, _ = _json(capsys, _scenario(tmp_path, '[solver]\nqp = "ipopt"\n'))  # json.loads of the whole of stdout
    assert out["solver"]["classes"]["solver"] == "ipopt"
    assert out["classes_afforested_area_10k_ha"] == pytest.approx(96.77, abs=5e-3)
    assert out["status"] == "ok", out["suspect_reasons"]  # Ipopt holds the QP to its steady state as well


@pytest.mark.integration
def test_a_solver_that_stops_names_the_scenario_fields_and_the_cli_option(tmp_path, capsys):
    """r = 0.3 with T = 60 yr: HiGHS stops with status unknown (measured). The error names the scenario, the two
    fields and the command-line option; with --allow-nonoptimal the point is reported, flagged suspect."""
    path = _scenario(tmp_path, "[landuse]\nfinancial_discount_rate = 0.3\n[numerics]\nhorizon_yr = 60.0\n")
    err = _refused(capsys, path)
    assert "scenario 'case': the classes QP stopped without an optimum" in err
    assert "landuse.financial_discount_rate = 0.3 with numerics.horizon_yr = 60" in err
    assert "afforest solve --allow-nonoptimal" in err
    out, _ = _json(capsys, path, "--allow-nonoptimal")
    assert out["status"] == "suspect" and out["solver"]["classes"]["status"] != "optimal"
    (reason,) = [c["reason"] for c in out["checks"] if c["name"] == "classes_solver_optimal"]
    assert "not an optimum" in reason and "landuse.financial_discount_rate" in reason
