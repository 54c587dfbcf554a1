"""`afforest solve --output DIR`: the paths with their costates in three formats (NetCDF with units), the shadow
prices, the summary with the saddle path, and the phase diagram."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import xarray as xr

from afforest.cli.main import main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("solve") / "out"
    assert main(["solve", "planting_capacity", "--output", str(out)]) == 0
    return out


def test_the_three_formats_hold_the_same_path_with_units(written):
    csv = pd.read_csv(written / "curves_path.csv")
    parquet = pd.read_parquet(written / "curves_path.parquet")
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)
    with xr.open_dataset(written / "paths.nc") as nc:
        assert nc["curves_costate_cv_yuan_per_ha"].attrs["units"].startswith("yuan/ha")
        assert nc["classes_planting_rate_10k_ha_per_yr"].attrs["units"] == "10^4 ha/yr"
        assert nc["period_start_yr"].attrs["units"] == "yr"
        assert nc["curves_costate_cv_yuan_per_ha"].values == pytest.approx(csv["costate_cv_yuan_per_ha"].to_numpy(), rel=1e-12)
        assert nc.attrs["scenario"] == "planting_capacity"


def test_the_costate_comes_to_minus_the_planting_cost_at_rest(written):
    """At a steady state nothing is planted and a hectare left unconverted is worth -tau(0) (current value)."""
    summary = json.loads((written / "summary.json").read_text())
    tau0 = summary["effective_planting_cost_yuan_per_ha"]
    path = pd.read_csv(written / "curves_path.csv")
    resting = path.iloc[-10:]  # the last decade: the path is at rest (Ipopt's interior point keeps R ~ 1e-5)
    assert (resting["planting_rate_10k_ha_per_yr"] < 1e-4).all()
    assert resting["costate_cv_yuan_per_ha"].to_numpy() == pytest.approx(-tau0, rel=1e-3)
    assert path["costate_cv_yuan_per_ha"].iloc[0] < -10 * tau0  # while the cap binds, far below -tau(0)


def test_the_binding_cap_has_shadow_prices_and_the_summary_the_saddle_path(written):
    prices = pd.read_csv(written / "shadow_prices.csv")
    cap = prices[prices["constraint"].str.endswith("annual_planting_cap")]
    assert (cap["value"] > 0).any()  # the cap of 5 x 10^4 ha/yr binds in the first years
    summary = json.loads((written / "summary.json").read_text())
    assert summary["saddle_eigenvalue_per_yr"] < 0
    assert "cap" in summary["saddle_path"]["saddle_path_note"]
    assert (written / "phase_diagram.png").stat().st_size > 10_000


def test_an_output_below_a_file_is_refused_before_solving(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["solve", "--output", str(blocker / "out")]) == 2
    assert "--output" in capsys.readouterr().err


def test_a_slack_cap_leaves_the_saddle_path_unremarked():
    """A cap far above the path's fastest rate binds nowhere: no note, and the gap is the discretisation's alone."""
    from afforest.chain.landuse import solve_landuse
    from afforest.scenarios import load_scenario

    slack = solve_landuse(load_scenario("baseline").with_overrides({"policy.annual_planting_cap_10k_ha_per_yr": 100.0}))
    bound = solve_landuse(load_scenario("planting_capacity"))
    assert "saddle_path_note" not in slack.saddle_path
    assert slack.saddle_path["saddle_path_max_gap_10k_ha"] < 1.0
    assert "annual_planting_cap" in bound.saddle_path["saddle_path_note"]
    assert bound.saddle_path["saddle_path_max_gap_10k_ha"] > 10 * slack.saddle_path["saddle_path_max_gap_10k_ha"]
