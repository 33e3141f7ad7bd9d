"""Denodo Virtual DataPort (the data virtualisation layer) as a Dagster resource.

Denodo VDP speaks the PostgreSQL wire protocol on its "ODBC" port (9996 by default), so this
resource shares the PostgreSQL-wire base (`PostgresWireResource`: psycopg, the Arrow type mapping,
TLS settings) with `PostgreSQLResource` but talks the way Denodo's own ODBC driver does: values
bound on the client, results streamed with `DECLARE … CURSOR` / `FETCH` over the simple query
protocol. It has no PostgreSQL-only settings and no load verbs (Denodo is read-only here).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field

from dagster_cfwb.resources.db.postgres_wire_resource import PostgresWireResource
from dagster_cfwb.transfer.arrow_stream import to_output
from dagster_cfwb.transfer.identifiers import quote_identifier, split_table_name
from dagster_cfwb.transfer.parquet_files import ParquetWriteResult
from dagster_cfwb.transfer.postgres.declare_fetch import iter_declare_fetch_batches, iter_simple_query_batches

__all__ = ["DenodoResource", "build_view_query", "describe_view_vql", "list_views_vql"]

_LIST_VIEWS = "SELECT database_name, name, view_type, folder, description FROM GET_VIEWS() WHERE input_database_name = %s"
_DESCRIBE_VIEW = (
    "SELECT column_name, column_vdp_type_name, column_type_name, column_type_precision, column_type_scale, "
    "column_description FROM CATALOG_VDP_METADATA_VIEWS() "
    "WHERE input_database_name = %s AND input_view_name = %s"
)
_VIEW_TYPES = {0: "base", 1: "derived", 2: "interface", 3: "materialized"}


def list_views_vql(database: str) -> tuple[str, list[str]]:
    """VQL (and bound values) that lists the views of a virtual database with Denodo's `GET_VIEWS()`."""
    return _LIST_VIEWS, [database]


def describe_view_vql(database: str, view: str) -> tuple[str, list[str]]:
    """VQL (and bound values) that lists a view's fields with `CATALOG_VDP_METADATA_VIEWS()`."""
    return _DESCRIBE_VIEW, [database, view]


def build_view_query(
    view: str,
    columns: Sequence[str] | None = None,
    where: Mapping[str, Any] | str | None = None,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> tuple[str, Any]:
    """Build `SELECT <columns> FROM <view> [WHERE …]` with quoted identifiers and bound values.

    Args:
        view: view name, or `database.view`; letters, digits and `_` only.
        columns: columns to read (default: all).
        where: `{"column": value}` (equality, `None` → `IS NULL`, a list → `IN (…)`, all
            joined with AND; values bound), or a condition text with `%s` placeholders whose values
            go in `params` (e.g. `"annee >= %s"`).
        params: values for the placeholders of a text `where`.

    Returns:
        `(vql, params)` ready for `DenodoResource.query`.

    Raises:
        IdentifierError: a view or column name is not a plain identifier.
        ValueError: `params` given together with a dict `where`.

    Example:
        >>> build_view_query("bv_eleves", ["id", "nom"], {"annee": 2024})
        ('SELECT "id", "nom" FROM "bv_eleves" WHERE "annee" = %s', [2024])
    """
    name = split_table_name(view)
    select = ", ".join(quote_identifier(c, what="column") for c in columns) if columns else "*"
    sql = f"SELECT {select} FROM {name.quoted('postgres')}"  # identifiers validated and quoted
    if where is None:
        return sql, params
    if isinstance(where, str):
        if not where.strip():
            return sql, params
        return f"{sql} WHERE {where}", params
    if params is not None:
        raise ValueError("Give `params` only with a text `where`; a dict `where` already holds its values.")
    clauses: list[str] = []
    values: list[Any] = []
    for column, value in where.items():
        quoted = quote_identifier(column, what="column")
        if value is None:
            clauses.append(f"{quoted} IS NULL")
        elif isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            if not items:
                raise ValueError(f"The value list for column `{column}` in `where` is empty.")
            clauses.append(f"{quoted} IN ({', '.join(['%s'] * len(items))})")
            values.extend(items)
        else:
            clauses.append(f"{quoted} = %s")
            values.append(value)
    if not clauses:
        return sql, None
    return f"{sql} WHERE {' AND '.join(clauses)}", values


class DenodoResource(PostgresWireResource):
    """Denodo Virtual DataPort: read its views as DataFrames or Arrow, and copy them into the lakehouse.

    It connects to Denodo's PostgreSQL-compatible port (9996 by default) with a Denodo user and a
    *virtual database*. `query` / `iter_batches` / `extract_to_lakehouse` run any VQL SELECT;
    `query_view` and `to_lakehouse` build the SELECT for you from a view name, columns and a
    filter (names checked and quoted, values bound); `list_views` and `describe_view` read
    Denodo's catalog (`GET_VIEWS()`, `CATALOG_VDP_METADATA_VIEWS()`) with the descriptions data
    stewards maintain. Denodo is read-only here: it has no `copy_from_df`.

    How it is tested: no Denodo server runs in CI. The data path (connect, client-side binding,
    `DECLARE`/`FETCH` streaming, Arrow types, lakehouse file) runs against a real PostgreSQL,
    which speaks the same wire protocol; the catalog calls are checked at the level of the VQL they
    send and of how their rows are read. Try it on your Denodo before relying on it for a new kind
    of view.

    Example:

    ```python
    from dagster import EnvVar
    denodo = DenodoResource(
        host="denodo.intranet.example", database="enseignement",
        user="svc_dagster", password=EnvVar("DENODO_PASSWORD"), sslmode="require",
    )
    denodo.list_views()                                   # name, type, folder, description
    denodo.describe_view("bv_eleves")                     # columns, types, descriptions
    df = denodo.query_view("bv_eleves", ["id", "nom"], where={"annee": 2024})
    denodo.to_lakehouse("bv_eleves", lakehouse, "enseignement/stg/eleves.parquet")
    ```
    """

    host: str = Field(
        default="localhost", description="Denodo server host name, e.g. `denodo.intranet.example`."
    )
    port: int = Field(default=9996, description="Denodo's ODBC/PostgreSQL-protocol port (default 9996).")
    user: str = Field(
        default="admin", description="Denodo user to sign in as (a service account in production)."
    )
    database: str = Field(
        default="admin", description="Virtual database (VDP database) to connect to, e.g. `enseignement`."
    )
    application_name: str = Field(
        default="dagster-cfwb", description="Client name sent to Denodo (shown in its session monitor)."
    )
    fetch_mode: Literal["cursor", "simple"] = Field(
        default="cursor",
        description=(
            "How results are read: `cursor` (default: `DECLARE … CURSOR` then `FETCH` of `batch_rows` rows "
            "at a time, flat memory — what Denodo's ODBC driver does) or `simple` (one plain query, the "
            "whole result received at once; use it only if your Denodo refuses cursors)."
        ),
    )

    asset_kind = "denodo"
    engine_label = "Denodo"

    def _connect_kwargs(self) -> dict:
        import psycopg

        kwargs = super()._connect_kwargs()
        # values bound on the client and no prepared statements, as Denodo's own ODBC driver does
        return {**kwargs, "cursor_factory": psycopg.ClientCursor, "prepare_threshold": None}

    def _iter_batches_on(self, conn, sql: str, params, batch_rows: int) -> Iterator[pa.RecordBatch]:
        if self.fetch_mode == "simple":
            yield from iter_simple_query_batches(conn, sql, params, batch_rows=batch_rows)
        else:
            yield from iter_declare_fetch_batches(conn, sql, params, batch_rows=batch_rows)

    def table_schema(self, table: str, schema: str | None = None) -> dict[str, str]:
        """Column name → Denodo type of a view (`schema` is the virtual database; default: the connected one)."""
        name = split_table_name(table, schema)
        columns = self.describe_view(str(name), output="arrow")
        return dict(zip(columns["column_name"].to_pylist(), columns["type"].to_pylist(), strict=True))

    def _split_view(self, view: str) -> tuple[str, str]:
        name = split_table_name(view)
        return (name.schema or self.database), name.table

    def list_views(self, database: str | None = None, output: str = "polars"):
        """The views of a virtual database (default: the connected one).

        Returns:
            A table with `database_name`, `name`, `view_type` (`base`, `derived`,
            `interface`, `materialized`), `folder` and `description`, sorted by name.
        """
        sql, params = list_views_vql(database or self.database)
        table = self.query(sql, params, output="arrow")
        kinds = [
            _VIEW_TYPES.get(v, str(v)) if v is not None else None for v in table["view_type"].to_pylist()
        ]
        table = table.set_column(
            table.schema.get_field_index("view_type"), "view_type", pa.array(kinds, pa.large_string())
        )
        return to_output(table.sort_by("name"), output)

    def describe_view(self, view: str, output: str = "polars"):
        """The columns of a view with their types and descriptions.

        Args:
            view: view name, or `database.view`.

        Returns:
            A table with `column_name`, `type` (Denodo type, e.g. `text`, `int`),
            `sql_type` (JDBC type, e.g. `VARCHAR`), `precision`, `scale` and `description`.

        Raises:
            LookupError: the view does not exist or the user lacks the Metadata privilege on it.
        """
        database, name = self._split_view(view)
        sql, params = describe_view_vql(database, name)
        table = self.query(sql, params, output="arrow")
        if table.num_rows == 0:
            raise LookupError(
                f"Denodo view `{name}` was not found in virtual database `{database}` (or user `{self.user}` "
                "lacks the Metadata privilege on it)."
            )
        renamed = table.rename_columns(
            ["column_name", "type", "sql_type", "precision", "scale", "description"]
        )
        return to_output(renamed, output)

    def column_descriptions(self, relation: str) -> dict[str, str]:
        """Column → description data stewards wrote in Denodo for view `relation` (none left out as empty)."""
        columns = self.describe_view(relation, output="arrow")
        names, texts = columns["column_name"].to_pylist(), columns["description"].to_pylist()
        return {str(n): str(d) for n, d in zip(names, texts, strict=True) if d}

    def table_names(self) -> list[str]:
        """`database.view` of every view of the connected virtual database (from `GET_VIEWS()`)."""
        views = self.list_views(output="arrow")
        return [
            f"{d}.{n}"
            for d, n in zip(views["database_name"].to_pylist(), views["name"].to_pylist(), strict=True)
            if n
        ]

    def query_view(
        self,
        view: str,
        columns: Sequence[str] | None = None,
        where: Mapping[str, Any] | str | None = None,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        output: str = "polars",
    ):
        """Read a view (all its rows, or those matching `where`) as a DataFrame.

        See `build_view_query` for `columns`, `where` and `params`.
        """
        sql, values = build_view_query(view, columns, where, params)
        return self.query(sql, values, output=output)

    def to_lakehouse(
        self,
        view: str,
        lakehouse,
        path: str,
        *,
        columns: Sequence[str] | None = None,
        where: Mapping[str, Any] | str | None = None,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        batch_rows: int | None = None,
    ) -> ParquetWriteResult:
        """Stream a view into one Parquet file of the lakehouse, written atomically.

        Returns:
            ParquetWriteResult (path, rows, bytes, schema) for the asset's metadata.
        """
        sql, values = build_view_query(view, columns, where, params)
        return self.extract_to_lakehouse(sql, lakehouse, path, params=values, batch_rows=batch_rows)
