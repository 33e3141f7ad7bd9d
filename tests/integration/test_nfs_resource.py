"""NFSResource on a temporary folder standing in for a mounted share."""

from __future__ import annotations

import pytest
from file_contract import (  # noqa: F401 - the same contract as FTP and SFTP
    Remote,
    test_bad_row_names_server_path_line_and_writes_nothing,
    test_list_download_upload_move_delete,
    test_missing_file_names_server_and_path,
    test_open_streams_the_file,
    test_to_lakehouse_glob_windows_1252_decimal_comma,
    test_undecodable_byte_names_server_path_line,
)

from dagster_cfwb.resources.files import NFSResource


@pytest.fixture
def remote(tmp_path) -> Remote:
    share = tmp_path / "share"
    (share / "dept").mkdir(parents=True)
    return Remote(NFSResource(root=str(share)), share / "dept", "dept", secret="")


def test_paths_cannot_leave_the_share(tmp_path):
    (tmp_path / "share").mkdir()
    (tmp_path / "secret.txt").write_text("x")
    share = NFSResource(root=str(tmp_path / "share"))
    with pytest.raises(ValueError, match=r"\.\."):
        share.list("../*.txt")
    with pytest.raises(Exception, match="outside the share"):
        share.download("../secret.txt", tmp_path / "copy.txt")


def test_unmounted_share_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="not mounted"):
        NFSResource(root=str(tmp_path / "absent")).list()


def test_files_are_read_in_place(tmp_path, local_lakehouse):
    share = tmp_path / "share"
    share.mkdir()
    (share / "a.csv").write_text("x\n1\n2\n")
    result = NFSResource(root=str(share)).to_lakehouse("a.csv", local_lakehouse, "d/stg/a.parquet")
    assert result.rows == 2 and result.files[0].path == "a.csv"
