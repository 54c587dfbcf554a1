"""Scenarios: small TOML files validated against one typed schema before anything is built.

A scenario names the study's inputs it changes; everything it leaves out comes from ``afforest/data``.
``extends = "baseline"`` (a shipped name or a path relative to the file) starts from another scenario and
overrides some of its values. Unknown keys, wrong types and out-of-bounds values raise
:class:`afforest.errors.InputError` naming the file, the key and the value.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import annotated_types
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, create_model, field_validator,
                      model_validator)
from pydantic.fields import FieldInfo

from afforest.data import (
    MAX_AREA_10K_HA,
    MAX_CARBON_PRICE_YUAN_PER_T_CO2,
    MAX_ESV_MULTIPLIER,
    MAX_SOIL_SCALE,
    MAX_PLANTING_COST_YUAN_PER_HA,
    check_input_file,
    read_toml,
)
from afforest.data.region import check_policy_names, load_region, region_reference

from afforest.errors import InputError

__all__ = [
    "Scenario", "LandUseSection", "NumericsSection", "CarbonSection", "PolicySection", "SweepSection",
    "SensitivitySection", "SensitivityInput", "ENTRY_SWEEP_FIELDS", "SENSITIVITY_OUTPUTS", "NORMAL_TRUNCATION_SD",
    "check_sensitivity_samples", "ClassesSection", "SolverSection", "InputsSection", "load_scenario",
    "shipped_scenarios", "PolicyField", "builtin_policy_field", "extend_policy_section", "remove_policy_fields",
    "policy_extension_fields", "scenario_path", "FINANCIAL_DISCOUNT_RATE_OPEN_INTERVAL",
]

FINANCIAL_DISCOUNT_RATE_OPEN_INTERVAL: tuple[float, float] = (0.0, 1.0)
"""(low, high): a scenario's ``landuse.financial_discount_rate`` r must satisfy low < r < high, both excluded.
r is a continuous rate per year and Eq. 3 divides by it (r > 0); r >= 1 discounts a year's value by
e^-1 or more, outside any social discount rate in use. Commands that take r directly should use this bound."""

CARBON_TARGET_BOUND_MT_CO2 = 1e6
"""Largest carbon target a scenario may set (Mt CO2): China's whole land area (MAX_AREA_10K_HA, 9.6e8 ha) at
1 000 t CO2/ha, about three times the 40-year stream of the study's stands (370.7 t/ha), is 9.6e5 Mt; a larger
number is a unit slip (t instead of Mt)."""

_AREA_UNIT_SLIP = (
    f"larger than China's land area ({MAX_AREA_10K_HA:g} x 10^4 ha = 9.6e8 ha, data/input_bounds.toml): "
    "is it in ha instead of 10^4 ha? divide by 10^4"
)


def _unit(unit: str) -> dict[str, str]:
    return {"unit": unit}


class _Section(BaseModel):
    # NaN and inf are refused as such ("must be a finite number"), not by whichever bound they fail first
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)


class LandUseSection(_Section):
    """Economic inputs of the planner; None means the study's value from ``afforest/data``."""

    financial_discount_rate: float | None = Field(
        None,
        gt=FINANCIAL_DISCOUNT_RATE_OPEN_INTERVAL[0],
        lt=FINANCIAL_DISCOUNT_RATE_OPEN_INTERVAL[1],
        description="planner's discount rate r",
        json_schema_extra=_unit("1/yr"),
    )
    planting_cost_intercept_yuan_per_ha: float | None = Field(
        None,
        ge=0.0,
        le=MAX_PLANTING_COST_YUAN_PER_HA,
        description="tau(0), first-year direct cost",
        json_schema_extra=_unit("yuan/ha"),
    )
    planting_cost_slope_yuan_per_ha_per_10k_ha_yr: float | None = Field(
        None,
        ge=0.0,
        le=MAX_PLANTING_COST_YUAN_PER_HA,
        description="tau1: rise of the marginal direct cost with the planting rate",
        json_schema_extra=_unit("yuan/ha per (10^4 ha/yr)"),
    )
    initial_area_10k_ha: float | None = Field(
        None, gt=0.0, le=MAX_AREA_10K_HA, description="A0, afforestable area", json_schema_extra=_unit("10^4 ha")
    )
    esv_source: Literal["equivalent_factors", "table3"] = Field(
        "equivalent_factors",
        description="ESV by class: computed by Eq. 6 (afforest.model.esv, so a changed factor or SV_i flows through) or Table 3 as printed",
        json_schema_extra=_unit("-"),
    )
    opportunity_cost_share: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="share of the current use's ESV counted as lost when it is planted (1 = full ESV, the study)",
        json_schema_extra=_unit("-"),
    )
    curves: Literal["fitted", "published"] | None = Field(None, json_schema_extra=_unit("-"), description="alpha, "
        "beta of Eq. 3 and the curves model: the region's printed ones, or fitted on the scenario's own classes (A0 = "
        "their total unless set); None: published where the region publishes them (afforest.chain.inputs.curves_mode)")
    esv_multiplier_by_land_type: dict[str, Annotated[float, Field(gt=0.0, le=MAX_ESV_MULTIPLIER)]] = Field(
        default_factory=dict, json_schema_extra=_unit("-"), description="classes model: the current use's ESV "
        "(what planting gives up) x multiplier by land type (unlisted: 1; afforest.model.formulations.scale_esv_by_land_type)")

    @field_validator("esv_multiplier_by_land_type")
    @classmethod
    def _known_land_types(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        if info.context is not None:  # else Scenario._names_of_its_region checks them against its inputs.region
            check_policy_names("landuse.esv_multiplier_by_land_type", value, info.context.get("region"))
        return value


class CarbonSection(_Section):
    """Carbon accounting inputs; None means the study's value from ``afforest/data``."""

    carbon_discount_rate: float | None = Field(
        None, ge=0.0, lt=1.0, description="r_c, discount rate on future sequestration (study: 0 or 5 %)", json_schema_extra=_unit("1/yr")
    )
    calibration: Literal["equations", "study"] = Field(
        "equations",
        description="carbon module calibration: 'equations' (the printed Richards curve, soil fitted to the r_c = 0 "
        "soil pool) or 'study' (biomass scaled to the study's pool shares, soil fitted to both published totals); "
        "afforest.model.carbon_calibration",
        json_schema_extra=_unit("-"),
    )
    loss_hazard_per_yr: float | None = Field(
        None,
        ge=0.0,
        lt=1.0,
        description="h, annual hazard that a surviving stand is lost (fire, drought, pests) and re-emits its carbon; "
        "expected stock S(t) e^{-h t} (None: data/carbon_parameters.toml, 0)",
        json_schema_extra=_unit("1/yr"),
    )
    buffer_share: float | None = Field(
        None,
        ge=0.0,
        lt=1.0,
        description="b, share of the expected sink withheld from the credited carbon, as an offset protocol's buffer "
        "pool (None: data/carbon_parameters.toml, 0)",
        json_schema_extra=_unit("-"),
    )
    survival_rate: float | None = Field(None, gt=0.0, le=1.0, json_schema_extra=_unit("-"), description="theta, share "
        "of the planted area that becomes a surviving stand; scales every pool (None: the data's, the study's 0.77)")
    soil_scale: float | None = Field(None, gt=0.0, le=MAX_SOIL_SCALE, json_schema_extra=_unit("-"), description="factor "
        "on the soil carbon rates omega_i of the calibration in use, the least certain pool (None: 1)")

    def parameters(self, base: Any) -> Any:
        """``base`` (:class:`~afforest.model.carbon.CarbonParameters`, the equations as loaded) under this section's
        calibration, hazard, buffer, survival and soil scale."""
        from afforest.model.carbon_calibration import carbon_parameters_for

        return carbon_parameters_for(base, self.calibration, self.loss_hazard_per_yr, self.buffer_share,
                                     self.survival_rate, self.soil_scale)


class PolicySection(_Section):
    """Alternative formulations, each a named switch of afforest.model.formulations (defaults: off).

    The fields below are the built-in switches'; a switch registered from outside the package
    (``afforest.model.formulations.register_switch``) adds its own (:func:`extend_policy_section`), and
    ``PolicySection`` then names the extended class.
    """

    carbon_price_yuan_per_t_co2: float = Field(
        0.0,
        ge=0.0,
        le=MAX_CARBON_PRICE_YUAN_PER_T_CO2,
        description="carbon valued in the planner's objective",
        json_schema_extra=_unit("yuan/t CO2"),
    )
    annual_planting_cap_10k_ha_per_yr: float | None = Field(
        None, gt=0.0, le=MAX_AREA_10K_HA, description="planting capacity per year (None: no cap)", json_schema_extra=_unit("10^4 ha/yr")
    )
    carbon_price_growth_rate_per_yr: float = Field(
        0.0,
        gt=-1.0,
        lt=1.0,
        description="g: the carbon price grows as P0 e^{g t} from carbon_price_yuan_per_t_co2 = P0 (Hotelling: g = r); "
        "must be below the planner's rate r (afforest.model.carbon_policy); 0: constant",
        json_schema_extra=_unit("1/yr"),
    )
    carbon_price_path_file: Path | None = Field(
        None,
        description="CSV of yearly carbon prices (columns year, carbon_price_yuan_per_t_co2; the last price held "
        "after the last year) replacing the constant price (carbon_price_yuan_per_t_co2 must then be 0)",
        json_schema_extra=_unit("yuan/t CO2 by year"),
    )
    carbon_target_mt_co2: float | None = Field(
        None,
        ge=0.0,
        le=CARBON_TARGET_BOUND_MT_CO2,
        description="carbon target: sequestration of the planted cohorts (cumulative by carbon_target_year, or that "
        "year's sink with carbon_target_form = annual) at least this (None: no target)",
        json_schema_extra=_unit("Mt CO2 (annual form: Mt CO2/yr)"),
    )
    carbon_target_year: int | None = Field(
        2060,
        ge=2021,
        le=2500,
        description="calendar year the target's accounts close (None: each cohort's whole stream, the carbon a price pays for)",
        json_schema_extra=_unit("yr"),
    )
    carbon_target_discount_rate: float = Field(
        0.0, ge=0.0, lt=1.0, description="r_c of the target's accounts (discounted to the start year)",
        json_schema_extra=_unit("1/yr"),
    )
    carbon_target_form: Literal["cumulative", "annual"] = Field(
        "cumulative", description="cumulative sequestration by the year, or the sink in that year", json_schema_extra=_unit("-")
    )
    province_quota_10k_ha: dict[str, float] = Field(
        default_factory=dict, description="classes model: most area afforested per province", json_schema_extra=_unit("10^4 ha")
    )
    excluded_provinces: list[str] = Field(
        default_factory=list, description="classes model: provinces where nothing is planted", json_schema_extra=_unit("-")
    )
    direct_cost_multiplier_by_land_type: dict[str, float] = Field(
        default_factory=dict,
        description="classes model: tau(0) x multiplier by land type (unlisted: 1)",
        json_schema_extra=_unit("-"),
    )

    @field_validator("province_quota_10k_ha", "excluded_provinces", "direct_cost_multiplier_by_land_type")
    @classmethod
    def _known_names(cls, value: Any, info: ValidationInfo) -> Any:
        if info.context is not None:  # else Scenario._names_of_its_region checks them against its inputs.region
            check_policy_names(str(info.field_name), value, info.context.get("region"))
        return value

    @field_validator("province_quota_10k_ha")
    @classmethod
    def _non_negative_quota(cls, value: dict[str, float]) -> dict[str, float]:
        for name, quota in value.items():
            if not 0 <= quota <= MAX_AREA_10K_HA:
                raise ValueError(f"quota of {name} must be between 0 and {MAX_AREA_10K_HA:g} x 10^4 ha "
                                 f"(China's land area), got {quota}")
        return value

    @field_validator("direct_cost_multiplier_by_land_type")
    @classmethod
    def _positive_multipliers(cls, value: dict[str, float]) -> dict[str, float]:
        for name, factor in value.items():
            if not (factor > 0 and math.isfinite(factor)):
                raise ValueError(f"multiplier of {name} must be a finite number > 0, got {factor}")
        return value


_BUILTIN_POLICY_SECTION = PolicySection

CARBON_POLICY_FIELD_DEFAULTS: dict[str, Any] = {
    name: PolicySection.model_fields[name].default
    for name in ("carbon_price_growth_rate_per_yr", "carbon_price_path_file", "carbon_target_mt_co2", "carbon_target_year",
                 "carbon_target_discount_rate", "carbon_target_form")
}
"""Issue 13's carbon-policy fields (afforest.model.carbon_policy) and their defaults: left out of the digest at
their defaults, so every scenario written before them keeps its digest."""


@dataclass(frozen=True)
class PolicyField:
    """One ``[policy]`` field of a switch: name, type, default, unit, bounds (None: unbounded), description."""

    name: str
    annotation: Any
    default: Any
    unit: str
    description: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    builtin: bool = False
    """A field of the built-in schema (declared in :class:`PolicySection` itself)."""

    def field_info(self) -> Any:
        """The pydantic field (annotation, FieldInfo) of this declaration."""
        bounds = {k: v for k, v in (("ge", self.ge), ("gt", self.gt), ("le", self.le), ("lt", self.lt)) if v is not None}
        if isinstance(self.default, (dict, list)):
            default = self.default
            info = Field(default_factory=lambda: type(default)(default), description=self.description,
                         json_schema_extra=_unit(self.unit), **bounds)
        else:
            info = Field(self.default, description=self.description, json_schema_extra=_unit(self.unit), **bounds)
        return (self.annotation, info)


def builtin_policy_field(name: str) -> PolicyField:
    """The declaration of a built-in ``[policy]`` field, read from the schema (unit, default, bounds)."""
    info = _BUILTIN_POLICY_SECTION.model_fields[name]
    bounds: dict[str, float] = {}
    for item in info.metadata:
        for kind in ("ge", "gt", "le", "lt"):
            if isinstance(item, getattr(annotated_types, kind.capitalize())):
                bounds[kind] = getattr(item, kind)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    default = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    return PolicyField(name, info.annotation, default, str(extra.get("unit", "-")), info.description or "",
                       builtin=True, **bounds)


_EXTENSION_FIELDS: dict[str, PolicyField] = {}


def policy_extension_fields() -> dict[str, PolicyField]:
    """The ``[policy]`` fields added by switches registered from outside the package, by name."""
    return dict(_EXTENSION_FIELDS)


def extend_policy_section(fields: Iterable[PolicyField]) -> None:
    """Add ``fields`` to the ``[policy]`` section (validated strictly like the built-in ones: an unknown key or a
    wrong type is an error). Names must be new. Scenarios loaded afterwards accept them; their defaults do not
    enter :meth:`Scenario.digest`, so a scenario that does not set them keeps its digest."""
    fields = list(fields)
    for f in fields:
        if f.name in _BUILTIN_POLICY_SECTION.model_fields or f.name in _EXTENSION_FIELDS or not f.name.isidentifier():
            raise InputError("a policy field of this name exists (or it is not an identifier)", field="policy", value=f.name)
    for f in fields:
        _EXTENSION_FIELDS[f.name] = f
    if fields:
        _rebuild_policy_section()


def remove_policy_fields(names: Iterable[str]) -> None:
    """Remove fields added by :func:`extend_policy_section`."""
    names = list(names)
    for name in names:
        _EXTENSION_FIELDS.pop(name, None)
    if names:
        _rebuild_policy_section()


def _rebuild_policy_section() -> None:
    global PolicySection
    if _EXTENSION_FIELDS:
        definitions: dict[str, Any] = {name: f.field_info() for name, f in _EXTENSION_FIELDS.items()}
        cls: type[BaseModel] = create_model(  # type: ignore[call-overload]
            "PolicySection", __base__=_BUILTIN_POLICY_SECTION, __module__=__name__, **definitions
        )
    else:
        cls = _BUILTIN_POLICY_SECTION
    PolicySection = cls  # type: ignore[misc]
    Scenario.model_fields["policy"] = FieldInfo(annotation=cls, default=cls())
    Scenario.model_rebuild(force=True)


class NumericsSection(_Section):
    """Discretisation of the dynamic program."""

    horizon_yr: float = Field(
        100.0, ge=1.0, le=1000.0, description="planning horizon T before the terminal value", json_schema_extra=_unit("yr")
    )
    step_yr: float = Field(1.0, gt=0.0, le=50.0, description="length of a planting period", json_schema_extra=_unit("yr"))
    discounting: Literal["integrated", "sampled"] = Field(
        "integrated", description="discount factor per period (see afforest.model.landuse)", json_schema_extra=_unit("-")
    )
    terminal_value: Literal["rest", "saddle_path"] = Field(
        "rest",
        description="the curves model after T: rest (nothing planted after T) or continue along the saddle path "
        "(exact for linear ESV curves; no policy constraint); see afforest.model.problem.TerminalValue",
        json_schema_extra=_unit("-"),
    )


class ClassesSection(_Section):
    """The classes representation (merit-order classes of Table 2)."""

    post_planting_rule: Literal["curve_average", "province_forest_esv"] = Field(
        "curve_average", description="ESV of a class once planted", json_schema_extra=_unit("-")
    )
    max_class_area_10k_ha: float | None = Field(
        None, gt=0.0, le=MAX_AREA_10K_HA, description="split classes larger than this into equal slices", json_schema_extra=_unit("10^4 ha")
    )


class SolverSection(_Section):
    nlp: Literal["auto", "ipopt", "cyipopt"] = Field("auto", description="solver for the curves NLP", json_schema_extra=_unit("-"))
    qp: Literal["auto", "highs", "ipopt", "cyipopt"] = Field(
        "auto", description="solver for the classes QP", json_schema_extra=_unit("-")
    )


class InputsSection(_Section):
    """Your own tables instead of the study's (paths relative to the scenario file that names them)."""

    region: Path | None = Field(None, json_schema_extra=_unit("path"), description="the region whose data the scenario "
                                "reads: a folder with region.toml or a bundled name (docs/regions.md); None: the study's")

    afforestable_area_file: Path | None = Field(
        None, description="Table 2 shape: land_type, province, area_10k_ha (e.g. afforest suitability's area.csv)",
        json_schema_extra=_unit("path"),
    )
    equivalent_factors_file: Path | None = Field(
        None, description="Xie et al. 2015 equivalent factors (shape of data/xie2015_equivalents.csv)", json_schema_extra=_unit("path")
    )
    standard_equivalent_file: Path | None = Field(
        None, description="SV_i by province (shape of data/esv_standard_equivalent.csv)", json_schema_extra=_unit("path")
    )

    @field_validator("region")
    @classmethod
    def _valid_region(cls, value: Path | None) -> Path | None:
        try:
            return value if value is None else load_region(value) and region_reference(value)
        except InputError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("afforestable_area_file", "equivalent_factors_file", "standard_equivalent_file")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                check_input_file(value, what="referenced file")
            except InputError as exc:
                raise ValueError(exc.reason) from None
        return value


SWEEPABLE_SECTIONS = ("landuse", "carbon", "policy", "numerics", "classes")


class SweepSection(_Section):
    """Parameters a sweep varies: a grid of values, or ranges to sample. Keys are ``section.field``."""

    grid: dict[str, list[float]] = Field(default_factory=dict, description="cartesian product of these values")
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict, description="[low, high] for sampling")
    method: Literal["latin_hypercube", "monte_carlo"] = Field("latin_hypercube", description="how --sample draws")
    seed: int = Field(20240314, description="random seed of the sample (reproducible sweeps)")

    @model_validator(mode="after")
    def _keys_are_parameters(self) -> "SweepSection":
        for key in [*self.grid, *self.ranges]:
            _check_sweep_key(key)
        for key, values in self.grid.items():
            if not values:
                raise ValueError(f"grid of {key!r} has no values")
        for key, (low, high) in self.ranges.items():
            if not low < high:
                raise ValueError(f"range of {key!r} must have low < high, got [{low}, {high}]")
        return self


ENTRY_SWEEP_FIELDS = frozenset({"landuse.esv_multiplier_by_land_type"})
"""Dict fields a sweep or sensitivity key may address one entry of, as ``section.field.<name>`` (its values' bounds)."""


def _check_sweep_key(key: str) -> None:
    section, _, name = key.partition(".")
    sections = {"landuse": LandUseSection, "carbon": CarbonSection, "policy": PolicySection, "numerics": NumericsSection, "classes": ClassesSection}
    name, dot, entry = name.partition(".")
    if (section not in sections or name not in sections[section].model_fields
            or dot and (f"{section}.{name}" not in ENTRY_SWEEP_FIELDS or not entry)):
        raise ValueError(f"{key!r} is not a scenario parameter (write section.field, e.g. landuse.financial_discount_rate)")


# --- sensitivity analysis --------------------------------------------------------------------------------

NORMAL_TRUNCATION_SD = 4.0
"""A normal input without ``lo``/``hi`` is truncated at mean -+ this many sd (99.994 % of its mass), so that every
sampled value is finite and its support can be held against the parameter's valid range."""

from afforest.scenarios.outputs import SENSITIVITY_OUTPUTS  # noqa: E402  (the catalogue: its own module)


class _Distribution(_Section):
    def support(self) -> tuple[float, float]:
        """The smallest and largest value this distribution can give."""
        raise NotImplementedError


class UniformInput(_Distribution):
    """Every value in [lo, hi] equally likely."""

    distribution: Literal["uniform"]
    lo: float
    hi: float

    @model_validator(mode="after")
    def _ordered(self) -> "UniformInput":
        if not self.lo < self.hi:
            raise ValueError(f"uniform needs lo < hi, got lo = {self.lo}, hi = {self.hi}")
        return self

    def support(self) -> tuple[float, float]:
        return (self.lo, self.hi)


class LogUniformInput(UniformInput):
    """log(value) uniform on [log lo, log hi]: every factor of ten between lo and hi equally likely (lo > 0)."""

    distribution: Literal["log_uniform"]  # type: ignore[assignment]

    @model_validator(mode="after")
    def _positive(self) -> "LogUniformInput":
        if not self.lo > 0:
            raise ValueError(f"log_uniform needs lo > 0, got lo = {self.lo}")
        return self


class TriangularInput(_Distribution):
    """Triangular on [lo, hi] with its peak at ``mode`` (lo <= mode <= hi)."""

    distribution: Literal["triangular"]
    lo: float
    mode: float
    hi: float

    @model_validator(mode="after")
    def _ordered(self) -> "TriangularInput":
        if not self.lo < self.hi:
            raise ValueError(f"triangular needs lo < hi, got lo = {self.lo}, hi = {self.hi}")
        if not self.lo <= self.mode <= self.hi:
            raise ValueError(f"triangular needs lo <= mode <= hi, got mode = {self.mode} outside [{self.lo}, {self.hi}]")
        return self

    def support(self) -> tuple[float, float]:
        return (self.lo, self.hi)


class NormalInput(_Distribution):
    """Normal(mean, sd) truncated to [lo, hi] (default: mean -+ NORMAL_TRUNCATION_SD sd)."""

    distribution: Literal["normal"]
    mean: float
    sd: float = Field(gt=0.0, description="standard deviation, > 0")
    lo: float | None = None
    hi: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "NormalInput":
        lo, hi = self.support()
        if not lo < hi:
            raise ValueError(f"normal needs lo < hi, got lo = {lo}, hi = {hi}")
        if not lo <= self.mean <= hi:
            raise ValueError(f"normal needs lo <= mean <= hi, got mean = {self.mean} outside [{lo}, {hi}]")
        return self

    def support(self) -> tuple[float, float]:
        lo = self.lo if self.lo is not None else self.mean - NORMAL_TRUNCATION_SD * self.sd
        hi = self.hi if self.hi is not None else self.mean + NORMAL_TRUNCATION_SD * self.sd
        return (lo, hi)


class DiscreteInput(_Distribution):
    """One of ``values`` (numbers, or the choices of a text field), with ``weights`` (default: equal)."""

    distribution: Literal["discrete"]
    values: list[float | str] = Field(min_length=2)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _weights(self) -> "DiscreteInput":
        if len(set(map(str, self.values))) != len(self.values):
            raise ValueError(f"discrete values must be distinct, got {self.values}")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"discrete needs one weight per value: {len(self.values)} values, {len(self.weights)} weights")
            if not all(w > 0 for w in self.weights):
                raise ValueError(f"discrete weights must be > 0, got {self.weights}")
        return self

    def probabilities(self) -> list[float]:
        weights = self.weights or [1.0] * len(self.values)
        return [w / sum(weights) for w in weights]

    def support(self) -> tuple[float, float]:
        numbers = [float(v) for v in self.values if not isinstance(v, str)]
        return (min(numbers), max(numbers)) if numbers else (math.nan, math.nan)


SensitivityInput = Annotated[
    Union[UniformInput, LogUniformInput, TriangularInput, NormalInput, DiscreteInput], Field(discriminator="distribution")
]
"""The distribution of one uncertain input: ``{distribution = "uniform" | "log_uniform" | "triangular" | "normal" |
"discrete", ...}``."""


def _sweep_field(key: str) -> FieldInfo:
    section, _, name = key.partition(".")
    sections = {"landuse": LandUseSection, "carbon": CarbonSection, "policy": PolicySection, "numerics": NumericsSection, "classes": ClassesSection}
    name, _, entry = name.partition(".")
    info = sections[section].model_fields[name]
    return FieldInfo.from_annotation(info.annotation.__args__[1]) if entry else info  # an entry: its values' field


def _bounds_text(bounds: dict[str, float]) -> str:
    low = next((f"{v:g} {'<' if k == 'gt' else '<='} " for k, v in bounds.items() if k in ("ge", "gt")), "")
    high = next((f" {'<' if k == 'lt' else '<='} {v:g}" for k, v in bounds.items() if k in ("le", "lt")), "")
    return f"{low}value{high}"


def _check_input_range(key: str, dist: Any) -> None:
    """Refuse a distribution that can give a value the parameter ``key`` does not accept."""
    info = _sweep_field(key)
    choices = [a for a in getattr(info.annotation, "__args__", ()) if isinstance(a, str)]
    if choices:  # a Literal: a choice among names
        if not isinstance(dist, DiscreteInput):
            raise ValueError(f"{key!r} is a choice among {choices}: give it a discrete distribution over them")
        bad = [v for v in dist.values if v not in choices]
        if bad:
            raise ValueError(f"{key!r}: discrete value {bad[0]!r} is not one of {choices}")
        return
    accepts_float = info.annotation in (float, float | None) or info.annotation is Any
    if not accepts_float:
        raise ValueError(f"{key!r} is not a number (its type is {info.annotation}); it cannot be given a distribution")
    if isinstance(dist, DiscreteInput) and any(isinstance(v, str) for v in dist.values):
        raise ValueError(f"{key!r} is a number: discrete values must be numbers, got {dist.values}")
    bounds: dict[str, float] = {}
    for item in info.metadata:
        for kind in ("ge", "gt", "le", "lt"):
            if isinstance(item, getattr(annotated_types, kind.capitalize())):
                bounds[kind] = getattr(item, kind)
    lo, hi = dist.support()
    checks = {"ge": lambda b: lo >= b, "gt": lambda b: lo > b, "le": lambda b: hi <= b, "lt": lambda b: hi < b}
    for kind, bound in bounds.items():
        if not checks[kind](bound):
            end, value = ("lo", lo) if kind in ("ge", "gt") else ("hi", hi)
            how = "" if not isinstance(dist, NormalInput) or getattr(dist, end) is not None else (
                f" (the normal is truncated at mean {'-' if end == 'lo' else '+'} {NORMAL_TRUNCATION_SD:g} sd unless "
                f"lo/hi are given)")
            raise ValueError(
                f"{key!r}: the {dist.distribution} distribution reaches {end} = {value:g}{how}, outside the "
                f"parameter's valid range {_bounds_text(bounds)}"
            )


class SensitivitySection(_Section):
    """A global sensitivity analysis (``afforest sensitivity``): the uncertain inputs and their distributions,
    keyed ``section.field`` like a sweep's, and the design (afforest.chain.sensitivity)."""

    inputs: dict[str, SensitivityInput] = Field(default_factory=dict, description="distribution of each uncertain input")
    method: Literal["sobol", "morris"] = Field("sobol", description="Sobol' indices (Saltelli design) or Morris screening")
    samples: int | None = Field(
        None, ge=1, description="N: base samples (Sobol', a power of 2) or trajectories (Morris, >= 2); None: 64 or 20"
    )
    second_order: bool = Field(False, description="Sobol': also the second-order indices (2k+2 instead of k+2 runs per sample)")
    num_levels: int = Field(4, ge=2, le=100, description="Morris: levels of the grid in each input")
    seed: int = Field(20240314, description="random seed of the design and of the bootstrap")
    num_resamples: int = Field(200, ge=10, le=100_000, description="bootstrap resamples of the confidence intervals")
    conf_level: float = Field(0.95, gt=0.0, lt=1.0, description="level of the confidence intervals")
    oat_quantiles: tuple[float, float] = Field(
        (0.05, 0.95), description="one-at-a-time (tornado) runs: each input at these quantiles, the others at their medians"
    )
    outputs: list[str] = Field(default_factory=lambda: list(SENSITIVITY_OUTPUTS), description="sweep-row columns analysed")
    on_failure: Literal["drop", "refuse"] = Field(
        "drop", description="failed evaluations: drop the Sobol' block or Morris trajectory holding them, or refuse"
    )

    @field_validator("inputs")
    @classmethod
    def _inputs_are_parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, dist in value.items():
            _check_sweep_key(key)
            _check_input_range(key, dist)
        return value

    @field_validator("outputs")
    @classmethod
    def _known_outputs(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("outputs: name at least one output")
        for name in value:
            if name not in SENSITIVITY_OUTPUTS:
                raise ValueError(f"unknown output {name!r}{_did_you_mean(name, list(SENSITIVITY_OUTPUTS))}; "
                                 f"expected some of {list(SENSITIVITY_OUTPUTS)}")
        return value

    @field_validator("oat_quantiles")
    @classmethod
    def _quantiles(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 < value[0] < 0.5 < value[1] < 1.0:
            raise ValueError(f"oat_quantiles must be (low, high) with 0 < low < 0.5 < high < 1, got {list(value)}")
        return value

    @model_validator(mode="after")
    def _samples_fit_method(self) -> "SensitivitySection":
        if self.samples is not None:
            check_sensitivity_samples(self.method, self.samples, field="sensitivity.samples", error=ValueError)
        return self


def check_sensitivity_samples(method: str, n: int, *, field: str = "--samples", error: type[Exception] = InputError) -> None:
    """Refuse an N that ``method`` cannot use: Sobol' (Saltelli) needs a power of 2 (>= 2), Morris >= 2 trajectories."""
    if method == "sobol" and not (n >= 2 and n & (n - 1) == 0):
        below, above = 2 ** max(int(math.log2(max(n, 1))), 1), 2 ** max(int(math.log2(max(n, 1))) + 1, 1)
        reason = (f"Sobol' (Saltelli) sampling needs N a power of 2 (>= 2) to keep the balance of the Sobol' "
                  f"sequence; {n} is not: use {below} or {above}")
    elif method == "morris" and n < 2:
        reason = f"Morris needs N >= 2 trajectories (mu*'s bootstrap needs several), got {n}"
    else:
        return
    if error is InputError:
        raise InputError(reason, field=field, value=n)
    raise error(f"{field} = {n}: {reason}")


class Scenario(_Section):
    """A fully validated scenario (after ``extends`` has been applied)."""

    name: str = Field(description="identifier, the file's stem")
    description: str = Field("", description="what the scenario asks")
    inputs: InputsSection = InputsSection()
    landuse: LandUseSection = LandUseSection()
    carbon: CarbonSection = CarbonSection()
    policy: PolicySection = PolicySection()
    numerics: NumericsSection = NumericsSection()
    classes: ClassesSection = ClassesSection()
    solver: SolverSection = SolverSection()
    sweep: SweepSection = SweepSection()
    sensitivity: SensitivitySection = SensitivitySection()

    @model_validator(mode="after")
    def _names_of_its_region(self, info: ValidationInfo) -> "Scenario":
        if info.context is None:  # validated without naming its region (e.g. model_validate_json): check them now
            for name in ("province_quota_10k_ha", "excluded_provinces", "direct_cost_multiplier_by_land_type"):
                check_policy_names(f"policy.{name}", getattr(self.policy, name), self.inputs.region)
            try:
                check_policy_names("landuse.esv_multiplier_by_land_type", self.landuse.esv_multiplier_by_land_type,
                                   self.inputs.region)
            except ValueError as exc:
                raise ValueError(f"landuse.esv_multiplier_by_land_type: {exc}") from None
        return self

    def with_overrides(self, overrides: dict[str, Any]) -> "Scenario":
        """A copy with ``{"section.field": value}`` overrides applied and validated."""
        data = self.model_dump(mode="json")
        for key, value in overrides.items():
            try:
                _check_sweep_key(key)
            except ValueError as exc:
                raise InputError(str(exc), field=key, value=value) from None
            section, _, name = key.partition(".")
            name, _, entry = name.partition(".")  # landuse.esv_multiplier_by_land_type.<land type>: one entry
            data[section][name] = {**data[section][name], entry: value} if entry else value
        return _revalidate(data)

    def with_region(self, region: str | Path | None) -> "Scenario":
        """A copy reading ``region``'s data (``--region``; None: unchanged), validated against that region."""
        data = self.model_dump(mode="json")
        return self if region is None else _revalidate({**data, "inputs": {**data["inputs"], "region": str(region)}})

    def digest(self) -> str:
        """SHA-256 of the resolved scenario (name excluded), for provenance. The ``[sweep]`` and ``[sensitivity]``
        sections describe designs over scenarios, not the scenario, and are left out (so adding them changes no
        digest; an analysis's own design is recorded in its output folder)."""
        payload = self.model_dump(mode="json", exclude={"name", "description", "sweep", "sensitivity"})
        for name, declared in _EXTENSION_FIELDS.items():  # a registered switch left at its default changes nothing
            if name in payload["policy"] and getattr(self.policy, name) == declared.default:
                del payload["policy"][name]
        if self.numerics.terminal_value == "rest":  # the program of every scenario before the field existed
            del payload["numerics"]["terminal_value"]
        for section, name in (("inputs", "region"), ("landuse", "curves"), ("landuse", "esv_multiplier_by_land_type")):
            if payload[section].get(name) in (None, {}):  # issue 11's fields and issue 14's ESV factors at default
                payload[section].pop(name, None)
        for name, default in (("calibration", "equations"), ("loss_hazard_per_yr", None), ("buffer_share", None),
                              ("survival_rate", None), ("soil_scale", None)):
            if payload["carbon"].get(name, default) == default:  # issue 13's carbon fields at default: older scenarios
                payload["carbon"].pop(name, None)
        for name, default in CARBON_POLICY_FIELD_DEFAULTS.items():  # issue 13's fields at default: every older scenario
            if name in payload["policy"] and getattr(self.policy, name) == default:
                del payload["policy"][name]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _revalidate(data: dict[str, Any]) -> Scenario:
    """A dumped scenario validated again, against its own region (``inputs.region``)."""
    try:
        return Scenario.model_validate(data, context={"region": data["inputs"].get("region")})
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InputError(_reason(error), field=".".join(map(str, error["loc"])), value=error.get("input")) from exc


def scenario_path(name: str) -> Path:
    """The shipped file of scenario ``name``."""
    return Path(str(files("afforest.scenarios").joinpath(f"{name}.toml")))


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    folder = Path(str(files("afforest.scenarios")))
    return sorted(p.stem for p in folder.glob("*.toml"))


def _read(file: Path) -> dict[str, Any]:
    return read_toml(file, what="scenario file")


def _reason(error: dict[str, Any]) -> str:
    """A pydantic error as a reason a user can act on."""
    kind, msg, loc = error["type"], error["msg"], error["loc"]
    if kind == "extra_forbidden":
        return "unknown key" + _did_you_mean(str(loc[-1]), _known_keys(loc))
    if kind == "finite_number":
        return "must be a finite number (NaN and inf are not values)"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in ("less_than_equal", "less_than") and str(loc[-1]).endswith(("_10k_ha", "_10k_ha_per_yr")):
        return f"{msg}: {_AREA_UNIT_SLIP}"
    return msg


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = Scenario
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if isinstance(part, str) else None
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields)


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown_scenario(name: str) -> str:
    shipped = shipped_scenarios()
    close = difflib.get_close_matches(name, shipped, n=1)
    guess = f": did you mean {close[0]!r}? The" if close else "; the"
    return (f"no shipped scenario is called {name!r}{guess} shipped ones are {shipped} (`afforest scenarios` "
            "describes them); or give the path of a .toml file")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve_file(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    candidate = Path(name_or_path)
    if not candidate.is_absolute() and relative_to is not None:
        candidate = relative_to / candidate  # a path in a file is relative to that file, not to the cwd
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    return scenario_path(str(name_or_path))


def _raw(file: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    if file.resolve() in chain:
        raise InputError("scenarios extend each other in a cycle", file=file, field="extends")
    data = _read(file)
    inputs = data.get("inputs")
    if isinstance(inputs, dict):  # paths are relative to the file that names them
        data["inputs"] = {k: str(file.parent / v) if isinstance(v, str) else v for k, v in inputs.items()}
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError("must be a scenario name or a path", file=file, field="extends", value=parent)
    parent_file = _resolve_file(parent, file.parent)
    if not parent_file.exists():
        hint = f"; {_unknown_scenario(parent)}" if parent_file == scenario_path(parent) else ""
        raise InputError(f"extends a scenario that does not exist{hint}", file=file, field="extends", value=parent)
    try:
        base = _raw(parent_file, (*chain, file.resolve()))
    except InputError as exc:
        if exc.file != str(parent_file) or exc.field is not None:
            raise
        # the parent itself cannot be read (a directory, empty, not UTF-8): name the line that points at it
        where = f"{parent_file}, line {exc.row}" if exc.row is not None else str(parent_file)
        raise InputError(f"{exc.reason} ({where})", file=file, field="extends", value=parent) from None
    base.pop("description", None)
    return _merge(base, data)


def load_scenario(name_or_path: str | Path = "baseline") -> Scenario:
    """Load a shipped scenario by name, or a TOML file by path, with ``extends`` applied."""
    file = _resolve_file(name_or_path)
    if file == scenario_path(str(name_or_path)) and not file.exists():  # a name, not a path
        raise InputError(_unknown_scenario(str(name_or_path)), file=file, field="scenario", value=str(name_or_path))
    raw = _raw(file)
    raw.setdefault("name", file.stem)
    inputs = raw.get("inputs")
    region = inputs.get("region") if isinstance(inputs, dict) else None
    try:
        return Scenario.model_validate(raw, context={"region": region if isinstance(region, str) else None})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        value = error.get("input")
        reason = _reason(error)
        raise InputError(reason, file=file, field=key, value=value if not isinstance(value, dict) else None) from exc
