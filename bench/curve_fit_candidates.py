"""Every candidate definition of the study's fitted points against the printed B' and C' (docs/curve_fit.md).

    .venv/bin/python bench/curve_fit_candidates.py             # markdown tables on stdout
    .venv/bin/python bench/curve_fit_candidates.py --csv FILE  # and the full table as CSV

Reads the study's Table 2 and Table 3 (and Eq. 6's ESV) through the bundle; ~1 s.
"""

from __future__ import annotations

import argparse

from afforest.chain.bundle import load_bundle
from afforest.model import curve_fit as cf
from afforest.model.esv import esv_table
from afforest.model.merit_order import merit_order
from afforest.model.steady_state import long_run_afforested_area, steady_state_sweep


def _coefficients(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.6g}" for v in values)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", metavar="FILE", help="also write the full candidate table as CSV")
    parser.add_argument("--degree", type=int, default=cf.DEFAULT_DEGREE)
    args = parser.parse_args(argv)
    bundle = load_bundle()
    params = bundle.landuse_parameters
    r2_printed = cf.published_r2(bundle.published)
    classes = {
        cf.EsvSource.TABLE3.value: merit_order(bundle.afforestable_area, bundle.esv),
        cf.EsvSource.EQ6.value: merit_order(bundle.afforestable_area, esv_table()),
    }
    table = cf.candidate_table(
        classes, params.unconverted_esv_coefficients, params.afforested_esv_coefficients,
        *r2_printed, degree=args.degree,
    )
    areas = []
    for row in table.itertuples():
        fitted = params.replace(unconverted_esv_coefficients=row.unconverted_esv_coefficients,
                                afforested_esv_coefficients=row.afforested_esv_coefficients)
        areas.append(float(long_run_afforested_area(fitted)[0]))
    table["eq3_afforested_area_10k_ha"] = areas
    if args.csv:
        table.to_csv(args.csv, index=False)

    print(f"Published: alpha = ({_coefficients(params.unconverted_esv_coefficients)}), R^2 = "
          f"{r2_printed[0]}; beta = ({_coefficients(params.afforested_esv_coefficients)}), R^2 = "
          f"{r2_printed[1]}. Eq. 3 with them: "
          f"{float(long_run_afforested_area(params)[0]):.2f} x 10^4 ha.\n")
    print("### B'(A): 12 definitions (B' does not depend on the C' definition)\n")
    print("| position | weighting | ESV | alpha (fitted) | R^2 | curve gap % | coef. gap % | reproduces |")
    print("|---|---|---|---|---|---|---|---|")
    b_rows = table.drop_duplicates(["position", "weighting", "esv_source"]).sort_values(
        ["reproduces_unconverted", "curve_max_rel_diff_unconverted"], ascending=[False, True], kind="stable")
    for row in b_rows.itertuples():
        print(f"| {row.position} | {row.weighting} | {row.esv_source} | {_coefficients(row.unconverted_esv_coefficients)} "
              f"| {row.r2_unconverted:.4f} | {_pct(row.curve_max_rel_diff_unconverted)} "
              f"| {_pct(row.coefficient_max_rel_diff_unconverted)} | {'**yes**' if row.reproduces_unconverted else 'no'} |")
    print("\n### All 60 candidates, best first (C' closeness; the B' columns repeat the table above)\n")
    print("| rank | candidate | beta (fitted) | R^2 C' | C' curve gap % | C' coef. gap % | B' reproduces "
          "| C' reproduces | Eq. 3 area |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in table.itertuples():
        default = " (default)" if row.candidate == cf.DEFAULT_CANDIDATE.name else ""
        print(f"| {row.rank} | `{row.candidate}`{default} | {_coefficients(row.afforested_esv_coefficients)} "
              f"| {row.r2_afforested:.3f} | {_pct(row.curve_max_rel_diff_afforested)} "
              f"| {_pct(row.coefficient_max_rel_diff_afforested)} | {'yes' if row.reproduces_unconverted else 'no'} "
              f"| {'yes' if row.reproduces_afforested else 'no'} | {row.eq3_afforested_area_10k_ha:.2f} |")
    best_c = table.sort_values("curve_max_rel_diff_afforested", kind="stable").iloc[0]
    print(f"\nClosest C' over all candidates: `{best_c['candidate']}`, curve gap "
          f"{_pct(best_c['curve_max_rel_diff_afforested'])} %, R^2 {best_c['r2_afforested']:.3f}.")
    _eq3_section(params, classes)
    return 0


def _eq3_section(params, classes) -> None:
    """Eq. 3's steady state at the study's r with the published and the fitted default coefficients."""
    fit = cf.fit_curves(classes[cf.DEFAULT_CANDIDATE.esv_source.value])
    sets = {
        "published alpha, beta": params,
        "fitted alpha, beta (default candidate)": params.replace(
            unconverted_esv_coefficients=fit.unconverted_esv_coefficients,
            afforested_esv_coefficients=fit.afforested_esv_coefficients),
        "fitted alpha, published beta": params.replace(unconverted_esv_coefficients=fit.unconverted_esv_coefficients),
    }
    a0 = params.initial_area_10k_ha
    print(f"\n### Eq. 3 at r = {params.financial_discount_rate:g}/yr, tau(0) = "
          f"{params.planting_cost_intercept_yuan_per_ha:g} yuan/ha\n")
    print("| coefficients | roots A* (10^4 ha) | stability | reached: A0 - A* (10^4 ha) | share of A0 | B'(A*) | C'(A0 - A*) |")
    print("|---|---|---|---|---|---|---|")
    for name, p in sets.items():
        roots = steady_state_sweep(p)
        area = float(long_run_afforested_area(p)[0])
        a_star = a0 - area
        print(f"| {name} | {', '.join(f'{v:.2f}' for v in roots['unconverted_area_10k_ha'])} "
              f"| {', '.join(str(s) for s in roots['stability'])} | {area:.2f} | {100 * area / a0:.2f} % "
              f"| {p.unconverted_marginal_esv(a_star):.0f} | {p.afforested_marginal_esv(area):.0f} |")


if __name__ == "__main__":
    raise SystemExit(main())
