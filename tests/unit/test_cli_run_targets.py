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


@pytest.fixture
def preview_platform(tmp_path, monkeypatch):
    """A copy of platform/ with no PostgreSQL configured; the environment and imports restored after."""
    import shutil
    import sys

    platform = tmp_path / "platform"
    shutil.copytree(PLATFORM, platform, ignore=shutil.ignore_patterns(".dagster_home", "target", "logs"))
    for name in ("CFWB_PG_HOST", "CFWB_PG_PORT", "CFWB_PG_USER", "CFWB_PG_DATABASE", "CFWB_PG_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "unused"))  # restored after the test
    monkeypatch.setenv("CFWB_LAKEHOUSE_ROOT", str(tmp_path / "lakehouse"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    for module in [m for m in sys.modules if m == "enseignement" or m.startswith("enseignement.")]:
        monkeypatch.delitem(sys.modules, module)
    yield platform
    for module in [m for m in sys.modules if m == "enseignement" or m.startswith("enseignement.")]:
        del sys.modules[module]


def _started(monkeypatch, server=None) -> list:
    """Record each start of the embedded PostgreSQL (refused unless `server` is given)."""
    import dagster_cfwb.cli.demo as demo

    calls = []

    def start(data_dir):
        calls.append(data_dir)
        if server is None:
            raise AssertionError("the embedded PostgreSQL was started")
        return server

    monkeypatch.setattr(demo, "start_embedded_postgres", start)
    return calls


def test_preview_of_a_file_import_and_an_export_starts_no_postgres(preview_platform, monkeypatch):
    import io
    import time

    from dagster_cfwb.cli.run import run_target

    calls = _started(monkeypatch)
    out = io.StringIO()
    started = time.monotonic()
    run_target(
        ["src/enseignement/defs/import_partage", "enseignement/pg/gld_classes_par_commune"],
        preview=True,
        platform_dir=preview_platform,
        cwd=preview_platform / "enseignement",
        out=out,
    )
    print(f"preview without PostgreSQL: {time.monotonic() - started:.1f} s")
    assert calls == []
    text = out.getvalue()
    assert "Athénée royal de Namur" in text and "PostgreSQL" not in text
    assert "is not built yet" in text  # the export reads the lakehouse only


@pytest.mark.postgres
def test_preview_of_a_database_import_starts_postgres(preview_platform, monkeypatch, pg_config):
    import io

    from dagster_cfwb.cli.embedded_postgres import EmbeddedPostgres
    from dagster_cfwb.cli.run import run_target

    if pg_config.get("password"):
        pytest.skip("the stand-in embedded server has no password")
    server = EmbeddedPostgres(
        Path("/nonexistent"),
        pg_config["host"],
        int(pg_config["port"]),
        pg_config["user"],
        pg_config["database"],
    )
    calls = _started(monkeypatch, server)
    out = io.StringIO()
    run_target(
        "enseignement/stg/classes",
        preview=True,
        platform_dir=preview_platform,
        cwd=preview_platform / "enseignement",
        out=out,
    )
    assert len(calls) == 1
    assert "rows of database" in out.getvalue() and "2026-01-01 00:01:00" in out.getvalue()
