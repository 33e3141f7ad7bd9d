"""Read the rows of an unbuffered pymysql result straight from the wire, column by column.

pymysql turns every value into a Python object through several generic calls; for an extract that
cost dominates. Here the text-protocol row packets are read directly from the connection's
buffered socket (one short loop per row); the length-prefixed values inside them are then located
and gathered into one Arrow array per column for the whole batch at once with NumPy. The caller
converts each column with Arrow compute (`mysql_extract`). Packet sequence numbers, end-of-result and error packets are
handled as pymysql does, and the cursor is left in the state pymysql expects.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["read_columns"]


def _lost(conn, error) -> Exception:
    import pymysql

    conn._force_close()
    return pymysql.err.OperationalError(2013, f"Lost connection to MySQL server during query ({error})")


def _read_packet(read, conn, seq: int) -> tuple[bytes, int]:
    try:
        header = read(4)
        if len(header) < 4:
            raise _lost(conn, "short read")
        length = header[0] | (header[1] << 8) | (header[2] << 16)
        if header[3] != seq:
            import pymysql

            conn._force_close()
            raise pymysql.err.InternalError(f"Packet sequence number wrong - got {header[3]} expected {seq}")
        seq = (seq + 1) & 255
        payload = read(length)
        while length == 0xFFFFFF:  # a row of 16 MB or more continues in the next packet
            header = read(4)
            length = header[0] | (header[1] << 8) | (header[2] << 16)
            seq = (seq + 1) & 255
            payload += read(length)
    except OSError as e:
        raise _lost(conn, e) from e
    if len(payload) < length:
        raise _lost(conn, "short read")
    return payload, seq


def _read_payloads(cursor, limit: int) -> list[bytes]:
    """Up to `limit` row packets of `cursor`'s unbuffered result (empty once it is exhausted)."""
    import pymysql

    payloads: list[bytes] = []
    result = cursor._result
    if result is None or not result.unbuffered_active:
        return payloads
    conn = result.connection
    read = conn._rfile.read
    seq = conn._next_seq_id
    append = payloads.append
    try:
        for _ in range(limit):
            payload, seq = _read_packet(read, conn, seq)
            first = payload[0]
            if first == 0xFE and len(payload) < 9:  # end of the result
                result.unbuffered_active = False
                result.connection = None
                result.rows = None
                break
            if first == 0xFF:  # error packet (e.g. the query was killed)
                result.unbuffered_active = False
                conn._next_seq_id = seq
                pymysql.protocol.MysqlPacket(payload, conn.encoding).raise_for_error()
            append(payload)
    finally:
        conn._next_seq_id = seq
    return payloads


def _le(buf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    value = np.zeros(len(at), dtype=np.int64)
    for k in range(width):
        value |= buf[at + k].astype(np.int64) << (8 * k)
    return value


def read_columns(cursor, limit: int, ncols: int) -> list[pa.Array] | None:
    """Up to `limit` rows of `cursor`'s unbuffered result as `ncols` Arrow `large_binary`
    arrays of the values' raw text (NULLs as nulls), or None once the result is exhausted.

    Only the packets are read row by row; the length-prefixed values are located and gathered for
    the whole batch at once with NumPy, one column at a time.
    """
    payloads = _read_payloads(cursor, limit)
    n = len(payloads)
    if not n:
        return None
    lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=n)
    buf = np.frombuffer(b"".join(payloads), dtype=np.uint8)
    pos = np.cumsum(lengths) - lengths
    columns = []
    for _ in range(ncols):
        first = buf[pos].astype(np.int64)
        size = first.copy()
        header = np.ones(n, dtype=np.int64)
        nulls = first == 0xFB
        for marker, width in ((0xFC, 2), (0xFD, 3), (0xFE, 8)):
            wide = first == marker
            if wide.any():
                size[wide] = _le(buf, pos[wide] + 1, width)
                header[wide] = width + 1
        size[nulls] = 0
        start = pos + header
        pos = start + size
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(size, out=offsets[1:])
        total = int(offsets[-1])
        data = (
            buf[np.repeat(start - offsets[:-1], size) + np.arange(total, dtype=np.int64)]
            if total
            else buf[:0]
        )
        validity = pa.py_buffer(np.packbits(~nulls, bitorder="little")) if nulls.any() else None
        columns.append(
            pa.Array.from_buffers(
                pa.large_binary(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)], int(nulls.sum())
            )
        )
    return columns
