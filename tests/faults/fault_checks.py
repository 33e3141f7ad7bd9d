"""What every fault test measures: the table's exact content, and what was left behind.

A table version is rows ``(id, label)`` with ``label = f"{tag}-{id}"`` for a set of ids, so its
exact content has one digest computed the same way in Python and in SQL: the MD5 of
``id|label`` lines joined by ``,`` in id order. A table is then *exactly* one version when its row
count and digest match; otherwise the rows lost / duplicated are counted against the nearest one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pyarrow as pa

__all__ = [
    "Hold",
    "LeftBehind",
    "Outcome",
    "assert_nothing_left",
    "Version",
    "lakehouse_state",
    "leftover_local_files",
    "mariadb_leftovers",
    "mariadb_state",
    "pg_leftovers",
    "pg_state",
    "record_outcome",
    "run_in_thread",
    "sigkill",
    "slow_batches",
    "start_worker",
    "wait_until",
]

WORKER = Path(__file__).with_name("load_worker.py")


@dataclass(frozen=True, repr=False)
class Version:
    """One complete content of the target: ``{id: f"{tag}-{id}"}`` for the given ids."""

    rows: dict[int, str]

    def __repr__(self) -> str:
        return f"Version({self.spec()})"

    @classmethod
    def of(cls, tag: str, ids: Iterable[int]) -> Version:
        return cls({i: f"{tag}-{i}" for i in ids})

    def upserted(self, other: Version) -> Version:
        return Version({**self.rows, **other.rows})

    def appended(self, other: Version) -> Version:
        assert not set(self.rows) & set(other.rows)
        return Version({**self.rows, **other.rows})

    def arrow(self) -> pa.Table:
        return self._arrow

    @cached_property
    def _arrow(self) -> pa.Table:
        ids = sorted(self.rows)
        return pa.table({"id": pa.array(ids, pa.int64()), "label": pa.array([self.rows[i] for i in ids])})

    def spec(self) -> list:
        """A compact description for the worker process: [(tag, first, last+1), …] (ranges only)."""
        out: list = []
        for i in sorted(self.rows):
            tag = self.rows[i].rsplit("-", 1)[0]
            if out and out[-1][0] == tag and out[-1][2] == i:
                out[-1][2] = i + 1
            else:
                out.append([tag, i, i + 1])
        return out

    @classmethod
    def from_spec(cls, spec: list) -> Version:
        rows: dict[int, str] = {}
        for tag, first, stop in spec:
            rows.update({i: f"{tag}-{i}" for i in range(first, stop)})
        return cls(rows)

    @cached_property
    def digest(self) -> str:
        text = ",".join(f"{i}|{self.rows[i]}" for i in sorted(self.rows))
        return hashlib.md5(text.encode()).hexdigest()


def slow_batches(
    version: Version,
    *,
    batch_rows: int = 2_500,
    pause: float = 0.02,
    hold: Callable[[], object] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The version's rows as Arrow batches, ``pause`` seconds apart (a slow source).

    With ``hold``, the source calls it half-way and waits for it to return: the load is then
    certainly in flight (half its rows sent) while the test injects its fault.
    """
    batches = version.arrow().to_batches(max_chunksize=batch_rows)
    for i, batch in enumerate(batches):
        if i:
            time.sleep(pause)
        if hold is not None and i == len(batches) // 2:
            hold()
        yield batch


class Hold:
    """A ``hold`` for :func:`slow_batches`: marks the half-way point reached, waits for ``release()``."""

    def __init__(self, timeout: float = 60.0):
        self.reached, self._released, self._timeout = threading.Event(), threading.Event(), timeout

    def __call__(self) -> None:
        self.reached.set()
        self._released.wait(self._timeout)

    def release(self) -> None:
        self._released.set()


@dataclass
class State:
    """What a table holds: row count, distinct ids, digest, and (on demand) the rows themselves."""

    rows: int
    distinct: int
    digest: str | None
    fetch: Callable[[], list[tuple[int, str]]] = field(repr=False)

    def compare(self, *versions: Version) -> tuple[Version | None, int, int]:
        """(the version it is exactly, or None; rows lost; rows duplicated) against the nearest version."""
        for v in versions:
            if self.rows == len(v.rows) and self.digest == v.digest:
                return v, 0, 0
        got = Counter(self.fetch()) if self.rows else Counter()
        best = None
        for v in versions:
            want = Counter(v.rows.items())
            lost, extra = sum((want - got).values()), sum((got - want).values())
            if best is None or lost + extra < best[1] + best[2]:
                best = (None, lost, extra)
        return best


def pg_state(conn, table: str) -> State | None:
    """State of PostgreSQL table ``table`` (quoted), or None when it does not exist."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", (table,))
        if cur.fetchone()[0] is None:
            return None
        cur.execute(
            f"SELECT count(*), count(DISTINCT id), "
            f"md5(coalesce(string_agg(id::text || '|' || label, ',' ORDER BY id, label), '')) FROM {table}"
        )
        rows, distinct, digest = cur.fetchone()

    def fetch():
        with conn.cursor() as cur:
            cur.execute(f"SELECT id, label FROM {table}")
            return cur.fetchall()

    return State(rows, distinct, digest, fetch)


def mariadb_state(conn, table: str) -> State | None:
    """State of MariaDB table ``table`` (in the connection's database), or None when it does not exist."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = %s",
            (table,),
        )
        if cur.fetchone()[0] == 0:
            return None
        cur.execute("SET SESSION group_concat_max_len = 1073741824")
        cur.execute(
            f"SELECT count(*), count(DISTINCT id), "
            f"MD5(COALESCE(GROUP_CONCAT(CONCAT(id, '|', label) ORDER BY id, label SEPARATOR ','), '')) "
            f"FROM `{table}`"
        )
        rows, distinct, digest = cur.fetchone()
    conn.commit()

    def fetch():
        with conn.cursor() as cur:
            cur.execute(f"SELECT id, label FROM `{table}`")
            return [tuple(r) for r in cur.fetchall()]

    return State(int(rows), int(distinct), digest, fetch)


def lakehouse_state(lakehouse, path: str) -> State | None:
    """State of lakehouse file ``path`` read through the resource (DuckDB), or None when it does not exist."""
    if not lakehouse.exists(path):
        return None
    row = lakehouse.query_blob_storage(
        "SELECT count(*), count(DISTINCT id), md5(coalesce(string_agg(CAST(id AS VARCHAR) || '|' || label, ',' "
        f"ORDER BY id, label), '')) FROM 'azure://{path}'",  # a test path
        output="arrow",
    ).to_pylist()[0]
    rows, distinct, digest = row.values()

    def fetch():
        table = lakehouse.read_table(path, output="arrow")
        return list(zip(table["id"].to_pylist(), table["label"].to_pylist(), strict=True))

    return State(rows, distinct, digest, fetch)


# -- what must not be left behind ------------------------------------------------------------------
_PG_FILE = re.compile(r"^(t\d+_)?(\d+)(_fsm|_vm|_init)?(\.\d+)?$")


def pg_leftovers(conn, data_dir: Path, table: str) -> list[str]:
    """`_cfwb_*` tables of ``table`` in any schema, and relation files of the database no relation owns."""
    found = []
    with conn.cursor() as cur:
        cur.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname LIKE '\\_cfwb%%' AND strpos(c.relname, %s) > 0 AND c.relkind IN ('r', 'p') "
            "ORDER BY 1",
            (table,),
        )
        found += [f"table {r[0]}" for r in cur.fetchall()]
        cur.execute("CHECKPOINT")  # dropped relations' first segments are unlinked at the checkpoint
        cur.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        db_oid = cur.fetchone()[0]
        cur.execute(
            "SELECT pg_relation_filenode(oid) FROM pg_class WHERE pg_relation_filenode(oid) IS NOT NULL"
        )
        known = {int(r[0]) for r in cur.fetchall()}
    for path in sorted((data_dir / "base" / str(db_oid)).iterdir()):
        match = _PG_FILE.match(path.name)
        if match and (match.group(1) or int(match.group(2)) not in known):
            found.append(f"server file base/{db_oid}/{path.name}")
    tmp = data_dir / "base" / "pgsql_tmp"
    if tmp.is_dir():
        found += [f"server file base/pgsql_tmp/{p.name}" for p in sorted(tmp.iterdir())]
    return found


def mariadb_leftovers(conn, data_dir: Path, table: str) -> list[str]:
    """`_cfwb_*` tables of ``table`` in any database, `#sql*` orphan files and table files no table owns."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_name LIKE '\\_cfwb%%' AND LOCATE(%s, table_name) > 0",
            (table,),
        )
        found = [f"table {s}.{t}" for s, t in cur.fetchall()]
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'test'")
        tables = {r[0] for r in cur.fetchall()}
    conn.commit()
    for path in sorted(data_dir.rglob("#sql*")):
        found.append(f"server file {path.relative_to(data_dir)}")
    for path in sorted((data_dir / "test").glob("*")):
        if path.suffix in (".frm", ".ibd") and path.stem not in tables:
            found.append(f"server file test/{path.name}")
    return sorted(set(found))


def leftover_local_files(*folders: Path) -> list[str]:
    """Our temporary files and folders (`cfwb_load_*`, `.cfwb-*.tmp`, `_incoming/`) under ``folders``."""
    found = []
    for folder in folders:
        if not folder.exists():
            continue
        for path in sorted(folder.rglob("*")):
            name = path.name
            if (
                name.startswith("cfwb_load_")
                or (name.startswith(".cfwb-") and name.endswith(".tmp"))
                or (path.is_file() and "_incoming" in path.relative_to(folder).parts)
            ):
                found.append(str(path))
    return found


# -- running a load while a fault is injected ----------------------------------------------------
class _Thread(threading.Thread):
    def __init__(self, target: Callable[[], object]):
        super().__init__(daemon=True)
        self._target_fn = target
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._target_fn()
        except BaseException as e:  # reported to the test
            self.error = e


def run_in_thread(target: Callable[[], object]) -> _Thread:
    thread = _Thread(target)
    thread.start()
    return thread


def wait_until(probe: Callable[[], object], *, timeout: float = 30.0, what: str, interval: float = 0.02):
    """Poll ``probe`` until it returns something truthy; return it (fail the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def start_worker(job: dict, tmpdir: Path) -> subprocess.Popen:
    """Run ``load_worker.py`` with ``job`` in a child process whose TMPDIR is ``tmpdir``."""
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(job)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def sigkill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


class LeftBehind(AssertionError):
    """Objects survived the next successful run (the one failure an `xfail` of this suite may expect)."""


def assert_nothing_left(left: list[str]) -> None:
    if left:
        raise LeftBehind(f"left behind after the next successful run: {left}")


@dataclass
class Outcome:
    """One fault's measured result, recorded for `docs/reliability.md`."""

    engine: str
    fault: str
    survived: bool
    rows_lost: int
    rows_duplicated: int
    left_behind: list[str]


def record_outcome(record_property, outcome: Outcome) -> None:
    """Attach the outcome to the test report (read by `scripts/reliability_report.py` from JUnit XML)."""
    record_property("fault_outcome", json.dumps(outcome.__dict__))
