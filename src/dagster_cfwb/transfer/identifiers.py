"""Validation and quoting of SQL identifiers that come from configuration.

Identifiers (table, schema and column names) cannot be sent as bound parameters, so every name
that reaches SQL text goes through :func:`validate_identifier` and is then quoted for its dialect.
Values are never formatted into SQL: they are bound by the driver.
"""

from __future__ import annotations

import re

__all__ = [
    "IdentifierError",
    "QualifiedName",
    "quote_identifier",
    "split_table_name",
    "validate_identifier",
]

# Letters (any alphabet, so French accents are fine), digits and `_`; must not start with a
# digit; at most 63 characters (PostgreSQL's limit, the strictest of the engines we serve).
_IDENTIFIER = re.compile(r"^[^\W\d]\w*$|^_\w*$", re.UNICODE)
_MAX_LENGTH = 63

_QUOTES = {
    "postgres": ('"', '"'),
    "duckdb": ('"', '"'),
    "db2": ('"', '"'),
    "mysql": ("`", "`"),
    "mssql": ("[", "]"),
}


class IdentifierError(ValueError):
    """A table, schema or column name from configuration is not a safe SQL identifier."""


def validate_identifier(name: object, *, what: str = "identifier") -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise :class:`IdentifierError`.

    Args:
        name: the candidate identifier, e.g. ``"eleves_2024"``.
        what: what the name is (``"table"``, ``"column"``…), used in the error message.

    Raises:
        IdentifierError: the name is empty, too long, or holds characters other than letters,
            digits and ``_`` (quotes, spaces, semicolons…).

    Example:
        >>> validate_identifier("eleves_2024", what="table")
        'eleves_2024'
    """
    if not isinstance(name, str) or not name:
        raise IdentifierError(f"The {what} name must be a non-empty string, got {name!r}.")
    if len(name) > _MAX_LENGTH:
        raise IdentifierError(
            f"The {what} name `{name[:20]}…` is {len(name)} characters long; at most {_MAX_LENGTH} are allowed."
        )
    if not _IDENTIFIER.match(name):
        raise IdentifierError(
            f"The {what} name {name!r} is not allowed: use letters, digits and `_` only, "
            "not starting with a digit (no spaces, quotes, dots or semicolons)."
        )
    return name


def quote_identifier(name: str, dialect: str = "postgres", *, what: str = "identifier") -> str:
    """Validate ``name`` and quote it for ``dialect`` (postgres, duckdb, db2, mysql, mssql)."""
    try:
        left, right = _QUOTES[dialect]
    except KeyError:
        raise ValueError(f"Unknown SQL dialect `{dialect}`; expected one of {sorted(_QUOTES)}.") from None
    return f"{left}{validate_identifier(name, what=what)}{right}"


class QualifiedName:
    """A validated ``schema.table`` pair that renders itself quoted for a dialect."""

    __slots__ = ("schema", "table")

    def __init__(self, table: str, schema: str | None = None):
        self.table = validate_identifier(table, what="table")
        self.schema = validate_identifier(schema, what="schema") if schema is not None else None

    def quoted(self, dialect: str = "postgres") -> str:
        table = quote_identifier(self.table, dialect)
        return f"{quote_identifier(self.schema, dialect)}.{table}" if self.schema else table

    def with_table(self, table: str) -> QualifiedName:
        return QualifiedName(table, self.schema)

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def __repr__(self) -> str:
        return f"QualifiedName({str(self)!r})"


def split_table_name(table: str, schema: str | None = None) -> QualifiedName:
    """Parse ``"table"`` or ``"schema.table"`` (unless ``schema`` is given) into a QualifiedName."""
    if schema is None and isinstance(table, str) and table.count(".") == 1:
        schema, table = table.split(".")
    return QualifiedName(table, schema)
