"""Validation and quoting of SQL identifiers that come from configuration.

Identifiers (table, schema and column names) cannot be sent as bound parameters, so every name
that reaches SQL text goes through `validate_identifier` and is then quoted for its dialect.
Values are never formatted into SQL: they are bound by the driver.

Each server limits names its own way, and a name over the limit is refused, never truncated:

| dialect   | limit                      | case of quoted column names           |
|-----------|----------------------------|---------------------------------------|
| postgres  | 63 bytes (UTF-8)           | distinct (`ID` and `id` are two)      |
| mysql     | 64 characters (BMP only)   | folded (`ID` and `id` collide)        |
| mssql     | 128 characters             | folded (default collations)           |
| db2       | 128 bytes (UTF-8)          | distinct                              |
| none      | 63 characters (portable)   | —                                     |

Names we derive from a target (staging tables) keep their unique suffix: the target part is
shortened to fit, by the server's unit (see `derived_name`).
"""

from __future__ import annotations

import re
import unicodedata

from dagster_cfwb.errors import CfwbError

__all__ = [
    "IdentifierError",
    "QualifiedName",
    "derived_name",
    "folds_case",
    "quote_identifier",
    "refuse_case_duplicates",
    "split_table_name",
    "validate_identifier",
]

# Letters (any alphabet, so French accents are fine), digits and `_`; must not start with a
# digit. Matched against the whole string (fullmatch: a trailing newline is refused).
_IDENTIFIER = re.compile(r"[^\W\d]\w*|_\w*", re.UNICODE)

# dialect → (limit, unit, server name used in messages)
_LIMITS: dict[str | None, tuple[int, str, str]] = {
    None: (63, "characters", "dagster-cfwb (portable rule, any engine)"),
    "duckdb": (63, "characters", "dagster-cfwb (portable rule, any engine)"),
    "postgres": (63, "bytes", "PostgreSQL"),
    "mysql": (64, "characters", "MySQL/MariaDB"),
    "mssql": (128, "characters", "SQL Server"),
    "db2": (128, "bytes", "DB2"),
}
_CASE_FOLDING = {"mysql", "mssql"}

_QUOTES = {
    "postgres": ('"', '"'),
    "duckdb": ('"', '"'),
    "db2": ('"', '"'),
    "mysql": ("`", "`"),
    "mssql": ("[", "]"),
}


class IdentifierError(CfwbError, ValueError):
    """A table, schema or column name from configuration is not a safe SQL identifier."""


def _size(name: str, unit: str) -> int:
    return len(name.encode("utf-8")) if unit == "bytes" else len(name)


def _rule(dialect: str | None) -> tuple[int, str, str]:
    try:
        return _LIMITS[dialect]
    except KeyError:
        raise ValueError(f"Unknown SQL dialect `{dialect}`; expected one of {sorted(_QUOTES)}.") from None


def validate_identifier(name: object, *, what: str = "identifier", dialect: str | None = None) -> str:
    """Return `name` if it is a plain SQL identifier for `dialect`, else raise `IdentifierError`.

    Args:
        name: the candidate identifier, e.g. `"eleves_2024"`.
        what: what the name is (`"table"`, `"column"`…), used in the error message.
        dialect: the server the name is for (`postgres`, `mysql`, `mssql`, `db2`,
            `duckdb`) — its length limit applies (see the module table); `None`: 63 characters.

    Raises:
        IdentifierError: the name is empty, too long for the server, or holds characters other
            than letters, digits and `_` (quotes, spaces, semicolons, control characters…).

    Example:
        ```python
        validate_identifier("eleves_2024", what="table")  # 'eleves_2024'
        # IdentifierError: 80 bytes
        validate_identifier("é" * 40, what="table", dialect="postgres")
        ```
    """
    limit, unit, server = _rule(dialect)
    if not isinstance(name, str) or not name:
        raise IdentifierError(f"The {what} name must be a non-empty string, got {name!r}.")
    control = next((c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if control is not None:
        raise IdentifierError(
            f"The {what} name {name!r} holds the control character U+{ord(control):04X}; "
            "use letters, digits and `_` only."
        )
    size = _size(name, unit)
    if size > limit:
        shown = name if len(name) <= 30 else name[:30] + "…"
        raise IdentifierError(
            f"The {what} name `{shown}` is {size} {unit}; {server} allows {limit} {unit} for a name. "
            "Use a shorter name (it is never truncated silently)."
        )
    if not _IDENTIFIER.fullmatch(name):
        raise IdentifierError(
            f"The {what} name {name!r} is not allowed: use letters, digits and `_` only, "
            "not starting with a digit (no spaces, quotes, dots or semicolons)."
        )
    if dialect == "mysql" and any(ord(c) > 0xFFFF for c in name):
        raise IdentifierError(
            f"The {what} name {name!r} holds a character outside Unicode's Basic Multilingual Plane, "
            "which MySQL/MariaDB does not allow in names."
        )
    return name


def quote_identifier(name: str, dialect: str = "postgres", *, what: str = "identifier") -> str:
    """Validate `name` by `dialect`'s rules and quote it (postgres, duckdb, db2, mysql, mssql)."""
    try:
        left, right = _QUOTES[dialect]
    except KeyError:
        raise ValueError(f"Unknown SQL dialect `{dialect}`; expected one of {sorted(_QUOTES)}.") from None
    return f"{left}{validate_identifier(name, what=what, dialect=dialect)}{right}"


def folds_case(dialect: str | None) -> bool:
    """True when `dialect`'s server treats column names differing only by case as the same name."""
    return dialect in _CASE_FOLDING


def refuse_case_duplicates(
    names: list[str], dialect: str | None, *, table: str, what: str = "column"
) -> None:
    """Raise IdentifierError when two `names` differ only by case on a server that folds case.

    MariaDB would refuse `ID` and `id` in one table with error 1060; we refuse them before
    anything reaches the server. PostgreSQL and DB2 keep quoted names as written, so there they
    are two distinct columns and nothing is refused.
    """
    if not folds_case(dialect):
        return
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise IdentifierError(
                f"The data for table `{table}` has {what}s `{other}` and `{name}`, which {_rule(dialect)[2]} "
                "treats as the same name (it ignores case in column names). Rename one of them."
            )


def derived_name(prefix: str, base: str, suffix: str, dialect: str | None) -> str:
    """`prefix + base + suffix`, with `base` shortened so the whole fits `dialect`'s limit.

    The suffix (a unique random part) is never cut; `base` is cut by the server's unit (bytes
    for PostgreSQL/DB2, characters for MySQL/SQL Server) and never in the middle of a character.

    Example:
        ```python
        # 63 bytes at most, suffix kept
        derived_name("_cfwb_", "é" * 40, "_1a2b3c4d", "postgres")
        ```
    """
    limit, unit, _ = _rule(dialect)
    room = limit - _size(prefix, unit) - _size(suffix, unit)
    if room < 1:
        raise ValueError(f"The name suffix `{suffix}` does not fit a {dialect} name.")
    kept = []
    used = 0
    for char in base:
        used += _size(char, unit)
        if used > room:
            break
        kept.append(char)
    return f"{prefix}{''.join(kept)}{suffix}"


class QualifiedName:
    """A validated `schema.table` pair that renders itself quoted for a dialect."""

    __slots__ = ("dialect", "schema", "table")

    def __init__(self, table: str, schema: str | None = None, *, dialect: str | None = None):
        self.dialect = dialect
        self.table = validate_identifier(table, what="table", dialect=dialect)
        self.schema = (
            validate_identifier(schema, what="schema", dialect=dialect) if schema is not None else None
        )

    def quoted(self, dialect: str = "postgres") -> str:
        table = quote_identifier(self.table, dialect, what="table")
        return f"{quote_identifier(self.schema, dialect, what='schema')}.{table}" if self.schema else table

    def with_table(self, table: str) -> QualifiedName:
        return QualifiedName(table, self.schema, dialect=self.dialect)

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def __repr__(self) -> str:
        return f"QualifiedName({str(self)!r})"


def split_table_name(table: str, schema: str | None = None, *, dialect: str | None = None) -> QualifiedName:
    """Parse `"table"` or `"schema.table"` (unless `schema` is given) into a QualifiedName.

    With `dialect`, the names are checked by that server's rules (see the module table).
    """
    if schema is None and isinstance(table, str) and table.count(".") == 1:
        schema, table = table.split(".")
    return QualifiedName(table, schema, dialect=dialect)
