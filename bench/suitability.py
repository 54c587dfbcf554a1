"""Benchmark of the raster suitability overlay: throughput (cells/s) and peak memory against grid size.

For each grid size it writes a synthetic five-province region (six tiled, deflate-compressed GeoTIFFs,
generated window by window so generation memory is bounded too) under a scratch directory, runs the
overlay as ``afforest suitability`` does (mask GeoTIFF + area tables, then the map) in a fresh child
process, and prints wall time, cells per second and the child's peak resident memory after the overlay
and after the map. The inputs are deleted after each size unless ``--keep``. Memory bounded by the
chunk size shows as the same peak for every size.

    python bench/suitability.py                          # 10^7 and 10^8 cells, chunks of 2048
    python bench/suitability.py --cells 1e6 --cells 4e7 --chunk-size 1024 --chunk-size 2048
    python bench/suitability.py --demo DIR --cells 3e6   # write a demo region + config, no benchmark

The synthetic fields are smooth functions of the cell position (sums of sinusoids), so any window can be
generated on its own: an elevation with a high plateau in the south-west, precipitation rising to the
east, temperature falling with elevation (6.5 K/km), land use and soil orders derived from them, and five
provinces (GB/T 2260 codes 61-65) as a Voronoi partition of fixed seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

PROVINCE_CODES = {61: "Shaanxi", 62: "Gansu", 63: "Qinghai", 64: "Ningxia", 65: "Xinjiang"}
# Seeds (u, v in [0, 1) of the grid) of the synthetic provinces' Voronoi cells.
_SEEDS = np.array([[0.85, 0.75], [0.62, 0.42], [0.35, 0.78], [0.78, 0.25], [0.2, 0.3]])
_LAYERS = {
    "land_use": ("uint8", 0),
    "soil_order": ("uint8", 0),
    "elevation": ("float32", -9999.0),
    "precipitation": ("float32", -9999.0),
    "temperature": ("float32", -9999.0),
    "provinces": ("uint8", 0),
}


def _waves(u: np.ndarray, v: np.ndarray, seed: int, terms: int = 6) -> np.ndarray:
    """Smooth pseudo-random field in about [-1, 1], a pure function of position."""
    rng = np.random.default_rng(seed)
    out = np.zeros(np.broadcast_shapes(u.shape, v.shape))
    for _ in range(terms):
        fu, fv = rng.uniform(1.0, 9.0, size=2) * rng.choice([-1, 1], size=2)
        out += np.sin(2 * np.pi * (fu * u + fv * v) + rng.uniform(0, 2 * np.pi))
    return out / math.sqrt(terms / 2)


def synthetic_window(row0: int, col0: int, rows: int, cols: int, height: int, width: int) -> dict[str, np.ndarray]:
    """All six layers of the window [row0, row0 + rows) x [col0, col0 + cols) of a height x width grid."""
    v = ((row0 + np.arange(rows) + 0.5) / height)[:, None]
    u = ((col0 + np.arange(cols) + 0.5) / width)[None, :]
    plateau = np.exp(-(((u - 0.3) / 0.25) ** 2 + ((v - 0.8) / 0.2) ** 2))
    elevation = 1200 + 2600 * plateau + 500 * _waves(u, v, 1) + 120 * _waves(u * 8, v * 8, 2)
    # no land of the region lies below the Turpan Depression (about -154 m): the waves dip to -626 m in ~0.01 %
    # of cells, which the overlay's plausibility check (elevation >= -500 m) rightly refuses
    elevation = np.maximum(elevation, -154.0)
    precipitation = np.clip(120 + 800 * u ** 1.3 + 180 * _waves(u, v, 3) + 60 * _waves(u * 6, v * 6, 4), 20, None)
    temperature = 11.0 - 0.0065 * (elevation - 1200) + 1.5 * _waves(u, v, 5)
    aridity = precipitation / np.maximum(temperature + 10, 0.5)
    texture = _waves(u * 5, v * 5, 6)
    land_use = np.full(elevation.shape, 33, dtype=np.uint8)  # low-cover grassland
    land_use[aridity < 12] = 62                                # gobi
    land_use[(aridity < 18) & (texture > 0.2)] = 61            # sand
    land_use[(aridity >= 25) & (texture > -0.3)] = 32          # medium-cover grassland
    land_use[(aridity >= 35) & (texture > 0.4)] = 31           # high-cover grassland
    land_use[(aridity >= 32) & (texture < -0.5)] = 22          # shrubland
    land_use[(aridity >= 38) & (texture < -0.9)] = 23          # sparse forest
    land_use[(aridity >= 45) & (texture > 0.9)] = 21           # forest
    land_use[(elevation < 1500) & (aridity >= 28) & (texture > 0.0) & (texture < 0.35)] = 12  # dry land
    land_use[(aridity >= 40) & (np.abs(texture - 0.6) < 0.04)] = 24   # other forest
    land_use[(elevation < 1400) & (np.abs(texture + 0.2) < 0.03)] = 11  # paddy
    land_use[np.abs(texture) < 0.015] = 42                     # lakes
    land_use[(elevation > 4000)] = 66                          # bare rock
    land_use[(aridity < 15) & (np.abs(texture + 0.7) < 0.05)] = 65  # bare soil
    land_use[(aridity < 14) & (np.abs(texture - 0.75) < 0.04)] = 63  # saline-alkali land
    soil = np.full(elevation.shape, 4, dtype=np.uint8)         # calcic soils
    soil[aridity < 20] = 5                                     # arid soils
    soil[aridity < 10] = 6                                     # desert soils
    soil[aridity >= 35] = 2                                    # leached soils
    soil[(aridity >= 28) & (aridity < 35)] = 3                 # semi-leached soils
    soil[np.abs(_waves(u * 3, v * 3, 7)) < 0.08] = 10          # saline-alkali soils
    soil[elevation > 3600] = 12                                # alpine soils
    soil[(texture > 0.5) & (texture < 0.6)] = 7                # primitive soils
    d2 = (u[..., None] - _SEEDS[:, 0]) ** 2 + (v[..., None] - _SEEDS[:, 1]) ** 2
    provinces = (61 + d2.argmin(axis=-1)).astype(np.uint8)
    return {
        "land_use": land_use,
        "soil_order": soil,
        "elevation": elevation.astype(np.float32),
        "precipitation": precipitation.astype(np.float32),
        "temperature": temperature.astype(np.float32),
        "provinces": provinces,
    }


def write_region(directory: Path, height: int, width: int, cell_m: float, chunk_size: int, window_rows: int = 512) -> Path:
    """Write the synthetic region and a suitability config; returns the config path."""
    directory.mkdir(parents=True, exist_ok=True)
    transform = from_origin(200_000.0, 4_800_000.0, cell_m, cell_m)
    sinks = {
        name: rasterio.open(
            directory / f"{name}.tif", "w", driver="GTiff", height=height, width=width, count=1, dtype=dtype,
            crs="EPSG:32643", transform=transform, nodata=nodata, tiled=True, blockxsize=512, blockysize=512,
            compress="deflate", BIGTIFF="IF_SAFER",
        )
        for name, (dtype, nodata) in _LAYERS.items()
    }
    try:
        for row0 in range(0, height, window_rows):
            rows = min(window_rows, height - row0)
            for col0 in range(0, width, 4096):
                cols = min(4096, width - col0)
                window = synthetic_window(row0, col0, rows, cols, height, width)
                for name, sink in sinks.items():
                    sink.write(window[name], 1, window=Window(col0, row0, cols, rows))
    finally:
        for sink in sinks.values():
            sink.close()
    codes = ", ".join(f'{code} = "{name}"' for code, name in PROVINCE_CODES.items())
    config = directory / "config.toml"
    config.write_text(
        "# Synthetic five-province region written by bench/suitability.py\n"
        f"chunk_size = {chunk_size}\n[layers]\n"
        + "".join(f'{name} = "{name}.tif"\n' for name in _LAYERS if name != "provinces")
        + f'[provinces]\npath = "provinces.tif"\ncodes = {{ {codes} }}\n'
    )
    return config


def _peak_rss_mib() -> float:
    """Peak resident memory of this process (VmHWM: per address space, so reset by exec, unlike
    ru_maxrss, which on Linux carries over the high-water mark of the process that forked us)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_one(config: str, output: str, chunk_size: int) -> None:
    """Child process: one overlay run as `afforest suitability` does it; prints a JSON line of figures."""
    import warnings

    from afforest.chain.prepare import OUTPUT_FILES, write_suitability_outputs
    from afforest.model import suitability
    from afforest.plots.suitability_map import plot_suitability_map

    after_imports = _peak_rss_mib()
    settings = suitability.load_suitability_config(config).model_copy(update={"chunk_size": chunk_size})
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = suitability.overlay(settings, mask_path=Path(output) / OUTPUT_FILES["mask"])
    write_suitability_outputs(result, output)
    overlay_s = time.perf_counter() - start
    overlay_peak = _peak_rss_mib()
    plot_suitability_map(result, Path(output) / OUTPUT_FILES["figure"])
    print(json.dumps({
        "cells": result.cells,
        "wall_s": overlay_s,
        "cells_per_s": result.cells / overlay_s,
        "peak_rss_mib": overlay_peak,
        "peak_with_figure_mib": _peak_rss_mib(),
        "rss_after_imports_mib": after_imports,
        "figure_s": time.perf_counter() - start - overlay_s,
        "afforestable_10k_ha": float(result.area["area_10k_ha"].sum()),
    }))


def _shape(cells: float) -> tuple[int, int]:
    side = int(round(math.sqrt(cells)))
    return side, int(round(cells / side))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=float, action="append", help="grid size in cells (repeat; default 1e7 and 1e8)")
    parser.add_argument("--chunk-size", type=int, action="append", help="cells per chunk side (repeat; default 2048)")
    parser.add_argument("--cell-m", type=float, default=100.0, help="cell size in metres (default 100)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/afforest-bench-suitability"))
    parser.add_argument("--keep", action="store_true", help="keep the synthetic rasters and outputs")
    parser.add_argument("--demo", type=Path, help="only write a demo region (and config) into this directory")
    parser.add_argument("--run-one", nargs=2, metavar=("CONFIG", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    chunk_sizes = args.chunk_size or [2048]
    if args.run_one:
        _run_one(*args.run_one, chunk_sizes[0])
        return 0
    sizes = args.cells or [1e7, 1e8]
    if args.demo:
        height, width = _shape(sizes[0])
        config = write_region(args.demo, height, width, args.cell_m, chunk_sizes[0])
        print(f"demo region {height} x {width} cells: {config}")
        return 0
    print(f"suitability overlay benchmark: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
    print("overlay = read, evaluate, write the mask GeoTIFF and the tables; peak RSS of the child process (MiB)")
    print(f"{'cells':>14} {'grid':>13} {'chunk':>6} {'generate s':>11} {'overlay s':>10} {'cells/s':>12} {'peak RSS':>9} "
          f"{'+ figure':>9} {'imports':>8}")
    for cells in sizes:
        height, width = _shape(cells)
        directory = args.workdir / f"grid_{height}x{width}"
        start = time.perf_counter()
        config = write_region(directory, height, width, args.cell_m, chunk_sizes[0])
        generated = time.perf_counter() - start
        for chunk in chunk_sizes:
            child = subprocess.run(
                [sys.executable, __file__, "--run-one", str(config), str(directory / "out"), "--chunk-size", str(chunk)],
                check=True, capture_output=True, text=True,
            )
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"{figures['cells']:>14,} {f'{height}x{width}':>13} {chunk:>6} {generated:>11.1f} {figures['wall_s']:>10.1f} "
                  f"{figures['cells_per_s']:>12,.0f} {figures['peak_rss_mib']:>9.0f} {figures['peak_with_figure_mib']:>9.0f} "
                  f"{figures['rss_after_imports_mib']:>8.0f}")
        if not args.keep:
            shutil.rmtree(directory)
    print(f"load average {os.getloadavg()[0]:.2f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
