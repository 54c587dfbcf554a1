"""The 64-bit cell code of the overlay: why a cell is excluded (:class:`Exclusion` flags, bits 0-23), its
land type (bits 24-31) and province (bits 32-63), and the values of the afforestable mask. Shared by the
dask graph, the tables and the error paths, so the bit layout is written once.
"""

from __future__ import annotations

from enum import IntFlag

import numpy as np

M2_PER_10K_HA = 1e8
"""Square metres in 10^4 ha (unit definition: 1 ha = 10^4 m^2)."""


MASK_NODATA = 255
"""Mask value of cells outside the provinces or not decidable because an input is nodata."""


class Exclusion(IntFlag):
    """Why a cell is not afforestable (bits of the cell code)."""

    LAND_USE = 1 << 0
    """Land-use class not admitted (e.g. closed forest, high-cover grassland, water, built-up land)."""
    SLOPING_CROPLAND = 1 << 1
    """Cropland whose slope is not above the class's ``min_slope_deg`` (25 degrees)."""
    SOIL = 1 << 2
    ARIDITY = 1 << 3
    ELEVATION = 1 << 4
    SLOPE = 1 << 5
    NODATA_LAND_USE = 1 << 8
    NODATA_SOIL_ORDER = 1 << 9
    NODATA_ELEVATION = 1 << 10
    NODATA_SLOPE = 1 << 11
    NODATA_PRECIPITATION = 1 << 12
    NODATA_TEMPERATURE = 1 << 13
    IMPLAUSIBLE_ELEVATION = 1 << 14
    """A value outside the layer's physically plausible range (``[plausible_range]`` of the rules)."""
    IMPLAUSIBLE_SLOPE = 1 << 15
    UNKNOWN_LAND_USE = 1 << 16
    UNKNOWN_SOIL_ORDER = 1 << 17
    IMPLAUSIBLE_PRECIPITATION = 1 << 18
    IMPLAUSIBLE_TEMPERATURE = 1 << 19
    OUTSIDE = 1 << 20
    """Not inside any listed province."""
    UNLISTED_PROVINCE = 1 << 21
    """A province-raster code that is neither nodata, nor in ``codes``, nor in ``ignore_codes``."""


RULE_FLAGS: dict[str, Exclusion] = {
    "land_use": Exclusion.LAND_USE,
    "sloping_cropland": Exclusion.SLOPING_CROPLAND,
    "soil": Exclusion.SOIL,
    "aridity": Exclusion.ARIDITY,
    "elevation": Exclusion.ELEVATION,
    "slope": Exclusion.SLOPE,
}


NODATA_FLAGS: dict[str, Exclusion] = {
    "land_use": Exclusion.NODATA_LAND_USE,
    "soil_order": Exclusion.NODATA_SOIL_ORDER,
    "elevation": Exclusion.NODATA_ELEVATION,
    "slope": Exclusion.NODATA_SLOPE,
    "precipitation": Exclusion.NODATA_PRECIPITATION,
    "temperature": Exclusion.NODATA_TEMPERATURE,
}


UNKNOWN_FLAGS: dict[str, Exclusion] = {
    "land_use": Exclusion.UNKNOWN_LAND_USE,
    "soil_order": Exclusion.UNKNOWN_SOIL_ORDER,
}


IMPLAUSIBLE_FLAGS: dict[str, Exclusion] = {
    "elevation": Exclusion.IMPLAUSIBLE_ELEVATION,
    "slope": Exclusion.IMPLAUSIBLE_SLOPE,
    "precipitation": Exclusion.IMPLAUSIBLE_PRECIPITATION,
    "temperature": Exclusion.IMPLAUSIBLE_TEMPERATURE,
}


PLAUSIBLE_LAYERS: tuple[str, ...] = tuple(IMPLAUSIBLE_FLAGS)
"""Continuous layers whose values are checked against ``[plausible_range]`` of the rules."""


ANY_RULE = int(sum(RULE_FLAGS.values()))


ANY_NODATA = int(sum(NODATA_FLAGS.values()))


ANY_UNKNOWN = int(sum(UNKNOWN_FLAGS.values()))


ANY_IMPLAUSIBLE = int(sum(IMPLAUSIBLE_FLAGS.values()))


UNDECIDED_FLAGS = ANY_NODATA | ANY_UNKNOWN | ANY_IMPLAUSIBLE
"""Flags that make a cell undecidable (mask 255) unless a rule excludes it on valid data."""


FLAG_BITS = (1 << 24) - 1


LAND_TYPE_SHIFT = 24


ALL_FLAGS: tuple[Exclusion, ...] = tuple(Exclusion)


FLAG_BIT: dict[Exclusion, np.uint32] = {flag: np.uint32(flag) for flag in Exclusion}


PROVINCE_SHIFT = 32
"""Cell codes carry the province (0 = outside, k = province index + 1) in bits 32-63."""
