"""LakehouseImportComponent with each source kind: Denodo, a file share, a REST API, MariaDB."""

from __future__ import annotations

import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import run_assets, yaml_defs


def _one_import(source: str, table: str = "t", extra: str = "") -> dict[str, str]:
    return {
        "imports/defs.yaml": f"""
        type: dagster_cfwb.LakehouseImportComponent
        attributes:
          imports:
            - source: {source}
              target: {{code_location: enseignement, layer: stg, table: {table}}}
{extra}
        """
    }


def _materialized(result, table: str = "t") -> dict:
    key = dg.AssetKey(["enseignement", "stg", table])
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    return event.materialization.metadata


@pytest.mark.postgres
def test_denodo_view_with_columns_and_incremental(postgresql, pg_config, pg_schema, local_lakehouse):
    """Denodo speaks PostgreSQL's protocol: its data path is exercised against the PostgreSQL server."""
    from dagster_cfwb.resources.api.denodo_resource import DenodoResource

    postgresql.execute(
        f"CREATE TABLE \"{pg_schema}\".bv_eleves AS SELECT g AS id, g * 10 AS points, 'x' AS c FROM generate_series(1, 50) g"
    )
    denodo = DenodoResource(**{**pg_config, "sslmode": "disable"})
    files = _one_import(
        f"{{kind: denodo, resource_key: denodo, view: {pg_schema}.bv_eleves, columns: [id, points]}}",
        extra="              mode: incremental\n              watermark_column: id\n",
    )
    with yaml_defs(files) as defs:
        resources = {"denodo": denodo, "lakehouse": local_lakehouse}
        assert run_assets(defs, resources).success
        postgresql.execute(
            f"INSERT INTO \"{pg_schema}\".bv_eleves SELECT g, g * 10, 'y' FROM generate_series(51, 60) g"
        )
        second = run_assets(defs, resources)
    assert second.success
    md = _materialized(second)
    assert md["rows_added"].value == 10 and md["dagster/row_count"].value == 60
    assert [c.name for c in md["dagster/column_schema"].value.columns] == ["id", "points"]
    assert md["source"].value == f"denodo `denodo`: {pg_schema}.bv_eleves"


def test_csv_from_a_file_share(tmp_path, local_lakehouse):
    from dagster_cfwb.resources.files.nfs_resource import NFSResource

    share = tmp_path / "share"
    (share / "exports").mkdir(parents=True)
    (share / "exports" / "ecoles.csv").write_text(
        "id;nom;eleves\n1;Athénée;300\n2;Lycée;250\n", encoding="utf-8"
    )
    files = _one_import(
        "{kind: file, resource_key: share, path: exports/ecoles.csv, options: {delimiter: ';'}}",
        table="ecoles",
    )
    with yaml_defs(files) as defs:
        result = run_assets(defs, {"share": NFSResource(root=str(share)), "lakehouse": local_lakehouse})
    assert result.success
    md = _materialized(result, "ecoles")
    assert md["dagster/row_count"].value == 2
    assert len(md["source_checksum"].value) >= 16  # SHA-256 of the source file
    assert local_lakehouse.read_table("enseignement/stg/ecoles.parquet")["nom"].to_list() == [
        "Athénée",
        "Lycée",
    ]


@pytest.fixture
def records_api():
    """A small JSON API on a free port: /v1/communes?offset=&limit= over 25 records."""
    records = [{"code": 5000 + i, "nom": f"Commune {i}"} for i in range(25)]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            query = parse_qs(urlsplit(self.path).query)
            offset, limit = int(query.get("offset", ["0"])[0]), int(query.get("limit", ["100"])[0])
            body = json.dumps({"data": {"items": records[offset : offset + limit]}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.http
def test_api_endpoint_with_pagination(records_api, local_lakehouse):
    from dagster_cfwb.resources.api.rest_api_resource import RestApiResource

    source = "{kind: api, resource_key: insee, endpoint: /v1/communes, records_path: data.items, paginator: {type: offset, limit: 10}}"
    with yaml_defs(_one_import(source, table="communes")) as defs:
        result = run_assets(
            defs, {"insee": RestApiResource(base_url=records_api), "lakehouse": local_lakehouse}
        )
    assert result.success
    assert _materialized(result, "communes")["dagster/row_count"].value == 25


@pytest.mark.mysql
def test_query_from_mariadb(mysql_config, local_lakehouse):
    from dagster_cfwb.resources.db.mysql_resource import MySQLResource

    mysql = MySQLResource(**mysql_config)
    table = f"cfwb_comp_{secrets.token_hex(4)}"
    mysql.execute(
        f"CREATE TABLE `{table}` (id INT PRIMARY KEY, nom VARCHAR(50) COMMENT 'Prénom', note DECIMAL(4,1))"
    )
    try:
        mysql.execute(f"INSERT INTO `{table}` VALUES (1, 'Ana', 14.5), (2, 'Bo', 9.0), (3, 'Céline', 17.0)")
        source = f"{{kind: database, resource_key: mariadb, query: 'SELECT id, nom, note FROM {table} WHERE note >= 10'}}"
        extra = "              checks: [{type: expression, sql: 'note >= 10'}]\n"
        with yaml_defs(_one_import(source, table="notes", extra=extra)) as defs:
            result = run_assets(defs, {"mariadb": mysql, "lakehouse": local_lakehouse})
        assert result.success
        assert _materialized(result, "notes")["dagster/row_count"].value == 2
        assert [e.passed for e in result.get_asset_check_evaluations()] == [True]
        # a whole-table import carries the column comments as descriptions
        with yaml_defs(
            _one_import(f"{{kind: database, resource_key: mariadb, table: {table}}}", table="n2")
        ) as defs:
            whole = run_assets(defs, {"mariadb": mysql, "lakehouse": local_lakehouse})
        columns = {
            c.name: c.description for c in _materialized(whole, "n2")["dagster/column_schema"].value.columns
        }
        assert columns == {"id": None, "nom": "Prénom", "note": None}
    finally:
        mysql.execute(f"DROP TABLE `{table}`")
