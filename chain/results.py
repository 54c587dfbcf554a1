"""What the land-use stage returns: a certified result of tidy tables, and the checks that certify it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import math
from typing import Any

import pandas as pd

import afforest
from afforest.data import LandUseParameters
from afforest.model.costates import PontryaginCertificate
from afforest.model.deferred import DeferrableField, Deferred
from afforest.model.formulations import ignored_by_representation
from afforest.model.merit_order import shares
from afforest.model.steady_state import SteadyStateRoot
from afforest.scenarios import Scenario
from afforest.solvers import SolveResult

__all__ = ["Check", "Deferred", "LandUseResult", "CLASSES_ONLY_INPUT_FILES", "ignored_switches", "path_summary"]


@dataclass(frozen=True)
class Check:
    """One certificate of a result: what was checked, whether it passed, the measured value and its limit."""

    name: str
    passed: bool
    value: float | None
    limit: float | None
    reason: str
    """A sentence an economist can act on (which input to change); for a passed check, what was confirmed."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON: a value that is not finite (a path that never comes to rest) becomes None."""
        out = asdict(self)
        for key in ("value", "limit"):
            if out[key] is not None and not math.isfinite(out[key]):
                out[key] = None
        return out


CLASSES_ONLY_INPUT_FILES: tuple[str, ...] = (
    "inputs.afforestable_area_file",
    "inputs.equivalent_factors_file",
    "inputs.standard_equivalent_file",
)
"""Scenario files that only the classes (their tables) read; Eq. 3 and the curves NLP read the study's fitted B'
and C' and A0. Which policy switches each representation honours, the registry says
(:func:`afforest.model.formulations.ignored_by_representation`)."""


def ignored_switches(scenario: Scenario) -> dict[str, list[str]]:
    """For each representation, the scenario switches that are set but that it does not honour."""
    by_registry = ignored_by_representation(scenario)
    files = [key for key in CLASSES_ONLY_INPUT_FILES if getattr(scenario.inputs, key.partition(".")[2]) is not None]
    classes_only = by_registry["curves"] + files
    # The classes' areas come from the afforestable-area table; A0 is read by Eq. 3 and the curves only.
    classes_ignore = by_registry["classes"]
    if scenario.landuse.initial_area_10k_ha is not None:
        classes_ignore = [*classes_ignore, "landuse.initial_area_10k_ha"]
    return {"analytic": classes_only, "curves": list(classes_only), "classes": classes_ignore}


@dataclass
class LandUseResult:
    """Analytic and numerical answers for one scenario, with the checks that certify them."""

    scenario: Scenario
    params: LandUseParameters
    roots: list[SteadyStateRoot]
    analytic_afforested_area_10k_ha: float
    """The long run of Eq. 3 (the root reached from A0), at the effective planting cost."""
    numeric_afforested_area_10k_ha: float
    """The CURVES dynamic program's area by the horizon (the name, kept for the JSON key, predates the classes
    program; :attr:`curves_afforested_area_10k_ha` says the same without ambiguity)."""
    classes_afforested_area_10k_ha: float
    """The classes dynamic program's area by the horizon."""
    curves_path: pd.DataFrame
    classes_path: pd.DataFrame
    allocation: pd.DataFrame = DeferrableField()  # type: ignore[assignment]
    """The analytic desirable area filled into the merit order (the study's allocation rule)."""
    classes_allocation: pd.DataFrame = DeferrableField()  # type: ignore[assignment]
    """Where the classes dynamic program plants by the end of the horizon."""
    classes_planting: pd.DataFrame = DeferrableField()  # type: ignore[assignment]
    """Cohorts of the classes dynamic program: area planted per class and period."""
    curves_solver: SolveResult
    classes_solver: SolveResult
    welfare_10e8_yuan: dict[str, float] = field(default_factory=dict)
    effective_planting_cost_yuan_per_ha: float | None = None
    """tau(0) net of the carbon value of a planted hectare: the cost Eq. 3 and both programs see."""
    checks: list[Check] = field(default_factory=list)
    """Certificates of the numbers (:func:`certify`); any failed one makes the result ``suspect``."""
    tail_held_from_yr: dict[str, float] = field(default_factory=dict)
    """Representation -> year from which its planting was held at zero (:func:`solve_models`); empty if none."""
    pontryagin: dict[str, PontryaginCertificate] = field(default_factory=dict)
    """Representation -> the Pontryagin certificate of its path (:mod:`afforest.model.costates`); missing for a
    program that ended without an optimum (no duals)."""
    shadow_prices: list[dict[str, Any]] = field(default_factory=list)
    """Every active policy constraint of both programs: ``{representation, constraint, index, value, unit}``."""
    classes_costates: pd.DataFrame | None = DeferrableField(None)  # type: ignore[assignment]
    """The classes program's costate per class and period (:func:`afforest.model.costates.unit_costates`); the
    region-level one is in ``classes_path``."""
    saddle_path: dict[str, Any] = field(default_factory=dict)
    """The analytic saddle path from A0 (:func:`afforest.model.saddle_path.saddle_path_summary`):
    ``saddle_eigenvalue_per_yr`` (mu of the linearised canonical system at the root reached, 1/yr) and the largest
    gaps of the curves program's path to it, ``saddle_path_max_gap_10k_ha`` (in A) and
    ``saddle_path_max_rate_gap_10k_ha_per_yr`` (in R)."""
    landuse_path: str = "pyomo"
    """Which engine solved the two programs: ``pyomo`` (Ipopt and HiGHS through the Pyomo models) or ``fast`` (the
    numpy path of :mod:`afforest.chain.fast_path`, same programs, same checks)."""
    landuse_path_note: str = ""
    """Why the fast path did not run when it was asked for (``auto`` or ``fast``), else empty."""

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (a worker's result, a copy) with its deferred tables computed: a :class:`Deferred` holds a
        closure."""
        return {k: getattr(self, k) if isinstance(v, Deferred) else v for k, v in self.__dict__.items()}

    @property
    def pontryagin_max_residual(self) -> float | None:
        """The largest relative residual of both programs' certificates (None if neither has one)."""
        values = [c.max_residual for c in self.pontryagin.values()]
        return max(values) if values else None

    @property
    def curves_afforested_area_10k_ha(self) -> float:
        """The curves dynamic program's area by the horizon (= ``numeric_afforested_area_10k_ha``)."""
        return self.numeric_afforested_area_10k_ha

    def __repr__(self) -> str:
        """One screen, not a dump of every table: scenario, status, the three areas and the checks."""
        failed = [c.name for c in self.checks if not c.passed]
        return (
            f"LandUseResult(scenario={self.scenario.name!r}, status={self.status!r}, "
            f"analytic={self.analytic_afforested_area_10k_ha:.3f}, curves={self.numeric_afforested_area_10k_ha:.3f}, "
            f"classes={self.classes_afforested_area_10k_ha:.3f} x 10^4 ha, headline={self.headline_representation}, "
            f"checks passed {len(self.checks) - len(failed)}/{len(self.checks)}"
            + (f", failed {failed}" if failed else "")
            + ")"
        )

    @property
    def status(self) -> str:
        """``ok`` when every check passed, else ``suspect`` (see :attr:`suspect_reasons`)."""
        return "ok" if all(c.passed for c in self.checks) else "suspect"

    @property
    def suspect_reasons(self) -> list[str]:
        """Reasons of the failed checks, each said once (a reason repeated inside another is dropped)."""
        failed = [c.reason for c in self.checks if not c.passed]
        return [x for i, x in enumerate(failed) if not any(x in y for j, y in enumerate(failed) if j != i and (x != y or j < i))]

    @property
    def ignored_switches(self) -> dict[str, list[str]]:
        """Scenario switches each representation does not honour (``analytic`` is Eq. 3)."""
        return ignored_switches(self.scenario)

    @property
    def headline_representation(self) -> str:
        """``classes`` when the scenario sets a switch that only the classes model honours, else ``analytic``."""
        return "classes" if self.ignored_switches["analytic"] else "analytic"

    @property
    def headline_afforested_area_10k_ha(self) -> float:
        if self.headline_representation == "classes":
            return self.classes_afforested_area_10k_ha
        return self.analytic_afforested_area_10k_ha

    @property
    def headline_allocation(self) -> pd.DataFrame:
        return self.classes_allocation if self.headline_representation == "classes" else self.allocation

    @property
    def afforested_share_of_initial_area(self) -> float:
        """The headline area over A0."""
        return self.headline_afforested_area_10k_ha / self.params.initial_area_10k_ha

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary; keys are stable and carry their units."""
        allocation = self.headline_allocation
        province_share = shares(allocation, "province") if not allocation.empty else pd.Series(dtype=float)
        step = self.scenario.numerics.step_yr
        return {
            "afforest_version": afforest.__version__,
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario.digest(),
            "status": self.status,
            "suspect_reasons": self.suspect_reasons,
            "checks": [c.as_dict() for c in self.checks],
            "financial_discount_rate": self.params.financial_discount_rate,
            "esv_source": self.scenario.landuse.esv_source,
            "initial_area_10k_ha": self.params.initial_area_10k_ha,
            "effective_planting_cost_yuan_per_ha": self.effective_planting_cost_yuan_per_ha,
            "analytic_roots": [
                {
                    "afforested_area_10k_ha": r.afforested_area_10k_ha,
                    "unconverted_area_10k_ha": r.unconverted_area_10k_ha,
                    "stability": r.stability.value,
                    "reached": r.reached,
                }
                for r in self.roots
            ],
            "analytic_afforested_area_10k_ha": self.analytic_afforested_area_10k_ha,
            "numeric_afforested_area_10k_ha": self.numeric_afforested_area_10k_ha,
            "classes_afforested_area_10k_ha": self.classes_afforested_area_10k_ha,
            "headline": {
                "representation": self.headline_representation,
                "afforested_area_10k_ha": self.headline_afforested_area_10k_ha,
            },
            "ignored_switches": self.ignored_switches,
            "afforested_share_of_A0": self.afforested_share_of_initial_area,
            "numeric_gap_to_analytic_pct": 100
            * (self.numeric_afforested_area_10k_ha / self.analytic_afforested_area_10k_ha - 1)
            if self.analytic_afforested_area_10k_ha > 0
            else None,
            "solver": {"curves": self.curves_solver.as_dict(), "classes": self.classes_solver.as_dict()},
            "welfare_10e8_yuan": self.welfare_10e8_yuan,
            "planting_path": path_summary(self.curves_path, step),
            "classes_planting_path": path_summary(self.classes_path, step),
            "allocation_source": "classes" if self.headline_representation == "classes" else "analytic_merit_order",
            "allocation": allocation.to_dict(orient="records"),
            "province_shares": {str(k): float(v) for k, v in province_share.items()},
            "analytic_allocation": self.allocation.to_dict(orient="records"),
            "classes_allocation": self.classes_allocation.to_dict(orient="records"),
            "pontryagin_max_residual": _finite_or_none(self.pontryagin_max_residual),
            "pontryagin": {rep: {k: _finite_or_none(v) for k, v in c.as_dict().items()} for rep, c in self.pontryagin.items()},
            "shadow_prices": [{**p, "value": _finite_or_none(p["value"])} for p in self.shadow_prices],
            "saddle_eigenvalue_per_yr": _finite_or_none(self.saddle_path.get("saddle_eigenvalue_per_yr")),
            "saddle_path_max_gap_10k_ha": _finite_or_none(self.saddle_path.get("saddle_path_max_gap_10k_ha")),
            "saddle_path": {k: (_finite_or_none(v) if isinstance(v, float) else v) for k, v in self.saddle_path.items()},
            "landuse_path": self.landuse_path,
            "landuse_path_note": self.landuse_path_note,
        }


def _finite_or_none(value: float | None) -> float | None:
    """Plain JSON: a value that is not finite becomes None."""
    return None if value is None or not math.isfinite(value) else float(value)


def path_summary(path: pd.DataFrame, step_yr: float | None = None) -> dict[str, Any]:
    """Planting-path milestones: first-period rate and the years to reach 50 / 90 / 99 % of the final area.

    Row k of ``path`` holds the area afforested by the *end* of period k, i.e. at ``period_start_yr + step``.
    """
    final = float(path["afforested_area_10k_ha"].iloc[-1])
    if step_yr is None:
        step_yr = float(path["period_start_yr"].diff().iloc[-1]) if len(path) > 1 else float("nan")
    summary: dict[str, Any] = {
        "first_period_rate_10k_ha_per_yr": float(path["planting_rate_10k_ha_per_yr"].iloc[0]),
        "final_afforested_area_10k_ha": final,
    }
    for pct in (50, 90, 99):
        reached = path[path["afforested_area_10k_ha"] >= pct / 100 * final]
        end = reached["period_start_yr"].iloc[0] + step_yr if not reached.empty else None
        # below 1e-6 x 10^4 ha (0.01 ha; class_allocation's threshold) nothing is planted: no milestone of noise
        summary[f"years_to_{pct}pct"] = float(end) if final > 1e-6 and end is not None else None
    return summary


