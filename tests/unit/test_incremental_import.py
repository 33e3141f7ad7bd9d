"""`mode: incremental` settings: `lookback` parsing, the window read again, and the YAML refusals."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import load_error

from dagster_cfwb.components.incremental_window import parse_lookback, window_start

IMPORT = """
type: dagster_cfwb.LakehouseImportComponent
attributes:
  imports:
    - source: {kind: database, resource_key: postgresql, table: public.eleves}
      target: {code_location: enseignement, layer: stg, table: eleves}
"""
UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1 hour", dt.timedelta(hours=1)),
        ("30 minutes", dt.timedelta(minutes=30)),
        ("2 days", dt.timedelta(days=2)),
        ("1.5 h", dt.timedelta(minutes=90)),
        ("90s", dt.timedelta(seconds=90)),
        ("1 week", dt.timedelta(weeks=1)),
        (0, Decimal(0)),
        ("0", Decimal(0)),
        (1000, Decimal(1000)),
        (0.5, Decimal("0.5")),
        (None, None),
    ],
)
def test_lookback_values(value, expected):
    assert parse_lookback(value) == expected


@pytest.mark.parametrize("value", ["une heure", "1 fortnight", "-1", -5, "nan", True, [1]])
def test_bad_lookback_says_what_is_expected(value):
    with pytest.raises(ValueError, match=r"`lookback`: expected a duration such as `30 minutes`.*found"):
        parse_lookback(value)


def test_window_start_by_watermark_type():
    at = dt.datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert window_start(at, None, "w") == dt.datetime(2024, 5, 1, 7, tzinfo=UTC)  # default: 1 hour
    assert window_start(at, Decimal(0), "w") == at  # 0: the largest value itself, read with >=
    assert window_start(at, dt.timedelta(days=1), "w") == dt.datetime(2024, 4, 30, 8, tzinfo=UTC)
    day = dt.date(2024, 5, 1)
    assert window_start(day, None, "w") == day
    assert window_start(day, dt.timedelta(hours=1), "w") == dt.date(2024, 4, 30)  # whole days
    assert window_start(1500, None, "id") == 1500
    assert window_start(1500, Decimal(100), "id") == 1400
    assert window_start(Decimal("10.5"), Decimal("0.25"), "v") == Decimal("10.25")
    assert window_start(2.5, Decimal("0.5"), "v") == 2.0
    assert window_start("B-0042", None, "code") == "B-0042"
    assert window_start(None, dt.timedelta(hours=1), "w") is None  # no watermark yet: read all


@pytest.mark.parametrize(
    ("newest", "lookback", "message"),
    [
        (dt.datetime(2024, 5, 1), Decimal(3600), "is a number, but the watermark `w` holds timestamps"),
        (dt.date(2024, 5, 1), Decimal(2), "holds dates; write a duration, e.g. `lookback: 2 days`"),
        (10, dt.timedelta(hours=1), "is a duration, but the watermark `w` holds numbers"),
        ("B-0042", Decimal(1), "holds str values: only `lookback: 0` applies"),
    ],
)
def test_lookback_that_does_not_fit_the_watermark_is_refused(newest, lookback, message):
    with pytest.raises(ValueError, match=message):
        window_start(newest, lookback, "w")


def _problem(extra: str) -> str:
    text = load_error({"imports/defs.yaml": IMPORT + extra})
    return next(line for line in text.splitlines() if "field `imports[0]" in line)


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        (
            "      keys: [id]\n",
            "imports[0]",
            "`keys` only applies to `mode: incremental`; this import has `mode: replace`",
        ),
        (
            "      mode: append\n      keys: [id]\n      lookback: 1 hour\n",
            "imports[0]",
            "`keys`, `lookback` only apply to `mode: incremental`; this import has `mode: append`",
        ),
        (
            '      mode: incremental\n      watermark_column: maj\n      keys: ["id;drop"]\n',
            "imports[0].keys",
            "The key column name 'id;drop' is not allowed",
        ),
        (
            "      mode: incremental\n      watermark_column: maj\n      keys: []\n",
            "imports[0].keys",
            "`keys` needs at least one column, e.g. `keys: [id]`; found an empty list",
        ),
        (
            "      mode: incremental\n      watermark_column: maj\n      keys: [id, id]\n",
            "imports[0].keys",
            "`keys` lists `id` more than once",
        ),
        (
            "      mode: incremental\n      watermark_column: maj\n      lookback: une heure\n",
            "imports[0].lookback",
            "`lookback`: expected a duration such as `30 minutes`, `1 hour`, `2 days`, or a number",
        ),
    ],
)
def test_yaml_refusals_name_the_field(extra, field, message):
    line = _problem(extra)
    assert f"field `{field}`" in line and message in line, line


def test_keys_and_watermark_must_be_among_the_columns_read():
    yaml = IMPORT.replace("table: public.eleves}", "table: public.eleves, columns: [id, nom]}")
    text = load_error(
        {
            "imports/defs.yaml": yaml
            + "      mode: incremental\n      watermark_column: maj\n      keys: [id, code]\n"
        }
    )
    assert "`source.columns` must include the watermark and key columns; missing `maj`, `code`" in text


@pytest.mark.parametrize("lookback", ["1 hour", "30min", 1000, 0, 2.5, "{{ env('LOOKBACK') }}"])
def test_dg_check_yaml_schema_accepts_the_lookback_forms(lookback):
    """`dg check yaml` validates against the component's JSON schema: it must not reject a valid lookback."""
    from jsonschema import Draft202012Validator

    from dagster_cfwb.components import LakehouseImportComponent

    schema = LakehouseImportComponent.get_model_cls().model_json_schema()
    attributes = {
        "imports": [
            {
                "source": {"kind": "database", "resource_key": "pg", "table": "t"},
                "target": {"code_location": "x", "layer": "stg", "table": "t"},
                "mode": "incremental",
                "watermark_column": "maj",
                "keys": ["id"],
                "lookback": lookback,
            }
        ]
    }
    assert list(Draft202012Validator(schema).iter_errors(attributes)) == []
