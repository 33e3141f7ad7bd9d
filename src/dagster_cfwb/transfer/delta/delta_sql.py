"""`delta_scan('azure://...')` in lakehouse SQL, for backends DuckDB's delta extension cannot reach.

DuckDB reads a Delta table with `delta_scan('<table folder>')` (time travel:
`delta_scan('<folder>', version => 3)`). Where the extension is missing or cannot reach the
storage (the `fsspec` engine), each `delta_scan('azure://<path>'[, version => N])` is replaced by a
view over the table's files opened by delta-rs (a lazy Arrow dataset registered in DuckDB), so the
same SQL text works everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["DELTA_SCAN", "DELTA_SCAN_CALL", "register_delta_scans"]

DELTA_SCAN = re.compile(r"\bdelta_scan\s*\(", re.IGNORECASE)
DELTA_SCAN_CALL = re.compile(
    r"\bdelta_scan\s*\(\s*'(?:azure|az)://((?:[^']|'')*)'\s*(?:,\s*version\s*=>\s*(\d+)\s*)?\)",
    re.IGNORECASE,
)


def register_delta_scans(con, sql: str, open_dataset: Callable[[str, int | None], object]) -> str:
    """`sql` with each `delta_scan('azure://path'[, version => N])` replaced by a registered dataset.

    `open_dataset(path, version)` returns an Arrow dataset (or table) for the lakehouse path.
    """
    names: dict[tuple[str, int | None], str] = {}

    def replace(match: re.Match) -> str:
        path = match.group(1).replace("''", "'")
        version = int(match.group(2)) if match.group(2) is not None else None
        key = (path, version)
        if key not in names:
            names[key] = f"cfwb_delta_{len(names)}"
            con.register(names[key], open_dataset(path, version))
        return names[key]

    return DELTA_SCAN_CALL.sub(replace, sql)
