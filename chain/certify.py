"""Certificates of a solved scenario: every number is checked against what is known before it is reported.

A result passes when both solvers report an optimum, the curves NLP reaches Eq. 3 (at the discrete program's
hurdle), the classes QP reaches its own closed-form steady state, both paths are at rest by the horizon, and the
classes stay within their land. A failed check makes the result ``suspect`` with a reason that names the scenario
field to change.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from afforest.chain.inputs import Inputs
from afforest.chain.results import Check, LandUseResult
from afforest.model.formulations import registered_switches, switch_values
from afforest.model.landuse import TimeGrid
from afforest.model.merit_order import classes_steady_state_area
from afforest.model.steady_state import long_run_afforested_area as analytic_long_run
from afforest.model.steady_state import steady_state_roots
from afforest.solvers import SolverStatus

__all__ = [
    "AREA_GAP_LIMIT",
    "CONVERGENCE_LIMIT",
    "TAIL_WINDOW_SHARE",
    "RESOLVED_DISCOUNT_WEIGHT",
    "LAND_BALANCE_LIMIT",
    "MIN_REPORTED_SHARE",
    "PONTRYAGIN_RESIDUAL_LIMIT",
    "certify",
    "pontryagin_checks",
    "hurdle_rate",
    "tail_restart",
    "nonoptimal_message",
    "steady_state_targets",
    "path_diagnosis",
]

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


PONTRYAGIN_RESIDUAL_LIMIT = 1e-5
"""Largest residual allowed of a path's Pontryagin certificate (:mod:`afforest.model.costates`): present-value
residuals relative to period 0's marginal planting cost (~2.3 x 10^5 yuan/ha at the baseline), so 1e-5 is ~2
yuan/ha. Why present value: the solvers' tolerances bound the KKT residuals of the objective, a present value; a
current-value residual of period k is the PV one times e^{r t_k}, so it grows like e^{rt} while the solver is right
to its tolerance (baseline, curves: costate equation 1.6e-10 yuan/ha current value in year 1, 7e-8 in year 99,
both ~2e-15 relative in PV). What remains is the complementarity of planting at the end of a path: an interior-point
solver stops with z R ~ mu, which leaves min(G, 2 tau1 R) up to sqrt(2 tau1 mu / (s e^{-rt} dt)). Measured (Ipopt
tol 1e-10, HiGHS HiPO 1e-12/1e-10): every shipped scenario at most 5.6e-8 (curves, the planting cap) and 1e-11
(classes); curves over r = 0.2-30 % at most 5.8e-7 (r = 0.2 %; 7.9e-7 at dt = 0.5 yr); classes at dt = 0.25 yr
4.2e-6 (a class filled in year 12.25). 1e-5 sits above these (the sqrt law: grids finer than ~0.05 yr may reach
it) and far below a fault of the program: a cost misstated by 1 % of tau(0) gives ~2e-3."""

BINDING_SHADOW_PRICE_FLOOR = 1e-3
"""A switch's constraint binds when a shadow price exceeds this, yuan per unit of its bound (per ha, per ha/yr or per
t CO2): an interior point leaves about 1e-8 objective units on a slack row, 1e-4 yuan per unit."""


def _fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"


def hurdle_rate(grid: TimeGrid, rate: float) -> float:
    """Yearly annuity of one yuan of planting cost at a steady state of the discrete program: r (integrated), or
    (e^{r dt} - 1)/dt (sampled; see afforest.model.landuse)."""
    if grid.discounting == "sampled":
        return math.expm1(rate * grid.step_yr) / grid.step_yr
    return rate


def tail_restart(path: pd.DataFrame, inputs: Inputs, long_run: float) -> tuple[float, float] | None:
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


def path_diagnosis(
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
    restart = tail_restart(path, inputs, long_run)
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
        if label.startswith("curves") and inputs.grid.terminal_value == "rest" and cap is None:
            why += (
                "; numerics.terminal_value = \"saddle_path\" makes the path up to T the infinite-horizon one "
                "(docs/tail.md), though its area by T is still not the long run"
            )
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


def nonoptimal_message(inputs: Inputs, label: str, detail: str, *, advise_allow: bool = True) -> str:
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


STEADY_STATE_CHECKS: dict[str, tuple[str, ...]] = {
    "curves": ("curves_gap_to_eq3", "curves_converged_by_horizon"),
    "classes": ("classes_converged_by_horizon", "classes_gap_to_steady_state"),
}
"""The checks that hold a program against its analytic long run, by representation."""


def long_run_departures(inputs: Inputs, result: LandUseResult | None = None) -> dict[str, list[str]]:
    """Representation -> why its long run is not Eq. 3's (``Switch.long_run_note`` of every active switch that applies
    to it; a switch whose note needs its constraint binding counts only with ``result`` and a shadow price above
    :data:`BINDING_SHADOW_PRICE_FLOOR`)."""
    policy = inputs.scenario.policy
    out: dict[str, list[str]] = {rep: [] for rep in STEADY_STATE_CHECKS}
    for switch in registered_switches():
        values = switch_values(switch, policy)
        note = switch.long_run_note(values) if switch.is_active(values) else None
        if note is None:
            continue
        for rep in out:
            if rep not in switch.representations:
                continue
            if switch.long_run_note_needs_binding and (result is None or not any(
                price["representation"] == rep and price["constraint"].split(".")[0] == switch.name
                and price["value"] is not None and abs(price["value"]) > BINDING_SHADOW_PRICE_FLOOR
                for price in result.shadow_prices
            )):
                continue
            out[rep].append(f"{switch.name}: {note}")
    return out


def certify(inputs: Inputs, result: LandUseResult, held_from: dict[str, float] | None = None) -> list[Check]:
    """Every check of a solved scenario (:func:`certify_steady_states` and the Pontryagin certificate); a
    representation whose long run is not Eq. 3's (:func:`long_run_departures`) has its steady-state checks replaced by
    a passed note, and the certificate judges it."""
    checks = certify_steady_states(inputs, result, held_from)
    departures = long_run_departures(inputs, result)
    for rep, notes in departures.items():
        if not notes:
            continue
        names = STEADY_STATE_CHECKS[rep]
        checks = [
            Check(c.name, True, None, None, f"not asked: {'; '.join(notes)}; the Pontryagin certificate judges the path")
            if c.name in names else c
            for c in checks
        ]
    return checks + pontryagin_checks(result)


def certify_steady_states(inputs: Inputs, result: LandUseResult, held_from: dict[str, float] | None = None) -> list[Check]:
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
                else nonoptimal_message(
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
    target, classes_target = steady_state_targets(inputs)
    roots = steady_state_roots(params, tau_eff * hurdle_rate(inputs.grid, r) / r)
    numeric = result.numeric_afforested_area_10k_ha
    saddles = [x.afforested_area_10k_ha for x in roots if x.stability.value == "saddle_path_stable"]
    if len(saddles) > 1:  # several stable roots (a Skiba case): the optimum may settle at any of them or a corner
        target = min([*saddles, 0.0, a0], key=lambda z: abs(z - numeric))
    gap = (numeric - target) / target if target > 0 else numeric / a0
    name = "Eq. 3" if inputs.grid.discounting != "sampled" else "the sampled program's steady state"
    curves_rest, curves_why = path_diagnosis(result.curves_path, inputs, "curves NLP", target, held_from.get("curves"))
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
    classes_rest, classes_why = path_diagnosis(result.classes_path, inputs, "classes QP", classes_target, held_from.get("classes"))
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
            f"(every class whose yearly ESV gain exceeds {_fmt(hurdle_rate(inputs.grid, r) * tau_eff)} yuan/ha"
            f"{', quotas filled best class first' if inputs.scenario.policy.province_quota_10k_ha else ''}; "
            f"{100 * classes_gap:+.3g} %)"
        )
        reason += ": " + classes_why if classes_why else ": the path is at rest by T, so the QP has settled elsewhere; report it"
    checks.append(Check("classes_gap_to_steady_state", ok, float(classes_gap), AREA_GAP_LIMIT, reason))
    return checks


def pontryagin_checks(result: LandUseResult) -> list[Check]:
    """``<representation>_pontryagin``: the path's certificate (planting optimality, costate equation, terminal
    condition) below :data:`PONTRYAGIN_RESIDUAL_LIMIT`, weighed in present value (see the limit: what the solver
    controls)."""
    checks: list[Check] = []
    for rep, label in (("curves", "curves NLP"), ("classes", "classes QP")):
        certificate = result.pontryagin.get(rep)
        if certificate is None:
            checks.append(Check(f"{rep}_pontryagin", False, None, PONTRYAGIN_RESIDUAL_LIMIT,
                                f"the {label} has no Pontryagin certificate: its solver reported no optimum, hence no duals"))
            continue
        worst = certificate.max_residual
        ok = bool(math.isfinite(worst) and worst <= PONTRYAGIN_RESIDUAL_LIMIT)
        parts = {"planting optimality": certificate.max_optimality, "costate equation": certificate.max_costate_equation,
                 "terminal condition": certificate.terminal}
        scale = certificate.scale_yuan_per_ha
        if ok:
            reason = (f"the {label}'s path satisfies the discrete Pontryagin conditions to {worst:.2g} of period 0's "
                      f"marginal planting cost ({_fmt(scale)} yuan/ha), in present value")
        else:
            failing = max(parts, key=lambda k: parts[k] if math.isfinite(parts[k]) else math.inf)
            reason = (f"the {label}'s path fails its Pontryagin certificate: the {failing} is off by {parts[failing]:.2g} "
                      f"of period 0's marginal planting cost ({_fmt(scale * parts[failing])} yuan/ha in present value; "
                      f"limit {PONTRYAGIN_RESIDUAL_LIMIT:g}): the solver's point is not the optimum of the program it was "
                      "given; rerun with another solver.nlp / solver.qp, or report it")
        checks.append(Check(f"{rep}_pontryagin", ok, float(worst), PONTRYAGIN_RESIDUAL_LIMIT, reason))
    return checks



def steady_state_targets(inputs: Inputs) -> tuple[float, float]:
    """Long-run areas the two programs must reach: Eq. 3 (at the discrete program's hurdle) and the classes'
    closed-form steady state."""
    params, policy = inputs.params, inputs.scenario.policy
    hurdle = hurdle_rate(inputs.grid, params.financial_discount_rate)
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



