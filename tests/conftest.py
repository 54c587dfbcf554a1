"""Shared fixtures: the study's inputs, loaded once per test session."""

from __future__ import annotations

import pandas as pd
import pytest

from afforest.data import (
    LandUseParameters,
    load_afforestable_area,
    load_esv,
    load_landuse_parameters,
)
from afforest.model.merit_order import landuse_classes


@pytest.fixture(scope="session")
def study_params() -> LandUseParameters:
    return load_landuse_parameters()


@pytest.fixture(scope="session")
def study_area() -> pd.DataFrame:
    return load_afforestable_area()


@pytest.fixture(scope="session")
def study_esv() -> pd.DataFrame:
    return load_esv()


@pytest.fixture(scope="session")
def study_classes(study_area: pd.DataFrame, study_esv: pd.DataFrame, study_params: LandUseParameters) -> pd.DataFrame:
    return landuse_classes(study_area, study_esv, study_params)


@pytest.fixture
def linear_params() -> LandUseParameters:
    """Linear B' and C' (quadratic B, C): Eq. 3 has one root in closed form, the DP is a QP."""
    return LandUseParameters(
        initial_area_10k_ha=100.0,
        financial_discount_rate=0.05,
        planting_cost_intercept_yuan_per_ha=40000.0,
        planting_cost_slope_yuan_per_ha_per_10k_ha_yr=4000.0,
        unconverted_esv_coefficients=(30000.0, -200.0),
        afforested_esv_coefficients=(60000.0, -300.0),
    )
