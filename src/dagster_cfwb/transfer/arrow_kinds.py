"""Families of Arrow types that every engine's type mapping treats alike."""

from __future__ import annotations

import pyarrow as pa

__all__ = ["is_bytes", "is_text"]


def is_text(t: pa.DataType) -> bool:
    """string, large_string, string_view — and null (an all-empty column is stored as text)."""
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_null(t)
    )


def is_bytes(t: pa.DataType) -> bool:
    """binary, large_binary, binary_view (variable length; fixed-size binary is checked apart)."""
    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)
