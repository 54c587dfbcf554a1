"""Stage 1 of the chain for land use: a validated scenario applied to the study's data, as plain inputs.

:func:`resolve_inputs` takes the validated tables of an :class:`~afforest.chain.bundle.InputBundle` (read once
per process), applies the scenario's overrides, its ESV source and the registered data-level switches
(:func:`afforest.model.formulations.registered_input_transforms`: excluded provinces, the opportunity-cost share,
and any a user registers) and refuses, before anything is built, policy values the schema cannot judge alone and a
classes model too large for this machine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from afforest.chain.bundle import InputBundle, StatKey, load_bundle, region_fitted_curves, stat_key
from afforest.data import LandUseParameters, check_area_against_initial_area
from afforest.errors import InputError
from afforest.model.cells.limits import available_memory_bytes, memory_estimate_bytes
from afforest.model.cells.problem import cell_problem
from afforest.model.cells.table import load_cell_spreads, load_cells, synthetic_cells
from afforest.model.esv import (
    EquivalentFactorInputs,
    esv_table,
    load_equivalent_factors,
    load_standard_equivalent_values,
)
from afforest.model.formulations import (
    MIN_PLANTING_CAP_10K_HA_PER_YR,
    SwitchData,
    registered_input_transforms,
    registered_switches,
    switch_values,
)
from afforest.model.problem import LandUseProblem, TimeGrid
from afforest.model.value_cache import ValueCache
from afforest.model.merit_order import landuse_classes
from afforest.scenarios import Scenario, load_scenario

__all__ = [
    "Inputs",
    "resolve_inputs",
    "check_policy",
    "check_model_size",
    "carbon_pv_t_co2_per_ha",
    "carbon_policy_data",
    "load_carbon_price_series",
    "MIN_PLANTING_CAP_10K_HA_PER_YR",
    "synthetic_study_cells",
    "load_study_cells",
    "study_cell_problem",
    "scenario_bundle",
    "bundle_for",
    "curves_mode",
    "fitted_parameters",
    "equivalent_factor_esv",
    "cached_landuse_classes",
    "clear_input_caches",
]





@dataclass(frozen=True)
class Inputs:
    """Everything the land-use models read, after the scenario has been applied to the study's data."""

    scenario: Scenario
    params: LandUseParameters
    """After the scenario's overrides and the opportunity-cost share."""
    grid: TimeGrid
    classes: pd.DataFrame
    """Merit-order classes after exclusions and the opportunity-cost share."""
    carbon_pv_t_co2_per_ha: float
    """PV at planting of one hectare's sequestration at the planner's rate (0 unless carbon is priced)."""
    switch_extra: Mapping[str, Any] = field(default_factory=dict)
    """``SwitchData.extra``: the carbon-policy switches' per-period numbers (:func:`carbon_policy_data`)."""

    @property
    def switch_data(self) -> SwitchData:
        """What the policy switches read besides their own fields."""
        return SwitchData(carbon_pv_t_co2_per_ha=self.carbon_pv_t_co2_per_ha, extra=self.switch_extra)

    @property
    def effective_planting_cost_yuan_per_ha(self) -> float:
        """tau(0) shifted by every active switch that acts like a change of it (e.g. the carbon value of a planted
        hectare, :meth:`afforest.model.formulations.Switch.planting_cost_shift_yuan_per_ha`): the cost Eq. 3 sees."""
        cost = self.params.planting_cost_intercept_yuan_per_ha
        for switch in registered_switches():
            values = switch_values(switch, self.scenario.policy)
            if switch.is_active(values):
                cost += switch.planting_cost_shift_yuan_per_ha(values, self.switch_data)
        return cost


def carbon_pv_t_co2_per_ha(scenario: Scenario, financial_discount_rate: float, bundle: InputBundle | None = None) -> float:
    """PV at planting of one hectare's sequestration at the planner's rate (t CO2/ha), 0 unless carbon is priced."""
    if scenario.policy.carbon_price_yuan_per_t_co2 == 0:
        return 0.0
    from afforest.model.carbon import per_hectare_totals

    carbon = scenario.carbon.parameters((bundle or scenario_bundle(scenario)).carbon_parameters)
    # Money is discounted at the planner's rate, so the carbon a hectare stores over the accounting horizon
    # is valued at the financial rate, whatever r_c the carbon report uses.
    def compute() -> float:
        return float(per_hectare_totals(carbon, financial_discount_rate).sum())

    key = (carbon, financial_discount_rate)  # frozen dataclasses of numbers: a key by value
    try:
        hash(key)
    except TypeError:  # a growth curve of the user's that cannot be hashed: not cached
        return compute()
    return _carbon_pv_cache.get(key, compute)


def load_carbon_price_series(path: str | Path) -> pd.Series:
    """A yearly carbon price file (CSV: ``year``, ``carbon_price_yuan_per_t_co2``), checked, as a Series by year."""
    from afforest.model.carbon_policy import check_price_series

    file = Path(path)
    if not file.is_file():
        raise InputError("no such file", file=file, field="policy.carbon_price_path_file")
    return check_price_series(pd.read_csv(file, comment="#"), file=file)


def carbon_policy_data(scenario: Scenario, params: LandUseParameters, grid: TimeGrid, bundle: InputBundle) -> dict[str, Any]:
    """``SwitchData.extra`` of the carbon-policy switches (afforest.model.carbon_policy), empty when neither is active:
    the carbon value of a hectare planted in each period under the price path (yuan/ha, current value at t_k) and
    the constant part the ``carbon_price`` switch pays (P0 Q_r), and the target's coefficients S_k (t CO2/ha)."""
    from afforest.model import carbon_policy as cp

    policy, out = scenario.policy, {}
    starts = [k * grid.step_yr for k in range(grid.periods)]
    carbon = scenario.carbon.parameters(bundle.carbon_parameters)  # the scenario's calibration, hazard and buffer
    r = params.financial_discount_rate
    growth, path_file = policy.carbon_price_growth_rate_per_yr, policy.carbon_price_path_file
    if growth != 0 or path_file is not None:
        if path_file is not None:
            values = cp.series_price_values_yuan_per_ha(starts, carbon, r, load_carbon_price_series(path_file))
        else:
            values = cp.price_path_values_yuan_per_ha(starts, carbon, r, policy.carbon_price_yuan_per_t_co2, growth)
        out["carbon_value_yuan_per_ha_by_period"] = tuple(float(v) for v in values)
        out["carbon_value_base_yuan_per_ha"] = policy.carbon_price_yuan_per_t_co2 * carbon_pv_t_co2_per_ha(scenario, r, bundle)
    if policy.carbon_target_mt_co2 is not None:
        coefficients = cp.target_coefficients_t_co2_per_ha(
            starts, carbon, policy.carbon_target_discount_rate, policy.carbon_target_year, policy.carbon_target_form
        )
        out["carbon_target_t_co2_per_ha_by_period"] = tuple(float(v) for v in coefficients)
    return out


def resolve_inputs(scenario: Scenario | str = "baseline", bundle: InputBundle | None = None) -> Inputs:
    """Apply a scenario's overrides and data-level switches to the study's data.

    ``bundle``: the validated inputs (default :func:`afforest.chain.bundle.load_bundle` of the scenario's
    afforestable-area file, cached per process); only a scenario's own equivalent-factor files are read here.
    """
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    check_policy(scenario)
    files = scenario.inputs
    bundle = bundle_for(scenario, bundle)
    params = bundle.landuse_parameters
    landuse = scenario.landuse.model_dump(exclude={"opportunity_cost_share", "esv_source", "curves",
                                                   "esv_multiplier_by_land_type"})
    params = params.replace(**{k: v for k, v in landuse.items() if v is not None})
    grid = TimeGrid(
        horizon_yr=scenario.numerics.horizon_yr,
        step_yr=scenario.numerics.step_yr,
        discounting=scenario.numerics.discounting,
        terminal_value=scenario.numerics.terminal_value,
    )
    area = bundle.afforestable_area
    area_key = _frame_key(area)
    if scenario.landuse.esv_source == "equivalent_factors":
        # the cached table itself, not a copy: nothing below changes it (the merit order builds new frames)
        esv_key, esv = _equivalent_factor_esv_entry(files.equivalent_factors_file, files.standard_equivalent_file,
                                                    bundle)
    else:
        esv = bundle.esv
        esv_key = _frame_key(esv)
    if curves_mode(scenario, bundle) == "fitted":
        params = _with_fitted_curves(params, area, _fitted_curves(area, area_key, esv, esv_key), scenario)
    _check_area_once(area, area_key, params.initial_area_10k_ha, files.afforestable_area_file)
    transforms = registered_input_transforms()
    table = area
    for transform in transforms:
        if transform.stage == "afforestable_area":
            area = transform.transform_area(area, scenario)
    if area is not table or any(t.is_active(scenario) for t in transforms if t.stage == "afforestable_area"):
        area_key = _frame_key(area)  # the table the merit order reads
    areas_10k_ha = area["area_10k_ha"].to_numpy()
    positive = areas_10k_ha[areas_10k_ha > 0]
    cap = scenario.classes.max_class_area_10k_ha
    check_model_size(scenario, int(np.ceil(positive / cap).sum()) if cap else len(positive), grid.periods)
    classes = _classes_for_keys(area, area_key, esv, esv_key, params, scenario.classes.post_planting_rule,
                                scenario.classes.max_class_area_10k_ha)
    for transform in transforms:
        if transform.stage == "classes":
            params, classes = transform.transform_classes(params, classes, scenario)
    return Inputs(
        scenario=scenario,
        params=params,
        grid=grid,
        classes=classes,
        carbon_pv_t_co2_per_ha=carbon_pv_t_co2_per_ha(scenario, params.financial_discount_rate, bundle),
        switch_extra=carbon_policy_data(scenario, params, grid, bundle),
    )


# ------------------------------------------------------------------------ per-process caches of the inputs
INPUT_CACHE_SIZE = 16
"""Entries of each cache below but the carbon values': a sensitivity run varies the ESV source and the post-planting
rule (two values each) and nothing else these tables depend on, so 16 holds every combination with room for a few
regions (the fitted curves and the passed checks of the area table against A0 are fewer still)."""
_esv_cache: ValueCache[pd.DataFrame] = ValueCache(INPUT_CACHE_SIZE)
_classes_cache: ValueCache[pd.DataFrame] = ValueCache(INPUT_CACHE_SIZE)
_curves_cache: ValueCache[tuple[tuple[float, ...], tuple[float, ...]]] = ValueCache(INPUT_CACHE_SIZE)
CARBON_PV_CACHE_SIZE = 256
"""Entries of the cache of :func:`carbon_pv_t_co2_per_ha` (a float each, ~0.6 ms to compute): a grid sweep repeats
each discount rate across its other keys, and so does a Saltelli design (each rate of matrix A returns in every
A_B^(i) but one: 19 rates in the 97 points of the ``sensitivity`` scenario's N = 8)."""
_carbon_pv_cache: ValueCache[float] = ValueCache(CARBON_PV_CACHE_SIZE)
_area_checks: ValueCache[bool] = ValueCache(INPUT_CACHE_SIZE)


MISSING_FILE_STAT = -1
"""Device, inode, size and mtime of a file that cannot be read in its :func:`_file_signature` (its loader raises)."""


def _file_signature(path: str | Path | None) -> StatKey | None:
    """:func:`afforest.chain.bundle.stat_key` of a file (which file, which version), so an edited file is never
    served from a cache."""
    if path is None:
        return None
    try:
        return stat_key(path)
    except OSError:
        return (os.fspath(path), *(MISSING_FILE_STAT,) * 4)  # the loader raises its own named error


def _frame_key(frame: pd.DataFrame) -> tuple[Any, ...]:
    """A frame's content as a hashable value, column by column (name, dtype, values; the index is not read): small
    tables only (the area and ESV tables). Numbers are compared by their bytes, so equal keys mean equal tables."""
    if not frame.columns.is_unique:  # a column name no longer names one column: compare the rows
        return ("rows", tuple(frame.columns), tuple(map(str, frame.dtypes)),
                tuple(frame.itertuples(index=False, name=None)))
    key: list[Any] = ["table"]
    for name in frame.columns:
        column = frame[name]
        values = column.to_numpy()
        dtype: Any = str(column.dtype)
        if isinstance(column.dtype, pd.CategoricalDtype):  # its categories' order sorts it
            dtype = (dtype, tuple(column.dtype.categories), column.dtype.ordered)
        key.append((name, dtype, values.tobytes() if values.dtype.kind in "biuf" else tuple(values.tolist())))
    return tuple(key)


def clear_input_caches() -> None:
    """Forget the cached ESV tables, merit-order classes, fitted curves, carbon values and passed area checks
    (tests compare cached and uncached answers)."""
    for cache in (_esv_cache, _classes_cache, _curves_cache, _carbon_pv_cache, _area_checks):
        cache.clear()


def equivalent_factor_esv(
    equivalent_factors_file: str | Path | None, standard_equivalent_file: str | Path | None, bundle: InputBundle
) -> pd.DataFrame:
    """Eq. 6's ESV table (:func:`afforest.model.esv.esv_table`) from the scenario's own files or the bundle's
    region's, cached per process by the files' paths, modification times and sizes (every file of the region
    and its manifest); a copy is returned, so a caller may change it."""
    return _equivalent_factor_esv_entry(equivalent_factors_file, standard_equivalent_file, bundle)[1].copy()


def _equivalent_factor_esv_entry(
    equivalent_factors_file: str | Path | None, standard_equivalent_file: str | Path | None, bundle: InputBundle
) -> tuple[tuple[Any, ...], pd.DataFrame]:
    """(key, the cached table itself) of :func:`equivalent_factor_esv`: callers must not change the table."""
    region = bundle.region
    region_key: tuple[Any, ...] = ()
    if region is not None:
        region_key = (region.name, _file_signature(region.manifest_file),
                      tuple(sorted((name, _file_signature(path)) for name, path in region.files.items())))
    key = ("equivalent_factors", _file_signature(equivalent_factors_file), _file_signature(standard_equivalent_file),
           region_key)

    def compute() -> pd.DataFrame:
        equivalents, standard_values = EquivalentFactorInputs(
            factors=load_equivalent_factors(equivalent_factors_file) if equivalent_factors_file else None,
            standard_values=load_standard_equivalent_values(standard_equivalent_file) if standard_equivalent_file else None,
            region=region,
        ).resolve()
        return esv_table(equivalents, standard_values)

    return key, _esv_cache.get(key, compute)


def cached_landuse_classes(
    area: pd.DataFrame, esv: pd.DataFrame, params: LandUseParameters, rule: Any, max_class_area_10k_ha: float | None
) -> pd.DataFrame:
    """:func:`afforest.model.merit_order.landuse_classes`, cached per process by the content of ``area`` and
    ``esv``, the rule, the class size and C'(z)'s coefficients (the only parameters it reads); a copy is returned."""
    return _classes_for_keys(area, _frame_key(area), esv, _frame_key(esv), params, rule, max_class_area_10k_ha)


def _classes_for_keys(
    area: pd.DataFrame, area_key: tuple[Any, ...], esv: pd.DataFrame, esv_key: tuple[Any, ...],
    params: LandUseParameters, rule: Any, max_class_area_10k_ha: float | None,
) -> pd.DataFrame:
    """:func:`cached_landuse_classes` with the tables' keys given: the content (:func:`_frame_key`), or for a table
    of the ESV cache, that cache's key (the files it was computed from)."""
    key = (area_key, esv_key, str(rule), max_class_area_10k_ha, params.afforested_esv_coefficients)
    return _classes_cache.get(key, lambda: landuse_classes(
        area, esv, params, rule=rule, max_class_area_10k_ha=max_class_area_10k_ha)).copy()


def _fitted_curves(area: pd.DataFrame, area_key: tuple[Any, ...], esv: pd.DataFrame, esv_key: tuple[Any, ...]
                   ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """:func:`afforest.chain.bundle.region_fitted_curves` (a least-squares fit, tens of ms), cached per process by
    the tables' keys (as in :func:`_classes_for_keys`); tuples, so never changed."""
    return _curves_cache.get((area_key, esv_key), lambda: region_fitted_curves(area, esv))


def _check_area_once(area: pd.DataFrame, area_key: tuple[Any, ...], initial_area_10k_ha: float,
                     file: str | Path | None) -> None:
    """:func:`afforest.data.check_area_against_initial_area` with the default tolerance, remembered when it passes:
    the verdict depends on the table's content (its key) and A0 only (``file`` names the table in an error)."""
    def check() -> bool:
        check_area_against_initial_area(area, initial_area_10k_ha, file=file)  # raises: nothing remembered
        return True

    _area_checks.get((area_key, initial_area_10k_ha), check)


def scenario_bundle(scenario: Scenario) -> InputBundle:
    """The validated inputs a scenario reads: its region's (``inputs.region``) with its own area table if it names one."""
    return load_bundle(scenario.inputs.afforestable_area_file, scenario.inputs.region)


def bundle_for(scenario: Scenario, bundle: InputBundle | None) -> InputBundle:
    """``bundle`` if it holds the scenario's region's data, else the scenario's own (:func:`scenario_bundle`): a
    bundle read for one region never silently serves a scenario of another (a sweep passes the base's bundle)."""
    if bundle is not None:
        from afforest.data.region import region_dir

        held = bundle.region.directory if bundle.region is not None else region_dir(None)
        wanted = region_dir(scenario.inputs.region)
        # the same spelling is the same folder; only different spellings need resolving (a system call per part)
        if held == wanted or held.resolve() == wanted.resolve():
            return bundle
    return scenario_bundle(scenario)


def curves_mode(scenario: Scenario, bundle: InputBundle) -> str:
    """``landuse.curves`` resolved: 'published' where the region publishes alpha, beta (the study), 'fitted' otherwise;
    asking for 'published' of a region that publishes none is refused."""
    mode = scenario.landuse.curves
    if mode is None:
        return "published" if bundle.published_curves else "fitted"
    if mode == "published" and not bundle.published_curves:
        region = bundle.region
        raise InputError(
            "the region publishes no curve coefficients (alpha, beta in its land-use parameters): use 'fitted'",
            file=region.manifest_file if region is not None else f"scenario {scenario.name!r}",
            field="landuse.curves", value=mode,
        )
    return mode


def fitted_parameters(params: LandUseParameters, area: pd.DataFrame, esv: pd.DataFrame, scenario: Scenario) -> LandUseParameters:
    """``params`` with alpha, beta fitted from the classes of ``area`` and ``esv`` (the scenario's own land), and A0 the
    area table's total unless the scenario sets ``landuse.initial_area_10k_ha``: Eq. 3, the curves model and the classes
    model then describe the same land."""
    return _with_fitted_curves(params, area, region_fitted_curves(area, esv), scenario)


def _with_fitted_curves(params: LandUseParameters, area: pd.DataFrame,
                        curves: tuple[tuple[float, ...], tuple[float, ...]], scenario: Scenario) -> LandUseParameters:
    """:func:`fitted_parameters` with the curves (alpha, beta) given."""
    alpha, beta = curves
    changes: dict[str, Any] = {"unconverted_esv_coefficients": alpha, "afforested_esv_coefficients": beta}
    if scenario.landuse.initial_area_10k_ha is None:
        changes["initial_area_10k_ha"] = float(area["area_10k_ha"].sum())
    return params.replace(**changes)


def check_policy(scenario: Scenario) -> None:
    """Combinations of policy values that the schema cannot see, refused before anything is built: each active
    switch's :meth:`~afforest.model.formulations.Switch.check` of the scenario."""
    for switch in registered_switches():
        values = switch_values(switch, scenario.policy)
        if switch.is_active(values):
            switch.check(values, scenario)


def check_model_size(scenario: Scenario, n_classes: int, n_periods: int) -> int:
    """Refuse, before building, a classes model too large for this machine's memory; return the estimate (bytes).

    The classes QP has one rate per class and period, like the cell-level model whose Pyomo build was measured
    (:data:`afforest.model.cells.limits.MEMORY_BYTES_PER_CELL_PERIOD`); a tiny ``numerics.step_yr`` or
    ``classes.max_class_area_10k_ha`` multiplies periods or classes.
    """
    estimate = memory_estimate_bytes(n_classes, n_periods, "pyomo")
    available = available_memory_bytes()
    if available is None or estimate <= available:
        return estimate
    split = scenario.classes.max_class_area_10k_ha is not None
    raise InputError(
        f"the classes model would have {n_classes:,} classes x {n_periods:,} periods and need about "
        f"{estimate / 1e9:.3g} GB of memory, but {available / 1e9:.3g} GB is available: take a larger "
        "classes.max_class_area_10k_ha or numerics.step_yr, or a shorter numerics.horizon_yr",
        file=f"scenario {scenario.name!r}",
        field="classes.max_class_area_10k_ha" if split else "numerics.step_yr",
        value=scenario.classes.max_class_area_10k_ha if split else scenario.numerics.step_yr,
    )




# ------------------------------------------------------------------------ cell-level inputs from the study's data
def synthetic_study_cells(n_cells: int, *, seed: int = 0, bundle: InputBundle | None = None) -> pd.DataFrame:
    """:func:`afforest.model.cells.synthetic_cells` over the study's tables (``bundle``, default
    :func:`load_bundle`) and the spreads of ``data/cell_spreads.toml``."""
    bundle = bundle or load_bundle()
    return synthetic_cells(
        n_cells,
        seed=seed,
        params=bundle.landuse_parameters,
        area=bundle.afforestable_area,
        esv=bundle.esv,
        spreads=load_cell_spreads(),
    )


def load_study_cells(path: str | Path, params: LandUseParameters | None = None, *, bundle: InputBundle | None = None) -> pd.DataFrame:
    """:func:`afforest.model.cells.load_cells` with the study's tau(0) for a table without costs (``params``,
    default the bundle's)."""
    return load_cells(path, params or (bundle or load_bundle()).landuse_parameters)


def study_cell_problem(
    cells: pd.DataFrame,
    params: LandUseParameters | None = None,
    grid: TimeGrid | None = None,
    *,
    carbon_price_yuan_per_t_co2: float = 0.0,
    bundle: InputBundle | None = None,
) -> LandUseProblem:
    """:func:`afforest.model.cells.cell_problem` with the study's economics unless ``params`` are given."""
    return cell_problem(
        cells, params or (bundle or load_bundle()).landuse_parameters, grid, carbon_price_yuan_per_t_co2=carbon_price_yuan_per_t_co2
    )
