"""Certificates and plans of cell-level problems: the weak-duality check of any plan and :class:`CellPlan`.

Both work for any :class:`~afforest.model.problem.LandUseProblem` (a classes problem too: its units are classes).

Every solution is checked by weak duality: with prices p_j = 2 k_j Y_j on the aggregate rates, the dual
function g(p) = W0 + sum_c a_c max(0, max_j (V_cj - p_j)) + sum_j p_j^2 / (4 k_j) bounds W from above,
and g(p) - W(y) = sum_c [a_c max(0, max_j(V_cj - p_j)) - sum_j (V_cj - p_j) y_cj] is each cell's regret.
A zero gap proves the plan optimal whatever solver produced it (:func:`certify`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from afforest.model.problem import LandUseProblem

__all__ = ["VERIFIED_RELATIVE_GAP", "OptimalityCertificate", "certify", "CellPlan"]

VERIFIED_RELATIVE_GAP = 1e-6
"""A plan counts as a verified optimum when its duality gap is below this share of its welfare gain
W - W0 (and it is feasible to the same relative tolerance): interior-point solvers stop near 1e-8 in
their own scaling; the decomposition reaches rounding error."""



@dataclass(frozen=True)
class OptimalityCertificate:
    """Weak-duality check of a plan: welfare, the dual bound at the plan's own prices and the gap."""

    welfare_10e8_yuan: float
    welfare_gain_10e8_yuan: float
    """W - W0: what planting adds to leaving every cell as it is."""
    dual_bound_10e8_yuan: float
    gap_10e8_yuan: float
    relative_gap: float
    """gap / |W - W0| (gap itself when nothing is gained)."""
    max_infeasibility: float
    """Largest negative planting or over-planting of a cell, as a share of the cell's area."""
    verified: bool

    def as_dict(self) -> dict[str, float | bool]:
        return dict(self.__dict__)


def certify(
    problem: LandUseProblem, planted_area_10k_ha: np.ndarray, tolerance: float = VERIFIED_RELATIVE_GAP
) -> OptimalityCertificate:
    """Bound the welfare of any plan from above by the dual function at prices p_j = 2 k_j Y_j.

    The bound holds for every feasible plan (weak duality), so a gap below ``tolerance`` x (W - W0)
    proves the plan optimal to that tolerance, independently of the solver that produced it.
    """
    y = problem.check_plan(planted_area_10k_ha)
    area = problem.area_10k_ha
    infeasibility = max(
        float(np.max(-y / area[:, None], initial=0.0)), float(np.max(y.sum(axis=1) / area - 1.0, initial=0.0))
    )
    total = y.sum(axis=0)
    k = problem.rate_cost_10e8_yuan_per_10k_ha2
    price = 2.0 * k * total
    margin = problem.planting_value() - price
    best = np.maximum(margin.max(axis=1), 0.0)
    regret = area * best - np.einsum("cj,cj->c", margin, y)
    gap = float(regret.sum())
    w0 = problem.baseline_welfare_10e8_yuan
    gain = float(np.einsum("cj,cj->", margin + price, y)) - float(k @ total**2)
    relative = gap / abs(gain) if gain != 0 else gap
    return OptimalityCertificate(
        welfare_10e8_yuan=w0 + gain,
        welfare_gain_10e8_yuan=gain,
        dual_bound_10e8_yuan=w0 + gain + gap,
        gap_10e8_yuan=gap,
        relative_gap=relative,
        max_infeasibility=infeasibility,
        verified=bool(relative <= tolerance and infeasibility <= tolerance),
    )


# ------------------------------------------------------------------------------------------- plans
@dataclass(frozen=True, eq=False)
class CellPlan:
    """A solved cell-level plan: area planted per cell and period, how it was found, and how fast."""

    problem: LandUseProblem
    planted_area_10k_ha: np.ndarray
    method: str
    """``pyomo``, ``highs`` or ``decomposition``."""
    solver: str
    """What ran, e.g. ``highs 1.15.1 (highspy, hipo)``."""
    status: str = "optimal"
    timings_s: Mapping[str, float] = field(default_factory=dict)
    """Wall times of the steps, e.g. ``build``, ``load``, ``solve``, ``extract``."""

    @cached_property
    def certificate(self) -> OptimalityCertificate:
        return certify(self.problem, self.planted_area_10k_ha)

    @property
    def welfare_10e8_yuan(self) -> float:
        return self.certificate.welfare_10e8_yuan

    @property
    def planting_rate_10k_ha_per_yr(self) -> np.ndarray:
        return self.planted_area_10k_ha.sum(axis=0) / self.problem.grid.step_yr

    def planting_path(self) -> pd.DataFrame:
        """One row per period, the columns of ``afforest.model.landuse.planting_path``."""
        p = self.problem
        planted = self.planted_area_10k_ha.sum(axis=0)
        afforested = np.cumsum(planted)
        return pd.DataFrame(
            {
                "period_start_yr": p.weights.period_start_yr,
                "planting_rate_10k_ha_per_yr": planted / p.grid.step_yr,
                "unconverted_area_10k_ha": p.area_10k_ha.sum() - afforested,
                "afforested_area_10k_ha": afforested,
            }
        )

    def cell_planting(self, threshold_10k_ha: float = 1e-9) -> pd.DataFrame:
        """Tidy cohorts: ``cell_id`` (``slice`` for a classes problem), ``land_type``, ``province``,
        ``period_start_yr``, ``planted_area_10k_ha``."""
        cell, period = np.nonzero(self.planted_area_10k_ha > threshold_10k_ha)
        cells, unit_id = self.problem.units, self.problem.unit_id_column
        return pd.DataFrame(
            {
                unit_id: cells[unit_id].to_numpy()[cell],
                "land_type": cells["land_type"].to_numpy()[cell],
                "province": cells["province"].to_numpy()[cell],
                "period_start_yr": self.problem.weights.period_start_yr[period],
                "planted_area_10k_ha": self.planted_area_10k_ha[cell, period],
            }
        )

    def cell_summary(self) -> pd.DataFrame:
        """Per cell: area planted by the horizon, share of the cell, first planting year and carbon stored."""
        y = self.planted_area_10k_ha
        planted = y.sum(axis=1)
        any_planted = (y > 0).any(axis=1)
        first = np.where(any_planted, self.problem.weights.period_start_yr[np.argmax(y > 0, axis=1)], np.nan)
        cells, unit_id = self.problem.units, self.problem.unit_id_column
        return pd.DataFrame(
            {
                unit_id: cells[unit_id].to_numpy(),
                "land_type": cells["land_type"].to_numpy(),
                "province": cells["province"].to_numpy(),
                "planted_area_10k_ha": planted,
                "planted_share": planted / self.problem.area_10k_ha,
                "first_planting_yr": first,
                "carbon_mt_co2": planted * cells["carbon_t_co2_per_ha"].to_numpy(float) * 1e4 / 1e6,
            }
        )

    def allocation(self, threshold_10k_ha: float = 1e-6) -> pd.DataFrame:
        """Area planted by the horizon by land type and province (the columns of ``class_allocation``)."""
        summary = self.cell_summary().rename(columns={"planted_area_10k_ha": "area_10k_ha"})
        frame = summary.groupby(["land_type", "province"], as_index=False, sort=False)["area_10k_ha"].sum()
        return frame[frame["area_10k_ha"] > threshold_10k_ha].reset_index(drop=True)

    def summary(self) -> dict[str, object]:
        cert = self.certificate
        return {
            "method": self.method,
            "solver": self.solver,
            "status": self.status,
            "n_cells": self.problem.n_cells,
            "n_periods": self.problem.n_periods,
            "afforested_area_10k_ha": float(self.planted_area_10k_ha.sum()),
            **cert.as_dict(),
            **{f"{k}_s": v for k, v in self.timings_s.items()},
        }

