"""Column names of files and API records made safe: `Date d'œuf` → `date_d_oeuf`.

Real headers hold spaces, accents, apostrophes, ligatures, duplicates or nothing at all. By default
(`column_names="snake_case"`) the file and API sources rename them to lower-case snake_case
identifiers that every SQL engine accepts unquoted, and keep each original name in the Arrow field
metadata (key `original_name`), which the lakehouse Parquet file stores and the asset's column
schema shows as the column's description. `column_names="as_is"` keeps the names exactly as they
are: the lakehouse (Parquet, DuckDB) takes any name but two that differ only by case (DuckDB would
rename one: refused), and a database export refuses names that are not plain identifiers.

Rules of `snake_case`:

- accents are folded (`é` → `e`) and ligatures spelled out (`œ` → `oe`, `æ` → `ae`,
  `ß` → `ss`); letters of other alphabets are kept, lower-cased;
- every run of other characters (spaces, `'`, `-`, `.`, `/`…) becomes one `_`; leading and
  trailing `_` are dropped; `camelCase` is not split (`NumeroINSEE` → `numeroinsee`);
- a name starting with a digit gets a leading `_` (`2024 total` → `_2024_total`);
- an empty name becomes `column_<position>` (1-based); names are cut to 63 characters;
- a name already taken gets `_2`, `_3`… (`Nom`, `nom` → `nom`, `nom_2`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

__all__ = [
    "COLUMN_NAME_MODES",
    "ORIGINAL_NAME_KEY",
    "check_column_names_mode",
    "normalize_column_names",
    "original_names",
    "rename_schema",
    "resolve_schema_keys",
    "snake_case",
]

COLUMN_NAME_MODES = ("snake_case", "as_is")
ORIGINAL_NAME_KEY = b"original_name"
_MAX_LENGTH = 63  # PostgreSQL's limit, the strictest of the engines we serve
# Letters that Unicode does not decompose into a base letter plus an accent.
_SPELLED = str.maketrans(
    {
        "œ": "oe",
        "Œ": "OE",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
        "ẞ": "SS",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "ł": "l",
        "Ł": "L",
        "þ": "th",
        "Þ": "TH",
        "ı": "i",
    }
)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def check_column_names_mode(mode: str) -> str:
    """Return `mode` if it is `snake_case` or `as_is`.

    Raises:
        ValueError: any other value (the message lists the valid ones).
    """
    if mode not in COLUMN_NAME_MODES:
        raise ValueError(f"Unknown `column_names` {mode!r}; expected one of {', '.join(COLUMN_NAME_MODES)}.")
    return mode


def snake_case(name: str) -> str:
    """`name` as a lower-case snake_case identifier; `""` when nothing of it is left.

    Example:
        >>> snake_case("Date d'œuf"), snake_case("Sample Number"), snake_case("2024 – Total (€)")
        ('date_d_oeuf', 'sample_number', '_2024_total')
    """
    text = unicodedata.normalize("NFKD", str(name).translate(_SPELLED))
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_SPELLED).lower()
    text = _NOT_WORD.sub("_", text).strip("_")
    if text[:1].isdigit():
        text = "_" + text
    return text[:_MAX_LENGTH].rstrip("_") if len(text) > _MAX_LENGTH else text


def normalize_column_names(names: Sequence[str]) -> list[str]:
    """Each name in snake_case, empty ones as `column_<position>`, duplicates suffixed `_2`, `_3`…

    Example:
        >>> normalize_column_names(["Nom", "nom", "", "Prénom", "Nom"])
        ['nom', 'nom_2', 'column_3', 'prenom', 'nom_3']
    """
    wanted = [snake_case(n) or f"column_{i}" for i, n in enumerate(names, 1)]
    taken: set[str] = set()
    out = []
    for base in wanted:
        name, n = base, 1
        while name in taken:
            n += 1
            suffix = f"_{n}"
            name = base[: _MAX_LENGTH - len(suffix)] + suffix
        taken.add(name)
        out.append(name)
    return out


def rename_schema(schema: pa.Schema, mode: str) -> pa.Schema:
    """`schema` with its names in `mode`; a renamed field keeps its old name as `original_name` metadata."""
    if check_column_names_mode(mode) == "as_is":
        return schema
    names = normalize_column_names(schema.names)
    if names == schema.names:
        return schema
    fields = []
    for f, new in zip(schema, names, strict=True):
        if new != f.name:
            f = f.with_name(new).with_metadata({**(f.metadata or {}), ORIGINAL_NAME_KEY: f.name.encode()})
        fields.append(f)
    return pa.schema(fields, metadata=schema.metadata)


def original_names(schema: pa.Schema) -> dict[str, str]:
    """`{name: original name}` of the renamed columns of `schema` (see `rename_schema`)."""
    return {
        f.name: f.metadata[ORIGINAL_NAME_KEY].decode()
        for f in schema
        if f.metadata and ORIGINAL_NAME_KEY in f.metadata
    }


def resolve_schema_keys(spec: Mapping[str, Any], file_names: Iterable[str]) -> dict[str, Any]:
    """`spec` (column → type) with each key turned into the file's own column name.

    A key may be the name as the file writes it (`Sample Number`) or its snake_case form
    (`sample_number`). Keys that match neither are kept as they are (the caller reports them).

    Raises:
        ValueError: a key names two columns (headers `a b` and `a_b`: `a_b` is the file's `a_b`
            and the snake_case name of `a b`) and the other one is not named by its header too, or
            two keys name the same column; the message says which key to write instead.
    """
    names = list(file_names)
    snake = normalize_column_names(names)
    by_snake = dict(zip(snake, names, strict=True))
    renamed = dict(zip(names, snake, strict=True))
    present = set(names)
    out: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for key, value in spec.items():
        other = by_snake.get(key, key)
        if key in present and other != key and other not in spec:
            raise ValueError(
                f"`{key}` in `schema` names two columns: the header {key!r} and the header {other!r} (whose "
                f"snake_case name is `{key}`). Say which with the file's own header: {{{other!r}: …}}, or "
                f"{{{renamed[key]!r}: …}} (the renamed name of the header {key!r}), or give both headers as written."
            )
        column = key if key in present else other
        if column in keys:
            raise ValueError(
                f"`{keys[column]}` and `{key}` in `schema` name the same column {column!r}; keep one of them."
            )
        keys[column] = key
        out[column] = value
    return out
