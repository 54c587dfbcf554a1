"""The land-use chain for one scenario: data -> analytic steady state and both dynamic programs -> results.

:func:`resolve_inputs` turns a validated scenario into plain inputs; :func:`solve_landuse` builds and
solves both representations and returns a :class:`LandUseResult` of tidy tables that serialise to JSON
(``to_dict``) and CSV.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

import afforest
from afforest.data import (
    LandUseParameters,
    check_area_against_initial_area,
    load_afforestable_area,
    load_direct_costs,
    load_esv,
    load_landuse_parameters,
)
from afforest.model.landuse import (
    TimeGrid,
    build_classes_model,
    build_curves_model,
    class_allocation,
    class_planting_path,
    long_run_afforested_area,
    planting_path,
)
from afforest.model.esv import (
    EquivalentFactorInputs,
    esv_table,
    load_equivalent_factors,
    load_standard_equivalent_values,
)
from afforest.model.formulations import (
    add_carbon_value,
    add_land_type_costs,
    add_planting_cap,
    add_province_quotas,
    exclude_provinces,
    scale_opportunity_cost,
    set_planting_cap,
)
from afforest.errors import InputError, SolverError
from afforest.model.cells import available_memory_bytes, memory_estimate_bytes
from afforest.model.merit_order import classes_steady_state_area, fill_merit_order, landuse_classes, shares
from afforest.model.steady_state import SteadyStateRoot, steady_state_roots
from afforest.model.steady_state import long_run_afforested_area as analytic_long_run
from afforest.scenarios import Scenario, load_scenario
from afforest.solvers import SolveResult, SolverStatus, solve

__all__ = [
    "Check",
    "Inputs",
    "Models",
    "LandUseResult",
    "resolve_inputs",
    "check_model_size",
    "build_models",
    "update_models",
    "structure_key",
    "solve_landuse",
    "solve_models",
    "certify",
    "ignored_switches",
    "CLASSES_ONLY_SWITCHES",
]

MIN_PLANTING_CAP_10K_HA_PER_YR = 1e-3
"""Smallest annual planting cap a scenario may set (10 ha/yr). Ipopt relaxes every bound by 1e-8 (its
``bound_relax_factor``) and HiGHS holds constraints to 1e-10, in these units; measured on the baseline (T = 100 yr):
a cap of 1e-7 lets the curves NLP plant 10 % more than the cap allows, 1e-5 0.1 %, and at 1e-9 HiGHS stops with
status unknown. At 1e-3 the violation is below 1e-5 of the cap. (Nor does a cap of 10 ha/yr on 5 x 10^6 ha mean
anything economically.)"""


@dataclass(frozen=True)
class Inputs:
    """Everything the land-use models read, after the scenario has been applied to the study's data."""

    scenario: Scenario
    params: LandUseParameters
    """After the scenario's overrides and the opportunity-cost share."""
    grid: TimeGrid
    classes: pd.DataFrame
    """Merit-order classes after exclusions and the opportunity-cost share."""
    carbon_pv_t_co2_per_ha: float
    """PV at planting of one hectare's sequestration at the planner's rate (0 unless carbon is priced)."""

    @property
    def effective_planting_cost_yuan_per_ha(self) -> float:
        """tau(0) net of the carbon value of a planted hectare: the cost Eq. 3 sees."""
        price = self.scenario.policy.carbon_price_yuan_per_t_co2
        return self.params.planting_cost_intercept_yuan_per_ha - price * self.carbon_pv_t_co2_per_ha


def _carbon_pv_t_co2_per_ha(scenario: Scenario, financial_discount_rate: float) -> float:
    if scenario.policy.carbon_price_yuan_per_t_co2 == 0:
        return 0.0
    from afforest.model.carbon import load_carbon_parameters, per_hectare_totals

    # Money is discounted at the planner's rate, so the carbon a hectare stores over the accounting horizon
    # is valued at the financial rate, whatever r_c the carbon report uses.
    return float(per_hectare_totals(load_carbon_parameters(), financial_discount_rate).sum())


def resolve_inputs(scenario: Scenario | str = "baseline") -> Inputs:
    """Apply a scenario's overrides and data-level switches to the study's data."""
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    _check_policy(scenario)
    params = load_landuse_parameters(direct_costs=load_direct_costs())
    landuse = scenario.landuse.model_dump(exclude={"opportunity_cost_share", "esv_source"})
    params = params.replace(**{k: v for k, v in landuse.items() if v is not None})
    grid = TimeGrid(
        horizon_yr=scenario.numerics.horizon_yr,
        step_yr=scenario.numerics.step_yr,
        discounting=scenario.numerics.discounting,
    )
    files = scenario.inputs
    area = load_afforestable_area(files.afforestable_area_file)
    check_area_against_initial_area(area, params.initial_area_10k_ha, file=files.afforestable_area_file)
    if scenario.policy.excluded_provinces:
        area = exclude_provinces(area, scenario.policy.excluded_provinces)
    if scenario.landuse.esv_source == "equivalent_factors":
        equivalents, standard_values = EquivalentFactorInputs(
            factors=load_equivalent_factors(files.equivalent_factors_file) if files.equivalent_factors_file else None,
            standard_values=load_standard_equivalent_values(files.standard_equivalent_file) if files.standard_equivalent_file else None,
        ).resolve()
        esv = esv_table(equivalents, standard_values)
    else:
        esv = load_esv()
    positive = area.loc[area["area_10k_ha"] > 0, "area_10k_ha"].to_numpy()
    cap = scenario.classes.max_class_area_10k_ha
    check_model_size(scenario, int(np.ceil(positive / cap).sum()) if cap else len(positive), grid.periods)
    classes = landuse_classes(
        area,
        esv,
        params,
        rule=scenario.classes.post_planting_rule,
        max_class_area_10k_ha=scenario.classes.max_class_area_10k_ha,
    )
    params, classes = scale_opportunity_cost(params, classes, scenario.landuse.opportunity_cost_share)
    return Inputs(
        scenario=scenario,
        params=params,
        grid=grid,
        classes=classes,
        carbon_pv_t_co2_per_ha=_carbon_pv_t_co2_per_ha(scenario, params.financial_discount_rate),
    )


def _check_policy(scenario: Scenario) -> None:
    """Combinations of policy values that the schema cannot see, refused before anything is built."""
    policy = scenario.policy
    cap = policy.annual_planting_cap_10k_ha_per_yr
    if cap is not None and cap < MIN_PLANTING_CAP_10K_HA_PER_YR:
        raise InputError(
            f"scenario {scenario.name!r}: a planting cap below {MIN_PLANTING_CAP_10K_HA_PER_YR:g} x 10^4 ha/yr "
            "(10 ha/yr) is beneath the solvers' feasibility tolerance in these units (Ipopt relaxes bounds by 1e-8, "
            "so the cap would not be honoured, and HiGHS stops without an answer); set it to at least "
            f"{MIN_PLANTING_CAP_10K_HA_PER_YR:g}, or remove it to plant without a cap",
            field="policy.annual_planting_cap_10k_ha_per_yr",
            value=cap,
        )
    for province in policy.province_quota_10k_ha:
        if province in policy.excluded_provinces:
            raise InputError(
                f"scenario {scenario.name!r}: {province} has a quota in policy.province_quota_10k_ha but is also "
                "listed in policy.excluded_provinces, where nothing may be planted; an excluded province's quota "
                "is meaningless and excluding it re-ranks the other provinces' classes: remove the province from "
                "one of the two",
                field="policy.province_quota_10k_ha",
                value=province,
            )


def structure_key(scenario: Scenario) -> str:
    """What fixes the models' structure: scenarios with equal keys differ only in mutable params."""
    policy = scenario.policy
    payload = {
        "numerics": scenario.numerics.model_dump(mode="json"),
        "classes": scenario.classes.model_dump(mode="json"),
        "excluded": sorted(policy.excluded_provinces),
        "quota_provinces": sorted(policy.province_quota_10k_ha),
        "land_types_costed": sorted(policy.direct_cost_multiplier_by_land_type),
        "priced": policy.carbon_price_yuan_per_t_co2 > 0,
    }
    return json.dumps(payload, sort_keys=True)


@dataclass
class Models:
    """Both representations built for one scenario structure."""

    curves: pyo.ConcreteModel
    classes: pyo.ConcreteModel


def check_model_size(scenario: Scenario, n_classes: int, n_periods: int) -> int:
    """Refuse, before building, a classes model too large for this machine's memory; return the estimate (bytes).

    The classes QP has one rate per class and period, like the cell-level model whose Pyomo build was measured
    (:data:`afforest.model.cells.MEMORY_BYTES_PER_CELL_PERIOD`); a tiny ``numerics.step_yr`` or
    ``classes.max_class_area_10k_ha`` multiplies periods or classes.
    """
    estimate = memory_estimate_bytes(n_classes, n_periods, "pyomo")
    available = available_memory_bytes()
    if available is None or estimate <= available:
        return estimate
    split = scenario.classes.max_class_area_10k_ha is not None
    raise InputError(
        f"the classes model would have {n_classes:,} classes x {n_periods:,} periods and need about "
        f"{estimate / 1e9:.3g} GB of memory, but {available / 1e9:.3g} GB is available: take a larger "
        "classes.max_class_area_10k_ha or numerics.step_yr, or a shorter numerics.horizon_yr",
        file=f"scenario {scenario.name!r}",
        field="classes.max_class_area_10k_ha" if split else "numerics.step_yr",
        value=scenario.classes.max_class_area_10k_ha if split else scenario.numerics.step_yr,
    )


def build_models(inputs: Inputs) -> Models:
    """Build the curves NLP and the classes QP with every policy switch of the scenario."""
    curves = build_curves_model(inputs.params, inputs.grid)
    classes = build_classes_model(inputs.classes, inputs.params, inputs.grid)
    policy = inputs.scenario.policy
    for m in (curves, classes):
        add_planting_cap(m, policy.annual_planting_cap_10k_ha_per_yr)
        if policy.carbon_price_yuan_per_t_co2 > 0:
            add_carbon_value(m, policy.carbon_price_yuan_per_t_co2, inputs.carbon_pv_t_co2_per_ha)
    if policy.province_quota_10k_ha:
        add_province_quotas(classes, policy.province_quota_10k_ha)
    if policy.direct_cost_multiplier_by_land_type:
        add_land_type_costs(classes, policy.direct_cost_multiplier_by_land_type)
    return Models(curves=curves, classes=classes)


def update_models(models: Models, inputs: Inputs) -> None:
    """Point models built for the same structure at new inputs by assigning their mutable params."""
    params, policy = inputs.params, inputs.scenario.policy
    for m in (models.curves, models.classes):
        m.discount_rate = params.financial_discount_rate
        m.initial_area_10k_ha = params.initial_area_10k_ha
        m.planting_cost_intercept_yuan_per_ha = params.planting_cost_intercept_yuan_per_ha
        m.planting_cost_slope_yuan_per_ha_per_10k_ha_yr = params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
        set_planting_cap(m, policy.annual_planting_cap_10k_ha_per_yr)
        if policy.carbon_price_yuan_per_t_co2 > 0:
            m.carbon_price_yuan_per_t_co2 = policy.carbon_price_yuan_per_t_co2
            m.carbon_pv_t_co2_per_ha = inputs.carbon_pv_t_co2_per_ha
    curves = models.curves
    for i, value in enumerate(params.unconverted_esv_coefficients):
        curves.unconverted_esv_coefficient[i] = value
    for i, value in enumerate(params.afforested_esv_coefficients):
        curves.afforested_esv_coefficient[i] = value
    classes = models.classes
    table = inputs.classes.sort_values(["rank", "slice"])
    keys = list(zip(table["land_type"], table["province"], table["slice"].astype(int)))
    for key, area, current, afforested in zip(
        keys, table["area_10k_ha"], table["esv_yuan_per_ha_yr"], table["afforested_esv_yuan_per_ha_yr"]
    ):
        classes.class_area_10k_ha[key] = float(area)
        classes.current_esv_yuan_per_ha_yr[key] = float(current)
        classes.afforested_esv_yuan_per_ha_yr[key] = float(afforested)
    for province, quota in policy.province_quota_10k_ha.items():
        classes.province_quota_10k_ha[province] = quota
    for key in keys:
        if policy.direct_cost_multiplier_by_land_type:
            classes.direct_cost_multiplier[key] = policy.direct_cost_multiplier_by_land_type.get(key[0], 1.0)


# --- certification -------------------------------------------------------------------------------------------

AREA_GAP_LIMIT = 1e-3
"""Largest relative gap allowed between a dynamic program's long-run area and its own steady state (Eq. 3 for
the curves NLP, :func:`~afforest.model.merit_order.classes_steady_state_area` for the classes QP). The integrated
discrete program satisfies Eq. 3 exactly for every step (model/landuse.py), so a gap comes only from a path not
yet at rest by T and from solver tolerances: both solvers are within 3e-6 of closed forms (README), the curves
NLP within 4e-5 of Eq. 3 for r = 1-10 % at T = 100 yr, and 3.7e-4 at a 50-yr step. 1e-3 is also the sweep
tests' bound. Anything larger is a different answer, not a rounding."""

CONVERGENCE_LIMIT = AREA_GAP_LIMIT
"""Largest share of the long-run area allowed to be still unplanted at the horizon, estimated by extending the
path's last two periods geometrically (a saddle path decays geometrically, A_k - A* ~ rho^k): the same
tolerance as the gap, because what is still unplanted at T is exactly the gap it leaves."""

TAIL_WINDOW_SHARE = 0.1
"""The last tenth of the horizon: what a path still plants there bounds what it leaves to plant after T."""

RESOLVED_DISCOUNT_WEIGHT = 3e-7
"""Smallest discount weight e^{-rT} at which the solvers still pin the tail down (with Ipopt tol 1e-10, HiGHS
1e-12): measured at r = 0.3, both programs certify at T = 47-50 yr (weights 8e-7 to 3e-7) and neither at 55 yr
(7e-8); at 60 yr HiGHS stops. Used only to suggest a horizon, ln(1/weight)/r = 15/r."""

LAND_BALANCE_LIMIT = 1e-6
"""Largest relative excess of the classes' afforested area over their land (or A0): HiGHS holds each class balance
to 1e-10, so 1e-6 is far above its tolerance and far below anything a report shows."""

MIN_REPORTED_SHARE = 1e-6
"""Areas below a millionth of A0 (5 ha at the study's A0) are not reported: the floor of the scale against which a
path's remainder is measured when next to nothing is planted."""


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


CLASSES_ONLY_SWITCHES: tuple[str, ...] = (
    "policy.province_quota_10k_ha",
    "policy.excluded_provinces",
    "policy.direct_cost_multiplier_by_land_type",
    "inputs.afforestable_area_file",
    "inputs.equivalent_factors_file",
    "inputs.standard_equivalent_file",
)
"""Scenario switches that need land types and provinces (or the class tables): only the classes QP and its
allocation honour them; Eq. 3 and the curves NLP read the study's fitted B' and C' and A0."""


def _switch_is_set(scenario: Scenario, key: str) -> bool:
    section, _, name = key.partition(".")
    value = getattr(getattr(scenario, section), name)
    return value is not None and value != {} and value != []


def ignored_switches(scenario: Scenario) -> dict[str, list[str]]:
    """For each representation, the scenario switches that are set but that it does not honour."""
    classes_only = [key for key in CLASSES_ONLY_SWITCHES if _switch_is_set(scenario, key)]
    # The classes' areas come from the afforestable-area table; A0 is read by Eq. 3 and the curves only.
    classes_ignore = ["landuse.initial_area_10k_ha"] if scenario.landuse.initial_area_10k_ha is not None else []
    return {"analytic": classes_only, "curves": list(classes_only), "classes": classes_ignore}


def _fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"


def _hurdle_rate(grid: TimeGrid, rate: float) -> float:
    """Yearly annuity of one yuan of planting cost at a steady state of the discrete program: r (integrated), or
    (e^{r dt} - 1)/dt (sampled; see afforest.model.landuse)."""
    if grid.discounting == "sampled":
        return math.expm1(rate * grid.step_yr) / grid.step_yr
    return rate


def _restart(path: pd.DataFrame, inputs: Inputs, long_run: float) -> tuple[float, float] | None:
    """(year planting restarts, horizon to hold it from) when a path restarts after slowing down, else None.

    A restart counts when the planting after the path's slowest period, beyond what that period planted, could
    move the area by more than CONVERGENCE_LIMIT (smaller rises near T are the terminal value's own end
    effect). The hold year is the restart year or ln(1/RESOLVED_DISCOUNT_WEIGHT)/r, whichever is earlier.
    """
    rates = path["planting_rate_10k_ha_per_yr"].to_numpy(float)
    step, r = inputs.grid.step_yr, inputs.params.financial_discount_rate
    planted = rates * step
    n = planted.size
    if n < 2:
        return None
    scale = max(abs(long_run), float(np.abs(planted).sum()), MIN_REPORTED_SHARE * inputs.params.initial_area_10k_ha)
    noise = CONVERGENCE_LIMIT * scale / n
    k_min = int(np.argmin(planted))
    regrowth = np.maximum(planted[k_min + 1 :] - planted[k_min], 0.0)
    if not float(regrowth.sum()) / scale > CONVERGENCE_LIMIT:
        return None
    rises = np.nonzero(planted[k_min + 1 :] > planted[k_min] + noise)[0]
    starts = path["period_start_yr"].to_numpy(float)
    restart = float(starts[k_min + 1 + int(rises[0])]) if rises.size else float(starts[k_min])
    hold = max(step, step * math.floor(min(restart, math.log(1 / RESOLVED_DISCOUNT_WEIGHT) / r) / step))
    return restart, hold


def _path_diagnosis(
    path: pd.DataFrame, inputs: Inputs, label: str, long_run: float, held_from: float | None = None
) -> tuple[float, str | None]:
    """(share of the long-run area still to plant after T, None) if the path is at rest by T; else
    (that share, or inf, and the sentence saying why not and which scenario field to change).

    ``held_from``: the year from which planting was held at zero (:func:`solve_models`); the path must be at
    rest by then.

    A converged path only slows down. Planting counts as noise below CONVERGENCE_LIMIT x area / N per period:
    kept up for another whole horizon it would still add less than the limit.
    """
    scenario, params = inputs.scenario, inputs.params
    step, horizon, r = inputs.grid.step_yr, inputs.grid.horizon_yr, params.financial_discount_rate
    if held_from is not None:
        path = path[path["period_start_yr"] < held_from - 1e-9 * step]
        horizon = held_from
    rates = path["planting_rate_10k_ha_per_yr"].to_numpy(float)
    planted = rates * step
    n = planted.size
    scale = max(abs(long_run), float(np.abs(planted).sum()), MIN_REPORTED_SHARE * params.initial_area_10k_ha)
    noise = CONVERGENCE_LIMIT * scale / n
    if planted.max(initial=0.0) <= noise:
        return float(max(planted.sum(), 0.0) / scale), None  # next to nothing planted: at rest from the start
    cap = scenario.policy.annual_planting_cap_10k_ha_per_yr
    restart = _restart(path, inputs, long_run)
    restarted = restart is not None
    remaining = math.inf
    if n >= 2 and not restarted:
        # Two estimates of what is still to plant after T, either of which shows rest: the area planted in the last
        # tenth of the horizon (an upper bound for a path decaying faster than T/10), and the last period extended
        # geometrically (right for a few long periods, where the tenth is the whole last period).
        window = max(1, math.ceil(TAIL_WINDOW_SHARE * n))
        tail_share = float(planted[-window:].sum()) / scale
        last, previous = planted[-1], planted[-2]
        ratio = last / previous if previous > 0 else math.inf
        extended = float(last * ratio / (1 - ratio)) / scale if 0 <= ratio < 1 else math.inf
        remaining = max(0.0, min(tail_share, extended))
        if remaining <= CONVERGENCE_LIMIT:
            return remaining, None
    if held_from is not None:
        why = (
            f"the {label}'s planting is undetermined late in the horizon (e^{{-rt}} too small at r = {r:g}), so it "
            f"was held at zero from year {held_from:g}, but the path has not come to rest by then (it still plants "
            f"{_fmt(rates[-1])} x 10^4 ha/yr in year {held_from - step:g}): at r = {r:g} these solvers cannot follow "
            f"the path to its rest, so its area is not the long run; the steady state ({_fmt(long_run)} x 10^4 ha) "
            "is, or lower landuse.financial_discount_rate for a numerical path"
        )
    elif n == 1:
        why = (
            f"the horizon numerics.horizon_yr = {horizon:g} yr is a single planting period of {step:g} yr, so the "
            f"{label} cannot show whether planting has stopped (it plants {_fmt(planted.sum())} x 10^4 ha in it); "
            "lengthen numerics.horizon_yr (the baseline's 100 yr is about 20 adjustment time constants)"
        )
    elif restart is not None:
        restart, suggest = restart
        weight = math.exp(-r * restart)
        why = (
            f"the {label} plants {_fmt(rates[-1])} x 10^4 ha/yr in its last period: planting restarts in year "
            f"{restart:g}, where the discount weight e^{{-rt}} has fallen to {weight:.1e} of year 0's, so the "
            f"solver's tolerance leaves the tail undetermined (r = {r:g}, T = {horizon:g} yr); shorten "
            f"numerics.horizon_yr to about {suggest:g} yr (if the path is not at rest by then either, no horizon "
            f"resolves r = {r:g} with these solvers and the long run is the steady state's), or lower "
            "landuse.financial_discount_rate"
        )
    else:
        why = (
            f"the {label} still plants {_fmt(rates[-1])} x 10^4 ha/yr in its last period "
            f"({100 * rates[-1] / rates.max():.2g} % of its fastest rate): the path has not converged by the horizon "
            f"T = {horizon:g} yr, so the {_fmt(float(path['afforested_area_10k_ha'].iloc[-1]))} x 10^4 ha afforested by "
            "T is not the long run; lengthen numerics.horizon_yr"
        )
        tau1 = params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
        why += (
            f", or lower landuse.planting_cost_slope_yuan_per_ha_per_10k_ha_yr (tau1 = {tau1:g}: the steeper the "
            "marginal cost of fast planting, the slower the path)"
        )
        if cap is not None and rates.max() >= cap * (1 - 1e-6):
            why += f", or raise policy.annual_planting_cap_10k_ha_per_yr (= {cap:g}, binding)"
    return remaining, why


def _likely_causes(inputs: Inputs) -> list[str]:
    """Scenario fields that most often make a solver stop without an optimum, with what to do."""
    scenario, params = inputs.scenario, inputs.params
    causes: list[str] = []
    # A table far from A0, or in ha instead of 10^4 ha, is refused before this point (resolve_inputs).
    total = float(inputs.classes["area_10k_ha"].sum())
    a0 = params.initial_area_10k_ha
    if scenario.landuse.initial_area_10k_ha is not None:
        causes.append(f"landuse.initial_area_10k_ha = {a0:g} (the classes read the table's {total:g} instead)")
    cap = scenario.policy.annual_planting_cap_10k_ha_per_yr
    if cap is not None:
        causes.append(f"policy.annual_planting_cap_10k_ha_per_yr = {cap:g} (very small or very large caps strain the solvers)")
    r, horizon = params.financial_discount_rate, inputs.grid.horizon_yr
    if math.exp(-r * horizon) < RESOLVED_DISCOUNT_WEIGHT:
        causes.append(
            f"landuse.financial_discount_rate = {r:g} with numerics.horizon_yr = {horizon:g}: the last periods weigh "
            f"e^{{-rT}} = {math.exp(-r * horizon):.0e} of the first, below the solvers' tolerances; shorten the horizon"
        )
    for kind in ("nlp", "qp"):
        choice = getattr(scenario.solver, kind)
        if choice != "auto":
            causes.append(f"solver.{kind} = {choice!r} (try 'auto')")
    return causes


def _nonoptimal_message(inputs: Inputs, label: str, detail: str, *, advise_allow: bool = True) -> str:
    causes = _likely_causes(inputs)
    text = f"scenario {inputs.scenario.name!r}: the {label} {detail}. "
    if causes:
        text += "Scenario fields most likely responsible: " + "; ".join(causes) + ". "
    if not advise_allow:
        return text + "Run with --tee to see the solver's log"
    text += (
        "To see the solver's last point reported as a suspect result, run `afforest solve --allow-nonoptimal` "
        "(Python: solve_landuse(..., allow_nonoptimal=True)); --tee shows the solver's log"
    )
    return text


def certify(inputs: Inputs, result: LandUseResult, held_from: dict[str, float] | None = None) -> list[Check]:
    """Every check of a solved scenario; a failed one makes the result ``suspect`` with its reason.

    ``held_from``: representation -> year from which its planting was held at zero (:func:`solve_models`).
    """
    held_from = held_from or {}
    params = inputs.params
    checks: list[Check] = []
    for rep, label, solved in (
        ("curves", "curves NLP", result.curves_solver),
        ("classes", "classes QP", result.classes_solver),
    ):
        ok = solved.status is SolverStatus.OPTIMAL
        checks.append(
            Check(
                f"{rep}_solver_optimal",
                ok,
                None,
                None,
                f"{solved.label} reports an optimum"
                if ok
                else _nonoptimal_message(
                    inputs,
                    label,
                    f"stopped with status {solved.status.value} (termination {solved.termination}) and was accepted "
                    "with allow_nonoptimal: its numbers are the solver's last point, not an optimum",
                    advise_allow=False,
                ),
            )
        )

    # (b) curves NLP against the steady state it must reach (Eq. 3 at the effective planting cost).
    r = params.financial_discount_rate
    tau_eff = inputs.effective_planting_cost_yuan_per_ha
    a0 = params.initial_area_10k_ha
    target, classes_target = _steady_state_targets(inputs)
    roots = steady_state_roots(params, tau_eff * _hurdle_rate(inputs.grid, r) / r)
    numeric = result.numeric_afforested_area_10k_ha
    saddles = [x.afforested_area_10k_ha for x in roots if x.stability.value == "saddle_path_stable"]
    if len(saddles) > 1:  # several stable roots (a Skiba case): the optimum may settle at any of them or a corner
        target = min([*saddles, 0.0, a0], key=lambda z: abs(z - numeric))
    gap = (numeric - target) / target if target > 0 else numeric / a0
    name = "Eq. 3" if inputs.grid.discounting != "sampled" else "the sampled program's steady state"
    curves_rest, curves_why = _path_diagnosis(result.curves_path, inputs, "curves NLP", target, held_from.get("curves"))
    ok = math.isfinite(gap) and abs(gap) <= AREA_GAP_LIMIT
    if ok:
        reason = f"curves NLP {_fmt(numeric)} x 10^4 ha agrees with {name} ({_fmt(target)}) to {100 * abs(gap):.2g} %"
    else:
        reason = (
            f"curves NLP plants {_fmt(numeric)} x 10^4 ha against {_fmt(target)} from {name} ({100 * gap:+.3g} %; the "
            f"curves model solves the same problem, so they must agree to {100 * AREA_GAP_LIMIT:g} %)"
        )
        reason += ": " + curves_why if curves_why else (
            ": the path is at rest by T, so the NLP has settled at another point; rerun with another "
            "solver.nlp or report the analytic answer"
        )
    checks.append(Check("curves_gap_to_eq3", ok, float(gap), AREA_GAP_LIMIT, reason))

    # (c) planting has stopped by the horizon, for both programs.
    classes_rest, classes_why = _path_diagnosis(result.classes_path, inputs, "classes QP", classes_target, held_from.get("classes"))
    for rep, rest, why in (("curves", curves_rest, curves_why), ("classes", classes_rest, classes_why)):
        checks.append(
            Check(
                f"{rep}_converged_by_horizon",
                why is None,
                float(rest),
                CONVERGENCE_LIMIT,
                why or f"the {rep} path is at rest by T = {held_from.get(rep, inputs.grid.horizon_yr):g} yr "
                f"(about {100 * rest:.2g} % of its area still to plant)",
            )
        )

    # (d) the classes cannot afforest more land than they have, nor more than A0.
    classes_area = result.classes_afforested_area_10k_ha
    total = float(inputs.classes["area_10k_ha"].sum())
    bound = min(total, a0)
    excess = classes_area / bound - 1 if bound > 0 else math.inf
    ok = excess <= LAND_BALANCE_LIMIT
    checks.append(
        Check(
            "classes_within_land",
            ok,
            float(excess),
            LAND_BALANCE_LIMIT,
            f"classes afforest {_fmt(classes_area)} of {_fmt(total)} x 10^4 ha (A0 = {_fmt(a0)})"
            if ok
            else f"classes QP afforests {_fmt(classes_area)} x 10^4 ha but "
            + (
                f"A0 (landuse.initial_area_10k_ha) is only {_fmt(a0)}: the classes read their areas from the "
                f"afforestable-area table ({_fmt(total)} in all), which does not match A0; make "
                "landuse.initial_area_10k_ha and inputs.afforestable_area_file agree"
                if a0 < total
                else f"its classes hold only {_fmt(total)}: the solver broke the land balance; report it"
            ),
        )
    )

    # (e) the classes QP against its own steady state (each class converted iff its gain beats the hurdle).
    classes_gap = (classes_area - classes_target) / classes_target if classes_target > 0 else classes_area / max(total, 1e-12)
    ok = math.isfinite(classes_gap) and abs(classes_gap) <= AREA_GAP_LIMIT
    if ok:
        reason = (
            f"classes QP {_fmt(classes_area)} x 10^4 ha agrees with its steady state {_fmt(classes_target)} (every class "
            f"whose yearly ESV gain beats the planting-cost annuity) to {100 * abs(classes_gap):.2g} %"
        )
    else:
        reason = (
            f"classes QP plants {_fmt(classes_area)} x 10^4 ha against {_fmt(classes_target)} from its steady state "
            f"(every class whose yearly ESV gain exceeds {_fmt(_hurdle_rate(inputs.grid, r) * tau_eff)} yuan/ha"
            f"{', quotas filled best class first' if inputs.scenario.policy.province_quota_10k_ha else ''}; "
            f"{100 * classes_gap:+.3g} %)"
        )
        reason += ": " + classes_why if classes_why else ": the path is at rest by T, so the QP has settled elsewhere; report it"
    checks.append(Check("classes_gap_to_steady_state", ok, float(classes_gap), AREA_GAP_LIMIT, reason))
    return checks


# --- results -------------------------------------------------------------------------------------------------

@dataclass
class LandUseResult:
    """Analytic and numerical answers for one scenario, with the checks that certify them."""

    scenario: Scenario
    params: LandUseParameters
    roots: list[SteadyStateRoot]
    analytic_afforested_area_10k_ha: float
    numeric_afforested_area_10k_ha: float
    classes_afforested_area_10k_ha: float
    curves_path: pd.DataFrame
    classes_path: pd.DataFrame
    allocation: pd.DataFrame
    """The analytic desirable area filled into the merit order (the study's allocation rule)."""
    classes_allocation: pd.DataFrame
    """Where the classes dynamic program plants by the end of the horizon."""
    classes_planting: pd.DataFrame
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
            "planting_path": _path_summary(self.curves_path, step),
            "classes_planting_path": _path_summary(self.classes_path, step),
            "allocation_source": "classes" if self.headline_representation == "classes" else "analytic_merit_order",
            "allocation": allocation.to_dict(orient="records"),
            "province_shares": {str(k): float(v) for k, v in province_share.items()},
            "analytic_allocation": self.allocation.to_dict(orient="records"),
            "classes_allocation": self.classes_allocation.to_dict(orient="records"),
        }


def _path_summary(path: pd.DataFrame, step_yr: float | None = None) -> dict[str, Any]:
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


def solve_landuse(
    scenario: Scenario | str = "baseline", *, tee: bool = False, allow_nonoptimal: bool = False
) -> LandUseResult:
    """Analytic roots, the curves NLP (Ipopt) and the classes QP (HiGHS) for one scenario, certified.

    A solver that stops without an optimum raises :class:`SolverError` naming the scenario fields most likely
    responsible, unless ``allow_nonoptimal``: then the result is returned with ``status == "suspect"``.
    """
    inputs = resolve_inputs(scenario)
    return solve_models(inputs, build_models(inputs), tee=tee, allow_nonoptimal=allow_nonoptimal)


def _solve_one(model: pyo.ConcreteModel, choice: str, inputs: Inputs, label: str, tee: bool, allow_nonoptimal: bool) -> SolveResult:
    try:
        result = solve(model, choice, tee=tee, allow_nonoptimal=True)
    except SolverError as exc:
        raise SolverError(_nonoptimal_message(inputs, label, f"failed: {exc}")) from exc
    if result.status is not SolverStatus.OPTIMAL and not allow_nonoptimal:
        raise SolverError(
            _nonoptimal_message(
                inputs,
                label,
                f"stopped without an optimum: {result.label} ended with status {result.status.value} "
                f"(termination {result.termination})",
            )
        )
    return result


def _value_or_nan(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except (ValueError, TypeError):  # variables without values after a failed solve
        return float("nan")


def _steady_state_targets(inputs: Inputs) -> tuple[float, float]:
    """Long-run areas the two programs must reach: Eq. 3 (at the discrete program's hurdle) and the classes'
    closed-form steady state."""
    params, policy = inputs.params, inputs.scenario.policy
    hurdle = _hurdle_rate(inputs.grid, params.financial_discount_rate)
    tau_eff = inputs.effective_planting_cost_yuan_per_ha
    curves = float(analytic_long_run(params, planting_cost_intercept_yuan_per_ha=tau_eff * hurdle / params.financial_discount_rate)[0])
    classes = classes_steady_state_area(
        inputs.classes,
        hurdle * tau_eff,
        extra_hurdle_by_land_type={
            k: hurdle * params.planting_cost_intercept_yuan_per_ha * (m - 1)
            for k, m in policy.direct_cost_multiplier_by_land_type.items()
        },
        province_quota_10k_ha=dict(policy.province_quota_10k_ha),
    )
    return curves, classes


def _solve_held(
    model: pyo.ConcreteModel, hold_yr: float, choice: str, inputs: Inputs, label: str, tee: bool, allow_nonoptimal: bool
) -> SolveResult:
    """Solve again with no planting from ``hold_yr`` on (the rates fixed at 0, then freed again so that a re-used
    model is unchanged). With the terminal value this is the program with horizon ``hold_yr``."""
    first = int(round(hold_yr / inputs.grid.step_yr))
    held = [model.planting_rate_10k_ha_per_yr[k] for k in model.periods if k >= first]
    if hasattr(model, "class_planting_rate_10k_ha_per_yr"):
        held += [model.class_planting_rate_10k_ha_per_yr[c, k] for c in model.classes for k in model.periods if k >= first]
    for var in held:
        var.fix(0.0)
    try:
        return _solve_one(model, choice, inputs, label, tee, allow_nonoptimal)
    finally:
        for var in held:
            var.unfix()


def solve_models(
    inputs: Inputs,
    models: Models,
    *,
    tee: bool = False,
    allow_nonoptimal: bool = False,
    hold_undetermined_tail: bool = True,
) -> LandUseResult:
    """Solve built (or updated) models for ``inputs``, collect the results and certify them (``checks``).

    ``hold_undetermined_tail``: when a program's planting restarts late in the horizon, where the discount weight
    is too small for the solvers to pin the path down, solve it again with planting held at zero from the year
    the certificate would advise as horizon (see :func:`_restart`), i.e. the same program with that horizon and
    its terminal value. The held program must then pass every check like any other (the area against its steady
    state above all); a check ``<representation>_tail_held`` says what was done.
    """
    params = inputs.params
    effective_cost = inputs.effective_planting_cost_yuan_per_ha
    roots = steady_state_roots(params, effective_cost)
    analytic = float(analytic_long_run(params, planting_cost_intercept_yuan_per_ha=effective_cost)[0])
    solver = inputs.scenario.solver
    curves_result = _solve_one(models.curves, solver.nlp, inputs, "curves NLP", tee, allow_nonoptimal)
    classes_result = _solve_one(models.classes, solver.qp, inputs, "classes QP", tee, allow_nonoptimal)
    held: list[Check] = []
    held_from: dict[str, float] = {}
    if hold_undetermined_tail:
        targets = _steady_state_targets(inputs)
        solved = {"curves": curves_result, "classes": classes_result}
        for (rep, model, choice, label), target in zip(
            (("curves", models.curves, solver.nlp, "curves NLP"), ("classes", models.classes, solver.qp, "classes QP")),
            targets,
        ):
            if solved[rep].status is not SolverStatus.OPTIMAL:
                continue
            restart = _restart(planting_path(model), inputs, target)
            if restart is None or restart[1] >= inputs.grid.horizon_yr:
                continue
            year, hold = restart
            try:
                again = _solve_held(model, hold, choice, inputs, label, tee, True)
            except SolverError:
                again = None
            if again is None or again.status is not SolverStatus.OPTIMAL:
                # the held program did not solve: back to the first answer, which the checks then flag
                solved[rep] = _solve_one(model, choice, inputs, label, tee, allow_nonoptimal)
                continue
            solved[rep] = again
            held_from[rep] = hold
            held.append(
                Check(
                    f"{rep}_tail_held",
                    True,
                    float(hold),
                    None,
                    f"the {label} restarted planting in year {year:g}, where the discount weight e^{{-rt}} is "
                    f"{math.exp(-params.financial_discount_rate * year):.1e} of year 0's and the solver's tolerance "
                    f"leaves the path undetermined; it was solved again with no planting after year {hold:g} (the "
                    f"same program with horizon {hold:g} yr and its terminal value), and its area is checked below",
                )
            )
        curves_result, classes_result = solved["curves"], solved["classes"]
    result = LandUseResult(
        scenario=inputs.scenario,
        params=params,
        roots=roots,
        analytic_afforested_area_10k_ha=analytic,
        numeric_afforested_area_10k_ha=_value_or_nan(long_run_afforested_area, models.curves),
        classes_afforested_area_10k_ha=_value_or_nan(long_run_afforested_area, models.classes),
        curves_path=planting_path(models.curves),
        classes_path=planting_path(models.classes),
        allocation=fill_merit_order(inputs.classes, min(analytic, float(inputs.classes["area_10k_ha"].sum()))),
        classes_allocation=class_allocation(models.classes),
        classes_planting=class_planting_path(models.classes),
        curves_solver=curves_result,
        classes_solver=classes_result,
        welfare_10e8_yuan={
            "curves": float(curves_result.objective or float("nan")),
            "classes": float(classes_result.objective or float("nan")),
        },
        effective_planting_cost_yuan_per_ha=effective_cost,
        tail_held_from_yr=held_from,
    )
    result.checks = held + certify(inputs, result, held_from)
    return result
