"""A loading process for the SIGKILL fault tests: ``python load_worker.py '<json job>'``.

The job says which resource to build (``postgres``, ``mysql``, ``local``, ``azure``) with which
settings, and what to load: a table version (see ``fault_checks.Version``) sent as slow batches,
so the parent can kill this process while the load is in flight.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_checks import Version, slow_batches


def run_import_until_written(job: dict) -> None:
    """Run the YAML import of ``job["yaml"]``; stop for good once the target's rows are read.

    The lakehouse pauses in ``write_table`` of the target: it reads every row it is given (the old
    table and the new source rows), creates ``job["marker"]`` and sleeps until the parent kills
    this process — a run interrupted between reading and writing.
    """
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from components_sandbox import run_assets, yaml_defs

    from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
    from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource
    from dagster_cfwb.transfer.arrow_stream import to_arrow_stream
    from dagster_cfwb.transfer.lakehouse_paths import normalize_lakehouse_path

    class PausingLakehouse(LocalLakehouseResource):
        pause_on: str
        marker: str

        def write_table(self, data, path, **kwargs):
            if normalize_lakehouse_path(path) == self.pause_on:
                stream = to_arrow_stream(data)
                rows = sum(batch.num_rows for batch in stream)
                Path(self.marker).write_text(str(rows))
                time.sleep(3600)
            return super().write_table(data, path, **kwargs)

    lakehouse = PausingLakehouse(root=job["root"], pause_on=job["path"], marker=job["marker"])
    with yaml_defs({"imports/defs.yaml": job["yaml"]}) as defs:
        run_assets(defs, {"postgresql": PostgreSQLResource(**job["settings"]), "lakehouse": lakehouse})


def main(job: dict) -> None:
    if job["kind"] == "import":
        run_import_until_written(job)
        return
    import time

    version = Version.from_spec(job["version"])

    def hold() -> None:  # half-way, the source says so and stops until this process is killed
        Path(job["holding"]).touch()
        time.sleep(120)

    batches = slow_batches(version, hold=hold)
    kind = job["kind"]
    if kind == "postgres":
        from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource

        resource = PostgreSQLResource(**job["settings"])
        resource.copy_from_df(batches, job["table"], mode=job["mode"], keys=job.get("keys"))
    elif kind == "mysql":
        from dagster_cfwb.resources.db.mysql_resource import MySQLResource

        resource = MySQLResource(**job["settings"])
        resource.copy_from_df(batches, job["table"], mode=job["mode"], keys=job.get("keys"))
    elif kind == "local":
        from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

        LocalLakehouseResource(root=job["root"]).write_table(batches, job["path"])
    elif kind == "azure":
        from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource

        AzureAdlsResource(connection_string=job["connection_string"], container=job["container"]).write_table(
            batches, job["path"]
        )
    else:
        raise SystemExit(f"unknown job kind {kind!r}")
    print("done", flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
