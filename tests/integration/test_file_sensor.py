"""new_files_sensor over several ticks: one run per new or changed file, none while a file is being written."""

from __future__ import annotations

import os
import time

import dagster as dg
import pytest

from dagster_cfwb.resources.files import NFSResource
from dagster_cfwb.sensors import file_from_run_tags, new_files_sensor
from dagster_cfwb.sensors import new_files as sensor_module


class _Clock:
    """The sensor's notion of "now", moved by the test (building a sensor context takes seconds here)."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@dg.asset
def stg_depots(context) -> None:
    context.log.info(f"loading {file_from_run_tags(context.run.tags)}")


def _age(path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


_INSTANCE: list = []


def _tick(sensor, cursor, resources):
    if not _INSTANCE:
        _INSTANCE.append(dg.DagsterInstance.ephemeral())
    context = dg.build_sensor_context(instance=_INSTANCE[0], cursor=cursor, resources=resources)
    result = sensor(context)
    return result, result.cursor


def test_one_run_per_new_file_none_while_written(tmp_path, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(sensor_module, "time", clock)
    share = tmp_path / "share"
    (share / "depots").mkdir(parents=True)
    sensor = new_files_sensor(
        "share", "depots/*.csv", target=dg.AssetSelection.assets(stg_depots), settle_seconds=5
    )
    resources = {"share": NFSResource(root=str(share))}
    defs = dg.Definitions(assets=[stg_depots], sensors=[sensor], resources=resources)
    dg.Definitions.validate_loadable(defs)

    old = share / "depots" / "a.csv"
    old.write_text("x\n1\n")
    _age(old, 600)
    (share / "depots" / "notes.txt").write_text("ignored: does not match *.csv")
    growing = share / "depots" / "b.csv"
    growing.write_text("x\n1\n")
    clock.now = time.time()

    # Tick 1: a.csv is complete; b.csv was written just now, so it waits.
    result, cursor = _tick(sensor, None, resources)
    assert [r.tags["cfwb/file_path"] for r in result.run_requests] == ["depots/a.csv"]
    assert result.run_requests[0].tags["cfwb/file_size"] == "4"

    # Tick 2: b.csv is still growing: no run.
    with growing.open("a") as f:
        f.write("2\n3\n")
    clock.now = time.time() + 1
    result, cursor = _tick(sensor, cursor, resources)
    assert result.run_requests == []
    assert "still changing" in result.skip_reason.skip_message

    # Tick 3: b.csv is unchanged since tick 2 and older than the settle time: one run, for b.csv only.
    clock.now += 10
    result, cursor = _tick(sensor, cursor, resources)
    assert [r.tags["cfwb/file_path"] for r in result.run_requests] == ["depots/b.csv"]

    # Tick 4: nothing new.
    result, cursor = _tick(sensor, cursor, resources)
    assert result.run_requests == [] and "No new file" in result.skip_reason.skip_message

    # Tick 5: a.csv replaced by a new version: it runs again, with a new run key.
    first_key = f"depots/a.csv|{4}"
    old.write_text("x\n1\n2\n")
    _age(old, 300)
    result, cursor = _tick(sensor, cursor, resources)
    assert [r.tags["cfwb/file_path"] for r in result.run_requests] == ["depots/a.csv"]
    assert not result.run_requests[0].run_key.startswith(first_key + ":")


def test_file_without_settle_time_needs_two_identical_ticks_when_mtime_is_young(tmp_path):
    share = NFSResource(root=str(tmp_path))
    (tmp_path / "in.json").write_text("[]")
    sensor = new_files_sensor(share, "*.json", target=dg.AssetSelection.assets(stg_depots), settle_seconds=0)
    result, cursor = _tick(sensor, None, None)
    assert len(result.run_requests) == 1
    result, cursor = _tick(sensor, cursor, None)
    assert result.run_requests == []


def _sensor_files(server, name: str) -> str:
    """A folder ``name`` on the server holding one settled file ``x.csv`` (owned by the server's user)."""
    folder = server.root / name
    folder.mkdir(exist_ok=True)
    (folder / "x.csv").write_text("a\n1\n")
    _age(folder / "x.csv", 120)
    owner = server.extra.get("owner")
    if owner is not None:
        for path in (folder, folder / "x.csv"):
            os.chown(path, *owner)
    return name


@pytest.mark.sftp
@pytest.mark.parametrize("software", ["asyncssh", pytest.param("openssh", marks=pytest.mark.openssh)])
def test_sensor_over_sftp(software, request):
    from dagster_cfwb.resources.files import SFTPResource

    sftp_server = request.getfixturevalue({"asyncssh": "sftp_server", "openssh": "openssh_server"}[software])
    folder = _sensor_files(sftp_server, f"sensor-{software}")
    sftp = SFTPResource(
        host=sftp_server.host,
        port=sftp_server.port,
        user=sftp_server.user,
        password=sftp_server.password,
        known_hosts=sftp_server.extra["known_hosts"],
    )
    sensor = new_files_sensor(
        "sftp", f"{folder}/*.csv", target=dg.AssetSelection.assets(stg_depots), settle_seconds=60
    )
    result, _ = _tick(sensor, None, {"sftp": sftp})
    assert [r.tags["cfwb/file_path"] for r in result.run_requests] == [f"{folder}/x.csv"]


@pytest.mark.ftp
@pytest.mark.vsftpd
@pytest.mark.parametrize("fixture", ["vsftpd_server", "vsftpd_ftps_server"])
def test_sensor_over_vsftpd(fixture, request):
    """vsftpd has no MLSD and answers 501 to OPTS MLST: the sensor lists with LIST + MDTM."""
    from dagster_cfwb.resources.files import FTPResource

    server = request.getfixturevalue(fixture)
    folder = _sensor_files(server, f"sensor-{fixture}")
    tls = {"tls": True, "ca_certificate": server.extra["ca_certificate"]} if "ftps" in fixture else {}
    ftp = FTPResource(host=server.host, port=server.port, user=server.user, password=server.password, **tls)
    sensor = new_files_sensor(
        "ftp", f"{folder}/*.csv", target=dg.AssetSelection.assets(stg_depots), settle_seconds=60
    )
    result, _ = _tick(sensor, None, {"ftp": ftp})
    assert [r.tags["cfwb/file_path"] for r in result.run_requests] == [f"{folder}/x.csv"]
