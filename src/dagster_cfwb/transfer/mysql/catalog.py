"""What MySQL/MariaDB's `information_schema` says about tables: column comments, visible tables, schemas."""

from __future__ import annotations

from dagster_cfwb.transfer.catalog_sql import CatalogSql
from dagster_cfwb.transfer.identifiers import QualifiedName, quote_identifier

__all__ = ["MySQLCatalog"]


class MySQLCatalog(CatalogSql):
    """`information_schema.COLUMNS` / `TABLES` / `SCHEMATA`; a table without schema is looked up
    in the connection's database."""

    def column_comments(self, table: QualifiedName) -> tuple[str, list]:
        return (
            "SELECT COLUMN_NAME AS name, COLUMN_COMMENT AS description FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s",
            [table.schema, table.table],
        )

    def table_names(self) -> tuple[str, None]:
        return (
            "SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) AS name FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')",
            None,
        )

    def schema_exists(self, schema: str) -> tuple[str, list]:
        return "SELECT count(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", [schema]

    def create_schema(self, schema: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema, 'mysql', what='schema')}"
