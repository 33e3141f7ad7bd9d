"""Faults injected while writing the lakehouse: the writer process SIGKILLed mid-write (local folder
and Azurite), and Azurite itself killed in the middle of a multi-block upload, then restarted.

Each asserts: the table is exactly its old content after the fault, the next write succeeds and
gives exactly the new content, and nothing is left behind after it (no `.cfwb-*.tmp` file beside
the target or in TMPDIR, no uncommitted blocks or stray blobs in the container).
"""

from __future__ import annotations

import secrets
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_checks import (
    Outcome,
    Version,
    assert_nothing_left,
    lakehouse_state,
    leftover_local_files,
    record_outcome,
    sigkill,
    start_worker,
    wait_until,
)
from fault_fixtures import private_azurite, private_tmpdir  # noqa: F401

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

OLD = Version.of("old", range(30_000))
NEW = Version.of("new", range(10_000, 60_000))
PATH = "faults/stg/t.parquet"


def _azure_leftovers(lakehouse, expected: list[str]) -> list[str]:
    """Blobs other than ``expected`` (uncommitted ones included) and uncommitted blocks of ``expected``."""
    client = lakehouse._container_client
    found = [
        f"blob {b.name}" for b in client.list_blobs(include=["uncommittedblobs"]) if b.name not in expected
    ]
    for name in expected:
        _, uncommitted = client.get_blob_client(name).get_block_list("uncommitted")
        if uncommitted:
            found.append(f"{len(uncommitted)} uncommitted block(s) of {name}")
    return found


@pytest.mark.parametrize("backend", ["local", "azure"])
def test_lakehouse_writer_sigkilled_mid_write(request, tmp_path, private_tmpdir, record_property, backend):  # noqa: F811
    if backend == "local":
        from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource

        root = tmp_path / "lake"
        lakehouse = LocalLakehouseResource(root=str(root))
        job = {"kind": "local", "root": str(root), "path": PATH}
        watch = [root, private_tmpdir]
    else:
        from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource

        azurite = request.getfixturevalue("private_azurite")
        container = f"lake-{secrets.token_hex(4)}"
        lakehouse = AzureAdlsResource(connection_string=azurite.connection_string, container=container)
        job = {
            "kind": "azure",
            "connection_string": azurite.connection_string,
            "container": container,
            "path": PATH,
        }
        watch = [private_tmpdir]
    lakehouse.write_table(OLD.arrow(), PATH)
    holding = tmp_path / "holding"
    worker = start_worker({**job, "version": NEW.spec(), "holding": str(holding)}, private_tmpdir)
    wait_until(holding.exists, timeout=60, what="the writer's source to be half-way")
    assert any(p for folder in watch for p in folder.rglob(".cfwb-*.tmp")), "no temp file while writing"
    sigkill(worker)
    assert worker.returncode == -9, worker.stdout.read()

    version, lost_now, dup_now = lakehouse_state(lakehouse, PATH).compare(OLD, NEW)
    lakehouse.write_table(NEW.arrow(), PATH)  # the next write
    retried, lost, dup = lakehouse_state(lakehouse, PATH).compare(NEW)
    left = leftover_local_files(*watch)
    if backend == "azure":
        left += _azure_leftovers(lakehouse, [PATH])
    record_outcome(
        record_property,
        Outcome(
            engine=f"Lakehouse ({'local folder' if backend == 'local' else 'Azurite'})",
            fault="writer process SIGKILLed mid-write",
            survived=version is OLD and retried is NEW and not left,
            rows_lost=lost_now + lost,
            rows_duplicated=dup_now + dup,
            left_behind=left,
        ),
    )
    assert version is OLD, f"after the fault the file is not the old one: lost {lost_now}, dup {dup_now}"
    assert retried is NEW, f"the next write gave lost {lost}, duplicated {dup}"
    assert_nothing_left(left)


def test_azurite_killed_mid_upload_then_restarted(private_azurite, private_tmpdir, record_property):  # noqa: F811
    """Azurite is SIGKILLed when the 3rd block of a multi-block upload reaches it, then started again.

    The SDK uploads in one request below 64 MB; the writing resource is given an SDK client with
    64 KB blocks (so a ~1 MB file goes in many blocks, as a 1 GB file does in 4 MB ones) and no
    retries (the SDK's 15 s back-off would outlast the suite's budget).
    """
    from azure.storage.blob import ContainerClient

    from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource

    cs, container = private_azurite.connection_string, f"lake-{secrets.token_hex(4)}"
    lakehouse = AzureAdlsResource(connection_string=cs, container=container)
    lakehouse.write_table(OLD.arrow(), PATH)
    private_azurite.restart_gracefully()  # the old table is durable (Azurite saves metadata every 5 s)

    big = Version.of("big", range(300_000))
    blocks: list[str] = []
    lock = threading.Lock()

    def kill_on_third_block(pipeline_request) -> None:
        query = parse_qs(urlparse(pipeline_request.http_request.url).query)
        if query.get("comp") == ["block"]:
            with lock:
                blocks.append(query["blockid"][0])
                if len(blocks) == 3:
                    private_azurite.kill()

    faulty = AzureAdlsResource(connection_string=cs, container=container)
    faulty.__dict__["_container_client"] = ContainerClient.from_connection_string(
        cs, container, max_single_put_size=64 * 1024, max_block_size=64 * 1024, retry_total=0,
        raw_request_hook=kill_on_third_block,
    )  # fmt: skip
    with pytest.raises(Exception) as failure:
        faulty.write_table(big.arrow(), PATH)
    private_azurite.start()

    version, lost_now, dup_now = lakehouse_state(lakehouse, PATH).compare(OLD, big)
    written = lakehouse.write_table(big.arrow(), PATH)  # the next write
    retried, lost, dup = lakehouse_state(lakehouse, PATH).compare(big)
    left = leftover_local_files(private_tmpdir) + _azure_leftovers(lakehouse, [PATH])
    record_outcome(
        record_property,
        Outcome(
            engine="Lakehouse (Azurite)",
            fault="Azurite SIGKILLed mid-upload (multi-block), restarted",
            survived=version is OLD and retried is big and not left,
            rows_lost=lost_now + lost,
            rows_duplicated=dup_now + dup,
            left_behind=left,
        ),
    )
    assert len(blocks) >= 3 and written.bytes > 4 * 64 * 1024, "the upload was not multi-block"
    assert isinstance(failure.value, ConnectionError) and f"`{PATH}`" in str(failure.value), failure.value
    assert version is OLD, f"after the fault the blob is not the old one: lost {lost_now}, dup {dup_now}"
    assert retried is big, f"the next write gave lost {lost}, duplicated {dup}"
    assert_nothing_left(left)
