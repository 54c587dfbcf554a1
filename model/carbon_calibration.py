"""The two calibrations of the carbon module, and the permanence settings a scenario adds to either.

``equations`` (the default): the printed Richards curve and Eq. 8 as they stand, the unpublished soil schedule
fitted to the study's r_c = 0 soil pool alone (``data/soil_carbon_schedule.toml`` -> ``.csv``). Published
figures used as targets: the soil pool (70.35 % x 374.88 Mt on 102.71 x 10^4 ha); everything else is a
prediction, and the r_c = 0 total is 1.6 % high because the printed curve gives 5.3 % more biomass than the
study's own pool shares imply.

``study``: biomass scaled (Eq. 8 x s) to the study's biomass share of its r_c = 0 total, and the soil schedule
fitted to both published totals (r_c = 0 and 5 %) under the two-parameter tilted shape
omega_i = s' x mean growth_i x e^{kappa (m_i - T/2)} (``data/soil_carbon_schedule_study.toml``). Targets:
374.88 Mt, 70.35 %, 147.60 Mt; every other figure of sections 4 and 5 is a prediction.

Permanence (both calibrations): an annual hazard of loss h and a buffer share b, next to the survival rate
theta in :class:`~afforest.model.carbon.CarbonParameters` (docs/carbon_calibration.md derives them).
"""

from __future__ import annotations

import functools
import math
from enum import StrEnum
from pathlib import Path
from typing import Any

from afforest.data import data_path
from afforest.errors import InputError
from afforest.model.carbon import (
    CarbonParameters,
    SoilCalibration,
    SoilSchedule,
    calibrate_from_provenance,
    check_buffer_share,
    check_loss_hazard,
)

__all__ = [
    "Calibration",
    "CALIBRATION_PROVENANCE",
    "CALIBRATION_TARGETS",
    "calibration_of",
    "calibrated_parameters",
    "carbon_parameters_for",
]


class Calibration(StrEnum):
    """Which published figures the carbon module is fitted to."""

    EQUATIONS = "equations"
    """The printed equations; soil fitted to the r_c = 0 soil pool (the package's default)."""
    STUDY = "study"
    """Biomass scaled to the study's pool shares; soil fitted to both published totals."""


CALIBRATION_PROVENANCE: dict[Calibration, str] = {
    Calibration.EQUATIONS: "soil_carbon_schedule.toml",
    Calibration.STUDY: "soil_carbon_schedule_study.toml",
}
"""The data file that records each calibration's shape and targets."""

CALIBRATION_TARGETS: dict[Calibration, tuple[str, ...]] = {
    Calibration.EQUATIONS: ("soil_carbon_per_surviving_ha",),
    Calibration.STUDY: ("cumulative_sink_rc0", "pool_share_soil", "cumulative_sink_rc5"),
}
"""Published figures (keys of ``published_results.toml``) each calibration is fitted to; the others are
predictions. ``equations`` fits the soil pool only, i.e. the product 70.35 % x 374.88 Mt (stated per hectare)."""


def _calibration(value: Calibration | str) -> Calibration:
    try:
        return Calibration(value)
    except ValueError:
        raise InputError(f"must be one of {[c.value for c in Calibration]}", field="calibration", value=value) from None


def _solve(base: CarbonParameters, path: str) -> tuple[CarbonParameters, SoilCalibration]:
    calibration = calibrate_from_provenance(base, path)
    return base.replace(soil=calibration.schedule, biomass_scale=calibration.biomass_scale), calibration


_cached_solve = functools.lru_cache(maxsize=8)(_solve)


def _study(base: CarbonParameters, path: str) -> tuple[CarbonParameters, SoilCalibration]:
    """The study calibration of ``base``, cached when ``base`` is hashable (a user's growth class may not be)."""
    try:
        hash(base)
    except TypeError:
        return _solve(base, path)
    return _cached_solve(base, path)


def calibration_of(calibration: Calibration | str, base: CarbonParameters, path: str | Path | None = None) -> SoilCalibration:
    """The soil (and biomass) calibration behind ``calibration``, solved from its provenance file."""
    calibration = _calibration(calibration)
    file = Path(path) if path is not None else data_path(CALIBRATION_PROVENANCE[calibration])
    if calibration is Calibration.STUDY:
        return _study(base.replace(biomass_scale=1.0), str(file))[1]
    return calibrate_from_provenance(base.replace(biomass_scale=1.0), file)


def calibrated_parameters(base: CarbonParameters, calibration: Calibration | str) -> CarbonParameters:
    """``base`` (the ``equations`` parameters, as loaded) under ``calibration``; ``equations`` returns ``base``.

    ``study`` solves the biomass scale and the tilted soil schedule from
    ``data/soil_carbon_schedule_study.toml`` (milliseconds, cached per ``base``); growth, BEF, RSR, delta,
    theta, the hazard and the buffer of ``base`` are kept.
    """
    calibration = _calibration(calibration)
    if calibration is Calibration.EQUATIONS:
        return base
    study, _ = _study(base.replace(biomass_scale=1.0), str(data_path(CALIBRATION_PROVENANCE[calibration])))
    return study.replace(loss_hazard_per_yr=base.loss_hazard_per_yr, buffer_share=base.buffer_share)


def carbon_parameters_for(
    base: CarbonParameters,
    calibration: Calibration | str = Calibration.EQUATIONS,
    loss_hazard_per_yr: float | None = None,
    buffer_share: float | None = None,
    survival_rate: float | None = None,
    soil_scale: float | None = None,
) -> CarbonParameters:
    """The carbon parameters a scenario's carbon section asks for: ``calibration`` applied to ``base``, then the
    hazard h (1/yr, in [0, 1)), the buffer share b (in [0, 1)) and the survival rate theta (in (0, 1]) where given
    (None: ``base``'s, from ``data/carbon_parameters.toml``), and the calibration's soil rates times ``soil_scale``
    (> 0; None: 1). A value outside its bounds raises :class:`InputError` naming it."""
    changes: dict[str, Any] = {}
    if loss_hazard_per_yr is not None:
        changes["loss_hazard_per_yr"] = check_loss_hazard(loss_hazard_per_yr, "carbon.loss_hazard_per_yr")
    if buffer_share is not None:
        changes["buffer_share"] = check_buffer_share(buffer_share, "carbon.buffer_share")
    if survival_rate is not None:
        if isinstance(survival_rate, bool) or not 0 < survival_rate <= 1:
            raise InputError("must be in (0, 1] (a share of the planted area)", field="carbon.survival_rate",
                             value=survival_rate)
        changes["survival_rate"] = float(survival_rate)
    params = calibrated_parameters(base, calibration)
    if soil_scale is not None:
        if isinstance(soil_scale, bool) or not (math.isfinite(soil_scale) and soil_scale > 0):
            raise InputError("must be a finite factor > 0", field="carbon.soil_scale", value=soil_scale)
        soil = params.soil
        changes["soil"] = SoilSchedule(soil.period_start_yr, soil.period_end_yr,
                                       tuple(float(soil_scale) * w for w in soil.rate_t_c_per_ha_yr))
    return params.replace(**changes) if changes else params
