"""The land-use stage's assembly without its overhead: the cheaper computations give the same numbers to the bit.

Each cheaper form (the scalar bisection of Eq. 3's roots, the classes' steady state on arrays, the saddle path's
right-hand side on floats and its cache, the fast path's tables built when first read) is held against the form it
replaced, on random cases or on the fast path's own results.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from afforest.chain.bundle import load_bundle
from afforest.chain.fast_path import solve_fast
from afforest.chain.inputs import resolve_inputs
from afforest.chain.results import Deferred
from afforest.data import load_landuse_parameters
from afforest.model.merit_order import classes_steady_state_area, fill_merit_order
from afforest.model.saddle_path import clear_paths_cache, saddle_path_summary, saddle_paths
from afforest.model.steady_state import clear_roots_cache, steady_state_roots, steady_state_sweep
from afforest.scenarios import load_scenario


def pandas_classes_steady_state_area(classes: pd.DataFrame, hurdle_yuan_per_ha_yr: float,
                                     extra_hurdle_by_land_type: dict[str, float] | None,
                                     province_quota_10k_ha: dict[str, float] | None) -> float:
    """The table form :func:`classes_steady_state_area` had before it ran on arrays (the reference)."""
    extra = extra_hurdle_by_land_type or {}
    gain = (classes["afforested_esv_yuan_per_ha_yr"].to_numpy(float) - classes["esv_yuan_per_ha_yr"].to_numpy(float)
            - hurdle_yuan_per_ha_yr - classes["land_type"].map(lambda t: extra.get(t, 0.0)).to_numpy(float))
    table = classes[["province", "area_10k_ha"]].assign(net_gain=gain)
    table = table[table["net_gain"] > 0].sort_values("net_gain", ascending=False, kind="stable")
    quotas = province_quota_10k_ha or {}
    total = 0.0
    for province, rows in table.groupby("province", sort=False):
        area = float(rows["area_10k_ha"].sum())
        total += min(area, float(quotas[province])) if province in quotas else area
    return total


@pytest.mark.unit
def test_the_classes_steady_state_on_arrays_is_the_table_forms_to_the_bit() -> None:
    rng = np.random.default_rng(20240314)
    for trial in range(120):
        n = int(rng.integers(1, 300))  # past numpy's 8-way pairwise summation, which both must share
        provinces = [f"p{i}" for i in range(int(rng.integers(1, 7)))]
        types = [f"t{i}" for i in range(int(rng.integers(1, 5)))]
        esv = rng.choice([100.0, 200.0, 300.0], n) if trial % 3 == 0 else rng.uniform(0, 5000, n)  # ties in the sort
        classes = pd.DataFrame({"land_type": rng.choice(types, n), "province": rng.choice(provinces, n),
                                "area_10k_ha": rng.uniform(0, 50, n) * rng.uniform(1e-6, 10),
                                "esv_yuan_per_ha_yr": esv, "afforested_esv_yuan_per_ha_yr": rng.uniform(0, 6000, n)})
        hurdle = float(rng.uniform(0, 3000))
        extra = {t: float(rng.uniform(-500, 500)) for t in types if rng.random() < 0.5} if trial % 2 else None
        quotas = {p: float(rng.uniform(0, 300)) for p in provinces if rng.random() < 0.5} if trial % 4 < 2 else None
        expected = pandas_classes_steady_state_area(classes, hurdle, extra, quotas)
        got = classes_steady_state_area(classes, hurdle, extra_hurdle_by_land_type=extra, province_quota_10k_ha=quotas)
        assert got == expected, trial


def three_root_parameters():
    """g with three roots in [0, A0] (two saddle-path stable): the bisection runs on three intervals."""
    params = load_landuse_parameters()
    g = 2e-4 * np.polynomial.Polynomial.fromroots([100.0, 250.0, 400.0])
    b = 30_000.0 - params.financial_discount_rate * params.planting_cost_intercept_yuan_per_ha - g
    return params.replace(initial_area_10k_ha=500.0, unconverted_esv_coefficients=tuple(b.coef),
                          afforested_esv_coefficients=(30_000.0,))


@pytest.mark.unit
def test_the_scalar_bisection_of_one_point_is_the_array_bisection_to_the_bit() -> None:
    """``steady_state_roots`` (one point: the bisection on floats) against two equal points of ``steady_state_sweep``
    (the array bisection, whose stopping rule is then the same as for one)."""
    rng = np.random.default_rng(7)
    base = load_landuse_parameters()
    cases = [(three_root_parameters(), None)]
    for _ in range(25):
        params = base.replace(financial_discount_rate=float(rng.uniform(0.01, 0.2)))
        cases.append((params, float(rng.uniform(0.0, 1.5) * base.planting_cost_intercept_yuan_per_ha)))
    clear_roots_cache()
    for params, tau0 in cases:
        tau = params.planting_cost_intercept_yuan_per_ha if tau0 is None else tau0
        roots = steady_state_roots(params, tau0)
        table = steady_state_sweep(params, planting_cost_intercept_yuan_per_ha=[tau, tau])
        first = table[table["point"] == 0]
        assert [r.unconverted_area_10k_ha for r in roots] == first["unconverted_area_10k_ha"].tolist()
        assert [r.net_gain_slope for r in roots] == first["net_gain_slope"].tolist()
        assert [r.stability.value for r in roots] == first["stability"].astype(str).tolist()
        assert [r.reached for r in roots] == first["reached"].tolist()
    assert len(steady_state_roots(three_root_parameters())) == 3


@pytest.mark.unit
def test_the_saddle_paths_are_cached_by_value_with_the_same_numbers() -> None:
    params = three_root_parameters()
    clear_paths_cache()
    first = saddle_path_summary(params, None)
    again = saddle_paths(params)
    assert again[0] is saddle_paths(params)[0]  # the cache answers
    clear_paths_cache()
    assert saddle_path_summary(params, None) == first
    fresh = saddle_paths(params)
    assert [p.end_time_yr for p in fresh] == [p.end_time_yr for p in again]
    s = np.linspace(0.0, fresh[0].end_time_yr, 7)
    assert np.array_equal(fresh[0].manifold(s), again[0].manifold(s))


@pytest.mark.unit
def test_the_fast_paths_deferred_tables_are_the_tables_and_survive_a_pickle() -> None:
    scenario = load_scenario("baseline").with_overrides({"policy.annual_planting_cap_10k_ha_per_yr": 12.0})
    inputs = resolve_inputs(scenario, load_bundle())
    result, _, note = solve_fast(inputs)
    assert result is not None, note
    assert all(isinstance(result.__dict__[k], Deferred) for k in ("allocation", "classes_allocation", "classes_costates"))
    copy = pickle.loads(pickle.dumps(result))  # the deferred tables are computed for the copy
    expected = fill_merit_order(inputs.classes, min(result.analytic_afforested_area_10k_ha,
                                                    float(inputs.classes["area_10k_ha"].sum())))
    pd.testing.assert_frame_equal(result.allocation, expected)
    pd.testing.assert_frame_equal(copy.allocation, expected)
    assert result.allocation is result.allocation  # computed once, then kept
    planted = result.classes_planting.groupby(["land_type", "province"], sort=False)["planted_area_10k_ha"].sum()
    allocation = result.classes_allocation.set_index(["land_type", "province"])["area_10k_ha"]
    np.testing.assert_allclose(allocation.to_numpy(), planted.loc[allocation.index].to_numpy(), rtol=1e-9)
    assert allocation.sum() == pytest.approx(result.classes_afforested_area_10k_ha, rel=1e-12)
    costates = result.classes_costates
    assert list(costates.columns) == ["land_type", "province", "slice", "period_start_yr", "costate_pv_yuan_per_ha",
                                      "costate_cv_yuan_per_ha"]
    assert len(costates) == len(inputs.classes) * inputs.grid.periods
    pd.testing.assert_frame_equal(copy.classes_costates, costates)
    result.classes_costates = None  # an assigned value replaces a deferred one
    assert result.classes_costates is None


@pytest.mark.unit
def test_the_classes_problems_units_table_is_built_when_read_and_is_the_table() -> None:
    """LandUseProblem.from_classes defers its units table: the fast path reads only the unit arrays and the key
    columns, which equal the table's columns bit for bit (and dtype); the table is the one the pandas form builds,
    also after a pickle round trip."""
    from afforest.model.problem import LandUseProblem

    scenario = load_scenario("baseline").with_overrides({"policy.annual_planting_cap_10k_ha_per_yr": 12.0})
    inputs = resolve_inputs(scenario, load_bundle())
    problem = LandUseProblem.from_classes(inputs.classes, inputs.params, inputs.grid)
    assert isinstance(problem.__dict__["units"], Deferred)
    keys = problem.key_columns
    copy = pickle.loads(pickle.dumps(problem))
    table = problem.units
    for column, values in keys.items():
        expected = table[column].to_numpy()
        assert values.dtype == expected.dtype and np.array_equal(values, expected), column
    reference = inputs.classes.sort_values(["rank", "slice"])
    assert table["land_type"].tolist() == reference["land_type"].tolist()
    assert table["slice"].tolist() == reference["slice"].astype(int).tolist()
    pd.testing.assert_frame_equal(copy.units, table, check_exact=True)
    assert problem.units is table  # built once, then kept


@pytest.mark.unit
def test_the_value_cache_keeps_the_recently_used_and_is_shared_by_threads() -> None:
    import threading

    from afforest.model.value_cache import ValueCache

    cache: ValueCache[int] = ValueCache(2)
    calls: list[int] = []

    def square(x: int):
        return lambda: calls.append(x) or x * x

    assert [cache.get(1, square(1)), cache.get(2, square(2)), cache.get(1, square(1))] == [1, 4, 1]
    assert cache.get(3, square(3)) == 9  # drops 2, the least recently used
    assert cache.get(1, square(1)) == 1 and cache.get(2, square(2)) == 4
    assert calls == [1, 2, 3, 2] and len(cache) == 2
    errors: list[BaseException] = []

    def hammer(offset: int) -> None:
        try:
            for i in range(3000):
                key = (i * 7 + offset) % 5
                assert cache.get(key, square(key)) == key * key
        except BaseException as exc:  # noqa: BLE001 - any failure in a thread fails the test
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(cache) <= 2


@pytest.mark.unit
def test_the_fast_paths_planting_paths_are_the_tables_of_their_columns() -> None:
    """The fast path builds its planting paths from one float block: each equals the table of a dict of its columns
    (values, dtypes, index, column names) and has the layout that table consolidates to (one C-ordered block)."""
    scenario = load_scenario("baseline").with_overrides({"policy.annual_planting_cap_10k_ha_per_yr": 12.0})
    result, _, note = solve_fast(resolve_inputs(scenario, load_bundle()))
    assert result is not None, note
    for path in (result.curves_path, result.classes_path):
        reference = pd.DataFrame({c: path[c].to_numpy().copy() for c in path.columns})
        pd.testing.assert_frame_equal(path, reference, check_exact=True)
        assert path.columns.equals(reference.columns) and path.index.equals(reference.index)
        (block,) = path._mgr.blocks
        assert block.values.flags["C_CONTIGUOUS"] and block.values.shape == reference._mgr.blocks[0].values.shape
