"""YAML building blocks shared by the components: a lakehouse table, a source, partitions."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import dagster as dg
from dagster.components import Resolver
from pydantic import field_validator, model_validator

from dagster_cfwb.components.yaml_errors import field_description
from dagster_cfwb.transfer.identifiers import validate_identifier
from dagster_cfwb.transfer.lakehouse_paths import lakehouse_path

__all__ = [
    "SOURCE_KINDS",
    "PartitionsModel",
    "SourceModel",
    "TableModel",
    "LakehouseTable",
    "Source",
    "Partitions",
]

SOURCE_KINDS = ("denodo", "database", "file", "api")


def _dotted_name(value: str | None, field: str, prefix: str, what: str) -> str | None:
    """Validate `name` or `<prefix>.name` (each part a plain identifier); None passes."""
    if value is not None:
        parts = value.split(".")
        if len(parts) > 2:
            raise ValueError(f"`{field}` must be `{field}` or `{prefix}.{field}`; found {value!r}")
        for part in parts:
            validate_identifier(part, what=what)
    return value


class LakehouseTable(dg.Model, dg.Resolvable):
    """A table of the lakehouse: `<code_location>/<layer>/<table>.parquet`."""

    code_location: Annotated[
        str,
        Resolver.default(
            description="Department or project that owns the table, e.g. `enseignement`. Letters, digits and `_`.",
            examples=["enseignement"],
        ),
    ]
    layer: Annotated[
        Literal["stg", "slv", "gld"],
        Resolver.default(
            description="Lakehouse layer: `stg` (raw copy of the source), `slv` (cleaned), `gld` (ready for reports).",
            examples=["stg"],
        ),
    ]
    table: Annotated[
        str,
        Resolver.default(
            description="Table name in the lakehouse, e.g. `eleves`. Letters, digits and `_`; becomes `<table>.parquet`.",
            examples=["eleves"],
        ),
    ]

    @field_validator("code_location")
    @classmethod
    def _check_code_location(cls, value: str) -> str:
        return validate_identifier(value, what="code location")

    @field_validator("table")
    @classmethod
    def _check_table(cls, value: str) -> str:
        return validate_identifier(value, what="lakehouse table")

    @property
    def path(self) -> str:
        """`enseignement/stg/eleves.parquet`."""
        return lakehouse_path(self.code_location, self.layer, self.table)

    @property
    def asset_key(self) -> dg.AssetKey:
        """The asset that holds this table: `enseignement/stg/eleves`."""
        return dg.AssetKey([self.code_location, self.layer, self.table])


TableModel = LakehouseTable  # former name; the UI shows a YAML block as `<class name>Model`


class Source(dg.Model, dg.Resolvable):
    """Where an import reads its data; which fields apply depends on `kind`."""

    kind: Annotated[
        Literal["denodo", "database", "file", "api"],
        Resolver.default(
            description=(
                "Kind of source: `database` (PostgreSQL, MySQL/MariaDB, SQL Server, DB2: give `table` or "
                "`query`), `denodo` (give `view` or `query`), `file` (FTP/SFTP/NFS share: give `path`), "
                "`api` (REST API: give `endpoint`)."
            ),
            examples=["database"],
        ),
    ]
    resource_key: Annotated[
        str,
        Resolver.default(
            description=(
                "Name of the resource that connects to the source, as declared in the code location "
                "(e.g. `postgresql`, `denodo`, `sftp`, `api_insee`)."
            ),
            examples=["postgresql"],
        ),
    ]
    table: Annotated[
        str | None,
        Resolver.default(
            description="`database` only: table to copy, `table` or `schema.table`, e.g. `public.eleves`.",
            examples=["public.eleves"],
        ),
    ] = None
    view: Annotated[
        str | None,
        Resolver.default(
            description="`denodo` only: the Denodo view to copy, `view` or `database.view`, e.g. `bv_eleves`."
        ),
    ] = None
    query: Annotated[
        str | None,
        Resolver.default(
            description=(
                "`database` or `denodo`: a SELECT, in the source's own SQL, to run instead of copying a whole "
                "table/view. It runs exactly as written (no values can be passed in); with `mode: incremental` "
                "or `partitions`, the row filter is added around it."
            ),
            examples=["SELECT id, nom, classe FROM public.eleves WHERE actif"],
        ),
    ] = None
    columns: Annotated[
        list[str] | None,
        Resolver.default(description="`table`/`view` sources: copy only these columns (default: all)."),
    ] = None
    path: Annotated[
        str | None,
        Resolver.default(
            description="`file` only: file path or glob on the share, e.g. `exports/eleves_*.csv`.",
            examples=["exports/eleves.csv"],
        ),
    ] = None
    format: Annotated[
        Literal["csv", "parquet", "json", "ndjson", "excel"] | None,
        Resolver.default(
            description="`file` only: file format (`csv`, `excel`, `json`, `ndjson`, `parquet`); default: guessed from the file extension."
        ),
    ] = None
    options: Annotated[
        dict[str, Any] | None,
        Resolver.default(
            description=(
                "`file` only: how to read the file, e.g. `{delimiter: ';', encoding: windows-1252, "
                "decimal_comma: true}` for a CSV from Excel, `{null_values: ['', 'NA']}` when `NA` means a "
                "missing value in text columns too, or `{sheet: Feuil1}` for an Excel workbook."
            )
        ),
    ] = None
    endpoint: Annotated[
        str | None,
        Resolver.default(
            description="`api` only: path of the API endpoint, relative to the resource's base URL, e.g. `/v1/communes`.",
        ),
    ] = None
    params: Annotated[
        dict[str, str] | None,
        Resolver.default(
            description="`api` only: query-string parameters sent with the request, e.g. `{annee: '2024'}`."
        ),
    ] = None
    paginator: Annotated[
        dict[str, Any] | str | None,
        Resolver.default(
            description=(
                "`api` only: how the API splits results into pages, e.g. `{type: offset, limit: 500}`, "
                "`link_header`, `{type: cursor, cursor_path: next}` (default: one request)."
            )
        ),
    ] = None
    records_path: Annotated[
        str | None,
        Resolver.default(
            description="`api` only: where the list of records sits in the JSON response, e.g. `data.items` (default: the whole body)."
        ),
    ] = None
    column_names: Annotated[
        Literal["snake_case", "as_is"] | None,
        Resolver.default(
            description=(
                "`file` and `api` only: `snake_case` (the default) renames the columns to safe names "
                "(`Date d'œuf` → `date_d_oeuf`, `Sample Number` → `sample_number`, accents folded, "
                "duplicates suffixed `_2`); each original name stays in the column's description. "
                "`as_is` keeps the names exactly as the file or API writes them (the lakehouse accepts "
                "them, but exporting such a table to a database needs plain names)."
            ),
            examples=["snake_case"],
        ),
    ] = None

    @field_validator("resource_key")
    @classmethod
    def _check_resource_key(cls, value: str) -> str:
        return validate_identifier(value, what="resource key")

    @field_validator("table")
    @classmethod
    def _check_table(cls, value: str | None) -> str | None:
        return _dotted_name(value, "table", "schema", "source table")

    @field_validator("view")
    @classmethod
    def _check_view(cls, value: str | None) -> str | None:
        return _dotted_name(value, "view", "database", "Denodo view")

    @field_validator("columns")
    @classmethod
    def _check_columns(cls, value: list[str] | None) -> list[str] | None:
        for column in value or []:
            validate_identifier(column, what="column")
        return value

    @model_validator(mode="after")
    def _check_kind_fields(self):
        wanted = {
            "database": ("table", "query"),
            "denodo": ("view", "query"),
            "file": ("path",),
            "api": ("endpoint",),
        }[self.kind]
        given = [name for name in ("table", "view", "query", "path", "endpoint") if getattr(self, name)]
        foreign = [name for name in given if name not in wanted]
        if foreign:
            raise ValueError(
                f"`{'`, `'.join(foreign)}` does not apply to a `{self.kind}` source; "
                f"a `{self.kind}` source takes {' or '.join(f'`{w}`' for w in wanted)}"
            )
        kind_only = {
            "options": "file",
            "format": "file",
            "params": "api",
            "records_path": "api",
            "paginator": "api",
        }
        if self.column_names is not None and self.kind not in ("file", "api"):
            raise ValueError(
                f"`column_names` does not apply to a `{self.kind}` source (only to `file` and `api` sources)"
            )
        misplaced = [f for f, k in kind_only.items() if getattr(self, f) is not None and k != self.kind]
        if misplaced:
            raise ValueError(
                f"`{'`, `'.join(misplaced)}` does not apply to a `{self.kind}` source "
                f"(only to `{kind_only[misplaced[0]]}` sources)"
            )
        chosen = [name for name in given if name in wanted]
        if len(chosen) != 1:
            found = f"found {', '.join(f'`{c}`' for c in chosen)}" if chosen else "found none"
            if len(wanted) == 1:
                raise ValueError(f"a `{self.kind}` source needs `{wanted[0]}` ({_what(wanted[0])}); {found}")
            raise ValueError(
                f"a `{self.kind}` source needs exactly one of {' or '.join(f'`{w}`' for w in wanted)}; {found}"
            )
        if self.columns and self.query:
            raise ValueError(
                "`columns` applies to `table`/`view` sources; with `query`, select the columns in the SQL"
            )
        return self

    def describe(self) -> str:
        """A one-line description of the source for metadata, e.g. `database postgresql: public.eleves`."""
        what = self.table or self.view or self.path or self.endpoint or "query"
        return f"{self.kind} `{self.resource_key}`: {what}"


def _what(field: str) -> str:
    """The description of `Source.<field>` without its "`file` only:" lead and final period."""
    text = field_description(Source, field) or ""
    return re.sub(r"^`\w+` only: ", "", text).rstrip(".")


SourceModel = Source  # former name; the UI shows a YAML block as `<class name>Model`


class Partitions(dg.Model, dg.Resolvable):
    """Split an import into one run per day or month, each reading only its own rows."""

    frequency: Annotated[
        Literal["daily", "monthly"],
        Resolver.default(description="`daily` (one partition per day) or `monthly` (one per month)."),
    ]
    start_date: Annotated[
        str,
        Resolver.default(
            description="First partition, as `YYYY-MM-DD`, e.g. `2024-01-01`.", examples=["2024-01-01"]
        ),
    ]
    column: Annotated[
        str,
        Resolver.default(
            description=(
                "Date or timestamp column of the source that places a row in a partition: a partition "
                "reads the rows with `start <= column < end`."
            ),
            examples=["date_inscription"],
        ),
    ]

    @field_validator("column")
    @classmethod
    def _check_column(cls, value: str) -> str:
        return validate_identifier(value, what="partition column")

    @field_validator("start_date")
    @classmethod
    def _check_start(cls, value: str) -> str:
        import datetime as dt

        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"`start_date` must be a date written YYYY-MM-DD; found {value!r}") from None
        return value

    def definition(self) -> dg.PartitionsDefinition:
        if self.frequency == "daily":
            return dg.DailyPartitionsDefinition(start_date=self.start_date)
        return dg.MonthlyPartitionsDefinition(start_date=self.start_date)


PartitionsModel = Partitions  # former name; the UI shows a YAML block as `<class name>Model`
