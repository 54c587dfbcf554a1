"""The validated inputs of the chain, read once per process and passed to every stage.

Model functions take plain data and never open files: the chain reads the study's tables (or a scenario's own
files) here, once, and hands the :class:`InputBundle` to the stages. A sweep of a thousand points re-uses the
same bundle. The cache is keyed by each file's path, size and modification time, so an edited file is read
again and an unchanged one never twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from afforest.data import (
    LandUseParameters,
    Quantity,
    data_path,
    load_afforestable_area,
    load_direct_costs,
    load_esv,
    load_landuse_parameters,
    load_quantities,
)
from afforest.model.carbon import CarbonParameters, load_carbon_parameters, study_carbon_discount_rates
from afforest.model.supply_curve import (
    CostEffectivenessParameters,
    load_cost_effectiveness_parameters,
    load_power_fuels,
    load_power_technologies,
)

__all__ = ["InputBundle", "load_bundle", "clear_bundle_cache"]


@dataclass(frozen=True, eq=False)
class InputBundle:
    """Every table and parameter set the chain reads, validated (see the loaders in ``afforest.data`` and
    ``afforest.model``). Treat it as read-only: stages copy before they change anything."""

    landuse_parameters: LandUseParameters
    """alpha, beta, r, A0, tau1 (data/landuse_parameters.toml) with tau(0) from ``direct_costs``."""
    direct_costs: pd.DataFrame
    """Table 4: direct planting costs by year, yuan/ha."""
    afforestable_area: pd.DataFrame
    """Table 2 (or the scenario's ``inputs.afforestable_area_file``): land_type, province, area_10k_ha."""
    esv: pd.DataFrame
    """Table 3: ESV per ha by land type and province, yuan/(ha yr)."""
    carbon_parameters: CarbonParameters
    """Richards growth, biomass factors, survival and the calibrated soil schedule."""
    carbon_discount_rates: tuple[float, ...]
    """The study's carbon discount rates r_c (0 and 5 %/yr), at which it reports its sinks and costs."""
    cost_effectiveness: CostEffectivenessParameters
    """Power-sector and price inputs of the cost-effectiveness comparison."""
    power_fuels: pd.DataFrame
    """Table 5 fuels of thermal generation."""
    power_technologies: pd.DataFrame
    """Table 5 generation costs of the abatement options."""
    published: dict[str, Quantity]
    """The study's published figures (data/published_results.toml), for the reproduction."""
    afforestable_area_file: Path | None = None
    """The area table's file when it is not the study's Table 2 (errors name it)."""


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = os.stat(path)
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _cached_bundle(area_key: tuple[str, int, int] | None, data_keys: tuple[tuple[str, int, int], ...]) -> InputBundle:
    direct_costs = load_direct_costs()
    area_file = Path(area_key[0]) if area_key is not None else None
    return InputBundle(
        landuse_parameters=load_landuse_parameters(direct_costs=direct_costs),
        direct_costs=direct_costs,
        afforestable_area=load_afforestable_area(area_file),
        esv=load_esv(),
        carbon_parameters=load_carbon_parameters(),
        carbon_discount_rates=study_carbon_discount_rates(),
        cost_effectiveness=load_cost_effectiveness_parameters(),
        power_fuels=load_power_fuels(),
        power_technologies=load_power_technologies(),
        published=load_quantities(data_path("published_results.toml")),
        afforestable_area_file=area_file,
    )


def _package_data_keys() -> tuple[tuple[str, int, int], ...]:
    folder = data_path("published_results.toml").parent
    return tuple(_file_key(p) for p in sorted(folder.iterdir()) if p.suffix in (".csv", ".toml"))


def load_bundle(afforestable_area_file: str | Path | None = None) -> InputBundle:
    """The study's inputs (with another afforestable-area table if given), read once per process.

    The same files give the same :class:`InputBundle` object; a file changed on disk is read again.
    """
    area_key = None
    if afforestable_area_file is not None:
        path = Path(afforestable_area_file)
        if not path.is_file():
            load_afforestable_area(path)  # raises the loader's own error, naming the file
        area_key = _file_key(path)
    return _cached_bundle(area_key, _package_data_keys())


def clear_bundle_cache() -> None:
    """Forget every bundle read so far (tests that patch a loader call this first)."""
    _cached_bundle.cache_clear()
