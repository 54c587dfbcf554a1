"""A regular (non-editable) install carries the data and works outside the source tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    had_build_dir = (ROOT / "build").exists()
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if not had_build_dir:  # setuptools stages the build in the source tree; leave no stale copy behind
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    assert build.returncode == 0, build.stderr
    (path,) = out.glob("afforest-*.whl")
    return path


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "afforest/__init__.py",
        "afforest/cli/main.py",
        "afforest/chain/landuse.py",
        "afforest/plots/palette.py",
        "afforest/plots/suitability_map.py",
        "afforest/model/suitability/__init__.py",
        "afforest/model/suitability/overlay.py",
        "afforest/model/landuse.py",
        "afforest/solvers/__init__.py",
        "afforest/data/afforestable_area.csv",
        "afforest/data/catalog.toml",
        "afforest/data/region.py",
        # issue 11: the bundled regions' manifests and tables
        "afforest/data/regions/northwest_china/region.toml",
        "afforest/data/regions/example_basin/region.toml",
        "afforest/data/regions/example_basin/afforestable_area.csv",
        "afforest/scenarios/baseline.toml",
    ):
        assert expected in names
    assert not any(name.startswith("afforest/tests/") for name in names)


def test_installed_wheel_runs_outside_the_source_tree(wheel, tmp_path):
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "import afforest, afforest.data as d, afforest.scenarios as s;"
        "assert afforest.__file__.startswith(%r);"
        "print(round(d.load_afforestable_area().area_10k_ha.sum(), 2), s.load_scenario('baseline').name)" % str(target)
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["499.58", "baseline"]
