"""Catalogue rows D1-D16 (docs/bad-input-catalogue.md, sections 2.1 and 2.2): `afforest sweep` and `afforest compare`
as a newcomer runs them, bad arguments, kills, Ctrl-C, two sweeps on one folder, a different sweep in a used folder.

Sweeps here are tiny (2-16 points on a 40-60 year horizon). Tests that start a sweep in a subprocess put it in its
own session and kill whatever is left of it at teardown, so no test leaves a process behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from afforest.cli import main as cli_main
from afforest.errors import InputError
from afforest.chain.landuse import solve_landuse
from afforest.scenarios import load_scenario
from afforest.chain.sweep import MANIFEST_FILE, PROGRESS_FILE, grid_points, run_sweep

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

RATE = "financial_discount_rate"
TIMES = ("curves_solve_s", "classes_solve_s", "build_s", "point_s")
"""Wall times: the only columns allowed to differ between two runs of one sweep."""


def _scenario_file(folder: Path, horizon_yr: float = 40.0, step_yr: float = 2.0) -> Path:
    path = folder / "short.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            extends = "baseline"
            description = "a short horizon for quick sweeps"
            [numerics]
            horizon_yr = {horizon_yr}
            step_yr = {step_yr}
            [sweep]
            ranges = {{ "landuse.financial_discount_rate" = [0.02, 0.06] }}
            """
        )
    )
    return path


@pytest.fixture
def short(tmp_path: Path) -> Path:
    return _scenario_file(tmp_path)


@pytest.fixture
def slow(tmp_path: Path) -> Path:
    """Points slow enough (0.5-1.5 s each, with the start-up of a process) that a sweep can be killed half-way: yearly
    periods (at 2-year steps a point took 0.3 s once the sweep rows got faster, issue 14)."""
    folder = tmp_path / "slow"
    folder.mkdir()
    return _scenario_file(folder, horizon_yr=60.0, step_yr=1.0)


def _cli(*args: str, timeout: float = 100) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "afforest", *args], capture_output=True, text=True, timeout=timeout)


def _main(capsys, *args: str) -> tuple[int, str, str]:
    """The command line in this process (no interpreter start-up): exit code, stdout, stderr."""
    rc = cli_main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


class _Sweeps:
    """Sweeps started in the background; at teardown every process of theirs is killed and reaped."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.seen: list[psutil.Process] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "afforest", "sweep", *args, "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: Ctrl-C can be sent to it as a terminal would
        )
        self.procs.append(proc)
        return proc

    def children(self, proc: subprocess.Popen[str]) -> list[psutil.Process]:
        kids = psutil.Process(proc.pid).children(recursive=True)
        self.seen += kids
        return kids

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.communicate(timeout=10)
        for kid in self.seen:
            try:
                kid.kill()
            except psutil.NoSuchProcess:
                pass


@pytest.fixture
def sweeps():
    tracker = _Sweeps()
    yield tracker
    tracker.cleanup()


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def _wait_for_points(proc: subprocess.Popen[str], log: Path, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(_lines(log)) < n:
        assert proc.poll() is None, f"the sweep ended before {n} points: rc {proc.returncode}, {proc.communicate()}"
        assert time.monotonic() < deadline, f"fewer than {n} points after {timeout} s"
        time.sleep(0.02)


def _assert_all_gone(kids: list[psutil.Process], timeout: float = 15) -> None:
    gone, alive = psutil.wait_procs(kids, timeout=timeout)
    assert not alive, f"processes outlived the sweep: {[(p.pid, p.name()) for p in alive]}"


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of a result that must be identical run to run (everything but wall times and pids)."""
    drop = [c for c in (*TIMES, "worker_pid", "models_reused") if c in frame]
    return frame.drop(columns=drop).sort_values("point_id").reset_index(drop=True)


# --- bad arguments: refused before anything is solved ---------------------------------------------------------


@pytest.mark.catalogue("D1")
def test_sample_zero_is_refused_not_replaced_by_the_grid(tmp_path, capsys):
    out = tmp_path / "out"
    rc, stdout, err = _main(capsys, "sweep", "discount_sweep", "--sample", "0", "--output", str(out), "--quiet")
    assert rc == 2 and "'--sample'" in err and "value 0" in err and "must be >= 1" in err
    assert not stdout and not out.exists()


@pytest.mark.catalogue("D2")
def test_negative_sample_is_refused(capsys):
    rc, _, err = _main(capsys, "sweep", "discount_sweep", "--sample", "-5")
    assert rc == 2 and "field '--sample', value -5: must be >= 1" in err


@pytest.mark.catalogue("D3")
def test_unknown_set_key_is_refused(capsys):
    rc, _, err = _main(capsys, "sweep", "baseline", "--set", "discount=0.03,0.05")
    assert rc == 2 and "field '--set', value 'discount': not a sweepable scenario parameter" in err


@pytest.mark.catalogue("D4")
def test_non_numeric_set_value_is_refused(capsys, tmp_path):
    rc, _, err = _main(capsys, "sweep", "baseline", "--set", f"{RATE}=0.03,abc", "--output", str(tmp_path / "o"))
    assert rc == 2 and "'abc'" in err and "valid number" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.catalogue("D5")
def test_set_without_values_is_refused(capsys):
    rc, _, err = _main(capsys, "sweep", "baseline", "--set", f"{RATE}=")
    assert rc == 2 and "field '--set'" in err and "expected KEY=V1,V2,..." in err


@pytest.mark.catalogue("D6")
def test_out_of_range_set_value_is_refused_before_any_solve(capsys, tmp_path):
    rc, _, err = _main(capsys, "sweep", "baseline", "--set", f"{RATE}=0.03,1.5", "--output", str(tmp_path / "o"))
    assert rc == 2 and "value 1.5" in err and "less than 1" in err
    assert not (tmp_path / "o").exists()  # nothing created, nothing solved


@pytest.mark.catalogue("D7")
def test_set_and_sample_together_are_refused(capsys):
    rc, _, err = _main(capsys, "sweep", "discount_sweep", "--set", f"{RATE}=0.03", "--sample", "3")
    assert rc == 2 and "use either --set or --sample, not both" in err


@pytest.mark.integration
@pytest.mark.catalogue("D8")
def test_more_workers_than_memory_holds_are_refused_before_any_starts(capsys, short, tmp_path, monkeypatch):
    """256 MiB a worker (238 MB measured): with 1 GiB available, 8 workers for 8 points are refused, 4 pass the check."""
    import afforest.model.cells as cells

    monkeypatch.setattr(cells, "available_memory_bytes", lambda: 2**30)
    rates = ",".join(f"{0.02 + 0.005 * i:g}" for i in range(8))
    out = tmp_path / "refused"
    rc, _, err = _main(capsys, "sweep", str(short), "--set", f"{RATE}={rates}", "--workers", "8", "--output", str(out))
    assert rc == 2 and "field '--workers', value 8: 8 worker processes need about 2.15 GB" in err
    assert "use at most 4 workers" in err and not out.exists()  # refused before the folder is made


@pytest.mark.catalogue("D8")
def test_negative_workers_are_refused_and_zero_means_one_per_core(capsys, short, tmp_path):
    rc, _, err = _main(capsys, "sweep", str(short), "--set", f"{RATE}=0.03,0.04", "--workers", "-1")
    assert rc == 2 and "field '--workers', value -1" in err and ">= 0" in err
    with pytest.raises(InputError, match="--workers"):
        run_sweep(load_scenario(short), grid_points({RATE: [0.03]}), workers=-2, progress=False)
    # 0 is accepted: one worker per core (the command line, as a user runs it)
    run = _cli("sweep", str(short), "--set", f"{RATE}=0.03,0.05", "--workers", "0", "--output", str(tmp_path / "o"), "--quiet")
    assert run.returncode == 0, run.stderr
    assert "2 points: " in run.stdout and "0 failed" in run.stdout
    frame = pd.read_parquet(tmp_path / "o" / "results.parquet")
    assert frame["worker_pid"].nunique() == min(2, os.cpu_count() or 1)


@pytest.mark.catalogue("D9")
def test_output_below_a_regular_file(capsys, short, tmp_path):
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "out"
    rc, out, err = _main(capsys, "sweep", str(short), "--set", f"{RATE}=0.03,0.04", "--output", str(target))
    assert rc == 2 and "'--output'" in err and str(target) in err and "is a file" in err
    assert "Traceback" not in err and not out


@pytest.mark.catalogue("D10")
def test_output_that_cannot_be_created(capsys, short):
    rc, _, err = _main(capsys, "sweep", str(short), "--set", f"{RATE}=0.03,0.04", "--output", "/proc/nope")
    assert rc == 2 and "field '--output', value '/proc/nope': cannot create the folder" in err


@pytest.mark.catalogue("D11")
def test_output_that_is_an_existing_file(capsys, short, tmp_path):
    existing = tmp_path / "results.txt"
    existing.write_text("keep me")
    rc, _, err = _main(capsys, "sweep", str(short), "--set", f"{RATE}=0.03,0.04", "--output", str(existing))
    assert rc == 2 and f"field '--output', value '{existing}': is an existing file, not a folder" in err
    assert existing.read_text() == "keep me"


# --- kills, Ctrl-C and resume -----------------------------------------------------------------------------------


def _resume_and_check(slow: Path, out: Path, points: int) -> pd.DataFrame:
    """Re-run the same command: it finishes the sweep, solving only the missing points, with no duplicates."""
    before = [r["point_id"] for r in _lines(out / PROGRESS_FILE)]
    run = _cli("sweep", str(slow), "--sample", str(points), "--output", str(out), "--workers", "2", "--quiet")
    assert run.returncode == 0, run.stderr
    frame = pd.read_parquet(out / "results.parquet")
    assert sorted(frame["point_id"]) == list(range(points))
    after = [r["point_id"] for r in _lines(out / PROGRESS_FILE)]
    assert after[: len(before)] == before and sorted(after) == list(range(points))  # each point solved once
    return frame


@pytest.mark.catalogue("D12")
def test_sigkill_leaves_no_worker_and_the_sweep_resumes_to_the_same_numbers(sweeps, slow, tmp_path):
    out, n = tmp_path / "killed", 8
    proc = sweeps.start(str(slow), "--sample", str(n), "--output", str(out), "--workers", "2")
    _wait_for_points(proc, out / PROGRESS_FILE, 2)
    kids = sweeps.children(proc)
    assert len(kids) >= 2  # the two pool workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    _assert_all_gone(kids)  # the workers die with their parent (they used to live on for ever)
    kept = len(_lines(out / PROGRESS_FILE))
    assert 2 <= kept < n and not (out / "results.parquet").exists()
    resumed = _resume_and_check(slow, out, n).set_index("point_id")
    # points solved before the kill and after it give what `afforest solve` gives, bit for bit (they used to
    # differ by up to 5e-6: Ipopt warm-started from whichever point the worker had solved before)
    first = _lines(out / PROGRESS_FILE)[0]["point_id"]
    for point in (first, max(set(range(n)) - {first})):
        rate = resumed.loc[point, RATE]
        expected = solve_landuse(load_scenario(slow).with_overrides({f"landuse.{RATE}": rate}))
        assert resumed.loc[point, "numeric_afforested_area_10k_ha"] == expected.numeric_afforested_area_10k_ha
        assert resumed.loc[point, "classes_afforested_area_10k_ha"] == expected.classes_afforested_area_10k_ha


@pytest.mark.catalogue("D12")
def test_a_killed_worker_stops_the_sweep_with_a_clear_error(sweeps, slow, tmp_path):
    """A worker killed from outside (the OOM killer): the sweep stops at once, says so, keeps its points."""
    out, n = tmp_path / "oom", 8
    proc = sweeps.start(str(slow), "--sample", str(n), "--output", str(out), "--workers", "2")
    _wait_for_points(proc, out / PROGRESS_FILE, 1)
    kids = sweeps.children(proc)
    os.kill(kids[0].pid, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2, stderr
    _assert_all_gone(kids, timeout=10)
    kept = len([r for r in _lines(out / PROGRESS_FILE) if r["status"] in ("ok", "suspect")])
    assert stderr.startswith("afforest: error: a sweep worker process died, perhaps killed for lack of memory")
    assert stderr.rstrip().endswith(f"{kept} of {n} points kept in {out / PROGRESS_FILE}, run the same command to resume")


@pytest.mark.catalogue("D13")
def test_ctrl_c_stops_the_sweep_keeps_the_points_and_exits_130(sweeps, slow, tmp_path):
    out, n = tmp_path / "interrupted", 8
    proc = sweeps.start(str(slow), "--sample", str(n), "--output", str(out), "--workers", "2")
    _wait_for_points(proc, out / PROGRESS_FILE, 2)
    kids = sweeps.children(proc)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole process group
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    _assert_all_gone(kids, timeout=10)
    kept = len(_lines(out / PROGRESS_FILE))
    assert 2 <= kept < n
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"interrupted: {kept} of {n} points kept in {out / PROGRESS_FILE}; run the same command to resume"
    )
    _resume_and_check(slow, out, n)


@pytest.mark.catalogue("D13")
def test_sigterm_stops_the_sweep_like_ctrl_c(sweeps, slow, tmp_path):
    out, n = tmp_path / "terminated", 8
    proc = sweeps.start(str(slow), "--sample", str(n), "--output", str(out), "--workers", "2")
    _wait_for_points(proc, out / PROGRESS_FILE, 1)
    kids = sweeps.children(proc)
    proc.terminate()  # SIGTERM to the parent only
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    _assert_all_gone(kids, timeout=10)
    assert "interrupted: " in stderr and "Traceback" not in stderr
    assert 1 <= len(_lines(out / PROGRESS_FILE)) < n


@pytest.mark.catalogue("D12")
def test_the_parent_watch_ends_a_worker_without_prctl(sweeps, tmp_path):
    """The portable fallback (a thread polling os.getppid) alone ends an orphaned worker."""
    script = tmp_path / "orphan.py"
    script.write_text(
        textwrap.dedent(
            """\
            import multiprocessing, os, sys, time
            from afforest.chain.sweep import die_with_parent

            def child(parent):
                die_with_parent(parent, use_prctl=False, poll_s=0.1)
                time.sleep(100)

            if __name__ == "__main__":
                p = multiprocessing.get_context("fork").Process(target=child, args=(os.getpid(),))
                p.start()
                print(p.pid, flush=True)
                time.sleep(100)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True)
    sweeps.procs.append(proc)
    child = psutil.Process(int(proc.stdout.readline()))
    sweeps.seen.append(child)
    time.sleep(0.3)
    assert child.is_running()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    _assert_all_gone([child], timeout=10)


# --- one folder, one sweep ----------------------------------------------------------------------------------------


@pytest.mark.catalogue("D14")
def test_a_second_sweep_on_a_busy_folder_is_refused(sweeps, slow, tmp_path):
    # 40 points: the first sweep must still be running when it is interrupted after the refusal below (with 8, the
    # faster sweep rows of issue 14 let it finish first on a quiet machine); it is stopped, never resumed
    out, n = tmp_path / "busy", 40
    proc = sweeps.start(str(slow), "--sample", str(n), "--output", str(out), "--workers", "1")
    _wait_for_points(proc, out / PROGRESS_FILE, 1)
    scenario = load_scenario(slow)
    from afforest.chain.sweep import sample_points

    points = sample_points(scenario.sweep.ranges, n, scenario.sweep.method, scenario.sweep.seed)
    with pytest.raises(InputError, match=rf"another sweep \(PID {proc.pid}\) is writing to this folder") as info:
        run_sweep(scenario, points, out, workers=1, progress=False)
    assert "'--output'" in str(info.value) and str(out) in str(info.value)
    os.killpg(proc.pid, signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    ids = [r["point_id"] for r in _lines(out / PROGRESS_FILE)]
    assert len(ids) == len(set(ids))  # nobody solved a point twice


@pytest.mark.catalogue("D15")
def test_a_different_sweep_does_not_replace_results(capsys, short, tmp_path):
    out = str(tmp_path / "used")
    assert _main(capsys, "sweep", str(short), "--set", f"{RATE}=0.03,0.04", "--output", out, "--workers", "1", "--quiet")[0] == 0
    files = {name: (tmp_path / "used" / name).read_bytes() for name in ("results.parquet", "results.csv", PROGRESS_FILE)}
    rc, _, err = _main(
        capsys, "sweep", "carbon_price", "--set", "carbon_price_yuan_per_t_co2=100,200", "--output", out, "--workers", "1", "--quiet"
    )
    assert rc == 2 and f"field '--output', value '{out}': holds a different sweep" in err
    assert "scenario 'short'" in err and "2 points over landuse.financial_discount_rate" in err and "--overwrite" in err
    # a different value on the same key, or one point more, is a different sweep as well
    rc, _, err = _main(capsys, "sweep", str(short), "--set", f"{RATE}=0.03,0.05", "--output", out, "--quiet")
    assert rc == 2 and "holds a different sweep" in err
    assert {name: (tmp_path / "used" / name).read_bytes() for name in files} == files  # nothing touched
    # the same sweep resumes (here: nothing left to solve, nothing appended)
    assert _main(capsys, "sweep", str(short), "--set", f"{RATE}=0.03,0.04", "--output", out, "--quiet")[0] == 0
    assert (tmp_path / "used" / PROGRESS_FILE).read_bytes() == files[PROGRESS_FILE]
    # --overwrite replaces it
    rc, stdout, _ = _main(capsys, "sweep", str(short), "--set", f"{RATE}=0.05", "--output", out, "--workers", "1", "--quiet", "--overwrite")
    assert rc == 0 and "1 points: " in stdout
    assert pd.read_parquet(tmp_path / "used" / "results.parquet")[RATE].tolist() == [0.05]
    assert len(_lines(tmp_path / "used" / PROGRESS_FILE)) == 1
    assert json.loads((tmp_path / "used" / MANIFEST_FILE).read_text())["points"] == 1


@pytest.mark.catalogue("D15")
def test_a_folder_from_before_sweep_json_is_still_recognised(short, tmp_path):
    scenario = load_scenario(short)
    points = grid_points({RATE: [0.03, 0.04]})
    run_sweep(scenario, points, tmp_path, workers=1, progress=False)
    (tmp_path / MANIFEST_FILE).unlink()  # as written by afforest 0.1.0
    lines = (tmp_path / PROGRESS_FILE).read_text()
    run_sweep(scenario, points, tmp_path, workers=1, progress=False)  # same sweep: resumes
    assert (tmp_path / PROGRESS_FILE).read_text() == lines
    (tmp_path / MANIFEST_FILE).unlink()
    with pytest.raises(InputError, match="holds a different sweep"):
        run_sweep(scenario, grid_points({RATE: [0.05, 0.06]}), tmp_path, workers=1, progress=False)


# --- compare -------------------------------------------------------------------------------------------------------


@pytest.mark.catalogue("D16")
def test_compare_on_an_unfinished_sweep_says_to_rerun_it(capsys, short, tmp_path):
    scenario = load_scenario(short)
    run_sweep(scenario, grid_points({RATE: [0.03, 0.04, 0.05]}), tmp_path, workers=1, progress=False)
    log = tmp_path / PROGRESS_FILE
    log.write_text(log.read_text().splitlines(keepends=True)[0] + '{"point_id": 1, "sta')  # killed in the second point
    for name in ("results.parquet", "results.csv"):
        (tmp_path / name).unlink()
    rc, _, err = _main(capsys, "compare", str(tmp_path))
    assert rc == 2 and "re-run the sweep to finish it (1 of 3 points in progress.jsonl)" in err and str(tmp_path) in err
    rc, _, err = _main(capsys, "compare", str(tmp_path / "nothing"))
    assert rc == 2 and "no such folder" in err


@pytest.mark.catalogue("D16")
def test_sweep_and_compare_through_the_command_line_count_suspect_points(tmp_path):
    """A 10-year horizon stops the planting path half-way (the classes QP still plants a fifth of its fastest
    rate in its last period): those points are suspect, and both the sweep's summary and compare's figures and
    counts show them apart from the ok points of the 40-year horizon."""
    short = _scenario_file(tmp_path)
    out = tmp_path / "cmp"
    run = _cli(
        "sweep", str(short), "--set", f"{RATE}=0.03,0.05", "--set", "horizon_yr=10,40", "--output", str(out), "--workers", "1", "--quiet"
    )
    assert run.returncode == 0, run.stderr
    frame = pd.read_parquet(out / "results.parquet")
    expected = [
        solve_landuse(load_scenario(short).with_overrides({f"landuse.{RATE}": r, "numerics.horizon_yr": h}))
        for r in (0.03, 0.05)
        for h in (10.0, 40.0)
    ]
    assert frame["status"].tolist() == [r.status for r in expected] == ["suspect", "ok", "suspect", "ok"]
    assert frame["suspect_reasons"].tolist() == ["; ".join(r.suspect_reasons) for r in expected]
    assert run.stdout.strip().splitlines()[-1] == f"4 points: 2 ok, 2 suspect, 0 failed; results in {out}"
    assert "point 0 suspect: " in run.stdout and "point 2 suspect: " in run.stdout
    figures = tmp_path / "figs"
    run = _cli("compare", str(out), "--output", str(figures))
    assert run.returncode == 0, run.stderr
    assert (figures / "analytic_vs_numeric.png").stat().st_size > 0
    assert (figures / f"sensitivity_{RATE}.png").stat().st_size > 0
    assert run.stdout.strip().splitlines()[-1] == "4 points: 2 ok, 2 suspect, 0 failed"
    assert "suspect point 0 (red triangle in the figures): " in run.stdout


def test_compare_marks_suspect_points_in_the_figures(tmp_path, monkeypatch):
    """The suspect points get their own, labelled marker in every figure."""
    import matplotlib.axes

    from afforest.plots.sweep import plot_comparison

    rows = [
        {RATE: r, "status": s, "analytic_afforested_area_10k_ha": 100 + r, "numeric_afforested_area_10k_ha": 100 + r,
         "classes_afforested_area_10k_ha": 96.0, "average_carbon_cost_yuan_per_t_co2": 30 + r, "carbon_discount_rate": 0.0}
        for r, s in ((0.03, "ok"), (0.05, "suspect"), (0.07, "ok"), (0.09, "failed"))
    ]
    labels = []
    original = matplotlib.axes.Axes.scatter

    def scatter(self, *args, **kwargs):
        labels.append(kwargs.get("label"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "scatter", scatter)
    written = plot_comparison(pd.DataFrame(rows), tmp_path)
    assert [p.name for p in written] == ["analytic_vs_numeric.png", f"sensitivity_{RATE}.png"]
    assert labels.count("suspect (1 point)") == 3  # the analytic-vs-numeric plot and both sensitivity panels


@pytest.mark.catalogue("D15")
def test_a_folder_whose_sweep_kept_nothing_may_be_taken_by_another(short, tmp_path):
    """Killed before its first point: the folder holds no result, so another sweep need not --overwrite."""
    scenario = load_scenario(short)
    run_sweep(scenario, grid_points({RATE: [0.03]}), tmp_path, workers=1, progress=False)
    for name in ("results.parquet", "results.csv"):
        (tmp_path / name).unlink()
    (tmp_path / PROGRESS_FILE).write_text('{"point_id": 0, "sta')
    frame = run_sweep(scenario, grid_points({RATE: [0.04]}), tmp_path, workers=1, progress=False)
    assert frame[RATE].tolist() == [0.04]
    assert json.loads((tmp_path / MANIFEST_FILE).read_text())["point_hashes"]["0"] == frame["scenario_hash"].iloc[0]
