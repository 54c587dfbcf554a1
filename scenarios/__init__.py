"""Scenarios: small TOML files validated against one typed schema before anything is built.

A scenario names the study's inputs it changes; everything it leaves out comes from ``afforest/data``.
``extends = "baseline"`` (a shipped name or a path relative to the file) starts from another scenario and
overrides some of its values. Unknown keys, wrong types and out-of-bounds values raise
:class:`afforest.errors.InputError` naming the file, the key and the value.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from afforest.errors import InputError

__all__ = [
    "Scenario",
    "LandUseSection",
    "NumericsSection",
    "ClassesSection",
    "SolverSection",
    "load_scenario",
    "shipped_scenarios",
    "scenario_path",
]


def _unit(unit: str) -> dict[str, str]:
    return {"unit": unit}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class LandUseSection(_Section):
    """Economic inputs of the planner; None means the study's value from ``afforest/data``."""

    financial_discount_rate: float | None = Field(
        None, gt=0.0, lt=1.0, description="planner's discount rate r", json_schema_extra=_unit("1/yr")
    )
    planting_cost_intercept_yuan_per_ha: float | None = Field(
        None, ge=0.0, le=1e7, description="tau(0), first-year direct cost", json_schema_extra=_unit("yuan/ha")
    )
    planting_cost_slope_yuan_per_ha_per_10k_ha_yr: float | None = Field(
        None,
        ge=0.0,
        le=1e7,
        description="tau1: rise of the marginal direct cost with the planting rate",
        json_schema_extra=_unit("yuan/ha per (10^4 ha/yr)"),
    )
    initial_area_10k_ha: float | None = Field(
        None, gt=0.0, le=1e6, description="A0, afforestable area", json_schema_extra=_unit("10^4 ha")
    )


class NumericsSection(_Section):
    """Discretisation of the dynamic program."""

    horizon_yr: float = Field(
        100.0, ge=1.0, le=1000.0, description="planning horizon T before the terminal value", json_schema_extra=_unit("yr")
    )
    step_yr: float = Field(1.0, gt=0.0, le=50.0, description="length of a planting period", json_schema_extra=_unit("yr"))
    discounting: Literal["integrated", "sampled"] = Field(
        "integrated", description="discount factor per period (see afforest.model.landuse)", json_schema_extra=_unit("-")
    )


class ClassesSection(_Section):
    """The classes representation (merit-order classes of Table 2)."""

    post_planting_rule: Literal["curve_average", "province_forest_esv"] = Field(
        "curve_average", description="ESV of a class once planted", json_schema_extra=_unit("-")
    )
    max_class_area_10k_ha: float | None = Field(
        None, gt=0.0, le=1e6, description="split classes larger than this into equal slices", json_schema_extra=_unit("10^4 ha")
    )


class SolverSection(_Section):
    nlp: Literal["auto", "ipopt", "cyipopt"] = Field("auto", description="solver for the curves NLP", json_schema_extra=_unit("-"))
    qp: Literal["auto", "highs", "ipopt", "cyipopt"] = Field(
        "auto", description="solver for the classes QP", json_schema_extra=_unit("-")
    )


class Scenario(_Section):
    """A fully validated scenario (after ``extends`` has been applied)."""

    name: str = Field(description="identifier, the file's stem")
    description: str = Field("", description="what the scenario asks")
    landuse: LandUseSection = LandUseSection()
    numerics: NumericsSection = NumericsSection()
    classes: ClassesSection = ClassesSection()
    solver: SolverSection = SolverSection()

    def digest(self) -> str:
        """SHA-256 of the resolved scenario (name excluded), for provenance."""
        payload = self.model_dump(mode="json", exclude={"name", "description"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def scenario_path(name: str) -> Path:
    """The shipped file of scenario ``name``."""
    return Path(str(files("afforest.scenarios").joinpath(f"{name}.toml")))


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    folder = Path(str(files("afforest.scenarios")))
    return sorted(p.stem for p in folder.glob("*.toml"))


def _read(file: Path) -> dict[str, Any]:
    if not file.exists():
        raise InputError("scenario file not found", file=file)
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", file=file) from exc


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
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_absolute() and relative_to is not None:
            candidate = relative_to / candidate
        return candidate
    return scenario_path(str(name_or_path))


def _raw(file: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    if file.resolve() in chain:
        raise InputError("scenarios extend each other in a cycle", file=file, field="extends")
    data = _read(file)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError("must be a scenario name or a path", file=file, field="extends", value=parent)
    parent_file = _resolve_file(parent, file.parent)
    if not parent_file.exists():
        raise InputError("extends a scenario that does not exist", file=file, field="extends", value=parent)
    base = _raw(parent_file, (*chain, file.resolve()))
    base.pop("description", None)
    return _merge(base, data)


def load_scenario(name_or_path: str | Path = "baseline") -> Scenario:
    """Load a shipped scenario by name, or a TOML file by path, with ``extends`` applied."""
    file = _resolve_file(name_or_path)
    raw = _raw(file)
    raw.setdefault("name", file.stem)
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        value = error.get("input")
        reason = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        raise InputError(reason, file=file, field=key, value=value if not isinstance(value, dict) else None) from exc
