"""The `cfwb` command line and the location scaffolder, without loading any code location."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from dagster_cfwb.cli import main
from dagster_cfwb.cli.embedded_postgres import EmbeddedPostgres, embedded_postgres_dir
from dagster_cfwb.cli.scaffold import scaffold_location, validate_location_name
from dagster_cfwb.platform_layout import dbt_manifest_is_current, find_platform_dir, read_workspace

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "platform"
WIRED_FILES = [
    "workspace.yaml",
    "workspace.docker.yaml",
    "docker-compose.yml",
    "helm/values.yaml",
    ".gitlab-ci.yml",
]


@pytest.fixture
def platform_copy(tmp_path) -> Path:
    """The platform's top-level files (no code locations) in a temporary folder."""
    copy = tmp_path / "platform"
    (copy / "helm").mkdir(parents=True)
    for relative in WIRED_FILES:
        shutil.copyfile(PLATFORM / relative, copy / relative)
    return copy


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "new", "dbt", "postgres"):
        assert command in out


def test_new_location_needs_a_name(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["new", "location"])
    assert exit_info.value.code == 2
    assert "name" in capsys.readouterr().err


def test_find_platform_dir_from_the_repository_and_below(monkeypatch):
    monkeypatch.delenv("CFWB_PLATFORM_DIR", raising=False)
    monkeypatch.chdir(ROOT)
    assert find_platform_dir() == PLATFORM
    monkeypatch.chdir(PLATFORM / "enseignement" / "src")
    assert find_platform_dir() == PLATFORM


def test_find_platform_dir_names_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("CFWB_PLATFORM_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="no `workspace.yaml`"):
        find_platform_dir(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="--platform-dir"):
        find_platform_dir()


def test_cli_error_is_one_line_and_exit_1(tmp_path, capsys):
    assert main(["--platform-dir", str(tmp_path), "new", "location", "sante"]) == 1
    assert capsys.readouterr().err.startswith("cfwb: ")


def test_read_workspace_gives_absolute_existing_folders():
    locations = read_workspace(PLATFORM)
    assert [loc.name for loc in locations][:3] == ["data_platform", "enseignement", "culture"]
    for location in locations:
        assert location.working_directory.is_dir()
        assert (location.project_dir / "pyproject.toml").is_file()


def test_read_workspace_accepts_python_file_entries(tmp_path):
    (tmp_path / "workspace.yaml").write_text(
        "load_from:\n  - python_file:\n      relative_path: x/src/x/definitions.py\n      working_directory: x/src\n"
    )
    (location,) = read_workspace(tmp_path)
    assert (location.name, location.module_name) == ("x", "x.definitions")
    assert location.project_dir == tmp_path / "x"


def test_read_workspace_refuses_other_entries(tmp_path):
    (tmp_path / "workspace.yaml").write_text("load_from:\n  - python_package: x\n")
    with pytest.raises(ValueError, match=r"load_from\[0\] must be a `python_file`"):
        read_workspace(tmp_path)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Sante", "not valid"),
        ("1sante", "not valid"),
        ("x", "not valid"),
        ("class", "not valid"),
        ("sante-publique", "not valid"),
        ("culture", "already exists"),
        ("json", "installed Python module"),
    ],
)
def test_location_names_refused(name, message):
    with pytest.raises(ValueError, match=message):
        validate_location_name(name, PLATFORM)


def test_scaffold_wires_every_platform_file(platform_copy):
    created = scaffold_location(platform_copy, "mobilite_urbaine", description="Mobilité urbaine.")
    folder = platform_copy / "mobilite_urbaine"
    assert (folder / "src/mobilite_urbaine/definitions.py").is_file()
    # The example import is YAML (no Python to write), reading the location's share.
    example = yaml.safe_load((folder / "src/mobilite_urbaine/defs/exemple_communes/defs.yaml").read_text())
    assert example["type"] == "dagster_cfwb.LakehouseImportComponent"
    assert example["attributes"]["imports"][0]["source"]["resource_key"] == "partage_mobilite_urbaine"
    share = (folder / "src/mobilite_urbaine/defs/ressources/defs.yaml").read_text()
    assert "env('MOBILITE_URBAINE_SHARE_ROOT', context.project_root ~ '/data')" in share
    assert not list(folder.rglob("example_import.py"))
    assert (folder / "tests/test_mobilite_urbaine_definitions.py").is_file()
    text = "".join(p.read_text(encoding="utf-8") for p in created.created if p.suffix != ".csv")
    assert not re.search(r"\{\{(name|NAME|dist_name|description)\}\}", text)  # every placeholder filled
    summary = created.summary()
    assert "cfwb run src/mobilite_urbaine/defs/exemple_communes" in summary  # .venv/bin/cfwb: no activation
    # the test runs with this install's python (plain `pytest` is found only in an activated .venv)
    assert f"{sys.executable} -m pytest {folder / 'tests'}" in summary
    assert not re.search(r"^\s*pytest ", summary, re.MULTILINE)
    # the UI command `cfwb demo` prints: the demo's instance and lakehouse, not a bare `dagster dev`
    home = platform_copy / ".dagster_home"
    assert f"DAGSTER_HOME={home}" in summary and f"CFWB_LAKEHOUSE_ROOT={home / 'lakehouse'}" in summary
    assert len(created.updated) == len(WIRED_FILES)
    workspace = yaml.safe_load((platform_copy / "workspace.yaml").read_text())
    assert workspace["load_from"][-1]["python_module"] == {
        "location_name": "mobilite_urbaine",
        "module_name": "mobilite_urbaine.definitions",
        "working_directory": "mobilite_urbaine/src",
    }
    compose = yaml.safe_load((platform_copy / "docker-compose.yml").read_text())
    assert "mobilite_urbaine.definitions" in compose["services"]["location-mobilite-urbaine"]["command"]
    helm = yaml.safe_load((platform_copy / "helm/values.yaml").read_text())
    assert helm["dagster-user-deployments"]["deployments"][-1]["name"] == "mobilite-urbaine"
    ci = yaml.safe_load((platform_copy / ".gitlab-ci.yml").read_text())
    assert ci["validate-definitions"]["parallel"]["matrix"][0]["LOCATION"][-1] == "mobilite_urbaine"
    docker_workspace = yaml.safe_load((platform_copy / "workspace.docker.yaml").read_text())
    assert docker_workspace["load_from"][-1]["grpc_server"]["host"] == "location-mobilite-urbaine"
    assert "mobilite_urbaine" in created.summary()


def test_scaffold_writes_nothing_when_a_marker_is_missing(platform_copy):
    compose = platform_copy / "docker-compose.yml"
    compose.write_text(compose.read_text().replace("# cfwb:new-location-services-above", ""))
    before = {p: p.read_text() for p in platform_copy.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match="docker-compose.yml.*cfwb:new-location-services-above"):
        scaffold_location(platform_copy, "sante")
    assert not (platform_copy / "sante").exists()
    assert {p: p.read_text() for p in platform_copy.rglob("*") if p.is_file()} == before


def test_dbt_manifest_staleness(tmp_path):
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: x\n")
    assert not dbt_manifest_is_current(project)
    (project / "target").mkdir()
    (project / "target/manifest.json").write_text("{}")
    assert dbt_manifest_is_current(project)
    model = project / "models/m.sql"
    model.write_text("select 1")
    os.utime(model, (model.stat().st_mtime + 10, model.stat().st_mtime + 10))
    assert not dbt_manifest_is_current(project)


def test_embedded_postgres_env_and_folder(tmp_path):
    server = EmbeddedPostgres(data_dir=tmp_path, host="/run/pg", port=5432)
    assert server.env() == {
        "CFWB_PG_HOST": "/run/pg",
        "CFWB_PG_PORT": "5432",
        "CFWB_PG_USER": "postgres",
        "CFWB_PG_DATABASE": "postgres",
    }
    folder = embedded_postgres_dir(tmp_path)
    assert folder == tmp_path / "postgres" or folder.parent == Path("/var/tmp")
