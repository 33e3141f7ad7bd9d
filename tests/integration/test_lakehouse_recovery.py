"""The lakehouse after faults: temp files of killed writers, storage errors, batches whose types drift."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest

from dagster_cfwb.resources.lakehouse.azure_adls_resource import AzureAdlsResource
from dagster_cfwb.resources.lakehouse.azure_credentials import SasTokenCredential
from dagster_cfwb.resources.lakehouse.local_lakehouse_resource import LocalLakehouseResource
from dagster_cfwb.transfer import temp_files
from dagster_cfwb.transfer.temp_files import TEMP_PREFIX, TEMP_SUFFIX, remove_orphaned_temp_files

TABLE = pa.table({"n": pa.array([1, 2, 3], pa.int64())})


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _temp(folder: Path, owner: str, pid: int | None, *, start: int = 1, age_hours: float = 0) -> Path:
    name = (
        f"{TEMP_PREFIX}{owner}-{pid}-{start}-x1y2{TEMP_SUFFIX}"
        if pid
        else f"{TEMP_PREFIX}legacy_1{TEMP_SUFFIX}"
    )
    path = folder / name
    path.write_bytes(b"PAR1 partial")
    stamp = time.time() - age_hours * 3600
    os.utime(path, (stamp, stamp))
    return path


def test_next_write_removes_dead_writers_temp_files_and_keeps_live_ones(tmp_path):
    lake = LocalLakehouseResource(root=str(tmp_path / "lake"))
    folder = tmp_path / "lake" / "x" / "stg"
    folder.mkdir(parents=True)
    me = temp_files._owner()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        start = temp_files._process_state(live.pid)[1]
        while temp_files._process_state(zombie.pid)[0] != "Z":  # exited, not yet reaped by us
            time.sleep(0.05)
        dead = _temp(folder, me, _dead_pid())
        alive = _temp(folder, me, live.pid, start=start, age_hours=48)  # old, but its writer still runs
        reused = _temp(folder, me, live.pid, start=start - 1)  # an earlier process with the same pid
        undead = _temp(folder, me, zombie.pid, start=temp_files._process_state(zombie.pid)[1])
        foreign_old = _temp(folder, "0badc0de", 12345, age_hours=25)
        foreign_new = _temp(folder, "0badc0de", 12346, age_hours=1)
        legacy_old = _temp(folder, me, None, age_hours=25)
        lake.write_table(TABLE, "x/stg/t.parquet")
        left = {p.name for p in folder.iterdir()}
        assert left == {"t.parquet", alive.name, foreign_new.name}
        assert not {dead.name, reused.name, undead.name, foreign_old.name, legacy_old.name} & left
    finally:
        live.kill()
        live.wait()
        zombie.wait()
    assert remove_orphaned_temp_files(str(folder)) == [str(alive)]  # its writer is gone now


_KILLED_WRITER = textwrap.dedent(
    """
    import sys, time, pyarrow as pa
    from dagster_cfwb.resources.lakehouse.{module} import {cls}

    def batches():
        for i in range(3):
            yield pa.record_batch({{"n": pa.array(range(200_000), pa.int64())}})
        print("writing", flush=True)
        time.sleep(600)  # killed here, with a temp file holding row groups

    {cls}(**{kwargs!r}).write_table(batches(), "x/stg/t.parquet")
    """
)


def _kill_mid_write(module: str, cls: str, kwargs: dict, env: dict | None = None) -> None:
    code = _KILLED_WRITER.format(module=module, cls=cls, kwargs=kwargs)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))


def test_sigkilled_local_writer_leaves_a_temp_file_that_the_next_write_removes(tmp_path):
    root = tmp_path / "lake"
    lake = LocalLakehouseResource(root=str(root))
    lake.write_table(TABLE, "x/stg/t.parquet")
    _kill_mid_write("local_lakehouse_resource", "LocalLakehouseResource", {"root": str(root)})
    folder = root / "x" / "stg"
    assert len(_temps(folder)) == 1 and _temps(folder)[0].stat().st_size > 0
    assert lake.read_table("x/stg/t.parquet")["n"].to_list() == [1, 2, 3]  # previous file intact
    lake.write_table(TABLE, "x/stg/other.parquet")
    assert _temps(folder) == []


@pytest.mark.azurite
def test_sigkilled_azure_writer_leaves_a_temp_file_in_tmpdir_that_the_next_write_removes(
    azurite, tmp_path, monkeypatch
):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    kwargs = {"connection_string": azurite, "container": "recovery"}
    lake = AzureAdlsResource(**kwargs)
    lake.write_table(TABLE, "x/stg/t.parquet")
    _kill_mid_write("azure_adls_resource", "AzureAdlsResource", kwargs, env={"TMPDIR": str(tmpdir)})
    assert len(_temps(tmpdir)) == 1
    monkeypatch.setattr("tempfile.tempdir", str(tmpdir))
    lake.write_table(TABLE, "x/stg/other.parquet")
    assert _temps(tmpdir) == []
    assert lake.read_table("x/stg/t.parquet")["n"].to_list() == [1, 2, 3]


# -- storage errors on Azure ------------------------------------------------------------------------
def _assert_clear(err: pytest.ExceptionInfo, path: str, code: str) -> None:
    message = str(err.value)
    assert f"`{path}`" in message and code in message, message
    assert "<?xml" not in message and "RequestId" not in message, message
    assert err.value.__cause__ is not None


@pytest.mark.azurite
def test_lost_staged_blocks_are_a_clear_oserror(azurite, monkeypatch):
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import BlobBlock

    lake = AzureAdlsResource(connection_string=azurite, container="lost-blocks")
    lake.write_table(TABLE, "x/stg/t.parquet")
    client = lake._container_client

    def commit_lost_blocks(name, data, **kwargs):  # the server no longer knows the staged blocks
        blob = client.get_blob_client(name)
        blob.stage_block("YWFh", data.read())
        return blob.commit_block_list([BlobBlock("YWFh"), BlobBlock("YmJi")])

    monkeypatch.setattr(client, "upload_blob", commit_lost_blocks)
    with pytest.raises(OSError, match="InvalidBlockList") as err:
        lake.write_table(pa.table({"n": [9]}), "x/stg/t.parquet")
    _assert_clear(err, "x/stg/t.parquet", "InvalidBlockList")
    assert isinstance(err.value.__cause__, HttpResponseError)
    monkeypatch.undo()
    assert lake.read_table("x/stg/t.parquet")["n"].to_list() == [1, 2, 3]


@pytest.mark.azurite
def test_read_only_credential_is_a_permission_error(azurite):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas
    from conftest import AZURITE_KEY

    AzureAdlsResource(connection_string=azurite, container="read-only").write_table(TABLE, "x/stg/t.parquet")
    endpoint = azurite.split("BlobEndpoint=")[1].rstrip(";")
    sas = generate_container_sas(
        "devstoreaccount1",
        "read-only",
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    reader = AzureAdlsResource(
        account_name="devstoreaccount1",
        container="read-only",
        endpoint=endpoint,
        credential=SasTokenCredential(sas_token=sas),
    )
    with pytest.raises(PermissionError) as err:
        reader.write_table(TABLE, "x/stg/t.parquet")
    _assert_clear(err, "x/stg/t.parquet", "AuthorizationPermissionMismatch")
    signature = sas.split("sig=")[1].split("&")[0]
    assert signature not in str(err.value)
    assert [f.path for f in reader.list("x/")] == ["x/stg/t.parquet"]


def test_unreachable_storage_is_a_connection_error():
    from conftest import AZURITE_KEY, free_port

    lake = AzureAdlsResource(
        connection_string=(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"
        ),
        container="nowhere",
    )
    lake._container_client._config.retry_policy.total_retries = 0  # fail fast: nothing listens there
    with pytest.raises(ConnectionError) as err:
        lake.write_table(TABLE, "x/stg/t.parquet")
    assert "`x/stg/t.parquet`" in str(err.value) and AZURITE_KEY not in str(err.value)
    assert err.value.__cause__ is not None


# -- batches whose types drift ------------------------------------------------------------------------
def _batches(*columns: pa.Array):
    return (pa.record_batch({"c": c}) for c in columns)


@pytest.mark.parametrize(
    "columns",
    [
        (pa.array([1], pa.int32()), pa.array([2**31 - 1], pa.int64())),
        (pa.array(["a"], pa.string()), pa.array(["b"], pa.large_string()), pa.array(["c"], pa.string_view())),
        (pa.array([0.5], pa.float64()), pa.array([0.25], pa.float32())),
        (pa.array([1], pa.int64()), pa.nulls(2)),
        (pa.array([1_000], pa.timestamp("ns")), pa.array([1], pa.timestamp("us"))),
        (pa.array([[1]], pa.list_(pa.field("l", pa.int64()))), pa.array([[2, None]], pa.list_(pa.int32()))),
        (pa.array([1], pa.timestamp("us", "Etc/UTC")), pa.array([2], pa.timestamp("us", "UTC"))),
    ],
    ids=[
        "int32-then-int64",
        "string-kinds",
        "float64-then-float32",
        "then-null",
        "ns-then-us",
        "list-child-names",
        "tz-names",
    ],  # fmt: skip
)
def test_later_batches_that_fit_unchanged_are_accepted(columns, local_lakehouse):
    local_lakehouse.write_table(_batches(*columns), "x/stg/d.parquet")
    back = local_lakehouse.read_table("x/stg/d.parquet", output="arrow").column("c")
    assert back.to_pylist() == pa.chunked_array([c.cast(back.type) for c in columns]).to_pylist()


@pytest.mark.parametrize(
    ("columns", "error", "words"),
    [
        ((pa.array([1], pa.int32()), pa.array([2**40], pa.int64())), ValueError, "`int64` in a later"),
        ((pa.array([0.5], pa.float32()), pa.array([0.1], pa.float64())), ValueError, "`double` in a later"),
        ((pa.nulls(1), pa.array([5], pa.int64())), ValueError, "only NULLs"),
        ((pa.array([1], pa.int64()), pa.array(["1"], pa.string())), ValueError, "`string` in a later"),
        ((pa.array([1], pa.timestamp("us")), pa.array([1], pa.timestamp("ns"))), ValueError, "later"),
        ((pa.array([1], pa.int64()), pa.array([1], pa.duration("s"))), TypeError, "duration[s]"),
    ],
    ids=["int-overflow", "float-precision", "null-then-int", "int-then-text", "sub-us", "then-duration"],
)
def test_later_batches_that_would_change_are_refused(columns, error, words, local_lakehouse):
    local_lakehouse.write_table(pa.table({"c": pa.array([7], pa.int64())}), "x/stg/d.parquet")
    with pytest.raises(error) as err:
        local_lakehouse.write_table(_batches(*columns), "x/stg/d.parquet")
    assert words in str(err.value) and "`x/stg/d.parquet`" in str(err.value), str(err.value)
    assert local_lakehouse.read_table("x/stg/d.parquet")["c"].to_list() == [7]
    assert _temps(Path(local_lakehouse.root) / "x" / "stg") == []
