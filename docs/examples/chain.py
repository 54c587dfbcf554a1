"""Explore one scenario's whole chain in a notebook (or run this file: ``python docs/examples/chain.py [DIR]``).

inputs -> ESV -> land use -> carbon -> supply curve -> cost-effectiveness, each stage a typed result of
``run_chain``; ``tests/test_chain.py`` runs this example.
"""

import sys
import tempfile
from pathlib import Path

from afforest.chain.stages import run_chain
from afforest.chain.tables import read_netcdf

baseline = run_chain("baseline")
quotas = run_chain("province_quotas")
print(baseline)  # scenario, status, headline area, carbon of the planned path, average cost
print(quotas)

# Tidy tables, one per stage: what does the quota scenario change?
tables = quotas.tables()
print(sorted(tables))
print(tables["allocation"].groupby("province")["area_10k_ha"].sum())
print(tables["carbon_cumulative"].query("planting == 'planned_path'").groupby("carbon_discount_rate")["discounted_sink_mt_co2"].sum())
print(tables["cost_effectiveness"].head())
change = quotas.planned_carbon_mt_co2 - baseline.planned_carbon_mt_co2
print(f"province quotas change the plan's carbon by 2060 by {change:+.1f} Mt CO2")

# Figures (matplotlib Figures: a notebook shows them inline)
figure = quotas.plot_carbon()
quotas.plot_supply_curve()

# Writers: CSV, Parquet and one NetCDF file that reads back as the same tables
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
quotas.to_csv(out / "csv")
quotas.to_parquet(out / "parquet")
quotas.to_netcdf(out / "province_quotas.nc")
print(sorted(read_netcdf(out / "province_quotas.nc")) == sorted(tables))
figure.savefig(out / "carbon.png")
