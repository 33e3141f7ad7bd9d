"""What SQL Server's catalog says about tables: visible tables and schemas (tested without a server)."""

from __future__ import annotations

from dagster_cfwb.transfer.catalog_sql import CatalogSql
from dagster_cfwb.transfer.identifiers import quote_identifier, validate_identifier

__all__ = ["MSSQLCatalog"]


class MSSQLCatalog(CatalogSql):
    """`INFORMATION_SCHEMA.TABLES` and `sys.schemas`, values bound with `?`."""

    def table_names(self) -> tuple[str, None]:
        return "SELECT TABLE_SCHEMA + '.' + TABLE_NAME AS name FROM INFORMATION_SCHEMA.TABLES", None

    def schema_exists(self, schema: str) -> tuple[str, list]:
        return "SELECT count(*) AS n FROM sys.schemas WHERE name = ?", [schema]

    def create_schema(self, schema: str) -> str:
        """No `IF NOT EXISTS` here, and `CREATE SCHEMA` must be alone in its batch, hence `EXEC`.
        The name is validated (letters, digits, `_`), so it cannot close the `N'…'` literals."""
        name = validate_identifier(schema, what="schema", dialect="mssql")
        return f"IF SCHEMA_ID(N'{name}') IS NULL EXEC(N'CREATE SCHEMA {quote_identifier(name, 'mssql', what='schema')}')"
