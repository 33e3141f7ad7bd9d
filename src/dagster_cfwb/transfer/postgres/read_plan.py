"""How each column of a PostgreSQL query result becomes an exact Arrow column (the extract type table).

Before a query is read, its result columns are *described* (the server parses and plans the query
without running it) and each column gets a plan from its type OID and modifier:

* a type with an exact Arrow reading is read natively (`int4` → int32, `numeric(10,2)` →
  decimal128(10, 2), `oid` → uint32, `int4[]` → list<int32>, `timestamptz` → timestamp[us, UTC]…);
* a type without one is sent by the server in PostgreSQL's own text form (`inet`, `interval`,
  ranges, geometric types, composite types…): the query is wrapped as
  `SELECT q."1", q."2"::text … FROM (<query>) AS q("1", "2", …)` so the server does the cast;
* a value the chosen Arrow type cannot hold (`infinity` dates, `NaN` in a `numeric(p,s)`, a
  2-D array in a 1-D list column, `24:00:00`) stops the read with
  `UnrepresentableValueError`, naming the column, its type and the cast to use.

The same plan serves both readers (ADBC and psycopg), so both give the same Arrow type and value.
The text forms are fixed by the session settings in `TEXT_SETTINGS` (`IntervalStyle` is
`postgres_verbose`: DuckDB casts that text back to `INTERVAL` exactly).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.errors import CfwbError
from dagster_cfwb.transfer.exact_cast import record_batch

__all__ = [
    "TEXT_SETTINGS",
    "ColumnPlan",
    "UnrepresentableValueError",
    "describe_query",
    "finish_batch",
    "arrow_schema",
    "check_columns",
    "hidden_columns",
    "plan_column",
    "wrapped_sql",
]

#: Session settings that fix the text form of the columns sent as text (and nothing else). Not
#: `TimeZone`: it gives `ts::date` or `extract(hour FROM ts)` in the query their meaning (the
#: session's, as in any SQL client); timestamptz values are read as UTC instants whatever it is.
TEXT_SETTINGS = {
    "IntervalStyle": "postgres_verbose",
    "DateStyle": "ISO",
    "extra_float_digits": "1",
    "bytea_output": "hex",
}

_CHECK = "__cfwb_check_"
_INT64_MIN = -(2**63)
_MIN_DAY = -2_440_588  # 4714-11-24 BC, PostgreSQL's first date, in days since 1970-01-01
_MIN_US = -210_866_803_200_000_000  # the same instant in microseconds since 1970-01-01
_MAX_TIME_US = 86_399_999_999  # 23:59:59.999999
_MAX_TIMESTAMP = "294247-01-10 04:00:54.775807"  # the last instant an int64 of µs since 1970 holds


class UnrepresentableValueError(CfwbError, ValueError):
    """A value of a PostgreSQL column has no exact form in the column's Arrow type."""


@dataclass(frozen=True)
class ColumnPlan:
    """How one result column is read.

    `adbc_sql` / `psycopg_sql`: the expression the server computes for this column for each
    reader (`{c}` stands for the column), or None to read it as it is. `kind` names the step
    that makes the reader's array exact (see `finish_batch`); `check` is an SQL boolean
    computed next to the column (false → the value is refused); `fields` are the plans of a
    composite's fields, read as hidden columns and put together as an Arrow struct.
    """

    name: str
    pg_type: str
    arrow_type: pa.DataType
    kind: str = "same"
    adbc_sql: str | None = None
    psycopg_sql: str | None = None
    check: str | None = None
    shape: str | None = None  # an int the ADBC reader needs next to the column (2-D arrays)
    fields: tuple[ColumnPlan, ...] = ()  # a composite's fields, read as hidden columns of their own

    def sql(self, reader: str) -> str | None:
        return self.adbc_sql if reader == "adbc" else self.psycopg_sql

    def psycopg_type(self) -> pa.DataType:
        """The Arrow type the psycopg reader builds its column with (before `finish_batch`)."""
        return {
            "text_to": pa.large_string(),
            "date": pa.int32(),
            "timestamp": pa.int64(),
            "time": pa.int64(),
            "struct": pa.bool_(),
        }.get(self.kind, self.arrow_type)


# OID → Arrow type of the types read as they are on both paths.
_NATIVE: dict[int, pa.DataType] = {
    16: pa.bool_(),
    17: pa.large_binary(),
    19: pa.large_string(),  # name
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.large_string(),
    700: pa.float32(),
    701: pa.float64(),
    1042: pa.large_string(),  # char(n), blank-padded as PostgreSQL returns it
    1043: pa.large_string(),
}
# array OID → element OID, for arrays read as Arrow lists
_LISTS = {1000: 16, 1001: 17, 1003: 19, 1005: 21, 1007: 23, 1016: 20, 1009: 25, 1014: 1042, 1015: 1043}
_LISTS.update({1021: 700, 1022: 701})
_TEXT = "{c}::text"
_DATE_INT = (
    "CASE WHEN isfinite({c}) THEN {c} - DATE '1970-01-01' WHEN {c} IS NOT NULL THEN '-2147483648'::int4 END"
)
_TS_INT = (
    "CASE WHEN isfinite({c}) AND {c} <= '%s'::%s THEN (extract(epoch FROM {c}) * 1000000)::int8 "
    "WHEN {c} IS NOT NULL THEN '-9223372036854775808'::int8 END"
)
_ARRAY_CHECK = "coalesce(array_ndims({c}) = 1 AND array_lower({c}, 1) = 1, true)"
_ARRAY2_CHECK = "coalesce(array_ndims({c}) = 2 AND array_lower({c}, 1) = 1 AND array_lower({c}, 2) = 1, true)"
_SHAPE = "__cfwb_shape_"
_FIELD = "__cfwb_field_"
_FIELD_KINDS = ("same", "oid", "text_to", "date", "timestamp", "time")  # no hidden columns of their own


def _numeric_plan(name: str, pg_type: str, typmod: int) -> ColumnPlan:
    precision = ((typmod - 4) >> 16) & 0xFFFF
    scale = (((typmod - 4) & 0x7FF) ^ 1024) - 1024  # 11-bit signed since PostgreSQL 15: numeric(5,-2)
    if typmod >= 4 and scale < 0:  # numeric(5,-2) holds whole numbers of up to 7 digits
        precision, scale = precision - scale, 0
    elif typmod >= 4 and scale > precision:  # numeric(3,5) holds 0.00123: 5 digits, all after the point
        precision = scale
    if typmod < 4 or precision > 76:  # unconstrained (any number of digits) or wider than decimal256
        return ColumnPlan(name, pg_type, pa.large_string(), "text_to", adbc_sql=_TEXT, psycopg_sql=_TEXT)
    target = pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    # the server's text (ADBC's own numeric-to-text writes `nan`), parsed by Arrow's exact decimal cast
    return ColumnPlan(name, pg_type, target, "text_to", adbc_sql=_TEXT, psycopg_sql=_TEXT)


def plan_column(
    name: str, oid: int, typmod: int, pg_type: str, *, ndims: int = 0, money_scale: int = 2
) -> ColumnPlan:
    """The plan of one column from its type OID, modifier and (for a table column) declared dimensions."""
    if oid in _NATIVE:
        return ColumnPlan(name, pg_type, _NATIVE[oid])
    if oid == 1700:
        return _numeric_plan(name, pg_type, typmod)
    if oid == 790:  # money: its numeric value (the text form depends on lc_monetary)
        target = pa.decimal128(19, money_scale)
        return ColumnPlan(
            name, pg_type, target, "text_to", adbc_sql="{c}::numeric::text", psycopg_sql="{c}::numeric::text"
        )
    if oid == 26:
        return ColumnPlan(name, pg_type, pa.uint32(), "oid")
    if oid in (28, 29, 5069):  # xid, cid, xid8: unsigned counters
        target = pa.uint64() if oid == 5069 else pa.uint32()
        return ColumnPlan(name, pg_type, target, "text_to", adbc_sql=_TEXT, psycopg_sql=_TEXT)
    if oid in (114, 3802):  # json, jsonb: the JSON text exactly as PostgreSQL gives it
        return ColumnPlan(name, pg_type, pa.large_string(), "text_to", psycopg_sql=_TEXT)
    if oid == 2950:  # uuid: its canonical text form
        return ColumnPlan(name, pg_type, pa.large_string(), "text_to", adbc_sql=_TEXT, psycopg_sql=_TEXT)
    if oid == 1082:
        return ColumnPlan(name, pg_type, pa.date32(), "date", psycopg_sql=_DATE_INT)
    if oid in (1114, 1184):
        tz = "UTC" if oid == 1184 else None
        bound = (_MAX_TIMESTAMP + "+00", "timestamptz") if tz else (_MAX_TIMESTAMP, "timestamp")
        return ColumnPlan(name, pg_type, pa.timestamp("us", tz=tz), "timestamp", psycopg_sql=_TS_INT % bound)
    if oid == 1083:
        return ColumnPlan(
            name, pg_type, pa.time64("us"), "time", psycopg_sql="(extract(epoch FROM {c}) * 1000000)::int8"
        )
    if oid in _LISTS and ndims <= 1:
        target = pa.list_(_NATIVE[_LISTS[oid]])
        return ColumnPlan(name, pg_type, target, "list", check=_ARRAY_CHECK)
    if oid in _LISTS and ndims == 2:  # declared `int[][]`: ADBC flattens, reshaped by each row's width
        target = pa.list_(pa.list_(_NATIVE[_LISTS[oid]]))
        return ColumnPlan(name, pg_type, target, "list2", check=_ARRAY2_CHECK, shape="array_length({c}, 2)")
    if oid == 869:  # inet: `::text` would add /32; abbrev() is inet's own output function
        sql = "abbrev({c})"
        return ColumnPlan(name, pg_type, pa.large_string(), "text_to", adbc_sql=sql, psycopg_sql=sql)
    # everything else ("char", cidr, interval, ranges, geometric, bit, xml, enum, composite, tsvector, …):
    # PostgreSQL's own text form, cast by the server
    return ColumnPlan(name, pg_type, pa.large_string(), "text_to", adbc_sql=_TEXT, psycopg_sql=_TEXT)


_DESCRIBE_TYPES = (
    "SELECT format_type(u.t, nullif(u.m, -1)), coalesce(a.attndims, 0), "
    "(SELECT scale('0'::money::numeric)), t.typtype::text, t.typrelid "
    "FROM unnest(%s::oid[], %s::int4[], %s::oid[], %s::int2[]) WITH ORDINALITY AS u(t, m, tbl, col, n) "
    "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = u.tbl AND a.attnum = u.col AND u.tbl <> 0 "
    "LEFT JOIN pg_catalog.pg_type t ON t.oid = u.t "
    "ORDER BY u.n"
)
# the fields of composite types (a domain field as its base type)
_DESCRIBE_FIELDS = (
    "SELECT a.attrelid, a.attname, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, "
    "CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END, format_type(a.atttypid, nullif(a.atttypmod, -1)) "
    "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "WHERE a.attrelid = ANY(%s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum"
)


def _struct_plan(column: ColumnPlan, fields: list[ColumnPlan]) -> ColumnPlan:
    """A composite column as an Arrow struct, when every field reads without hidden columns."""
    if not fields or any(f.kind not in _FIELD_KINDS or f.check or f.shape for f in fields):
        return column  # its text form
    target = pa.struct([pa.field(f.name, f.arrow_type) for f in fields])
    present = "num_nulls({c}) = 0"  # not `{c} IS NULL`: true for a row whose fields are all NULL
    return ColumnPlan(column.name, column.pg_type, target, "struct", present, present, fields=tuple(fields))


def describe_query(conn, sql: str) -> list[ColumnPlan] | None:
    """Plan the result columns of `sql` (no placeholders left) without running it.

    Returns None for a statement without a result description (`SHOW`, DDL…), which is then read
    as it is. Raises the server's error (as a psycopg exception) when the query is invalid.
    """
    import psycopg

    encoding = conn.info.encoding
    with conn.lock:
        result = conn.pgconn.prepare(b"", sql.encode(encoding))
        if result.status == psycopg.pq.ExecStatus.FATAL_ERROR:
            raise psycopg.errors.error_from_result(result, encoding=encoding)
        desc = conn.pgconn.describe_prepared(b"")
    if desc.status == psycopg.pq.ExecStatus.FATAL_ERROR:
        raise psycopg.errors.error_from_result(desc, encoding=encoding)
    if not desc.nfields:
        return None
    fields = range(desc.nfields)
    names = [desc.fname(i).decode(encoding) for i in fields]
    oids, mods = [desc.ftype(i) for i in fields], [desc.fmod(i) for i in fields]
    tables, cols = [desc.ftable(i) for i in fields], [desc.ftablecol(i) for i in fields]
    with conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:
        rows = cur.execute(_DESCRIBE_TYPES, [oids, mods, tables, cols]).fetchall()
        composites = sorted({rel for _, _, _, kind, rel in rows if kind == "c"})
        members: dict[int, list[ColumnPlan]] = {}  # the fields of each composite type
        if composites:
            scale = int(rows[0][2])
            for rel, name, oid, mod, pg_type in cur.execute(_DESCRIBE_FIELDS, [composites]).fetchall():
                members.setdefault(rel, []).append(plan_column(name, oid, mod, pg_type, money_scale=scale))
    plan = []
    for n, o, m, (pg_type, dims, scale, kind, rel) in zip(names, oids, mods, rows, strict=True):
        column = plan_column(n, o, m, pg_type, ndims=dims, money_scale=int(scale))
        plan.append(_struct_plan(column, members.get(rel, [])) if kind == "c" else column)
    return plan


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def hidden_columns(plan: list[ColumnPlan], reader: str) -> list[tuple[str, str, pa.DataType]]:
    """The columns computed next to the planned ones: `(name, SQL expression, psycopg Arrow type)`."""
    hidden = []
    for i, p in enumerate(plan, 1):
        column = f'q."{i}"'
        if p.check:
            hidden.append((f"{_CHECK}{i}", p.check.replace("{c}", column), pa.bool_()))
        if p.shape and reader == "adbc":
            hidden.append((f"{_SHAPE}{i}", p.shape.replace("{c}", column), pa.int32()))
        for j, f in enumerate(p.fields, 1):
            field = f"({column}).{_quote(f.name)}"
            hidden.append(
                (f"{_FIELD}{i}_{j}", (f.sql(reader) or "{c}").replace("{c}", field), f.psycopg_type())
            )
    return hidden


def wrapped_sql(sql: str, plan: list[ColumnPlan], reader: str) -> str:
    """`sql` wrapped so the server computes each column's expression and checks (unchanged when none)."""
    hidden = hidden_columns(plan, reader)
    if not hidden and not any(p.sql(reader) for p in plan):
        return sql
    select = []
    for i, p in enumerate(plan, 1):
        expression = (p.sql(reader) or "{c}").replace("{c}", f'q."{i}"')
        select.append(f"{expression} AS {_quote(p.name)}")
    select += [f'{expression} AS "{name}"' for name, expression, _ in hidden]
    aliases = ", ".join(f'"{i}"' for i in range(1, len(plan) + 1))
    return f"SELECT {', '.join(select)} FROM ({sql}\n) AS q({aliases})"  # names quoted


def _refuse(p: ColumnPlan, holds: str, arrow: str, cast: str) -> UnrepresentableValueError:
    c = _quote(p.name)
    return UnrepresentableValueError(
        f"PostgreSQL column `{p.name}` ({p.pg_type}) holds {holds}, which {arrow} cannot hold exactly. "
        f"Cast it in the query, e.g. `{cast.format(c=c)}`, or read it as text with `{c}::text`."
    )


def _storage(array: pa.Array) -> pa.Array:
    return array.storage if isinstance(array.type, pa.BaseExtensionType) else array


def _as_int(array: pa.Array, width: pa.DataType) -> pa.Array:
    return array if array.type == width else array.view(width)


def _finish(p: ColumnPlan, array: pa.Array) -> pa.Array:
    array = _storage(array)
    kind = p.kind
    if kind == "oid":
        return array.view(pa.uint32()) if pa.types.is_int32(array.type) else array.cast(pa.uint32())
    if kind == "text_to":
        try:
            return pc.cast(array, p.arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            bad = next((v for v in array.to_pylist() if v is not None and not _is_decimal_text(v)), None)
            if pa.types.is_decimal(p.arrow_type) and bad is not None:
                raise _refuse(p, f"`{bad}`", f"Arrow {p.arrow_type}", "NULLIF({c}, 'NaN')") from e
            raise
    if kind == "date":
        days = _as_int(array, pa.int32())
        low = pc.min(days).as_py()
        if low is not None and low < _MIN_DAY:
            raise _refuse(
                p, "`infinity` or `-infinity`", "an Arrow date32", "CASE WHEN isfinite({c}) THEN {c} END"
            )
        return days.view(pa.date32())
    if kind == "timestamp":
        micros = _as_int(array, pa.int64())
        low = pc.min(micros).as_py()
        if low is not None and low < _MIN_US:
            raise _refuse(
                p,
                "`infinity`, `-infinity` or an instant after 294246 AD",
                f"an Arrow {p.arrow_type}",
                "CASE WHEN isfinite({c}) THEN {c} END",
            )
        return micros.view(p.arrow_type)
    if kind == "time":
        micros = _as_int(array, pa.int64())
        high = pc.max(micros).as_py()
        if high is not None and high > _MAX_TIME_US:
            raise _refuse(p, "`24:00:00`", "an Arrow time64", "NULLIF({c}, '24:00')")
        return micros.view(pa.time64("us"))
    return array if array.type == p.arrow_type else array.cast(p.arrow_type)


def _is_decimal_text(value: str) -> bool:
    return value.replace(".", "", 1).lstrip("-").isdigit()


def _reshape(flat: pa.ListArray, widths: pa.Array) -> pa.ListArray:
    """A flattened 2-D array column (ADBC's reading) back to list<list<T>>, from each row's width."""
    int32 = pa.int32()
    offsets = flat.offsets
    start = offsets[0].as_py()
    lengths = pc.subtract(offsets[1:], offsets[:-1])
    width = pc.fill_null(widths.cast(int32), 0)
    counts = pc.if_else(pc.greater(width, 0), pc.divide(lengths, pc.max_element_wise(width, 1)), 0)
    outer = pa.concat_arrays([pa.array([0], int32), pc.cumulative_sum(counts).cast(int32)])
    total = outer[-1].as_py()
    rows = pc.list_parent_indices(pa.ListArray.from_arrays(outer, pa.nulls(total, pa.int8())))
    ends = pc.add(pc.cumulative_sum(pc.take(width, rows)), start).cast(int32)
    inner = pa.ListArray.from_arrays(pa.concat_arrays([pa.array([start], int32), ends]), flat.values)
    return pa.ListArray.from_arrays(outer, inner, mask=flat.is_null())


def _struct(p: ColumnPlan, present: pa.Array, fields: list[pa.Array]) -> pa.StructArray:
    try:
        arrays = [_finish(f, a) for f, a in zip(p.fields, fields, strict=True)]
    except UnrepresentableValueError as e:
        raise UnrepresentableValueError(f"In composite column `{p.name}` ({p.pg_type}): {e}") from e
    return pa.StructArray.from_arrays(arrays, fields=list(p.arrow_type), mask=pc.invert(present))


def check_columns(plan: list[ColumnPlan], columns: dict[str, pa.Array]) -> None:
    """Refuse the batch when a check column (by name, as in the wrapped query) holds a false."""
    for i, p in enumerate(plan, 1):
        ok = columns.get(f"{_CHECK}{i}")
        if ok is not None and len(ok) and not pc.all(ok).as_py():
            dims = "2-D" if p.kind == "list2" else "1-D"
            raise _refuse(
                p,
                f"an array that is not {dims} or whose index does not start at 1",
                f"an Arrow {p.arrow_type}",
                "array_to_json({c})",
            )


def finish_batch(plan: list[ColumnPlan], batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """Make a reader's batch exact (see `ColumnPlan`): check, convert, drop the check columns.

    Raises:
        UnrepresentableValueError: a value has no exact form in its column's Arrow type.
    """
    hidden = dict(zip(batch.schema.names[len(plan) :], batch.columns[len(plan) :], strict=True))
    check_columns(plan, hidden)
    arrays = []
    for i, p in enumerate(plan, 1):
        if p.kind == "list2" and f"{_SHAPE}{i}" in hidden:
            arrays.append(_reshape(batch.column(i - 1), hidden[f"{_SHAPE}{i}"]).cast(p.arrow_type))
        elif p.kind == "struct":
            arrays.append(
                _struct(
                    p, batch.column(i - 1), [hidden[f"{_FIELD}{i}_{j}"] for j in range(1, len(p.fields) + 1)]
                )
            )
        else:
            arrays.append(_finish(p, batch.column(i - 1)))
    return record_batch(arrays, schema)


def arrow_schema(plan: list[ColumnPlan]) -> pa.Schema:
    """The Arrow schema of the batches read with `plan`."""
    return pa.schema([pa.field(p.name, p.arrow_type) for p in plan])
