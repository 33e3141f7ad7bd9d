"""Synthetic tables shared by the benchmarks (generated in-process, vectorised)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def mixed_table(rows: int, seed: int = 42) -> pa.Table:
    """ints, floats, short and long text, dates, timestamps (with and without zone), booleans, nulls."""
    rng = np.random.default_rng(seed)
    ids = np.arange(rows, dtype=np.int64)
    null_mask = rng.random(rows) < 0.1
    short = pc.binary_join_element_wise("code-", pa.array((ids % 9973).astype(str)), "")
    long_base = "Lorem ipsum dolor sit amet, élève école àéîõü 🎓 " * 3
    long_text = pc.binary_join_element_wise(pa.array(ids.astype(str)), long_base, " ")
    return pa.table(
        {
            "id": ids,
            "amount": pa.array(rng.normal(1000, 250, rows)),
            "qty": pa.array(rng.integers(0, 1000, rows, dtype=np.int32), mask=null_mask),
            "code": short,
            "comment": pa.array(long_text, pa.large_string()).filter(pa.array(np.ones(rows, bool))),
            "day": pa.array((ids % 20000).astype("int32"), pa.int32()).cast(pa.date32()),
            "created_at": pa.array(1_600_000_000_000_000 + ids * 1_000_003, pa.timestamp("us")),
            "seen_at": pa.array(1_600_000_000_000_000 + ids * 7_919, pa.timestamp("us", tz="UTC")),
            "active": pa.array(ids % 3 == 0, mask=null_mask),
        }
    )
