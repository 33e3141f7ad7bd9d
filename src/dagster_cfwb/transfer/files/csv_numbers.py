"""Number columns of a CSV read from their text, so that no value is changed silently.

Arrow reads `01000` in an integer column as 1000 and `0.12345678901234567890` in a column of
decimals as the rounded double `0.12345678901234568`. The types are inferred from a sample of the
file; a value further down may not fit its column's type. So the columns inferred as numbers are
read as text and converted here, batch by batch, with vectorised checks (`pyarrow.compute`): a value
that the number type would change is refused, naming the line, the column and the `schema` entry to
write. Python looks only at the few values of 16 characters or more in a column of decimals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pyarrow as pa
import pyarrow.compute as pc

from dagster_cfwb.transfer.exact_cast import record_batch

__all__ = ["NumberColumns", "float_changes", "keep_codes_as_text"]

_LEADING_ZERO = r"^\s*[+-]?0[0-9]"  # `01000`: a code, not the number 1000
_LONG_INTEGER = r"^\s*[+-]?[0-9]{16,}\s*$"  # past 2^53: a double would round it
_SHORT = 16  # a text of fewer characters has at most 15 digits: a double holds it exactly


def float_changes(text: str) -> str | None:
    """What a 64-bit float makes of the number `text` if that is not the same number, else None.

    The float is the same number when, written back with as many significant digits as `text`
    has, it gives `text`'s value: `8.3945900000000009` (a double written with 17 digits, as R
    and C programs do) and `0.30000000000000004` are kept; `0.12345678901234567890`,
    `9007199254740993`, `1e400` (inf) and `1e-400` (0) are changed.
    """
    value = float(text)
    if repr(value) == text:  # the double's own shortest text (what Python, JavaScript, Java write)
        return None
    if math.isnan(value) or (math.isinf(value) and text.strip().lstrip("+-").lower() in ("inf", "infinity")):
        return None
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    digits = len(number.normalize().as_tuple().digits)
    if math.isfinite(value) and Decimal(format(value, f".{digits}g")) == number:
        return None
    return repr(value)


def _first_inexact_float(texts: pa.Array) -> int | None:
    """Position of the first value of `texts` (of a column of decimals) that a double would change."""
    positions = pc.indices_nonzero(pc.greater_equal(pc.binary_length(texts), _SHORT))  # nulls: not taken
    for position, text in zip(positions.to_pylist(), texts.take(positions).to_pylist(), strict=True):
        if _safe_changes(text):
            return position
    return None


def _first_out_of_range(texts: pa.Array, numbers: pa.Array) -> int | None:
    """Position of the first short text that became infinite (`1e400`) or 0 (`1e-400`) as a double."""
    bounds = pc.min_max(pc.abs(numbers))
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low is None or (low != 0 and high != math.inf):
        return None
    suspect = pc.or_(pc.is_inf(numbers), pc.equal(numbers, 0))
    positions = pc.indices_nonzero(suspect)
    # a zero written `0`, `0.00`, `-0e5` is 0: only a zero from non-zero digits (`1e-400`) is looked at
    keep = pc.or_(
        pc.is_inf(numbers.take(positions)), pc.match_substring_regex(texts.take(positions), "[1-9]")
    )
    positions = positions.filter(keep)
    for position, text in zip(positions.to_pylist(), texts.take(positions).to_pylist(), strict=True):
        if _safe_changes(text):
            return position
    return None


def _first_code(texts: pa.Array) -> int | None:
    """Position of the first value of `texts` with a leading zero (`01000`), found without a regex
    over the whole column: only the values starting with `0`, `-0` or `+0` are looked at."""
    zero = pc.or_(pc.starts_with(texts, "0"), pc.starts_with(texts, "-0"))
    zero = pc.or_(zero, pc.starts_with(texts, "+0"))  # no fill_null: 1.3 s per 2M booleans in pyarrow 26
    if not pc.any(zero).as_py():
        return None
    positions = pc.indices_nonzero(zero)
    codes = pc.match_substring_regex(texts.take(positions), _LEADING_ZERO)
    if not pc.any(codes).as_py():
        return None
    return positions[pc.index(codes, True).as_py()].as_py()


def _beyond(text: str, type_: pa.DataType) -> bool:
    """True if `text` is a whole number outside the range of the integer type `type_`."""
    if not text.lstrip("+-").isdigit():
        return False
    bits = type_.bit_width
    low, high = (
        (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if pa.types.is_signed_integer(type_) else (0, 2**bits - 1)
    )
    return not low <= int(text) <= high


def _safe_changes(text: str) -> bool:
    try:
        return float_changes(text) is not None
    except ValueError:
        return False  # not a number: the cast reports it


def keep_codes_as_text(texts: pa.Table, types: dict[str, pa.DataType]) -> None:
    """Number columns of the sample `texts` (read as text) that a number type would change become text.

    Arrow infers `01000` as the int64 1000 and a 23-digit identifier or a 20-digit decimal as a
    rounded double.
    """
    for name in texts.column_names:
        if not (pa.types.is_integer(types[name]) or pa.types.is_floating(types[name])):
            continue
        column = texts.column(name)
        changed = pc.any(pc.match_substring_regex(column, _LEADING_ZERO)).as_py()
        if not changed and pa.types.is_floating(types[name]):
            changed = pc.any(pc.match_substring_regex(column, _LONG_INTEGER)).as_py()
            if not changed:
                changed = _first_inexact_float(column.combine_chunks()) is not None
        if changed:
            types[name] = pa.string()


@dataclass
class NumberColumns:
    """Converts the number columns of each batch (read as text) to their inferred types, or refuses.

    Attributes:
        types: `{position: type}` of the columns read as text that are numbers.
        nulls: texts that are missing values in a number column (`""`, `NA`…).
        decimal_comma: `3,14` style numbers.
        refuse: makes the error for (position, value, problem, hint about the `schema` entry).
    """

    types: dict[int, pa.DataType]
    nulls: Sequence[str]
    decimal_comma: bool
    refuse: Callable[[int, str, str, tuple[str, ...]], Exception]

    def convert(self, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
        """`batch` with its number columns converted, as `schema`."""
        columns = list(batch.columns)
        for index, type_ in self.types.items():
            columns[index] = self._column(index, columns[index], type_)
        return record_batch(columns, schema)

    def _column(self, index: int, raw: pa.Array, type_: pa.DataType) -> pa.Array:
        texts = raw
        if self.decimal_comma and pa.types.is_floating(type_):
            texts = pc.replace_substring(texts, ",", ".")
        try:
            numbers = pc.cast(texts, type_)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            texts = pc.utf8_trim_whitespace(texts)
            texts = pc.if_else(pc.is_in(texts, value_set=pa.array(self.nulls, pa.string())), None, texts)
            try:
                numbers = pc.cast(texts, type_)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise self._not_a_number(index, raw, texts, type_) from None
        at = _first_code(texts)
        if at is not None:
            raise self.refuse(
                index,
                raw[at].as_py(),
                f"value {raw[at].as_py()!r} (a code with a leading zero) would become the number "
                f"{numbers[at].as_py()!r} in this {type_} column",
                ("string",),
            )
        if pa.types.is_floating(type_):
            at = _first_inexact_float(texts)
            if at is None:
                at = _first_out_of_range(texts, numbers)
            if at is not None:
                value = texts[at].as_py()
                example = "decimal(38,0)" if value.strip().lstrip("+-").isdigit() else "decimal(38,18)"
                raise self.refuse(
                    index,
                    raw[at].as_py(),
                    f"value {raw[at].as_py()!r} would become {float_changes(value)} in this {type_} column "
                    "(a 64-bit float holds 15 to 17 digits)",
                    ("string", example, "float64"),
                )
        return numbers

    def _not_a_number(self, index: int, raw: pa.Array, texts: pa.Array, type_: pa.DataType) -> Exception:
        for at, value in enumerate(texts.to_pylist()):
            if value is None:
                continue
            try:
                pc.cast(pa.array([value]), type_)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                beyond = pa.types.is_integer(type_) and _beyond(value, type_)
                problem = f"value {raw[at].as_py()!r} is not a valid {type_}" + (
                    " (beyond its range)" if beyond else ""
                )
                return self.refuse(
                    index, raw[at].as_py(), problem, ("string", "decimal(38,0)") if beyond else ("string",)
                )
        return self.refuse(index, "", f"a value is not a valid {type_}", ("string",))
