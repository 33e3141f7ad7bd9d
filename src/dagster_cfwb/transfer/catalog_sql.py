"""What a SQL engine's catalog can answer about tables, as `(sql, params)` for the resource to run.

An engine package (`postgres/`, `mysql/`, `mssql/`) subclasses `CatalogSql` in its `catalog.py`
and fills in what its catalog knows; None means "this engine cannot say" (DB2 reads no column
comments, lists no tables, and creates a schema with its first table). The SQL is tested without a
server; values are bound, names validated and quoted.
"""

from __future__ import annotations

from dagster_cfwb.transfer.identifiers import QualifiedName

__all__ = ["CatalogSql"]


class CatalogSql:
    """Base class: an engine whose catalog answers nothing (see the module docstring)."""

    def column_comments(self, table: QualifiedName) -> tuple[str, list] | None:
        """Rows `(name, description)` of `table`'s columns (description NULL or empty when none)."""
        return None

    def table_names(self) -> tuple[str, None] | None:
        """Rows `(name,)`: every table and view the user can see, as `schema.table`."""
        return None

    def schema_exists(self, schema: str) -> tuple[str, list] | None:
        """One row, one count: 1 when `schema` exists (read before creating it, since `CREATE
        SCHEMA` alone needs the right to create schemas even when the schema is already there)."""
        return None

    def create_schema(self, schema: str) -> str | None:
        """The statement creating `schema` (name validated and quoted)."""
        return None
