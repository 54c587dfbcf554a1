"""Behaviour pinned before the architecture moves: `afforest solve --json`, `afforest reproduce --json` and a
small sweep give the same keys and the same numbers (1e-9 relative) as the files stored in tests/golden/.

The files were written by this module (``python tests/test_golden.py --write``) once the newcomer issue's fixes
were in; regenerate them only for a change of behaviour that is intended, and say so in the commit. What varies
from run to run or with the installation is left out: wall times, worker PIDs, whether a worker re-used a model,
the package's and the solvers' versions.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parent / "golden"
RELATIVE_TOLERANCE = 1e-9
"""Same numbers up to solver round-off on one machine kind (the solves themselves are deterministic here)."""
ABSOLUTE_FLOOR = 1e-9
"""Below this a number counts as zero: a rate or gap of 1e-13 against 0 is the same answer."""

VOLATILE_KEYS = frozenset(
    {"wall_time_s", "curves_solve_s", "classes_solve_s", "build_s", "point_s", "worker_pid", "models_reused",
     "afforest_version", "version", "label", "curves_solver", "classes_solver"}
)
SWEEP_RATES = (0.03, 0.05, 0.07)
SWEEP_FILE = "sweep_discount_rates.json"

ADDED_SWEEP_KEYS = frozenset(
    {
        # welfare by named term of each representation at the optimum, 10^8 yuan (PV); they sum to the objective
        *(
            f"welfare_{representation}_{term}_10e8_yuan"
            for representation in ("curves", "classes")
            for term in ("esv_unconverted_pv", "esv_afforested_pv", "planting_cost_pv", "terminal_value_pv")
        ),
        # years until each program's planting path has afforested 50 % / 90 % of its long-run area
        "years_to_50pct_curves",
        "years_to_90pct_curves",
        "years_to_50pct_classes",
        "years_to_90pct_classes",
        # the planned path (classes program's cohorts): area planted before the carbon horizon (10^4 ha) and its
        # cumulative sink by 2060 at the scenario's r_c (Mt CO2)
        "planned_path_planted_10k_ha",
        "planned_path_sink_mt_co2",
        # issue 12: the Pontryagin certificate of both paths (relative PV residual) and the policy shadow prices
        "pontryagin_max_residual",
        "pontryagin_max_residual_curves",
        "pontryagin_max_residual_classes",
        "shadow_prices_json",
        # issue 12: the stable eigenvalue of the saddle path the curves program follows (1/yr) and the program's
        # largest gap to it (10^4 ha)
        "saddle_eigenvalue_per_yr",
        "saddle_path_max_gap_10k_ha",
        # issue 14: which engine solved the land use, "pyomo" or "fast" (this golden sweep runs on pyomo, the
        # default of run_sweep: the fast path agrees to ~1e-6, not to the 1e-9 of these files)
        "landuse_path",
        # issue 14's sensitivity outputs at each of the study's r_c (0 and 5 %, whatever the point's own): carbon of
        # the desirable area and of the planned path by 2060 (Mt CO2), the average and the last hectare's marginal
        # cost (yuan/t CO2), and the area cheaper than each power-sector abatement option and the carbon market's
        # price (10^4 ha; the cost-effectiveness stage's)
        *(
            f"{stem}_{tag}_{unit}"
            for tag in ("rc0", "rc5")
            for stem, unit in (("desirable_carbon", "mt_co2"), ("planned_path_sink", "mt_co2"),
                               ("average_carbon_cost", "yuan_per_t_co2"), ("max_marginal_cost", "yuan_per_t_co2"))
        ),
        *(
            f"cost_effective_area_{benchmark}_{tag}_10k_ha"
            for benchmark in ("cut_thermal", "solar_pv", "onshore_wind", "carbon_price")
            for tag in ("rc0", "rc5")
        ),
    }
)
"""Sweep columns added after the files were stored (issue 10: the chain's sweep rows gain what a scenario
changes). In the sweep file only, a row may hold these beyond the stored keys; every stored key must still be
there with the same value."""


ADDED_SOLVE_KEYS = frozenset(
    {"pontryagin_max_residual", "pontryagin", "shadow_prices", "saddle_eigenvalue_per_yr", "saddle_path_max_gap_10k_ha",
     "saddle_path",
     # issue 14: which engine solved the land use ("pyomo" for afforest solve) and, if the fast path was asked for
     # and did not run, why
     "landuse_path", "landuse_path_note"}
)
"""Top-level keys of `afforest solve --json` added after the files were stored (issue 12: the largest residual of
the Pontryagin certificate, its parts per representation, the shadow prices of the active policy constraints, and
the analytic saddle path's eigenvalue and its gap to the curves program's path).
In the two solve files only, the object may hold these beyond the stored keys."""

ADDED_CHECKS = frozenset({"curves_pontryagin", "classes_pontryagin"})
"""Checks added to `solve --json`'s ``checks`` list after the files were stored (issue 12: the certificate as a
check of chain.certify). They must be there and pass; they are taken out of the list before it is compared."""

SOLVE_FILES = ("solve_baseline.json", "solve_province_quotas.json")

ADDED_REPRODUCE_FIGURES = frozenset(
    # issue 11: Eq. 3's steady state with alpha, beta fitted from Table 2 and Table 3 (model/curve_fit.py) beside the
    # published ones (row desirable_area), so the report shows the steady state under both curves
    {"desirable_area_fitted_curves"}
)
"""Rows (by ``figure``) of `afforest reproduce --json` added after the file was stored: they must be there; they are
taken out of the list before it is compared."""


def _without_added_checks(summary: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with the ADDED_CHECKS taken out of its checks, after asserting each is there and passed."""
    added = {c["name"]: c for c in summary["checks"] if c["name"] in ADDED_CHECKS}
    assert set(added) == ADDED_CHECKS, f"added checks missing: {sorted(ADDED_CHECKS - set(added))}"
    assert all(c["passed"] for c in added.values()), added
    return {**summary, "checks": [c for c in summary["checks"] if c["name"] not in ADDED_CHECKS]}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _cli_json(*args: str) -> Any:
    run = subprocess.run([sys.executable, "-m", "afforest", *args, "--json"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _sweep_rows() -> list[dict[str, Any]]:
    from afforest.chain.sweep import grid_points, run_sweep

    frame = run_sweep(
        "baseline", grid_points({"landuse.financial_discount_rate": list(SWEEP_RATES)}), workers=1, progress=False
    )
    return json.loads(frame.sort_values("point_id").to_json(orient="records", double_precision=15))


PRODUCERS = {
    "solve_baseline.json": lambda: _cli_json("solve"),
    "solve_province_quotas.json": lambda: _cli_json("solve", "province_quotas"),
    "reproduce.json": lambda: _cli_json("reproduce"),
    SWEEP_FILE: _sweep_rows,
}


def assert_same(expected: Any, actual: Any, where: str = "$", added: frozenset[str] = frozenset()) -> None:
    """Same structure and keys; numbers equal to RELATIVE_TOLERANCE (ABSOLUTE_FLOOR near zero); all else equal.

    ``added``: keys an object may hold beyond the stored ones (never instead of them)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected) - added)
        assert not missing and not extra, f"{where}: keys differ: missing {missing}, unexpected {extra}"
        for key in expected:
            assert_same(expected[key], actual[key], f"{where}.{key}", added)
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: expected {len(expected)} items"
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_same(e, a, f"{where}[{i}]", added)
    elif isinstance(expected, (int, float)) and not isinstance(expected, bool):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{where}: {actual!r} is not a number"
        assert math.isclose(expected, actual, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_FLOOR), (
            f"{where}: {actual!r} differs from the stored {expected!r}"
        )
    else:
        assert expected == actual, f"{where}: {actual!r} differs from the stored {expected!r}"


@pytest.mark.parametrize("name", sorted(PRODUCERS))
def test_outputs_match_the_stored_behaviour(name):
    expected = json.loads((GOLDEN / name).read_text())
    actual = _strip(PRODUCERS[name]())
    if name == "reproduce.json":
        assert ADDED_REPRODUCE_FIGURES <= {row["figure"] for row in actual}  # there, not merely allowed
        actual = [row for row in actual if row["figure"] not in ADDED_REPRODUCE_FIGURES]
    if name in SOLVE_FILES:
        actual = _without_added_checks(actual)
        assert ADDED_SOLVE_KEYS <= set(actual)  # the added keys are there, not merely allowed
    added = ADDED_SWEEP_KEYS if name == SWEEP_FILE else ADDED_SOLVE_KEYS if name in SOLVE_FILES else frozenset()
    assert_same(expected, actual, added=added)
    if name == SWEEP_FILE:  # the added keys are there, not merely allowed
        assert all(ADDED_SWEEP_KEYS <= set(row) for row in actual)


@pytest.mark.unit
def test_the_comparison_can_fail():
    stored = {"area": 103.34922996205404, "rows": [{"figure": "x", "gap_pct": 0.0}]}
    assert_same(stored, {"area": 103.34922996205404 * (1 + 1e-10), "rows": [{"figure": "x", "gap_pct": 1e-12}]})
    for changed in (
        {"area": 103.34922996205404 * (1 + 1e-8), "rows": [{"figure": "x", "gap_pct": 0.0}]},
        {"area": 103.34922996205404, "rows": [{"figure": "y", "gap_pct": 0.0}]},
        {"area": 103.34922996205404, "rows": [{"figure": "x", "gap_pct": 0.0, "new": 1}]},
        {"area": 103.34922996205404, "rows": []},
    ):
        with pytest.raises(AssertionError):
            assert_same(stored, changed)
    added = frozenset({"new"})
    assert_same(stored, {"area": 103.34922996205404, "rows": [{"figure": "x", "gap_pct": 0.0, "new": 1}]}, added=added)
    for changed in (
        {"area": 103.34922996205404, "rows": [{"figure": "x", "new": 1}]},  # a stored key is still required
        {"area": 103.34922996205404, "rows": [{"figure": "x", "gap_pct": 0.0, "other": 1}]},  # only the listed keys
        {"area": 103.34922996205404, "rows": [{"figure": "x", "gap_pct": 1.0, "new": 1}]},  # stored values still equal
    ):
        with pytest.raises(AssertionError):
            assert_same(stored, changed, added=added)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_golden.py --write   (rewrites tests/golden/*.json from this checkout)")
    GOLDEN.mkdir(exist_ok=True)
    for name, produce in sorted(PRODUCERS.items()):
        (GOLDEN / name).write_text(json.dumps(_strip(produce()), indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN / name}")
