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
    planting_year_cost_yuan_per_ha,
)
from afforest.data.region import Region, load_region
from afforest.errors import InputError
from afforest.model.carbon import (
    CarbonParameters,
    load_carbon_parameters,
    load_growth_by_zone,
    study_carbon_discount_rates,
)
from afforest.model.supply_curve import (
    CostEffectivenessParameters,
    load_cost_effectiveness_parameters,
    load_power_fuels,
    load_power_technologies,
)

__all__ = ["InputBundle", "load_bundle", "clear_bundle_cache", "region_fitted_curves", "COEFFICIENT_NAMES", "StatKey",
           "stat_key"]


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
    """The area table's file when it is not the region's own (errors name it)."""
    region: Region | None = None
    """The region these tables describe (its zones, land types and files); None only for hand-built bundles,
    which then describe the bundled default region."""
    growth_by_zone: pd.DataFrame | None = None
    """Richards parameters by zone and land type where the region gives them (:func:`afforest.model.carbon.
    load_growth_by_zone`); None: one curve for the whole region (``carbon_parameters.growth``), the study's case."""
    published_curves: bool = True
    """Whether the region publishes alpha and beta (Eqs. 4-5): if not, ``landuse_parameters`` carries the
    coefficients fitted from the region's own classes (:func:`region_fitted_curves`)."""


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = os.stat(path)
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


StatKey = tuple[str, int, int, int, int]
"""(path as given, device, inode, size in bytes, modification time in ns) of a file."""


def stat_key(path: str | os.PathLike[str]) -> StatKey:
    """Which file ``path`` names (device and inode, after symlinks) and which version of it (size, mtime): a cache key
    as exact as a resolved path's, at the price of one ``stat`` (resolving a path costs a system call per part)."""
    name = os.fspath(path)
    stat = os.stat(name)
    return (name, stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


COEFFICIENT_NAMES = ("unconverted_esv_coefficients", "afforested_esv_coefficients")
"""The entries of a region's land-use parameters that publish its fitted curves (alpha, beta)."""


def region_fitted_curves(area: pd.DataFrame, esv: pd.DataFrame) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(alpha, beta) fitted (:func:`afforest.model.curve_fit.fit_curves`, default degree and candidate) from the
    merit-order classes of ``area`` and ``esv``: the curves of Eqs. 4-5 that describe this land."""
    from afforest.model.curve_fit import fit_curves
    from afforest.model.merit_order import merit_order

    fit = fit_curves(merit_order(area, esv))
    return fit.unconverted_esv_coefficients, fit.afforested_esv_coefficients


def _region_esv(region: Region) -> pd.DataFrame:
    """The region's printed ESV table, or Eq. 6 computed from its equivalent factors, mapping and SV_i."""
    if region.file("esv") is not None:
        return load_esv(region.file("esv"), region=region)
    from afforest.model.esv import EquivalentFactorInputs, esv_table

    return esv_table(*EquivalentFactorInputs(region=region).resolve())


def _landuse_parameters(region: Region, costs: pd.DataFrame, area: pd.DataFrame, esv: pd.DataFrame
                        ) -> tuple[LandUseParameters, bool]:
    file = region.file("landuse_parameters")
    quantities = load_quantities(file)
    if all(name in quantities for name in COEFFICIENT_NAMES):
        return load_landuse_parameters(file, direct_costs=costs), True
    alpha, beta = region_fitted_curves(area, esv)
    for name in ("initial_area", "financial_discount_rate", "planting_cost_slope"):
        if name not in quantities:
            raise InputError("missing parameter", file=file, field=name)
    try:
        return LandUseParameters(
            initial_area_10k_ha=float(quantities["initial_area"].value),  # type: ignore[arg-type]
            financial_discount_rate=float(quantities["financial_discount_rate"].value),  # type: ignore[arg-type]
            planting_cost_intercept_yuan_per_ha=planting_year_cost_yuan_per_ha(costs),
            planting_cost_slope_yuan_per_ha_per_10k_ha_yr=float(quantities["planting_cost_slope"].value),  # type: ignore[arg-type]
            unconverted_esv_coefficients=alpha,
            afforested_esv_coefficients=beta,
        ), False
    except InputError as exc:
        raise InputError(exc.reason, file=file, field=exc.field, value=exc.value) from exc


@lru_cache(maxsize=8)
def _cached_bundle(area_key: tuple[str, int, int] | None, data_keys: tuple[StatKey, ...],
                   region_key: str | None = None) -> InputBundle:
    region = load_region(region_key)
    direct_costs = load_direct_costs(region.file("direct_costs"))
    area_file = Path(area_key[0]) if area_key is not None else None
    area = load_afforestable_area(area_file, region=region) if area_file is not None else load_afforestable_area(
        region.file("afforestable_area"), region.file("afforestable_area_totals"), region=region)
    esv = _region_esv(region)
    params, published = _landuse_parameters(region, direct_costs, load_afforestable_area(
        region.file("afforestable_area"), region=region), esv)
    results = region.file("published_results")
    return InputBundle(
        landuse_parameters=params,
        direct_costs=direct_costs,
        afforestable_area=area,
        esv=esv,
        carbon_parameters=load_carbon_parameters(region.file("carbon_parameters"), region.file("soil_carbon_schedule")),
        carbon_discount_rates=study_carbon_discount_rates(region.file("carbon_parameters")),
        cost_effectiveness=load_cost_effectiveness_parameters(region.file("cost_effectiveness")),
        power_fuels=load_power_fuels(region.file("power_sector_fuels")),
        power_technologies=load_power_technologies(region.file("power_technologies")),
        published=load_quantities(results) if results is not None else {},
        growth_by_zone=None if region.file("growth_by_zone") is None else load_growth_by_zone(
            region.file("growth_by_zone"), region.zones, region.afforestable_land_types),
        afforestable_area_file=area_file,
        region=region,
        published_curves=published,
    )


def _package_data_keys(region: Region | None = None) -> tuple[StatKey, ...]:
    """:func:`stat_key` of every table of the package's data folder and of the region's manifest and files."""
    folder = os.fspath(data_path("published_results.toml").parent)
    with os.scandir(folder) as entries:
        names = sorted(entry.name for entry in entries if os.path.splitext(entry.name)[1] in (".csv", ".toml"))
    paths: list[str | Path] = [os.path.join(folder, name) for name in names]
    if region is not None:
        paths += [region.manifest_file, *sorted(region.files.values())]
    return tuple(stat_key(p) for p in paths)


def load_bundle(afforestable_area_file: str | Path | None = None, region: str | Path | Region | None = None
                ) -> InputBundle:
    """The inputs of ``region`` (None: the bundled default, the study's; a bundled name or a folder with
    ``region.toml``), with another afforestable-area table if given, read once per process.

    The same files give the same :class:`InputBundle` object; a file changed on disk is read again.
    """
    resolved = load_region(region)
    region_key = None if resolved.is_default else str(resolved.directory)
    area_key = None
    if afforestable_area_file is not None:
        path = Path(afforestable_area_file)
        if not path.is_file():
            load_afforestable_area(path, region=resolved)  # raises the loader's own error, naming the file
        area_key = _file_key(path)
    return _cached_bundle(area_key, _package_data_keys(None if region_key is None else resolved), region_key)


def clear_bundle_cache() -> None:
    """Forget every bundle read so far (tests that patch a loader call this first)."""
    _cached_bundle.cache_clear()
