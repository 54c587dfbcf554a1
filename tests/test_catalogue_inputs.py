"""Cases A1-A18 and B1-B25 of docs/bad-input-catalogue.md (bad scenarios and bad afforestable-area tables).

Every bad input must end in an :class:`InputError` that names the file, the field and the value and says what
to do, before anything is solved: never a traceback, never a silent wrong answer. Each case builds its
fixture in ``tmp_path`` (a small scenario that ``extends = "baseline"`` and, for the B cases, names a CSV
derived from the shipped ``data/afforestable_area.csv`` in ``[inputs]``) and goes through the path that
``afforest solve <fixture>`` takes up to the solvers: :func:`afforest.scenarios.load_scenario`, then
:func:`afforest.chain.inputs.resolve_inputs` (loaders, checks, merit-order classes; no solver). Where the catalogue's
failure was a traceback (A17, B11, B13), the command line itself is run and must exit with 2 and one line.
Each assertion is one expectation: the file, the field, the value, the reason, what to do.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import pandas as pd
import pytest

from afforest.data import (
    MAX_AREA_10K_HA,
    area_rounding_tolerance_10k_ha,
    check_area_against_initial_area,
    check_input_file,
    data_path,
    load_afforestable_area,
    read_csv_text,
    read_input_text,
    read_toml,
)
from afforest.errors import InputError
from afforest.scenarios import FINANCIAL_DISCOUNT_RATE_OPEN_INTERVAL, load_scenario, shipped_scenarios

pytestmark = pytest.mark.unit

STUDY_A0_10K_HA = 499.58  # data/landuse_parameters.toml, initial_area (Table 2's printed total)
STUDY_AREA_CSV = data_path("afforestable_area.csv")


# --- fixtures -------------------------------------------------------------------------------------------


def _scenario(tmp_path: Path, body: str = "", *, area: str | None = None, name: str = "s.toml") -> Path:
    """A scenario extending the baseline; ``area`` names its afforestable-area table in ``[inputs]``."""
    text = 'extends = "baseline"\n'
    if area is not None:
        text += f'[inputs]\nafforestable_area_file = "{area}"\n'
    path = tmp_path / name
    path.write_text(text + body)
    return path


def _study_lines() -> list[str]:
    return STUDY_AREA_CSV.read_text().splitlines()


def _area_csv(tmp_path: Path, lines: list[str], name: str = "area.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _replace_first(old: str, new: str) -> list[str]:
    """The study table with its first data line containing ``old`` changed to ``new``."""
    lines = _study_lines()
    i = next(k for k, line in enumerate(lines) if k > 0 and old in line)
    lines[i] = lines[i].replace(old, new, 1)
    return lines


def _study_frame() -> pd.DataFrame:
    return pd.read_csv(STUDY_AREA_CSV)


def _frame_csv(tmp_path: Path, frame: pd.DataFrame, name: str = "area.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _resolve(path: Path):
    """What ``afforest solve <path>`` does before it builds a model: load, validate, resolve the inputs."""
    from afforest.chain.inputs import resolve_inputs

    return resolve_inputs(load_scenario(path))


def _error(call, *args) -> InputError:
    with pytest.raises(InputError) as info:
        call(*args)
    return info.value


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    from afforest.cli import main

    code = main(argv)
    return code, capsys.readouterr().err


# --- A: scenario files ----------------------------------------------------------------------------------

# (TOML of the [landuse] section, expected field, expected value, fragment of the reason)
RATE_CASES = [
    pytest.param('financial_discount_rat = 0.03', "landuse.financial_discount_rat", 0.03,
                 "did you mean 'financial_discount_rate'", marks=pytest.mark.catalogue("A1"), id="A1"),
    pytest.param('financial_discount_rate = "three percent"', "landuse.financial_discount_rate", "three percent",
                 "valid number", marks=pytest.mark.catalogue("A2"), id="A2"),
    pytest.param("financial_discount_rate = 0", "landuse.financial_discount_rate", 0,
                 "greater than 0", marks=pytest.mark.catalogue("A4"), id="A4"),
    pytest.param("financial_discount_rate = -0.05", "landuse.financial_discount_rate", -0.05,
                 "greater than 0", marks=pytest.mark.catalogue("A5"), id="A5"),
    pytest.param("financial_discount_rate = 1.5", "landuse.financial_discount_rate", 1.5,
                 "less than 1", marks=pytest.mark.catalogue("A6"), id="A6"),
    pytest.param('financial_discount_rate = "inf"', "landuse.financial_discount_rate", "inf",
                 "must be a finite number", marks=pytest.mark.catalogue("A8"), id="A8"),
]


@pytest.mark.parametrize(("toml", "field", "value", "fragment"), RATE_CASES)
def test_bad_landuse_value(tmp_path, toml, field, value, fragment):
    path = _scenario(tmp_path, f"[landuse]\n{toml}\n")
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == field
    assert error.value == value
    assert fragment in error.reason


@pytest.mark.parametrize(
    "literal",
    [
        pytest.param("nan", marks=pytest.mark.catalogue("A7"), id="A7"),
        pytest.param("inf", marks=pytest.mark.catalogue("A9"), id="A9"),
    ],
)
def test_nan_and_inf_literals_are_not_finite_numbers(tmp_path, literal):
    """NaN and inf have their own reason, not the first bound they happen to fail ("less than 1")."""
    path = _scenario(tmp_path, f"[landuse]\nfinancial_discount_rate = {literal}\n")
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "landuse.financial_discount_rate"
    assert not math.isfinite(error.value)
    assert error.reason.startswith("must be a finite number")
    assert "less than" not in error.reason


@pytest.mark.catalogue("A3")
def test_section_given_as_a_scalar(tmp_path):
    path = _scenario(tmp_path, "landuse = 0.03\n")
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "landuse"
    assert error.value == 0.03
    assert "dictionary" in error.reason


@pytest.mark.catalogue("A10")
def test_extends_an_unknown_name_suggests_the_shipped_ones(tmp_path):
    path = tmp_path / "child.toml"
    path.write_text('extends = "no_such_parent"\n')
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "extends"
    assert error.value == "no_such_parent"
    assert "does not exist" in error.reason
    assert "baseline" in error.reason  # the shipped names are listed


@pytest.mark.catalogue("A10", "A14")
def test_extends_a_typo_says_did_you_mean(tmp_path):
    path = tmp_path / "child.toml"
    path.write_text('extends = "basline"\n')
    error = _error(load_scenario, path)
    assert error.field == "extends"
    assert error.value == "basline"
    assert "did you mean 'baseline'?" in error.reason


@pytest.mark.catalogue("A11")
def test_extends_a_missing_path(tmp_path):
    path = tmp_path / "child.toml"
    path.write_text('extends = "does/not/exist.toml"\n')
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "extends"
    assert error.value == "does/not/exist.toml"
    assert "does not exist" in error.reason


@pytest.mark.catalogue("A12")
def test_extends_cycle(tmp_path):
    (tmp_path / "cycle_a.toml").write_text('extends = "cycle_b.toml"\n')
    (tmp_path / "cycle_b.toml").write_text('extends = "cycle_a.toml"\n')
    error = _error(load_scenario, tmp_path / "cycle_a.toml")
    assert error.file == str(tmp_path / "cycle_a.toml")
    assert error.field == "extends"
    assert "cycle" in error.reason


@pytest.mark.catalogue("A13")
def test_extends_itself(tmp_path):
    path = tmp_path / "self.toml"
    path.write_text('extends = "self.toml"\n')
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "extends"
    assert "cycle" in error.reason


@pytest.mark.catalogue("A14")
def test_scenario_name_typo_says_did_you_mean_and_lists_the_shipped_names():
    error = _error(load_scenario, "basline")
    assert error.field == "scenario"
    assert error.value == "basline"
    assert "did you mean 'baseline'?" in error.reason
    for name in shipped_scenarios():
        assert repr(name) in error.reason


@pytest.mark.catalogue("A15")
def test_scenario_path_not_found(tmp_path):
    path = tmp_path / "nope.toml"
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert "not found" in error.reason
    assert "check the path" in error.reason


@pytest.mark.catalogue("A16")
def test_invalid_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('extends = "baseline"\n[landuse\n')
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert "not valid TOML" in error.reason
    assert "line 2" in error.reason


@pytest.mark.catalogue("A17")
def test_scenario_path_is_a_directory(tmp_path, capsys):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "mine.toml").write_text('extends = "baseline"\n')
    error = _error(load_scenario, folder)
    assert error.file == str(folder)
    assert "is a directory" in error.reason
    assert "mine.toml" in error.reason  # what it holds, so the user sees which file they meant
    code, err = _cli(["solve", str(folder)], capsys)
    assert code == 2
    assert "Traceback" not in err
    assert str(folder) in err
    assert "is a directory" in err


@pytest.mark.catalogue("A18")
def test_sweep_grid_unknown_key(tmp_path):
    path = _scenario(tmp_path, '[sweep]\ngrid = { "landuse.discount" = [0.03, 0.05] }\n')
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "sweep"
    assert "'landuse.discount' is not a scenario parameter" in error.reason


def test_empty_scenario_file(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_bytes(b"")
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert "empty (0 bytes)" in error.reason


def test_scenario_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('extends = "baseline"\n# r = 5 % (Wang, Jia & Lü)\n'.encode("latin-1"))
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.row == 2
    assert "not UTF-8" in error.reason
    assert "save it as UTF-8" in error.reason


def test_rate_bound_is_public_and_is_the_schema_bound(tmp_path):
    low, high = FINANCIAL_DISCOUNT_RATE_OPEN_INTERVAL
    assert (low, high) == (0.0, 1.0)
    error = _error(load_scenario, _scenario(tmp_path, f"[landuse]\nfinancial_discount_rate = {high}\n"))
    assert error.field == "landuse.financial_discount_rate"


# --- B: afforestable-area tables ------------------------------------------------------------------------


# (how to change the study table, expected line, field, value, fragment of the reason)
CELL_CASES = [
    pytest.param(_replace_first("bare_soil,Shaanxi,0.04", "bare_soil,Shaanxi,-0.04"), 2, "area_10k_ha", "-0.04",
                 "must be >= 0", marks=pytest.mark.catalogue("B3"), id="B3"),
    pytest.param(_replace_first("bare_soil,Shaanxi,", "bare_soil,Shanxi,"), 2, "province", "Shanxi",
                 "unknown province", marks=pytest.mark.catalogue("B4"), id="B4"),
    pytest.param(_replace_first("bare_soil,Shaanxi,0.04", "bare_soil,Shaanxi,NaN"), 2, "area_10k_ha", "NaN",
                 "must be a finite number", marks=pytest.mark.catalogue("B5"), id="B5"),
    pytest.param(_replace_first("bare_soil,Shaanxi,0.04", "bare_soil,Shaanxi,"), 2, "area_10k_ha", "",
                 "not a number", marks=pytest.mark.catalogue("B6"), id="B6"),
    pytest.param(_replace_first("bare_soil,Shaanxi,0.04", "bare_soil,Shaanxi,inf"), 2, "area_10k_ha", "inf",
                 "must be a finite number", marks=pytest.mark.catalogue("B7"), id="B7"),
    pytest.param(_study_lines() + ["bare_soil,Shaanxi,0.04"], 47, "land_type+province", ("bare_soil", "Shaanxi"),
                 "duplicate row", marks=pytest.mark.catalogue("B8"), id="B8"),
    pytest.param(["land_type,area_10k_ha"] + [",".join(line.split(",")[::2]) for line in _study_lines()[1:]], 1,
                 "header", ["land_type", "area_10k_ha"], "missing ['province']",
                 marks=pytest.mark.catalogue("B16"), id="B16"),
    pytest.param([line.replace(",", ";") for line in _study_lines()], 1, "header",
                 ["land_type;province;area_10k_ha"], "header must be", marks=pytest.mark.catalogue("B17"), id="B17"),
    pytest.param(_replace_first("bare_soil,Shaanxi,0.04", "bare_soil,Shaanxi,abc"), 2, "area_10k_ha", "abc",
                 "not a number", marks=pytest.mark.catalogue("B18"), id="B18"),
    pytest.param(_replace_first("bare_soil,Shaanxi,0.04", 'bare_soil,Shaanxi,"0,04"'), 2, "area_10k_ha", "0,04",
                 "not a number", marks=pytest.mark.catalogue("B19"), id="B19"),
]


@pytest.mark.parametrize(("lines", "row", "field", "value", "fragment"), CELL_CASES)
def test_bad_cell(tmp_path, lines, row, field, value, fragment):
    area = _area_csv(tmp_path, lines)
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert error.row == row
    assert error.field == field
    assert error.value == value
    assert fragment in error.reason


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        pytest.param(_replace_first("bare_soil,Shaanxi,0.04", '"bare_soil,Shaanxi,0.04'), "not a readable CSV table",
                     marks=pytest.mark.catalogue("B1"), id="B1"),
        pytest.param(_replace_first("bare_soil,Qinghai,0.18", "bare_soil,Qinghai,0.18,x"), "Expected 3 fields",
                     marks=pytest.mark.catalogue("B2"), id="B2"),
        pytest.param(_study_lines()[:1], "table has no rows", marks=pytest.mark.catalogue("B12"), id="B12"),
    ],
)
def test_unreadable_table(tmp_path, lines, fragment):
    area = _area_csv(tmp_path, lines)
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert fragment in error.reason


@pytest.mark.catalogue("B15")
def test_missing_row(tmp_path):
    area = _area_csv(tmp_path, [line for line in _study_lines() if not line.startswith("bare_soil,Shaanxi,")])
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert error.field == "land_type+province"
    assert error.value == ("bare_soil", "Shaanxi")
    assert "write 0" in error.reason


@pytest.mark.catalogue("B11")
def test_empty_area_file(tmp_path, capsys):
    """0 bytes: refused when the scenario is loaded (naming the scenario's field) and by the loader itself."""
    area = tmp_path / "area.csv"
    area.write_bytes(b"")
    path = _scenario(tmp_path, area="area.csv")
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "inputs.afforestable_area_file"
    assert error.value == str(area)
    assert "is empty (0 bytes)" in error.reason
    direct = _error(load_afforestable_area, area)
    assert direct.file == str(area)
    assert "is empty (0 bytes)" in direct.reason
    code, err = _cli(["solve", str(path)], capsys)
    assert code == 2
    assert "Traceback" not in err
    assert str(area) in err


def test_blank_area_file(tmp_path):
    """Only blank lines: pandas would say 'No columns to parse from file'."""
    area = tmp_path / "area.csv"
    area.write_text("\n\n  \n")
    error = _error(read_csv_text, area)
    assert error.file == str(area)
    assert "only blank space" in error.reason


@pytest.mark.catalogue("B13")
def test_area_file_is_a_directory(tmp_path, capsys):
    (tmp_path / "area").mkdir()
    path = _scenario(tmp_path, area="area")
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "inputs.afforestable_area_file"
    assert error.value == str(tmp_path / "area")
    assert "is a directory, not a file" in error.reason
    assert "does not exist" not in error.reason
    code, err = _cli(["solve", str(path)], capsys)
    assert code == 2
    assert "is a directory" in err
    direct = _error(load_afforestable_area, tmp_path / "area")
    assert direct.file == str(tmp_path / "area")
    assert "is a directory" in direct.reason


@pytest.mark.catalogue("B14")
def test_random_bytes(tmp_path):
    area = tmp_path / "garbage.csv"
    area.write_bytes(b"\xff" + random.Random(0).randbytes(4095))
    error = _error(_resolve, _scenario(tmp_path, area="garbage.csv"))
    assert error.file == str(area)
    assert error.row == 1
    assert "not UTF-8 text" in error.reason


@pytest.mark.catalogue("B20")
def test_large_file_of_duplicate_rows(tmp_path):
    """The catalogue used 50 MB (45 rows + 1.2 M duplicates); 45 rows + 20 000 duplicates take the same path
    (whole file read, parsed, first duplicate reported) in a fraction of the time."""
    area = _area_csv(tmp_path, _study_lines() + ["bare_soil,Shaanxi,0.04"] * 20_000)
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert error.row == 47
    assert error.field == "land_type+province"
    assert error.value == ("bare_soil", "Shaanxi")


@pytest.mark.catalogue("B21")
def test_large_file_of_unknown_land_types(tmp_path):
    """The catalogue used 50 MB of unknown land types; 20 000 rows take the same path (first one reported)."""
    lines = ["land_type,province,area_10k_ha"] + [f"landtype_{i},Shaanxi,1.0" for i in range(20_000)]
    area = _area_csv(tmp_path, lines)
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert error.row == 2
    assert error.field == "land_type"
    assert error.value == "landtype_0"
    assert "unknown land type" in error.reason


@pytest.mark.catalogue("B22")
def test_one_huge_cell_is_refused_before_any_solver(tmp_path):
    """1e12 x 10^4 ha in one cell hung HiGHS; it is larger than China, so the loader refuses it."""
    area = _area_csv(tmp_path, _replace_first("bare_soil,Shaanxi,0.04", "bare_soil,Shaanxi,1e12"))
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert error.row == 2
    assert error.field == "area_10k_ha"
    assert error.value == 1e12
    assert "larger than China's land area" in error.reason
    assert "divide by 10^4" in error.reason


@pytest.mark.catalogue("B23")
def test_table_in_ha_instead_of_10k_ha(tmp_path):
    frame = _study_frame()
    frame["area_10k_ha"] = frame["area_10k_ha"] * 1e4
    area = _frame_csv(tmp_path, frame)
    first_too_large = int((frame["area_10k_ha"] > MAX_AREA_10K_HA).idxmax())
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert error.row == first_too_large + 2
    assert error.field == "area_10k_ha"
    assert error.value == pytest.approx(frame.loc[first_too_large, "area_10k_ha"])
    assert "is the table in ha instead of 10^4 ha? divide by 10^4" in error.reason


def test_total_larger_than_china_is_refused(tmp_path):
    """Every cell below the bound, the total above it: the total is named."""
    frame = _study_frame()
    frame["area_10k_ha"] = MAX_AREA_10K_HA / 40
    area = _frame_csv(tmp_path, frame)
    error = _error(load_afforestable_area, area)
    assert error.file == str(area)
    assert error.field == "area_10k_ha"
    assert error.value == pytest.approx(MAX_AREA_10K_HA / 40 * 45)
    assert "total" in error.reason and "divide by 10^4" in error.reason


@pytest.mark.catalogue("B9")
def test_table_that_does_not_sum_to_a0(tmp_path):
    frame = _study_frame()
    qinghai = frame["province"] == "Qinghai"
    frame.loc[qinghai, "area_10k_ha"] *= 2
    total = float(frame["area_10k_ha"].sum())
    area = _frame_csv(tmp_path, frame)
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert error.field == "area_10k_ha"
    assert error.value == pytest.approx(total)
    assert f"{STUDY_A0_10K_HA:g}" in error.reason  # both values named
    assert f"set landuse.initial_area_10k_ha = {total:.2f}" in error.reason  # what to do
    assert "alpha, beta" in error.reason  # and what that means for the curves


@pytest.mark.catalogue("B10")
def test_all_zero_table(tmp_path):
    frame = _study_frame()
    frame["area_10k_ha"] = 0.0
    area = _frame_csv(tmp_path, frame)
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert error.field == "area_10k_ha"
    assert error.value == 0.0
    assert "every area in the table is 0" in error.reason


def _scaled_study_table(total: float) -> pd.DataFrame:
    """The study's table scaled to ``total``: stands in for an ``afforest suitability`` area.csv (same shape,
    unrounded cells)."""
    frame = _study_frame()
    frame["area_10k_ha"] = frame["area_10k_ha"] * (total / frame["area_10k_ha"].sum())
    return frame


@pytest.mark.catalogue("B24")
def test_suitability_output_used_as_table2(tmp_path):
    """The overlay's 40.96 x 10^4 ha with the study's A0 = 499.58: refused, and the fix is named."""
    area = _frame_csv(tmp_path, _scaled_study_table(40.96))
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert error.field == "area_10k_ha"
    assert error.value == pytest.approx(40.96)
    assert "499.58" in error.reason
    assert "set landuse.initial_area_10k_ha = 40.96" in error.reason


@pytest.mark.catalogue("B24")
def test_suitability_output_with_its_own_a0_resolves(tmp_path):
    """Following the advice works: A0 set to the table's total (printed to 0.01) is accepted."""
    _frame_csv(tmp_path, _scaled_study_table(40.96))
    inputs = _resolve(_scenario(tmp_path, "[landuse]\ninitial_area_10k_ha = 40.96\n", area="area.csv"))
    assert inputs.params.initial_area_10k_ha == 40.96
    assert inputs.classes["area_10k_ha"].sum() == pytest.approx(40.96)


@pytest.mark.catalogue("B25")
def test_demo_region_output_used_as_table2(tmp_path):
    """7 076 x 10^4 ha (the demo region's overlay) with A0 = 499.58 used to end in HiGHS status 'unknown'."""
    area = _frame_csv(tmp_path, _scaled_study_table(7076.0))
    error = _error(_resolve, _scenario(tmp_path, area="area.csv"))
    assert error.file == str(area)
    assert error.field == "area_10k_ha"
    assert error.value == pytest.approx(7076.0)
    assert "499.58" in error.reason
    assert "set landuse.initial_area_10k_ha = 7076.00" in error.reason
    # following that advice alone extrapolates the study's cubic curves 14-fold: the error says so
    assert "extrapolated" in error.reason


@pytest.mark.catalogue("C15")
def test_a0_overridden_below_the_study_table(tmp_path):
    """A0 = 1 with the study's own table: the same check, naming the shipped table and both values."""
    error = _error(_resolve, _scenario(tmp_path, "[landuse]\ninitial_area_10k_ha = 1.0\n"))
    assert error.file == str(STUDY_AREA_CSV)
    assert error.field == "area_10k_ha"
    assert error.value == pytest.approx(STUDY_A0_10K_HA)
    assert "A0 (landuse.initial_area_10k_ha) is 1 x 10^4 ha" in error.reason


def test_a0_in_ha_is_refused_by_the_scenario(tmp_path):
    path = _scenario(tmp_path, "[landuse]\ninitial_area_10k_ha = 4995800.0\n")
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "landuse.initial_area_10k_ha"
    assert error.value == 4995800.0
    assert "divide by 10^4" in error.reason


# --- the tolerance of the A0 check ----------------------------------------------------------------------


def test_the_shipped_table_sums_to_a0_and_the_tolerance_is_the_printed_rounding():
    area = load_afforestable_area()
    assert area["area_10k_ha"].sum() == pytest.approx(STUDY_A0_10K_HA, abs=1e-9)  # measured gap: 0.000
    # 45 cells and A0, each printed to 0.01 (off by at most 0.005): 46 x 0.005
    assert area_rounding_tolerance_10k_ha(len(area)) == pytest.approx(0.23)
    check_area_against_initial_area(area, STUDY_A0_10K_HA)


@pytest.mark.parametrize(("gap", "accepted"), [(0.22, True), (-0.22, True), (0.24, False), (-0.24, False)])
def test_a0_gap_within_rounding_is_accepted(gap, accepted):
    area = load_afforestable_area()
    if accepted:
        check_area_against_initial_area(area, STUDY_A0_10K_HA + gap)
    else:
        with pytest.raises(InputError, match="allowed gap 0.230"):
            check_area_against_initial_area(area, STUDY_A0_10K_HA + gap)


# --- the file helper: every way a file can fail to be read ----------------------------------------------


@pytest.mark.parametrize("reader", [read_csv_text, read_toml, read_input_text, check_input_file])
def test_every_reader_refuses_a_directory(tmp_path, reader):
    error = _error(reader, tmp_path)
    assert error.file == str(tmp_path)
    assert "is a directory" in error.reason


@pytest.mark.parametrize("reader", [read_csv_text, read_toml, read_input_text, check_input_file])
def test_every_reader_refuses_an_empty_file(tmp_path, reader):
    (tmp_path / "f").write_bytes(b"")
    error = _error(reader, tmp_path / "f")
    assert error.file == str(tmp_path / "f")
    assert "empty (0 bytes)" in error.reason


def test_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    error = _error(read_csv_text, fifo)  # must not block reading the pipe
    assert error.file == str(fifo)
    assert "not a regular file" in error.reason


def test_permission_denied_when_checked(tmp_path, monkeypatch):
    """chmod 000 does not stop root, so the permission check is simulated."""
    area = tmp_path / "area.csv"
    area.write_text(STUDY_AREA_CSV.read_text())
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == area else real_access(p, mode, **kw))
    error = _error(load_afforestable_area, area)
    assert error.file == str(area)
    assert "permission denied" in error.reason
    assert "chmod" in error.reason
    path = _scenario(tmp_path, area="area.csv")
    error = _error(load_scenario, path)
    assert error.field == "inputs.afforestable_area_file"
    assert "permission denied" in error.reason


def test_permission_denied_when_read(tmp_path, monkeypatch):
    area = tmp_path / "area.csv"
    area.write_text(STUDY_AREA_CSV.read_text())

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    error = _error(read_csv_text, area)
    assert error.file == str(area)
    assert "permission denied" in error.reason


def test_non_utf8_table_names_the_line(tmp_path):
    area = tmp_path / "area.csv"
    lines = _replace_first("bare_soil,Gansu,0.44", "bare_soil,Gansu,0.44 # Gänsu")
    area.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    error = _error(load_afforestable_area, area)
    assert error.file == str(area)
    assert error.row == 3
    assert "not UTF-8" in error.reason


def test_bom_and_crlf_are_still_accepted(tmp_path):
    area = tmp_path / "area.csv"
    area.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(_study_lines()).encode() + b"\r\n")
    assert load_afforestable_area(area)["area_10k_ha"].sum() == pytest.approx(STUDY_A0_10K_HA)


def test_missing_area_file_named_by_the_scenario(tmp_path):
    path = _scenario(tmp_path, area="nope.csv")
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "inputs.afforestable_area_file"
    assert error.value == str(tmp_path / "nope.csv")
    assert "not found" in error.reason


# --- magnitudes: one bound per quantity, read from data/input_bounds.toml by loaders and schema alike -----


def test_schema_bounds_are_the_data_bounds():
    from afforest.data import MAX_CARBON_PRICE_YUAN_PER_T_CO2, MAX_PLANTING_COST_YUAN_PER_HA, load_quantities
    from afforest.scenarios import ClassesSection, LandUseSection, PolicySection

    bounds = load_quantities(data_path("input_bounds.toml"))
    assert bounds["max_area"].value == MAX_AREA_10K_HA == 96_000.0  # China: 9.6e6 km2 = 9.6e8 ha
    assert bounds["max_area"].unit == "10^4 ha"

    def le(section, name):
        return next(m.le for m in section.model_fields[name].metadata if hasattr(m, "le"))

    assert le(LandUseSection, "initial_area_10k_ha") == MAX_AREA_10K_HA
    assert le(ClassesSection, "max_class_area_10k_ha") == MAX_AREA_10K_HA
    assert le(PolicySection, "annual_planting_cap_10k_ha_per_yr") == MAX_AREA_10K_HA
    assert le(LandUseSection, "planting_cost_intercept_yuan_per_ha") == MAX_PLANTING_COST_YUAN_PER_HA
    assert le(LandUseSection, "planting_cost_slope_yuan_per_ha_per_10k_ha_yr") == MAX_PLANTING_COST_YUAN_PER_HA
    assert le(PolicySection, "carbon_price_yuan_per_t_co2") == MAX_CARBON_PRICE_YUAN_PER_T_CO2


@pytest.mark.parametrize(
    ("toml", "field", "fragment"),
    [
        ("[policy]\nprovince_quota_10k_ha = { Qinghai = nan }\n", "policy.province_quota_10k_ha.Qinghai",
         "must be a finite number"),
        ("[policy]\nprovince_quota_10k_ha = { Qinghai = 4e5 }\n", "policy.province_quota_10k_ha",
         "between 0 and 96000"),
        ("[policy]\ndirect_cost_multiplier_by_land_type = { shrubland = inf }\n",
         "policy.direct_cost_multiplier_by_land_type.shrubland", "must be a finite number"),
        ("[classes]\nmax_class_area_10k_ha = 1e6\n", "classes.max_class_area_10k_ha", "divide by 10^4"),
        ("[policy]\nannual_planting_cap_10k_ha_per_yr = 1e6\n", "policy.annual_planting_cap_10k_ha_per_yr",
         "divide by 10^4"),
        ("[policy]\ncarbon_price_yuan_per_t_co2 = 2e5\n", "policy.carbon_price_yuan_per_t_co2", "less than or equal"),
    ],
)
def test_other_magnitudes_a_scenario_sets(tmp_path, toml, field, fragment):
    path = _scenario(tmp_path, toml)
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == field
    assert fragment in error.reason


def test_parameters_refuse_a0_larger_than_china(tmp_path):
    from afforest.data import load_landuse_parameters

    params = load_landuse_parameters()
    error = _error(lambda: params.replace(initial_area_10k_ha=4_995_800.0))
    assert error.field == "initial_area_10k_ha"
    assert error.value == 4_995_800.0
    assert "divide by 10^4" in error.reason
    error = _error(lambda: params.replace(financial_discount_rate=math.inf))
    assert error.reason == "must be a finite number"


@pytest.mark.parametrize("parent", ["folder", "empty.toml"])
def test_extends_a_parent_that_cannot_be_read_names_the_extends_line(tmp_path, parent):
    (tmp_path / "folder").mkdir()
    (tmp_path / "empty.toml").write_bytes(b"")
    path = tmp_path / "child.toml"
    path.write_text(f'extends = "{parent}"\n')
    error = _error(load_scenario, path)
    assert error.file == str(path)
    assert error.field == "extends"
    assert error.value == parent
    assert str(tmp_path / parent) in error.reason
