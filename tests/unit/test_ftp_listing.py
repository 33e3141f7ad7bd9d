"""Reading FTP LIST lines and times as real servers send them (vsftpd, ProFTPD, IIS)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dagster_cfwb.resources.files.ftp_listing import parse_ftp_time, parse_list_line, reply_code


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("-rw-r--r--    1 1002     1002            6 Dec 01 21:19 a.txt", ("a.txt", False, 6)),  # vsftpd
        ("drwxr-xr-x    2 1002     1002         4096 Dec 01 21:20 sub dir", ("sub dir", True, 4096)),
        ("-rw-r--r--   1 ftp      ftp        1234 Jan  5  2023 2024.csv", ("2024.csv", False, 1234)),
        ("-rw-r--r--   1 owner    12345 Jan  5  2023 no-group.csv", ("no-group.csv", False, 12345)),
        ("lrwxrwxrwx   1 u        g             5 Jan  5 2023 latest.csv -> x.csv", ("latest.csv", False, 5)),
        ("-rw-r--r--+  1 u        g             7 Mar 10 09:05 acl.csv", ("acl.csv", False, 7)),
        ("12-01-26  09:19PM       <DIR>          archive", ("archive", True, 0)),  # IIS
        ("12-01-2026  09:19AM              1234 élèves 2024.csv", ("élèves 2024.csv", False, 1234)),
    ],
)
def test_list_lines_of_real_servers(line, expected):
    assert parse_list_line(line) == expected


@pytest.mark.parametrize("line", ["total 8", "", "garbage line", "modify=20240101;type=file; x"])
def test_lines_that_are_not_entries(line):
    assert parse_list_line(line) is None


def test_times_and_reply_codes():
    assert parse_ftp_time("20261201211912") == datetime(2026, 12, 1, 21, 19, 12, tzinfo=UTC)
    assert parse_ftp_time("20261201211912.123") == datetime(2026, 12, 1, 21, 19, 12, tzinfo=UTC)
    assert parse_ftp_time("junk") is None
    assert reply_code(Exception("501 Option not understood.")) == "501" and reply_code(EOFError()) == ""


def test_local_times_of_a_server_in_geneva():
    from zoneinfo import ZoneInfo

    zurich = ZoneInfo("Europe/Zurich")
    assert parse_ftp_time("20261201120000", zurich) == datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # CET
    assert parse_ftp_time("20260701120000", zurich) == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # CEST


def test_server_timezone_is_checked():
    from dagster_cfwb.resources.files import FTPResource

    with pytest.raises(ValueError, match="Unknown time zone `Europe/Zurch`.*`Europe/Zurich`"):
        FTPResource(host="ftp.example", server_timezone="Europe/Zurch")
