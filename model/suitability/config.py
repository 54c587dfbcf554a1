"""The inputs of one overlay run: a strict TOML config naming the rasters (paths relative to the file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from afforest.data import read_toml
from afforest.errors import InputError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

RASTER_LAYERS: tuple[str, ...] = ("land_use", "soil_order", "elevation", "slope", "precipitation", "temperature")
"""Raster inputs of the overlay (``slope`` optional: derived from ``elevation`` when absent)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerSpec(_Strict):
    """One raster input: its file, and a linear rescaling value x scale + offset (e.g. 0.1 for a
    temperature stored in tenths of a degree). ``nodata`` overrides the file's nodata value."""

    path: Path
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None


class ProvinceSpec(_Strict):
    """Province boundaries: a raster of integer codes with ``codes`` {code: name}, or a GeoJSON file whose
    features carry the name in property ``name_field`` (rasterised at cell centres). Every code of the
    raster (other than its nodata) must be in ``codes`` or in ``ignore_codes`` (cells outside the region,
    e.g. a neighbouring province): an unlisted code is an error, never a silent loss of area."""

    path: Path
    codes: dict[int, str] | None = None
    name_field: str | None = None
    ignore_codes: list[int] = Field(default_factory=list)


class LayersSection(_Strict):
    """The ``[layers]`` table: one raster per input (a bare path or a :class:`LayerSpec`)."""
    land_use: LayerSpec
    soil_order: LayerSpec
    elevation: LayerSpec
    precipitation: LayerSpec = Field(description="annual precipitation, mm")
    temperature: LayerSpec = Field(description="mean annual temperature, deg C")
    slope: LayerSpec | None = Field(None, description="slope in degrees; derived from elevation when absent")

    @field_validator("*", mode="before")
    @classmethod
    def _plain_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


class SuitabilityConfig(_Strict):
    """Inputs of one overlay run (a TOML file; relative paths are relative to it)."""

    layers: LayersSection
    provinces: ProvinceSpec
    rules: Path | None = Field(None, description="rules file; default: the region's, else the study's Table 1")
    region: str | None = Field(None, description="the region (a bundled name or a folder, relative to the config; "
                               "docs/regions.md) whose rules apply and whose zones the province codes must name")
    soil_codes: dict[int, int] | None = Field(
        None, description="raster soil code -> soil-order code of the rules file (codes not listed: unknown)"
    )
    align: Literal["refuse", "land_use"] = Field(
        "refuse", description="refuse layers on other grids, or resample them onto the land-use grid"
    )
    chunk_size: int = Field(2048, ge=16, le=65536, description="cells per chunk side")
    gdal_cache_mb: int = Field(
        64, ge=8, le=65536,
        description="GDAL's raster block cache, MiB. Each chunk is read once, so the cache only needs the tiles "
        "being read; GDAL's default (5 % of RAM) would let resident memory grow with the grid up to that size",
    )
    cell_area: Literal["map", "ground"] = Field(
        "map",
        description="projected grids: 'map' counts each cell at its map area (the study's method), 'ground' "
        "divides it by the projection's areal scale factor at the cell centre (true area on the ellipsoid)",
    )

    @field_validator("provinces", mode="before")
    @classmethod
    def _province_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    def resolved(self, base: Path) -> SuitabilityConfig:
        """A copy with every path made absolute relative to ``base``."""

        def fix(p: Path) -> Path:
            return p if p.is_absolute() else (base / p).resolve()

        layers = {
            name: spec.model_copy(update={"path": fix(spec.path)})
            for name, spec in self.layers
            if spec is not None
        }
        return self.model_copy(
            update={
                "layers": self.layers.model_copy(update=layers),
                "provinces": self.provinces.model_copy(update={"path": fix(self.provinces.path)}),
                "rules": fix(self.rules) if self.rules is not None else None,
            }
        )


def load_suitability_config(path: str | Path, region: str | Path | None = None) -> SuitabilityConfig:
    """Read a suitability config TOML; errors name the file and the key. ``region`` (a folder, relative to the working
    directory, or a bundled region's name) overrides the config's own ``region`` (``afforest suitability --region``)."""
    file = Path(path)
    raw = read_toml(file)
    try:
        config = SuitabilityConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        reason = "missing (a required layer or key)" if err["type"] == "missing" else err["msg"]
        raise InputError(reason, file=file, field=where, value=err.get("input") if err["type"] != "missing" else None) from None
    config = config.resolved(file.parent)
    if (config.provinces.codes is None) == (config.provinces.name_field is None):
        raise InputError("give either codes (province raster) or name_field (GeoJSON)", file=file, field="provinces")
    if config.provinces.ignore_codes:
        if config.provinces.codes is None:
            raise InputError("ignore_codes applies to a province raster (with codes), not to GeoJSON boundaries",
                             file=file, field="provinces.ignore_codes", value=config.provinces.ignore_codes)
        both = sorted(set(config.provinces.ignore_codes) & set(config.provinces.codes))
        if both:
            raise InputError("codes both listed as provinces and ignored; keep each in one place", file=file,
                             field="provinces.ignore_codes", value=both)
    if region is not None:
        given = Path(region)
        config = config.model_copy(update={"region": str(given.resolve()) if given.exists() else str(region)})
    if config.region is not None:
        config = _with_region(config, file)
    return config


def _with_region(config: SuitabilityConfig, file: Path) -> SuitabilityConfig:
    """The region's rules where the config names none; its province codes must name the region's zones."""
    from afforest.data.region import load_region

    assert config.region is not None
    candidate = Path(config.region)
    region = load_region(file.parent / candidate if not candidate.is_absolute() and (file.parent / candidate).exists()
                         else config.region)
    unknown = sorted(set((config.provinces.codes or {}).values()) - set(region.zones))
    if unknown:
        raise InputError(f"province codes name zones the region {region.name!r} does not have; expected some of "
                         f"{list(region.zones)}", file=file, field="provinces.codes", value=unknown[0])
    if config.rules is None and region.file("suitability_rules") is not None:
        config = config.model_copy(update={"rules": region.file("suitability_rules")})
    return config
