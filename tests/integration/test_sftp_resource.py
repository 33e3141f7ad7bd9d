"""SFTPResource against OpenSSH's sshd (Debian's package, internal-sftp) and asyncssh's server (fault
injection: connection dropped mid-download): password and key sign-in, host-key checking, resume."""

from __future__ import annotations

import secrets

import pytest
from file_contract import (  # noqa: F401 - shared tests run for password and key sign-in
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


_SERVERS = {"asyncssh": "sftp_server", "openssh": "openssh_server"}


@pytest.fixture(
    params=[
        "asyncssh-password",
        "asyncssh-private_key",
        pytest.param("openssh-password", marks=pytest.mark.openssh),
        pytest.param("openssh-private_key", marks=pytest.mark.openssh),
    ]
)
def remote(request) -> Remote:
    software, sign_in = request.param.split("-")
    server = request.getfixturevalue(_SERVERS[software])
    if sign_in == "password":
        resource, secret = _resource(server), server.password
    else:
        key = server.extra["client_private_key"]
        resource, secret = _resource(server, password=None, private_key=key), key.splitlines()[1]
    return new_remote(server, resource, secret)


@pytest.fixture(params=["asyncssh", pytest.param("openssh", marks=pytest.mark.openssh)])
def any_sftp_server(request):
    return request.getfixturevalue(_SERVERS[request.param])


def test_wrong_password_is_clear_and_masked(any_sftp_server):
    bad = _resource(any_sftp_server, password="Wr0ng-Secret-42")
    with pytest.raises(FileServerConnectionError) as err:
        bad.list()
    message = str(err.value)
    assert (
        "Sign-in refused" in message
        and f"sftp://{any_sftp_server.user}@127.0.0.1:{any_sftp_server.port}" in message
    )
    assert "Wr0ng-Secret-42" not in message and "Wr0ng-Secret-42" not in repr(bad)


def test_unknown_host_key_is_refused_by_default(any_sftp_server):
    impostor_entry = f"[127.0.0.1]:{any_sftp_server.port} {any_sftp_server.extra['other_host_key']}"
    with pytest.raises(HostKeyError) as err:
        _resource(any_sftp_server, known_hosts=impostor_entry).list()
    message = str(err.value)
    assert "not trusted" in message and "SHA256:" in message
    assert any_sftp_server.extra["known_hosts"] in message  # the line to add, once an admin confirms it
    assert any_sftp_server.password not in message
    # With no known_hosts given, the (empty) ~/.ssh/known_hosts is used: refused too.
    with pytest.raises(HostKeyError):
        _resource(any_sftp_server, known_hosts=None).list()


def test_host_key_check_can_be_turned_off_for_test_servers(any_sftp_server):
    resource = _resource(any_sftp_server, known_hosts=None, check_known_hosts=False)
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
