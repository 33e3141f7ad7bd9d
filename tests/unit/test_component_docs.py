"""What the UI and `dg` show: every field described, docstring examples and scaffolds that load."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import yaml_defs

import dagster_cfwb
from dagster_cfwb import components
from dagster_cfwb.components.component_base import tighten_json_schema

COMPONENTS = [
    components.LakehouseImportComponent,
    components.DatabaseExportComponent,
    components.DataQualityChecksComponent,
    components.NotificationsComponent,
    components.ResourcesComponent,
]
ENV = {
    "TEAMS_WEBHOOK_URL": "https://teams.example/hook",
    "DAGSTER_URL": "https://dagster.example",
    "SMTP_USER": "u",
    "SMTP_PASSWORD": "p",
    "ECOLES_DB_HOST": "db.example",
}


def _undescribed(schema: dict) -> list[str]:
    missing = []

    def walk(node: dict, where: str) -> None:
        for name, prop in (node.get("properties") or {}).items():
            if not prop.get("description"):
                missing.append(f"{where}.{name}")

    walk(schema, schema.get("title", "?"))
    for name, definition in (schema.get("$defs") or {}).items():
        walk(definition, name)
    return missing


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_field_has_a_description(component):
    schema = component.get_model_cls().model_json_schema()
    assert _undescribed(schema) == []


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_docstring_example_loads(component, monkeypatch):
    """The YAML example in the docstring is what the UI shows: it must be valid (cf. dagster#31608)."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    doc = component.__doc__ or ""
    assert doc.splitlines()[0].strip(), "one-line summary first"
    body = textwrap.dedent("\n".join(doc.splitlines()[1:]))
    match = re.search(r"^```yaml\n(.*?)^```$", body, re.S | re.M)
    assert match, "a fenced ```yaml example (the UI renders Markdown)"
    example = match.group(1)
    assert f"type: dagster_cfwb.{component.__name__}" in example
    with yaml_defs({"example/defs.yaml": example}) as defs:
        assert defs is not None


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_scaffold_writes_a_commented_example_that_loads(component, monkeypatch):
    from dagster.components.testing import create_defs_folder_sandbox

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.scaffold_component(component_cls=component, defs_path="scaffolded")
        text = (path / "defs.yaml").read_text()
        assert "#" in text  # commented for analysts
        assert text.startswith(f"type: {component.__module__}.{component.__name__}")
        with sandbox.build_component_tree() as tree:
            loaded = tree.load_component(path)
    assert type(loaded).__name__ == component.__name__


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_ui_generated_example_loads(component, monkeypatch):
    """The Components page shows a YAML example Dagster generates from the schema: it must be valid.

    Dagster (`dagster_shared.yaml_utils.sample_yaml`) fills every field with its first `examples`
    value, else a placeholder; the top-level fields therefore carry complete, valid examples.
    """
    from dagster_shared.yaml_utils.sample_yaml import generate_sample_yaml

    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    schema = component.get_model_cls().model_json_schema()
    example = generate_sample_yaml(f"dagster_cfwb.{component.__name__}", schema)
    assert "'...'" not in example and "(number)" not in example, example
    with yaml_defs({"example/defs.yaml": example}) as defs:
        assert defs is not None


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_ui_type_names_are_readable(component):
    """The UI names a nested YAML block after its `$defs` key (`Array<ImportModel>`): no `ModelModel`."""
    names = sorted((component.get_model_cls().model_json_schema().get("$defs") or {}).keys())
    assert [n for n in names if "ModelModel" in n] == []


def test_components_reachable_from_the_package_root():
    for component in COMPONENTS:
        assert getattr(dagster_cfwb, component.__name__) is component
        assert component.__name__ in dir(dagster_cfwb)


def test_tightened_schema_rejects_typos_but_accepts_templates():
    from jsonschema import Draft202012Validator

    schema = components.LakehouseImportComponent.get_model_cls().model_json_schema()
    validator = Draft202012Validator(schema)
    ok = {
        "imports": [
            {
                "source": {"kind": "database", "resource_key": "pg", "table": "t"},
                "target": {"code_location": "x", "layer": "stg", "table": "t"},
            }
        ],
        "batch_rows": "{{ env('ROWS') }}",
    }
    assert list(validator.iter_errors(ok)) == []
    bad = {
        "imports": [
            {
                "source": {"kind": "databse", "resource_key": "pg", "tabel": "t"},
                "target": {"code_location": "x", "layer": "stg", "table": "t"},
            }
        ]
    }
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert any("'databse' is not one of" in m for m in messages)
    assert any("'tabel' was unexpected" in m for m in messages)
    field = {"properties": {"f": {"anyOf": [{"type": "array"}, {"type": "string"}]}}}
    assert tighten_json_schema(field) == {"properties": {"f": {"type": "array"}}}


def test_source_query_description_promises_no_parameters():
    """A database/Denodo `query` source has no way to pass values: its description must not ask for them."""
    from dagster_cfwb.components.yaml_errors import field_description
    from dagster_cfwb.components.yaml_models import SourceModel

    text = field_description(SourceModel, "query")
    assert "no values can be passed in" in text and "as parameters" not in text
