"""Pure helpers of the file sources: patterns, type names, formats, sensor stability, redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from dagster_cfwb.resources.files import FTPResource, SFTPResource
from dagster_cfwb.sensors.new_files import _is_stable
from dagster_cfwb.transfer.files.csv_files import arrow_type
from dagster_cfwb.transfer.files.formats import detect_format
from dagster_cfwb.transfer.files.listing import RemoteFile, match_files, split_pattern


def test_split_pattern():
    assert split_pattern("depots/2024/*.csv") == ("depots/2024", "*.csv")
    assert split_pattern("a.csv") == ("", "a.csv")
    assert split_pattern("") == ("", "*")
    with pytest.raises(ValueError, match="file name only"):
        split_pattern("depots/*/a.csv")
    with pytest.raises(ValueError, match=r"\.\."):
        split_pattern("../etc/passwd")


def test_match_files_is_case_sensitive_and_sorted():
    files = [RemoteFile("d/b.csv", 1, None), RemoteFile("d/a.csv", 1, None), RemoteFile("d/C.CSV", 1, None)]
    assert [f.name for f in match_files(files, "*.csv")] == ["a.csv", "b.csv"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("string", pa.string()),
        ("int", pa.int64()),
        ("decimal(12,2)", pa.decimal128(12, 2)),
        ("date", pa.date32()),
        ("timestamp[us]", pa.timestamp("us")),
        ("bool", pa.bool_()),
    ],
)
def test_arrow_type_names(text, expected):
    assert arrow_type(text) == expected


def test_unknown_type_lists_valid_ones():
    with pytest.raises(ValueError, match="column `x`.*decimal"):
        arrow_type("money", "x")


def test_detect_format():
    assert detect_format("a/b.CSV") == "csv" and detect_format("b.csv.gz") == "csv"
    assert detect_format("b.xlsx") == "excel" and detect_format("b.jsonl") == "ndjson"
    assert detect_format("b.bin", "xlsx") == "excel"
    with pytest.raises(ValueError, match="Unknown file format"):
        detect_format("b.csv", "xml")


def test_stability_rules():
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC).timestamp()
    old = RemoteFile("a", 10, datetime(2024, 1, 1, 11, 0, tzinfo=UTC))
    young = RemoteFile("a", 10, datetime(2024, 1, 1, 11, 59, 50, tzinfo=UTC))
    assert _is_stable(old, None, 60, now)  # first seen, old enough
    assert not _is_stable(young, None, 60, now)  # too young
    assert not _is_stable(old, "9:1", 60, now)  # changed since last tick
    no_time = RemoteFile("a", 10, None)
    assert not _is_stable(no_time, None, 60, now) and _is_stable(no_time, no_time.signature, 60, now)


def test_secrets_masked_in_repr_but_settings_visible():
    ftp = FTPResource(host="h", user="u", password="Sup3r-Secret")
    sftp = SFTPResource(
        host="h", user="u", private_key="-----BEGIN KEY-----abc", private_key_passphrase="pp-pass"
    )
    assert "Sup3r-Secret" not in repr(ftp) and "tls=False" in repr(ftp)
    assert (
        "BEGIN KEY" not in repr(sftp)
        and "pp-pass" not in repr(sftp)
        and "check_known_hosts=True" in repr(sftp)
    )
    assert ftp.describe("in/a.csv") == "ftp://u@h:21/in/a.csv"


def test_wildcards_skip_hidden_files_such_as_transfers_in_progress():
    now = datetime(2024, 1, 1, tzinfo=UTC)
    files = [RemoteFile(p, 1, now) for p in ("in/a.csv", "in/.a.csv.1f2e3d4c.part", "in/.hidden")]
    assert [f.name for f in match_files(files, "*")] == ["a.csv"]
    assert [f.name for f in match_files(files, "*.csv*")] == ["a.csv"]
    assert [f.name for f in match_files(files, ".*")] == [".a.csv.1f2e3d4c.part", ".hidden"]
