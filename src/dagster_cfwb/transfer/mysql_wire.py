"""Read the rows of an unbuffered pymysql result straight from the wire, column by column.

pymysql turns every value into a Python object through several generic calls; for an extract that
cost dominates. Here the text-protocol row packets are read directly from the connection's
buffered socket and each value's raw bytes are appended to its column's list: one tight loop per
row, no conversion. The caller then builds one Arrow array per column and converts it with Arrow
compute (:mod:`mysql_extract`). Packet sequence numbers, end-of-result and error packets are
handled as pymysql does, and the cursor is left in the state pymysql expects.
"""

from __future__ import annotations

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


def read_columns(cursor, limit: int, ncols: int) -> list[list]:
    """Up to ``limit`` rows of ``cursor``'s unbuffered result as ``ncols`` lists of raw ``bytes``/None.

    Returns empty lists once the result is exhausted.
    """
    import pymysql

    columns: list[list] = [[] for _ in range(ncols)]
    result = cursor._result
    if result is None or not result.unbuffered_active:
        return columns
    conn = result.connection
    read = conn._rfile.read
    seq = conn._next_seq_id
    appenders = [c.append for c in columns]
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
            pos = 0
            for append in appenders:
                b = payload[pos]
                if b < 0xFB:
                    end = pos + 1 + b
                    append(payload[pos + 1 : end])
                    pos = end
                elif b == 0xFB:
                    append(None)
                    pos += 1
                elif b == 0xFC:
                    start = pos + 3
                    end = start + (payload[pos + 1] | (payload[pos + 2] << 8))
                    append(payload[start:end])
                    pos = end
                elif b == 0xFD:
                    start = pos + 4
                    end = start + int.from_bytes(payload[pos + 1 : start], "little")
                    append(payload[start:end])
                    pos = end
                else:
                    start = pos + 9
                    end = start + int.from_bytes(payload[pos + 1 : start], "little")
                    append(payload[start:end])
                    pos = end
    finally:
        conn._next_seq_id = seq
    return columns
