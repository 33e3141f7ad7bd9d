"""`cfwb run` pieces that need no run: which location a target names, the plain failure message,
and the preview that reads through the import's own code without writing."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster._utils.error import SerializableErrorInfo

from dagster_cfwb.cli.run import _innermost_message, _locate
from dagster_cfwb.cli.run_preview import preview_rows

PLATFORM = Path(__file__).resolve().parents[2] / "platform"


def test_targets_name_their_location():
    location, path = _locate(PLATFORM, "stg/classes", PLATFORM / "enseignement")
    assert (location.name, path) == ("enseignement", None)  # a key is looked up in the current location
    location, path = _locate(PLATFORM, "culture/stg/lieux", PLATFORM)
    assert location.name == "culture"  # from the platform folder, the key's first part
    folder = "enseignement/src/enseignement/defs/import_partage/defs.yaml"
    location, path = _locate(PLATFORM, folder, PLATFORM)
    assert location.name == "enseignement" and path == (PLATFORM / folder).resolve()


def test_a_misspelt_path_is_reported_as_a_path():
    with pytest.raises(FileNotFoundError, match="No such file or folder `src/enseignement/defs/nope`"):
        _locate(PLATFORM, "src/enseignement/defs/nope", PLATFORM / "enseignement")


def test_failure_message_is_the_users_error_not_dagsters_wrapper():
    cause = SerializableErrorInfo(
        "FileNotFoundError: No such file `a.csv`. Did you mean `b.csv`?\n", [], "FileNotFoundError", None
    )
    root = SerializableErrorInfo("FileNotFoundError: No such file `a.csv`.\n", [], "FileNotFoundError", None)
    outer = SerializableErrorInfo(
        "dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op\n",
        ['  File "x.py", line 1\n'],
        "DagsterExecutionStepExecutionError",
        SerializableErrorInfo(cause.message, [], cause.cls_name, root),
    )
    assert _innermost_message(outer) == "No such file `a.csv`. Did you mean `b.csv`?"


class _Source:
    kind, resource_key, path, format, column_names = "file", "partage", "eleves.csv", None, None
    options = {"delimiter": ";"}

    def describe(self) -> str:
        return "file `partage`: eleves.csv"


def test_preview_reads_the_first_rows_and_writes_nothing(tmp_path):
    from dagster_cfwb.resources.files.nfs_resource import NFSResource

    rows = "\n".join(f"{i};élève {i}" for i in range(1, 5001))
    (tmp_path / "eleves.csv").write_text(f"Id;Nom complet\n{rows}\n", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    table = preview_rows(_Source(), NFSResource(root=str(tmp_path)), rows=3)
    assert table.column_names == ["id", "nom_complet"]  # the import's own renaming
    assert table.to_pylist() == [
        {"id": 1, "nom_complet": "élève 1"},
        {"id": 2, "nom_complet": "élève 2"},
        {"id": 3, "nom_complet": "élève 3"},
    ]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_load_error_is_the_components_message_not_dagsters_tree():
    from dagster_cfwb.cli import _plain_message

    class ComponentTreeException(Exception):
        __module__ = "dagster.components.core.component_tree"

    yaml_error = ValueError("Invalid `LakehouseImportComponent` configuration in …/defs.yaml (1 problem): …")
    try:
        try:
            raise yaml_error
        except ValueError as e:
            raise ComponentTreeException("Error while loading component import_partage[0]:\n├── …") from e
    except ComponentTreeException as e:
        message = _plain_message(e)
    assert message == str(yaml_error)
