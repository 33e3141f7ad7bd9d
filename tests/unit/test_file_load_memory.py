"""A CSV is streamed: memory stays flat when the file grows (measured in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    import pyarrow as pa
    from dagster_cfwb.transfer.arrow_stream import to_arrow_stream
    from dagster_cfwb.transfer.files.formats import ReadOptions
    from dagster_cfwb.transfer.files.load import load_file_to_lakehouse
    from dagster_cfwb.transfer.parquet_files import write_parquet_atomic

    class Folder:  # the lakehouse's write_table, without importing Dagster
        def write_table(self, data, path):
            return write_parquet_atomic(to_arrow_stream(data), sys.argv[3] + "/" + path)

    def peaks():
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return rss, pa.default_memory_pool().max_memory() / 2**20

    report = {}
    for name, path in (("small", sys.argv[1]), ("big", sys.argv[2])):
        options = ReadOptions.from_keywords(sample_bytes=1 << 20, block_bytes=128 << 10)
        result = load_file_to_lakehouse(path, Folder(), name + ".parquet", options=options)
        report[name] = {"rows": result.rows, "rss_mb": peaks()[0], "arrow_mb": peaks()[1]}
    print(json.dumps(report))
    """
)


def _write_csv(path, rows: int) -> float:
    ids = pa.array(range(rows), pa.int64())
    text = pc.binary_join_element_wise(
        "ligne numéro", pc.cast(ids, pa.string()), "avec du texte pour grossir", " "
    )
    pacsv.write_csv(
        pa.table({"id": ids, "texte": text, "valeur": pc.multiply(pc.cast(ids, pa.float64()), 0.5)}), path
    )
    return path.stat().st_size / 2**20


def test_csv_load_memory_is_flat_when_the_file_grows(tmp_path):
    small_mb = _write_csv(tmp_path / "small.csv", 150_000)
    big_mb = _write_csv(tmp_path / "big.csv", 600_000)
    assert big_mb >= 4 * small_mb - 1 and big_mb > 35
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "small.csv"), str(tmp_path / "big.csv"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    small, big = report["small"], report["big"]
    assert big["rows"] == 600_000
    print(
        f"CSV {small_mb:.0f} MiB then {big_mb:.0f} MiB: Arrow peak {small['arrow_mb']:.0f} -> {big['arrow_mb']:.0f} MiB, "
        f"RSS peak {small['rss_mb']:.0f} -> {big['rss_mb']:.0f} MiB"
    )
    # Loading a 4x bigger file must not raise the high-water marks by more than a few blocks.
    assert big["arrow_mb"] - small["arrow_mb"] < 6, report
    assert big["arrow_mb"] < big_mb, report
    assert big["rss_mb"] - small["rss_mb"] < 25, report
