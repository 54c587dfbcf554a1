"""The land-use stage without Pyomo for the standard formulation: same programs, same checks, ~100 times cheaper.

:mod:`afforest.model.fast_landuse` solves the curves NLP (projected Newton on the rates) and the classes QP (the
price decomposition, with a planting cap) from arrays; this module decides when that is the same program as the
Pyomo models (:func:`fast_path_ineligibility`), assembles the same :class:`~afforest.chain.results.LandUseResult`
(paths with their costates, allocation, cohorts, shadow prices, Pontryagin certificates) and certifies it with the
same :func:`afforest.chain.certify.certify`: a fast answer that fails a check is ``suspect`` like any other.

Engines (``engine`` of :func:`afforest.chain.stages.run_chain`, the sweeps and the sensitivity runs):
``pyomo`` always builds and solves the Pyomo models (the reference: ``afforest solve`` and plain sweeps);
``fast`` requires the fast path and refuses an ineligible scenario; ``auto`` takes the fast path when the scenario
is eligible and Pyomo otherwise. The result says which ran (``LandUseResult.landuse_path``, the sweep column
``landuse_path``) and, when ``auto`` or ``fast`` fell back, why (``landuse_path_note``).
"""

from __future__ import annotations

from collections.abc import Callable
import time
from typing import Any

import numpy as np
import pandas as pd

import afforest
from afforest.chain.certify import PONTRYAGIN_RESIDUAL_LIMIT, certify, hurdle_rate, tail_restart
from afforest.chain.inputs import Inputs
from afforest.chain.results import Check, Deferred, LandUseResult
from afforest.errors import InputError
from afforest.model.fast_landuse import array_certificate, solve_classes_fast, solve_curves_fast
from afforest.model.formulations import registered_input_transforms, registered_switches, switch_values
from afforest.model.merit_order import fill_merit_order
from afforest.model.problem import YUAN_10K_IN_OBJECTIVE_UNIT, LandUseProblem, TerminalValue, discount_weights
from afforest.model.saddle_path import saddle_path_summary
from afforest.model.steady_state import long_run_afforested_area as analytic_long_run
from afforest.model.steady_state import steady_state_roots
from afforest.solvers import ProblemClass, SolveResult, SolverStatus

__all__ = [
    "ENGINES",
    "FAST_SWITCHES",
    "FAST_INPUT_TRANSFORMS",
    "fast_path_ineligibility",
    "resolve_engine",
    "solve_fast",
    "solve_landuse_stage",
]

ENGINES = ("auto", "fast", "pyomo")
"""What solves the land-use programs: see the module docstring."""

FAST_SWITCHES = frozenset({"planting_cap", "carbon_price"})
"""Built-in switches the fast path honours exactly: a bound on R_k, and a shift of tau(0) (the carbon value)."""

FAST_INPUT_TRANSFORMS = frozenset({"excluded_provinces", "opportunity_cost_share", "esv_multiplier_by_land_type"})
"""Built-in input transforms: they act on the inputs before any model, so every engine sees the same data."""

CAP_CONSTRAINT = "planting_cap.annual_planting_cap"
"""The planting cap's constraint as the Pyomo models name it (switch block ``planting_cap``)."""

FAST_SOLVER_LABEL = "afforest-fast"


def fast_path_ineligibility(inputs: Inputs) -> list[str]:
    """Why the fast path would not solve the Pyomo models' program for these inputs (empty: it would).

    Refused: a switch or input transform other than the built-ins above active in the scenario (a user's, or a
    built-in it does not model: province quotas, land-type costs), the curves' ``saddle_path`` terminal value, and a
    scenario that names its solvers (it asks for them)."""
    scenario = inputs.scenario
    reasons: list[str] = []
    for switch in registered_switches():
        if switch.is_active(switch_values(switch, scenario.policy)) and switch.name not in FAST_SWITCHES:
            reasons.append(f"the switch {switch.name!r} is active (the fast path models only {sorted(FAST_SWITCHES)})")
    for transform in registered_input_transforms():
        if transform.is_active(scenario) and transform.name not in FAST_INPUT_TRANSFORMS:
            reasons.append(f"the input transform {transform.name!r} is active")
    if inputs.grid.terminal_value is not TerminalValue.REST:
        reasons.append(f"numerics.terminal_value = {inputs.grid.terminal_value.value!r} (the fast path: 'rest')")
    for kind in ("nlp", "qp"):
        if getattr(scenario.solver, kind) != "auto":
            reasons.append(f"solver.{kind} = {getattr(scenario.solver, kind)!r} asks for a solver")
    return reasons


def resolve_engine(engine: str, inputs: Inputs) -> tuple[str, str]:
    """(the engine that will run, ``fast`` or ``pyomo``; why not the fast one, or ""). ``fast`` on an ineligible
    scenario raises :class:`InputError` with the reasons."""
    if engine not in ENGINES:
        raise InputError(f"must be one of {ENGINES}", field="engine", value=engine)
    if engine == "pyomo":
        return "pyomo", ""
    reasons = fast_path_ineligibility(inputs)
    if not reasons:
        return "fast", ""
    if engine == "fast":
        raise InputError("the fast path cannot solve this scenario: " + "; ".join(reasons), field="engine", value=engine)
    return "pyomo", "; ".join(reasons)


def _solve_result(algorithm: str, problem_class: ProblemClass, seconds: float, objective: float, iterations: int,
                  converged: bool) -> SolveResult:
    return SolveResult(
        solver=FAST_SOLVER_LABEL,
        interface="numpy",
        version=afforest.__version__,
        algorithm=algorithm,
        problem_class=problem_class,
        status=SolverStatus.OPTIMAL if converged else SolverStatus.ITERATION_LIMIT,
        termination=f"{'converged' if converged else 'not converged'} in {iterations} iterations",
        wall_time_s=seconds,
        objective=objective,
    )


def _path(starts: np.ndarray, rates: np.ndarray, remaining: np.ndarray, initial: float, costate_cv: np.ndarray,
          discount: np.ndarray) -> pd.DataFrame:
    """A planting path as :func:`afforest.model.landuse.planting_path` gives it, with the costate columns.

    Built from one (columns x periods) float block, the layout a table of these float columns consolidates to (the
    same table as from a dict of the columns, ~40 us cheaper)."""
    block = np.vstack([starts, rates, remaining, initial - remaining, costate_cv * discount, costate_cv])
    return pd.DataFrame(block.T, columns=PATH_COLUMNS)


PATH_COLUMNS = pd.Index(["period_start_yr", "planting_rate_10k_ha_per_yr", "unconverted_area_10k_ha",
                         "afforested_area_10k_ha", "costate_pv_yuan_per_ha", "costate_cv_yuan_per_ha"])
"""The columns of a fast path's planting path, in order: one immutable Index every path shares (pandas would infer
the same one from the names on every table, ~0.1 ms)."""


def solve_fast(inputs: Inputs) -> tuple[LandUseResult | None, dict[str, dict[str, float]], str]:
    """(the certified result, welfare terms by representation, "") from the fast path, or (None, {}, why) when it
    did not converge or when the curves path restarts planting late (the Pyomo path holds such tails; the caller
    then runs it). The inputs must be eligible (:func:`fast_path_ineligibility`)."""
    params, grid, scenario = inputs.params, inputs.grid, inputs.scenario
    tau0 = params.planting_cost_intercept_yuan_per_ha
    tau1 = params.planting_cost_slope_yuan_per_ha_per_10k_ha_yr
    tau_eff = inputs.effective_planting_cost_yuan_per_ha
    carbon_value = tau0 - tau_eff
    cap = scenario.policy.annual_planting_cap_10k_ha_per_yr
    rate = params.financial_discount_rate
    n, dt = grid.periods, float(grid.step_yr)
    started = time.perf_counter()
    curves = solve_curves_fast(params, grid, tau_eff, cap, carbon_value)
    curves_s = time.perf_counter() - started
    problem = LandUseProblem.from_classes(inputs.classes, params, grid)
    classes = solve_classes_fast(problem, tau_eff, cap, carbon_value)
    classes_s = time.perf_counter() - started - curves_s
    if not curves.converged:
        return None, {}, f"the fast curves solve did not converge ({curves.iterations} Newton iterations)"
    if not classes.converged:
        return None, {}, f"the fast classes solve did not reach a verified optimum ({classes.note})"
    d = discount_weights(rate, grid).cost
    starts = np.arange(n) * dt
    a0 = params.initial_area_10k_ha
    curves_cv = curves.land_balance_duals / YUAN_10K_IN_OBJECTIVE_UNIT / d
    curves_path = _path(starts, curves.rates_10k_ha_per_yr, curves.states_10k_ha[1:], a0, curves_cv, d)
    analytic = float(analytic_long_run(params, planting_cost_intercept_yuan_per_ha=tau_eff)[0])
    hurdle = hurdle_rate(grid, rate)  # the curves' target of steady_state_targets, without the classes' one
    curves_target = analytic if hurdle == rate else float(
        analytic_long_run(params, planting_cost_intercept_yuan_per_ha=tau_eff * hurdle / rate)[0])
    if tail_restart(curves_path, inputs, curves_target) is not None:
        return None, {}, "the curves path restarts planting late in the horizon (the Pyomo path holds such tails)"
    areas = problem.area_10k_ha
    total = float(areas.sum())
    cumulative = np.cumsum(classes.planted_10k_ha, axis=1)
    classes_path = _path(starts, classes.rates_10k_ha_per_yr, total - cumulative.sum(axis=0), total,
                         classes.region_costate_cv_yuan_per_ha, d)
    keys = problem.key_columns  # the units' land type, province and slice, without the units table
    afforested_by_unit = cumulative[:, -1] if n else np.zeros(len(areas))
    unit_index, period_index = np.nonzero(classes.planted_10k_ha > 1e-9)  # class_planting_path's threshold
    planting = pd.DataFrame(
        {
            "land_type": keys["land_type"][unit_index],
            "province": keys["province"][unit_index],
            "slice": keys["slice"][unit_index],
            "period_start_yr": starts[period_index],
            "planted_area_10k_ha": classes.planted_10k_ha[unit_index, period_index],
        }
    )
    unit_pv = classes.unit_duals / YUAN_10K_IN_OBJECTIVE_UNIT
    s = YUAN_10K_IN_OBJECTIVE_UNIT
    alpha, beta = np.asarray(params.unconverted_esv_coefficients), np.asarray(params.afforested_esv_coefficients)
    a = curves.states_10k_ha
    curves_slope = s * (np.polynomial.polynomial.polyval(a, alpha) - np.polynomial.polynomial.polyval(a0 - a, beta))
    class_states = areas[:, None] - np.concatenate([np.zeros((len(areas), 1)), cumulative], axis=1)
    certificates = {
        "curves": array_certificate("curves", grid, rate, tau0, tau1, tau_eff, curves.rates_10k_ha_per_yr, curves_cv,
                                    curves.cap_multiplier_cv_yuan_per_ha, a[None, :], curves_slope[None, :],
                                    curves.land_balance_duals[None, :], np.array([a0])),
        "classes": array_certificate("classes", grid, rate, tau0, tau1, tau_eff, classes.rates_10k_ha_per_yr,
                                     classes.region_costate_cv_yuan_per_ha, classes.cap_multiplier_cv_yuan_per_ha,
                                     class_states, np.repeat((-s * problem.esv_gain_yuan_per_ha_yr)[:, None], n + 1, axis=1),
                                     classes.unit_duals, areas, classes.planted_10k_ha),
    }
    shadow_prices: list[dict[str, Any]] = []
    if cap is not None:
        for rep, multiplier in (("curves", curves.cap_multiplier_cv_yuan_per_ha),
                                ("classes", classes.cap_multiplier_cv_yuan_per_ha)):
            shadow_prices += [
                {"representation": rep, "constraint": CAP_CONSTRAINT, "index": k, "value": float(v),
                 "unit": "yuan (PV at t=0) per ha/yr"}
                for k, v in enumerate(multiplier * d * dt)
            ]
    welfare = {"curves": curves.welfare_terms_10e8_yuan, "classes": classes.welfare_terms_10e8_yuan}
    objective = {rep: float(sum(terms.values())) for rep, terms in welfare.items()}
    result = LandUseResult(
        scenario=scenario,
        params=params,
        roots=steady_state_roots(params, tau_eff),
        analytic_afforested_area_10k_ha=analytic,
        numeric_afforested_area_10k_ha=float(a0 - a[-1]),
        classes_afforested_area_10k_ha=float(afforested_by_unit.sum()),
        curves_path=curves_path,
        classes_path=classes_path,
        allocation=Deferred(_merit_order_allocation(inputs.classes, analytic)),
        classes_allocation=Deferred(_classes_allocation(problem, afforested_by_unit)),
        classes_planting=planting,
        curves_solver=_solve_result("projected-newton", ProblemClass.NLP, curves_s, objective["curves"],
                                    curves.iterations, True),
        classes_solver=_solve_result("price-decomposition", ProblemClass.QP, classes_s, objective["classes"],
                                     classes.iterations, True),
        welfare_10e8_yuan=objective,
        effective_planting_cost_yuan_per_ha=tau_eff,
        pontryagin=certificates,
        shadow_prices=shadow_prices,
        classes_costates=Deferred(_classes_costates(keys, starts, unit_pv, d)),
        saddle_path=_saddle_path(inputs, curves_path, shadow_prices),
        landuse_path="fast",
    )
    result.checks = [_fast_path_check()] + certify(inputs, result, {})
    return result, welfare, ""


def _merit_order_allocation(classes: pd.DataFrame, analytic_10k_ha: float) -> Callable[[], pd.DataFrame]:
    """Builds ``LandUseResult.allocation`` when read: the analytic area filled into the merit order."""
    table = classes.copy(deep=False)  # copy-on-write: a snapshot at no cost, safe from a later change to the inputs
    return lambda: fill_merit_order(table, min(analytic_10k_ha, float(table["area_10k_ha"].sum())))


def _classes_allocation(problem: LandUseProblem, afforested_by_unit: np.ndarray) -> Callable[[], pd.DataFrame]:
    """Builds ``LandUseResult.classes_allocation`` when read: the area afforested by the horizon per land type and
    province, as :func:`afforest.model.landuse.class_allocation` gives it."""

    def build() -> pd.DataFrame:
        land_type, province = problem.units["land_type"], problem.units["province"]
        allocation = pd.DataFrame({"land_type": land_type, "province": province, "area_10k_ha": afforested_by_unit})
        allocation = allocation.groupby(["land_type", "province"], as_index=False, sort=False)["area_10k_ha"].sum()
        return allocation[allocation["area_10k_ha"] > 1e-6].reset_index(drop=True)  # class_allocation's threshold

    return build


def _classes_costates(keys: dict[str, np.ndarray], starts: np.ndarray, unit_pv: np.ndarray,
                      discount: np.ndarray) -> Callable[[], pd.DataFrame]:
    """Builds ``LandUseResult.classes_costates`` when read: the costate per class and period, present and current
    value (:func:`afforest.model.costates.unit_costates`). ``keys``: the units' ``land_type``, ``province`` and
    ``slice`` arrays (:attr:`afforest.model.problem.LandUseProblem.key_columns`)."""
    land_type, province, slices = (keys[c] for c in ("land_type", "province", "slice"))
    n = starts.size
    return lambda: pd.DataFrame(
        {
            "land_type": np.repeat(land_type, n),
            "province": np.repeat(province, n),
            "slice": np.repeat(slices, n),
            "period_start_yr": np.tile(starts, len(land_type)),
            "costate_pv_yuan_per_ha": unit_pv.ravel(),
            "costate_cv_yuan_per_ha": (unit_pv / discount).ravel(),
        }
    )


def _fast_path_check() -> Check:
    """What the fast path's certificate does and does not test (always passes: it records, it does not judge)."""
    return Check(
        "landuse_fast_path",
        True,
        None,
        None,
        "both programs were solved by afforest's numpy path (projected Newton for the curves NLP, the price "
        "decomposition for the classes QP), not by Ipopt and HiGHS; their duals are derived from the solution (the "
        "costate as the suffix sum of the discounted marginal flows, the cap's multiplier from the planting "
        "condition), so for the curves the costate equation and the terminal condition hold by construction and "
        "their Pontryagin check tests planting optimality; for the classes it also tests the costate equation "
        "between the periods each class plants and every class's planting condition",
    )


def _saddle_path(inputs: Inputs, curves_path: pd.DataFrame, shadow_prices: list[dict[str, Any]]) -> dict[str, Any]:
    """As :func:`afforest.chain.landuse.solve_models` reports it: the analytic saddle path and the curves path's gap."""
    tau_eff = inputs.effective_planting_cost_yuan_per_ha
    try:
        summary = saddle_path_summary(inputs.params, tau_eff, curves_path)
    except InputError as exc:
        summary = saddle_path_summary(inputs.params, tau_eff, None)
        summary["saddle_path_note"] = f"no gap to the curves program's path: {exc.reason}"
        return summary
    resolved = PONTRYAGIN_RESIDUAL_LIMIT * abs(tau_eff) * inputs.grid.step_yr
    binding = sorted({p["constraint"] for p in shadow_prices
                      if p["representation"] == "curves" and p["value"] is not None and abs(p["value"]) > resolved})
    if binding:
        summary["saddle_path_note"] = (
            f"{', '.join(binding)} binds on the curves program, which leaves the unconstrained saddle path where it "
            "binds: the gap measures that constraint as well as the discretisation"
        )
    return summary


def solve_landuse_stage(inputs: Inputs, engine: str = "auto", *, models: Any = None, tee: bool = False,
                        allow_nonoptimal: bool = False) -> tuple[LandUseResult, dict[str, dict[str, float]], Any]:
    """The land-use stage on ``engine``: (result, welfare terms, the Pyomo models if they ran, else None).

    ``auto`` and ``fast`` run the fast path when the inputs are eligible; a fast solve that does not converge, or
    an ineligible scenario under ``auto``, runs the Pyomo models (``models`` if given, else built here) and says why
    in ``landuse_path_note``."""
    from afforest.chain.landuse import build_models, solve_models, welfare_terms

    chosen, note = resolve_engine(engine, inputs)
    if chosen == "fast":
        result, welfare, note = solve_fast(inputs)
        if result is not None:
            return result, welfare, None
    if models is None:
        models = build_models(inputs)
    result = solve_models(inputs, models, tee=tee, allow_nonoptimal=allow_nonoptimal)
    result.landuse_path = "pyomo"
    result.landuse_path_note = note if engine != "pyomo" else ""
    return result, welfare_terms(models), models
