"""IO managers: what a Python asset returns, stored in the lakehouse (Parquet files or Delta tables)."""

from dagster_cfwb.io_managers.asset_tables import AssetTable, asset_table
from dagster_cfwb.io_managers.lakehouse_io_manager import LakehouseIOManager

__all__ = ["AssetTable", "LakehouseIOManager", "asset_table"]
