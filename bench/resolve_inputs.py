"""Benchmark: what a sweep point pays to turn its scenario into the land-use models' inputs.

Run: `.venv/bin/python bench/resolve_inputs.py [--scenario sensitivity] [--samples 8] [--profile]`.

The points of the scenario's Sobol' design (N = ``--samples``) are validated once (not timed); then, in one process
with warm per-process caches (the first point is not counted, as in a sweep worker), each point's
:func:`afforest.chain.inputs.scenario_bundle`, :func:`afforest.chain.inputs.resolve_inputs` and
:meth:`afforest.model.problem.LandUseProblem.from_classes` (the fast path's units) are timed. Medians in ms, wall
clock and this thread's CPU time (on a shared machine the CPU time is the steadier: another process taking the core
for a few ms shows in the wall clock only). ``--profile``: cProfile of ``resolve_inputs`` over the points instead.

No result is checked here (tests/test_input_caches.py does that); compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread, as a sweep worker
    os.environ.setdefault(_var, "1")

import cProfile  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from afforest.chain.inputs import resolve_inputs, scenario_bundle  # noqa: E402
from afforest.chain.sensitivity import build_design  # noqa: E402
from afforest.chain.sweep import resolve_key  # noqa: E402
from afforest.model.problem import LandUseProblem  # noqa: E402
from afforest.scenarios import Scenario, load_scenario  # noqa: E402

PROFILE_LINES = 40
"""Functions listed by ``--profile`` (by cumulative time)."""


def design_scenarios(name: str, samples: int) -> list[Scenario]:
    """The validated scenarios of the Sobol' design of scenario ``name``'s sensitivity section, N = ``samples``."""
    base = load_scenario(name)
    spec = base.sensitivity
    design = build_design(spec.inputs, "sobol", samples, seed=spec.seed)
    keys = {key: resolve_key(key) for key in design.keys}
    scenarios = []
    for _, row in design.values[design.keys].iterrows():
        overrides = {keys[k]: (v if isinstance(v, str) else float(v)) for k, v in row.items()}
        scenarios.append(base.with_overrides(overrides))
    return scenarios


def timed_calls(calls: list[Callable[[], Any]]) -> tuple[float, float, list[Any]]:
    """(wall, CPU) medians of the calls, ms, and their results."""
    wall, cpu, results = [], [], []
    for call in calls:
        started, started_cpu = time.perf_counter(), time.thread_time()
        results.append(call())
        cpu.append((time.thread_time() - started_cpu) * 1e3)
        wall.append((time.perf_counter() - started) * 1e3)
    return statistics.median(wall), statistics.median(cpu), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="sensitivity")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    scenarios = design_scenarios(args.scenario, args.samples)
    bundles = [scenario_bundle(s) for s in scenarios]
    resolve_inputs(scenarios[0], bundles[0])  # the caches' first fill, as a worker's first point
    timed = list(zip(scenarios[1:], bundles[1:]))
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for scenario, bundle in timed:
            resolve_inputs(scenario, bundle)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(PROFILE_LINES)
        return
    print(f"{len(timed)} points of the {args.scenario!r} Sobol' design (N = {args.samples}), after the first")
    # each point resolved once, as in a sweep (a second resolve of the same point would find its carbon value cached)
    resolved = timed_calls([lambda s=s, b=b: resolve_inputs(s, b) for s, b in timed])
    rows = {
        "scenario_bundle": timed_calls([lambda s=s: scenario_bundle(s) for s, _ in timed]),
        "resolve_inputs": resolved,
        "from_classes": timed_calls([lambda i=i: LandUseProblem.from_classes(i.classes, i.params, i.grid)
                                     for i in resolved[2]]),
    }
    for name, (wall, cpu, _) in rows.items():
        print(f"{name:16s} median ms: wall {wall:7.3f}   cpu {cpu:7.3f}")


if __name__ == "__main__":
    main()
