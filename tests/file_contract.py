"""Tests every file resource (FTP, FTPS, SFTP, NFS) must pass, written once.

A test module imports these functions and provides a ``remote`` fixture: a :class:`Remote` whose
``resource`` is signed in to a real server and whose ``folder`` (under ``root`` on disk) is empty and
belongs to that test only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from dagster_cfwb.transfer.files.errors import FileParseError


@dataclass
class Remote:
    resource: object
    root: Path  # the test's folder on disk, as the server sees it
    folder: str  # the same folder, as a path on the server
    secret: str  # the password or key that must never leak
    server: object = None
    owner: tuple[int, int] | None = None  # uid/gid of the server's OS user (vsftpd, sshd)

    def put(self, name: str, data: bytes) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if self.owner is not None:  # what the test writes as root must be the server user's
            for each in [path, *path.relative_to(self.root).parents]:
                os.chown(self.root / each, *self.owner)
        return f"{self.folder}/{name}"


def new_remote(server, resource, secret: str) -> Remote:
    """A :class:`Remote` on a fresh folder of ``server``'s root, owned by the server's OS user if any."""
    folder = f"t{secrets.token_hex(4)}"
    (server.root / folder).mkdir()
    owner = server.extra.get("owner")
    if owner is not None:
        os.chown(server.root / folder, *owner)
    return Remote(resource, server.root / folder, folder, secret, server, owner)


def test_list_download_upload_move_delete(remote: Remote, tmp_path):
    r = remote.resource
    a = remote.put("inbox/a.csv", b"x,y\n1,2\n")
    remote.put("inbox/b.txt", b"hello")
    remote.put("inbox/sub/c.csv", b"x,y\n3,4\n")
    listed = r.list(f"{remote.folder}/inbox/*.csv")
    assert [f.path for f in listed] == [a]
    assert listed[0].size == 8 and listed[0].modified is not None
    deep = r.list(f"{remote.folder}/inbox/*.csv", recursive=True)
    assert [f.name for f in deep] == ["a.csv", "c.csv"]
    assert r.exists(a) and not r.exists(f"{remote.folder}/inbox/zzz.csv")

    local = tmp_path / "down" / "a.csv"
    info = r.download(a, local)
    assert local.read_bytes() == b"x,y\n1,2\n" and info.size == 8
    assert [p.name for p in local.parent.iterdir()] == ["a.csv"]  # no .part file left behind

    payload = tmp_path / "up.bin"
    payload.write_bytes(bytes(range(256)) * 1000)
    up = r.upload(payload, f"{remote.folder}/outbox/new/up.bin")
    assert up.size == 256_000
    assert (remote.root / "outbox/new/up.bin").read_bytes() == payload.read_bytes()
    assert [p.name for p in (remote.root / "outbox/new").iterdir()] == ["up.bin"]  # temp name renamed

    r.move(a, f"{remote.folder}/archive/a.csv")
    assert not (remote.root / "inbox/a.csv").exists() and (remote.root / "archive/a.csv").exists()
    assert r.delete(f"{remote.folder}/archive/a.csv") is True
    assert r.delete(f"{remote.folder}/archive/a.csv") is False


def test_open_streams_the_file(remote: Remote):
    data = b"0123456789" * 50_000
    path = remote.put("big.bin", data)
    chunks = []
    with remote.resource.open(path) as f:
        while chunk := f.read(65_536):
            chunks.append(chunk)
    assert b"".join(chunks) == data
    with remote.resource.open(path) as f:  # closing early is fine
        assert f.read(5) == b"01234"


def test_missing_file_names_server_and_path(remote: Remote, tmp_path):
    path = f"{remote.folder}/nowhere/missing.csv"
    with pytest.raises(FileNotFoundError) as err:
        remote.resource.download(path, tmp_path / "x.csv")
    assert "missing.csv" in str(err.value) and remote.resource.describe() in str(err.value)
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        remote.resource.to_lakehouse(path, None, "a/stg/b.parquet")


def test_to_lakehouse_glob_windows_1252_decimal_comma(remote: Remote, local_lakehouse):
    one = "commune;montant;libellé\nGenève;1234,50;Crédit\n".encode("cp1252")
    two = "commune;montant;libellé\nNeuchâtel;-7,25;Débit « spécial »\n".encode("cp1252")
    remote.put("depots/2024-01.csv", one)
    remote.put("depots/2024-02.csv", two)
    result = remote.resource.to_lakehouse(
        f"{remote.folder}/depots/*.csv",
        local_lakehouse,
        "finances/stg/depots.parquet",
        delimiter=";",
        encoding="windows-1252",
        decimal_comma=True,
        source_file_column="source_file",
    )
    assert result.rows == 2 and result.columns == ["commune", "montant", "libelle", "source_file"]
    df = local_lakehouse.read_table("finances/stg/depots.parquet")
    assert df["commune"].to_list() == ["Genève", "Neuchâtel"]
    assert df["montant"].to_list() == [1234.5, -7.25]
    assert df["libelle"].to_list()[1] == "Débit « spécial »"
    assert [f.sha256 for f in result.files] == [
        hashlib.sha256(one).hexdigest(),
        hashlib.sha256(two).hexdigest(),
    ]
    assert result.metadata["dagster/row_count"] == 2 and len(result.metadata["source_sha256"]) == 2


def test_bad_row_names_server_path_line_and_writes_nothing(remote: Remote, local_lakehouse):
    path = remote.put("bad.csv", b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n")
    with pytest.raises(FileParseError) as err:
        remote.resource.to_lakehouse(path, local_lakehouse, "x/stg/bad.parquet")
    message = str(err.value)
    assert remote.resource.describe(path) in message and "line 4" in message
    assert "expected 3 columns, got 4" in message
    lake_root = Path(local_lakehouse.root)
    assert not lake_root.exists() or [p for p in lake_root.rglob("*") if p.is_file()] == []


def test_secret_never_in_repr_or_logs(remote: Remote, caplog):
    caplog.set_level(logging.DEBUG)
    assert remote.secret not in repr(remote.resource) and remote.secret not in str(remote.resource)
    remote.resource.list(f"{remote.folder}/*")
    assert remote.secret not in caplog.text


def test_undecodable_byte_names_server_path_line(remote: Remote, local_lakehouse):
    path = remote.put("accents.csv", "nom,ville\nA,Paris\nB,Genève\n".encode("cp1252"))
    with pytest.raises(FileParseError) as err:
        remote.resource.to_lakehouse(path, local_lakehouse, "x/stg/accents.parquet")  # encoding forgotten
    message = str(err.value)
    assert remote.resource.describe(path) in message and "line 3" in message and "0xe8" in message
    lake_root = Path(local_lakehouse.root)
    assert not lake_root.exists() or [p for p in lake_root.rglob("*") if p.is_file()] == []


def _drop_connection(session) -> None:
    """Cut a session's connection under it, like a network failure (FTP: control socket; SFTP: SSH)."""
    import socket

    if hasattr(session, "ftp"):
        session.ftp.sock.shutdown(socket.SHUT_RDWR)
    elif hasattr(session, "conn"):
        session.runner.loop.call_soon_threadsafe(session.conn.abort)
        time.sleep(0.05)


def test_upload_replaces_the_target(remote: Remote, tmp_path):
    """A second upload replaces the file (OpenSSH's plain rename refuses an existing target)."""
    local = tmp_path / "x.csv"
    for content in (b"a\n1\n", b"a\n2\n3\n"):
        local.write_bytes(content)
        remote.resource.upload(local, f"{remote.folder}/out/x.csv")
    assert (remote.root / "out/x.csv").read_bytes() == b"a\n2\n3\n"
    assert [p.name for p in (remote.root / "out").iterdir()] == ["x.csv"]


def test_failed_upload_leaves_no_temporary_file(remote: Remote, tmp_path, monkeypatch):
    """The connection drops after each write: the upload fails and its `.part` is removed anyway."""
    from dagster_cfwb.resources.files import FileServerError

    resource = remote.resource.model_copy(update={"retries": 1})
    original = type(resource)._open_session

    def open_then_drop_after_write(self):
        session = original(self)
        write = session.write_from

        def write_then_drop(local_path, path):
            write(local_path, path)
            _drop_connection(session)
            raise ConnectionResetError("connection dropped after the write (test)")

        session.write_from = write_then_drop
        return session

    monkeypatch.setattr(type(resource), "_open_session", open_then_drop_after_write)
    local = tmp_path / "x.csv"
    local.write_bytes(b"a\n1\n" * 1000)
    remote.put("out/keep.txt", b"other file")
    with pytest.raises(FileServerError, match="dropped after the write"):
        resource.upload(local, f"{remote.folder}/out/x.csv")
    assert [p.name for p in (remote.root / "out").iterdir()] == ["keep.txt"]


def test_next_upload_removes_temporary_files_of_dead_runs(remote: Remote, tmp_path):
    old = time.time() - 3600
    for name in (".x.csv.0badc0de.part", ".y.csv.0badc0de.part", ".x.csv.1234abcd.part"):
        remote.put(f"out/{name}", b"half a file")
    for name in (".x.csv.0badc0de.part", ".y.csv.0badc0de.part"):
        os.utime(remote.root / "out" / name, (old, old))
    local = tmp_path / "x.csv"
    local.write_bytes(b"a\n1\n")
    remote.resource.upload(local, f"{remote.folder}/out/x.csv")
    # The dead run's temp file of x.csv is gone; a recent one (a live upload) and y.csv's are kept.
    assert sorted(p.name for p in (remote.root / "out").iterdir()) == [
        ".x.csv.1234abcd.part",
        ".y.csv.0badc0de.part",
        "x.csv",
    ]


def test_download_resumes_after_the_connection_is_cut(remote: Remote, tmp_path, monkeypatch):
    """The connection is cut under the client mid-download; the next attempt resumes at the byte reached."""
    data = bytes(range(251)) * 4_000  # ~1 MB
    path = remote.put("cut.bin", data)
    resource = remote.resource
    offsets: list[int] = []
    original_open = type(resource)._open_session

    def open_and_cut_once(self):
        session = original_open(self)
        read_into = session.read_into

        def cut_after_300k(p, offset, sink):
            offsets.append(offset)
            if len(offsets) > 1:
                return read_into(p, offset, sink)

            class Cutting:
                def write(self, chunk):
                    sink.write(chunk)
                    if sink.tell() >= 300_000:
                        _drop_connection(session)
                        raise ConnectionResetError("connection cut mid-download (test)")

            return read_into(p, offset, Cutting())

        session.read_into = cut_after_300k
        return session

    monkeypatch.setattr(type(resource), "_open_session", open_and_cut_once)
    resource.download(path, tmp_path / "cut.bin")
    assert (tmp_path / "cut.bin").read_bytes() == data
    assert len(offsets) == 2 and offsets[0] == 0 and offsets[1] >= 300_000
    assert [p.name for p in tmp_path.iterdir()] == ["cut.bin"]
