"""The root of every dagster-cfwb error: catch `CfwbError` to catch any error the package raises.

Each area keeps its own error class with its built-in base, so `except ValueError` (a refused
value, a bad identifier, an invalid YAML field), `except ConnectionError` (a server that cannot be
reached) or `except OSError` (a file server or lakehouse problem) keep working; all of them also
derive from `CfwbError`:

```python
from dagster_cfwb import CfwbError
from dagster_cfwb.transfer.identifiers import validate_identifier

try:
    validate_identifier("élèves; DROP TABLE x", what="table")
except CfwbError as e:  # also a ValueError
    print(f"refused: {e}")
```

Plain Python with no imports, so the Dagster-free `transfer` layer can use it.
"""

__all__ = ["CfwbError"]


class CfwbError(Exception):
    """Base class of every error dagster-cfwb raises (each also keeps its built-in base)."""
