""" "Did you mean …?" for a missing source file or table: the close names that do exist.

Best effort and cheap: one listing of the file's folder, one catalog query of the database (the
resource's `table_names`, see `dagster_cfwb.resources.protocols.ArrowSource`). If the listing or
the query fails, no suggestion is made and the original error is raised unchanged.
"""

from __future__ import annotations

import difflib
import posixpath
from typing import Any

from dagster_cfwb.resources.protocols import ArrowSource
from dagster_cfwb.transfer.identifiers import split_table_name

__all__ = ["did_you_mean", "similar_files", "similar_tables"]


def did_you_mean(wanted: str, candidates: list[str], n: int = 3) -> str:
    """`` Did you mean `a` or `b`?` for the candidates close to `wanted`, else `""``.

    Example:
        >>> did_you_mean("subvention_2026.csv", ["subventions_2026.csv", "eleves.csv"])
        ' Did you mean `subventions_2026.csv`?'
    """
    close = difflib.get_close_matches(wanted, candidates, n=n, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        close = [
            lowered[c] for c in difflib.get_close_matches(wanted.lower(), list(lowered), n=n, cutoff=0.6)
        ]
    if not close:
        return ""
    return " Did you mean " + " or ".join(f"`{c}`" for c in close) + "?"


def similar_files(resource: Any, path: str) -> str:
    """Suggestion for a missing file (or a glob matching nothing): files of the same folder."""
    try:
        folder = posixpath.dirname(path)
        files = [f.path for f in resource.list(posixpath.join(folder, "*") if folder else "*")]
    except Exception:  # a suggestion is optional
        return ""
    return did_you_mean(path, files)


def similar_tables(resource: ArrowSource, table: str) -> str:
    """Suggestion for a missing table or view: the close names of the database's catalog.

    Returns `""` when the table exists after all (the error had another cause), the catalog
    cannot be read, or the engine does not list its tables.
    """
    try:
        names = resource.table_names()
    except Exception:  # a suggestion is optional
        return ""
    if not names:
        return ""
    wanted = split_table_name(table)
    candidates = [str(n) for n in names if n]
    if wanted.schema is None:  # compare with the bare names too
        if any(c.split(".")[-1] == wanted.table for c in candidates):
            return ""
        bare = sorted({c.split(".")[-1] for c in candidates})
        return did_you_mean(wanted.table, bare) or did_you_mean(table, candidates)
    if str(wanted) in candidates:
        return ""
    return did_you_mean(str(wanted), candidates)
