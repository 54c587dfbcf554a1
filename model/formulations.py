"""Alternative formulations as a registry of named switches, not forks of the builders.

A :class:`Switch` declares its scenario fields (``[policy]`` keys, with unit, default, bounds, description), the
representations it applies to (``curves``, ``classes``, ``cells``), how it builds (named components in its own
Pyomo Block ``m.<switch name>``, welfare terms registered by name into the objective's term list), how it updates
its mutable params for a re-solve, what it adds to the structure key of a sweep, and whether it is active for
given values; optionally, how it shifts the first-year cost Eq. 3 sees (:meth:`Switch.planting_cost_shift_yuan_per_ha`).
:func:`afforest.chain.landuse.build_models`, ``update_models`` and ``structure_key``,
``afforest.chain.inputs.Inputs.effective_planting_cost_yuan_per_ha`` and ``afforest.chain.results.ignored_switches``
are loops over :func:`registered_switches`; a user adds a switch from their own code with :func:`register_switch`
(its fields join the scenario schema's ``[policy]`` section, validated strictly; register it before scenarios are
loaded, and sweep workers, which fork, inherit it).

Built-ins, in build order: ``planting_cap`` (all three representations), ``carbon_price`` (all: classes and
curves value a planted hectare by the per-ha PV of its sequestration, cells by their own carbon yield),
``province_quotas`` and ``land_type_costs`` (classes and cells), ``carbon_price_path`` (curves and classes: a
growing or yearly carbon price) and ``carbon_target`` (all: sequestration at least X, its dual the marginal cost of
carbon; both issue 13, maths in :mod:`afforest.model.carbon_policy`).

Data-level switches act on the inputs before a model is built: :class:`InputTransform` (built-ins
``excluded_provinces``, on the afforestable-area table, ``opportunity_cost_share``, on the parameters and the
classes, and ``esv_multiplier_by_land_type``, on the classes), applied in order by :func:`afforest.chain.inputs.resolve_inputs`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from afforest.data import LandUseParameters
from afforest.errors import InputError
from afforest.model.carbon_policy import MT_PER_10K_T, max_reachable_mt_co2
from afforest.model.landuse import LandUseModel, Representation, add_welfare_term
from afforest.model.problem import YUAN_10K_IN_OBJECTIVE_UNIT
from afforest.scenarios import PolicyField, builtin_policy_field, extend_policy_section, remove_policy_fields

__all__ = [
    "REPRESENTATIONS",
    "MIN_PLANTING_CAP_10K_HA_PER_YR",
    "PolicyField",
    "SwitchData",
    "Switch",
    "register_switch",
    "unregister_switch",
    "registered_switches",
    "get_switch",
    "switch_values",
    "add_switch",
    "update_switch",
    "apply_switches",
    "update_switches",
    "switches_structure",
    "PlantingCap",
    "CarbonPrice",
    "ProvinceQuotas",
    "LandTypeCosts",
    "CarbonPricePath",
    "CarbonTarget",
    "InputTransform",
    "ExcludedProvinces",
    "OpportunityCostShare",
    "EsvMultiplierByLandType",
    "register_input_transform",
    "registered_input_transforms",
    "ignored_by_representation",
    "add_planting_cap",
    "set_planting_cap",
    "add_province_quotas",
    "add_carbon_value",
    "add_land_type_costs",
    "exclude_provinces",
    "scale_opportunity_cost",
    "scale_esv_by_land_type",
]

REPRESENTATIONS: tuple[Representation, ...] = ("curves", "classes", "cells")

_PER_10K_YUAN = YUAN_10K_IN_OBJECTIVE_UNIT


@dataclass(frozen=True)
class SwitchData:
    """What a switch reads besides its own field values: data the chain derives from the scenario."""

    carbon_pv_t_co2_per_ha: float = 0.0
    """PV at planting of one hectare's sequestration at the planner's rate (classes and curves carbon value)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Anything else a user's switch needs, by name."""


class Switch(ABC):
    """One policy switch. Subclass it, set the class attributes, implement :meth:`build` and :meth:`update`."""

    name: ClassVar[str]
    """Name of the switch and of its Block on the model."""
    representations: ClassVar[frozenset[str]]
    """Which of ``curves``, ``classes``, ``cells`` it applies to."""
    fields: ClassVar[tuple[PolicyField, ...]]
    """Its ``[policy]`` fields (for a built-in: the schema's own, see ``afforest.scenarios.builtin_policy_field``)."""

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def is_active(self, values: Mapping[str, Any]) -> bool:
        """Whether the switch changes the model for these field values (only then is it built)."""
        return any(values[f.name] != f.default for f in self.fields)

    def structure(self, values: Mapping[str, Any]) -> Any:
        """What of the values fixes the model's structure (JSON-able); models of equal structure are re-used."""
        return self.is_active(values)

    @abstractmethod
    def build(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        """Add the switch's components to ``block`` (its own Block on ``m``) and its welfare terms by name
        (``add_welfare_term(m, name, expr, block=block)``)."""

    @abstractmethod
    def update(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        """Assign the mutable params of an already built ``block`` for new values of the same structure."""

    def check(self, values: Mapping[str, Any], scenario: Any) -> None:
        """Refuse (:class:`InputError`), before anything is built, values the schema cannot judge alone (e.g. in
        combination with other fields of ``scenario``); nothing by default."""

    def refresh(self, block: pyo.Block, m: LandUseModel) -> None:
        """Recompute params derived from others (called before every solve); nothing by default."""

    long_run_note_needs_binding: ClassVar[bool] = False
    """True when :meth:`long_run_note` applies only where the switch's constraint binds (a nonzero shadow price)."""
    shadow_price_units: ClassVar[Mapping[str, str]] = {}
    """Unit of a constraint's shadow price (``afforest.model.costates.policy_shadow_prices``) where the default, yuan per
    ha or per ha/yr of the bound, is wrong; keyed by the constraint's name in the switch's Block."""

    def long_run_note(self, values: Mapping[str, Any]) -> str | None:
        """None when the program's long run is still Eq. 3's at the shifted tau(0) (the steady-state checks of
        ``afforest.chain.certify`` apply); else a sentence saying why not (those checks then give way to the Pontryagin
        certificate, and the tail hold, which reads late planting as solver noise, is not applied)."""
        return None

    def planting_cost_shift_yuan_per_ha(self, values: Mapping[str, Any], data: SwitchData) -> float:
        """If the switch acts like a change of the first-year cost tau(0) (a payment per planted hectare, at
        planting), that change in yuan/ha (negative: cheaper), so that the analytic steady state (Eq. 3) and the
        certificates of :mod:`afforest.chain.certify` see it; 0 by default (the switch does not move Eq. 3's cost)."""
        return 0.0


_SWITCHES: dict[str, Switch] = {}


def register_switch(switch: Switch) -> Switch:
    """Add ``switch`` to the registry (after the built-ins, in registration order) and its new fields to the
    scenario schema's ``[policy]`` section. Names must be new, for the switch and for each field."""
    if not isinstance(switch, Switch):
        raise InputError("must be an instance of afforest.model.formulations.Switch", field="switch", value=type(switch).__name__)
    if switch.name in _SWITCHES:
        raise InputError("a switch of this name exists in the registry", field="switch.name", value=switch.name)
    if not switch.name.isidentifier():
        raise InputError("a switch's name must be a Python identifier (it names its Block)", field="switch.name",
                         value=switch.name)
    unknown = set(switch.representations) - set(REPRESENTATIONS)
    if unknown or not switch.representations:
        raise InputError(f"representations must be among {REPRESENTATIONS}", field=f"{switch.name}.representations",
                         value=sorted(switch.representations))
    extend_policy_section([f for f in switch.fields if not f.builtin])
    _SWITCHES[switch.name] = switch
    return switch


def unregister_switch(name: str) -> None:
    """Remove a switch registered by :func:`register_switch` and its fields from the scenario schema."""
    switch = get_switch(name)
    remove_policy_fields([f.name for f in switch.fields if not f.builtin])
    del _SWITCHES[name]


def registered_switches() -> tuple[Switch, ...]:
    """Every switch, in build order."""
    return tuple(_SWITCHES.values())


def get_switch(name: str) -> Switch:
    if name not in _SWITCHES:
        raise InputError(f"no such switch; registered: {list(_SWITCHES)}", field="switch", value=name)
    return _SWITCHES[name]


def switch_values(switch: Switch, policy: Any) -> dict[str, Any]:
    """The switch's field values in a scenario's ``policy`` section."""
    return {name: getattr(policy, name) for name in switch.field_names}


def add_switch(m: LandUseModel, name: str, values: Mapping[str, Any], data: SwitchData | None = None) -> pyo.Block:
    """Build switch ``name`` on ``m`` (in its own Block ``m.<name>``) with ``values`` for its fields."""
    switch = get_switch(name)
    if m.representation not in switch.representations:
        raise InputError(
            f"switch {name!r} applies to the {sorted(switch.representations)} representations, not {m.representation}",
            field=name,
        )
    if m.component(name) is not None:
        raise InputError("a component of this name already exists on the model", field="name", value=name)
    full = {f.name: values.get(f.name, f.default) for f in switch.fields}
    m.add_component(name, pyo.Block(doc=f"switch {name} (afforest.model.formulations)"))
    block = m.component(name)
    switch.build(block, m, full, data or SwitchData())
    m.switch_refreshers[name] = lambda model: switch.refresh(model.component(name), model)
    m.switch_cost_shifts[name] = switch.planting_cost_shift_yuan_per_ha(full, data or SwitchData())
    return block


def update_switch(m: LandUseModel, name: str, values: Mapping[str, Any], data: SwitchData | None = None) -> None:
    """Assign the mutable params of switch ``name`` built on ``m``."""
    switch = get_switch(name)
    full = {f.name: values.get(f.name, f.default) for f in switch.fields}
    switch.update(m.component(name), m, full, data or SwitchData())
    m.switch_cost_shifts[name] = switch.planting_cost_shift_yuan_per_ha(full, data or SwitchData())


def apply_switches(m: LandUseModel, policy: Any, data: SwitchData) -> None:
    """Build every registered switch that applies to ``m``'s representation and is active in ``policy``."""
    for switch in registered_switches():
        values = switch_values(switch, policy)
        if m.representation in switch.representations and switch.is_active(values):
            add_switch(m, switch.name, values, data)


def update_switches(m: LandUseModel, policy: Any, data: SwitchData) -> None:
    """Update every switch built on ``m`` to the values of ``policy``."""
    for switch in registered_switches():
        if m.component(switch.name) is not None:
            update_switch(m, switch.name, switch_values(switch, policy), data)


def switches_structure(policy: Any) -> dict[str, Any]:
    """Each switch's contribution to the structure key, by name."""
    return {s.name: s.structure(switch_values(s, policy)) for s in registered_switches()}


# ------------------------------------------------------------------------------------------- built-ins
MIN_PLANTING_CAP_10K_HA_PER_YR = 1e-3
"""Smallest annual planting cap a scenario may set (10 ha/yr). Ipopt relaxes every bound by 1e-8 (its
``bound_relax_factor``) and HiGHS holds constraints to 1e-10, in these units; measured on the baseline (T = 100 yr):
a cap of 1e-7 lets the curves NLP plant 10 % more than the cap allows, 1e-5 0.1 %, and at 1e-9 HiGHS stops with
status unknown. At 1e-3 the violation is below 1e-5 of the cap. (Nor does a cap of 10 ha/yr on 5 x 10^6 ha mean
anything economically.)"""


def _check_provinces(names: Sequence[str], field: str, known: Sequence[str]) -> None:
    """Refuse a zone the data do not have (``known``: the zones of the region's table or model, not a fixed list)."""
    for name in names:
        if name not in known:
            raise InputError(f"unknown province; expected one of {list(known)}", field=field, value=name)


class PlantingCap(Switch):
    """Annual planting capacity: R_k <= cap (constraint ``annual_planting_cap``, param
    ``annual_planting_cap_10k_ha_per_yr``, 10^4 ha/yr)."""

    name = "planting_cap"
    representations = frozenset(REPRESENTATIONS)
    fields = (builtin_policy_field("annual_planting_cap_10k_ha_per_yr"),)

    def is_active(self, values: Mapping[str, Any]) -> bool:
        return values["annual_planting_cap_10k_ha_per_yr"] is not None

    def check(self, values: Mapping[str, Any], scenario: Any) -> None:
        cap = values["annual_planting_cap_10k_ha_per_yr"]
        if cap < MIN_PLANTING_CAP_10K_HA_PER_YR:
            raise InputError(
                f"scenario {scenario.name!r}: a planting cap below {MIN_PLANTING_CAP_10K_HA_PER_YR:g} x 10^4 ha/yr "
                "(10 ha/yr) is beneath the solvers' feasibility tolerance in these units (Ipopt relaxes bounds by 1e-8, "
                "so the cap would not be honoured, and HiGHS stops without an answer); set it to at least "
                f"{MIN_PLANTING_CAP_10K_HA_PER_YR:g}, or remove it to plant without a cap",
                field="policy.annual_planting_cap_10k_ha_per_yr",
                value=cap,
            )

    def build(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        cap = values["annual_planting_cap_10k_ha_per_yr"]
        block.annual_planting_cap_10k_ha_per_yr = pyo.Param(initialize=0.0 if cap is None else cap, mutable=True, doc="10^4 ha/yr")
        block.annual_planting_cap = pyo.Constraint(
            m.periods, rule=lambda b, k: m.planting_rate_10k_ha_per_yr[k] <= block.annual_planting_cap_10k_ha_per_yr
        )
        self.update(block, m, values, data)

    def update(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        cap = values["annual_planting_cap_10k_ha_per_yr"]
        if cap is None:
            block.annual_planting_cap.deactivate()
            return
        if not cap > 0:
            raise InputError("must be > 0", field="annual_planting_cap_10k_ha_per_yr", value=cap)
        block.annual_planting_cap_10k_ha_per_yr = cap
        block.annual_planting_cap.activate()


class CarbonPrice(Switch):
    """Carbon valued at a price in the planner's objective (welfare term ``carbon_value_pv``).

    Curves and classes: a hectare planted at t_k earns the price times its sequestration stream discounted at
    the planner's rate back to t_k (``carbon_pv_t_co2_per_ha``, from the carbon module): the same as lowering
    tau(0) by price x carbon PV, so Eq. 3 still holds with that effective cost. Cells: the carbon payment
    P q_c per planted hectare of cell c at planting (``carbon_t_co2_per_ha[c]``, NaN counted as 0).
    """

    name = "carbon_price"
    representations = frozenset(REPRESENTATIONS)
    fields = (builtin_policy_field("carbon_price_yuan_per_t_co2"),)

    def is_active(self, values: Mapping[str, Any]) -> bool:
        return values["carbon_price_yuan_per_t_co2"] > 0

    def build(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        price = values["carbon_price_yuan_per_t_co2"]
        if not price >= 0 or not math.isfinite(price):
            raise InputError("must be a finite number >= 0", field="carbon_price_yuan_per_t_co2", value=price)
        block.carbon_price_yuan_per_t_co2 = pyo.Param(initialize=price, mutable=True, doc="carbon payment P, yuan/t CO2")
        if m.representation == "cells":
            assert m.problem is not None
            yields = dict(zip(m.problem.keys, [0.0 if math.isnan(q) else float(q) for q in m.problem.carbon_t_co2_per_ha]))
            block.carbon_t_co2_per_ha = pyo.Param(m.classes, initialize=yields, mutable=True, doc="CO2 stored per planted ha")
            x = m.class_planting_rate_10k_ha_per_yr
            term = (
                _PER_10K_YUAN
                * block.carbon_price_yuan_per_t_co2
                * pyo.quicksum(
                    m.cost_discount[k] * m.step_yr * pyo.quicksum(block.carbon_t_co2_per_ha[c] * x[c, k] for c in m.classes)
                    for k in m.periods
                )
            )
        else:
            block.carbon_pv_t_co2_per_ha = pyo.Param(
                initialize=data.carbon_pv_t_co2_per_ha, mutable=True, doc="PV at planting of the sequestration of one ha, t CO2"
            )
            term = (
                _PER_10K_YUAN
                * block.carbon_price_yuan_per_t_co2
                * block.carbon_pv_t_co2_per_ha
                * pyo.quicksum(m.cost_discount[k] * m.step_yr * m.planting_rate_10k_ha_per_yr[k] for k in m.periods)
            )
        add_welfare_term(m, "carbon_value_pv", term, block=block)

    def planting_cost_shift_yuan_per_ha(self, values: Mapping[str, Any], data: SwitchData) -> float:
        """Minus the price times the PV of a hectare's sequestration (curves and classes; Eq. 3's effective cost)."""
        return -values["carbon_price_yuan_per_t_co2"] * data.carbon_pv_t_co2_per_ha

    def update(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        block.carbon_price_yuan_per_t_co2 = values["carbon_price_yuan_per_t_co2"]
        if m.representation != "cells":
            block.carbon_pv_t_co2_per_ha = data.carbon_pv_t_co2_per_ha


class ProvinceQuotas(Switch):
    """Area afforested in a province by the horizon <= its quota (set ``quota_provinces``, param
    ``province_quota_10k_ha[p]``, constraint ``province_quota[p]``)."""

    name = "province_quotas"
    representations = frozenset({"classes", "cells"})
    fields = (builtin_policy_field("province_quota_10k_ha"),)

    def structure(self, values: Mapping[str, Any]) -> Any:
        return sorted(values["province_quota_10k_ha"])

    def check(self, values: Mapping[str, Any], scenario: Any) -> None:
        for province in values["province_quota_10k_ha"]:
            if province in scenario.policy.excluded_provinces:
                raise InputError(
                    f"scenario {scenario.name!r}: {province} has a quota in policy.province_quota_10k_ha but is also "
                    "listed in policy.excluded_provinces, where nothing may be planted; an excluded province's quota "
                    "is meaningless and excluding it re-ranks the other provinces' classes: remove the province from "
                    "one of the two",
                    field="policy.province_quota_10k_ha",
                    value=province,
                )

    def build(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        quotas = values["province_quota_10k_ha"]
        _check_provinces(list(quotas), "province_quota_10k_ha", list(dict.fromkeys(c[1] for c in m.classes)))
        for province, quota in quotas.items():
            if not quota >= 0:
                raise InputError("must be >= 0", field=f"province_quota_10k_ha.{province}", value=quota)
        last = m.time_points.last()
        block.quota_provinces = pyo.Set(initialize=list(quotas), ordered=True)
        block.province_quota_10k_ha = pyo.Param(block.quota_provinces, initialize=dict(quotas), mutable=True)
        block.province_quota = pyo.Constraint(
            block.quota_provinces,
            rule=lambda b, p: pyo.quicksum(
                m.class_area_10k_ha[c] - m.unconverted_area_10k_ha[c, last] for c in m.classes if c[1] == p
            )
            <= block.province_quota_10k_ha[p],
        )

    def update(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        for province, quota in values["province_quota_10k_ha"].items():
            block.province_quota_10k_ha[province] = quota


class LandTypeCosts(Switch):
    """Direct cost x multiplier for the listed land types (param ``direct_cost_multiplier[c]``, welfare term
    ``land_type_cost_adjustment_pv``; unlisted types keep 1). A class pays tau(0) x multiplier; a cell its own
    tau0_c x multiplier (the cells' site-cost premium is the same maths with multiplier tau0_c / tau(0))."""

    name = "land_type_costs"
    representations = frozenset({"classes", "cells"})
    fields = (builtin_policy_field("direct_cost_multiplier_by_land_type"),)

    def structure(self, values: Mapping[str, Any]) -> Any:
        return sorted(values["direct_cost_multiplier_by_land_type"])

    def build(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        multipliers = values["direct_cost_multiplier_by_land_type"]
        known = {c[0] for c in m.classes}
        for land_type, factor in multipliers.items():
            if land_type not in known:
                raise InputError(
                    f"no class of this land type; known: {sorted(known)}",
                    field="direct_cost_multiplier_by_land_type",
                    value=land_type,
                )
            if not factor > 0:
                raise InputError("must be > 0", field=f"direct_cost_multiplier_by_land_type.{land_type}", value=factor)
        block.direct_cost_multiplier = pyo.Param(
            m.classes, initialize=lambda b, *c: float(multipliers.get(c[0], 1.0)), mutable=True
        )
        x = m.class_planting_rate_10k_ha_per_yr
        if m.representation == "cells":
            term = -_PER_10K_YUAN * pyo.quicksum(
                m.cost_discount[k] * m.step_yr * (block.direct_cost_multiplier[c] - 1) * m.planting_cost_yuan_per_ha[c] * x[c, k]
                for c in m.classes
                for k in m.periods
            )
        else:
            term = (
                -_PER_10K_YUAN
                * m.planting_cost_intercept_yuan_per_ha
                * pyo.quicksum(
                    m.cost_discount[k] * m.step_yr * (block.direct_cost_multiplier[c] - 1) * x[c, k]
                    for c in m.classes
                    for k in m.periods
                )
            )
        add_welfare_term(m, "land_type_cost_adjustment_pv", term, block=block)

    def update(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        multipliers = values["direct_cost_multiplier_by_land_type"]
        for key in m.classes:
            block.direct_cost_multiplier[key] = multipliers.get(key[0], 1.0)


def _extra(data: SwitchData, key: str, switch: str) -> Any:
    if key not in data.extra:
        raise InputError(f"switch {switch!r} needs the chain's data (SwitchData.extra[{key!r}], filled by "
                         "afforest.chain.inputs.resolve_inputs)", field=switch, value=key)
    return data.extra[key]


class CarbonPricePath(Switch):
    """A carbon price that changes over time (afforest.model.carbon_policy): growing at g from
    ``carbon_price_yuan_per_t_co2`` or a yearly series from a file. A hectare planted at t_k earns V_k, the price of
    each year of its stream discounted at r back to t_k; the ``carbon_price`` switch pays the constant part P0 Q_r.

    V_k - P0 Q_r is paid in two parts so that the Pontryagin certificate reads it: its last period's value,
    V_end - P0 Q_r, on R_k (a shift of tau(0); Eq. 3 at tau(0) - V_end is where the finite program's final state
    rests: the last period is a now-or-never choice), and V_k - V_end on a copy of R_k
    (``carbon_priced_planting_10k_ha_per_yr``, tied to R_k by ``carbon_priced_planting_link[k]``, whose dual is that
    premium). Cells (built from code, not by the chain): each cell's own yield q_c is paid the equivalent price
    P_eq,k = V_k / Q_r of its planting period beyond P0, ``SwitchData.extra["carbon_price_premium_yuan_per_t_co2_by_period"]``
    = P_eq,k - P0 (:func:`afforest.model.carbon_policy.cells_price_premium_yuan_per_t_co2`), on the cells' own rates,
    where the certificate reads the objective's gradient (no shift of tau(0))."""

    name = "carbon_price_path"
    representations = frozenset(REPRESENTATIONS)
    shadow_price_units = {"carbon_priced_planting_link": "yuan (PV at t=0) per ha/yr planted in the period (the carbon "
                          "value's time-varying part, V_k - V_end)"}
    fields = (builtin_policy_field("carbon_price_growth_rate_per_yr"), builtin_policy_field("carbon_price_path_file"))

    def is_active(self, values: Mapping[str, Any]) -> bool:
        return values["carbon_price_growth_rate_per_yr"] != 0 or values["carbon_price_path_file"] is not None

    def check(self, values: Mapping[str, Any], scenario: Any) -> None:
        price, growth = scenario.policy.carbon_price_yuan_per_t_co2, values["carbon_price_growth_rate_per_yr"]
        if values["carbon_price_path_file"] is not None and (price != 0 or growth != 0):
            raise InputError(f"scenario {scenario.name!r}: a price file gives every year's price; set "
                             "policy.carbon_price_yuan_per_t_co2 and policy.carbon_price_growth_rate_per_yr to 0 with it",
                             field="policy.carbon_price_path_file", value=str(values["carbon_price_path_file"]))
        if growth != 0 and price == 0:
            raise InputError(f"scenario {scenario.name!r}: a growth rate needs a starting price "
                             "policy.carbon_price_yuan_per_t_co2 > 0", field="policy.carbon_price_growth_rate_per_yr",
                             value=growth)

    def _values(self, m: LandUseModel, data: SwitchData) -> tuple[list[float], float, float]:
        values = [float(v) for v in _extra(data, "carbon_value_yuan_per_ha_by_period", self.name)]
        if len(values) != len(m.periods) or not all(math.isfinite(v) for v in values):
            raise InputError(f"needs one finite value per period ({len(m.periods)})", field=self.name, value=len(values))
        return values, values[-1], float(_extra(data, "carbon_value_base_yuan_per_ha", self.name))

    def _build_cells(self, block: pyo.Block, m: LandUseModel, data: SwitchData) -> None:
        assert m.problem is not None
        yields = dict(zip(m.problem.keys, [0.0 if math.isnan(q) else float(q) for q in m.problem.carbon_t_co2_per_ha]))
        block.carbon_t_co2_per_ha = pyo.Param(m.classes, initialize=yields, mutable=True, doc="CO2 stored per planted ha")
        block.carbon_price_premium_yuan_per_t_co2 = pyo.Param(m.periods, initialize=0.0, mutable=True, doc="P_eq,k - P0")
        x = m.class_planting_rate_10k_ha_per_yr
        term = _PER_10K_YUAN * pyo.quicksum(
            m.cost_discount[k] * m.step_yr * block.carbon_price_premium_yuan_per_t_co2[k]
            * pyo.quicksum(block.carbon_t_co2_per_ha[c] * x[c, k] for c in m.classes)
            for k in m.periods
        )
        add_welfare_term(m, "carbon_value_path_pv", term, block=block)
        self.update(block, m, {}, data)

    def build(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        if m.representation == "cells":
            self._build_cells(block, m, data)
            return
        block.carbon_value_end_yuan_per_ha = pyo.Param(initialize=0.0, mutable=True, doc="V_end - P0 Q_r, yuan/ha")
        block.carbon_value_premium_yuan_per_ha = pyo.Param(m.periods, initialize=0.0, mutable=True, doc="V_k - V_end, yuan/ha")
        block.carbon_priced_planting_10k_ha_per_yr = pyo.Var(m.periods, initialize=0.0, doc="a copy of R_k, 10^4 ha/yr")
        block.carbon_priced_planting_link = pyo.Constraint(
            m.periods, rule=lambda b, k: block.carbon_priced_planting_10k_ha_per_yr[k] - m.planting_rate_10k_ha_per_yr[k] == 0
        )
        rates, copies = m.planting_rate_10k_ha_per_yr, block.carbon_priced_planting_10k_ha_per_yr
        term = _PER_10K_YUAN * pyo.quicksum(
            m.cost_discount[k] * m.step_yr
            * (block.carbon_value_end_yuan_per_ha * rates[k] + block.carbon_value_premium_yuan_per_ha[k] * copies[k])
            for k in m.periods
        )
        add_welfare_term(m, "carbon_value_path_pv", term, block=block)
        self.update(block, m, values, data)

    def update(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        if m.representation == "cells":
            premium = [float(v) for v in _extra(data, "carbon_price_premium_yuan_per_t_co2_by_period", self.name)]
            if len(premium) != len(m.periods) or not all(math.isfinite(v) for v in premium):
                raise InputError(f"needs one finite premium per period ({len(m.periods)})", field=self.name, value=len(premium))
            for k, value in zip(m.periods, premium):
                block.carbon_price_premium_yuan_per_t_co2[k] = value
            return
        path, end, base = self._values(m, data)
        block.carbon_value_end_yuan_per_ha = end - base
        for k, value in zip(m.periods, path):
            block.carbon_value_premium_yuan_per_ha[k] = value - end

    def long_run_note(self, values: Mapping[str, Any]) -> str | None:
        return ("a carbon price that changes over time makes the value of planting depend on when it is planted: the "
                "conversion boundary keeps moving and there is no steady state (docs/carbon_policy.md)")

    def planting_cost_shift_yuan_per_ha(self, values: Mapping[str, Any], data: SwitchData) -> float:
        """Minus V_end - P0 Q_r (with the carbon_price switch's -P0 Q_r: tau(0) - V_end, the last period's cost)."""
        if "carbon_value_yuan_per_ha_by_period" not in data.extra:
            return 0.0
        return -(float(data.extra["carbon_value_yuan_per_ha_by_period"][-1]) - float(data.extra["carbon_value_base_yuan_per_ha"]))


class CarbonTarget(Switch):
    """Sequestration of the planted cohorts at least X (afforest.model.carbon_policy): one linear row
    ``carbon_target``: sum_k dt S_k R_k >= 100 X (10^4 t CO2; params ``carbon_target_t_co2_per_ha[k]`` = S_k and
    ``carbon_target_10k_t_co2``, mutable, so a sweep over X or r_c re-uses the model). Its dual, x 10^4, is minus the
    marginal cost of carbon in yuan/t CO2 (:func:`afforest.model.carbon_policy.carbon_target_marginal_cost`). A
    target no plan can reach is refused naming the largest reachable X. All three representations (cells: the
    study's per-ha stream, not their own yields)."""

    name = "carbon_target"
    representations = frozenset(REPRESENTATIONS)
    fields = tuple(builtin_policy_field(n) for n in ("carbon_target_mt_co2", "carbon_target_year",
                                                     "carbon_target_discount_rate", "carbon_target_form"))

    long_run_note_needs_binding = True
    shadow_price_units = {"carbon_target": "yuan (PV at t=0) per t CO2 (minus the marginal cost of carbon)"}

    def is_active(self, values: Mapping[str, Any]) -> bool:
        return values["carbon_target_mt_co2"] is not None

    def long_run_note(self, values: Mapping[str, Any]) -> str | None:
        return ("a binding carbon target prices carbon at its dual, and the carbon it counts depends on when a cohort is "
                "planted, so the long run is not Eq. 3's at a fixed cost")

    def build(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        block.carbon_target_t_co2_per_ha = pyo.Param(m.periods, initialize=0.0, mutable=True, doc="S_k, t CO2/ha")
        block.carbon_target_10k_t_co2 = pyo.Param(initialize=0.0, mutable=True, doc="100 X, 10^4 t CO2")
        block.carbon_target = pyo.Constraint(
            expr=pyo.quicksum(m.step_yr * block.carbon_target_t_co2_per_ha[k] * m.planting_rate_10k_ha_per_yr[k]
                              for k in m.periods) >= block.carbon_target_10k_t_co2
        )
        self.update(block, m, values, data)

    def update(self, block: pyo.Block, m: LandUseModel, values: Mapping[str, Any], data: SwitchData) -> None:
        target = values["carbon_target_mt_co2"]
        if target is None or not (math.isfinite(target) and target >= 0):
            raise InputError("must be a finite number >= 0", field="policy.carbon_target_mt_co2", value=target)
        coefficients = [float(v) for v in _extra(data, "carbon_target_t_co2_per_ha_by_period", self.name)]
        if len(coefficients) != len(m.periods):
            raise InputError(f"needs one coefficient per period ({len(m.periods)})", field=self.name, value=len(coefficients))
        if m.representation == "curves":
            area = float(pyo.value(m.initial_area_10k_ha))
        else:
            area = float(sum(pyo.value(a) for a in m.class_area_10k_ha.values()))
        cap_block = m.component("planting_cap")
        cap = None
        if cap_block is not None and cap_block.annual_planting_cap.active:
            cap = float(pyo.value(cap_block.annual_planting_cap_10k_ha_per_yr))
        reachable = max_reachable_mt_co2(coefficients, m.grid.step_yr, area, cap)
        if target > reachable * (1 + 1e-9):
            raise InputError(
                f"no plan reaches it: the largest reachable target is {reachable:.6g} Mt CO2 ({m.representation}: all "
                f"{area:.6g} x 10^4 ha planted in the periods that count most{', at the planting cap' if cap else ''}; "
                f"year {values['carbon_target_year']}, r_c = {values['carbon_target_discount_rate']:g}, "
                f"{values['carbon_target_form']})",
                field="policy.carbon_target_mt_co2", value=target,
            )
        for k, value in zip(m.periods, coefficients):
            block.carbon_target_t_co2_per_ha[k] = value
        block.carbon_target_10k_t_co2 = target / MT_PER_10K_T


for _builtin in (PlantingCap(), CarbonPrice(), ProvinceQuotas(), LandTypeCosts(), CarbonPricePath(), CarbonTarget()):
    register_switch(_builtin)


# ------------------------------------------------------------------ the former functions, as thin wrappers
def add_planting_cap(m: LandUseModel, cap_10k_ha_per_yr: float | None) -> None:
    """Switch ``planting_cap`` built on ``m`` (None: built but deactivated)."""
    add_switch(m, "planting_cap", {"annual_planting_cap_10k_ha_per_yr": cap_10k_ha_per_yr})


def set_planting_cap(m: LandUseModel, cap_10k_ha_per_yr: float | None) -> None:
    """Change (or with None switch off) the planting cap of a model that has one."""
    update_switch(m, "planting_cap", {"annual_planting_cap_10k_ha_per_yr": cap_10k_ha_per_yr})


def add_province_quotas(m: LandUseModel, quotas_10k_ha: Mapping[str, float]) -> None:
    """Switch ``province_quotas`` built on a classes or cells model."""
    add_switch(m, "province_quotas", {"province_quota_10k_ha": dict(quotas_10k_ha)})


def add_carbon_value(m: LandUseModel, price_yuan_per_t_co2: float, carbon_pv_t_co2_per_ha: float = 0.0) -> None:
    """Switch ``carbon_price`` built on ``m`` (``carbon_pv_t_co2_per_ha``: curves and classes only)."""
    add_switch(m, "carbon_price", {"carbon_price_yuan_per_t_co2": price_yuan_per_t_co2},
               SwitchData(carbon_pv_t_co2_per_ha=carbon_pv_t_co2_per_ha))


def add_land_type_costs(m: LandUseModel, multiplier_by_land_type: Mapping[str, float]) -> None:
    """Switch ``land_type_costs`` built on a classes or cells model."""
    add_switch(m, "land_type_costs", {"direct_cost_multiplier_by_land_type": dict(multiplier_by_land_type)})


# ------------------------------------------------------------------------------ data-level switches
def exclude_provinces(area: pd.DataFrame, provinces: Sequence[str]) -> pd.DataFrame:
    """Drop excluded provinces from an afforestable-area table before the merit order is formed.

    The remaining classes are re-ranked, so their merit-order intervals (and curve-average values) close up.
    """
    _check_provinces(provinces, "excluded_provinces", list(dict.fromkeys(area["province"])))
    kept = area[~area["province"].isin(list(provinces))]
    if not (kept["area_10k_ha"] > 0).any():
        raise InputError("every class is excluded", field="excluded_provinces", value=list(provinces))
    return kept.reset_index(drop=True)


def scale_opportunity_cost(
    params: LandUseParameters, classes: pd.DataFrame, share: float
) -> tuple[LandUseParameters, pd.DataFrame]:
    """Count only ``share`` of the current use's ESV as lost (e.g. its marketed, provisioning part).

    Scales B'(A) (curves and Eq. 3) and each class's current ESV; the afforested ESV is unchanged.
    """
    if not 0 <= share <= 1:
        raise InputError("must lie in [0, 1]", field="opportunity_cost_share", value=share)
    if share == 1:
        return params, classes
    scaled = params.replace(unconverted_esv_coefficients=tuple(share * a for a in params.unconverted_esv_coefficients))
    esv = classes["esv_yuan_per_ha_yr"]
    # on a float64 column, the array's product is the Series' (bit for bit) without pandas' per-operation overhead
    return scaled, classes.assign(esv_yuan_per_ha_yr=esv.to_numpy() * share if esv.dtype == np.float64 else esv * share)


def scale_esv_by_land_type(classes: pd.DataFrame, multiplier_by_land_type: Mapping[str, float]) -> pd.DataFrame:
    """Multiply the current use's ESV (``esv_yuan_per_ha_yr``, what planting gives up) of every class of each listed
    land type by its factor; unlisted types keep theirs. The merit order's ranks and intervals (hence the curve-average
    afforested ESV) stay the study's: the classes model values each class by its own ESV, whatever its rank."""
    known = set(classes["land_type"])
    for land_type, factor in multiplier_by_land_type.items():
        if land_type not in known:
            raise InputError(f"no class of this land type; known: {sorted(known)}",
                             field="landuse.esv_multiplier_by_land_type", value=land_type)
        if not (factor > 0 and math.isfinite(factor)):
            raise InputError("must be a finite number > 0", field=f"landuse.esv_multiplier_by_land_type.{land_type}",
                             value=factor)
    if not multiplier_by_land_type:
        return classes
    factors = classes["land_type"].map(lambda t: float(multiplier_by_land_type.get(t, 1.0))).to_numpy(dtype=np.float64)
    esv = classes["esv_yuan_per_ha_yr"]
    return classes.assign(esv_yuan_per_ha_yr=esv.to_numpy(dtype=np.float64) * factors)


class InputTransform(ABC):
    """A data-level switch: changes the inputs before a model is built, at one ``stage`` of
    :func:`afforest.chain.inputs.resolve_inputs`: ``afforestable_area`` (the area table, before the merit order)
    or ``classes`` (the parameters and the classes table, after it)."""

    name: ClassVar[str]
    stage: ClassVar[Literal["afforestable_area", "classes"]]
    scenario_keys: ClassVar[tuple[str, ...]]
    """The scenario fields it reads, as ``section.field``."""
    representations: ClassVar[frozenset[str]]
    """Which representations honour it (the curves NLP and Eq. 3 read the fitted curves, not the class tables)."""

    def is_active(self, scenario: Any) -> bool:
        """Whether the scenario sets it (a field away from its default)."""
        return any(_scenario_value(scenario, key) not in (None, {}, []) for key in self.scenario_keys)

    def transform_area(self, area: pd.DataFrame, scenario: Any) -> pd.DataFrame:
        return area

    def transform_classes(
        self, params: LandUseParameters, classes: pd.DataFrame, scenario: Any
    ) -> tuple[LandUseParameters, pd.DataFrame]:
        return params, classes

    def structure(self, scenario: Any) -> Any:
        """What fixes the models' structure (the set of classes); None if nothing."""
        return None


class ExcludedProvinces(InputTransform):
    """``policy.excluded_provinces``: nothing is planted there (their classes are dropped and the rest re-ranked)."""

    name = "excluded_provinces"
    stage = "afforestable_area"
    scenario_keys = ("policy.excluded_provinces",)
    representations = frozenset({"classes", "cells"})

    def transform_area(self, area: pd.DataFrame, scenario: Any) -> pd.DataFrame:
        excluded = scenario.policy.excluded_provinces
        return exclude_provinces(area, excluded) if excluded else area

    def structure(self, scenario: Any) -> Any:
        return sorted(scenario.policy.excluded_provinces)


class OpportunityCostShare(InputTransform):
    """``landuse.opportunity_cost_share``: only this share of the current use's ESV counts as lost."""

    name = "opportunity_cost_share"
    stage = "classes"
    scenario_keys = ("landuse.opportunity_cost_share",)
    representations = frozenset(REPRESENTATIONS)

    def is_active(self, scenario: Any) -> bool:
        return scenario.landuse.opportunity_cost_share != 1

    def transform_classes(
        self, params: LandUseParameters, classes: pd.DataFrame, scenario: Any
    ) -> tuple[LandUseParameters, pd.DataFrame]:
        return scale_opportunity_cost(params, classes, scenario.landuse.opportunity_cost_share)


class EsvMultiplierByLandType(InputTransform):
    """``landuse.esv_multiplier_by_land_type``: the current use's ESV of each listed land type x its factor (the
    classes only: the curves' alpha, published or fitted, describe the study's land as a whole)."""

    name = "esv_multiplier_by_land_type"
    stage = "classes"
    scenario_keys = ("landuse.esv_multiplier_by_land_type",)
    representations = frozenset({"classes"})

    def transform_classes(
        self, params: LandUseParameters, classes: pd.DataFrame, scenario: Any
    ) -> tuple[LandUseParameters, pd.DataFrame]:
        return params, scale_esv_by_land_type(classes, scenario.landuse.esv_multiplier_by_land_type)


def _scenario_value(scenario: Any, key: str) -> Any:
    section, _, name = key.partition(".")
    return getattr(getattr(scenario, section), name)


def ignored_by_representation(scenario: Any) -> dict[str, list[str]]:
    """For ``curves`` and ``classes``: the scenario keys (``section.field``) of the active switches and input
    transforms that the representation does not honour, in the order of the scenario schema."""
    ignored: dict[str, list[str]] = {"curves": [], "classes": []}
    for switch in registered_switches():
        values = switch_values(switch, scenario.policy)
        if switch.is_active(values):
            for rep in ignored:
                if rep not in switch.representations:
                    ignored[rep] += [f"policy.{name}" for name in switch.field_names]
    for transform in registered_input_transforms():
        if transform.is_active(scenario):
            for rep in ignored:
                if rep not in transform.representations:
                    ignored[rep] += list(transform.scenario_keys)
    keys = [
        f"{section}.{name}"
        for section in type(scenario).model_fields
        for name in getattr(type(getattr(scenario, section)), "model_fields", {})
    ]
    order = {key: i for i, key in enumerate(keys)}
    return {rep: sorted(keys, key=lambda k: order.get(k, len(order))) for rep, keys in ignored.items()}


_TRANSFORMS: dict[str, InputTransform] = {}


def register_input_transform(transform: InputTransform) -> InputTransform:
    """Add a data-level switch (applied after the built-ins, in registration order)."""
    if transform.name in _TRANSFORMS:
        raise InputError("an input transform of this name is registered", field="transform.name", value=transform.name)
    _TRANSFORMS[transform.name] = transform
    return transform


def registered_input_transforms() -> tuple[InputTransform, ...]:
    return tuple(_TRANSFORMS.values())


for _transform in (ExcludedProvinces(), OpportunityCostShare(), EsvMultiplierByLandType()):
    register_input_transform(_transform)
