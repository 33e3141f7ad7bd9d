"""Which frame an asset returned, and which one a downstream input asks for by its annotation.

Stored: a polars `DataFrame` or `LazyFrame` (collected), a pandas `DataFrame` (with its default
`RangeIndex` only: any other index is refused, since the lakehouse would drop it), a pyarrow
`Table` or `RecordBatchReader`. Loaded, by the input's annotation: `pl.DataFrame` (also no
annotation, `Any`), `pl.LazyFrame`, `pd.DataFrame`, `pa.Table`; `X | None` is read as `X`.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import pyarrow as pa

from dagster_cfwb.transfer.arrow_stream import to_output

__all__ = ["FRAME_KINDS", "frame_kind_for_annotation", "from_arrow", "to_arrow_table"]

FRAME_KINDS = ("polars", "lazy", "pandas", "arrow")
_STORED = "a polars DataFrame or LazyFrame, a pandas DataFrame, a pyarrow Table or RecordBatchReader, or None"
_LOADED = "`pl.DataFrame` (the default), `pl.LazyFrame`, `pd.DataFrame` or `pa.Table`"


def _class_kind(annotation: Any) -> str | None:
    if annotation in (None, Any, object, type(None), typing.Any) or annotation is typing.Any:
        return "polars"
    module = getattr(annotation, "__module__", "").split(".")[0]
    name = getattr(annotation, "__name__", "")
    if module == "polars" and name == "DataFrame":
        return "polars"
    if module == "polars" and name == "LazyFrame":
        return "lazy"
    if module == "pandas" and name == "DataFrame":
        return "pandas"
    if annotation is pa.Table:
        return "arrow"
    return None


def frame_kind_for_annotation(annotation: Any, *, asset: str, input_name: str) -> str:
    """`polars`, `lazy`, `pandas` or `arrow`, from a downstream input's type annotation.

    Raises:
        TypeError: the annotation is none of the supported types (the message lists them).
    """
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            annotation = members[0]
    kind = _class_kind(annotation)
    if kind is None:
        shown = getattr(annotation, "__name__", None) or repr(annotation)
        raise TypeError(
            f"Input `{input_name}` (asset `{asset}`) is annotated `{shown}`; the lakehouse IO manager "
            f"loads {_LOADED}. Change the annotation to one of those, or remove it."
        )
    return kind


def to_arrow_table(value: Any, *, asset: str) -> pa.Table:
    """The Arrow table of what asset `asset` returned.

    Raises:
        TypeError: the value is not a frame the lakehouse IO manager stores.
        ValueError: a pandas DataFrame with an index other than the default `RangeIndex`.
    """
    module = type(value).__module__.split(".")[0]
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pa.RecordBatchReader):
        return value.read_all()
    if module == "polars":
        import polars as pl

        if isinstance(value, pl.LazyFrame):
            value = value.collect()
        if isinstance(value, pl.DataFrame):
            return value.to_arrow()
    if module == "pandas":
        import pandas as pd

        if isinstance(value, pd.DataFrame):
            index = value.index
            default = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
            if not default or index.name is not None:
                raise ValueError(
                    f"Asset `{asset}` returned a pandas DataFrame with an index "
                    f"(`{type(index).__name__}`{f' named `{index.name}`' if index.name else ''}); the "
                    "lakehouse stores columns only, so the index would be lost. Nothing was written. "
                    "Call `df.reset_index()` to keep it as a column, or `df.reset_index(drop=True)` to drop it."
                )
            table = pa.Table.from_pandas(value, preserve_index=False)
            metadata = {k: v for k, v in (table.schema.metadata or {}).items() if k != b"pandas"}
            return table.replace_schema_metadata(metadata or None)
    raise TypeError(
        f"Asset `{asset}` returned a `{type(value).__module__}.{type(value).__name__}`; the lakehouse IO "
        f"manager stores {_STORED}. Nothing was written. Return one of those (None writes nothing), or "
        "give the asset another `io_manager_key`."
    )


def _pandas_nullable(arrow_type: pa.DataType):
    """pandas' nullable dtype for `arrow_type` (`Int64`, `boolean`, `string`), else None (floats: below)."""
    import pandas as pd

    if pa.types.is_integer(arrow_type):
        return pd.api.types.pandas_dtype(str(arrow_type).replace("u", "U").replace("int", "Int"))
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype()
    return None


def _pandas_floats(column: pa.ChunkedArray):
    """The pandas array of a float column when NumPy's `float64` would not keep it, else None.

    pandas reads NaN in a `float64` column as *missing* (and writes it back as null), so: a column
    with NaN gets pandas' Arrow dtype (`double[pyarrow]`, NaN and missing kept apart); one with
    missing values and no NaN gets `Float64`; one with neither stays NumPy `float64`.
    """
    import pandas as pd
    import pyarrow.compute as pc

    has_nan = bool(pc.any(pc.fill_null(pc.is_nan(column), False)).as_py())
    if not has_nan and not column.null_count:
        return None
    if has_nan:
        return pd.array(column, dtype=pd.ArrowDtype(column.type))
    return pd.array(
        column, dtype=pd.Float32Dtype() if pa.types.is_float32(column.type) else pd.Float64Dtype()
    )


def from_arrow(table: pa.Table, kind: str) -> Any:
    """`table` as the frame `kind` (`polars`, `lazy`, `pandas`, `arrow`), values unchanged.

    polars values are checked exact (`transfer/polars_types.py`). pandas gets its nullable dtypes
    (`Int64`, `boolean`, `string`; `Float64` for a float column with missing values), so an integer
    column with a missing value stays integers (NumPy dtypes would make it `float64`); a float
    column holding NaN gets pandas' Arrow dtype `double[pyarrow]`, since pandas takes NaN in a
    NumPy column for a missing value. Written back, every value is the one that was read.
    """
    if kind == "lazy":
        return to_output(table, "polars").lazy()
    if kind == "pandas":
        try:
            import pandas  # noqa: F401
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError(
                "Loading a pandas DataFrame needs pandas: pip install 'dagster-cfwb[pandas]'"
            ) from e
        frame = table.to_pandas(types_mapper=_pandas_nullable)
        for name, column in zip(table.column_names, table.columns, strict=True):
            if pa.types.is_floating(column.type):
                floats = _pandas_floats(column)
                if floats is not None:
                    frame[name] = floats
        return frame
    return to_output(table, kind)
