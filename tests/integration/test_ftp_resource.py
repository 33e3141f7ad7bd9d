"""FTPResource against vsftpd (Debian's package: plain FTP, explicit FTPS with its default TLS settings,
implicit FTPS) and pyftpdlib (MLSD, and fault injection: connections dropped mid-transfer)."""

from __future__ import annotations

import secrets

import pytest
from file_contract import (  # noqa: F401 - shared tests run for FTP and for FTPS
    Remote,
    new_remote,
    test_bad_row_names_server_path_line_and_writes_nothing,
    test_list_download_upload_move_delete,
    test_missing_file_names_server_and_path,
    test_open_streams_the_file,
    test_secret_never_in_repr_or_logs,
    test_to_lakehouse_glob_windows_1252_decimal_comma,
    test_undecodable_byte_names_server_path_line,
)

from dagster_cfwb.resources.files import FileServerConnectionError, FTPResource
from dagster_cfwb.resources.files import ftp_resource as ftp_module

pytestmark = pytest.mark.ftp


def _resource(server, **extra) -> FTPResource:
    return FTPResource(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        retries=3,
        retry_delay_seconds=0.05,
        timeout_seconds=10,
        **extra,
    )


_SERVERS = {
    "pyftpdlib": ("ftp_server", {}),
    "pyftpdlib-ftps": ("ftps_server", {"tls": True}),
    "vsftpd": ("vsftpd_server", {}),
    "vsftpd-ftps": ("vsftpd_ftps_server", {"tls": True}),
    "vsftpd-implicit-ftps": ("vsftpd_implicit_server", {"implicit_tls": True}),
}


def _server_resource(request, name: str):
    fixture, options = _SERVERS[name]
    server = request.getfixturevalue(fixture)
    if options:
        options = {**options, "ca_certificate": server.extra["ca_certificate"]}
    return server, _resource(server, **options)


@pytest.fixture(
    params=[
        "pyftpdlib",
        "pyftpdlib-ftps",
        pytest.param("vsftpd", marks=pytest.mark.vsftpd),
        pytest.param("vsftpd-ftps", marks=pytest.mark.vsftpd),
        pytest.param("vsftpd-implicit-ftps", marks=pytest.mark.vsftpd),
    ]
)
def remote(request) -> Remote:
    server, resource = _server_resource(request, request.param)
    return new_remote(server, resource, server.password)


def test_wrong_password_is_clear_and_masked(ftp_server):
    bad = _resource(ftp_server).model_copy(update={"password": "Wr0ng-Secret-42"})
    with pytest.raises(FileServerConnectionError) as err:
        bad.list()
    message = str(err.value)
    assert "Sign-in refused" in message and f"ftp://etl@127.0.0.1:{ftp_server.port}" in message
    assert "Wr0ng-Secret-42" not in message and "Wr0ng-Secret-42" not in repr(bad)


def test_dropped_connection_resumes_to_the_exact_file(ftp_server, tmp_path, monkeypatch, caplog):
    data = bytes(range(251)) * 8_000  # ~2 MB, not a multiple of any buffer size
    folder = f"t{secrets.token_hex(4)}"
    (ftp_server.root / folder).mkdir()
    (ftp_server.root / folder / "big.bin").write_bytes(data)
    offsets = []
    original = ftp_module._FTPSession._transfer
    monkeypatch.setattr(
        ftp_module._FTPSession, "_transfer", lambda self, p, o: offsets.append(o) or original(self, p, o)
    )
    ftp_server.drop.arm(after_bytes=700_000)
    dropped_before = ftp_server.drop.dropped
    _resource(ftp_server).download(f"{folder}/big.bin", tmp_path / "big.bin")
    assert ftp_server.drop.dropped == dropped_before + 1
    assert (tmp_path / "big.bin").read_bytes() == data
    assert "retry 1 of 3" in caplog.text and ftp_server.password not in caplog.text
    assert offsets[0] == 0 and offsets[-1] > 0  # the second attempt resumed with REST


def test_ftps_without_trusted_certificate_fails_clearly(ftps_server):
    resource = _resource(ftps_server, tls=True)
    with pytest.raises(FileServerConnectionError, match="TLS handshake with ftps://etl@127.0.0.1"):
        resource.list()


def test_ftps_server_refuses_plain_ftp(ftps_server):
    with pytest.raises(FileServerConnectionError, match="Sign-in refused"):
        _resource(ftps_server).list()


def test_failed_local_write_closes_the_data_connection(ftp_server, monkeypatch):
    folder = f"t{secrets.token_hex(4)}"
    (ftp_server.root / folder).mkdir()
    (ftp_server.root / folder / "x.bin").write_bytes(b"x" * 600_000)
    opened = []
    original = ftp_module._FTPSession._transfer
    monkeypatch.setattr(
        ftp_module._FTPSession,
        "_transfer",
        lambda self, p, o: opened.append(original(self, p, o)) or opened[-1],
    )

    class FullDisk:
        def write(self, data):
            raise OSError(28, "No space left on device")

    with _resource(ftp_server).connect() as session, pytest.raises(OSError, match="No space left"):
        session.read_into(f"{folder}/x.bin", 0, FullDisk())
    assert len(opened) == 1 and opened[0].fileno() == -1  # closed, not left to the garbage collector
