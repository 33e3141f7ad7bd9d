"""Correctness of every method's output: exact row count and an order-independent checksum of all values.

The checksum is DuckDB's `hash()` summed over rows, per column and per whole row, after a canonical
cast by type family (any integer or boolean → HUGEINT, any float → DOUBLE, any timestamp → epoch
microseconds, decimal → its text, blob → decoded text), so two outputs agree when they hold the same
values, whatever integer width or timestamp unit a tool chose. A value that changed (a float through
text, a date turned into a timestamp, a string cut) changes the sum. Columns a tool adds
(`_dlt_load_id`…) are ignored; the types it chose are listed next to the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from peers import attach_mysql, attach_postgres, duckdb_connect


@dataclass
class Parquet:
    glob: str  # one file, or a glob over a folder of Parquet files


@dataclass
class PgTable:
    schema: str
    table: str


@dataclass
class MyTable:
    database: str
    table: str


def _canonical(name: str, duck_type: str) -> str:
    col = '"' + name.replace('"', '""') + '"'
    t = duck_type.upper()
    if t.split("(")[0] in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "BOOLEAN"} or t.startswith(
        "U"
    ):
        return f"CAST({col} AS HUGEINT)"
    if t in {"FLOAT", "DOUBLE", "REAL"}:
        return f"CAST({col} AS DOUBLE)"
    if t.startswith("TIMESTAMP"):
        return f"epoch_us({col})"
    if t.startswith("DECIMAL"):
        return f"CAST({col} AS VARCHAR)"
    if t == "BLOB":
        return f"decode({col})"
    return col


def _relation(con, output, ctx: dict) -> str:
    if isinstance(output, Parquet):
        return f"read_parquet('{output.glob}', union_by_name = true)"
    if isinstance(output, PgTable):
        attach_postgres(con, ctx, "pg")
        return f'pg."{output.schema}"."{output.table}"'
    if isinstance(output, MyTable):
        attach_mysql(con, ctx, output.database, "my")
        return f'my."{output.database}"."{output.table}"'
    con.register("arrow_output", output)  # an Arrow table
    return "arrow_output"


def checksum(output, ctx: dict) -> dict:
    """Row count, whole-row and per-column checksums, and DuckDB types of `output`'s columns."""
    extensions = {PgTable: ("postgres_scanner",), MyTable: ("mysql_scanner",)}.get(type(output), ())
    with duckdb_connect(*extensions) as con:
        relation = _relation(con, output, ctx)
        types = {
            name.lower(): (name, t) for name, t, *_ in con.execute(f"DESCRIBE FROM {relation}").fetchall()
        }
        wanted = ctx.get("columns") or [name for name, _ in types.values()]
        present = [types[c.lower()] for c in wanted if c.lower() in types]
        exprs = [_canonical(name, t) for name, t in present]
        sums = ", ".join(f"CAST(sum(hash({e})) AS VARCHAR)" for e in exprs)
        row = f"CAST(sum(hash({', '.join(exprs)})) AS VARCHAR)" if exprs else "NULL"
        values = con.execute(
            f"SELECT count(*), {row}{', ' + sums if sums else ''} FROM {relation}"
        ).fetchone()
    return {
        "rows": values[0],
        "row_sum": values[1],
        "columns": {name: [t, s] for (name, t), s in zip(present, values[2:], strict=True)},
    }


def _short(duck_type: str) -> str:
    return duck_type.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")


def verdict(check: dict, reference: dict) -> str:
    """`✓` (same rows and values), with the column types that differ from the reference's, or `✗ why`."""
    if not check:
        return "✗ no output"
    if check["rows"] != reference["rows"]:
        return f"✗ {check['rows']:,} rows, expected {reference['rows']:,}"
    mine = {name.lower(): v for name, v in check["columns"].items()}
    bad = [
        name for name, (_, s) in reference["columns"].items() if mine.get(name.lower(), [None, None])[1] != s
    ]
    if bad or check["row_sum"] != reference["row_sum"]:
        shown = ", ".join(
            f"`{n}`" + (f" ({_short(mine[n.lower()][0])})" if n.lower() in mine else " (missing)")
            for n in bad
        )
        return f"✗ values differ: {shown or 'rows mixed'}"
    changed = [
        f"{n} {_short(t)}→{_short(mine[n.lower()][0])}"
        for n, (t, _) in reference["columns"].items()
        if mine[n.lower()][0] != t
    ]
    return "✓" + (f" (types: {', '.join(changed)})" if changed else "")
