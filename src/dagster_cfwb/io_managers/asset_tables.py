"""Where the lakehouse IO manager stores an asset: `<code_location>/<layer>/<name>`.

The asset key says it, read from the end:

| asset key | stored at |
|---|---|
| `["enseignement", "slv", "eleves"]` | `enseignement/slv/eleves` |
| `["slv", "eleves"]` | `<code_location>/slv/eleves` (`code_location` of the IO manager) |
| `["slv_eleves"]` | `<code_location>/slv/eleves` (the name's prefix is the layer) |
| `["eleves"]` with tag or metadata `cfwb/layer: slv` | `<code_location>/slv/eleves` |

The code location written in the key wins over the IO manager's `code_location`, so an asset of
another location (a cross-location input) is read where its own location wrote it. A layer given
twice (key and `cfwb/layer`) must agree. A Parquet asset is the file `<path>.parquet`, or, when
partitioned, one file per partition `<path>/<partition key>.parquet`; a Delta asset is the table
folder `<path>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from dagster_cfwb.transfer.identifiers import validate_identifier
from dagster_cfwb.transfer.lakehouse_paths import LAYERS

__all__ = ["AssetTable", "asset_table", "partition_file_name"]


@dataclass(frozen=True)
class AssetTable:
    """The lakehouse place of one asset."""

    code_location: str
    layer: str
    name: str

    @property
    def path(self) -> str:
        """`<code_location>/<layer>/<name>`: the Delta table folder, the Parquet partitions' folder."""
        return f"{self.code_location}/{self.layer}/{self.name}"

    @property
    def parquet_file(self) -> str:
        """The one Parquet file of an unpartitioned asset: `<path>.parquet`."""
        return f"{self.path}.parquet"

    def partition_file(self, partition_key: str) -> str:
        """The Parquet file of one partition: `<path>/<partition key>.parquet`."""
        return f"{self.path}/{partition_file_name(partition_key)}"


def partition_file_name(partition_key: str) -> str:
    """`2026-01-31` → `2026-01-31.parquet`; characters unsafe in a file name are %-encoded."""
    if not partition_key:
        raise ValueError("An empty partition key cannot name a lakehouse file.")
    return quote(partition_key, safe="-_.=+,@") + ".parquet"


def _explain(asset: str, problem: str) -> ValueError:
    return ValueError(
        f"Asset `{asset}`: {problem} The lakehouse IO manager stores an asset at "
        '`<code_location>/<layer>/<name>`: give it a key like `["enseignement", "slv", "eleves"]`, '
        f'or a key `["slv", "eleves"]` / `["slv_eleves"]` with `code_location` set on the IO manager, '
        f"or a tag `cfwb/layer` (one of {', '.join(LAYERS)})."
    )


def asset_table(
    key_path: Sequence[str], *, code_location: str | None = None, layer: str | None = None
) -> AssetTable:
    """The lakehouse place of the asset with key `key_path` (rules in the module docstring).

    Args:
        key_path: the asset key's parts, e.g. `["enseignement", "slv", "eleves"]`.
        code_location: the IO manager's `code_location`, used when the key has none.
        layer: the `cfwb/layer` tag or metadata of the asset, if any.

    Raises:
        ValueError: the key gives no code location or layer, a layer that is not `stg`, `slv` or
            `gld`, two different layers, or a part that is not a valid name.

    Example:
        >>> asset_table(["enseignement", "slv", "eleves"]).path
        'enseignement/slv/eleves'
        >>> asset_table(["stg_example"], code_location="code_location").parquet_file
        'code_location/stg/example.parquet'
    """
    parts = list(key_path)
    asset = "/".join(parts)
    if layer is not None and layer not in LAYERS:
        raise _explain(asset, f"tag `cfwb/layer` is `{layer}`, which is not a lakehouse layer.")
    key_location = key_layer = None
    if len(parts) == 3:
        key_location, key_layer, name = parts
        if key_layer not in LAYERS:
            raise _explain(asset, f"the middle part of the key, `{key_layer}`, is not a lakehouse layer.")
    elif len(parts) == 2 and parts[0] in LAYERS:
        key_layer, name = parts
    elif len(parts) == 2:
        key_location, name = parts
    elif len(parts) == 1:
        name = parts[0]
    else:
        raise _explain(asset, f"its key has {len(parts)} parts, at most 3 are understood.")
    if key_layer is not None and layer is not None and key_layer != layer:
        raise _explain(asset, f"its key says layer `{key_layer}` but its tag `cfwb/layer` says `{layer}`.")
    prefix, sep, rest = name.partition("_")
    chosen = key_layer or layer
    if chosen is None and sep and prefix in LAYERS and rest:
        chosen = prefix
    if chosen is None:
        raise _explain(asset, "its key gives no layer.")
    if key_layer is None and prefix == chosen and sep and rest:
        name = rest  # `stg_example` in layer `stg` is the table `example`, as dbt models are named
    location = key_location or code_location
    if not location:
        raise _explain(asset, "its key gives no code location and the IO manager has no `code_location`.")
    validate_identifier(location, what=f"code location of asset `{asset}`")
    validate_identifier(name, what=f"table name of asset `{asset}`")
    return AssetTable(location, chosen, name)
