"""Table (c): MariaDB, the same two tables: extract to Parquet, and load (replace) from Parquet.

Extract: the reference rows loaded once into `<schema>.src`; the peers are those of table (a) pointed
at MariaDB. Load: the reference is the server's own `LOAD DATA INFILE` of a file on its disk
(`secure_file_priv` allows it here; the file holds the same rows in the text format the library
sends with `LOAD DATA LOCAL INFILE`, encoded once, before timing).
"""

from __future__ import annotations

import os

import pg_extract
from checks import MyTable, Parquet
from peers import attach_mysql, duckdb_connect, my_url, warm_library_imports
from runner import Method, Table


def source_sql(ctx: dict) -> str:
    return f"SELECT * FROM {ctx['src']}"


def _resource(ctx: dict):
    from dagster_cfwb.resources.db.mysql_resource import MySQLResource

    return MySQLResource(**ctx["my"], database=ctx["schema"])


# -- extract -------------------------------------------------------------------------------------
def ours_extract(ctx: dict):
    warm_library_imports("connectorx", "pymysql", "pyarrow.compute", "pyarrow.parquet")
    from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

    folder = pg_extract.output_folder(ctx, "ours")
    lake, my = LocalLakehouseResource(root=folder), _resource(ctx)

    def job():
        my.extract_to_lakehouse(source_sql(ctx), lake, "bench/stg/src.parquet")
        return Parquet(os.path.join(folder, "bench/stg/src.parquet"))

    return job


def connectorx_arrow(ctx: dict):
    return pg_extract.connectorx_arrow(ctx, my_url(ctx, ctx["schema"]), source_sql(ctx))


def connectorx_stream(ctx: dict):
    return pg_extract.connectorx_stream(ctx, my_url(ctx, ctx["schema"]), source_sql(ctx))


def duckdb_scanner(ctx: dict):
    path = os.path.join(pg_extract.output_folder(ctx, "duckdb"), "src.parquet")

    def job():
        with duckdb_connect("mysql_scanner") as con:
            attach_mysql(con, ctx, ctx["schema"], "my")
            con.execute(f"COPY my.\"{ctx['schema']}\".{ctx['src']} TO '{path}' (FORMAT parquet)")
        return Parquet(path)

    return job


def dlt_extract(ctx: dict):
    return pg_extract.dlt_extract(ctx, my_url(ctx, ctx["schema"], "mysql+pymysql"), ctx["schema"])


def sling_extract(ctx: dict):
    return pg_extract.sling_extract(ctx, my_url(ctx, ctx["schema"]), f"{ctx['schema']}.{ctx['src']}")


# -- load ----------------------------------------------------------------------------------------
def ours_load(ctx: dict):
    warm_library_imports("connectorx", "pymysql", "pyarrow.compute", "pyarrow.parquet")
    import pg_load

    my = _resource(ctx)

    def job():
        my.copy_from_df(pg_load.batches(ctx), "ours_load", mode="replace")
        return MyTable(ctx["schema"], "ours_load")

    return job


def _execute(ctx: dict, *statements: str) -> None:
    """Statements run with pymysql: a peer's preparation does not import the library."""
    import pymysql

    conn = pymysql.connect(**ctx["my"], database=ctx["schema"], charset="utf8mb4", autocommit=True)
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def server_load_data(ctx: dict):
    import pymysql

    _execute(ctx, "DROP TABLE IF EXISTS server_load", ctx["server_ddl"])

    def job():
        conn = pymysql.connect(**ctx["my"], database=ctx["schema"], charset="utf8mb4")
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"LOAD DATA INFILE {conn.escape(ctx['tsv'])} INTO TABLE server_load CHARACTER SET utf8mb4 "
                    "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                    f"({ctx['server_columns']})"
                )
            conn.commit()
        finally:
            conn.close()
        return MyTable(ctx["schema"], "server_load")

    return job


def duckdb_attach(ctx: dict):
    _execute(ctx, "DROP TABLE IF EXISTS duckdb_ctas")

    def job():
        with duckdb_connect("mysql_scanner") as con:
            attach_mysql(con, ctx, ctx["schema"], "my", read_only=False)
            con.execute(
                f"CREATE TABLE my.\"{ctx['schema']}\".duckdb_ctas AS FROM read_parquet('{ctx['ref']}')"
            )
        return MyTable(ctx["schema"], "duckdb_ctas")

    return job


def dlt_load(ctx: dict):
    import dlt
    import pg_load

    dataset = f"{ctx['schema']}_dlt"
    destination = dlt.destinations.sqlalchemy(credentials=my_url(ctx, ctx["schema"], "mysql+pymysql"))
    return pg_load.dlt_load(ctx, destination, dataset, MyTable(dataset, "loaded"))


def tables() -> list[Table]:
    here = "mariadb"
    return [
        Table(
            "MariaDB → Parquet (extract)",
            [
                Method("`extract_to_lakehouse` (LocalLakehouse)", f"{here}:ours_extract", ours=True),
                Method("connectorx arrow + `pq.write_table`", f"{here}:connectorx_arrow"),
                Method("connectorx arrow_stream + `ParquetWriter`", f"{here}:connectorx_stream"),
                Method("DuckDB mysql extension `COPY … TO parquet`", f"{here}:duckdb_scanner"),
                Method(
                    'dlt `sql_table(backend="pyarrow")` → filesystem parquet',
                    f"{here}:dlt_extract",
                    slow=True,
                ),
                Method("Sling mysql → parquet", f"{here}:sling_extract", slow=True),
            ],
        ),
        Table(
            "Arrow/Parquet → MariaDB (load, replace)",
            [
                Method(
                    "`copy_from_df(ParquetFile.iter_batches())` (LOAD DATA LOCAL, streamed)",
                    f"{here}:ours_load",
                    ours=True,
                ),
                Method("server `LOAD DATA INFILE` (server-side file)", f"{here}:server_load_data"),
                Method(
                    "DuckDB `ATTACH … (TYPE mysql)` `CREATE TABLE AS`", f"{here}:duckdb_attach", slow=True
                ),
                Method("dlt sqlalchemy (mysql+pymysql, parquet loader files)", f"{here}:dlt_load", slow=True),
            ],
            reference="server `LOAD DATA INFILE` (server-side file)",
        ),
    ]


def setup(ctx: dict) -> None:
    """The database, the source table, and the server-side file for `LOAD DATA INFILE`."""
    import pg_load
    import pyarrow.parquet as pq

    from dagster_cfwb.resources.db.mysql_resource import MySQLResource
    from dagster_cfwb.transfer.identifiers import QualifiedName
    from dagster_cfwb.transfer.mysql.load import MySQLDialect
    from dagster_cfwb.transfer.mysql.text_protocol import encode_load_data_rows, is_hex_column

    admin = MySQLResource(**ctx["my"])
    admin.execute(f"DROP DATABASE IF EXISTS `{ctx['schema']}`")
    admin.execute(f"CREATE DATABASE `{ctx['schema']}` CHARACTER SET utf8mb4")
    _resource(ctx).copy_from_df(pg_load.batches(ctx), "src")
    _resource(ctx).copy_from_df(pg_load.batches(ctx["slow"]), ctx["slow"]["src"])
    dialect, schema = MySQLDialect(), pq.read_schema(ctx["ref"])
    ctx["server_ddl"] = dialect.create_table_sql(QualifiedName("server_load", ctx["schema"]), schema, [])
    ctx["server_columns"] = ", ".join(
        f"@v{i}" if is_hex_column(f.type) else dialect.q(f.name) for i, f in enumerate(schema)
    )
    ctx["tsv"] = os.path.join(ctx["work"], "reference.tsv")
    with open(ctx["tsv"], "wb") as fh:
        for batch in pg_load.batches(ctx):
            fh.write(encode_load_data_rows(batch, table="server_load"))
    os.chmod(ctx["tsv"], 0o644)


def teardown(ctx: dict) -> None:
    from dagster_cfwb.resources.db.mysql_resource import MySQLResource

    admin = MySQLResource(**ctx["my"])
    for database in (ctx["schema"], f"{ctx['schema']}_dlt"):
        admin.execute(f"DROP DATABASE IF EXISTS `{database}`")
    os.unlink(ctx.pop("tsv"))
