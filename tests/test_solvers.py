"""Solver dispatch: problem classes, what ran, and clear failures."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest

import afforest.solvers as solvers
from afforest.errors import SolverError
from afforest.model.landuse import TimeGrid, build_classes_model, build_curves_model
from afforest.solvers import ProblemClass, SolverStatus, problem_class, solve

pytestmark = pytest.mark.component


def _lp(infeasible: bool = False) -> pyo.ConcreteModel:
    m = pyo.ConcreteModel(name="tiny")
    m.x = pyo.Var(bounds=(0, 1))
    m.c = pyo.Constraint(expr=m.x >= (2 if infeasible else 0.5))
    m.obj = pyo.Objective(expr=m.x)
    return m


def test_problem_classes(study_params, study_classes):
    grid = TimeGrid(horizon_yr=10.0)
    assert problem_class(_lp()) is ProblemClass.LP
    assert problem_class(build_classes_model(study_classes, study_params, grid)) is ProblemClass.QP
    assert problem_class(build_curves_model(study_params, grid)) is ProblemClass.NLP


def test_auto_picks_ipopt_for_nlp_and_highs_for_qp(study_params, study_classes):
    grid = TimeGrid(horizon_yr=10.0)
    nlp = solve(build_curves_model(study_params, grid))
    qp = solve(build_classes_model(study_classes, study_params, grid))
    assert nlp.solver == "ipopt" and nlp.interface in ("cyipopt", "ipopt-executable")
    assert qp.solver == "highs" and qp.interface == "highspy"
    for result in (nlp, qp):
        assert result.status is SolverStatus.OPTIMAL
        assert result.version and result.wall_time_s > 0 and result.objective is not None
        assert result.solver in result.label and result.version in result.label


def test_lp_solves(study_params):
    result = solve(_lp())
    assert result.problem_class is ProblemClass.LP and result.objective == pytest.approx(0.5)


def test_infeasible_raises_with_a_clear_message():
    with pytest.raises(SolverError, match="infeasible") as info:
        solve(_lp(infeasible=True))
    assert "allow_nonoptimal" in str(info.value) and "tiny" in str(info.value)


def test_infeasible_reported_when_allowed():
    result = solve(_lp(infeasible=True), allow_nonoptimal=True)
    assert result.status in (SolverStatus.INFEASIBLE, SolverStatus.INFEASIBLE_OR_UNBOUNDED)
    assert result.objective is None


def test_ipopt_infeasible_is_reported():
    m = pyo.ConcreteModel(name="infeasible_nlp")
    m.x = pyo.Var(bounds=(0, 1), initialize=0.5)
    m.c = pyo.Constraint(expr=pyo.exp(m.x) >= 10)
    m.obj = pyo.Objective(expr=m.x**2)
    with pytest.raises(SolverError, match="ipopt"):
        solve(m)


def test_iteration_limit_is_not_optimal(study_params):
    m = build_curves_model(study_params, TimeGrid(horizon_yr=20.0))
    with pytest.raises(SolverError, match="iteration_limit"):
        solve(m, options={"max_iter": 1})
    result = solve(build_curves_model(study_params, TimeGrid(horizon_yr=20.0)), options={"max_iter": 1}, allow_nonoptimal=True)
    assert result.status is SolverStatus.ITERATION_LIMIT


def test_highs_refuses_an_nlp(study_params):
    with pytest.raises(SolverError, match="HiGHS solves LPs and convex QPs only"):
        solve(build_curves_model(study_params, TimeGrid(horizon_yr=5.0)), "highs")


def test_unknown_solver_name():
    with pytest.raises(SolverError, match="unknown solver"):
        solve(_lp(), "gurobi")


def test_missing_ipopt_says_how_to_install(monkeypatch, study_params):
    monkeypatch.setattr(solvers, "ipopt_executable_version", lambda: None)
    monkeypatch.setattr(solvers, "cyipopt_version", lambda: None)
    with pytest.raises(SolverError, match="make setup"):
        solve(build_curves_model(study_params, TimeGrid(horizon_yr=5.0)))


def test_highs_options_pass_through(study_params, study_classes):
    m = build_classes_model(study_classes, study_params, TimeGrid(horizon_yr=10.0, step_yr=2.0))
    result = solve(m, options={"solver": "ipm"})
    assert result.algorithm == "ipm"


def test_problem_class_follows_structure_changes(study_params, study_classes):
    m = build_classes_model(study_classes, study_params, TimeGrid(horizon_yr=10.0, step_yr=2.0))
    assert problem_class(m) is ProblemClass.QP
    assert problem_class(m) is ProblemClass.QP  # cached while nothing changes
    m.curved = pyo.Constraint(expr=m.planting_rate_10k_ha_per_yr[0] ** 3 <= 1000)
    assert problem_class(m) is ProblemClass.NLP
    m.curved.deactivate()
    assert problem_class(m) is ProblemClass.QP
