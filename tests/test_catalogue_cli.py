"""Rows of docs/bad-input-catalogue.md about the command line itself: outputs that cannot be written (D17),
a reader that goes away (D18), discount rates outside the schema (D19) and library logs in --json (C16).

Each case ends with one clear line on stderr and no traceback; the slow ones run the real command in a
subprocess, the rest call :func:`afforest.cli.main` in-process.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import afforest.chain.reproduce
from afforest.cli import main
from afforest.errors import InputError, prepare_output_dir
from afforest.scenarios import LandUseSection, load_scenario

SIGPIPE_EXIT = 141  # 128 + SIGPIPE, what `yes | head -1` reports under `set -o pipefail`


def _afforest(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "afforest", *args], capture_output=True, text=True, timeout=600, **kwargs)


def _one_clean_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


# -- D17: outputs that cannot be written --------------------------------------------------------------------

@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("not a folder\n")
    return path


@pytest.mark.unit
@pytest.mark.catalogue("D17")
def test_prepare_output_dir_refuses_what_cannot_hold_outputs(tmp_path: Path, a_file: Path):
    cases = {
        a_file / "sub": "is a file, not a folder",  # below a regular file
        a_file / "sub" / "deeper": "is a file, not a folder",
        a_file: "is an existing file",
        Path("/proc/afforest-cannot-create"): "cannot create the folder",
    }
    for path, reason in cases.items():
        with pytest.raises(InputError, match=reason) as caught:
            prepare_output_dir(path, option="--out-dir")
        assert caught.value.field == "--out-dir" and caught.value.value == str(path)
        assert str(path) in str(caught.value) and "--out-dir" in str(caught.value)
    made = prepare_output_dir(tmp_path / "new" / "folder")
    assert made == tmp_path / "new" / "folder" and made.is_dir() and list(made.iterdir()) == []
    assert prepare_output_dir(str(made)) == made  # an existing, writable folder is fine (and left empty)


@pytest.mark.unit
@pytest.mark.catalogue("D17")
def test_prepare_output_dir_refuses_a_folder_it_cannot_write(tmp_path: Path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() != 0:
        locked.chmod(0o500)
    else:  # root writes anywhere: make the probe file fail as a read-only file system would
        real_write = Path.write_bytes

        def read_only(self: Path, data: bytes) -> int:
            if self.parent == locked:
                raise OSError(errno.EROFS, "Read-only file system", str(self))
            return real_write(self, data)

        monkeypatch.setattr(Path, "write_bytes", read_only)
    try:
        with pytest.raises(InputError, match="--output.*(not writable|cannot write)") as caught:
            prepare_output_dir(locked)
        assert caught.value.value == str(locked)
    finally:
        locked.chmod(0o700)


@pytest.mark.unit
@pytest.mark.catalogue("D17")
def test_reproduce_output_below_a_file_fails_before_the_work(a_file: Path, monkeypatch, capsys):
    def no_work(*args, **kwargs):
        raise AssertionError("reproduce() ran although --output cannot be written")

    monkeypatch.setattr(afforest.chain.reproduce, "reproduce", no_work)
    assert main(["reproduce", "--output", str(a_file / "out")]) == 2
    line = _one_clean_line(capsys.readouterr().err)
    assert line.startswith("afforest: error: ") and str(a_file / "out") in line and "'--output'" in line


@pytest.mark.integration
@pytest.mark.catalogue("D17")
def test_reproduce_output_below_a_file_from_the_shell(a_file: Path):
    start = time.perf_counter()
    run = _afforest("reproduce", "--output", str(a_file / "out"))
    assert run.returncode == 2 and run.stdout == ""
    assert str(a_file / "out") in _one_clean_line(run.stderr)
    assert time.perf_counter() - start < 60  # start-up only: the chain (two solves) never runs


@pytest.mark.unit
@pytest.mark.parametrize(
    "exc",
    [
        PermissionError(errno.EACCES, "Permission denied", "/srv/results/table.csv"),
        NotADirectoryError(errno.ENOTDIR, "Not a directory", "/srv/a_file/table.csv"),
        OSError(errno.ENOSPC, "No space left on device", "/srv/results/fig2.png"),
    ],
    ids=["permission", "below-a-file", "disk-full"],
)
def test_any_oserror_while_writing_is_one_line_naming_the_path(exc: OSError, monkeypatch, capsys):
    """The last line of defence in main: whatever command fails to write, the user gets the path and why."""

    def failing():
        print("partial output")
        raise exc

    monkeypatch.setattr("afforest.scenarios.shipped_scenarios", failing)  # what `afforest scenarios` calls
    assert main(["scenarios"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "partial output\n"
    assert _one_clean_line(captured.err) == f"afforest: error: {exc.filename}: {exc.strerror}"


@pytest.mark.integration
def test_a_full_disk_on_stdout_is_one_line_not_a_traceback():
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "afforest", "scenarios"], stdout=full, stderr=subprocess.PIPE,
                             text=True, timeout=600)
    assert run.returncode == 2
    assert "No space left on device" in _one_clean_line(run.stderr)


# -- D18: the reader of stdout goes away ----------------------------------------------------------------------

def _with_closed_stdout(*args: str) -> subprocess.CompletedProcess[str]:
    """Run afforest with its stdout a pipe whose reading end is already closed: every write is EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "afforest", *args], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, timeout=600)
    finally:
        os.close(write_end)


@pytest.mark.integration
@pytest.mark.catalogue("D18")
@pytest.mark.parametrize("command", [("reproduce",), ("esv", "--json"), ("scenarios",)], ids=" ".join)
def test_a_closed_pipe_ends_quietly(command: tuple[str, ...]):
    run = _with_closed_stdout(*command)
    assert run.returncode == SIGPIPE_EXIT, run.stderr
    assert run.stderr == ""


@pytest.mark.integration
@pytest.mark.catalogue("D18")
def test_reproduce_into_head_from_the_shell():
    """The catalogue's own command line, through a real shell pipe: one line out, nothing on stderr."""
    run = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {sys.executable} -m afforest reproduce | head -1"],
        capture_output=True, text=True, timeout=600,
    )
    assert run.stdout.startswith("land-use status: ok (") and run.stdout.count("\n") == 1  # the first line only
    assert "Traceback" not in run.stderr and "BrokenPipeError" not in run.stderr
    assert run.returncode in (0, SIGPIPE_EXIT)  # 0 when head read everything before closing


# -- D19 and the steady-state rates ---------------------------------------------------------------------------

def _schema_rate_bounds() -> tuple[float, float]:
    meta = {type(m).__name__: m for m in LandUseSection.model_fields["financial_discount_rate"].metadata}
    return meta["Gt"].gt, meta["Lt"].lt


@pytest.mark.unit
@pytest.mark.catalogue("D19")
@pytest.mark.parametrize("rate", ["inf", "-inf", "nan", "NaN"])
def test_steady_state_refuses_a_rate_that_is_not_finite(rate: str, capsys):
    assert main(["steady-state", f"--rate={rate}"]) == 2  # "--rate=" so that argparse takes "-inf" as a value
    line = _one_clean_line(capsys.readouterr().err)
    assert "'--rate'" in line and line.endswith("must be a finite number")
    assert "must be >" not in line


@pytest.mark.unit
@pytest.mark.catalogue("D19")
@pytest.mark.parametrize("rate", ["1.5", "1", "0", "-0.05"])
def test_steady_state_refuses_a_rate_a_scenario_refuses(rate: str, tmp_path: Path, capsys):
    low, high = _schema_rate_bounds()
    assert main(["steady-state", "--rate", "0.05", "--rate", rate]) == 2
    line = _one_clean_line(capsys.readouterr().err)
    assert f"value {float(rate)!r}" in line and f"> {low:g} and < {high:g}" in line
    assert capsys.readouterr().out == ""  # nothing computed for the good rate either: all checked first
    scenario = tmp_path / "r.toml"
    scenario.write_text(f"[landuse]\nfinancial_discount_rate = {rate}\n")
    with pytest.raises(InputError, match="financial_discount_rate"):
        load_scenario(scenario)


@pytest.mark.unit
@pytest.mark.catalogue("D19")
def test_steady_state_accepts_the_rates_inside_the_schema_bounds(capsys):
    low, high = _schema_rate_bounds()
    near = [low + 1e-6, high - 1e-6]
    assert main(["steady-state", "--json", "--rate", *map(str, near)]) == 0
    assert [p["financial_discount_rate"] for p in json.loads(capsys.readouterr().out)] == near


@pytest.mark.unit
def test_steady_state_rates_as_its_help_says(capsys):
    """The help's own example runs: several rates after one --rate, or --rate repeated, in the given order."""
    with pytest.raises(SystemExit) as stop:
        main(["steady-state", "--help"])
    assert stop.value.code == 0
    assert "--rate 0.03 0.05" in capsys.readouterr().out
    assert main(["steady-state", "--json", "--rate", "0.03", "0.05"]) == 0
    together = json.loads(capsys.readouterr().out)
    assert main(["steady-state", "--json", "--rate", "0.03", "--rate", "0.05"]) == 0
    repeated = json.loads(capsys.readouterr().out)
    assert together == repeated
    assert [p["financial_discount_rate"] for p in together] == [0.03, 0.05]
    # a lower discount rate values the perpetual ESV gain more: more is planted
    assert together[0]["analytic_afforested_area_10k_ha"] > together[1]["analytic_afforested_area_10k_ha"]


# -- C16: library logs never reach stdout ---------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.catalogue("C16")
def test_solve_json_with_ipopt_on_the_qp_prints_only_json(tmp_path: Path):
    scenario = tmp_path / "qp_ipopt.toml"
    scenario.write_text('extends = "baseline"\n[solver]\nqp = "ipopt"\n')
    run = _afforest("solve", str(scenario), "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)  # the whole of stdout is one JSON document
    assert summary["solver"]["classes"]["solver"] in ("ipopt", "cyipopt")
    assert "WARNING" not in run.stdout
    assert "Traceback" not in run.stderr


@pytest.mark.integration
@pytest.mark.catalogue("C16")
def test_solve_json_with_the_solver_logs_keeps_them_on_stderr():
    """--tee with --json: the solvers' own logs (C code writing to file descriptor 1) go to stderr."""
    run = _afforest("solve", "--json", "--tee")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "ok"
    assert "Ipopt" in run.stderr and "HiGHS" in run.stderr  # both logs were shown, on stderr


@pytest.mark.unit
@pytest.mark.catalogue("C16")
def test_library_log_records_go_to_stderr(capsys):
    assert main(["scenarios"]) == 0
    capsys.readouterr()
    logging.getLogger("pyomo.core").warning("a Pyomo warning")
    logging.getLogger("some.other.library").error("another library's error")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "a Pyomo warning" in captured.err and "another library's error" in captured.err
