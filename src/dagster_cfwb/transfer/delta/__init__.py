"""Delta Lake tables in the lakehouse (delta-rs): atomic writes, merge, history, time travel.

Plain functions over a table URI and its object-store options; the lakehouse resources call them
with their own backend's location and credentials.
"""

from dagster_cfwb.transfer.delta.delta_tables import (
    DeltaConflictError,
    delta_dataset,
    delta_history,
    is_delta_table,
    open_delta,
    optimize_delta,
    read_delta,
    restore_delta,
    vacuum_delta,
)
from dagster_cfwb.transfer.delta.delta_types import delta_schema, evolve_schema
from dagster_cfwb.transfer.delta.delta_write import DELTA_MODES, DeltaWriteResult, write_delta

__all__ = [
    "DELTA_MODES",
    "DeltaConflictError",
    "DeltaWriteResult",
    "delta_dataset",
    "delta_history",
    "delta_schema",
    "evolve_schema",
    "is_delta_table",
    "open_delta",
    "optimize_delta",
    "read_delta",
    "restore_delta",
    "vacuum_delta",
    "write_delta",
]
