"""A region is data: one folder, one manifest (``region.toml``), its tables.

The manifest declares the region's zones (provinces, counties, basins...), its land-use types (the afforestable
ones in their raster-code and table order, the planted type, each mapped to the equivalent-factor ecosystem
classes by the mapping table, converted in merit order: lowest current ESV first) and its tables, each with a
file, a unit and a source. :func:`load_region` validates it with one strict schema (unknown key, wrong type,
missing table, table in the wrong unit: :class:`afforest.errors.InputError` naming file, field and value) and
then reads every table once through the package's loaders under the region's own zones and land types (unknown
zone or type, a land type with no ecosystem-class mapping, totals that disagree), before anything is built.

The bundled regions live in ``afforest/data/regions/<name>/``: ``northwest_china`` (the study, the default; its
manifest points at the study's files in ``afforest/data``) and ``example_basin`` (synthetic, docs/regions.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from afforest.data import data_path, read_toml
from afforest.errors import InputError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "DEFAULT_REGION",
    "MANIFEST_NAME",
    "Region",
    "RegionManifest",
    "bundled_region_dir",
    "bundled_regions",
    "check_policy_names",
    "load_region",
    "region_dir",
    "region_reference",
    "zones_and_land_types",
]

MANIFEST_NAME = "region.toml"
"""File name of a region's manifest inside its folder."""

DEFAULT_REGION = "northwest_china"
"""The bundled region used when none is named: the study's (Wang et al. 2024)."""

# Unit of the value column of each CSV table (the catalog's, data/catalog.toml): a manifest's ``unit`` must match.
_CSV_UNITS: dict[str, str] = {
    "afforestable_area": "10^4 ha",
    "afforestable_area_totals": "10^4 ha",
    "esv": "yuan/(ha yr)",
    "esv_landuse_mapping": "-",
    "equivalent_factors": "standard equivalent",
    "standard_equivalent": "yuan/(standard equivalent ha yr)",
    "direct_costs": "yuan/(ha yr)",
    "soil_carbon_schedule": "t C/(ha yr)",
    "power_sector_fuels": "-",
    "power_technologies": "yuan/MWh",
    "suitability_rules": "-",
    "growth_by_zone": "m^3/ha",
    "grain_statistics": "kg/ha",
}
# TOML tables of documented scalars: each quantity carries its own unit, checked against the study's file of the
# same kind (a quantity of the same name must have the same unit).
_TOML_TABLES: dict[str, str] = {
    "landuse_parameters": "landuse_parameters.toml",
    "carbon_parameters": "carbon_parameters.toml",
    "cost_effectiveness": "cost_effectiveness.toml",
    "published_results": "published_results.toml",
}
_REQUIRED = (
    "afforestable_area", "esv_landuse_mapping", "equivalent_factors", "direct_costs",
    "landuse_parameters", "carbon_parameters", "soil_carbon_schedule", "cost_effectiveness", "power_sector_fuels",
    "power_technologies",
)
_OPTIONAL = ("afforestable_area_totals", "esv", "published_results", "suitability_rules", "growth_by_zone")
_STANDARD_VALUE_TABLES = ("standard_equivalent", "grain_statistics")
"""A region gives exactly one: SV_i per zone, or the grain statistics SV_i is computed from (with the quantity
``national_grain_value``, yuan/ha, in its land-use parameters)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableEntry(_Strict):
    """One table of the region: its file (relative to the manifest), the unit of its values and its source."""

    file: str = Field(min_length=1, description="path relative to the manifest's folder")
    unit: str = Field(min_length=1, description="unit of the table's values ('per quantity' for a TOML of scalars)")
    source: str = Field(min_length=1, description="where the numbers come from")


class RegionSection(_Strict):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    synthetic: bool = Field(description="true: invented numbers (an example), not a study's")
    source: str = Field(min_length=1)


class ZonesSection(_Strict):
    kind: str = Field(min_length=1, description="what a zone is: province, county, basin...")
    names: list[str] = Field(min_length=1, description="the zones, in table order")
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ZonesSection:
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"zone names must be unique, got {self.names}")
        return self


class LandTypesSection(_Strict):
    afforestable: list[str] = Field(min_length=1, description="land types planting may convert, raster code order")
    planted: str = Field(min_length=1, description="the land type planting creates")
    conversion_order: Literal["esv_ascending"] = Field(
        "esv_ascending", description="order of conversion: lowest current ESV first (the merit order)"
    )
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> LandTypesSection:
        if len(set(self.afforestable)) != len(self.afforestable):
            raise ValueError(f"land types must be unique, got {self.afforestable}")
        if self.planted in self.afforestable:
            raise ValueError(f"the planted type {self.planted!r} cannot also be afforestable")
        return self


class RegionManifest(_Strict):
    """The strict schema of ``region.toml``."""

    schema_version: Literal[1] = 1
    region: RegionSection
    zones: ZonesSection
    land_types: LandTypesSection
    tables: dict[str, TableEntry]


@dataclass(frozen=True)
class Region:
    """A validated region: its manifest, folder and every table's resolved path."""

    name: str
    directory: Path
    manifest: RegionManifest
    files: dict[str, Path]

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(self.manifest.zones.names)

    @property
    def zone_kind(self) -> str:
        return self.manifest.zones.kind

    @property
    def afforestable_land_types(self) -> tuple[str, ...]:
        return tuple(self.manifest.land_types.afforestable)

    @property
    def planted_land_type(self) -> str:
        return self.manifest.land_types.planted

    @property
    def land_types(self) -> tuple[str, ...]:
        """Afforestable types then the planted one (the rows of an ESV table)."""
        return (*self.afforestable_land_types, self.planted_land_type)

    @property
    def synthetic(self) -> bool:
        return self.manifest.region.synthetic

    @property
    def manifest_file(self) -> Path:
        return self.directory / MANIFEST_NAME

    def file(self, table: str) -> Path | None:
        """The path of ``table`` (None if the region does not give this optional table)."""
        return self.files.get(table)

    @property
    def is_default(self) -> bool:
        default = bundled_region_dir(DEFAULT_REGION)
        # the same spelling is the same folder; only different spellings need resolving (a system call per part)
        return self.directory == default or self.directory.resolve() == default.resolve()


def bundled_region_dir(name: str) -> Path:
    """Folder of a bundled region (``afforest/data/regions/<name>``)."""
    return data_path("regions") / name


def bundled_regions() -> list[str]:
    """Names of the regions shipped with the package."""
    return sorted(p.name for p in data_path("regions").iterdir() if (p / MANIFEST_NAME).is_file())


def region_dir(region: str | Path | None) -> Path:
    """The folder of ``region``: None (the default region), a bundled region's name, or a folder path."""
    if region is None:
        return bundled_region_dir(DEFAULT_REGION)
    candidate = Path(region)
    if not candidate.exists() and candidate.name in bundled_regions():  # a bundled name (a scenario's is joined
        return bundled_region_dir(candidate.name)  # to the scenario's folder like every path of its [inputs])
    return candidate


def _schema_error(exc: ValidationError, file: Path) -> InputError:
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"]) or "manifest"
    kind = error["type"]
    reason = "unknown key" if kind == "extra_forbidden" else error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    return InputError(f"{reason} (region manifest)", file=file, field=field,
                      value=None if isinstance(value, dict) else value)


def _check_units(manifest: RegionManifest, file: Path) -> None:
    for name in _REQUIRED:
        if name not in manifest.tables:
            raise InputError("missing table (every region gives it; see docs/regions.md)", file=file,
                             field=f"tables.{name}")
    given = [name for name in _STANDARD_VALUE_TABLES if name in manifest.tables]
    if len(given) != 1:
        raise InputError("give exactly one of tables.standard_equivalent (SV_i per zone) and tables.grain_statistics "
                         "(grain yields it is computed from)", file=file, field="tables.standard_equivalent",
                         value=given or None)
    for name, entry in manifest.tables.items():
        if name in _CSV_UNITS:
            if entry.unit != _CSV_UNITS[name]:
                raise InputError(f"table {name!r} must be in {_CSV_UNITS[name]!r} (the loaders read that unit); "
                                 "convert it first", file=file, field=f"tables.{name}.unit", value=entry.unit)
        elif name in _TOML_TABLES:
            if entry.unit != "per quantity":
                raise InputError("a TOML table of scalars gives each quantity's unit: write unit = 'per quantity'",
                                 file=file, field=f"tables.{name}.unit", value=entry.unit)
        else:
            raise InputError(f"unknown table; expected some of {sorted((*_REQUIRED, *_OPTIONAL, *_STANDARD_VALUE_TABLES))}",
                             file=file,
                             field=f"tables.{name}", value=name)


def _check_quantity_units(name: str, path: Path) -> None:
    from afforest.data import load_quantities

    own, study = load_quantities(path), load_quantities(data_path(_TOML_TABLES[name]))
    for key, quantity in own.items():
        if key in study and quantity.unit != study[key].unit:
            raise InputError(f"must be in {study[key].unit!r} (the unit the package reads)", file=path,
                             field=f"{key}.unit", value=quantity.unit)


def _read_manifest(directory: Path) -> tuple[RegionManifest, dict[str, Path]]:
    if not directory.is_dir():
        raise InputError("region folder not found (give the folder that holds region.toml, or a bundled name: "
                         f"{bundled_regions()})", file=directory, field="region", value=str(directory))
    file = directory / MANIFEST_NAME
    if not file.is_file():
        raise InputError(f"missing manifest: a region folder holds {MANIFEST_NAME} (see docs/regions.md)",
                         file=file, field="region", value=str(directory))
    raw = read_toml(file, what="region manifest")
    try:
        manifest = RegionManifest.model_validate(raw)
    except ValidationError as exc:
        raise _schema_error(exc, file) from None
    _check_units(manifest, file)
    files: dict[str, Path] = {}
    for name, entry in manifest.tables.items():
        path = (directory / entry.file).resolve()
        if not path.is_file():
            raise InputError("table file not found (paths are relative to the manifest's folder)", file=file,
                             field=f"tables.{name}.file", value=entry.file)
        files[name] = path
    return manifest, files


def _check_tables(region: Region) -> None:
    """Read every table under the region's zones and land types: the loaders raise naming file, field, value."""
    from afforest.data import (
        check_area_against_initial_area,
        load_afforestable_area,
        load_direct_costs,
        load_esv,
    )
    from afforest.model.esv import (
        load_equivalent_factors,
        load_landuse_mapping,
        region_standard_values,
    )

    for name, path in region.files.items():
        if name in _TOML_TABLES:
            _check_quantity_units(name, path)
    area = load_afforestable_area(region.file("afforestable_area"), region.file("afforestable_area_totals"),
                                  region=region)
    factors = load_equivalent_factors(region.file("equivalent_factors"))
    load_landuse_mapping(region.file("esv_landuse_mapping"), factors, region=region)
    standard = region_standard_values(region)
    missing = [z for z in region.zones if z not in set(standard["province"])]
    unknown = [z for z in standard["province"] if z not in region.zones]
    if missing or unknown:
        raise InputError(f"the standard-equivalent table must give one value per zone {list(region.zones)}"
                         f" (missing {missing}, unknown {unknown})", file=region.file("standard_equivalent") or region.file("grain_statistics"),
                         field="province", value=(missing or unknown)[0])
    if region.file("esv") is not None:
        load_esv(region.file("esv"), region=region)
    if region.file("suitability_rules") is not None:
        _check_rules_land_types(region, region.file("suitability_rules"))
    if region.file("growth_by_zone") is not None:
        from afforest.model.carbon import load_growth_by_zone

        load_growth_by_zone(region.file("growth_by_zone"), region.zones, region.afforestable_land_types)
    load_direct_costs(region.file("direct_costs"))
    from afforest.data import load_quantities

    quantities = load_quantities(region.file("landuse_parameters"))
    if "initial_area" in quantities:
        check_area_against_initial_area(area, float(quantities["initial_area"].value),  # type: ignore[arg-type]
                                        file=region.file("afforestable_area"))
    coefficients = {"unconverted_esv_coefficients", "afforested_esv_coefficients"} & set(quantities)
    if len(coefficients) == 1:
        raise InputError("publish both curves (alpha and beta) or neither", file=region.file("landuse_parameters"),
                         field=next(iter(coefficients)))


def _check_rules_land_types(region: Region, file: Path) -> None:
    """The suitability rules count land under the region's land types (read lightly: the overlay's loader,
    :func:`afforest.model.suitability.load_suitability_rules`, checks the rest when it runs)."""
    from afforest.data import AFFORESTABLE_LAND_TYPES

    raw = read_toml(file, what="suitability rules")
    own = raw.get("land_types", list(AFFORESTABLE_LAND_TYPES))
    if list(own) != list(region.afforestable_land_types):
        raise InputError(f"the rules count land under {own} but the region's land types are "
                         f"{list(region.afforestable_land_types)}: give the rules a land_types list equal to the "
                         "manifest's", file=file, field="land_types", value=own)
    classes = raw.get("land_use", {}).get("classes", []) if isinstance(raw.get("land_use"), dict) else []
    for i, entry in enumerate(classes):
        land_type = entry.get("land_type") if isinstance(entry, dict) else None
        if land_type is not None and land_type not in region.afforestable_land_types:
            raise InputError(f"unknown land type; expected one of {list(region.afforestable_land_types)}",
                             file=file, field=f"land_use.classes[{i}].land_type", value=land_type)


@lru_cache(maxsize=8)
def _cached_region(directory: str, stamp: tuple[tuple[str, int], ...]) -> Region:
    folder = Path(directory)
    manifest, files = _read_manifest(folder)
    region = Region(name=manifest.region.name, directory=folder, manifest=manifest, files=files)
    _check_tables(region)
    return region


def _stamp(directory: Path) -> tuple[tuple[str, int], ...]:
    if not directory.is_dir():
        return ()
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(directory.iterdir()) if p.is_file())


def load_region(region: str | Path | Region | None = None) -> Region:
    """The validated region: None (the default, the study's), a bundled name, or a folder with ``region.toml``.

    Everything is checked here, before anything is built; a region is read once per process (again if a file of
    its folder changes).
    """
    if isinstance(region, Region):
        return region
    directory = region_dir(region).resolve()
    return _cached_region(str(directory), _stamp(directory))


def region_reference(region: str | Path) -> Path:
    """How a scenario records ``region``: a bundled region reached by its name as the bare name (so the scenario's
    digest does not depend on the folder it sits in), anything else as given."""
    given = Path(region)
    return Path(given.name) if not given.exists() and given.name in bundled_regions() else given


def zones_and_land_types(region: str | Path | Region | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(zones, afforestable land types) of ``region``; None: the bundled default region's (read from its manifest
    without validating every table, so that checking a scenario of the default region stays cheap)."""
    if region is None:
        from afforest.data import AFFORESTABLE_LAND_TYPES, PROVINCES

        return PROVINCES, AFFORESTABLE_LAND_TYPES
    loaded = load_region(region)
    return loaded.zones, loaded.afforestable_land_types


def check_policy_names(field: str, names: Any, region: str | Path | Region | None) -> None:
    """Raise ValueError for a name in a scenario's ``[policy]`` field ``field`` (zones, or land types for
    ``direct_cost_multiplier_by_land_type``) that ``region`` does not have (the scenario schema's check)."""
    zones, land_types = zones_and_land_types(region)
    known, what = (land_types, "land type") if field.endswith("_by_land_type") else (zones, "province")
    for name in names:
        if name not in known:
            prefix = f"{field}: " if field.startswith("policy.") else ""
            raise ValueError(f"{prefix}unknown {what} {name!r}; expected one of {list(known)}")


def manifest_field(region: Region, table: str) -> Any:
    """The manifest entry of ``table`` (file, unit, source), for reports."""
    return region.manifest.tables[table]
