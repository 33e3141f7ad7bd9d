"""What PostgreSQL's catalog says about tables: column comments, visible tables, schemas."""

from __future__ import annotations

from dagster_cfwb.transfer.catalog_sql import CatalogSql
from dagster_cfwb.transfer.identifiers import QualifiedName, quote_identifier

__all__ = ["PostgresCatalog"]


class PostgresCatalog(CatalogSql):
    """`pg_attribute`/`col_description` for comments, `information_schema` for tables, `pg_namespace`."""

    def column_comments(self, table: QualifiedName) -> tuple[str, list]:
        return (
            "SELECT a.attname AS name, col_description(a.attrelid, a.attnum) AS description "
            "FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            [table.quoted("postgres")],
        )

    def table_names(self) -> tuple[str, None]:
        return (
            "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
            None,
        )

    def schema_exists(self, schema: str) -> tuple[str, list]:
        return "SELECT count(*) AS n FROM pg_namespace WHERE nspname = %s", [schema]

    def create_schema(self, schema: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema, 'postgres', what='schema')}"
