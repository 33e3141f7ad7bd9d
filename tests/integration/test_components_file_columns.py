"""YAML file and API sources: real headers renamed to snake_case, original names in the column schema."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import run_assets, yaml_defs


def _one_import(source: str, table: str) -> dict[str, str]:
    return {
        "imports/defs.yaml": f"""
        type: dagster_cfwb.LakehouseImportComponent
        attributes:
          imports:
            - source: {source}
              target: {{code_location: labo, layer: stg, table: {table}}}
        """
    }


def _materialized(result, table: str) -> dict:
    key = dg.AssetKey(["labo", "stg", table])
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    return event.materialization.metadata


def _columns(metadata) -> dict[str, str | None]:
    return {c.name: c.description for c in metadata["dagster/column_schema"].value.columns}


@pytest.fixture
def share(tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "oeufs.csv").write_bytes(
        "Sample Number;Date d'œuf;Pays;Poids\n1;2024-03-01;NA;61,5\n2;2024-03-02;CH;NA\n".encode("cp1252")
    )
    return folder


def test_file_source_renames_and_describes_columns(share, local_lakehouse):
    from dagster_cfwb.resources.files.nfs_resource import NFSResource

    source = (
        "{kind: file, resource_key: share, path: oeufs.csv, "
        "options: {delimiter: ';', encoding: windows-1252, decimal_comma: true}}"
    )
    with yaml_defs(_one_import(source, "oeufs")) as defs:
        result = run_assets(defs, {"share": NFSResource(root=str(share)), "lakehouse": local_lakehouse})
    assert result.success
    md = _materialized(result, "oeufs")
    assert _columns(md) == {
        "sample_number": "Sample Number (name in the source)",
        "date_d_oeuf": "Date d'œuf (name in the source)",
        "pays": "Pays (name in the source)",
        "poids": "Poids (name in the source)",
    }
    assert md["original_column_names"].value["date_d_oeuf"] == "Date d'œuf"
    assert md["null_markers_in_text"].value == {"pays": 1}  # `NA` kept as text in a text column
    table = local_lakehouse.read_table("labo/stg/oeufs.parquet")
    assert table["poids"].to_list() == [61.5, None]  # `NA` in a number column is NULL
    assert table["pays"].to_list() == ["NA", "CH"]


def test_file_source_as_is_keeps_the_names(share, local_lakehouse):
    from dagster_cfwb.resources.files.nfs_resource import NFSResource

    source = (
        "{kind: file, resource_key: share, path: oeufs.csv, column_names: as_is, "
        "options: {delimiter: ';', encoding: windows-1252}}"
    )
    with yaml_defs(_one_import(source, "oeufs_brut")) as defs:
        result = run_assets(defs, {"share": NFSResource(root=str(share)), "lakehouse": local_lakehouse})
    assert result.success
    assert list(_columns(_materialized(result, "oeufs_brut"))) == [
        "Sample Number",
        "Date d'œuf",
        "Pays",
        "Poids",
    ]


def test_column_names_on_a_database_source_is_refused():
    from dagster_cfwb.components.yaml_models import SourceModel

    with pytest.raises(ValueError, match=r"`column_names` does not apply to a `database` source"):
        SourceModel(kind="database", resource_key="pg", table="t", column_names="as_is")


@pytest.fixture
def keys_api():
    records = [{"Code Commune": "00123", "Nom de la commune": "Aÿ", "Code commune": 1}]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(records).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.http
def test_api_source_renames_keys(keys_api, local_lakehouse):
    from dagster_cfwb.resources.api.rest_api_resource import RestApiResource

    source = "{kind: api, resource_key: api, endpoint: /communes}"
    with yaml_defs(_one_import(source, "communes")) as defs:
        result = run_assets(defs, {"api": RestApiResource(base_url=keys_api), "lakehouse": local_lakehouse})
    assert result.success
    assert _columns(_materialized(result, "communes")) == {
        "code_commune": "Code Commune (name in the source)",
        "nom_de_la_commune": "Nom de la commune (name in the source)",
        "code_commune_2": "Code commune (name in the source)",
    }
    table = local_lakehouse.read_table("labo/stg/communes.parquet")
    assert table["code_commune"].to_list() == ["00123"] and table["code_commune_2"].to_list() == [1]
