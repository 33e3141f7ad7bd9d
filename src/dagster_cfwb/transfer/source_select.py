"""The SELECT that reads a table, a view or a query, with filters bound as parameters.

Plain engine logic shared by every SQL resource (`SQLDatabaseResource.source_select`): identifiers
are validated and quoted for the engine, filter values are bound with the driver's placeholder
(`%s` for psycopg/pymysql, `?` for mssql-python/ibm_db), never formatted into the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dagster_cfwb.transfer.identifiers import quote_identifier, split_table_name

__all__ = ["FILTER_OPERATORS", "Filter", "select_sql"]

FILTER_OPERATORS = (">", ">=", "<")


@dataclass(frozen=True)
class Filter:
    """`column <op> value`, added to the source query with `value` bound as a parameter.

    With `or_null=True` the rows whose `column` is NULL pass too:
    `("column" >= %s OR "column" IS NULL)` (an incremental import reads them every run).
    """

    column: str
    op: str  # one of > >= <
    value: Any
    or_null: bool = False


def select_sql(
    relation: str | None = None,
    *,
    query: str | None = None,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] = (),
    dialect: str = "postgres",
    placeholder: str = "%s",
) -> tuple[str, list[Any] | None]:
    """The SELECT reading `relation` (a table or view, `schema.name`) or `query`, and its parameters.

    Args:
        relation: table or view name; or None with `query`.
        query: a SELECT of the user's (read whole, or wrapped when there are filters).
        columns: columns to read from `relation` (default: all).
        filters: conditions joined with AND, values bound.
        dialect: quoting rules of `quote_identifier` (`postgres`, `mysql`, `mssql`, `db2`).
        placeholder: the driver's parameter marker, `%s` or `?`.

    Example:
        >>> select_sql("public.eleves", columns=["id", "nom"], filters=[Filter("maj", ">", 5)])
        ('SELECT "id", "nom" FROM "public"."eleves" WHERE "maj" > %s', [5])
        >>> select_sql("public.eleves", filters=[Filter("maj", ">=", 5, or_null=True)],
        ...            dialect="mssql", placeholder="?")[0]
        'SELECT * FROM [public].[eleves] WHERE ([maj] >= ? OR [maj] IS NULL)'
    """
    if relation:
        names = ", ".join(quote_identifier(c, dialect, what="column") for c in columns) if columns else "*"
        sql = f"SELECT {names} FROM {split_table_name(relation).quoted(dialect)}"
    elif query is not None:
        sql = query.strip().rstrip(";")
        if not filters:
            return sql, None
        sql = f"SELECT * FROM ({sql}\n) cfwb_source"  # a line break ends a trailing `-- comment`
    else:
        raise ValueError("A source needs a table, a view or a query.")
    if not filters:
        return sql, None
    conditions = []
    for f in filters:
        if f.op not in FILTER_OPERATORS:
            raise ValueError(f"Unsupported filter operator {f.op!r}.")
        column = quote_identifier(f.column, dialect, what="column")
        condition = f"{column} {f.op} {placeholder}"
        conditions.append(f"({condition} OR {column} IS NULL)" if f.or_null else condition)
    return f"{sql} WHERE {' AND '.join(conditions)}", [f.value for f in filters]
