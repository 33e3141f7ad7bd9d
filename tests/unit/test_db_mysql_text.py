"""MySQL/MariaDB pieces that need no server: LOAD DATA text encoding, type mapping, generated SQL."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from dagster_cfwb.transfer.identifiers import QualifiedName
from dagster_cfwb.transfer.mysql.load import MySQLDialect
from dagster_cfwb.transfer.mysql.text_protocol import encode_load_data_rows
from dagster_cfwb.transfer.mysql.types import arrow_to_mysql_type, mysql_type_holds
from dagster_cfwb.transfer.sql_dialect import UnsupportedTypeError


def _text(batch: pa.RecordBatch) -> str:
    return bytes(encode_load_data_rows(batch, table="t")).decode()


def test_null_and_empty_string_never_mix_and_specials_are_escaped():
    batch = pa.record_batch({"s": ["", None, "a\tb\nc\\d\re\x00f", "\\N", "NULL", "é🎓"]})
    assert _text(batch) == "\n\\N\na\\tb\\nc\\\\d\\re\\0f\n\\\\N\nNULL\né🎓\n"


def test_binary_goes_as_hex_and_a_sliced_batch_keeps_its_nulls():
    batch = pa.record_batch({"b": pa.array([b"\x00\xff", None, b"", b"A"]), "n": [1, 2, None, 4]})
    assert _text(batch) == "00ff\t1\n\\N\t2\n\t\\N\n41\t4\n"
    assert _text(batch.slice(1, 2)) == "\\N\t2\n\t\\N\n"


def test_exact_text_of_numbers_dates_and_times():
    utc = dt.UTC
    batch = pa.record_batch(
        {
            "dec": pa.array([decimal.Decimal("-12.50")], pa.decimal128(6, 2)),
            "f32": pa.array([0.1], pa.float32()),
            "flag": [True],
            "d": pa.array([dt.date(1, 1, 1)]),
            "ts": pa.array(
                [dt.datetime(2024, 5, 1, 12, 0, 0, 1, tzinfo=utc)], pa.timestamp("us", tz="Europe/Paris")
            ),
            "t": pa.array([dt.time(23, 59, 59, 999999)], pa.time64("us")),
        }
    )
    # float32 0.1 is sent as the double it really is; a zoned timestamp as its UTC wall time
    assert (
        _text(batch)
        == "-12.50\t0.10000000149011612\t1\t0001-01-01\t2024-05-01 12:00:00.000001\t23:59:59.999999\n"
    )


def test_nan_is_refused_naming_the_column():
    with pytest.raises(UnsupportedTypeError, match="`x` of table `t`"):
        _text(pa.record_batch({"x": [1.0, float("inf")]}))


@pytest.mark.parametrize(
    ("arrow_type", "key", "expected"),
    [
        (pa.bool_(), False, "BOOLEAN"),
        (pa.uint64(), False, "BIGINT UNSIGNED"),
        (pa.float32(), False, "DOUBLE"),
        (pa.decimal256(65, 30), False, "DECIMAL(65,30)"),
        (pa.large_string(), False, "LONGTEXT"),
        (pa.string(), True, "VARCHAR(255)"),
        (pa.binary(), False, "LONGBLOB"),
        (pa.timestamp("us", tz="UTC"), False, "DATETIME(6)"),
        (pa.time64("us"), False, "TIME(6)"),
    ],
)
def test_mysql_type_mapping(arrow_type, key, expected):
    assert arrow_to_mysql_type(arrow_type, key=key) == expected


def test_mysql_refuses_types_it_cannot_hold():
    with pytest.raises(UnsupportedTypeError, match="`big` of table `t`.*65 digits"):
        arrow_to_mysql_type(pa.decimal256(70, 2), column="big", table="t")
    with pytest.raises(UnsupportedTypeError, match="`l` of table `t`.*list"):
        arrow_to_mysql_type(pa.list_(pa.int32()), column="l", table="t")


def test_existing_column_compatibility():
    assert mysql_type_holds("decimal(12,2)", pa.decimal128(10, 2))
    assert not mysql_type_holds("decimal(12,2)", pa.decimal128(12, 3))
    assert not mysql_type_holds("int(11)", pa.string())
    assert mysql_type_holds("varchar(20)", pa.string())
    assert mysql_type_holds("bigint(20) unsigned", pa.int32())


def test_generated_swap_and_upsert_sql():
    dialect = MySQLDialect()
    table, staging, old = QualifiedName("t", "db"), QualifiedName("s", "db"), QualifiedName("o", "db")
    assert dialect.swap_statements(table, staging, old) == [
        "RENAME TABLE `db`.`t` TO `db`.`o`, `db`.`s` TO `db`.`t`"
    ]
    assert dialect.swap_statements(table, staging, None) == ["RENAME TABLE `db`.`s` TO `db`.`t`"]
    assert dialect.upsert_sql(table, staging, ["id", "v"], ["id"]) == (
        "INSERT INTO `db`.`t` (`id`, `v`) SELECT `id`, `v` FROM `db`.`s` ON DUPLICATE KEY UPDATE `v` = VALUES(`v`)"
    )
    with pytest.raises(ValueError, match="Unknown MySQL bulk method"):
        MySQLDialect(method="copy")
