"""The one error every engine raises for a value or type it cannot hold or read exactly."""

from __future__ import annotations

from dagster_cfwb.errors import CfwbError

__all__ = ["UnsupportedTypeError"]


class UnsupportedTypeError(CfwbError, TypeError):
    """A column's type or value cannot be held exactly by the target database column (or read
    exactly from the source); the message names the table, the column and what to do."""
