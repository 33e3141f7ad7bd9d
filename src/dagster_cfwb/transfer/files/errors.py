"""Errors raised while reading source files (CSV, Excel, JSON, Parquet)."""

from __future__ import annotations

from dagster_cfwb.errors import CfwbError

__all__ = ["FileParseError"]


class FileParseError(CfwbError, ValueError):
    """A source file could not be read; the message names the server, the path and the line.

    Attributes:
        source: where the file lives, e.g. `ftp://etl@files.intranet:21/inbox/eleves.csv`.
        line: 1-based line of the file where the problem is (None when unknown).
    """

    def __init__(self, source: str, problem: str, *, line: int | None = None, hint: str = ""):
        self.source = source
        self.line = line
        where = f"`{source}`" + (f", line {line}" if line else "")
        super().__init__(f"Cannot read {where}: {problem}" + (f" {hint}" if hint else ""))
