"""The carbon a sweep row reads, from per-hectare schedules cached by value: a planting path's sink by the horizon is
the dot product of its cohorts' areas with the sink-by-horizon of one hectare planted in each period.

:func:`afforest.model.carbon.cohort_sink` convolves every cohort with the per-hectare sink, period by period, and
tabulates the result; a row reads only its total by the horizon, sum over cohorts s of area_s e^{-r_c t_s}
x (the per-hectare sink accumulated from age 0 to the horizon's age T - t_s). That last factor depends on the
carbon parameters (growth included), r_c and the accounting step alone: it is computed once per key
(:func:`planting_schedule_t_co2_per_ha`) with :func:`~afforest.model.carbon.per_hectare_arrays`, the convolution's
own per-hectare arrays, so the total equals the table's to rounding (1e-12 relative, held by
tests/test_chain_caches.py). The caches are keyed by value (the frozen parameters, the rate, the step, a table's
content), never by an object's identity; every call hands out a copy.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from afforest.model.carbon import (
    CarbonParameters,
    StandGrowth,
    check_discount_rate,
    growth_of,
    per_hectare_arrays,
    per_hectare_totals,
    validated_cohorts,
)

__all__ = [
    "cached_by_value",
    "clear_carbon_caches",
    "frame_key",
    "growths_of",
    "per_hectare_pool_totals_t_co2",
    "planted_sink_mt_co2",
    "planting_schedule_t_co2_per_ha",
]

CACHE_ENTRIES = 256
"""Entries kept per cache (least recently used dropped): a sensitivity design visits a few dozen distinct carbon
keys (the carbon parameters are rarely sampled), each a few hundred floats."""
MT_PER_10K_T = 1e-2
"""10^4 ha x t/ha = 10^4 t = 0.01 Mt (as model/carbon.py)."""

_T = TypeVar("_T")
_CACHES: dict[str, OrderedDict[Hashable, Any]] = {}
_LOCK = threading.Lock()


def clear_carbon_caches() -> None:
    """Forget every cached schedule, total and growth (tests; a long-lived process after changing data in place)."""
    with _LOCK:
        for cache in _CACHES.values():
            cache.clear()


def cached_by_value(name: str, key: Hashable, compute: Callable[[], _T]) -> _T:
    """``compute()`` once per ``key`` in cache ``name``; an unhashable key (a caller's own growth class) is computed
    every time."""
    try:
        hash(key)
    except TypeError:
        return compute()
    with _LOCK:
        cache = _CACHES.setdefault(name, OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = compute()
    with _LOCK:  # a worker's threads (Dask) share the caches
        cache[key] = value
        while len(cache) > CACHE_ENTRIES:
            cache.popitem(last=False)
    return value


def frame_key(frame: pd.DataFrame | None) -> Hashable:
    """A small table's content as a hashable key: its columns and every row's values (a missing value as None, so
    that equal tables give equal keys)."""
    if frame is None:
        return None
    rows = tuple(tuple(None if value is pd.NA or (isinstance(value, float) and value != value) else value
                       for value in row) for row in frame.to_numpy(dtype=object))
    return tuple(frame.columns), rows


def per_hectare_pool_totals_t_co2(params: CarbonParameters, carbon_discount_rate: float) -> NDArray[np.float64]:
    """:func:`~afforest.model.carbon.per_hectare_totals` as an array (pools in POOLS order), t CO2/ha; cached."""
    rate = check_discount_rate(carbon_discount_rate)
    value = cached_by_value("pool_totals", (params, rate), lambda: per_hectare_totals(params, rate).to_numpy(dtype=float))
    return value.copy()


def planting_schedule_t_co2_per_ha(params: CarbonParameters, carbon_discount_rate: float, step_yr: float
                                   ) -> NDArray[np.float64]:
    """Sink by the horizon of one hectare planted at the start of each accounting period (all pools, discounted to
    t = 0 at r_c), t CO2/ha, one value per period of ``step_yr``; cached."""
    rate = check_discount_rate(carbon_discount_rate)

    def compute() -> NDArray[np.float64]:
        _, discounted = per_hectare_arrays(params, rate, step_yr)
        n = discounted.shape[1]
        by_age = np.cumsum(discounted, axis=1).sum(axis=0)  # accumulated from age 0 to the end of each age step
        return np.exp(-rate * np.arange(n) * step_yr) * by_age[::-1]

    return cached_by_value("schedule", (params, rate, float(step_yr)), compute).copy()


def growths_of(table: pd.DataFrame | None, default: StandGrowth, keys: Sequence[tuple[str, str]]) -> list[StandGrowth]:
    """:func:`~afforest.model.carbon.growth_of` of each (land type, province), cached by the table's content."""
    if table is None:
        return [default] * len(keys)
    content = frame_key(table)
    return [cached_by_value("growth", (content, default, key), lambda key=key: growth_of(table, default, *key)) for key in keys]


def planted_sink_mt_co2(start_yr: NDArray[np.float64], area_10k_ha: NDArray[np.float64], params: CarbonParameters,
                        rates: Sequence[float], step_yr: float, groups: Sequence[tuple[str, str]] | None = None,
                        growth_table: pd.DataFrame | None = None) -> dict[float, float]:
    """Sink by the horizon of cohorts planted at ``start_yr`` (yr, before the horizon, on the ``step_yr`` grid) with
    ``area_10k_ha``, all pools, discounted at each rate, Mt CO2: the total of :func:`~afforest.model.carbon.cohort_sink`
    over the horizon, with its checks. ``groups``: each cohort's (land type, province), which grows on its own curve
    (:func:`growths_of` in ``growth_table``), as :func:`~afforest.model.carbon.zone_cohort_sink`."""
    period, area = validated_cohorts(start_yr, area_10k_ha, params.horizon_yr, step_yr)
    n = int(round(params.horizon_yr / step_yr))
    if groups is None or growth_table is None:
        planted = [(params, np.bincount(period, weights=area, minlength=n))]
    else:  # one (parameters, cohorts) pair per group, as zone_cohort_sink
        index: dict[tuple[str, str], list[int]] = {}
        for i, key in enumerate(groups):
            index.setdefault((str(key[0]), str(key[1])), []).append(i)
        planted = []
        for key, growth in zip(index, growths_of(growth_table, params.growth, list(index))):
            rows = np.asarray(index[key])
            own = cached_by_value("replaced", (params, growth), lambda growth=growth: params.replace(growth=growth))
            planted.append((own, np.bincount(period[rows], weights=area[rows], minlength=n)))
    return {
        rate: float(sum(MT_PER_10K_T * float(weights @ planting_schedule_t_co2_per_ha(own, rate, step_yr))
                        for own, weights in planted))
        for rate in rates
    }
