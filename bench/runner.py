"""The shared runner: every method in a fresh child process, best of N, peak RSS and a correctness check.

A method is a function `method(ctx) -> job`: what it does before returning (drop the target, remove
the output, write a server-side file) is not timed; the returned `job()` is, and returns what to check
(an `Output`: Parquet files, a PostgreSQL or MariaDB table, or an Arrow table). The child prints one
JSON line: seconds, the job's peak RSS (its own `VmHWM`, reset once the job is prepared, plus the
largest program the job ran, e.g. the Sling binary), what the process held when the job started
(imports, a whole input table) and the checksum of the output (`checks.py`), taken after the peak.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD_TIMEOUT = 1800


@dataclass
class Method:
    label: str  # Markdown shown in the table
    func: str  # "module:function" in bench/, called as function(ctx, *args)
    args: tuple = ()
    ours: bool = False  # the library's own method: printed in bold
    slow: bool = False  # too slow for the full size: one run on ctx["slow"] (fewer rows, own reference)
    once: bool = False  # slow, but measured at full size: one run


@dataclass
class Result:
    method: Method
    seconds: float = float("inf")
    rss_mb: float = 0.0
    start_mb: float = 0.0  # resident when the job started (imports, a whole input table)
    check: dict = field(default_factory=dict)
    error: str | None = None
    runs: int = 0


@dataclass
class Table:
    title: str
    methods: list[Method]
    unit: str = "rows/s"
    reference: str | None = None  # label whose rate is 1.00 (None: the fastest method)
    note: str = ""
    results: list[Result] = field(default_factory=list)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").replace("_", "")
    return int(value) if value else default


def run(method: Method, ctx: dict, repeat: int) -> Result:
    """Best (shortest) of `repeat` runs, each in a new process; peak RSS is the largest of the runs.
    The output is checked after the first run (the same method writes the same output each time)."""
    result = Result(method)
    if method.slow:
        ctx, repeat = dict(ctx, **ctx["slow"]), 1
    if method.once:
        repeat = 1
    for i in range(repeat):
        call = json.dumps([method.func, list(method.args), i == 0])
        try:
            proc = subprocess.run(
                [sys.executable, os.path.join(HERE, "runner.py"), "--child", call],
                input=json.dumps(ctx),
                capture_output=True,
                text=True,
                timeout=CHILD_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            result.error = f"timed out after {CHILD_TIMEOUT} s"
            break
        lines = [line for line in proc.stdout.splitlines() if line.startswith('{"bench":')]
        if proc.returncode or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            result.error = " / ".join(tail)[-300:] or f"exit {proc.returncode}"
            break
        out = json.loads(lines[-1])["bench"]
        result.runs += 1
        result.rss_mb = max(result.rss_mb, out["rss_mb"])
        result.start_mb = max(result.start_mb, out["start_mb"])
        result.check = out["check"] or result.check
        result.seconds = min(result.seconds, out["seconds"])
    return result


def status_mb(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def reset_peak_rss() -> tuple[float, float]:
    """Reset this process's peak RSS to its current RSS (Linux: `5` into `/proc/self/clear_refs`), so
    the preparation (imports, reading a whole input table) does not count as the job's peak; return
    the current RSS and the largest child so far. A program that a library ran while being imported
    (Dagster's vendored croniter runs `file -b` on Python at import) is forked from this process and
    would otherwise count its whole memory a second time."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return status_mb("VmRSS"), _children_peak_mb()


def peak_rss_mb(children_before: float) -> float:
    """This process's peak RSS since the reset, plus the largest program the job ran, if any (one
    smaller than the largest child before the job is not seen: `ru_maxrss` keeps only the maximum)."""
    children = _children_peak_mb()
    return status_mb("VmHWM") + (children if children > children_before else 0.0)


def child(call: str) -> None:
    from checks import checksum

    func, args, check_output = json.loads(call)
    ctx = json.loads(sys.stdin.read())
    module, name = func.split(":")
    job = getattr(importlib.import_module(module), name)(ctx, *args)
    start_mb, children_before = reset_peak_rss()
    start = time.perf_counter()
    output = job()
    seconds = time.perf_counter() - start
    rss = peak_rss_mb(children_before)
    check = checksum(output, ctx) if check_output else {}
    out = {"seconds": seconds, "rss_mb": rss, "start_mb": start_mb, "check": check}
    print(json.dumps({"bench": out}), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
