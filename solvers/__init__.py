"""One entry point, :func:`solve`, that picks and runs the right solver for a Pyomo model.

* NLP (any nonlinear term, e.g. the curves model): Ipopt, either an ``ipopt`` executable on PATH
  (``idaes get-extensions``, conda-forge) or cyipopt through Pyomo's PyNumero (``make setup`` builds
  the ASL library it needs). The executable is preferred when both exist.
* LP and convex QP (the classes model): HiGHS through ``pyomo.contrib.solver`` (Pyomo's ``appsi_highs``
  rejects quadratic objectives). QPs use the interior-point solver HiPO (``highspy-extras``), because
  HiGHS's default active-set QP solver stops once more than ``qp_nullspace_limit`` (4000) variables are
  free. :func:`hipo_check` tries HiPO on a tiny QP once per process (it is unusable when the versions of
  ``highspy`` and ``highspy-extras`` differ); if it cannot run, QPs fall back to HiGHS's own choice with a
  :class:`SolverFallbackWarning` naming both versions.

Every call returns a :class:`SolveResult` with the solver's name and version, its termination, a
normalised :class:`SolverStatus`, the wall time and the constraints' dual values (:attr:`SolveResult.duals`, one
sign convention for every solver: :data:`DUAL_SIGN_CONVENTION`). A result that is not optimal raises
:class:`afforest.errors.SolverError` unless ``allow_nonoptimal=True``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
import time
import warnings
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from functools import cache
from typing import Any, Protocol, runtime_checkable

import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory as ContribSolverFactory
from pyomo.contrib.solver.common.results import TerminationCondition as ContribTermination
from pyomo.core.expr.visitor import polynomial_degree
from pyomo.opt import TerminationCondition as LegacyTermination

from afforest.errors import SolverError

__all__ = [
    "DerivedParamsModel",
    "CurrentValueScalableModel",
    "TAIL_SCALING_IPOPT_OPTIONS",
    "ipopt_executable_version",
    "cyipopt_version",
    "reset_hipo_fallback_warning",
    "SolverStatus",
    "SolveResult",
    "ProblemClass",
    "problem_class",
    "available_solvers",
    "HipoCheck",
    "hipo_check",
    "qp_algorithm",
    "SolverFallbackWarning",
    "clear_warm_start",
    "stdout_to_stderr",
    "forget_session",
    "QP_ACTIVE_SET_FREE_VARIABLE_LIMIT",
    "solve",
    "SOLVER_CHOICES",
    "DUAL_SIGN_CONVENTION",
    "Duals",
]

DUAL_SIGN_CONVENTION = (
    "the dual of a constraint lower <= body <= upper (an equality lhs == rhs has body lhs - rhs) is the change of "
    "the objective, in the objective's units, per unit raised of its bound (of rhs - lhs for an equality) for a "
    "maximisation: the value of relaxing a binding <= constraint by one unit is >= 0"
)
"""What :attr:`SolveResult.duals` holds. HiGHS (pyomo.contrib.solver) and Ipopt (cyipopt through PyNumero, or the
executable through pyomo.contrib.solver) both report this sign for a maximisation: tests/test_costates.py checks
it on a QP whose duals are known by hand (the land-use models all maximise)."""

Duals = Mapping[Any, float]
"""Constraint data object -> dual value (:data:`DUAL_SIGN_CONVENTION`), for the active constraints of a solve."""

SOLVER_CHOICES = ("auto", "ipopt", "cyipopt", "highs")
"""``ipopt``: an Ipopt executable if on PATH, else cyipopt; ``cyipopt``: PyNumero only; ``highs``: HiGHS."""

_INSTALL_IPOPT = (
    "Ipopt is not available. Run `make setup` (installs cyipopt-wheels and builds PyNumero's ASL library "
    "against Debian's libamplsolver-dev), or put an `ipopt` executable on PATH "
    "(`idaes get-extensions` or `conda install -c conda-forge ipopt`)."
)
_INSTALL_HIGHS = "HiGHS is not available: `pip install highspy` (and `highspy-extras` for its QP interior point)."


# Tolerances tighter than the solvers' defaults. Discounting makes late periods weigh e^{-rT} as much as early
# ones, so with default tolerances the tail of a path (and hence the long-run area) is weakly determined:
# at T = 200 yr, r = 5 % HiGHS's default QP solver left the area 6e-4 off a closed-form answer and Ipopt
# (tol 1e-8) 3e-3; with these settings both are within 3e-6 (tests/test_landuse.py). Caller options win.
IPOPT_DEFAULT_OPTIONS: dict[str, Any] = {"tol": 1e-10}
HIGHS_QP_DEFAULT_OPTIONS: dict[str, Any] = {
    "ipm_optimality_tolerance": 1e-12,
    "primal_feasibility_tolerance": 1e-10,
    "dual_feasibility_tolerance": 1e-10,
}


@runtime_checkable
class DerivedParamsModel(Protocol):
    """A model whose params derive from others (e.g. :class:`afforest.model.landuse.LandUseModel`: discount
    weights from the discount rate); :func:`solve` calls :meth:`refresh_derived_params` before every solve."""

    def refresh_derived_params(self) -> None:
        """Recompute the derived params from the current values of the ones they derive from."""


@runtime_checkable
class CurrentValueScalableModel(Protocol):
    """A discounted model that can say how to scale it to current values (``solve(..., tail_scaling=True)``), e.g.
    :class:`afforest.model.landuse.LandUseModel`."""

    def current_value_scaling(self) -> Mapping[Any, float]:
        """Variable or constraint data -> scaling factor (Pyomo's ``scaling_factor`` convention: the solver sees
        factor x variable and factor x constraint); what is not listed keeps factor 1."""


TAIL_SCALING_IPOPT_OPTIONS: dict[str, Any] = {"tol": 1e-13}
"""Ipopt's tolerance under ``tail_scaling``: the barrier term mu log R_k sits on a period's rate whatever its scale,
so with the current-value scaling alone (tol 1e-10) Ipopt still over-plants the slow closed form's tail (0.24 x 10^4 ha
at T = 300 yr, dt = 0.25); with tol 1e-13 all 27 closed-form cases of docs/tail.md are optimal, the middle and fast
paths end within 1.4e-5 x 10^4 ha of the exact path (tol 1e-13 without the scaling: one case stops without an
optimum, and those tails end up to 3.7e-3 off)."""


class SolverStatus(StrEnum):
    """Solver outcome, normalised across interfaces."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    ITERATION_LIMIT = "iteration_limit"
    TIME_LIMIT = "time_limit"
    ERROR = "error"
    UNKNOWN = "unknown"


class ProblemClass(StrEnum):
    LP = "LP"
    QP = "QP"
    NLP = "NLP"


@dataclass(frozen=True)
class SolveResult:
    """What ran and how it ended."""

    solver: str
    """Solver family: ``ipopt`` or ``highs``."""
    interface: str
    """How it was reached: ``ipopt-executable``, ``cyipopt`` (PyNumero) or ``highspy``."""
    version: str
    algorithm: str
    """Algorithm inside the solver where it matters (HiGHS: ``hipo``, ``choose``), else ``default``."""
    problem_class: ProblemClass
    status: SolverStatus
    termination: str
    """The interface's own termination condition, verbatim."""
    wall_time_s: float
    objective: float | None
    duals: Duals = field(default_factory=dict, compare=False, repr=False)
    """Active constraint data -> dual value at the solution (:data:`DUAL_SIGN_CONVENTION`); empty when the solver
    ended without a solution. Not part of :meth:`as_dict` (its keys are Pyomo objects)."""

    @property
    def label(self) -> str:
        """A one-line description for reports, e.g. ``ipopt 3.14.11 (cyipopt)``."""
        return f"{self.solver} {self.version} ({self.interface}{'' if self.algorithm == 'default' else ', ' + self.algorithm})"

    def as_dict(self) -> dict[str, Any]:
        """Plain values (the duals left out) and the label."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "duals"}
        return {**out, "label": self.label}


_CLASS_CACHE: weakref.WeakKeyDictionary[pyo.Block, tuple[tuple[Any, ...], ProblemClass]] = weakref.WeakKeyDictionary()


def _structure_fingerprint(model: pyo.Block) -> tuple[Any, ...]:
    """Which constraint and objective components exist, are active, and how many members they have."""
    return tuple(
        (id(component), component.active, len(component))
        for component in model.component_objects((pyo.Constraint, pyo.Objective), descend_into=True)
    )


def problem_class(model: pyo.Block) -> ProblemClass:
    """LP, QP (quadratic objective, linear constraints) or NLP, from the active components' degrees.

    Re-solves of an unchanged structure (a sweep assigning params) reuse the last answer; adding,
    deleting or (de)activating a component classifies the model again.
    """
    fingerprint = _structure_fingerprint(model)
    cached = _CLASS_CACHE.get(model)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    kind = _classify(model)
    _CLASS_CACHE[model] = (fingerprint, kind)
    return kind


def _classify(model: pyo.Block) -> ProblemClass:
    worst = 0
    for con in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        degree = polynomial_degree(con.body)
        if degree is None or degree > 1:
            return ProblemClass.NLP
    for obj in model.component_data_objects(pyo.Objective, active=True, descend_into=True):
        degree = polynomial_degree(obj.expr)
        if degree is None or degree > 2:
            return ProblemClass.NLP
        worst = max(worst, degree)
    return ProblemClass.QP if worst == 2 else ProblemClass.LP


@cache
def ipopt_executable_version() -> str | None:
    """Version of the ``ipopt`` executable on PATH, or None if there is none."""
    if shutil.which("ipopt") is None:
        return None
    solver = ContribSolverFactory("ipopt")
    if not solver.available():
        return None
    return ".".join(map(str, solver.version()))


@cache
def cyipopt_version() -> str | None:
    """Version of cyipopt with Pyomo's ASL interface usable, or None."""
    if importlib.util.find_spec("cyipopt") is None:
        return None
    try:
        from pyomo.contrib.pynumero.asl import AmplInterface

        if not AmplInterface.available():
            return None
        import cyipopt
    except ImportError:
        return None
    return ".".join(map(str, cyipopt.IPOPT_VERSION))


@cache
def _highs_version() -> str | None:
    solver = ContribSolverFactory("highs")
    if not solver.available():
        return None
    return ".".join(map(str, solver.version()))


@dataclass(frozen=True)
class HipoCheck:
    """Whether HiGHS's interior-point QP solver HiPO runs here, and why not when it does not."""

    usable: bool
    highspy_version: str | None
    extras_version: str | None
    reason: str
    """Empty when usable; otherwise a sentence naming the versions and what to do."""


def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to standard output, by Python or by a solver's C code (file descriptor 1), to
    stderr while the block runs, so that `--json` output stays parseable whatever a solver prints."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@cache
def hipo_check() -> HipoCheck:
    """Try HiPO on a one-variable QP (min x^2 - x on [0, 10]) instead of trusting that a package is installed.

    HiPO ships in ``highspy-extras``, which HiGHS loads only when its version matches ``highspy``'s: with
    highspy 1.16.0 and highspy-extras 1.15.1, ``solver = "hipo"`` is rejected. The probe costs ~1 ms once
    per process.
    """
    core, extras = _distribution_version("highspy"), _distribution_version("highspy-extras")
    fix = (
        f"install matching versions, e.g. `pip install 'highspy=={extras}' 'highspy-extras=={extras}'` "
        "(the lock file that `make setup` installs pins them together)"
    )
    if core is None:
        return HipoCheck(False, core, extras, "highspy is not installed")
    if extras is None:
        return HipoCheck(False, core, extras, f"highspy-extras is not installed (highspy {core}); {fix}")
    import highspy
    import numpy as np

    with stdout_to_stderr():  # some highspy releases print a banner when a Highs object is created
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if h.setOptionValue("solver", "hipo") != highspy.HighsStatus.kOk:
        return HipoCheck(
            False, core, extras,
            f"HiGHS rejects solver = 'hipo' with highspy {core} and highspy-extras {extras} "
            f"(their versions must match); {fix}",
        )
    h.addVar(0.0, 10.0)
    h.changeColCost(0, -1.0)
    hessian = highspy.HighsHessian()
    hessian.dim_ = 1
    hessian.format_ = highspy.HessianFormat.kTriangular
    hessian.start_ = np.array([0, 1], dtype=np.int32)
    hessian.index_ = np.array([0], dtype=np.int32)
    hessian.value_ = np.array([2.0])
    h.passHessian(hessian)
    h.run()
    x = h.getSolution().col_value[0]
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal or abs(x - 0.5) > 1e-6:
        return HipoCheck(
            False, core, extras,
            f"HiPO (highspy {core}, highspy-extras {extras}) did not solve a one-variable test QP "
            f"(status {h.getModelStatus()}, x = {x}, expected 0.5); {fix}",
        )
    return HipoCheck(True, core, extras, "")


def reset_hipo_fallback_warning() -> None:
    """Forget that the HiPO fallback warning was given (it is given once per process), e.g. in a test."""
    _HIPO_WARNED.clear()


class SolverFallbackWarning(UserWarning):
    """A preferred solver could not run and another one is used instead."""


def qp_algorithm() -> str:
    """The HiGHS algorithm QPs will use here: ``hipo`` when it runs, else HiGHS's own choice (active set)."""
    return "hipo" if hipo_check().usable else "choose"


_HIPO_WARNED: list[bool] = []


def _warn_hipo_fallback() -> None:
    if _HIPO_WARNED:
        return
    _HIPO_WARNED.append(True)
    warnings.warn(
        f"{hipo_check().reason}. QPs fall back to HiGHS's active-set solver, which stops once more than "
        f"{QP_ACTIVE_SET_FREE_VARIABLE_LIMIT} variables are free.",
        SolverFallbackWarning,
        stacklevel=3,
    )


QP_ACTIVE_SET_FREE_VARIABLE_LIMIT = 4000
"""HiGHS's ``qp_nullspace_limit`` default: its active-set QP solver stops past this many free variables."""


def available_solvers() -> dict[str, str | None]:
    """Interface name -> solver version, or None when that interface cannot run here.

    ``qp-algorithm`` says which HiGHS algorithm QPs will use (``hipo``, or ``choose`` after a fallback).
    """
    hipo = hipo_check()
    return {
        "ipopt-executable": ipopt_executable_version(),
        "cyipopt": cyipopt_version(),
        "highspy": _highs_version(),
        "highspy-extras (HiPO)": hipo.extras_version if hipo.usable else None,
        "qp-algorithm": qp_algorithm() if _highs_version() is not None else None,
    }


def _status_from_contrib(tc: ContribTermination) -> SolverStatus:
    return {
        ContribTermination.convergenceCriteriaSatisfied: SolverStatus.OPTIMAL,
        ContribTermination.provenInfeasible: SolverStatus.INFEASIBLE,
        ContribTermination.locallyInfeasible: SolverStatus.INFEASIBLE,
        ContribTermination.unbounded: SolverStatus.UNBOUNDED,
        ContribTermination.infeasibleOrUnbounded: SolverStatus.INFEASIBLE_OR_UNBOUNDED,
        ContribTermination.iterationLimit: SolverStatus.ITERATION_LIMIT,
        ContribTermination.maxTimeLimit: SolverStatus.TIME_LIMIT,
        ContribTermination.error: SolverStatus.ERROR,
        ContribTermination.minStepLength: SolverStatus.ERROR,
    }.get(tc, SolverStatus.UNKNOWN)


def _status_from_legacy(tc: LegacyTermination) -> SolverStatus:
    return {
        LegacyTermination.optimal: SolverStatus.OPTIMAL,
        LegacyTermination.locallyOptimal: SolverStatus.OPTIMAL,
        LegacyTermination.globallyOptimal: SolverStatus.OPTIMAL,
        LegacyTermination.infeasible: SolverStatus.INFEASIBLE,
        LegacyTermination.unbounded: SolverStatus.UNBOUNDED,
        LegacyTermination.infeasibleOrUnbounded: SolverStatus.INFEASIBLE_OR_UNBOUNDED,
        LegacyTermination.maxIterations: SolverStatus.ITERATION_LIMIT,
        LegacyTermination.maxTimeLimit: SolverStatus.TIME_LIMIT,
        LegacyTermination.error: SolverStatus.ERROR,
        LegacyTermination.solverFailure: SolverStatus.ERROR,
        LegacyTermination.internalSolverError: SolverStatus.ERROR,
    }.get(tc, SolverStatus.UNKNOWN)


def _objective_value(model: pyo.Block) -> float | None:
    for obj in model.component_data_objects(pyo.Objective, active=True, descend_into=True):
        try:
            return float(pyo.value(obj))
        except (ValueError, TypeError):
            return None
    return None


# One persistent HiGHS interface per model: a re-solve after changing mutable params sends only the changes
# (pyomo.contrib.solver detects new, removed and modified components), so sweeps need not rebuild anything.
_HIGHS_SESSIONS: weakref.WeakKeyDictionary[pyo.Block, Any] = weakref.WeakKeyDictionary()


def clear_warm_start(model: pyo.Block) -> None:
    """Drop the basis and solution HiGHS kept from the last solve of ``model`` (its session keeps the model, so a
    re-solve still sends only the changed coefficients): the next solve starts as a fresh load would."""
    session = _HIGHS_SESSIONS.get(model)
    highs = getattr(session, "_solver_model", None)  # the highspy.Highs object of pyomo.contrib.solver's interface
    if highs is not None:
        highs.clearSolver()


def forget_session(model: pyo.Block) -> None:
    """Drop the persistent HiGHS session of ``model``: its next solve loads the problem afresh."""
    _HIGHS_SESSIONS.pop(model, None)


def _run_highs(
    model: pyo.Block, options: dict[str, Any], tee: bool, kind: ProblemClass
) -> tuple[str, str, SolverStatus, str, dict[Any, float]]:
    version = _highs_version()
    if version is None:
        raise SolverError(_INSTALL_HIGHS)
    opts = {**(HIGHS_QP_DEFAULT_OPTIONS if kind is ProblemClass.QP else {}), **options}
    if kind is ProblemClass.QP and "solver" not in opts:
        opts["solver"] = qp_algorithm()
        if opts["solver"] != "hipo":
            _warn_hipo_fallback()
    algorithm = str(opts.get("solver", "choose"))
    solver = _HIGHS_SESSIONS.get(model)
    if solver is None:
        solver = _HIGHS_SESSIONS.setdefault(model, ContribSolverFactory("highs"))
    try:
        results = solver.solve(model, tee=tee, solver_options=opts, load_solutions=False, raise_exception_on_nonoptimal_result=False)
    except Exception as exc:  # HiGHS raises for non-convex QPs and bad options
        raise SolverError(f"HiGHS failed on this {kind.value}: {exc}") from exc
    status = _status_from_contrib(results.termination_condition)
    duals: dict[Any, float] = {}
    if results.solution_status.name in ("optimal", "feasible"):
        results.solution_loader.load_vars()
        duals = _contrib_duals(results)
    return version, algorithm, status, str(results.termination_condition.name), duals


def _contrib_duals(results: Any) -> dict[Any, float]:
    """The duals of a pyomo.contrib.solver result (HiGHS, the Ipopt executable): already in
    :data:`DUAL_SIGN_CONVENTION` for a maximisation (measured in tests/test_costates.py)."""
    try:
        return {con: float(value) for con, value in results.solution_loader.get_duals().items()}
    except (NotImplementedError, RuntimeError, ValueError):  # a solver or status without duals
        return {}


def _run_ipopt(
    model: pyo.Block, options: dict[str, Any], tee: bool, interface: str
) -> tuple[str, SolverStatus, str, dict[Any, float]]:
    options = {**IPOPT_DEFAULT_OPTIONS, **options}
    if interface == "ipopt-executable":
        version = ipopt_executable_version()
        solver = ContribSolverFactory("ipopt")
        results = solver.solve(
            model, tee=tee, solver_options=options, load_solutions=False, raise_exception_on_nonoptimal_result=False
        )
        status = _status_from_contrib(results.termination_condition)
        duals: dict[Any, float] = {}
        if results.solution_status.name in ("optimal", "feasible"):
            results.solution_loader.load_vars()
            duals = _contrib_duals(results)
        return str(version), status, str(results.termination_condition.name), duals
    version = cyipopt_version()
    solver = pyo.SolverFactory("cyipopt")
    # PyNumero loads the multipliers into an IMPORT Suffix named ``dual`` when the model has one: a model without
    # one gets it for the solve only, so that the caller's model comes back as it went in.
    own = model.component("dual")
    temporary = own is None
    if temporary:
        model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    try:
        results = solver.solve(model, tee=tee, options=options, load_solutions=True)
        duals = {con: float(value) for con, value in model.component("dual").items()}
    except Exception as exc:  # cyipopt raises on evaluation errors (e.g. a NaN in the model)
        raise SolverError(f"Ipopt (cyipopt) failed: {exc}") from exc
    finally:
        if temporary:
            model.del_component("dual")
    tc = results.solver.termination_condition
    return str(version), _status_from_legacy(tc), str(tc), duals


def solve(
    model: pyo.Block,
    solver: str = "auto",
    options: dict[str, Any] | None = None,
    *,
    allow_nonoptimal: bool = False,
    tee: bool = False,
    tail_scaling: bool = False,
) -> SolveResult:
    """Solve ``model`` in place and say what ran.

    ``solver``: ``auto`` (Ipopt for NLPs, HiGHS for LPs and QPs), ``ipopt``, ``cyipopt`` or ``highs``.
    ``options`` pass through to the solver verbatim (Ipopt options, or HiGHS options such as
    ``{"solver": "ipm"}``). Raises :class:`SolverError` if the solver is missing or does not report
    an optimum, unless ``allow_nonoptimal``, in which case the result's ``status`` says what happened.

    ``tail_scaling`` (off by default): solve a copy scaled to current values (:class:`CurrentValueScalableModel`,
    Pyomo's ``core.scale_model``; Ipopt with :data:`TAIL_SCALING_IPOPT_OPTIONS` unless ``options`` say otherwise),
    so that late periods, whose present-value gradients fall below the solvers' tolerances, are solved as tightly
    as early ones; the solution and the duals (same convention) are mapped back onto ``model``. docs/tail.md.
    """
    if solver not in SOLVER_CHOICES:
        raise SolverError(f"unknown solver {solver!r}; choose one of {SOLVER_CHOICES}")
    options = dict(options or {})
    if isinstance(model, DerivedParamsModel):  # parameters derived from others (e.g. discount weights from the rate)
        model.refresh_derived_params()
    if tail_scaling:
        return _solve_current_value_scaled(model, solver, options, allow_nonoptimal, tee)
    kind = problem_class(model)
    family = solver if solver != "auto" else ("ipopt" if kind is ProblemClass.NLP else "highs")
    if family == "highs" and kind is ProblemClass.NLP:
        raise SolverError("HiGHS solves LPs and convex QPs only; this model is an NLP: use solver='ipopt'")
    start = time.perf_counter()
    if family == "highs":
        version, algorithm, status, termination, duals = _run_highs(model, options, tee, kind)
        interface, name = "highspy", "highs"
    else:
        if family == "cyipopt":
            interface = "cyipopt"
            if cyipopt_version() is None:
                raise SolverError(_INSTALL_IPOPT)
        elif ipopt_executable_version() is not None:
            interface = "ipopt-executable"
        elif cyipopt_version() is not None:
            interface = "cyipopt"
        else:
            raise SolverError(_INSTALL_IPOPT)
        version, status, termination, duals = _run_ipopt(model, options, tee, interface)
        algorithm, name = "default", "ipopt"
    result = SolveResult(
        solver=name,
        interface=interface,
        version=version,
        algorithm=algorithm,
        problem_class=kind,
        status=status,
        termination=termination,
        wall_time_s=time.perf_counter() - start,
        objective=_objective_value(model) if status is SolverStatus.OPTIMAL else None,
        duals=duals,
    )
    if status is not SolverStatus.OPTIMAL and not allow_nonoptimal:
        raise SolverError(
            f"{result.label} stopped with status {status.value} (termination {termination}) on the "
            f"{kind.value} {getattr(model, 'name', '')!r}; pass allow_nonoptimal=True to inspect the point"
        )
    return result


def _solve_current_value_scaled(
    model: pyo.Block, solver: str, options: dict[str, Any], allow_nonoptimal: bool, tee: bool
) -> SolveResult:
    """``solve(model, tail_scaling=True)``: solve a current-value scaled copy, map its solution and duals back."""
    if not isinstance(model, CurrentValueScalableModel):
        raise SolverError(f"tail_scaling needs a model with current_value_scaling(); {type(model).__name__} has none")
    if model.component("scaling_factor") is not None:
        raise SolverError("tail_scaling sets the model's scaling_factor Suffix itself; this model already has one")
    model.scaling_factor = pyo.Suffix(direction=pyo.Suffix.EXPORT)
    try:
        for component, factor in model.current_value_scaling().items():
            model.scaling_factor[component] = float(factor)
        scaling = pyo.TransformationFactory("core.scale_model")
        scaled = scaling.create_using(model, rename=False)
    finally:
        model.del_component("scaling_factor")
    kind = problem_class(model)
    family = solver if solver != "auto" else ("ipopt" if kind is ProblemClass.NLP else "highs")
    run_options = {**(TAIL_SCALING_IPOPT_OPTIONS if family != "highs" else {}), **options}
    inner = solve(scaled, solver, run_options, allow_nonoptimal=True, tee=tee)
    factors = scaled.component_scaling_factor_map
    scaling.propagate_solution(scaled, model)  # whatever point the solver left, as an unscaled solve loads it
    (objective,) = scaled.component_data_objects(pyo.Objective, active=True, descend_into=True)
    objective_factor = float(factors[objective])
    pairs = zip(
        scaled.component_data_objects(pyo.Constraint, active=True, descend_into=True),
        model.component_data_objects(pyo.Constraint, active=True, descend_into=True),
    )
    duals: dict[Any, float] = {}
    for scaled_con, con in pairs:  # a clone keeps the order: d obj / d rhs = dual' x (con factor / obj factor)
        if scaled_con in inner.duals:
            duals[con] = inner.duals[scaled_con] * float(factors[scaled_con]) / objective_factor
    algorithm = "current-value-scaling" if inner.algorithm == "default" else f"{inner.algorithm}+current-value-scaling"
    result = SolveResult(
        solver=inner.solver, interface=inner.interface, version=inner.version, algorithm=algorithm,
        problem_class=inner.problem_class, status=inner.status, termination=inner.termination,
        wall_time_s=inner.wall_time_s, objective=_objective_value(model) if inner.status is SolverStatus.OPTIMAL else None,
        duals=duals,
    )
    if result.status is not SolverStatus.OPTIMAL and not allow_nonoptimal:
        raise SolverError(
            f"{result.label} stopped with status {result.status.value} (termination {result.termination}) on the "
            f"current-value scaled {kind.value} {getattr(model, 'name', '')!r}; pass allow_nonoptimal=True to inspect the point"
        )
    return result
