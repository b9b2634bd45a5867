"""AEDAT 3.1 reader (the DVS128 Gesture format), a Numba packet walker.

Layout: ASCII header lines starting with ``#``, the last one ``#!END-HEADER\\r\\n``;
then packets, each a 28-byte little-endian header::

    u16 type, u16 source, u32 eventSize, u32 tsOffset, u32 tsOverflow,
    u32 capacity, u32 number, u32 valid

followed by ``capacity * eventSize`` bytes: room for ``capacity`` events, of which the
first ``number`` are in use (``valid <= number <= capacity``). That is the stride of the
format's own readers (cAER's examples and AedatTools read ``eventCapacity * eventSize``
bytes after each header; libcaer's ``caer_event_packet_header``); writers of files set
``capacity == number``. Polarity packets (type 1, ``eventSize`` 8, ``eventTSOffset`` 4) hold
8-byte events ``u32 data, u32 ts``: valid = bit 0, p = bit 1, y = bits 2.., x = bits 17..;
the full timestamp is ``ts | tsOverflow << 31``. Other packet types are skipped.

Every packet header is checked against the bytes left in the file before any body byte is
read: the fields are u32 in the file and are compared in int64 without multiplying
(``capacity <= bytes_left // eventSize``), so no product can wrap around (a wrapped
``eventNumber * eventSize`` once sent the walker outside the buffer). A packet whose fields
disagree raises :class:`AedatFormatError` naming the file and the packet's byte offset.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

import numba
import numpy as np

from ..core.events import EVENT_DTYPE
from .errors import AedatFormatError

HEADER_END = b"#!END-HEADER\r\n"
PACKET_HEADER_SIZE = 28
POLARITY_EVENT = 1
POLARITY_EVENT_SIZE = 8
POLARITY_TS_OFFSET = 4

# Error codes returned by the kernels (0 = fine); the Python side turns them into messages.
(_OK, _TRUNCATED_HEADER, _TRUNCATED_BODY, _BAD_EVENT_SIZE, _BAD_CAPACITY, _BAD_VALID,
 _ZERO_EVENT_SIZE, _BAD_TS_OFFSET) = range(8)
_MESSAGES = {
    _TRUNCATED_HEADER: "truncated packet header",
    _TRUNCATED_BODY: "packet body (eventCapacity x eventSize bytes) runs past the end of the file",
    _BAD_EVENT_SIZE: "polarity packet with eventSize != 8",
    _BAD_CAPACITY: "packet eventNumber larger than eventCapacity",
    _BAD_VALID: "packet eventValid larger than eventNumber",
    _ZERO_EVENT_SIZE: "packet with eventSize 0 but eventCapacity > 0",
    _BAD_TS_OFFSET: "polarity packet with eventTSOffset != 4",
}
_HEADER_FIELDS = ("eventType", "eventSource", "eventSize", "eventTSOffset", "eventTSOverflow",
                  "eventCapacity", "eventNumber", "eventValid")


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
def _scan(buf, start):
    """Walk the packet headers only; return (error, offset, polarity events announced).

    The count is an upper bound (invalid events are dropped while filling); every packet
    is checked here against the bytes left, so :func:`_fill` can trust the file. All
    arithmetic is int64 on u32 fields, and no product is formed before it is known to fit.
    """
    n = np.int64(buf.shape[0])
    pos = np.int64(start)
    total = np.int64(0)
    while pos < n:
        if n - pos < PACKET_HEADER_SIZE:
            return _TRUNCATED_HEADER, pos, total
        etype = _u16(buf, pos)
        esize = np.int64(_u32(buf, pos + 4))
        ts_offset = np.int64(_u32(buf, pos + 8))
        capacity = np.int64(_u32(buf, pos + 16))
        number = np.int64(_u32(buf, pos + 20))
        valid = np.int64(_u32(buf, pos + 24))
        if number > capacity:
            return _BAD_CAPACITY, pos, total
        if valid > number:
            return _BAD_VALID, pos, total
        if etype == POLARITY_EVENT:
            if esize != POLARITY_EVENT_SIZE:
                return _BAD_EVENT_SIZE, pos, total
            if ts_offset != POLARITY_TS_OFFSET:
                return _BAD_TS_OFFSET, pos, total
        body = pos + PACKET_HEADER_SIZE
        left = n - body                          # >= 0, checked above
        if esize == 0:
            if capacity != 0:
                return _ZERO_EVENT_SIZE, pos, total
        elif capacity > left // esize:          # capacity * esize > left, without the product
            return _TRUNCATED_BODY, pos, total
        if etype == POLARITY_EVENT:
            total += number
        pos = body + capacity * esize           # <= n: both factors < 2**32, product <= left
    return _OK, pos, total


@numba.njit(cache=True)
def _fill(buf, words, shift, start, t, x, y, p):
    """Decode the valid polarity events of a file checked by :func:`_scan`; returns their number.

    Only the first ``eventNumber`` events of a packet are decoded; the next packet starts
    ``eventCapacity * eventSize`` bytes after the header (checked by :func:`_scan`).

    ``words`` is ``buf[shift:]`` as little-endian u32: a packet body at a word boundary
    (every packet of a file whose packets are whole words long) is read a word at a time,
    any other body byte by byte. Every event is written at slot ``j`` and ``j`` advances
    only for valid ones (no branch).
    """
    n = buf.shape[0]
    pos = start
    j = 0
    while pos < n:
        etype = _u16(buf, pos)
        esize = np.int64(_u32(buf, pos + 4))
        overflow = np.int64(_u32(buf, pos + 12)) << 31
        capacity = np.int64(_u32(buf, pos + 16))
        number = np.int64(_u32(buf, pos + 20))
        body = pos + PACKET_HEADER_SIZE
        if etype == POLARITY_EVENT:
            if (body - shift) % 4 == 0:
                w = (body - shift) // 4
                for k in range(number):
                    data = words[w + 2 * k]
                    t[j] = overflow | np.int64(words[w + 2 * k + 1])
                    x[j] = (data >> 17) & 0x1FFF
                    y[j] = (data >> 2) & 0x1FFF
                    p[j] = (data >> 1) & 1
                    j += data & 1
            else:
                for k in range(number):
                    off = body + 8 * k
                    data = _u32(buf, off)
                    t[j] = overflow | np.int64(_u32(buf, off + 4))
                    x[j] = (data >> 17) & 0x1FFF
                    y[j] = (data >> 2) & 0x1FFF
                    p[j] = (data >> 1) & 1
                    j += data & 1
        pos = body + capacity * esize
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


def _error_message(buf: np.ndarray, path, err: int, offset: int) -> str:
    """``path: <what> at byte offset <offset> (<the packet header's fields>; file size)``."""
    where = f"{path}: {_MESSAGES[err]} at byte offset {offset}"
    if offset + PACKET_HEADER_SIZE <= buf.size:
        values = struct.unpack_from("<HHIIIIII", bytes(buf[offset:offset + PACKET_HEADER_SIZE]))
        fields = ", ".join(f"{k} {v}" for k, v in zip(_HEADER_FIELDS, values))
        left = buf.size - offset - PACKET_HEADER_SIZE
        return f"{where} (packet header: {fields}; {left} bytes after the header; file size {buf.size})"
    return f"{where} ({buf.size - offset} bytes left; file size {buf.size})"


def _decode(buf: np.ndarray, path: Path) -> np.ndarray:
    start = header_end(buf, path)
    err, offset, total = _scan(buf, start)
    if err != _OK:
        raise AedatFormatError(_error_message(buf, path, err, offset))
    shift = start % 4
    words = np.frombuffer(buf, dtype="<u4", offset=shift, count=(buf.size - shift) // 4)
    ev = np.empty(total, dtype=EVENT_DTYPE)
    j = _fill(buf, words, shift, start, ev["t"], ev["x"], ev["y"], ev["p"])
    if j < total:                      # invalid events were dropped
        ev = ev[:j].copy()
    return ev


def read_aedat3(path: str | Path) -> np.ndarray:
    """Every valid polarity event of an AEDAT 3.1 file, in file order (:data:`EVENT_DTYPE`).

    The file is memory-mapped (no copy of it is made); where it cannot be (an empty file,
    a file system without mmap) it is read into memory instead.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):
            mm = None
        if mm is None:
            return _decode(np.fromfile(fh, dtype=np.uint8), path)
    try:
        return _decode(np.frombuffer(mm, dtype=np.uint8), path)
    finally:
        try:
            mm.close()
        except BufferError:            # a view still refers to it (an error traceback): let GC close it
            pass
