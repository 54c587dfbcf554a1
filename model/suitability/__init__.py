"""Raster suitability overlay (Table 1 of the study): where planting is physically possible.

A cell is afforestable where all five factors of Table 1 admit it and no input is nodata:

* land use (RESDC class codes): an admitted class, and for cropland a slope above 25 degrees;
* soil order: one of the eight admitted orders;
* aridity: de Martonne index I = P / (T + 10) > 30, i.e. P > 30 (T + 10) with T + 10 > 0;
* elevation below 3400 m; slope below 40 degrees (derived from the elevation when no slope layer is given).

The thresholds and class lists live in ``data/suitability_rules.toml`` (:func:`load_suitability_rules`);
the inputs are named in a TOML config (:func:`load_suitability_config`). Layers are opened lazily with
rioxarray; the overlay is a dask array of ``chunk_size`` x ``chunk_size`` blocks whose independent tasks
read their own window of every layer (the elevation with a one-cell halo), so memory is bounded by the
chunk size, not the grid, and the same graph runs on the threaded scheduler or on a ``dask.distributed``
cluster (files must then be readable by every worker).

Each cell gets a 64-bit code (:class:`Exclusion` flags in bits 0-23, land-type index in bits 24-31,
province in bits 32-63). From it come the afforestable mask (uint8: 0 excluded by a rule, k = afforestable and of land type k
(1-based, order of :data:`afforest.data.AFFORESTABLE_LAND_TYPES`), 255 = outside the provinces or not
decidable because of nodata) and, per province, the afforestable area by land type (Table 2), the area
each rule excludes and the area lost to nodata. Cell areas follow the CRS: projected grids have a
constant cell area (|det A| of the affine transform, in the CRS's linear unit squared; or, with
``cell_area = "ground"``, that area divided by the projection's areal scale factor), geographic grids the
exact area of each latitude band on the CRS's ellipsoid.

Modules, in the order data flows through them: :mod:`.codes` (the cell code's bit layout), :mod:`.rules`
(Table 1), :mod:`.config` (the run's TOML), :mod:`.grid` (cell areas), :mod:`.inputs` (lazy layers, window
reads), :mod:`.arrays` and :mod:`.slope` (block helpers, Horn's slope), :mod:`.graph` (the dask graph: codes,
mask, summary), :mod:`.preview`, :mod:`.tables` (the result), :mod:`.diagnostics` (the error paths' second
pass) and :mod:`.overlay` (the run). The names below are the public API (``suit.overlay`` and so on).
"""

from __future__ import annotations

from afforest.model.suitability.codes import (
    M2_PER_10K_HA,
    MASK_NODATA,
    NODATA_FLAGS,
    PLAUSIBLE_LAYERS,
    RULE_FLAGS,
    Exclusion,
)
from afforest.model.suitability.config import RASTER_LAYERS, SuitabilityConfig, load_suitability_config
from afforest.model.suitability.graph import afforestable_mask, cell_codes, province_index
from afforest.model.suitability.grid import Grid
from afforest.model.suitability.inputs import LayerReadError, OverlayInputs, open_inputs
from afforest.model.suitability.overlay import SuitabilityWarning, overlay, partial_path
from afforest.model.suitability.rules import SuitabilityRules, load_suitability_rules
from afforest.model.suitability.slope import slope_degrees
from afforest.model.suitability.tables import SuitabilityResult

__all__ = [
    "Exclusion",
    "RULE_FLAGS",
    "NODATA_FLAGS",
    "RASTER_LAYERS",
    "MASK_NODATA",
    "M2_PER_10K_HA",
    "SuitabilityRules",
    "SuitabilityConfig",
    "SuitabilityWarning",
    "Grid",
    "OverlayInputs",
    "SuitabilityResult",
    "load_suitability_rules",
    "load_suitability_config",
    "open_inputs",
    "cell_codes",
    "province_index",
    "afforestable_mask",
    "overlay",
    "slope_degrees",
    "PLAUSIBLE_LAYERS",
    "LayerReadError",
    "partial_path",
]
