"""AEDAT 3.1 reader (the DVS128 Gesture format), a Numba packet walker.

Layout: ASCII header lines starting with ``#``, the last one ``#!END-HEADER\\r\\n``;
then packets, each a 28-byte little-endian header::

    u16 type, u16 source, u32 eventSize, u32 tsOffset, u32 tsOverflow,
    u32 capacity, u32 number, u32 valid

followed by ``number * eventSize`` bytes of events. Polarity packets (type 1) hold
8-byte events ``u32 data, u32 ts``: valid = bit 0, p = bit 1, y = bits 2.., x = bits 17..;
the full timestamp is ``ts | tsOverflow << 31``. Other packet types are skipped.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from ..events import EVENT_DTYPE
from .errors import AedatFormatError

HEADER_END = b"#!END-HEADER\r\n"
PACKET_HEADER_SIZE = 28
POLARITY_EVENT = 1
POLARITY_EVENT_SIZE = 8

# Error codes returned by the kernels (0 = fine); the Python side turns them into messages.
_OK, _TRUNCATED_HEADER, _TRUNCATED_BODY, _BAD_EVENT_SIZE, _BAD_CAPACITY = 0, 1, 2, 3, 4
_MESSAGES = {
    _TRUNCATED_HEADER: "truncated packet header",
    _TRUNCATED_BODY: "packet body runs past the end of the file",
    _BAD_EVENT_SIZE: "polarity packet with eventSize != 8",
    _BAD_CAPACITY: "packet eventNumber larger than eventCapacity",
}


@numba.njit(cache=True, inline="always")
def _u16(buf, i):
    return np.uint32(buf[i]) | (np.uint32(buf[i + 1]) << np.uint32(8))


@numba.njit(cache=True, inline="always")
def _u32(buf, i):
    return (
        np.uint32(buf[i])
        | (np.uint32(buf[i + 1]) << np.uint32(8))
        | (np.uint32(buf[i + 2]) << np.uint32(16))
        | (np.uint32(buf[i + 3]) << np.uint32(24))
    )


@numba.njit(cache=True)
def _count_polarity(buf, start):
    """Walk every packet; return (error, offset, number of valid polarity events)."""
    n = buf.shape[0]
    pos = start
    count = 0
    while pos < n:
        if pos + PACKET_HEADER_SIZE > n:
            return _TRUNCATED_HEADER, pos, count
        etype = _u16(buf, pos)
        esize = np.int64(_u32(buf, pos + 4))
        capacity = np.int64(_u32(buf, pos + 16))
        number = np.int64(_u32(buf, pos + 20))
        if number > capacity:
            return _BAD_CAPACITY, pos, count
        body = pos + PACKET_HEADER_SIZE
        if etype == POLARITY_EVENT and esize != POLARITY_EVENT_SIZE:
            return _BAD_EVENT_SIZE, pos, count
        end = body + number * esize
        if end > n:
            return _TRUNCATED_BODY, pos, count
        if etype == POLARITY_EVENT:
            for k in range(number):
                if buf[body + 8 * k] & 1:
                    count += 1
        pos = end
    return _OK, pos, count


@numba.njit(cache=True)
def _fill_polarity(buf, start, t, x, y, p):
    """Second pass (the file already validated by _count_polarity): decode valid events."""
    n = buf.shape[0]
    pos = start
    j = 0
    while pos < n:
        etype = _u16(buf, pos)
        esize = np.int64(_u32(buf, pos + 4))
        overflow = np.int64(_u32(buf, pos + 12)) << 31
        number = np.int64(_u32(buf, pos + 20))
        body = pos + PACKET_HEADER_SIZE
        if etype == POLARITY_EVENT:
            for k in range(number):
                off = body + 8 * k
                data = _u32(buf, off)
                if data & 1:
                    t[j] = overflow | np.int64(_u32(buf, off + 4))
                    x[j] = (data >> 17) & 0x1FFF
                    y[j] = (data >> 2) & 0x1FFF
                    p[j] = (data >> 1) & 1
                    j += 1
        pos = body + number * esize
    return j


def header_end(buf: np.ndarray | bytes, path) -> int:
    """Byte offset just past ``#!END-HEADER\\r\\n``; checks the file starts as AEDAT 3."""
    head = bytes(buf[:4096 * 16])
    if not head.startswith(b"#!AER-DAT3"):
        raise AedatFormatError(f"{path}: not an AEDAT 3 file (byte 0 does not start with '#!AER-DAT3')")
    i = head.find(HEADER_END)
    if i < 0:
        raise AedatFormatError(f"{path}: no '#!END-HEADER' line in the first {len(head)} bytes")
    return i + len(HEADER_END)


def read_aedat3(path: str | Path) -> np.ndarray:
    """Every valid polarity event of an AEDAT 3.1 file, in file order (:data:`EVENT_DTYPE`)."""
    path = Path(path)
    buf = np.fromfile(path, dtype=np.uint8)
    start = header_end(buf, path)
    err, offset, count = _count_polarity(buf, start)
    if err != _OK:
        raise AedatFormatError(f"{path}: {_MESSAGES[err]} at byte offset {offset} (file size {buf.size})")
    ev = np.empty(count, dtype=EVENT_DTYPE)
    _fill_polarity(buf, start, ev["t"], ev["x"], ev["y"], ev["p"])
    return ev
