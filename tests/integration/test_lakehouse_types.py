"""Every Arrow type through the lakehouse: written, read back by DuckDB, exact — or refused before writing.

One row per Arrow type (`CASES`): sample values with extremes and NULL, the expected outcome, and
the Arrow type DuckDB reads back. Every case runs on the local backend; `AZURE_CASES` on Azurite.
`docs/lakehouse.md` carries the same table (checked by `test_doc_table_matches_the_cases`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

D = decimal.Decimal
UTC = dt.UTC
I64 = 2**63 - 1
DOC = Path(__file__).resolve().parents[2] / "docs" / "lakehouse.md"


@dataclass(frozen=True)
class Case:
    label: str  # as in the doc table
    array: pa.Array  # sample values, extremes and NULL included
    outcome: str  # "exact" or "refused"
    read_as: str  # Arrow type DuckDB returns, or the exception raised at write time

    @property
    def id(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.label.lower()).strip("_")


def _ints(t: pa.DataType) -> pa.Array:
    info = np.iinfo(t.to_pandas_dtype())
    return pa.array([int(info.min), int(info.max), 0, None], t)


def _floats(t: pa.DataType) -> pa.Array:
    info = np.finfo(np.float16 if t == pa.float16() else t.to_pandas_dtype())
    values = [float(info.min), float(info.max), float(info.tiny), -0.0, math.nan, math.inf, -math.inf, 0.0]
    mask = np.array([False] * (len(values) - 1) + [True])
    return pa.array(np.array(values, dtype=info.dtype), type=t, mask=mask)


def _decimals(t: pa.DataType) -> pa.Array:
    digits = "9" * t.precision
    top = D(f"{digits[: t.precision - t.scale] or 0}.{digits[t.precision - t.scale :]}")
    return pa.array([top, top.copy_negate(), D(0), None], t)


def _ts(unit: str, tz: str | None) -> pa.Array:
    if unit == "ns":
        return pa.array([-I64, I64, 1_000, 0, None], pa.timestamp("ns", tz))
    end = dt.datetime(9999, 12, 31, 23, 59, 59, {"s": 0, "ms": 999_000, "us": 999_999}[unit])
    values = [dt.datetime(1, 1, 1), end, dt.datetime(1970, 1, 1), None]
    if tz:
        values = [v.replace(tzinfo=UTC) if v else None for v in values]
    return pa.array(values, pa.timestamp(unit, tz))


def _uuid() -> pa.Array:
    ids = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.uuid4()]
    return pa.array([u.bytes for u in ids] + [None], pa.binary(16)).cast(pa.uuid())


STRINGS = ["", "élève 🎓", "a\x00b", "x" * 10_000, None]
BYTES = [b"", b"\x00\xff", b"y" * 10_000, None]
DAYS = [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1970, 1, 1), None]
TIMES = [dt.time(0), dt.time(23, 59, 59), dt.time(12, 30), None]
STRUCT = pa.struct([("a", pa.int32()), ("b", pa.string())])


def _cases() -> list[Case]:
    cases = [Case(str(t), _ints(t), "exact", str(t)) for t in (
        pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()
    )]  # fmt: skip
    cases += [
        Case("halffloat", _floats(pa.float16()), "exact", "float"),
        Case("float", _floats(pa.float32()), "exact", "float"),
        Case("double", _floats(pa.float64()), "exact", "double"),
        Case("bool", pa.array([True, False, None]), "exact", "bool"),
        Case("string", pa.array(STRINGS, pa.string()), "exact", "string"),
        Case("large_string", pa.array(STRINGS, pa.large_string()), "exact", "string"),
        Case("string_view", pa.array(STRINGS, pa.string_view()), "exact", "string"),
        Case("binary", pa.array(BYTES, pa.binary()), "exact", "binary"),
        Case("large_binary", pa.array(BYTES, pa.large_binary()), "exact", "binary"),
        Case("binary_view", pa.array(BYTES, pa.binary_view()), "exact", "binary"),
        Case(
            "fixed_size_binary[3]", pa.array([b"\0\0\0", b"\xff" * 3, None], pa.binary(3)), "exact", "binary"
        ),
        Case("date32[day]", pa.array(DAYS, pa.date32()), "exact", "date32[day]"),
        Case("date64[ms]", pa.array(DAYS, pa.date64()), "exact", "date32[day]"),
        Case("time32[s]", pa.array(TIMES, pa.time32("s")), "exact", "time64[us]"),
        Case(
            "time32[ms]",
            pa.array(TIMES[:1] + [dt.time(23, 59, 59, 999_000), None], pa.time32("ms")),
            "exact",
            "time64[us]",
        ),  # fmt: skip
        Case(
            "time64[us]",
            pa.array(TIMES[:1] + [dt.time(23, 59, 59, 999_999), None], pa.time64("us")),
            "exact",
            "time64[us]",
        ),  # fmt: skip
        Case(
            "time64[ns], whole microseconds",
            pa.array([0, 86_399_999_999_000, None], pa.time64("ns")),
            "exact",
            "time64[us]",
        ),  # fmt: skip
        Case(
            "time64[ns], with nanoseconds", pa.array([0, 1, None], pa.time64("ns")), "refused", "ValueError"
        ),
        Case(
            "time32[s] beyond 24:00:00", pa.array([0, 90_000, None], pa.time32("s")), "refused", "ValueError"
        ),
    ]
    for unit in ("s", "ms", "us"):
        for tz in (None, "UTC", "Europe/Brussels", "+02:00"):
            label = f"timestamp[{unit}" + (f", tz={tz}]" if tz else "]")
            cases.append(
                Case(label, _ts(unit, tz), "exact", "timestamp[us" + (", tz=Etc/UTC]" if tz else "]"))
            )
    cases += [
        Case("timestamp[ns]", _ts("ns", None), "exact", "timestamp[ns]"),
        Case(
            "timestamp[ns, tz=UTC], whole microseconds",
            pa.array([-(I64 // 1000 * 1000), I64 // 1000 * 1000, 0, None], pa.timestamp("ns", "UTC")),
            "exact",
            "timestamp[us, tz=Etc/UTC]",
        ),  # fmt: skip
        Case(
            "timestamp[ns, tz=Europe/Brussels], with nanoseconds",
            _ts("ns", "Europe/Brussels"),
            "refused",
            "ValueError",
        ),  # fmt: skip
        Case(
            "timestamp[ms] beyond DuckDB's ±290,000 years",
            pa.array([I64, None], pa.timestamp("ms")),
            "refused",
            "ValueError",
        ),  # fmt: skip
        Case("decimal32(9, 2)", _decimals(pa.decimal32(9, 2)), "exact", "decimal128(9, 2)"),
        Case("decimal64(18, 4)", _decimals(pa.decimal64(18, 4)), "exact", "decimal128(18, 4)"),
        Case(
            "decimal128(p, s), p = 1..38", pa.array([D(0)], pa.decimal128(1, 0)), "exact", "decimal128(p, s)"
        ),
        Case("decimal256(38, 10)", _decimals(pa.decimal256(38, 10)), "exact", "decimal128(38, 10)"),
        Case("decimal256(60, 20)", _decimals(pa.decimal256(60, 20)), "refused", "TypeError"),
        Case("decimal256(76, 0)", _decimals(pa.decimal256(76, 0)), "refused", "TypeError"),
        Case(
            "decimal128(5, -2) (negative scale)",
            pa.array([D("1.23E+4"), None], pa.decimal128(5, -2)),
            "refused",
            "TypeError",
        ),  # fmt: skip
        Case(
            "decimal128(3, 5) (scale above precision)",
            pa.array(["0.00999", "-0.00123", None]).cast(pa.decimal128(3, 5)),
            "exact",
            "decimal128(5, 5)",
        ),  # fmt: skip
    ]
    for unit in ("s", "ms", "us", "ns"):
        cases.append(
            Case(f"duration[{unit}]", pa.array([0, -1, I64, None], pa.duration(unit)), "refused", "TypeError")
        )
    cases += [
        Case(
            "month_day_nano_interval",
            pa.array([(1, 2, 3), None], pa.month_day_nano_interval()),
            "refused",
            "TypeError",
        ),  # fmt: skip
        Case("null", pa.nulls(3), "exact", "string"),
        Case(
            "dictionary<values=string, indices=int8>",
            pa.array(["b", None, "a", "b"]).dictionary_encode().cast(pa.dictionary(pa.int8(), pa.string())),
            "exact",
            "string",
        ),  # fmt: skip
        Case(
            "run_end_encoded<int64>",
            pa.RunEndEncodedArray.from_arrays([2, 3, 5], [7, None, I64]),
            "exact",
            "int64",
        ),  # fmt: skip
        Case("list<int32>", pa.array([[1, None], [], None], pa.list_(pa.int32())), "exact", "list<l: int32>"),
        Case(
            "large_list<string>",
            pa.array([["a", None], [], None], pa.large_list(pa.string())),
            "exact",
            "list<l: string>",
        ),  # fmt: skip
        Case(
            "fixed_size_list<int64>[2]",
            pa.array([[1, I64], [None, 0], None], pa.list_(pa.int64(), 2)),
            "exact",
            "list<l: int64>",
        ),  # fmt: skip
        Case(
            "list_view<int32>",
            pa.array([[1, 2], None, [3]], pa.list_view(pa.int32())),
            "exact",
            "list<l: int32>",
        ),  # fmt: skip
        Case(
            "list<timestamp[ns, tz=UTC]>, whole microseconds",
            pa.array([[0, 1_000], None], pa.list_(pa.timestamp("ns", "UTC"))),
            "exact",
            "list<l: timestamp[us, tz=Etc/UTC]>",
        ),  # fmt: skip
        Case(
            "list<decimal256(50, 2)>",
            pa.array([[D(1)]], pa.list_(pa.decimal256(50, 2))),
            "refused",
            "TypeError",
        ),
        Case(
            "struct<a: int32, b: string>",
            pa.array([{"a": 1, "b": "x"}, {"a": None, "b": None}, None], STRUCT),
            "exact",
            "struct<a: int32, b: string>",
        ),  # fmt: skip
        Case(
            "struct<d: duration[s]>",
            pa.array([{"d": 1}], pa.struct([("d", pa.duration("s"))])),
            "refused",
            "TypeError",
        ),  # fmt: skip
        Case("struct<> (no fields)", pa.array([{}, None], pa.struct([])), "refused", "TypeError"),
        Case(
            "map<string, int32>",
            pa.array([[("a", 1), ("b", None)], [], None], pa.map_(pa.string(), pa.int32())),
            "exact",
            "map<string, int32>",
        ),  # fmt: skip
        Case("extension<arrow.uuid>", _uuid(), "exact", "string"),
        Case("extension<arrow.json>", pa.array(['{"a": [1, null]}', None], pa.json_()), "exact", "string"),
        Case(
            "extension<arrow.bool8>",
            pa.array([1, 0, None], pa.int8()).cast(pa.bool8()),
            "refused",
            "TypeError",
        ),
        Case(
            "dense_union<int32, string>",
            pa.UnionArray.from_dense(
                pa.array([0, 1], pa.int8()), pa.array([0, 0], pa.int32()), [pa.array([1]), pa.array(["a"])]
            ),
            "refused",
            "TypeError",
        ),  # fmt: skip
    ]
    return cases


CASES = _cases()
AZURE_CASES = [
    c for c in CASES if c.label in (
        "uint64", "string_view", "decimal256(38, 10)", "decimal256(60, 20)", "timestamp[ns]",
        "timestamp[ns, tz=Europe/Brussels], with nanoseconds", "timestamp[us, tz=Europe/Brussels]",
        "duration[s]", "extension<arrow.uuid>", "map<string, int32>", "struct<a: int32, b: string>",
        "list_view<int32>",
    )
]  # fmt: skip


# -- comparing values exactly ----------------------------------------------------------------------
_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def _canonical(array: pa.Array) -> list:
    """Python values that are equal only if the Arrow values are (units, NaN, -0.0 and UUIDs included)."""
    t = array.type
    if pa.types.is_dictionary(t):
        return _canonical(array.dictionary_decode())
    if pa.types.is_run_end_encoded(t):
        return _canonical(pc.run_end_decode(array))
    if isinstance(t, pa.UuidType):
        return [None if v is None else str(v) for v in array.to_pylist()]
    if isinstance(t, pa.BaseExtensionType):
        return _canonical(array.storage)
    if pa.types.is_timestamp(t) or pa.types.is_time(t):
        ints = array.cast(pa.int32() if t.bit_width == 32 else pa.int64())
        return [None if v is None else v * _NS[t.unit] for v in ints.to_pylist()]
    if pa.types.is_date32(t) or pa.types.is_date64(t):
        return array.cast(pa.date32()).cast(pa.int32()).to_pylist()
    if pa.types.is_floating(t):
        return [None if v is None else float(v).hex() for v in array.cast(pa.float64()).to_pylist()]
    if pa.types.is_struct(t):
        children = [_canonical(array.field(i)) for i in range(t.num_fields)]
        valid = array.is_valid().to_pylist()
        return [tuple(c[i] for c in children) if valid[i] else None for i in range(len(array))]
    if pa.types.is_map(t):
        keys, items = _canonical(array.keys), _canonical(array.items)
        return _split(array, list(zip(keys, items, strict=True)))
    if any(
        f(t)
        for f in (
            pa.types.is_list,
            pa.types.is_large_list,
            pa.types.is_fixed_size_list,
            pa.types.is_list_view,
            pa.types.is_large_list_view,
        )
    ):
        return _split(array, _canonical(array.flatten()))
    return array.to_pylist()


def _split(array: pa.Array, flat: list) -> list:
    out, start = [], 0
    if pa.types.is_map(array.type):
        offsets = array.offsets.to_pylist()
        valid = array.is_valid().to_pylist()
        lengths = [b - a if ok else None for a, b, ok in zip(offsets, offsets[1:], valid, strict=False)]
    else:
        lengths = pc.list_value_length(array).to_pylist()
    for length in lengths:
        out.append(None if length is None else flat[start : start + length])
        start += length or 0
    return out


def _duckdb_time_zone() -> str:
    import duckdb

    with duckdb.connect() as con:
        return con.execute("SELECT current_setting('TimeZone')").fetchone()[0]


# -- the cases, on each backend ---------------------------------------------------------------------
def _check(lake, case: Case, path: str, *, every_reader: bool = True) -> None:
    table = pa.table({"c": case.array, "row": pa.array(range(len(case.array)), pa.int32())})
    if case.outcome == "refused":
        error = TypeError if case.read_as == "TypeError" else ValueError
        with pytest.raises(error) as err:
            lake.write_table(table, path)
        message = str(err.value)
        assert f"`{path}`" in message and "`c" in message and "Nothing was written" in message, message
        assert not lake.exists(path)
        return
    lake.write_table(table, path)
    expected = _canonical(case.array)
    sql = f"SELECT c FROM 'azure://{path}' ORDER BY row"
    queried = lake.query_blob_storage(sql, output="arrow").column("c").combine_chunks()
    t = case.array.type
    assert str(queried.type).replace(f"tz={_duckdb_time_zone()}", "tz=Etc/UTC") == case.read_as.replace(
        "(p, s)", f"({getattr(t, 'precision', 0)}, {getattr(t, 'scale', 0)})"
    )
    assert _canonical(queried) == expected
    streamed = pa.Table.from_batches(list(lake.iter_batches(sql, batch_rows=2))).column("c").combine_chunks()
    assert _canonical(streamed) == expected
    if not every_reader:
        return
    read = lake.read_table(path, output="arrow").sort_by("row").column("c").combine_chunks()
    assert _canonical(read) == expected
    frame = lake.query_blob_storage(sql)  # the default polars output converts too
    assert frame["c"].len() == len(expected) and frame["c"].null_count() == expected.count(None)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_local_type(case, local_lakehouse):
    _check(local_lakehouse, case, f"types/stg/{case.id}.parquet")


@pytest.mark.parametrize("precision", range(1, 39))
def test_local_every_decimal128_precision(precision, tmp_path):
    lake = LocalLakehouseResource(root=str(tmp_path / "lake"))
    scale = precision // 2
    case = Case("decimal128(p, s), p = 1..38", _decimals(pa.decimal128(precision, scale)), "exact",
                f"decimal128({precision}, {scale})")  # fmt: skip
    _check(lake, case, f"types/stg/decimal_{precision}.parquet")


_FSSPEC = ("timestamp[ns]", "decimal256(38, 10)", "extension<arrow.uuid>", "map<string, int32>")
AZURE_RUNS = [(c, "native") for c in AZURE_CASES] + [(c, "fsspec") for c in AZURE_CASES if c.label in _FSSPEC]


@pytest.mark.azurite
@pytest.mark.parametrize(("case", "engine"), AZURE_RUNS, ids=[f"{c.id}-{e}" for c, e in AZURE_RUNS])
def test_azurite_type(case, engine, azurite):
    lake = AzureAdlsResource(connection_string=azurite, container=f"lakehouse-types-{engine}", engine=engine)
    _check(lake, case, f"types/stg/{case.id}.parquet", every_reader=False)  # read_table is SQL underneath


# -- the doc table -------------------------------------------------------------------------------
def _doc_rows() -> dict[str, tuple[str, str]]:
    text = DOC.read_text()
    section = text.split("<!-- lakehouse-types:start -->")[1].split("<!-- lakehouse-types:end -->")[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = (
                cells[1].strip("*"),
                cells[2].strip("`") if cells[1] == "exact" else "",
            )
    return rows


def test_doc_table_matches_the_cases():
    documented = _doc_rows()
    expected = {c.label: (c.outcome, c.read_as if c.outcome == "exact" else "") for c in CASES}
    assert documented == expected
