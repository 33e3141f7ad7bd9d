"""Local cleanup of loads (LOAD DATA folders of dead processes) and clear connection-setting errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from dagster_cfwb.transfer import load_folders
from dagster_cfwb.transfer.load_folders import load_folder, remove_orphan_load_folders


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_load_folder_is_removed_even_when_the_load_fails(tmp_path):
    with pytest.raises(RuntimeError), load_folder(str(tmp_path)) as folder:
        (tmp_path / os.path.basename(folder) / "chunk_0.tsv").write_bytes(b"1\tx\n")
        raise RuntimeError("load failed")
    assert os.listdir(tmp_path) == []


def test_orphan_folders_of_dead_processes_only_are_removed(tmp_path):
    host = load_folders._host()
    dead = tmp_path / f"cfwb_load_{host}_{_dead_pid()}_abc"
    live = tmp_path / f"cfwb_load_{host}_{os.getpid()}_def"
    other_host = tmp_path / f"cfwb_load_otherhost_{_dead_pid()}_ghi"
    unrelated = tmp_path / "something_else"
    for folder in (dead, live, other_host, unrelated):
        folder.mkdir()
        (folder / "chunk_0.tsv").write_bytes(b"rows")
    assert remove_orphan_load_folders(str(tmp_path)) == [str(dead)]
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in (live, other_host, unrelated))


def test_missing_ssl_ca_file_names_the_field_and_path_without_retrying(tmp_path):
    from dagster_cfwb.resources.db.mysql_resource import MySQLResource
    from dagster_cfwb.resources.db.sql_resource import DatabaseConnectionError

    missing = str(tmp_path / "nope" / "ca.pem")
    started = time.monotonic()
    with pytest.raises(
        DatabaseConnectionError, match=rf"`ssl_ca` file `{re.escape(missing)}` does not exist"
    ):
        with MySQLResource(host="127.0.0.1", ssl_ca=missing).get_connection():
            pass
    assert time.monotonic() - started < 1  # a configuration mistake is not retried
