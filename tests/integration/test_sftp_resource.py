"""SFTPResource against a real asyncssh SFTP server: password and key sign-in, host-key checking, resume."""

from __future__ import annotations

import secrets

import pytest
from file_contract import (  # noqa: F401 - shared tests run for password and key sign-in
    Remote,
    test_bad_row_names_server_path_line_and_writes_nothing,
    test_list_download_upload_move_delete,
    test_missing_file_names_server_and_path,
    test_open_streams_the_file,
    test_secret_never_in_repr_or_logs,
    test_to_lakehouse_glob_windows_1252_decimal_comma,
    test_undecodable_byte_names_server_path_line,
)

from dagster_cfwb.resources.files import FileServerConnectionError, HostKeyError, SFTPResource
from dagster_cfwb.resources.files import sftp_resource as sftp_module

pytestmark = pytest.mark.sftp


def _resource(server, **extra) -> SFTPResource:
    options = {"password": server.password, "known_hosts": server.extra["known_hosts"], **extra}
    return SFTPResource(
        host=server.host,
        port=server.port,
        user=server.user,
        retries=3,
        retry_delay_seconds=0.05,
        timeout_seconds=10,
        **options,
    )


@pytest.fixture(params=["password", "private_key"])
def remote(request, sftp_server) -> Remote:
    if request.param == "password":
        resource, secret = _resource(sftp_server), sftp_server.password
    else:
        key = sftp_server.extra["client_private_key"]
        resource, secret = _resource(sftp_server, password=None, private_key=key), key.splitlines()[1]
    folder = f"t{secrets.token_hex(4)}"
    (sftp_server.root / folder).mkdir()
    return Remote(resource, sftp_server.root / folder, folder, secret, sftp_server)


def test_wrong_password_is_clear_and_masked(sftp_server):
    bad = _resource(sftp_server, password="Wr0ng-Secret-42")
    with pytest.raises(FileServerConnectionError) as err:
        bad.list()
    message = str(err.value)
    assert "Sign-in refused" in message and f"sftp://etl@127.0.0.1:{sftp_server.port}" in message
    assert "Wr0ng-Secret-42" not in message and "Wr0ng-Secret-42" not in repr(bad)


def test_unknown_host_key_is_refused_by_default(sftp_server):
    impostor_entry = f"[127.0.0.1]:{sftp_server.port} {sftp_server.extra['other_host_key']}"
    with pytest.raises(HostKeyError) as err:
        _resource(sftp_server, known_hosts=impostor_entry).list()
    message = str(err.value)
    assert "not trusted" in message and "SHA256:" in message
    assert sftp_server.extra["known_hosts"] in message  # the line to add, once an admin confirms it
    assert sftp_server.password not in message
    # With no known_hosts given, the (empty) ~/.ssh/known_hosts is used: refused too.
    with pytest.raises(HostKeyError):
        _resource(sftp_server, known_hosts=None).list()


def test_host_key_check_can_be_turned_off_for_test_servers(sftp_server):
    resource = _resource(sftp_server, known_hosts=None, check_known_hosts=False)
    assert isinstance(resource.list("*"), list)


def test_dropped_connection_resumes_to_the_exact_file(sftp_server, tmp_path, monkeypatch, caplog):
    data = bytes(range(251)) * 16_000  # ~4 MB
    folder = f"t{secrets.token_hex(4)}"
    (sftp_server.root / folder).mkdir()
    (sftp_server.root / folder / "big.bin").write_bytes(data)
    offsets = []
    original = sftp_module._SFTPSession.read_into
    monkeypatch.setattr(
        sftp_module._SFTPSession,
        "read_into",
        lambda self, p, o, s: offsets.append(o) or original(self, p, o, s),
    )
    sftp_server.drop.arm(after_bytes=2_000_000)
    dropped_before = sftp_server.drop.dropped
    _resource(sftp_server).download(f"{folder}/big.bin", tmp_path / "big.bin")
    assert sftp_server.drop.dropped == dropped_before + 1
    assert (tmp_path / "big.bin").read_bytes() == data
    assert "retry 1 of 3" in caplog.text and sftp_server.password not in caplog.text
    assert offsets[0] == 0 and offsets[-1] > 0  # the second attempt resumed at the last byte received
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]
