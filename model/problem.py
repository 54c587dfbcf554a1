"""One array description of the land-use LP/QP family: land units, economics, time grid and discount weights.

The planner's problem with linear ESV (the classes and the cells representations) is the same program whatever
a land unit is: a merit-order class of Table 2 (:meth:`LandUseProblem.from_classes`) or a cell of land
(:meth:`LandUseProblem.from_cells`). A unit u has an area a_u (10^4 ha), a current ESV b_u and an ESV once
planted f_u (yuan/(ha yr)), a first-year direct cost tau0_u (yuan/ha; the region's tau(0) for classes) and
optionally a carbon yield q_u (t CO2/ha). Every path is generated from this one description:

* the Pyomo model (:func:`afforest.model.landuse.build_landuse_model`, for classes and cells alike),
* the HiGHS arrays (:func:`afforest.solvers.highs_direct.build_cell_qp`),
* the price decomposition (:func:`afforest.solvers.decomposition.solve_cells_decomposition`).

The discount weights of a grid are computed by :func:`discount_weights` only (the Pyomo models, the curves NLP
included, refresh their mutable weights from it) and the value of planting by :meth:`LandUseProblem.planting_value`
only. The benchmark's floor (``afforest.chain.benchmark``) stays independent on purpose: it is the yardstick.

Discounting (``TimeGrid.discounting``):

* ``integrated`` (default): land planted in period k is planted at its start t_k and pays its cost with factor
  e^{-r t_k}; the flows of period k, at the post-planting state, carry the exact integral of the discount factor
  over the period, e^{-r t_k} (1 - e^{-r dt}) / r, so the discrete steady state satisfies Eq. 3 for every dt.
* ``sampled``: the textbook Euler rule, flows at the pre-planting state weighted by dt e^{-r t_k}: an O(r dt) bias.

After the horizon T the final state's flows are held forever: weight e^{-r T} / r (integrated) or
dt e^{-r T} / (1 - e^{-r dt}) (sampled). The curves model can add the value of continuing along the saddle path
after T (``TimeGrid.terminal_value``, :class:`TerminalValue`); the units' programs reach their steady state in
finite time, so holding their final state is their exact continuation once T lies past it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from afforest.data import LandUseParameters
from afforest.errors import InputError
from afforest.model.deferred import DeferrableField, Deferred

__all__ = [
    "OBJECTIVE_UNIT_YUAN",
    "YUAN_10K_IN_OBJECTIVE_UNIT",
    "Discounting",
    "TerminalValue",
    "TimeGrid",
    "DiscountWeights",
    "discount_weights",
    "UnitKind",
    "CLASS_COLUMNS",
    "UNIT_ARRAY_PROPERTIES",
    "LandUseProblem",
]

OBJECTIVE_UNIT_YUAN = 1e8
"""Welfare is reported in 10^8 yuan: yuan/ha x 10^4 ha = 10^4 yuan, so terms are scaled by 10^-4."""
YUAN_10K_IN_OBJECTIVE_UNIT = 1e4 / OBJECTIVE_UNIT_YUAN
"""s: 10^4 yuan (yuan/ha x 10^4 ha) in the objective unit of 10^8 yuan."""

UnitKind = Literal["classes", "cells"]

CLASS_COLUMNS: tuple[str, ...] = (
    "land_type",
    "province",
    "slice",
    "rank",
    "area_10k_ha",
    "esv_yuan_per_ha_yr",
    "afforested_esv_yuan_per_ha_yr",
)
"""Columns a classes table (``afforest.model.merit_order.landuse_classes``) must have."""


class Discounting(StrEnum):
    """How the continuous discount factor e^{-rt} is carried onto the planting periods."""

    INTEGRATED = "integrated"
    SAMPLED = "sampled"


class TerminalValue(StrEnum):
    """What the curves model assumes after the horizon T (the units' models always hold their final state).

    ``rest`` (default): nothing is planted after T; the final state's flows are held forever. A path still converging at T
    then plants before T what the infinite-horizon path would plant after it (the truncation error decays like
    e^{mu T}: 1.1 x 10^4 ha at T = 100 yr on a saddle path with mu = -0.02/yr).
    ``saddle_path``: planting continues after T along the saddle path of the steady state the path heads
    for; the value at T is V(A_T) = (B + C)(A_T) / r + p (A_T - A*)^2 (V = H / r along an extremal, Michel 1982;
    continuous time p = tau1 mu^2 / r), with p from the discrete program's own Bellman equation
    (:func:`afforest.model.saddle_path.continuation_premium`). Exact for linear B' and C', second order in A_T - A*
    otherwise. Where Eq. 3 has several roots, or no saddle path leads from A0 (resting or a corner is optimal), it
    is ``rest`` (:func:`afforest.model.saddle_path.continuation_target` says why). It knows the problem only through
    the model's parameters and the switches' shift of tau(0), so a model carrying a constraint or welfare term it
    cannot see is refused (:meth:`afforest.model.landuse.LandUseModel.refresh_continuation`), and the final state
    is kept on the target's planting side, A_T >= A*, wherever the continuation value is not concave on [0, A0]
    (:func:`afforest.model.saddle_path.continuation_is_concave`; the optimal path from A0 never crosses A*; without
    the bound, on the study's quartic curves with tau1 = 1000, the convex premium drew the program to plant 499.6
    of 500 x 10^4 ha). Not the default because of these limits.
    """

    REST = "rest"
    SADDLE_PATH = "saddle_path"


@dataclass(frozen=True)
class TimeGrid:
    """Planting periods: horizon T and step dt in years, the discounting rule and the curves' terminal value."""

    horizon_yr: float = 100.0
    step_yr: float = 1.0
    discounting: Discounting = Discounting.INTEGRATED
    terminal_value: TerminalValue = TerminalValue.REST

    def __post_init__(self) -> None:
        if not self.step_yr > 0:
            raise InputError("must be > 0", field="step_yr", value=self.step_yr)
        if not self.horizon_yr >= self.step_yr:
            raise InputError("must be >= step_yr", field="horizon_yr", value=self.horizon_yr)
        periods = self.horizon_yr / self.step_yr
        if abs(periods - round(periods)) > 1e-9 * periods:
            raise InputError("must be a whole number of steps", field="horizon_yr", value=self.horizon_yr)
        object.__setattr__(self, "discounting", Discounting(self.discounting))
        try:
            object.__setattr__(self, "terminal_value", TerminalValue(self.terminal_value))
        except ValueError:
            raise InputError(f"must be one of {[v.value for v in TerminalValue]}", field="terminal_value",
                             value=self.terminal_value) from None

    @property
    def periods(self) -> int:
        """Number of planting periods N."""
        return int(round(self.horizon_yr / self.step_yr))


@dataclass(frozen=True)
class DiscountWeights:
    """The time weights of the land-use DP on a grid, as arrays.

    ``flow_yr[k]`` weighs the ESV flows of period k, ``terminal_yr`` the perpetuity of the final state,
    ``cost[k]`` = e^{-r t_k} the planting cost of period k, and ``gain_yr[j]`` the sum of the weights of
    every flow that land planted in period j changes (later periods and the terminal value), in yr.
    """

    period_start_yr: np.ndarray
    flow_yr: np.ndarray
    terminal_yr: float
    cost: np.ndarray
    gain_yr: np.ndarray


def discount_weights(rate: float, grid: TimeGrid) -> DiscountWeights:
    """The discount weights of ``grid`` at rate r (1/yr): the one place they are computed (module docstring).

    integrated: e^{-r t_k} (1 - e^{-r dt}) / r per period and e^{-r T} / r after T;
    sampled: dt e^{-r t_k} and dt e^{-r T} / (1 - e^{-r dt}).
    """
    if not rate > 0:
        raise InputError("must be > 0", field="discount_rate", value=rate)
    n, dt, horizon = grid.periods, grid.step_yr, grid.horizon_yr
    start = np.arange(n, dtype=float) * float(dt)
    cost = np.exp(-rate * start)
    if grid.discounting is Discounting.INTEGRATED:
        flow = cost * (-np.expm1(-rate * dt)) / rate
        terminal = math.exp(-rate * horizon) / rate
        first_flow_seen = 0  # flows of period k use the state after planting: planting in j changes k >= j
    else:
        flow = dt * cost
        terminal = dt * math.exp(-rate * horizon) / (-math.expm1(-rate * dt))
        first_flow_seen = 1  # flows of period k use the state before planting: planting in j changes k > j
    tail = np.concatenate([np.cumsum(flow[::-1])[::-1], [0.0]])
    gain = tail[first_flow_seen : first_flow_seen + n] + terminal
    return DiscountWeights(start, flow, terminal, cost, gain)


@dataclass(frozen=True, eq=False)
class LandUseProblem:
    """One planning problem over land units (merit-order classes or cells) as arrays, units in model order.

    ``units`` has the columns ``land_type``, ``province``, the unit's id column (``slice`` for classes,
    ``cell_id`` for cells), ``area_10k_ha``, ``esv_yuan_per_ha_yr``, ``afforested_esv_yuan_per_ha_yr``,
    ``planting_cost_yuan_per_ha`` (tau0 per unit) and ``carbon_t_co2_per_ha`` (NaN: unknown). A unit's key is
    (land_type, province, id). With y_uj the area planted in unit u in period j, welfare (10^8 yuan) is

        W(y) = W0 + sum_{u,j} V_uj y_uj - sum_j k_j Y_j^2,     Y_j = sum_u y_uj,
        V_uj = s [ (f_u - b_u) G_j - (tau0_u - P q_u) d_j ],   k_j = s d_j tau1 / dt,

    s = 10^-4, d_j = e^{-r t_j}, G_j the weights of every flow that planting in j changes, P the carbon price
    of the array paths (``carbon_price_yuan_per_t_co2``; the Pyomo models price carbon through the switch
    ``carbon_price`` of :mod:`afforest.model.formulations`).
    """

    units: pd.DataFrame = DeferrableField()  # type: ignore[assignment]
    """Given as a table, or by :meth:`from_classes` as a :class:`~afforest.model.deferred.Deferred` built when first
    read (the fast path reads only the unit arrays and :attr:`key_columns`)."""
    unit_kind: UnitKind
    params: LandUseParameters
    grid: TimeGrid
    carbon_price_yuan_per_t_co2: float
    weights: DiscountWeights

    objective_scale: ClassVar[float] = YUAN_10K_IN_OBJECTIVE_UNIT
    """s: yuan/ha x 10^4 ha in the objective unit (10^8 yuan)."""

    # ----------------------------------------------------------------------------------- constructors
    @classmethod
    def from_classes(
        cls, classes: pd.DataFrame, params: LandUseParameters, grid: TimeGrid, *, carbon_price_yuan_per_t_co2: float = 0.0
    ) -> LandUseProblem:
        """Units from a classes table (``landuse_classes`` output), in merit order (rank, then slice).

        Every class pays the region's tau(0); its carbon yield is unknown (NaN).
        """
        missing = [c for c in CLASS_COLUMNS if c not in classes.columns]
        if missing:
            raise InputError(f"classes table lacks columns {missing}", field="classes")
        tau0 = float(params.planting_cost_intercept_yuan_per_ha)
        built = _class_units(classes, tau0)
        if built is None:
            units: pd.DataFrame | Deferred = _class_units_by_pandas(classes, tau0)
        else:
            columns = built[0]
            units = Deferred(lambda: pd.DataFrame(columns))
        problem = cls(units, "classes", params, grid, float(carbon_price_yuan_per_t_co2),  # type: ignore[arg-type]
                      discount_weights(params.financial_discount_rate, grid))
        if built is not None:  # the unit arrays in hand: each cached property's value, without reading units again
            for name, values in built[1].items():
                frozen = values.copy()
                frozen.flags.writeable = False  # as the frame's own to_numpy views are
                problem.__dict__[name] = frozen
            problem.__dict__["key_columns"] = {name: columns[name] for name in ("land_type", "province", "slice")}
        return problem

    @classmethod
    def from_cells(
        cls, cells: pd.DataFrame, params: LandUseParameters, grid: TimeGrid, *, carbon_price_yuan_per_t_co2: float = 0.0
    ) -> LandUseProblem:
        """Units from a validated cells table (``afforest.model.cells.validate_cells``), in table order."""
        return cls(cells, "cells", params, grid, float(carbon_price_yuan_per_t_co2),
                   discount_weights(params.financial_discount_rate, grid))

    # ----------------------------------------------------------------------------------------- shape
    @property
    def unit_id_column(self) -> str:
        """``slice`` (classes) or ``cell_id`` (cells): the third part of a unit's key."""
        return "slice" if self.unit_kind == "classes" else "cell_id"

    @property
    def cells(self) -> pd.DataFrame:
        """The units table (named for the cells representation, where a unit is a cell)."""
        return self.units

    @cached_property
    def keys(self) -> list[tuple[str, str, int]]:
        """(land_type, province, id) of every unit, in model order."""
        return list(zip(self.units["land_type"].tolist(), self.units["province"].tolist(),
                        self.units[self.unit_id_column].tolist()))

    @cached_property
    def key_columns(self) -> dict[str, np.ndarray]:
        """``land_type``, ``province`` and the id column of the units as arrays (``units[c].to_numpy()``; from the
        arrays :meth:`from_classes` built the table from, without the table)."""
        return {c: self.units[c].to_numpy() for c in ("land_type", "province", self.unit_id_column)}

    def __getstate__(self) -> dict[str, object]:
        """Pickled with its units table built (a :class:`~afforest.model.deferred.Deferred` holds a closure)."""
        self.units  # noqa: B018 (builds and keeps it)
        return dict(self.__dict__)

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_cells(self) -> int:
        """Number of units (named for the cells representation)."""
        return len(self.units)

    @property
    def n_periods(self) -> int:
        return self.grid.periods

    @property
    def has_unit_costs(self) -> bool:
        """Whether units carry their own tau0 (cells) rather than the region's tau(0) (classes)."""
        return self.unit_kind == "cells"

    # ----------------------------------------------------------------------------------- unit arrays
    @cached_property
    def area_10k_ha(self) -> np.ndarray:
        return self.units["area_10k_ha"].to_numpy(float)

    @cached_property
    def current_esv_yuan_per_ha_yr(self) -> np.ndarray:
        return self.units["esv_yuan_per_ha_yr"].to_numpy(float)

    @cached_property
    def afforested_esv_yuan_per_ha_yr(self) -> np.ndarray:
        return self.units["afforested_esv_yuan_per_ha_yr"].to_numpy(float)

    @cached_property
    def planting_cost_yuan_per_ha(self) -> np.ndarray:
        """tau0 of each unit, yuan/ha."""
        return self.units["planting_cost_yuan_per_ha"].to_numpy(float)

    @cached_property
    def carbon_t_co2_per_ha(self) -> np.ndarray:
        """CO2 stored per planted hectare of each unit (NaN: unknown), t CO2/ha."""
        return self.units["carbon_t_co2_per_ha"].to_numpy(float)

    @cached_property
    def esv_gain_yuan_per_ha_yr(self) -> np.ndarray:
        """f_u - b_u: the yearly ESV a hectare gains once planted."""
        return self.afforested_esv_yuan_per_ha_yr - self.current_esv_yuan_per_ha_yr

    @cached_property
    def net_cost_yuan_per_ha(self) -> np.ndarray:
        """tau0_u - P q_u: first-year cost net of the carbon payment (a NaN yield counts as 0 at P = 0)."""
        if self.carbon_price_yuan_per_t_co2 == 0:
            return self.planting_cost_yuan_per_ha
        return self.planting_cost_yuan_per_ha - self.carbon_price_yuan_per_t_co2 * self.carbon_t_co2_per_ha

    # ---------------------------------------------------------------------------------- the economics
    @property
    def baseline_welfare_10e8_yuan(self) -> float:
        """W0: PV of every unit's current ESV, forever (nothing planted), 10^8 yuan."""
        total_weight = float(self.weights.flow_yr.sum() + self.weights.terminal_yr)
        return self.objective_scale * total_weight * float(self.current_esv_yuan_per_ha_yr @ self.area_10k_ha)

    @property
    def rate_cost_10e8_yuan_per_10k_ha2(self) -> np.ndarray:
        """k_j: planting Y_j (10^4 ha) in period j costs k_j Y_j^2 on top of the linear cost, 10^8 yuan."""
        return (
            self.objective_scale
            * self.weights.cost
            * self.params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
            / self.grid.step_yr
        )

    def planting_value(self, out: np.ndarray | None = None) -> np.ndarray:
        """V (n_units x n_periods): welfare gained per 10^4 ha planted in unit u, period j, before the rising
        cost, 10^8 yuan per 10^4 ha: the one place it is computed (``out``: write into this array)."""
        w = self.weights
        value = np.multiply.outer(self.esv_gain_yuan_per_ha_yr, self.objective_scale * w.gain_yr, out=out)
        value -= np.multiply.outer(self.net_cost_yuan_per_ha, self.objective_scale * w.cost)
        return value

    def product_form(self) -> tuple[np.ndarray, np.ndarray]:
        """(e, u) with V_uj = e_j u_u: e_j = s d_j (10^8 yuan per 10^4 ha per yuan/ha), u_u in yuan/ha.

        u_u = (f_u - b_u) G_j / d_j - tau0_u + P q_u, the PV at planting of a hectare's net gain. Raises
        ``InputError`` if G_j / d_j varies with j (it does not for the grids of ``TimeGrid``).
        """
        w = self.weights
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = w.gain_yr / w.cost
        if not np.all(np.isfinite(ratio)) or not np.allclose(ratio, ratio[0], rtol=1e-10, atol=0.0):
            raise InputError("the value of planting is not separable into a cell and a time factor", field="grid")
        return self.objective_scale * w.cost, self.esv_gain_yuan_per_ha_yr * float(ratio[0]) - self.net_cost_yuan_per_ha

    def welfare_10e8_yuan(self, planted_area_10k_ha: np.ndarray) -> float:
        """W(y) for a plan y (n_units x n_periods of areas planted, 10^4 ha)."""
        y = self.check_plan(planted_area_10k_ha)
        total = y.sum(axis=0)
        gain = float(np.einsum("cj,cj->", self.planting_value(), y)) - float(
            self.rate_cost_10e8_yuan_per_10k_ha2 @ total**2
        )
        return self.baseline_welfare_10e8_yuan + gain

    def check_plan(self, planted_area_10k_ha: np.ndarray) -> np.ndarray:
        """The plan as a float array of shape (n_units, n_periods), else :class:`InputError`."""
        y = np.asarray(planted_area_10k_ha, dtype=float)
        if y.shape != (self.n_units, self.n_periods):
            raise InputError(
                f"plan must have shape (n_cells, n_periods) = {(self.n_units, self.n_periods)}",
                field="planted_area_10k_ha",
                value=y.shape,
            )
        return y


# ------------------------------------------------------------------------------ units of a classes table
_CLASS_NUMBER_COLUMNS = CLASS_COLUMNS[4:]
"""The columns of a classes table that must be positive (the area) or known (all three)."""


UNIT_ARRAY_PROPERTIES: dict[str, str] = {
    "area_10k_ha": "area_10k_ha",
    "current_esv_yuan_per_ha_yr": "esv_yuan_per_ha_yr",
    "afforested_esv_yuan_per_ha_yr": "afforested_esv_yuan_per_ha_yr",
    "planting_cost_yuan_per_ha": "planting_cost_yuan_per_ha",
    "carbon_t_co2_per_ha": "carbon_t_co2_per_ha",
}
"""The cached unit arrays of :class:`LandUseProblem` and the units' column each reads (``to_numpy(float)``)."""


def _class_units(classes: pd.DataFrame, planting_cost_yuan_per_ha: float
                 ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """:meth:`LandUseProblem.from_classes`'s units table on the arrays (a sweep builds one per point): the columns
    of the same table as :func:`_class_units_by_pandas`, for the classes tables ``landuse_classes`` makes (int64 rank and
    slice, float64 numbers), with the float64 arrays of :data:`UNIT_ARRAY_PROPERTIES` by property; None for any
    other dtypes, which that function handles."""
    if not classes.columns.is_unique:
        return None
    values = {name: classes[name].to_numpy() for name in CLASS_COLUMNS}
    if values["rank"].dtype != np.int64 or values["slice"].dtype != np.int64 or any(
        values[name].dtype != np.float64 for name in _CLASS_NUMBER_COLUMNS
    ):
        return None
    if (values["area_10k_ha"] <= 0).any() or any(np.isnan(values[name]).any() for name in _CLASS_NUMBER_COLUMNS):
        raise InputError("classes need positive areas and finite ESVs", field="classes")
    order = np.lexsort((values["slice"], values["rank"]))  # stable, like sort_values(["rank", "slice"])
    n = len(order)
    columns = {
        "land_type": values["land_type"][order],
        "province": values["province"][order],
        "slice": values["slice"][order],
        "area_10k_ha": values["area_10k_ha"][order],
        "esv_yuan_per_ha_yr": values["esv_yuan_per_ha_yr"][order],
        "afforested_esv_yuan_per_ha_yr": values["afforested_esv_yuan_per_ha_yr"][order],
        "planting_cost_yuan_per_ha": np.full(n, planting_cost_yuan_per_ha),
        "carbon_t_co2_per_ha": np.full(n, np.nan),
    }
    return columns, {name: columns[column] for name, column in UNIT_ARRAY_PROPERTIES.items()}


def _class_units_by_pandas(classes: pd.DataFrame, planting_cost_yuan_per_ha: float) -> pd.DataFrame:
    """:meth:`LandUseProblem.from_classes`'s units table for a classes table of any dtypes."""
    if (classes["area_10k_ha"] <= 0).any() or classes[list(_CLASS_NUMBER_COLUMNS)].isna().any().any():
        raise InputError("classes need positive areas and finite ESVs", field="classes")
    ordered = classes.sort_values(["rank", "slice"])
    return pd.DataFrame(
        {
            "land_type": ordered["land_type"].to_numpy(),
            "province": ordered["province"].to_numpy(),
            "slice": ordered["slice"].astype(int).to_numpy(),
            "area_10k_ha": ordered["area_10k_ha"].astype(float).to_numpy(),
            "esv_yuan_per_ha_yr": ordered["esv_yuan_per_ha_yr"].astype(float).to_numpy(),
            "afforested_esv_yuan_per_ha_yr": ordered["afforested_esv_yuan_per_ha_yr"].astype(float).to_numpy(),
            "planting_cost_yuan_per_ha": np.full(len(ordered), planting_cost_yuan_per_ha),
            "carbon_t_co2_per_ha": np.full(len(ordered), np.nan),
        }
    )
