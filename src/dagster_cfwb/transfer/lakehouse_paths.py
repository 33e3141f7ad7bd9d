"""Lakehouse paths: `<code_location>/<layer>/<table>.parquet` and `azure://` URLs in SQL.

In SQL handed to a lakehouse resource, `'azure://<path>'` names a file of the lakehouse:
`azure://enseignement/stg/eleves.parquet` is `enseignement/stg/eleves.parquet` under the
lakehouse root (the Azure container, or the local folder). Globs work: `azure://x/stg/*.parquet`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dagster_cfwb.transfer.identifiers import validate_identifier

__all__ = [
    "AZURE_URL",
    "LAYERS",
    "lakehouse_path",
    "normalize_lakehouse_path",
    "rewrite_lakehouse_urls",
    "strip_scheme",
]

LAYERS = ("stg", "slv", "gld")
# `'azure://...'` or `'az://...'` inside a single-quoted SQL string literal.
AZURE_URL = re.compile(r"'(?:azure|az)://((?:[^']|'')*)'")


def lakehouse_path(code_location: str, layer: str, table: str, *, extension: str = "parquet") -> str:
    """Return `<code_location>/<layer>/<table>.parquet` after validating each part.

    Args:
        code_location: the department or project owning the data, e.g. `"enseignement"`.
        layer: `stg` (raw import), `slv` (cleaned) or `gld` (ready for use).
        table: the table name, letters/digits/underscores.

    Example:
        >>> lakehouse_path("enseignement", "stg", "eleves")
        'enseignement/stg/eleves.parquet'
    """
    if layer not in LAYERS:
        raise ValueError(f"Unknown lakehouse layer `{layer}`; expected one of {', '.join(LAYERS)}.")
    validate_identifier(code_location, what="code location")
    validate_identifier(table, what="table")
    return f"{code_location}/{layer}/{table}.{extension}"


def strip_scheme(path: str) -> str:
    """`azure://a/b` → `a/b`; plain relative paths are returned without leading slashes."""
    for prefix in ("azure://", "az://"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
            break
    return path.lstrip("/")


def normalize_lakehouse_path(path: str) -> str:
    """Validate a lakehouse-relative path: no `..`, no empty parts; returns `a/b/c.parquet`."""
    clean = strip_scheme(path)
    parts = clean.split("/")
    if not clean or any(p in ("", ".", "..") for p in parts):
        raise ValueError(
            f"Invalid lakehouse path {path!r}: expected something like `enseignement/stg/eleves.parquet`."
        )
    return clean


def rewrite_lakehouse_urls(sql: str, to_location: Callable[[str], str]) -> str:
    """Replace every `'azure://<path>'` literal in `sql` with `'<to_location(path)>'`."""

    def replace(match: re.Match) -> str:
        target = to_location(match.group(1).replace("''", "'"))
        return "'" + target.replace("'", "''") + "'"

    return AZURE_URL.sub(replace, sql)
