"""The window an incremental import reads again: the YAML `lookback` and where the window starts.

`lookback` is a duration (`1 hour`) for timestamp and date watermarks, or a number (`1000`) for
numeric ones; the window starts at the largest watermark already imported minus `lookback`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

__all__ = ["DEFAULT_TIMESTAMP_LOOKBACK", "LOOKBACK_PATTERN", "parse_lookback", "window_start"]

DEFAULT_TIMESTAMP_LOOKBACK = dt.timedelta(hours=1)
"""`lookback` of a timestamp watermark when the YAML gives none (dates and numbers: 0)."""

_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_ABBREVIATIONS = {"s": "second", "sec": "second", "min": "minute", "h": "hour", "d": "day", "w": "week"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)")
LOOKBACK_PATTERN = r"^\s*\d+(\.\d+)?\s*[A-Za-z]*\s*$"
"""What a `lookback` string looks like (a number, or a number and a unit), for the YAML schema."""


def parse_lookback(value: Any) -> dt.timedelta | Decimal | None:
    """The YAML `lookback` as a duration (timestamps) or a number (numeric watermarks); None: default.

    Raises:
        ValueError: not a non-negative number nor a duration such as `1 hour` (the message says which).

    Example:
        >>> parse_lookback("90 minutes"), parse_lookback(1000), parse_lookback("0")
        (datetime.timedelta(seconds=5400), Decimal('1000'), Decimal('0'))
    """
    if value is None:
        return None
    expected = "expected a duration such as `30 minutes`, `1 hour`, `2 days`, or a number such as `1000`"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"`lookback`: {expected}; found {value!r}")
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if not match:
            raise ValueError(f"`lookback`: {expected}, 0 or more; found {value!r}")
        if not match.group(2):
            return Decimal(match.group(1))
        unit = match.group(2).lower()
        unit = _ABBREVIATIONS.get(unit, unit.removesuffix("s"))
        if unit not in _SECONDS:
            units = ", ".join(f"`{u}s`" for u in _SECONDS)
            raise ValueError(f"`lookback`: {expected} (units: {units}); found {value!r}")
        return dt.timedelta(seconds=float(Decimal(match.group(1)) * _SECONDS[unit]))
    number = Decimal(str(value))
    if not number.is_finite() or number < 0:
        raise ValueError(f"`lookback`: {expected}, 0 or more; found {value!r}")
    return number


def _is_zero(lookback: dt.timedelta | Decimal) -> bool:
    return lookback == (dt.timedelta(0) if isinstance(lookback, dt.timedelta) else 0)


def window_start(newest: Any, lookback: dt.timedelta | Decimal | None, column: str) -> Any:
    """The smallest watermark read again: `newest - lookback` (None when `newest` is None: read all).

    Raises:
        ValueError: the kind of `lookback` does not fit the watermark's values (a number for a
            timestamp, a duration for a number, anything but 0 for text).

    Example:
        >>> window_start(dt.datetime(2024, 5, 1, 8), None, "updated_at")
        datetime.datetime(2024, 5, 1, 7, 0)
        >>> window_start(1500, Decimal(100), "id")
        1400
    """
    if newest is None:
        return None
    if isinstance(newest, dt.datetime):
        if lookback is None:
            return newest - DEFAULT_TIMESTAMP_LOOKBACK
        if isinstance(lookback, dt.timedelta):
            return newest - lookback
        if _is_zero(lookback):
            return newest
        raise ValueError(
            f"`lookback: {lookback}` is a number, but the watermark `{column}` holds timestamps; "
            "write a duration, e.g. `lookback: 1 hour`"
        )
    if isinstance(newest, dt.date):
        if lookback is None or _is_zero(lookback):
            return newest
        if isinstance(lookback, dt.timedelta):
            return newest - dt.timedelta(days=math.ceil(lookback / dt.timedelta(days=1)))
        raise ValueError(
            f"`lookback: {lookback}` is a number, but the watermark `{column}` holds dates; "
            "write a duration, e.g. `lookback: 2 days`"
        )
    if isinstance(newest, int | float | Decimal) and not isinstance(newest, bool):
        if lookback is None or _is_zero(lookback):
            return newest
        if isinstance(lookback, dt.timedelta):
            raise ValueError(
                f"`lookback` is a duration, but the watermark `{column}` holds numbers; "
                "write a number, e.g. `lookback: 1000`"
            )
        if isinstance(newest, float):
            return newest - float(lookback)
        if isinstance(newest, int) and lookback == lookback.to_integral_value():
            return newest - int(lookback)
        return Decimal(newest) - lookback
    if lookback is None or _is_zero(lookback):
        return newest
    raise ValueError(
        f"the watermark `{column}` holds {type(newest).__name__} values: only `lookback: 0` applies to them"
    )
