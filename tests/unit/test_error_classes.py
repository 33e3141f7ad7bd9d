"""Every error class of dagster-cfwb derives from `CfwbError` and keeps its built-in base."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import dagster_cfwb
from dagster_cfwb import CfwbError

# Not errors: control-flow signals that must pass `except Exception` (so not `CfwbError`).
_SIGNALS = {"dagster_cfwb.cli.run_preview._PreviewDone"}


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in pkgutil.walk_packages(dagster_cfwb.__path__, "dagster_cfwb."):
        for obj in vars(importlib.import_module(module.name)).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__.startswith("dagster_cfwb")
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_error_class_derives_from_cfwb_error():
    classes = _exception_classes()
    assert len(classes) > 20  # the walk found the package's errors
    stray = sorted(
        name for name, cls in classes.items() if not issubclass(cls, CfwbError) and name not in _SIGNALS
    )
    assert stray == [], (
        f"derive these from dagster_cfwb.errors.CfwbError (keeping their built-in base): {stray}"
    )
    assert not any(issubclass(classes[name], Exception) for name in _SIGNALS)


@pytest.mark.parametrize(
    ("module", "name", "builtin"),
    [
        ("dagster_cfwb.transfer.identifiers", "IdentifierError", ValueError),
        ("dagster_cfwb.transfer.load_result", "LoadError", RuntimeError),
        ("dagster_cfwb.transfer.files.errors", "FileParseError", ValueError),
        ("dagster_cfwb.transfer.postgres.types", "UnsupportedTypeError", TypeError),
        ("dagster_cfwb.resources.db.sql_resource", "DatabaseConnectionError", ConnectionError),
        ("dagster_cfwb.resources.files.file_server_base", "FileServerError", OSError),
        ("dagster_cfwb.components.yaml_errors", "ComponentYamlError", ValueError),
    ],
)
def test_area_errors_keep_their_builtin_base(module, name, builtin):
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, CfwbError) and issubclass(cls, builtin)


def test_os_errors_still_build_and_read_as_os_errors():
    from dagster_cfwb.resources.files.file_server_base import FileServerError, HostKeyError

    for cls in (FileServerError, HostKeyError):
        error = cls("Could not read `a.csv` on `sftp.example`")
        assert isinstance(error, OSError) and isinstance(error, CfwbError)
        assert str(error) == "Could not read `a.csv` on `sftp.example`"


def test_transfer_catches_cfwb_error_without_dagster():
    from dagster_cfwb.transfer.identifiers import validate_identifier

    with pytest.raises(CfwbError, match="not allowed"):
        validate_identifier("élèves; DROP TABLE x", what="table")
    with pytest.raises(ValueError):  # callers catching the built-in base keep working
        validate_identifier("élèves; DROP TABLE x", what="table")


def test_errors_module_runs_its_docstring_example(capsys):
    example = dagster_cfwb.errors.__doc__.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(example, "dagster_cfwb/errors.py", "exec"), {})
    assert capsys.readouterr().out.startswith("refused: The table name")


def test_the_root_error_module_imports_nothing():
    """So every layer, `transfer/` included, may import it (tests/unit/test_layers.py allows it)."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(dagster_cfwb.errors.__file__).read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
