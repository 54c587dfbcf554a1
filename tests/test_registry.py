"""A policy switch registered from outside the package: its scenario field, solve, a sweep that re-uses models,
the classes and the cells representations, each checked against an equivalent problem the package already solves.

The switch pays a subsidy S (yuan/ha) for every hectare planted, at planting. Paying S at t_k is the same as a
first-year cost tau(0) - S, so each result must equal the package's own answer with that lower cost: the same
welfare (the objectives are the same function of the plan) and the same areas. A switch that built the wrong term
(wrong sign, undiscounted, missing dt) or whose update did not reach the model would fail these comparisons.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest

from afforest.chain.bundle import load_bundle
from afforest.chain.landuse import solve_landuse, structure_key
from afforest.chain.sweep import grid_points, run_sweep
from afforest.data import MAX_PLANTING_COST_YUAN_PER_HA
from afforest.errors import InputError
from afforest.model.cells import build_cells_model, cell_problem, load_cell_spreads, synthetic_cells
from afforest.model.formulations import (
    PolicyField,
    Switch,
    SwitchData,
    add_switch,
    register_switch,
    registered_switches,
    unregister_switch,
)
from afforest.model.landuse import LandUseModel, TimeGrid, add_welfare_term
from afforest.model.problem import YUAN_10K_IN_OBJECTIVE_UNIT
from afforest.scenarios import Scenario, load_scenario, shipped_scenarios
from afforest.solvers import solve
from afforest.solvers.decomposition import solve_cells_decomposition

pytestmark = pytest.mark.component

SUBSIDY_FIELD = "planting_subsidy_yuan_per_ha"
WELFARE_RELATIVE = 1e-7
"""HiGHS and Ipopt stop near 1e-8 of the objective in their own scaling: two solves of the same program agree
to this share of the welfare (the golden test, where the program is built the same way, holds 1e-9)."""
AREA_ABSOLUTE_10K_HA = 1e-4
"""Areas of two solves of the same program agree to 1 ha."""


class PlantingSubsidy(Switch):
    """A subsidy per planted hectare at planting: welfare term ``planting_subsidy_pv`` in Block
    ``m.planting_subsidy``, mutable param ``subsidy_yuan_per_ha``."""

    name = "planting_subsidy"
    representations = frozenset({"curves", "classes", "cells"})
    fields = (
        PolicyField(
            SUBSIDY_FIELD, float, 0.0, "yuan/ha", "paid for every hectare planted, at planting",
            ge=0.0, le=MAX_PLANTING_COST_YUAN_PER_HA,
        ),
    )

    def build(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        block.subsidy_yuan_per_ha = pyo.Param(initialize=values[SUBSIDY_FIELD], mutable=True, doc="yuan/ha")
        planted_pv = pyo.quicksum(m.cost_discount[k] * m.step_yr * m.planting_rate_10k_ha_per_yr[k] for k in m.periods)
        add_welfare_term(m, "planting_subsidy_pv", YUAN_10K_IN_OBJECTIVE_UNIT * block.subsidy_yuan_per_ha * planted_pv,
                         block=block)

    def update(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        block.subsidy_yuan_per_ha = values[SUBSIDY_FIELD]

    def planting_cost_shift_yuan_per_ha(self, values: Mapping[str, Any], data: SwitchData) -> float:
        return -values[SUBSIDY_FIELD]  # paid at planting, like a lower tau(0): Eq. 3 and the certificates see it


@pytest.fixture
def subsidy() -> Iterator[PlantingSubsidy]:
    switch = register_switch(PlantingSubsidy())
    try:
        yield switch
    finally:
        unregister_switch(switch.name)


def _tau0() -> float:
    return load_bundle().landuse_parameters.planting_cost_intercept_yuan_per_ha


def _subsidised(amount: float) -> Scenario:
    return load_scenario("baseline").with_overrides({f"policy.{SUBSIDY_FIELD}": amount})


def _cheaper(amount: float) -> Scenario:
    return load_scenario("baseline").with_overrides({"landuse.planting_cost_intercept_yuan_per_ha": _tau0() - amount})


# ------------------------------------------------------------------------------------------- the schema
@pytest.mark.unit
def test_the_switch_adds_a_strict_policy_field_and_leaves_digests_alone(subsidy, tmp_path):
    digests = {name: load_scenario(name).digest() for name in shipped_scenarios()}
    assert registered_switches()[-1] is subsidy
    assert _subsidised(300.0).policy.planting_subsidy_yuan_per_ha == 300.0
    assert load_scenario("baseline").policy.planting_subsidy_yuan_per_ha == 0.0  # its default
    with pytest.raises(InputError, match=SUBSIDY_FIELD):
        _subsidised(-1.0)  # below its bound
    with pytest.raises(InputError, match=SUBSIDY_FIELD):
        load_scenario("baseline").with_overrides({f"policy.{SUBSIDY_FIELD}": "a lot"})  # wrong type
    with pytest.raises(InputError, match="not a scenario parameter"):
        load_scenario("baseline").with_overrides({"policy.planting_subsidy": 1.0})  # unknown key
    with pytest.raises(InputError, match="exists"):
        register_switch(PlantingSubsidy())  # a name is registered once
    # in a scenario file: read, and held to its type like a built-in field
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(f'extends = "baseline"\n[policy]\n{SUBSIDY_FIELD} = 150.0\n')
    bad.write_text(f'extends = "baseline"\n[policy]\n{SUBSIDY_FIELD} = "plenty"\n')
    assert load_scenario(good).policy.planting_subsidy_yuan_per_ha == 150.0
    with pytest.raises(InputError, match=f"bad.toml, field 'policy.{SUBSIDY_FIELD}'"):
        load_scenario(bad)
    # a scenario that leaves the field at its default keeps the digest it has without the switch
    unregister_switch(subsidy.name)
    try:
        assert {name: load_scenario(name).digest() for name in shipped_scenarios()} == digests
        with pytest.raises(InputError, match="not a scenario parameter"):
            load_scenario("baseline").with_overrides({f"policy.{SUBSIDY_FIELD}": 1.0})
    finally:
        register_switch(subsidy)
    assert _subsidised(300.0).digest() != load_scenario("baseline").digest()


@pytest.mark.unit
def test_the_switch_enters_the_structure_key(subsidy):
    assert structure_key(_subsidised(100.0)) == structure_key(_subsidised(250.0))  # same structure, re-usable
    assert structure_key(_subsidised(100.0)) != structure_key(load_scenario("baseline"))  # built only when active


# ------------------------------------------------------------------------------ solve: curves and classes
@pytest.mark.integration
def test_solve_landuse_with_the_switch_equals_the_lower_planting_cost(subsidy):
    amount = 400.0
    with_switch = solve_landuse(_subsidised(amount))
    equivalent = solve_landuse(_cheaper(amount))
    assert with_switch.effective_planting_cost_yuan_per_ha == pytest.approx(_tau0() - amount, rel=1e-15)
    assert with_switch.analytic_afforested_area_10k_ha == pytest.approx(equivalent.analytic_afforested_area_10k_ha, rel=1e-12)
    assert with_switch.status == "ok" and equivalent.status == "ok"
    for rep in ("curves", "classes"):
        assert with_switch.welfare_10e8_yuan[rep] == pytest.approx(equivalent.welfare_10e8_yuan[rep], rel=WELFARE_RELATIVE)
    assert with_switch.classes_afforested_area_10k_ha == pytest.approx(
        equivalent.classes_afforested_area_10k_ha, abs=AREA_ABSOLUTE_10K_HA
    )
    assert np.allclose(with_switch.classes_path["afforested_area_10k_ha"], equivalent.classes_path["afforested_area_10k_ha"],
                       atol=AREA_ABSOLUTE_10K_HA)
    assert with_switch.numeric_afforested_area_10k_ha == pytest.approx(
        equivalent.numeric_afforested_area_10k_ha, abs=AREA_ABSOLUTE_10K_HA
    )
    # and the subsidy does something: the curves plant more land (the classes move by whole classes only)
    plain = solve_landuse("baseline")
    assert with_switch.numeric_afforested_area_10k_ha > plain.numeric_afforested_area_10k_ha + 100 * AREA_ABSOLUTE_10K_HA


@pytest.mark.unit
def test_a_switch_is_built_only_on_the_representations_it_declares(subsidy, study_params):
    from afforest.model.landuse import build_curves_model

    curves = build_curves_model(study_params, TimeGrid(horizon_yr=5.0))
    with pytest.raises(InputError, match="applies to the"):
        add_switch(curves, "province_quotas", {"province_quota_10k_ha": {"Gansu": 1.0}})
    add_switch(curves, subsidy.name, {SUBSIDY_FIELD: 10.0})
    assert list(curves.welfare_terms)[-1] == "planting_subsidy.planting_subsidy_pv"
    with pytest.raises(InputError, match="term names are unique"):  # short names stay unambiguous in reports
        add_welfare_term(curves, "planting_subsidy_pv", 0.0)


# ------------------------------------------------------------------------------- a sweep with model re-use
@pytest.mark.integration
def test_a_sweep_over_the_switch_reuses_models_and_updates_its_param(subsidy):
    amounts = [200.0, 600.0]
    frame = run_sweep(
        _subsidised(amounts[0]), grid_points({f"policy.{SUBSIDY_FIELD}": amounts}), workers=1, progress=False
    ).sort_values("point_id")
    assert (frame["status"] == "ok").all(), frame[["status", "error"]]
    assert frame["models_reused"].tolist() == [False, True]  # the second point re-solved the first point's models
    for amount, (_, row) in zip(amounts, frame.iterrows()):
        equivalent = solve_landuse(_cheaper(amount))
        assert row["classes_afforested_area_10k_ha"] == pytest.approx(
            equivalent.classes_afforested_area_10k_ha, abs=AREA_ABSOLUTE_10K_HA
        )
        assert row["numeric_afforested_area_10k_ha"] == pytest.approx(
            equivalent.numeric_afforested_area_10k_ha, abs=AREA_ABSOLUTE_10K_HA
        )
    assert frame["numeric_afforested_area_10k_ha"].iloc[1] > frame["numeric_afforested_area_10k_ha"].iloc[0]


# ------------------------------------------------------------------------------------ the cells representation
@pytest.mark.integration
def test_the_switch_on_the_cells_model_equals_cells_with_lower_costs(subsidy):
    bundle = load_bundle()
    params = bundle.landuse_parameters
    cells = synthetic_cells(60, seed=4, params=params, area=bundle.afforestable_area, esv=bundle.esv,
                            spreads=load_cell_spreads())
    grid = TimeGrid(horizon_yr=15.0, step_yr=1.0)
    amount = 2_000.0
    model = build_cells_model(cell_problem(cells, params, grid))
    add_switch(model, subsidy.name, {SUBSIDY_FIELD: amount})
    result = solve(model, "highs")
    cheaper = cells.assign(planting_cost_yuan_per_ha=cells["planting_cost_yuan_per_ha"] - amount)
    exact = solve_cells_decomposition(cell_problem(cheaper, params, grid))
    # the cells' own costs fall by S; the subsidy term is S per planted ha: the same welfare
    assert result.objective == pytest.approx(exact.welfare_10e8_yuan, abs=WELFARE_RELATIVE * abs(exact.welfare_10e8_yuan))
    assert "planting_subsidy.planting_subsidy_pv" in list(model.welfare_terms)
    assert pyo.value(model.planting_subsidy.planting_subsidy_pv) > 0
    planted = np.array([[pyo.value(model.class_planting_rate_10k_ha_per_yr[c, k]) for k in model.periods] for c in model.classes])
    assert np.allclose(planted * grid.step_yr, exact.planted_area_10k_ha, atol=1e-4 * exact.planted_area_10k_ha.max())
    # where it is built its param can be changed for a re-solve (the model refreshes what derives from it)
    model.planting_subsidy.subsidy_yuan_per_ha = 0.0
    again = solve(model, "highs")
    plain = solve_cells_decomposition(cell_problem(cells, params, grid))
    assert again.objective == pytest.approx(plain.welfare_10e8_yuan, abs=WELFARE_RELATIVE * abs(plain.welfare_10e8_yuan))


class ClassesOnlyFloor(Switch):
    """A floor on the area of each class planted by the horizon (classes and cells only): declared to show which
    representations report it as ignored."""

    name = "class_area_floor"
    representations = frozenset({"classes", "cells"})
    fields = (PolicyField("class_area_floor_share", float, 0.0, "-", "least share of each class planted by T", ge=0.0, le=1.0),)

    def build(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        block.share = pyo.Param(initialize=values["class_area_floor_share"], mutable=True)
        last = m.time_points.last()
        block.floor = pyo.Constraint(
            m.classes, rule=lambda b, *c: m.unconverted_area_10k_ha[c, last] <= (1 - block.share) * m.class_area_10k_ha[c]
        )

    def update(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        block.share = values["class_area_floor_share"]


@pytest.mark.unit
def test_representations_that_do_not_honour_a_switch_report_it_as_ignored():
    from afforest.chain.results import ignored_switches

    switch = register_switch(ClassesOnlyFloor())
    try:
        scenario = load_scenario("province_quotas").with_overrides({"policy.class_area_floor_share": 0.1})
        ignored = ignored_switches(scenario)
        assert ignored["curves"] == ignored["analytic"] == [
            "policy.province_quota_10k_ha", "policy.excluded_provinces", "policy.class_area_floor_share"
        ]
        assert ignored["classes"] == []
        assert ignored_switches(load_scenario("province_quotas"))["curves"] == [
            "policy.province_quota_10k_ha", "policy.excluded_provinces"
        ]
        # built on the classes model only, where it binds: a floor of the whole class plants every class by T
        from afforest.chain.inputs import resolve_inputs
        from afforest.chain.landuse import build_models
        from afforest.model.landuse import afforested_area_by_horizon

        inputs = resolve_inputs(
            load_scenario("baseline").with_overrides({"policy.class_area_floor_share": 1.0, "numerics.horizon_yr": 20.0})
        )
        models = build_models(inputs)
        assert models.curves.component(switch.name) is None and models.classes.component(switch.name) is not None
        solve(models.classes, "highs")
        assert afforested_area_by_horizon(models.classes) == pytest.approx(inputs.classes["area_10k_ha"].sum(), rel=1e-9)
    finally:
        unregister_switch(switch.name)
