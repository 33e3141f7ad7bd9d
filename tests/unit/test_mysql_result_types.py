"""The MariaDB result-column mapping and connectorx's zero-date refusal, without a server."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pyarrow as pa
import pytest

from dagster_cfwb.transfer.mysql.connectorx_reader import ConnectorxValueError, _failure
from dagster_cfwb.transfer.mysql.result_types import mysql_field_to_arrow, mysql_type_name
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError


def _field(name, code, length=0, flags=0, scale=0, charset=63):
    return SimpleNamespace(
        name=name, type_code=code, length=length, flags=flags, scale=scale, charsetnr=charset
    )


@pytest.mark.parametrize(
    ("field", "name", "arrow"),
    [
        (_field("b", 1, length=1), "TINYINT(1)", pa.int8()),
        (_field("u", 8, length=20, flags=32), "BIGINT UNSIGNED", pa.uint64()),
        (_field("d", 246, length=67, scale=30), "DECIMAL(65,30)", pa.decimal256(65, 30)),
        (_field("d", 246, length=1, flags=32), "DECIMAL(1,0) UNSIGNED", pa.decimal128(1, 0)),
        (_field("t", 11, length=17, scale=6), "TIME(6)", pa.duration("us")),
        (_field("ts", 7, length=26, scale=6), "TIMESTAMP(6)", pa.timestamp("us", tz="UTC")),
        (_field("bit", 16, length=1), "BIT(1)", pa.bool_()),
        (_field("bit", 16, length=64), "BIT(64)", pa.uint64()),
        (_field("e", 254, length=4, flags=256, charset=45), "ENUM", pa.string()),
        (_field("bin", 254, length=4, charset=63), "BINARY", pa.binary()),
        (_field("j", 252, charset=45), "TEXT", pa.string()),
        (_field("y", 13, length=2), "YEAR(2)", pa.int16()),
    ],
)
def test_result_column_types(field, name, arrow):
    assert mysql_type_name(field) == name
    assert mysql_field_to_arrow(field) == arrow


@pytest.mark.parametrize(("code", "cast"), [(4, "CAST(c AS DOUBLE)"), (255, "ST_AsText(c)")])
def test_float_and_spatial_columns_are_refused_with_the_cast(code, cast):
    with pytest.raises(UnsupportedTypeError, match=r"`c`.*" + re.escape(cast)):
        mysql_field_to_arrow(_field("c", code))


def test_connectorx_zero_date_panic_names_the_column_or_the_candidates():
    panic = RuntimeError(
        "Could not retrieve `core::option::Option<chrono::naive::date::NaiveDate>`: "
        "Couldn't convert the value `Date(\"'0000-00-00'\")` to a desired type"
    )
    day, stamp = _field("day", 10, length=10), _field("seen", 12, length=19)
    error = _failure(panic, [], [day, stamp])
    assert isinstance(error, ConnectorxValueError) and isinstance(error, ValueError)
    assert "`day` (DATE) holds `0000-00-00`" in str(error) and "NULLIF(day, '0000-00-00')" in str(error)
    both = _failure(panic, [], [day, _field("other", 10, length=10)])
    assert "`day` (DATE), `other` (DATE)" in str(both)
    assert not isinstance(_failure(panic, [], [stamp]), ConnectorxValueError)  # no DATE column: generic
    assert not isinstance(_failure(RuntimeError("connection refused"), [], [day]), ConnectorxValueError)
