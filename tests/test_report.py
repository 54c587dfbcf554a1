"""``afforest report SCENARIO``: the chain's report for any scenario (text, JSON, files), and ``reproduce`` as the
baseline's report held against the study (the same chain, the same numbers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from afforest.cli import main

pytestmark = pytest.mark.integration


def _report(capsys, *args: str) -> dict:
    assert main(["report", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_report_json_and_files_for_a_scenario(tmp_path: Path, capsys):
    out = tmp_path / "quotas"
    report = _report(capsys, "province_quotas", "--output", str(out))
    assert report["scenario"] == "province_quotas" and report["status"] == "ok"
    assert report["headline_representation"] == "classes"
    planted = sum(r["planted_area_10k_ha"] for r in report["planting_by_year_and_class"])
    assert planted == pytest.approx(report["classes_afforested_area_10k_ha"], rel=1e-6)
    assert {r["benchmark"] for r in report["cost_effectiveness"]} >= {"cut_thermal", "solar_pv", "onshore_wind", "carbon_price"}
    assert set(report["cumulative_sink_mt_co2"]) == {"planned_path", "curves_path", "year0"}
    for name in ("fig2_merit_order.png", "fig3_sequestration.png", "fig4_supply_curves.png", "planting_path.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
    for name in ("report.json", "planting_by_year_and_class.csv", "carbon_cumulative.csv", "supply_curve.csv",
                 "cost_effectiveness.csv", "welfare.csv"):
        assert (out / name).exists(), name
    assert json.loads((out / "report.json").read_text())["headline_area_10k_ha"] == report["headline_area_10k_ha"]


def test_report_shows_what_a_scenario_changes(capsys):
    baseline = _report(capsys, "baseline")
    urgent = _report(capsys, "urgent")
    quotas = _report(capsys, "province_quotas")
    assert urgent["carbon_discount_rate"] == 0.05 and baseline["carbon_discount_rate"] == 0.0
    assert urgent["headline_area_10k_ha"] == pytest.approx(baseline["headline_area_10k_ha"], rel=1e-12)
    assert urgent["cumulative_sink_mt_co2"]["planned_path"]["0.05"] < baseline["cumulative_sink_mt_co2"]["planned_path"]["0"]
    assert quotas["headline_area_10k_ha"] < baseline["headline_area_10k_ha"]
    shares = {r["province"]: r["area_10k_ha"] for r in quotas["allocation"]}
    assert shares != {r["province"]: r["area_10k_ha"] for r in baseline["allocation"]}


def test_report_text(capsys):
    assert main(["report", "urgent"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("scenario urgent: land-use status ok")
    for heading in ("Plan:", "at the scenario's r_c = 0.05", "Carbon by 2060", "Supply curve", "Cost-effective against"):
        assert heading in text, heading


def test_reproduce_is_the_baselines_report_held_against_the_study(capsys):
    report = _report(capsys, "baseline")
    assert main(["reproduce", "--json"]) == 0
    rows = {r["figure"]: r["afforest"] for r in json.loads(capsys.readouterr().out)}
    assert rows["desirable_area"] == report["analytic_afforested_area_10k_ha"]
    assert rows["cumulative_sink_rc0_full_chain"] == pytest.approx(report["cumulative_sink_mt_co2"]["year0"]["0"], rel=1e-15)
    assert rows["cumulative_sink_rc5_dp_path"] == pytest.approx(report["cumulative_sink_mt_co2"]["curves_path"]["0.05"], rel=1e-15)


def test_a_bad_scenario_is_one_line(capsys):
    assert main(["report", "no_such_scenario"]) == 2
    err = capsys.readouterr().err
    assert "no_such_scenario" in err and "Traceback" not in err
