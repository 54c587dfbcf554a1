"""The land-use stage for one scenario: the analytic steady state and both dynamic programs, solved and certified.

:func:`build_models` builds the curves NLP and the classes QP with the scenario's policy switches,
:func:`update_models` points built models at new inputs (sweeps re-use them), and :func:`solve_models` solves,
collects a :class:`~afforest.chain.results.LandUseResult` and certifies it (:mod:`afforest.chain.certify`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import pyomo.environ as pyo

from afforest.chain.bundle import InputBundle
from afforest.chain.certify import (
    PONTRYAGIN_RESIDUAL_LIMIT,
    certify,
    long_run_departures,
    nonoptimal_message,
    steady_state_targets,
    tail_restart,
)
from afforest.chain.inputs import Inputs, resolve_inputs
from afforest.chain.results import Check, LandUseResult
from afforest.errors import InputError, SolverError
from afforest.model.formulations import (
    apply_switches,
    registered_input_transforms,
    switches_structure,
    update_switches,
)
from afforest.model.landuse import (
    LandUseModel,
    afforested_area_by_horizon,
    build_classes_model,
    build_curves_model,
    class_allocation,
    class_planting_path,
    planting_path,
    welfare_term_values,
)
from afforest.model.costates import PontryaginCertificate, policy_shadow_prices, pontryagin_certificate, state_costates, unit_costates
from afforest.model.problem import LandUseProblem
from afforest.model.merit_order import fill_merit_order
from afforest.model.steady_state import long_run_afforested_area as analytic_long_run
from afforest.model.saddle_path import saddle_path_summary
from afforest.model.steady_state import steady_state_roots
from afforest.scenarios import Scenario
from afforest.solvers import SolveResult, SolverStatus, solve

__all__ = [
    "Models", "TAIL_SCALING_DISCOUNT_FLOOR", "TAIL_SCALING_DISCOUNT_LIMIT", "TailScaling", "build_models", "update_models", "structure_key", "solve_landuse",
    "solve_models", "tail_scaling_applies", "welfare_terms",
]


def structure_key(scenario: Scenario) -> str:
    """What fixes the models' structure: scenarios with equal keys differ only in mutable params.

    The numerics, the classes section, and what each registered switch and input transform says of its values
    (:mod:`afforest.model.formulations`).
    """
    payload = {
        "numerics": scenario.numerics.model_dump(mode="json"),
        "classes": scenario.classes.model_dump(mode="json"),
        "switches": switches_structure(scenario.policy),
        "input_transforms": {t.name: t.structure(scenario) for t in registered_input_transforms()},
    }
    return json.dumps(payload, sort_keys=True)


@dataclass
class Models:
    """Both representations built for one scenario structure."""

    curves: LandUseModel
    classes: LandUseModel


def build_models(inputs: Inputs) -> Models:
    """Build the curves NLP and the classes QP with every registered policy switch active in the scenario."""
    curves = build_curves_model(inputs.params, inputs.grid)
    classes = build_classes_model(inputs.classes, inputs.params, inputs.grid)
    data = inputs.switch_data
    for m in (curves, classes):
        apply_switches(m, inputs.scenario.policy, data)
    return Models(curves=curves, classes=classes)


def update_models(models: Models, inputs: Inputs) -> None:
    """Point models built for the same structure at new inputs by assigning their mutable params."""
    data = inputs.switch_data
    models.classes.set_land_units(LandUseProblem.from_classes(inputs.classes, inputs.params, inputs.grid))
    for m in (models.curves, models.classes):
        m.set_economic_params(inputs.params)
        update_switches(m, inputs.scenario.policy, data)


def solve_landuse(
    scenario: Scenario | str = "baseline",
    *,
    tee: bool = False,
    allow_nonoptimal: bool = False,
    bundle: InputBundle | None = None,
    tail_scaling: TailScaling = "auto",
) -> LandUseResult:
    """Analytic roots, the curves NLP (Ipopt) and the classes QP (HiGHS) for one scenario, certified.

    A solver that stops without an optimum raises :class:`SolverError` naming the scenario fields most likely
    responsible, unless ``allow_nonoptimal``: then the result is returned with ``status == "suspect"``.
    ``bundle``: the validated inputs (default: read once per process, :func:`afforest.chain.bundle.load_bundle`).
    ``tail_scaling``: solve both programs scaled to current values (:func:`afforest.solvers.solve`, docs/tail.md);
    ``"auto"`` (default) where e^{-rT} lies in [1e-10, 1e-4) (:func:`solve_models`).
    """
    inputs = resolve_inputs(scenario, bundle)
    return solve_models(inputs, build_models(inputs), tee=tee, allow_nonoptimal=allow_nonoptimal, tail_scaling=tail_scaling)


TAIL_SCALING_DISCOUNT_LIMIT = 1e-4
"""``tail_scaling="auto"`` scales a solve when the horizon's discount factor e^{-rT} falls below this. Measured on the
closed forms of tests/test_tail.py (docs/tail.md): unscaled, the solvers hold the tail to the discretisation's error
at e^{-rT} = e^{-5} (r = 0.05, T = 100: the study's baseline, kept bit-equal); at e^{-10} (T = 200) Ipopt's middle
path drifts to 10 times its discretisation error (0.0178 against 0.00172 x 10^4 ha), at e^{-15} HiGHS leaves
4.47 x 10^4 ha unplanted. 1e-4 lies between e^{-5} = 6.7e-3 and e^{-10} = 4.5e-5."""
TAIL_SCALING_DISCOUNT_FLOOR = 1e-10
"""... and only while e^{-rT} stays above this: scaled by factors that small, a variable's feasibility tolerance in its
own units grows like e^{rT}. Measured on the study's baseline at T = 100 yr: scaled, both programs hit Eq. 3 and the
classes' steady state at r = 0.10, 0.15 and 0.20 (unscaled, the curves NLP is 0.06 % off at r = 0.15 and suspect at
0.20); at r = 0.25 (e^{-25} = 1.4e-11) the scaled classes QP stops without an optimum, and at r = 0.30 it reports an
optimum planting 199.6 x 10^4 ha against a steady state of 57.1. Below the floor the tail hold
(``hold_undetermined_tail``) is the remedy."""

TailScaling = bool | Literal["auto"]
"""``True``/``False``, or ``"auto"``: scale where TAIL_SCALING_DISCOUNT_FLOOR <= e^{-rT} < TAIL_SCALING_DISCOUNT_LIMIT, and fall back to an unscaled
solve (then the tail hold, if asked) where the scaled one stops without an optimum."""


def tail_scaling_applies(inputs: Inputs, tail_scaling: TailScaling) -> bool:
    """Whether ``tail_scaling`` asks for a scaled solve of ``inputs``' programs."""
    if tail_scaling == "auto":
        horizon_discount = math.exp(-inputs.params.financial_discount_rate * inputs.grid.horizon_yr)
        return TAIL_SCALING_DISCOUNT_FLOOR <= horizon_discount < TAIL_SCALING_DISCOUNT_LIMIT
    if not isinstance(tail_scaling, bool):
        raise InputError('must be True, False or "auto"', field="tail_scaling", value=tail_scaling)
    return tail_scaling


def _solve_one(model: pyo.ConcreteModel, choice: str, inputs: Inputs, label: str, tee: bool, allow_nonoptimal: bool,
               tail_scaling: bool = False, fallback: list[str] | None = None) -> SolveResult:
    """Solve and refuse a non-optimum unless ``allow_nonoptimal``. ``fallback`` (a list): a scaled solve that stops
    without an optimum is retried unscaled and ``label`` appended to the list (``tail_scaling="auto"``)."""
    if tail_scaling and fallback is not None:
        start = [(var, var.value) for var in model.component_data_objects(pyo.Var, descend_into=True)]
        try:
            scaled = solve(model, choice, tee=tee, allow_nonoptimal=True, tail_scaling=True)
        except SolverError:
            scaled = None
        if scaled is not None and scaled.status is SolverStatus.OPTIMAL:
            return scaled
        for var, value in start:  # the failed point would be the retry's warm start (measured: Ipopt then diverges)
            var.set_value(value, skip_validation=True)
        fallback.append(label)
        tail_scaling = False
    try:
        result = solve(model, choice, tee=tee, allow_nonoptimal=True, tail_scaling=tail_scaling)
    except SolverError as exc:
        raise SolverError(nonoptimal_message(inputs, label, f"failed: {exc}")) from exc
    if result.status is not SolverStatus.OPTIMAL and not allow_nonoptimal:
        raise SolverError(
            nonoptimal_message(
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


def _solve_held(
    model: pyo.ConcreteModel, hold_yr: float, choice: str, inputs: Inputs, label: str, tee: bool, allow_nonoptimal: bool,
    tail_scaling: bool = False, fallback: list[str] | None = None,
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
        return _solve_one(model, choice, inputs, label, tee, allow_nonoptimal, tail_scaling, fallback)
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
    tail_scaling: TailScaling = "auto",
) -> LandUseResult:
    """Solve built (or updated) models for ``inputs``, collect the results and certify them (``checks``).

    ``hold_undetermined_tail``: when a program's planting restarts late in the horizon, where the discount weight
    is too small for the solvers to pin the path down, solve it again with planting held at zero from the year
    the certificate would advise as horizon (see :func:`tail_restart`), i.e. the same program with that horizon and
    its terminal value. The held program must then pass every check like any other (the area against its steady
    state above all); a check ``<representation>_tail_held`` says what was done.

    ``tail_scaling``: every solve scaled to current values (:func:`afforest.solvers.solve`, docs/tail.md): ``True``,
    ``False`` or ``"auto"`` (the default: where :data:`TAIL_SCALING_DISCOUNT_FLOOR` <= e^{-rT} <
    :data:`TAIL_SCALING_DISCOUNT_LIMIT`, with an unscaled retry
    where the scaled solve stops short; a check ``<representation>_tail_scaled`` says what was done).
    """
    params = inputs.params
    effective_cost = inputs.effective_planting_cost_yuan_per_ha
    roots = steady_state_roots(params, effective_cost)
    analytic = float(analytic_long_run(params, planting_cost_intercept_yuan_per_ha=effective_cost)[0])
    solver = inputs.scenario.solver
    scaled = tail_scaling_applies(inputs, tail_scaling)
    fallback: list[str] | None = [] if tail_scaling == "auto" else None
    curves_result = _solve_one(models.curves, solver.nlp, inputs, "curves NLP", tee, allow_nonoptimal, scaled, fallback)
    classes_result = _solve_one(models.classes, solver.qp, inputs, "classes QP", tee, allow_nonoptimal, scaled, fallback)
    held: list[Check] = []
    held_from: dict[str, float] = {}
    if hold_undetermined_tail:
        targets = steady_state_targets(inputs)
        solved = {"curves": curves_result, "classes": classes_result}
        no_steady_state = long_run_departures(inputs)  # late planting there is the policy's, not solver noise
        for (rep, model, choice, label), target in zip(
            (("curves", models.curves, solver.nlp, "curves NLP"), ("classes", models.classes, solver.qp, "classes QP")),
            targets,
        ):
            if solved[rep].status is not SolverStatus.OPTIMAL or no_steady_state[rep]:
                continue
            restart = tail_restart(planting_path(model), inputs, target)
            if restart is None or restart[1] >= inputs.grid.horizon_yr:
                continue
            year, hold = restart
            try:
                again = _solve_held(model, hold, choice, inputs, label, tee, True, scaled, fallback)
            except SolverError:
                again = None
            if again is None or again.status is not SolverStatus.OPTIMAL:
                # the held program did not solve: back to the first answer, which the checks then flag
                solved[rep] = _solve_one(model, choice, inputs, label, tee, allow_nonoptimal, scaled, fallback)
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
    shift = effective_cost - params.planting_cost_intercept_yuan_per_ha
    certificates: dict[str, PontryaginCertificate] = {}
    shadow_prices: list[dict[str, Any]] = []
    paths = {"curves": planting_path(models.curves), "classes": planting_path(models.classes)}
    classes_costates = None
    for rep, model, solved in (("curves", models.curves, curves_result), ("classes", models.classes, classes_result)):
        if solved.status is not SolverStatus.OPTIMAL or not solved.duals:
            continue
        certificates[rep] = pontryagin_certificate(model, solved.duals, shift, held_from_yr=held_from.get(rep))
        costates = state_costates(model, solved.duals).drop(columns="period_start_yr")
        paths[rep] = pd.concat([paths[rep], costates], axis=1)
        shadow_prices += [{"representation": rep, **price} for price in policy_shadow_prices(model, solved.duals)]
        if rep == "classes":
            classes_costates = unit_costates(model, solved.duals)
    result = LandUseResult(
        scenario=inputs.scenario,
        params=params,
        roots=roots,
        analytic_afforested_area_10k_ha=analytic,
        numeric_afforested_area_10k_ha=_value_or_nan(afforested_area_by_horizon, models.curves),
        classes_afforested_area_10k_ha=_value_or_nan(afforested_area_by_horizon, models.classes),
        curves_path=paths["curves"],
        classes_path=paths["classes"],
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
        pontryagin=certificates,
        shadow_prices=shadow_prices,
        classes_costates=classes_costates,
        saddle_path=_saddle_path(
            inputs, paths["curves"] if curves_result.status is SolverStatus.OPTIMAL else None, shadow_prices
        ),
    )
    result.checks = _scaling_checks(inputs, scaled, fallback) + held + certify(inputs, result, held_from)
    return result


def _scaling_checks(inputs: Inputs, scaled: bool, fallback: list[str] | None) -> list[Check]:
    """``<representation>_tail_scaled``: what an automatic tail scaling did (nothing when it did not apply)."""
    if not scaled or fallback is None:
        return []
    discount = math.exp(-inputs.params.financial_discount_rate * inputs.grid.horizon_yr)
    checks = []
    for rep, label in (("curves", "curves NLP"), ("classes", "classes QP")):
        if label in fallback:
            reason = (f"e^{{-rT}} = {discount:.1e} < {TAIL_SCALING_DISCOUNT_LIMIT:g}, so the {label} was solved scaled to "
                      "current values (docs/tail.md), but the scaled solve stopped without an optimum and it was solved "
                      "unscaled; the checks below judge that answer")
        else:
            reason = (f"e^{{-rT}} = {discount:.1e} < {TAIL_SCALING_DISCOUNT_LIMIT:g}: the {label} was solved scaled to "
                      "current values, so its late periods are held to the solver's tolerance like year 0's (docs/tail.md)")
        checks.append(Check(f"{rep}_tail_scaled", True, discount, TAIL_SCALING_DISCOUNT_LIMIT, reason))
    return checks


def _saddle_path(
    inputs: Inputs, curves_path: pd.DataFrame | None, shadow_prices: list[dict[str, Any]]
) -> dict[str, Any]:
    """The analytic saddle path of the continuous problem (Eq. 3's, at the effective planting cost) from A0, and its
    gap to the curves program's path (:func:`afforest.model.saddle_path.saddle_path_summary`). The gap measures the
    discretisation (second order in the step) and the tail; a policy constraint that binds on the curves program
    (a nonzero shadow price: a planting cap, or any registered switch's constraint) takes it off the unconstrained
    saddle path, which the note says."""
    try:
        summary = saddle_path_summary(inputs.params, inputs.effective_planting_cost_yuan_per_ha, curves_path)
    except InputError as exc:  # a path the gap cannot be measured on (e.g. a single period): the path alone
        summary = saddle_path_summary(inputs.params, inputs.effective_planting_cost_yuan_per_ha, None)
        summary["saddle_path_note"] = f"no gap to the curves program's path: {exc.reason}"
        return summary
    # An interior point leaves ~1e-8 on slack constraints: a price binds above what the Pontryagin certificate
    # resolves, its relative limit times the first-year cost of a period's planting (yuan, PV).
    resolved = PONTRYAGIN_RESIDUAL_LIMIT * abs(inputs.effective_planting_cost_yuan_per_ha) * inputs.grid.step_yr
    binding = sorted(
        {p["constraint"] for p in shadow_prices
         if p["representation"] == "curves" and p["value"] is not None and abs(p["value"]) > resolved}
    )
    if binding:
        summary["saddle_path_note"] = (
            f"{', '.join(binding)} binds on the curves program, which leaves the unconstrained saddle path where it "
            "binds: the gap measures that constraint as well as the discretisation"
        )
    return summary


def welfare_terms(models: Any) -> dict[str, dict[str, float]]:
    """Each named welfare term of each solved representation of ``models`` (a :class:`Models`), 10^8 yuan (PV); an
    empty dict for a representation whose solve left variables without values."""
    out: dict[str, dict[str, float]] = {}
    for rep in ("curves", "classes"):
        model = getattr(models, rep, None)
        if model is None:
            continue
        try:
            out[rep] = {name: float(value) for name, value in welfare_term_values(model).items()}
        except (ValueError, TypeError):  # a failed solve leaves variables without values
            out[rep] = {}
    return out
