"""The Arrow type of each MariaDB/MySQL result column (extract direction), or a refusal naming it.

Both extract readers (`mysql_extract`, `mysql_connectorx`) build their schema here from
the server's column definitions, before any row is read, so they agree on every type:

| MariaDB result column                      | Arrow type                         |
|--------------------------------------------|------------------------------------|
| TINYINT (also TINYINT(1) = BOOLEAN)        | int8 (uint8 if UNSIGNED)           |
| SMALLINT / MEDIUMINT, INT / BIGINT         | int16 / int32, int32 / int64 (unsigned: uint16 / uint32, uint32 / uint64) |
| YEAR                                       | int16 (YEAR(2): the two digits the server shows) |
| DOUBLE                                     | float64 (with fixed decimals, e.g. `x / y` of DOUBLE(10,2): refused by the pymysql reader, `CAST(col AS DOUBLE)`) |
| DECIMAL(p, s)                              | decimal128(p, s), decimal256 above 38 digits |
| DATE / DATETIME(n) / TIMESTAMP(n)          | date32 / timestamp[us] / timestamp[us, UTC] |
| TIME(n)                                    | duration[us] (−838:59:59 to 838:59:59) |
| BIT(1) / BIT(n > 1)                        | bool / uint64                      |
| CHAR…LONGTEXT, ENUM, SET, JSON, INET4, INET6, UUID | string (the server's text) |
| BINARY, VARBINARY, TINYBLOB…LONGBLOB       | binary                             |
| FLOAT                                      | refused: `CAST(col AS DOUBLE)`     |
| GEOMETRY, POINT, LINESTRING, POLYGON…      | refused: `ST_AsText(col)` or `ST_AsBinary(col)` |

A BOOLEAN column is a TINYINT(1): it can hold any value from −128 to 127, so it is read as the
integer it holds, never turned into true/false. FLOAT is refused because MariaDB sends FLOAT values
rounded to 6 significant digits (`0.33333334` arrives as `0.333333`): no reader can give the stored
value. Zero or invalid dates (`0000-00-00`, `2024-00-10`, `2024-02-31`, stored when the server's
`sql_mode` allows them) are refused by `unreadable_date_error`, never read as NULL.
"""

from __future__ import annotations

import pyarrow as pa

from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError

__all__ = [
    "is_date_code",
    "mysql_field_to_arrow",
    "mysql_result_schema",
    "mysql_type_name",
    "text_protocol_refusal",
    "unreadable_date_error",
]

# Protocol field type codes (pymysql.constants.FIELD_TYPE)
_DECIMAL, _TINY, _SHORT, _LONG, _FLOAT, _DOUBLE, _NULL, _TIMESTAMP = 0, 1, 2, 3, 4, 5, 6, 7
_LONGLONG, _INT24, _DATE, _TIME, _DATETIME, _YEAR, _NEWDATE, _VARCHAR, _BIT = 8, 9, 10, 11, 12, 13, 14, 15, 16
_JSON, _NEWDECIMAL, _ENUM, _SET, _GEOMETRY = 245, 246, 247, 248, 255
_BLOBS = {249: "TINY", 250: "MEDIUM", 251: "LONG", 252: ""}
_BINARY_CHARSET = 63
_UNSIGNED_FLAG, _ENUM_FLAG, _SET_FLAG = 32, 256, 2048
_INTS = {_TINY: "TINYINT", _SHORT: "SMALLINT", _INT24: "MEDIUMINT", _LONG: "INT", _LONGLONG: "BIGINT"}
_INT_TYPES = {
    _TINY: (pa.int8(), pa.uint8()),
    _SHORT: (pa.int16(), pa.uint16()),
    _INT24: (pa.int32(), pa.uint32()),
    _LONG: (pa.int32(), pa.uint32()),
    _LONGLONG: (pa.int64(), pa.uint64()),
}
_FRACTIONS = {_TIMESTAMP: "TIMESTAMP", _DATETIME: "DATETIME", _TIME: "TIME"}
_NOT_FIXED_DECIMALS = 31  # a DOUBLE's `decimals` when it has none fixed (sent in full)


def _decimal_digits(field) -> tuple[int, int]:
    scale = field.scale
    precision = field.length - (1 if scale else 0) - (0 if field.flags & _UNSIGNED_FLAG else 1)
    return max(precision, scale, 1), scale


def is_date_code(code: int) -> bool:
    """True for DATE, DATETIME and TIMESTAMP columns (those that can hold zero dates)."""
    return code in (_DATE, _NEWDATE, _DATETIME, _TIMESTAMP)


def mysql_type_name(field) -> str:
    """The column's MariaDB type as SQL spells it (`DECIMAL(65,30)`, `TIME(6)`), for messages."""
    code, flags = field.type_code, field.flags
    unsigned = " UNSIGNED" if flags & _UNSIGNED_FLAG else ""
    binary = field.charsetnr == _BINARY_CHARSET
    if code in _INTS:
        return ("TINYINT(1)" if code == _TINY and field.length == 1 else _INTS[code]) + unsigned
    if code in (_DECIMAL, _NEWDECIMAL):
        return "DECIMAL({},{})".format(*_decimal_digits(field)) + unsigned
    if code in _FRACTIONS:
        fsp = field.scale if 0 < field.scale <= 6 else 0
        return _FRACTIONS[code] + (f"({fsp})" if fsp else "")
    if code in _BLOBS:
        return _BLOBS[code] + ("BLOB" if binary else "TEXT")
    if code == _YEAR:
        return "YEAR(2)" if field.length == 2 else "YEAR"
    if code == _BIT:
        return f"BIT({field.length})"
    if code in (_VARCHAR, 253):
        return "VARBINARY" if binary else "VARCHAR"
    if code in (254, _ENUM, _SET):
        if code == _ENUM or flags & _ENUM_FLAG:
            return "ENUM"
        if code == _SET or flags & _SET_FLAG:
            return "SET"
        return "BINARY" if binary else "CHAR"
    names = {
        _FLOAT: "FLOAT",
        _DOUBLE: "DOUBLE",
        _NULL: "NULL",
        _DATE: "DATE",
        _NEWDATE: "DATE",
        _JSON: "JSON",
        _GEOMETRY: "GEOMETRY",
    }
    return names.get(code, f"type code {code}")


def mysql_field_to_arrow(field) -> pa.DataType:
    """Arrow type of a result column described by a pymysql `Field` (see the module table).

    Raises:
        UnsupportedTypeError: FLOAT and spatial columns, naming the column and the cast to use.
    """
    code = field.type_code
    unsigned = bool(field.flags & _UNSIGNED_FLAG)
    if code in _INT_TYPES:
        return _INT_TYPES[code][unsigned]
    if code == _YEAR:
        return pa.int16()
    if code == _DOUBLE:
        return pa.float64()
    if code in (_DECIMAL, _NEWDECIMAL):
        precision, scale = _decimal_digits(field)
        return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
    if code in (_DATE, _NEWDATE):
        return pa.date32()
    if code == _TIME:
        return pa.duration("us")
    if code == _DATETIME:
        return pa.timestamp("us")
    if code == _TIMESTAMP:
        return pa.timestamp("us", tz="UTC")
    if code == _BIT:
        return pa.bool_() if field.length == 1 else pa.uint64()
    if code == _FLOAT:
        raise UnsupportedTypeError(
            f"Column `{field.name}` is FLOAT: MariaDB/MySQL sends FLOAT values rounded to 6 significant "
            f"digits, so the stored value cannot be read exactly. Select `CAST({field.name} AS DOUBLE)` "
            "instead (the exact stored value, as float64)."
        )
    if code == _GEOMETRY:
        raise UnsupportedTypeError(
            f"Column `{field.name}` is a spatial type (GEOMETRY, POINT, LINESTRING, POLYGON…), which the "
            "server sends in its internal binary format. Select "
            f"`ST_AsText({field.name})` for WKT text or `ST_AsBinary({field.name})` for WKB bytes."
        )
    if code == _NULL:
        return pa.string()
    if field.charsetnr == _BINARY_CHARSET and code != _JSON:
        return pa.binary()
    return pa.string()


def text_protocol_refusal(fields) -> UnsupportedTypeError | None:
    """The refusal of a DOUBLE column that the text protocol (our pymysql reader) sends rounded.

    A DOUBLE with fixed decimals (`x / y` of `DOUBLE(10,2)` columns has 6, `PI()` 6) is sent as text
    rounded to them (`0.333333`); `CAST(… AS DOUBLE)` has none and is sent in full. None: no such column.
    """
    for f in fields:
        if f.type_code == _DOUBLE and f.scale < _NOT_FIXED_DECIMALS:
            return UnsupportedTypeError(
                f"Column `{f.name}` is a DOUBLE with {f.scale} fixed decimals, which MariaDB/MySQL's text "
                f"protocol sends rounded to {f.scale} decimals, so the stored value cannot be read exactly "
                f"here. Select `CAST({f.name} AS DOUBLE)` instead (the exact double, as float64)."
            )
    return None


def mysql_result_schema(fields) -> pa.Schema:
    """Arrow schema of a result set, from its column definitions (before any row is read).

    Raises:
        UnsupportedTypeError: a column no reader can give exactly (see `mysql_field_to_arrow`).
    """
    return pa.schema([pa.field(f.name, mysql_field_to_arrow(f)) for f in fields])


def unreadable_date_error(column: str, type_name: str, value: str) -> ValueError:
    """The refusal of a zero or invalid date (`0000-00-00`, `2024-00-10`, `2024-02-31`)."""
    zero = value.startswith("0000-00-00")
    what = "a zero date" if zero else "an invalid date (zero month or day, or past the end of the month)"
    nullif = f"`NULLIF({column}, '{value}')` to read such values as NULL, or " if zero else ""
    return ValueError(
        f"Column `{column}` ({type_name}) holds `{value}`, {what}: MariaDB/MySQL keeps such values when "
        "`sql_mode` lacks NO_ZERO_DATE/NO_ZERO_IN_DATE or has ALLOW_INVALID_DATES, but they are no real "
        f"date and are never read as NULL silently. Select {nullif}`CAST({column} AS CHAR)` to keep the "
        "server's text."
    )
