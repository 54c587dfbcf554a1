"""Global sensitivity analysis of the chain: a SALib design over a scenario's ``[sensitivity]`` inputs, evaluated
by any *evaluator*, and SALib's indices with bootstrap confidence intervals.

The analysis (:func:`analyse`) is written against an evaluator, a callable that takes a table of input values
(one row per evaluation, one column per input, indexed by the evaluation's id) and returns a table of outputs
indexed the same way, with an optional ``status`` column (``failed`` rows are failures). The package's own
evaluator, :class:`ChainEvaluator`, runs one chain per row through the sweep machinery
(:func:`afforest.chain.sweep.run_sweep`: models re-used per worker, local processes or a Dask cluster,
resumable and atomic output folder); the checks plug in the Ishigami function (:func:`ishigami`) or a linear
function on the same code path, and a faster evaluator of the chain can be plugged in the same way.

Sampling and estimators are SALib's (``SALib.sample.sobol`` with ``SALib.analyze.sobol``: Saltelli's design
and first-order, total and optionally second-order indices; ``SALib.sample.morris`` with
``SALib.analyze.morris``: mu*, its bootstrap interval and sigma). Every design is drawn in the unit cube and
each column is mapped to its input's distribution by the inverse CDF (:func:`quantile`, scipy.stats for the
triangular and the truncated normal). Inputs are independent, so ``f(F^-1(u))`` has the same variance
decomposition as ``f(x)``: the Sobol' indices are those of the inputs' distributions. Morris's elementary
effects are taken in the unit (quantile) space, as Campolongo et al. (2007) recommend for non-uniform inputs:
mu* is the mean absolute change of an output per unit of an input's probability range, in the output's unit.

Failed evaluations (a ``failed`` row, or a non-finite output) are never imputed. Sobol' estimators need the
whole Saltelli block of a base sample (A, B and the k or 2k cross rows), Morris's a whole trajectory; with
``on_failure = "drop"`` (the default) the blocks or trajectories holding a failure are dropped for that output
and the rest analysed (a valid Monte Carlo estimate if failures are unrelated to the output, biased towards
where the chain succeeds otherwise; the count is reported beside the indices); with ``"refuse"`` the output's
indices are left empty. One-at-a-time runs (the tornado chart) move each input to two quantiles with the others at
their medians.
"""

from __future__ import annotations

import importlib.metadata
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from afforest.errors import InputError
from afforest.scenarios import (
    DiscreteInput,
    LogUniformInput,
    NormalInput,
    Scenario,
    SensitivitySection,
    TriangularInput,
    UniformInput,
    check_sensitivity_samples,
)

__all__ = [
    "DEFAULT_SAMPLES",
    "ISHIGAMI_INDICES",
    "ChainEvaluator",
    "Design",
    "Evaluator",
    "SensitivityResult",
    "analyse",
    "analyse_scenario",
    "build_design",
    "describe",
    "evaluate_design",
    "indices_from_evaluations",
    "ishigami",
    "quantile",
    "salib_version",
]

Evaluator = Callable[[pd.DataFrame], pd.DataFrame]
"""Input values (rows: evaluations, index: their ids; columns: inputs) -> outputs with the same index, and
optionally ``status`` (``ok``, ``suspect`` or ``failed``) and ``error``."""

DEFAULT_SAMPLES = {"sobol": 64, "morris": 20}
"""N when neither the scenario nor the command gives it: base samples (Sobol') or trajectories (Morris)."""

ISHIGAMI_INDICES = {"S1": (0.3139, 0.4424, 0.0), "ST": (0.5576, 0.4424, 0.2437)}
"""Analytic Sobol' indices of the Ishigami function with a = 7, b = 0.1 on U(-pi, pi)^3 (Ishigami and Homma 1990;
Saltelli et al. 2008, Global Sensitivity Analysis: The Primer, p. 179)."""

ROUND_OFF_SPREAD = 1e-7
"""An output whose spread over the design is at most this share of its magnitude is constant up to the solvers'
tolerances (e.g. the classes QP's area when no class changes sides): its indices are set to 0 with a note, instead
of apportioning round-off noise (which SALib would do; it zeroes only an exactly constant output)."""

Distribution = UniformInput | LogUniformInput | TriangularInput | NormalInput | DiscreteInput


def salib_version() -> str:
    return importlib.metadata.version("salib")


# --- distributions -----------------------------------------------------------------------------------------


def quantile(dist: Distribution, u: np.ndarray) -> np.ndarray:
    """The inverse CDF of ``dist`` at probabilities ``u`` (in [0, 1]); an object array for text choices."""
    u = np.clip(np.asarray(u, float), 0.0, 1.0)
    if isinstance(dist, LogUniformInput):  # before UniformInput: it is a subclass
        return np.exp(math.log(dist.lo) + u * (math.log(dist.hi) - math.log(dist.lo)))
    if isinstance(dist, UniformInput):
        return dist.lo + u * (dist.hi - dist.lo)
    if isinstance(dist, TriangularInput):
        from scipy.stats import triang

        return triang.ppf(u, (dist.mode - dist.lo) / (dist.hi - dist.lo), loc=dist.lo, scale=dist.hi - dist.lo)
    if isinstance(dist, NormalInput):
        from scipy.stats import truncnorm

        lo, hi = dist.support()
        return truncnorm.ppf(u, (lo - dist.mean) / dist.sd, (hi - dist.mean) / dist.sd, loc=dist.mean, scale=dist.sd)
    if isinstance(dist, DiscreteInput):
        # F^-1(u) = the first value whose cumulative weight reaches u: the median of two equal values is the first
        edges = np.cumsum(dist.probabilities())[:-1]
        index = np.searchsorted(edges, u, side="left")
        values = np.array(dist.values, dtype=object)
        out = values[index]
        return out if any(isinstance(v, str) for v in dist.values) else out.astype(float)
    raise InputError("not a distribution", field="distribution", value=type(dist).__name__)


# --- the design ------------------------------------------------------------------------------------------


@dataclass
class Design:
    """The evaluations of an analysis: SALib's design (rows ``0 .. len(unit) - 1``) then the one-at-a-time runs.

    ``unit``: the SALib design in the unit cube; ``values``: every evaluation's input values (the design's rows
    mapped by :func:`quantile`, then the OAT rows), indexed by evaluation id, with the column ``part``
    (``sobol``, ``morris``, ``oat_centre``, ``oat_low`` or ``oat_high``) and, for OAT rows, ``oat_input``.
    """

    method: str
    inputs: dict[str, Distribution]
    samples: int
    second_order: bool
    num_levels: int
    seed: int
    oat_quantiles: tuple[float, float]
    unit: np.ndarray
    values: pd.DataFrame

    @property
    def keys(self) -> list[str]:
        return list(self.inputs)

    @property
    def problem(self) -> dict[str, Any]:
        """SALib's problem: every input in the unit interval (the distributions are applied by :func:`quantile`)."""
        return {"num_vars": len(self.inputs), "names": self.keys, "bounds": [[0.0, 1.0]] * len(self.inputs)}

    @property
    def block(self) -> int:
        """Evaluations per Sobol' base sample (k + 2, or 2k + 2 with second order) or per Morris trajectory (k + 1)."""
        k = len(self.inputs)
        if self.method == "morris":
            return k + 1
        return 2 * k + 2 if self.second_order else k + 2


def build_design(
    inputs: Mapping[str, Distribution],
    method: str = "sobol",
    samples: int | None = None,
    *,
    second_order: bool = False,
    num_levels: int = 4,
    seed: int = 20240314,
    oat_quantiles: tuple[float, float] = (0.05, 0.95),
) -> Design:
    """SALib's design for ``method`` over ``inputs`` (name -> distribution), N = ``samples``, plus 2k + 1 OAT runs."""
    if len(inputs) < 2:
        raise InputError("a sensitivity analysis needs at least 2 uncertain inputs", field="sensitivity.inputs",
                         value=list(inputs))
    if method not in DEFAULT_SAMPLES:
        raise InputError("expected sobol or morris", field="--method", value=method)
    n = DEFAULT_SAMPLES[method] if samples is None else int(samples)
    check_sensitivity_samples(method, n)
    keys = list(inputs)
    problem = {"num_vars": len(keys), "names": keys, "bounds": [[0.0, 1.0]] * len(keys)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SALib's notes on skip_values: N is a power of 2 already
        if method == "sobol":
            from SALib.sample import sobol

            unit = sobol.sample(problem, n, calc_second_order=second_order, scramble=True, seed=seed)
        else:
            from SALib.sample import morris

            unit = morris.sample(problem, n, num_levels=num_levels, seed=seed)
    lo, hi = oat_quantiles
    oat = [("oat_centre", None, np.full(len(keys), 0.5))]
    for j, key in enumerate(keys):
        for part, q in (("oat_low", lo), ("oat_high", hi)):
            row = np.full(len(keys), 0.5)
            row[j] = q
            oat.append((part, key, row))
    all_unit = np.vstack([unit, np.array([row for _, _, row in oat])])
    values = pd.DataFrame({key: quantile(dist, all_unit[:, j]) for j, (key, dist) in enumerate(inputs.items())})
    values["part"] = [method] * len(unit) + [part for part, _, _ in oat]
    values["oat_input"] = [None] * len(unit) + [key for _, key, _ in oat]
    values.index.name = "evaluation"
    return Design(method, dict(inputs), n, second_order, num_levels, seed, (lo, hi), unit, values)


# --- evaluation ------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def evaluate_design(design: Design, evaluator: Evaluator) -> pd.DataFrame:
    """Every evaluation of ``design``: its inputs, ``part``, ``status`` and the evaluator's outputs."""
    inputs = design.values[design.keys]
    outputs = evaluator(inputs)
    missing = inputs.index.difference(outputs.index)
    if len(missing):
        raise InputError("the evaluator returned no row for some evaluations", field="evaluation",
                         value=[int(i) for i in missing[:5]])
    outputs = outputs.loc[inputs.index]
    table = design.values.join(outputs.drop(columns=[c for c in outputs.columns if c in design.values.columns]))
    if "status" not in table:
        table["status"] = "ok"
    table["status"] = table["status"].fillna("failed")
    return table


class ChainEvaluator:
    """One chain per evaluation through :func:`afforest.chain.sweep.run_sweep` (its arguments, kept here).

    The sweep's row of every evaluation is its output row (``point_id`` = the evaluation id); with ``output``
    the sweep's files (``sweep.json``, ``progress.jsonl``, ``results.parquet``/``.csv``) live in that folder, so
    an interrupted analysis resumes where it stopped. The land use runs on ``engine = "auto"`` unless the options
    say otherwise: the fast path (:mod:`afforest.chain.fast_path`) wherever the scenario is eligible, the Pyomo models
    elsewhere; the output column ``landuse_path`` says which ran for each evaluation.
    """

    def __init__(self, scenario: Scenario, output: str | Path | None = None, **sweep_options: Any) -> None:
        sweep_options.setdefault("engine", "auto")
        self.scenario, self.output, self.sweep_options = scenario, output, sweep_options
        self.results: pd.DataFrame | None = None

    def __call__(self, inputs: pd.DataFrame) -> pd.DataFrame:
        from afforest.chain.sweep import SweepPoint, resolve_key, run_sweep

        keys = {column: resolve_key(column) for column in inputs.columns}
        points = [
            SweepPoint(int(i), {keys[c]: _plain(v) for c, v in row.items()}) for i, row in inputs.iterrows()
        ]
        frame = run_sweep(self.scenario, points, self.output, **self.sweep_options)
        self.results = frame
        out = frame.set_index("point_id")
        out.index.name = "evaluation"
        # the sweep names its override columns by field (e.g. ``financial_discount_rate``): keep the outputs only
        return out.drop(columns=[k.partition(".")[2] for k in keys.values() if k.partition(".")[2] in out.columns])


def ishigami(inputs: pd.DataFrame, a: float = 7.0, b: float = 0.1) -> pd.DataFrame:
    """The Ishigami function of the first three columns (the check of the Sobol' plumbing): output ``y``."""
    x1, x2, x3 = (inputs.iloc[:, j].to_numpy(float) for j in range(3))
    y = np.sin(x1) + a * np.sin(x2) ** 2 + b * x3**4 * np.sin(x1)
    return pd.DataFrame({"y": y}, index=inputs.index)


# --- indices ---------------------------------------------------------------------------------------------


@dataclass
class SensitivityResult:
    """Indices (tidy), second-order indices (Sobol' on request), one-at-a-time ranges and every evaluation."""

    design: Design
    evaluations: pd.DataFrame
    indices: pd.DataFrame
    oat: pd.DataFrame
    failures: dict[str, Any]
    second_order: pd.DataFrame | None = None
    outputs: list[str] = field(default_factory=list)
    conf_level: float = 0.95
    num_resamples: int = 200

    def summary(self) -> dict[str, Any]:
        d = self.design
        return {
            "method": d.method,
            "samples": d.samples,
            "second_order": d.second_order,
            "num_levels": d.num_levels if d.method == "morris" else None,
            "seed": d.seed,
            "inputs": {k: v.model_dump(mode="json") for k, v in d.inputs.items()},
            "outputs": self.outputs,
            "evaluations": len(self.evaluations),
            "design_evaluations": len(d.unit),
            "oat_evaluations": len(self.evaluations) - len(d.unit),
            "oat_quantiles": list(d.oat_quantiles),
            "conf_level": self.conf_level,
            "num_resamples": self.num_resamples,
            "failures": self.failures,
            "salib_version": salib_version(),
        }


def _usable(values: np.ndarray, failed: np.ndarray, block: int) -> tuple[np.ndarray, int]:
    """Which blocks (Sobol' base samples or Morris trajectories) hold no failure, and how many failures there are."""
    bad = failed | ~np.isfinite(values)
    return ~bad.reshape(-1, block).any(axis=1), int(bad.sum())


def _sobol_rows(design: Design, output: str, y: np.ndarray, keep: np.ndarray, conf_level: float,
                num_resamples: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from SALib.analyze import sobol

    mask = np.repeat(keep, design.block)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SALib warns of a constant output; its indices are then 0
        si = sobol.analyze(design.problem, y[mask], calc_second_order=design.second_order, num_resamples=num_resamples,
                           conf_level=conf_level, seed=design.seed)
    rows = [
        {"output": output, "input": key, "S1": si["S1"][j], "S1_conf": si["S1_conf"][j], "ST": si["ST"][j],
         "ST_conf": si["ST_conf"][j]}
        for j, key in enumerate(design.keys)
    ]
    pairs = []
    if design.second_order:
        for j, first in enumerate(design.keys):
            for k in range(j + 1, len(design.keys)):
                pairs.append({"output": output, "input": first, "input_2": design.keys[k], "S2": si["S2"][j, k],
                              "S2_conf": si["S2_conf"][j, k]})
    return rows, pairs


def _morris_rows(design: Design, output: str, y: np.ndarray, keep: np.ndarray, conf_level: float,
                 num_resamples: int) -> list[dict[str, Any]]:
    from SALib.analyze import morris

    mask = np.repeat(keep, design.block)
    si = morris.analyze(design.problem, design.unit[mask], y[mask], num_resamples=num_resamples, conf_level=conf_level,
                        num_levels=design.num_levels, seed=design.seed)
    return [
        {"output": output, "input": key, "mu_star": si["mu_star"][j], "mu_star_conf": si["mu_star_conf"][j],
         "sigma": si["sigma"][j], "mu": si["mu"][j]}
        for j, key in enumerate(design.keys)
    ]


def _oat_table(design: Design, evaluations: pd.DataFrame, outputs: Sequence[str]) -> pd.DataFrame:
    """One row per (output, input): the output at the input's low and high quantile, the others at their medians."""
    oat = evaluations[evaluations["part"].str.startswith("oat")]
    centre = oat[oat["part"] == "oat_centre"].iloc[0]
    rows = []
    for key in design.keys:
        low = oat[(oat["part"] == "oat_low") & (oat["oat_input"] == key)].iloc[0]
        high = oat[(oat["part"] == "oat_high") & (oat["oat_input"] == key)].iloc[0]
        for output in outputs:
            values = [pd.to_numeric(r.get(output), errors="coerce") if r["status"] != "failed" else math.nan
                      for r in (low, centre, high)]
            rows.append({"output": output, "input": key, "input_low": low[key], "input_centre": centre[key],
                         "input_high": high[key], "y_low": values[0], "y_centre": values[1], "y_high": values[2],
                         "swing": abs(values[2] - values[0])})
    return pd.DataFrame(rows)


def _constant_rows(design: Design, output: str, value: float) -> list[dict[str, Any]]:
    """Rows of an output without estimated indices: NaN (not computed) or 0 (the output is constant)."""
    names = ("S1", "S1_conf", "ST", "ST_conf") if design.method == "sobol" else ("mu_star", "mu_star_conf", "sigma", "mu")
    return [{"output": output, "input": key, **dict.fromkeys(names, value)} for key in design.keys]


def indices_from_evaluations(
    design: Design,
    evaluations: pd.DataFrame,
    outputs: Sequence[str],
    *,
    conf_level: float = 0.95,
    num_resamples: int = 200,
    on_failure: str = "drop",
) -> SensitivityResult:
    """SALib's indices of every output from the evaluations of ``design`` (failures handled as the module says)."""
    if on_failure not in ("drop", "refuse"):
        raise InputError("expected drop or refuse", field="--on-failure", value=on_failure)
    in_design = evaluations.loc[: len(design.unit) - 1]
    failed = (in_design["status"] == "failed").to_numpy()
    blocks = len(design.unit) // design.block
    unit = "base samples" if design.method == "sobol" else "trajectories"
    failures: dict[str, Any] = {
        "failed_evaluations": int((evaluations["status"] == "failed").sum()),
        "failed_design_evaluations": int(failed.sum()),
        "suspect_evaluations": int((evaluations["status"] == "suspect").sum()),
        "policy": on_failure,
        "treatment": (
            f"no imputation: every {unit[:-1]} holding a failed or non-finite evaluation ({design.block} evaluations) "
            f"is dropped for that output and the others analysed" if on_failure == "drop" else
            "no imputation: an output with any failed or non-finite evaluation in the design gets no indices"
        ),
        "by_output": {},
    }
    rows: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    for output in outputs:
        if output not in in_design:
            raise InputError("the evaluations have no such output", field="outputs", value=output)
        y = pd.to_numeric(in_design[output], errors="coerce").to_numpy(float)
        keep, bad = _usable(y, failed, design.block)
        used = int(keep.sum())
        note = ""
        if bad and on_failure == "refuse":
            note = f"refused: {bad} failed or non-finite evaluations in the design"
        elif used < 2:
            note = f"not computed: {used} of {blocks} {unit} without a failure (at least 2 needed)"
        elif used < blocks:
            note = f"{blocks - used} of {blocks} {unit} dropped ({bad} failed or non-finite evaluations)"
        failures["by_output"][output] = {"failed_or_nonfinite": bad, f"{unit.replace(' ', '_')}_used": used,
                                         f"{unit.replace(' ', '_')}_total": blocks, "note": note}
        if not note.startswith(("refused", "not computed")):
            used_y = y[np.repeat(keep, design.block)]
            spread = float(np.ptp(used_y))
            if spread <= ROUND_OFF_SPREAD * float(np.max(np.abs(used_y))):
                note = (f"constant up to solver round-off (spread {spread:.3g} over the design, at most "
                        f"{ROUND_OFF_SPREAD:g} of its magnitude): no input moves it, indices set to 0")
        failures["by_output"][output]["note"] = note
        if note.startswith(("refused", "not computed")):
            new = _constant_rows(design, output, math.nan)
        elif note.startswith("constant"):
            new = _constant_rows(design, output, 0.0)
        elif design.method == "sobol":
            new, new_pairs = _sobol_rows(design, output, y, keep, conf_level, num_resamples)
            pairs += new_pairs
        else:
            new = _morris_rows(design, output, y, keep, conf_level, num_resamples)
        for row in new:
            row.update({"method": design.method, "n_used": used, "n_total": blocks, "note": note})
        rows += new
    indices = pd.DataFrame(rows)
    first = ["output", "input", "method"]
    indices = indices[first + [c for c in indices.columns if c not in first]]
    second = pd.DataFrame(pairs) if design.second_order else None
    return SensitivityResult(design, evaluations, indices, _oat_table(design, evaluations, outputs), failures, second,
                             list(outputs), conf_level, num_resamples)


def analyse(
    inputs: Mapping[str, Distribution],
    evaluator: Evaluator,
    outputs: Sequence[str],
    *,
    method: str = "sobol",
    samples: int | None = None,
    second_order: bool = False,
    num_levels: int = 4,
    seed: int = 20240314,
    oat_quantiles: tuple[float, float] = (0.05, 0.95),
    conf_level: float = 0.95,
    num_resamples: int = 200,
    on_failure: str = "drop",
) -> SensitivityResult:
    """Design, evaluate and analyse: the one code path of every sensitivity analysis (the chain's and the checks')."""
    design = build_design(inputs, method, samples, second_order=second_order, num_levels=num_levels, seed=seed,
                          oat_quantiles=oat_quantiles)
    evaluations = evaluate_design(design, evaluator)
    return indices_from_evaluations(design, evaluations, outputs, conf_level=conf_level, num_resamples=num_resamples,
                                    on_failure=on_failure)


def analyse_scenario(
    scenario: Scenario,
    *,
    method: str | None = None,
    samples: int | None = None,
    second_order: bool | None = None,
    on_failure: str | None = None,
    evaluator: Evaluator | None = None,
    output: str | Path | None = None,
    **sweep_options: Any,
) -> SensitivityResult:
    """The analysis a scenario's ``[sensitivity]`` section declares (arguments given here override it), evaluated by
    ``evaluator`` (default: :class:`ChainEvaluator` with ``output`` and ``sweep_options``: the chains' rows and the
    resume log go to ``output``). :func:`afforest.chain.sensitivity_output.write` then writes the indices, the
    evaluations and the figures (``afforest sensitivity`` does both)."""
    spec: SensitivitySection = scenario.sensitivity
    if not spec.inputs:
        raise InputError("the scenario declares no [sensitivity] inputs (see scenarios/sensitivity.toml)",
                         field="sensitivity.inputs", value=scenario.name)
    method = method or spec.method
    if samples is None and method == spec.method:
        samples = spec.samples
    if output is not None:
        from afforest.errors import prepare_output_dir

        prepare_output_dir(output, option="--output")  # a bad folder fails before any chain runs
    chosen = evaluator if evaluator is not None else ChainEvaluator(scenario, output, **sweep_options)
    return analyse(
        spec.inputs, chosen, spec.outputs, method=method, samples=samples,
        second_order=spec.second_order if second_order is None else second_order, num_levels=spec.num_levels,
        seed=spec.seed, oat_quantiles=spec.oat_quantiles, conf_level=spec.conf_level,
        num_resamples=spec.num_resamples, on_failure=on_failure or spec.on_failure,
    )


def describe(result: SensitivityResult) -> str:
    """The failures and their treatment, in one paragraph."""
    f = result.failures
    text = (f"{f['failed_evaluations']} of {len(result.evaluations)} evaluations failed "
            f"({f['failed_design_evaluations']} in the design), {f['suspect_evaluations']} suspect (kept)")
    notes = [f"{name}: {info['note']}" for name, info in f["by_output"].items() if info["note"]]
    return text + (f"; {f['treatment']}; " + "; ".join(notes) if notes else "") + "."

