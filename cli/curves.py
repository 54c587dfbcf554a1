"""``afforest curves fit``: the study's ESV curves B'(A) and C'(z) fitted from the land classes, beside the print.

The classes come from the bundle's afforestable-area table (Table 2) and ESV table (Table 3, or Eq. 6 for a
candidate whose ``esv_source`` is ``eq6``); numpy, pandas and the plot are imported only when the command runs.

Hook for regions: the fit reads nothing but the classes table built in :func:`_classes_by_source`. A ``--region
DIR`` option would build that table from the region's own area and ESV files (through the bundle) and leave the
rest of this module unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from afforest.cli.output import print_json
from afforest.cli.region import add_region_option, region_of
from afforest.errors import InputError, prepare_output_dir

__all__ = ["register"]


def _check_figure_path(path: str) -> Path:
    """The PNG ``--figure`` may write: not a folder; its folder is created (fails before any work)."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise InputError("is a folder; give the path of a PNG file", field="--figure", value=path)
    prepare_output_dir(target.parent, option="--figure")
    return target


def _classes_by_source(bundle: Any, sources: set[str]) -> dict[str, Any]:
    """The merit-order classes for each ESV source a fit needs (the region hook: see the module docstring)."""
    from afforest.model.merit_order import merit_order

    out = {}
    if "table3" in sources:
        out["table3"] = merit_order(bundle.afforestable_area, bundle.esv)
    if "eq6" in sources:
        from afforest.model.esv import EquivalentFactorInputs, esv_table

        out["eq6"] = merit_order(bundle.afforestable_area, esv_table(*EquivalentFactorInputs(region=bundle.region).resolve()))
    return out


def _cmd_fit(args: argparse.Namespace) -> int:
    from afforest.chain.bundle import load_bundle
    from afforest.model import curve_fit as cf
    from afforest.model.steady_state import long_run_afforested_area

    if args.degree < 0:
        raise InputError("must be an integer >= 0", field="--degree", value=args.degree)
    candidate = cf.candidate_named(args.candidate) if args.candidate else cf.DEFAULT_CANDIDATE
    figure = _check_figure_path(args.figure) if args.figure else None
    bundle = load_bundle(region=region_of(args))
    params = bundle.landuse_parameters
    classes = _classes_by_source(bundle, {candidate.esv_source.value})[candidate.esv_source.value]
    fit = cf.fit_curves(classes, args.degree, candidate)
    if not bundle.published_curves:  # the region publishes no alpha, beta: nothing to set the fit beside
        return _print_fit_only(args, bundle, fit, classes, figure)
    r2_printed = cf.published_r2(bundle.published)
    published = {
        "unconverted_esv_coefficients": list(params.unconverted_esv_coefficients),
        "afforested_esv_coefficients": list(params.afforested_esv_coefficients),
        "r2_unconverted": r2_printed[0],
        "r2_afforested": r2_printed[1],
    }
    closeness = cf.compare_with_published(
        fit, params.unconverted_esv_coefficients, params.afforested_esv_coefficients,
        *r2_printed,
    )
    fitted_params = params.replace(
        unconverted_esv_coefficients=fit.unconverted_esv_coefficients,
        afforested_esv_coefficients=fit.afforested_esv_coefficients,
    )
    rate = params.financial_discount_rate
    eq3 = {
        "financial_discount_rate": rate,
        "published_afforested_area_10k_ha": float(long_run_afforested_area(params)[0]),
        "fitted_afforested_area_10k_ha": float(long_run_afforested_area(fitted_params)[0]),
    }
    written = None
    if figure is not None:
        from afforest.plots.curve_fit import write_curve_fit_figure

        written = str(write_curve_fit_figure(
            fit, params.unconverted_esv_coefficients, params.afforested_esv_coefficients, figure,
            published_r2=r2_printed,
        ))
    if args.json:
        print_json({
            **fit.to_dict(),
            "published": published,
            "closeness": closeness.to_dict(orient="records"),
            "eq3_steady_state": eq3,
            "points": fit.points.to_dict(orient="records"),
            "figure": written,
        })
        return 0
    print(f"afforest curves fit: candidate {candidate.name}, degree {fit.degree}, "
          f"{len(classes)} classes on [0, {fit.initial_area_10k_ha:g}] x 10^4 ha")
    print(f"coefficients in {cf.COEFFICIENT_UNIT}\n")
    for curve, ours, theirs, symbol in (
        (cf.UNCONVERTED, fit.unconverted_esv_coefficients, params.unconverted_esv_coefficients, "alpha"),
        (cf.AFFORESTED, fit.afforested_esv_coefficients, params.afforested_esv_coefficients, "beta"),
    ):
        title = "B'(A), unconverted land" if curve == cf.UNCONVERTED else "C'(z), afforested land"
        print(f"{title}:")
        print(f"  {'':<8} {'fitted':>16} {'published':>12}")
        for i in range(max(len(ours), len(theirs))):
            mine = f"{ours[i]:.6g}" if i < len(ours) else "-"
            print_ = f"{theirs[i]:g}" if i < len(theirs) else "-"
            print(f"  {symbol}{i:<{8 - len(symbol)}} {mine:>16} {print_:>12}")
        row = closeness[closeness["curve"] == curve].iloc[0]
        print(f"  {'R^2':<8} {row['r2']:>16.4f} {row['r2_published']:>12g}")
        verdict = ("reproduces the print (every coefficient to its printed digits; the gap is the print's rounding)"
                   if row["reproduces"] else "does NOT reproduce the print")
        print(f"  max |fit - published| over [0, A0] = {100 * row['curve_max_rel_diff']:.1f} % of max |published|; "
              f"{verdict}\n")
    print(f"Eq. 3 at r = {rate:g}/yr: long-run afforested area {eq3['published_afforested_area_10k_ha']:.2f} x 10^4 ha "
          f"(published coefficients), {eq3['fitted_afforested_area_10k_ha']:.2f} (fitted)")
    if written:
        print(f"figure written to {written}")
    return 0


def _print_fit_only(args: argparse.Namespace, bundle: Any, fit: Any, classes: Any, figure: Path | None) -> int:
    """``curves fit`` on a region that publishes no coefficients: the fit, its R^2, Eq. 3 with it and the figure."""
    from afforest.model import curve_fit as cf
    from afforest.model.steady_state import long_run_afforested_area

    written = None
    if figure is not None:
        from afforest.plots.curve_fit import write_curve_fit_figure

        written = str(write_curve_fit_figure(fit, None, None, figure))

    params = bundle.landuse_parameters.replace(
        unconverted_esv_coefficients=fit.unconverted_esv_coefficients,
        afforested_esv_coefficients=fit.afforested_esv_coefficients,
        initial_area_10k_ha=fit.initial_area_10k_ha,
    )
    eq3 = {"financial_discount_rate": params.financial_discount_rate,
           "fitted_afforested_area_10k_ha": float(long_run_afforested_area(params)[0])}
    region = bundle.region.name if bundle.region is not None else None
    if args.json:
        print_json({**fit.to_dict(), "region": region, "published": None, "closeness": None, "eq3_steady_state": eq3,
                    "points": fit.points.to_dict(orient="records"), "figure": written})
        return 0
    print(f"afforest curves fit: region {region} (publishes no coefficients), candidate {fit.candidate.name}, degree "
          f"{fit.degree}, {len(classes)} classes on [0, {fit.initial_area_10k_ha:g}] x 10^4 ha")
    print(f"coefficients in {cf.COEFFICIENT_UNIT}")
    print(f"  alpha (B'(A)): {', '.join(f'{c:.6g}' for c in fit.unconverted_esv_coefficients)}; R^2 {fit.r2_unconverted:.4f}")
    print(f"  beta  (C'(z)): {', '.join(f'{c:.6g}' for c in fit.afforested_esv_coefficients)}; R^2 {fit.r2_afforested:.4f}")
    print(f"Eq. 3 at r = {eq3['financial_discount_rate']:g}/yr: long-run afforested area "
          f"{eq3['fitted_afforested_area_10k_ha']:.2f} x 10^4 ha (fitted)")
    if written is not None:
        print(f"figure: {written}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``afforest curves fit`` to the command line."""
    p = subparsers.add_parser(
        "curves",
        help="the ESV curves B' and C' (Eqs. 4-5) fitted from the land classes, beside the study's",
        description="The study's marginal ESV curves computed from Table 2 and Table 3 (docs/curve_fit.md).",
    )
    curves = p.add_subparsers(dest="curves_command", metavar="ACTION", required=True)
    f = curves.add_parser(
        "fit",
        help="fit B'(A) and C'(z) by least squares and print them beside the published coefficients",
        description="Fit B'(A) and C'(z) to the land classes' points (a candidate fixes which points; "
                    "docs/curve_fit.md compares them all) and print the coefficients and R^2 beside the published.",
    )
    f.add_argument("--degree", type=int, default=3, metavar="N", help="polynomial degree (default: 3, as the study)")
    f.add_argument("--candidate", metavar="NAME",
                   help="which points to fit, position-weighting-esv_source-afforested (default: end-none-table3-"
                        "gain_desc, the one that reproduces the printed B'); docs/curve_fit.md lists all 60")
    f.add_argument("--json", action="store_true", help="print JSON (coefficients, R^2, published, closeness, points)")
    f.add_argument("--figure", metavar="PNG", help="also draw the points with the fitted and published curves")
    add_region_option(f)
    f.set_defaults(func=_cmd_fit)
