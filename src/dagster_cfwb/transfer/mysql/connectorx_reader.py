"""Fast path of the MySQL/MariaDB extract: connectorx's Arrow stream, used only where it is exact.

connectorx (Rust, binary protocol) reads MariaDB about twice as fast as our wire reader
(`mysql_extract`), with memory bounded by `batch_size`, but not every type comes back
exactly. Checked against MariaDB 10.11 with connectorx 0.4 (`tests/integration/test_mysql_connectorx.py`,
`tests/integration/test_mysql_type_contract.py`):

* exact: TINYINT…BIGINT signed and unsigned (full ranges; TINYINT(1)/BOOLEAN as the integer it
  holds), YEAR, DOUBLE, DECIMAL up to 28 digits with at most 10 after the point, DATE,
  DATETIME/TIMESTAMP (microseconds, years 1 and 9999), CHAR/VARCHAR/TEXT/ENUM/SET/JSON/INET4/INET6/
  UUID (utf8mb4, emoji, NUL, latin1 columns, empty string vs NULL) and BINARY/VARBINARY/BLOB;
* not exact, so such a query stays on the wire reader: DECIMAL over 28 digits or over 10 decimals
  (connectorx panics or rounds), TIME (it panics on negative or > 24 h values), BIT, NULL-typed
  columns; FLOAT and spatial columns are refused by both readers
  (`mysql_result_types`);
* a zero or invalid date (`0000-00-00`) makes connectorx panic: before the first batch the caller
  falls back to the wire reader, which names the column; later, the error names the candidate columns.

The query is described first by preparing it (`COM_STMT_PREPARE` on our own connection): the
server sends the column definitions it would send for the query, without running it. Only when
every column is in the exact set, and the query has no `%s` values to bind (connectorx binds
none), does connectorx run it; each batch is then cast to exactly the Arrow schema the wire
reader produces, so callers see the same types and values whichever reader ran.
"""

from __future__ import annotations

import re
import secrets as _secrets
import struct
from collections.abc import Iterator
from urllib.parse import quote

import pyarrow as pa

from dagster_cfwb.errors import CfwbError
from dagster_cfwb.transfer.exact_cast import record_batch
from dagster_cfwb.transfer.mysql.result_types import (
    is_date_code,
    mysql_field_to_arrow,
    mysql_result_schema,
    mysql_type_name,
    unreadable_date_error,
)
from dagster_cfwb.transfer.secret_masking import redact

__all__ = [
    "ConnectorxError",
    "ConnectorxValueError",
    "connectorx_url",
    "describe_query",
    "iter_connectorx_batches",
    "not_exact_reason",
]

_COM_STMT_PREPARE, _COM_STMT_CLOSE = 0x16, 0x19
# Protocol type codes connectorx reads exactly (DECIMAL is further limited below).
_EXACT_CODES = {
    0: "DECIMAL",
    1: "TINYINT",
    2: "SMALLINT",
    3: "INT",
    5: "DOUBLE",
    7: "TIMESTAMP",
    8: "BIGINT",
    9: "MEDIUMINT",
    10: "DATE",
    12: "DATETIME",
    13: "YEAR",
    14: "DATE",
    15: "VARCHAR",
    245: "JSON",
    246: "DECIMAL",
    249: "TINYBLOB/TINYTEXT",
    250: "MEDIUMBLOB/MEDIUMTEXT",
    251: "LONGBLOB/LONGTEXT",
    252: "BLOB/TEXT",
    253: "VARCHAR/VARBINARY",
    254: "CHAR/BINARY/ENUM/SET",
}
_MAX_DECIMAL_DIGITS, _MAX_DECIMAL_SCALE = 28, 10  # rust_decimal holds 28 digits; Arrow gets (38, 10)
# What connectorx hands back for each type the wire reader produces.
_CX_DECIMAL = pa.decimal128(38, 10)


def describe_query(conn, sql: str) -> tuple[list, int] | None:
    """Column definitions and placeholder count of `sql`, from preparing it (it is not run).

    Returns None when the server cannot prepare it (several statements, a syntax error, a
    statement MariaDB does not prepare): the caller then keeps the wire reader, which reports
    any real error.
    """
    import pymysql
    from pymysql.protocol import FieldDescriptorPacket

    try:
        conn._execute_command(_COM_STMT_PREPARE, sql)
        head = conn._read_packet().get_all_data()
    except pymysql.err.MySQLError:
        return None
    stmt_id, ncols, nparams = struct.unpack_from("<IHH", head, 1)
    try:
        if nparams:
            for _ in range(nparams + 1):  # parameter definitions, then EOF
                conn._read_packet()
        fields = [conn._read_packet(FieldDescriptorPacket) for _ in range(ncols)]
        if ncols:
            conn._read_packet()  # EOF
    finally:
        conn._execute_command(_COM_STMT_CLOSE, struct.pack("<I", stmt_id))  # no reply
    return fields, nparams


def not_exact_reason(fields) -> str | None:
    """Why connectorx would not give these columns exactly (None: every column is exact)."""
    if not fields:
        return "the statement returns no columns"
    for f in fields:
        kind = _EXACT_CODES.get(f.type_code)
        if kind is None:
            return f"column `{f.name}` is {mysql_type_name(f)}, which connectorx does not read exactly"
        t = mysql_field_to_arrow(f)
        if pa.types.is_decimal(t) and (t.precision > _MAX_DECIMAL_DIGITS or t.scale > _MAX_DECIMAL_SCALE):
            return (
                f"column `{f.name}` is DECIMAL({t.precision},{t.scale}); connectorx is exact up to "
                f"DECIMAL({_MAX_DECIMAL_DIGITS},{_MAX_DECIMAL_SCALE})"
            )
    return None


def connectorx_url(host: str, port: int, user: str, password: str | None, database: str) -> str:
    """connectorx connection URL; user and password are percent-encoded. Never log it."""
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    return f"mysql://{auth}@{host}:{port}/{quote(database or '', safe='')}"


def _expected_cx_type(target: pa.DataType) -> tuple[pa.DataType, ...]:
    if pa.types.is_decimal(target):
        return (_CX_DECIMAL,)
    if pa.types.is_timestamp(target):
        return (pa.timestamp("us"),)
    if pa.types.is_string(target):
        return (pa.string(), pa.large_string())
    if pa.types.is_binary(target):
        return (pa.large_binary(), pa.binary())
    return (target,)


def _cast(array: pa.Array, target: pa.DataType) -> pa.Array:
    if array.type == target:
        return array
    return array.cast(target)  # safe cast: a decimal that would lose a digit raises


class ConnectorxError(CfwbError, RuntimeError):
    """connectorx failed while reading (the message never contains the password)."""


class ConnectorxValueError(ConnectorxError, ValueError):
    """connectorx met a value that is no real date (`0000-00-00`); the message names the column."""


_BAD_DATE = re.compile(
    r"Option<chrono::naive::(?:\w+::)*(NaiveDateTime|NaiveDate)>.*?`Date\(\"'([^']*)'\"\)`"
)


def _bad_date(text: str, fields) -> ConnectorxValueError | None:
    """The refusal of a zero/invalid date, from connectorx's panic message (None: another failure)."""
    found = _BAD_DATE.search(text)
    if found is None:
        return None
    rust_type, value = found.groups()
    candidates = [
        f
        for f in fields
        if is_date_code(f.type_code)
        and pa.types.is_date32(mysql_field_to_arrow(f)) == (rust_type == "NaiveDate")
    ]
    if not candidates:
        return None
    if len(candidates) == 1:
        return ConnectorxValueError(
            str(unreadable_date_error(candidates[0].name, mysql_type_name(candidates[0]), value))
        )
    names = ", ".join(f"`{f.name}` ({mysql_type_name(f)})" for f in candidates)
    return ConnectorxValueError(
        f"One of the columns {names} holds `{value}`, a zero or invalid date, which is no real date and is "
        "never read as NULL silently. Select `NULLIF(col, '0000-00-00')` for such values as NULL or "
        "`CAST(col AS CHAR)` for the server's text (`extract_reader='pymysql'` names the column)."
    )


def _failure(error: BaseException, hide: list[str | None], fields=()) -> ConnectorxError:
    text = redact(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__, hide)
    return _bad_date(text, fields) or ConnectorxError(
        f"MySQL/MariaDB extract through connectorx failed: {text[:500]}"
    )


def _stop_query(conn, marker: str) -> None:
    """Cancel connectorx's query (found by its marker comment) when the caller stopped early."""
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT id FROM information_schema.processlist WHERE info LIKE %s AND id <> CONNECTION_ID()",
                [f"/* {marker} */%"],
            )
            for (pid,) in cur.fetchall():
                cur.execute(f"KILL QUERY {int(pid)}")
    except Exception:  # best effort: otherwise connectorx reads the rest in the background
        pass


def iter_connectorx_batches(
    conn, url: str, sql: str, fields, *, batch_rows: int, hide: list[str | None]
) -> Iterator[pa.RecordBatch]:
    """Yield `sql`'s rows from connectorx, cast to the wire reader's schema for `fields`.

    Args:
        conn: our open pymysql connection (used only to cancel the query if the caller stops early).
        url: from `connectorx_url`.
        fields: the query's column definitions (`describe_query`), all exact.
        hide: secrets to mask in any error message (the password, raw and percent-encoded).

    Raises:
        ConnectorxError: connectorx failed; if no batch was yielded yet, the caller may fall back.
            A `ConnectorxValueError` (also a ValueError) for a zero or invalid date.
    """
    import connectorx as cx

    schema = mysql_result_schema(fields)
    types = schema.types
    marker = f"cfwb-extract-{_secrets.token_hex(8)}"
    session = [
        "SET time_zone = '+00:00'",  # TIMESTAMP columns in UTC, as on our own connection
        "SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES,NO_ZERO_DATE')",
    ]
    done = False
    try:
        try:
            reader = cx.read_sql(
                url,
                f"/* {marker} */ {sql}",
                return_type="arrow_stream",
                batch_size=batch_rows,
                pre_execution_query=session,
            )
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # pyo3's PanicException is a BaseException
            raise _failure(e, hide, fields) from None
        got = [reader.schema.field(i).type for i in range(len(reader.schema))]
        if len(got) != len(types) or any(
            g not in _expected_cx_type(t) for g, t in zip(got, types, strict=False)
        ):
            raise ConnectorxError(
                f"connectorx describes the result as {got}, expected the counterparts of {types}"
            )
        yielded = False
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as e:
                raise _failure(e, hide, fields) from None
            arrays = [_cast(batch.column(i), t) for i, t in enumerate(types)]
            yield record_batch(arrays, schema)
            yielded = True
        if not yielded:
            yield pa.RecordBatch.from_pylist([], schema=schema)
        done = True
    finally:
        if not done:
            _stop_query(conn, marker)
