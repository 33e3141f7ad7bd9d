"""FTPResource against vsftpd (Debian's package: plain FTP, explicit FTPS with its default TLS settings,
implicit FTPS) and pyftpdlib (MLSD, and fault injection: connections dropped mid-transfer)."""

from __future__ import annotations

import ftplib
import secrets

import pytest
from conftest import free_port
from file_contract import (  # noqa: F401 - shared tests run for FTP and for FTPS
    Remote,
    new_remote,
    test_bad_row_names_server_path_line_and_writes_nothing,
    test_download_resumes_after_the_connection_is_cut,
    test_failed_upload_leaves_no_temporary_file,
    test_list_download_upload_move_delete,
    test_missing_file_names_server_and_path,
    test_next_upload_removes_temporary_files_of_dead_runs,
    test_open_streams_the_file,
    test_secret_never_in_repr_or_logs,
    test_to_lakehouse_glob_windows_1252_decimal_comma,
    test_undecodable_byte_names_server_path_line,
    test_upload_replaces_the_target,
)

from dagster_cfwb.resources.files import FileServerConnectionError, FileServerError, FTPResource
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


@pytest.mark.parametrize("name", ["pyftpdlib", pytest.param("vsftpd", marks=pytest.mark.vsftpd)])
def test_wrong_password_is_clear_and_masked(name, request):
    ftp_server, resource = _server_resource(request, name)
    bad = resource.model_copy(update={"password": "Wr0ng-Secret-42"})
    with pytest.raises(FileServerConnectionError) as err:
        bad.list()
    message = str(err.value)
    assert "Sign-in refused" in message and f"ftp://{ftp_server.user}@127.0.0.1:{ftp_server.port}" in message
    assert "Wr0ng-Secret-42" not in message and "Wr0ng-Secret-42" not in repr(bad)


@pytest.mark.parametrize("name", ["pyftpdlib", "pyftpdlib-ftps"])
def test_dropped_connection_resumes_to_the_exact_file(name, request, tmp_path, monkeypatch, caplog):
    """FTPS too: the TLS error of a cut data connection (``SSLEOFError`` on close) is a drop, resumed."""
    ftp_server, resource = _server_resource(request, name)
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
    resource.download(f"{folder}/big.bin", tmp_path / "big.bin")
    assert ftp_server.drop.dropped == dropped_before + 1
    assert (tmp_path / "big.bin").read_bytes() == data
    assert "retry 1 of 3" in caplog.text and ftp_server.password not in caplog.text
    assert offsets[0] == 0 and offsets[-1] > 0  # the second attempt resumed with REST
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]  # the .part was renamed, not left


@pytest.mark.parametrize(
    "name",
    [
        "pyftpdlib-ftps",
        pytest.param("vsftpd-ftps", marks=pytest.mark.vsftpd),
        pytest.param("vsftpd-implicit-ftps", marks=pytest.mark.vsftpd),
    ],
)
def test_ftps_without_trusted_certificate_fails_clearly(name, request):
    server, resource = _server_resource(request, name)
    untrusted = resource.model_copy(update={"ca_certificate": None, "retries": 0})
    with pytest.raises(FileServerConnectionError, match=f"TLS handshake with ftps://{server.user}@127.0.0.1"):
        untrusted.list()


@pytest.mark.parametrize("name", ["pyftpdlib-ftps", pytest.param("vsftpd-ftps", marks=pytest.mark.vsftpd)])
def test_ftps_server_refuses_plain_ftp(name, request):
    """vsftpd's default `force_local_logins_ssl=YES`: a plain sign-in is refused, clearly."""
    server, _ = _server_resource(request, name)
    with pytest.raises(FileServerConnectionError, match="Sign-in refused") as err:
        _resource(server).list()
    assert server.password not in str(err.value)


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


@pytest.mark.vsftpd
def test_vsftpd_lists_without_opts_mlst(vsftpd_server):
    """vsftpd answers `501 Option not understood` to `OPTS MLST` and `500` to `MLSD`: LIST is used."""
    remote = new_remote(vsftpd_server, _resource(vsftpd_server), vsftpd_server.password)
    remote.put("in/a b.csv", b"x\n1\n")
    remote.put("in/sub/c.csv", b"x\n")
    files = remote.resource.list(f"{remote.folder}/in/*.csv", recursive=True)
    assert [(f.name, f.size) for f in files] == [("a b.csv", 4), ("c.csv", 2)]
    assert all(f.modified is not None for f in files)  # exact times from MDTM
    with pytest.raises(FileNotFoundError, match="No folder"):  # vsftpd lists a missing folder as empty
        remote.resource.list(f"{remote.folder}/nowhere/*.csv")
    assert remote.resource.list(f"{remote.folder}/nowhere/a.csv") == []
    log = vsftpd_server.extra["log"].read_text()
    assert '"OPTS MLST' not in log and '"LIST ' in log
    remote.put("in/notes.txt", b"not a csv")
    remote.resource.list(f"{remote.folder}/in/*.csv")
    assert "notes.txt" not in vsftpd_server.extra["log"].read_text()  # no MDTM for names not matched
    assert isinstance(remote.resource.list("*"), list)  # the login folder itself


@pytest.mark.vsftpd
def test_vsftpd_ftps_data_connection_reuses_the_tls_session(vsftpd_ftps_server, tmp_path):
    """vsftpd's default `require_ssl_reuse=YES` refuses data connections without the session (522)."""
    resource = _resource(
        vsftpd_ftps_server, tls=True, ca_certificate=vsftpd_ftps_server.extra["ca_certificate"]
    )
    remote = new_remote(vsftpd_ftps_server, resource, vsftpd_ftps_server.password)
    path = remote.put("x.bin", b"abc" * 100_000)
    resource.download(path, tmp_path / "x.bin")
    assert (tmp_path / "x.bin").read_bytes() == b"abc" * 100_000
    assert "No SSL session reuse" not in vsftpd_ftps_server.extra["log"].read_text()


@pytest.mark.vsftpd
def test_refused_transfer_raises_never_an_empty_read(vsftpd_ftps_server, tmp_path, monkeypatch):
    """A transfer the server refuses (here vsftpd's 522, TLS session not reused) is an error, not b''."""
    resource = _resource(
        vsftpd_ftps_server, tls=True, ca_certificate=vsftpd_ftps_server.extra["ca_certificate"]
    )
    remote = new_remote(vsftpd_ftps_server, resource, vsftpd_ftps_server.password)
    path = remote.put("refused.csv", b"a,b\n1,2\n")
    monkeypatch.setattr(ftp_module._FTPS, "ntransfercmd", ftplib.FTP_TLS.ntransfercmd)  # plain ftplib
    with pytest.raises(FileServerError, match="522 SSL connection failed") as err:
        with resource.open(path) as f:
            f.read()
    assert f"Reading {resource.describe(path)} failed" in str(err.value)
    with pytest.raises(FileServerError, match="522"):
        resource.download(path, tmp_path / "refused.csv")
    assert list(tmp_path.iterdir()) == []


def test_one_retry_loop_per_operation(monkeypatch):
    """Connecting and working share `retries + 1` attempts (they nested: up to (retries + 1)² tries)."""
    resource = FTPResource(host="127.0.0.1", port=free_port(), retries=2, retry_delay_seconds=0.001)
    calls = []

    class DroppingSession:
        def listdir(self, folder, name_glob=None):
            raise ConnectionResetError("dropped mid-listing (test)")

        def close(self):
            pass

    def flaky_open(self):  # a server that refuses every other connection and drops the others
        calls.append(1)
        if len(calls) % 2:
            raise ConnectionRefusedError("refused (test)")
        return DroppingSession()

    monkeypatch.setattr(FTPResource, "_open_session", flaky_open)
    with pytest.raises(FileServerConnectionError, match="Could not connect to ftp://anonymous@127.0.0.1"):
        resource.list("*")
    assert len(calls) == 3  # refused, dropped, refused: 3 attempts in all, not 3 per connection
    calls[:] = [1]  # now start with a connection that works: dropped, refused, dropped
    with pytest.raises(FileServerError, match="dropped mid-listing"):
        resource.list("*")
    assert len(calls) == 1 + 3


@pytest.mark.vsftpd
def test_unreadable_list_lines_fall_back_to_nlst(vsftpd_server, monkeypatch):
    """A server whose LIST format is unknown is listed with NLST, then SIZE/MDTM per name."""
    from dagster_cfwb.resources.files import ftp_listing

    monkeypatch.setattr(ftp_listing, "parse_list_line", lambda line: None)
    remote = new_remote(vsftpd_server, _resource(vsftpd_server), vsftpd_server.password)
    remote.put("in/a.csv", b"x\n1\n")
    remote.put("in/sub/b.csv", b"x\n")
    files = remote.resource.list(f"{remote.folder}/in/*.csv", recursive=True)
    assert [(f.name, f.size) for f in files] == [("a.csv", 4), ("b.csv", 2)]
    assert all(f.modified is not None for f in files)
    with pytest.raises(FileNotFoundError, match="No folder"):
        remote.resource.list(f"{remote.folder}/nowhere/*.csv")


def test_mlsd_without_opts_and_missing_facts(ftp_server, monkeypatch):
    """MLSD is sent without `OPTS MLST`; facts the server leaves out are asked with SIZE/MDTM."""
    import ftplib as ftplib_module

    sent = []
    original_mlsd = ftplib_module.FTP.mlsd

    def mlsd_without_facts(self, path="", facts=[]):  # noqa: B006 - ftplib's own signature
        sent.append(list(facts))
        for name, found in original_mlsd(self, path, facts):
            yield name, {"type": found["type"]}  # a server that sends only the type

    monkeypatch.setattr(ftplib_module.FTP, "mlsd", mlsd_without_facts)
    remote = new_remote(ftp_server, _resource(ftp_server), ftp_server.password)
    remote.put("a.csv", b"x\n1\n")
    (files,) = remote.resource.list(f"{remote.folder}/*.csv")
    assert (files.name, files.size) == ("a.csv", 4) and files.modified is not None
    assert sent == [[]]


@pytest.mark.vsftpd
def test_server_giving_local_times(vsftpd_localtime_server):
    """vsftpd with `use_localtime=YES` (Debian's shipped config) in Geneva: times 1-2 h ahead of UTC."""
    import time

    from real_file_servers import LOCAL_TIMEZONE

    server = vsftpd_localtime_server
    remote = new_remote(server, _resource(server), server.password)
    remote.put("a.csv", b"x\n1\n")
    (shifted,) = remote.resource.list(f"{remote.folder}/*.csv")
    assert 3500 <= shifted.modified.timestamp() - time.time() <= 7300  # read as UTC: off by the offset
    fixed = _resource(server, server_timezone=LOCAL_TIMEZONE)
    (right,) = fixed.list(f"{remote.folder}/*.csv")
    assert abs(right.modified.timestamp() - time.time()) < 120
    assert abs(fixed.stat(f"{remote.folder}/a.csv").modified.timestamp() - time.time()) < 120
