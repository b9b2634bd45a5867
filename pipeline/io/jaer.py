"""jAER AEDAT 2.0 reader (DVS128 and DAVIS address layouts), Numba kernels.

Layout: ASCII header lines, each starting with ``#`` and ending in ``\\n`` (jAER writes
``\\r\\n``; some tools write ``\\n``), the first one ``#!AER-DAT2.0``. The header is every
such line at the start of the file. Then 8-byte records, big-endian
``int32 address, int32 timestamp`` (µs), until the end of the file.

Address layouts (``layout=``):

* ``"dvs128"`` (jAER ``DVS128``, also CIFAR10-DVS): ``x = (a >> 1) & 0x7F``,
  ``y = (a >> 8) & 0x7F``, ``p = a & 1``. Raw sensor coordinates: jAER's own display
  flips x (``127 - x``); we do not. Every record is an event.
* ``"davis"`` (jAER ``DAVIS240C``, ``Davis346*``, …): bit 31 = 0 marks a DVS event with
  ``x = (a >> 12) & 0x3FF``, ``y = (a >> 22) & 0x1FF``, ``p = (a >> 11) & 1``. Words with
  bit 31 = 1 are APS (frame) samples or IMU data and are skipped.

Timestamps are the stored int32 values widened to int64. jAER timestamps wrap at 2**31 µs
(about 36 minutes); a wrap (a drop by more than 2**31) is *not* unwrapped here; recordings
that long are out of scope.

Header caveat: a body whose first byte is ``#`` (0x23) would look like a header line. To
keep such a file readable, a ``#`` line holding control bytes (other than tab and the
closing ``\\r\\n``) is taken as the start of the body, since header text never has them.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from ..core.events import EVENT_DTYPE
from .errors import AedatFormatError

MAGIC = b"#!AER-DAT2"
RECORD_SIZE = 8
LAYOUTS = ("dvs128", "davis")

# Bytes a header line may hold: printable ASCII and UTF-8 (0x20..0x7E, 0x80..0xFF), tab, CR.
_TEXT_BYTES = bytes([9, 13, *range(0x20, 0x7F), *range(0x80, 0x100)])


@numba.njit(cache=True, inline="always")
def _u32be(buf, i):
    return (
        (np.uint32(buf[i]) << np.uint32(24))
        | (np.uint32(buf[i + 1]) << np.uint32(16))
        | (np.uint32(buf[i + 2]) << np.uint32(8))
        | np.uint32(buf[i + 3])
    )


@numba.njit(cache=True, inline="always")
def _i32be(buf, i):
    return np.int64(np.int32(_u32be(buf, i)))


@numba.njit(cache=True)
def _decode_dvs128(buf, start, n, t, x, y, p):
    """All ``n`` records from ``start`` (the caller checked they lie inside ``buf``)."""
    for k in range(n):
        off = start + RECORD_SIZE * k
        a = _u32be(buf, off)
        t[k] = _i32be(buf, off + 4)
        x[k] = (a >> 1) & 0x7F
        y[k] = (a >> 8) & 0x7F
        p[k] = a & 1


@numba.njit(cache=True)
def _count_davis_dvs(buf, start, n):
    """Number of the ``n`` records from ``start`` whose address has bit 31 clear (DVS)."""
    count = 0
    for k in range(n):
        if buf[start + RECORD_SIZE * k] < 0x80:
            count += 1
    return count


@numba.njit(cache=True)
def _fill_davis_dvs(buf, start, n, t, x, y, p):
    """Second pass (sizes from _count_davis_dvs): decode the DVS records, skip APS/IMU."""
    j = 0
    for k in range(n):
        off = start + RECORD_SIZE * k
        if buf[off] >= 0x80:
            continue
        a = _u32be(buf, off)
        t[j] = _i32be(buf, off + 4)
        x[j] = (a >> 12) & 0x3FF
        y[j] = (a >> 22) & 0x1FF
        p[j] = (a >> 11) & 1
        j += 1
    return j


def _split_header(buf: np.ndarray, path) -> tuple[list[str], int]:
    if bytes(buf[: len(MAGIC)]) != MAGIC:
        raise AedatFormatError(
            f"{path}: not a jAER AEDAT 2.0 file (byte 0 does not start with {MAGIC.decode()!r})"
        )
    n = buf.size
    size = min(n, 1 << 16)
    head = bytes(buf[:size])
    lines: list[str] = []
    pos = 0
    while pos < n:
        if pos >= size:                             # a line ended exactly where we stopped looking
            size = min(n, 2 * size)
            head = bytes(buf[:size])
        if head[pos:pos + 1] != b"#":
            break
        nl = head.find(b"\n", pos)
        while nl < 0 and size < n:                 # the header runs past what we looked at
            size = min(n, 2 * size)
            head = bytes(buf[:size])
            nl = head.find(b"\n", pos)
        end = n if nl < 0 else nl + 1               # (a last header line without a newline)
        line = head[pos:end].rstrip(b"\n").rstrip(b"\r")
        if line.translate(None, _TEXT_BYTES):       # control bytes: not text
            if pos == 0:
                raise AedatFormatError(f"{path}: control bytes in the first header line (byte offset 0)")
            break                                   # a binary body that happens to start with '#'
        lines.append(line.decode("utf-8", errors="replace"))
        pos = end
    return lines, pos


def read_jaer_header(path: str | Path) -> tuple[list[str], int]:
    """``(header_lines, data_offset)``: the ``#`` lines without line endings, and where the body starts."""
    path = Path(path)
    return _split_header(np.fromfile(path, dtype=np.uint8), path)


def chip_layout(header_lines: list[str], path=None) -> str:
    """The address layout named by the header's ``# AEChip:`` class, or an error."""
    chip = None
    for line in header_lines:
        body = line.lstrip("#").strip()
        if body.startswith("AEChip:"):
            chip = body[len("AEChip:"):].strip()
            break
    if chip is not None:
        name = chip.rsplit(".", 1)[-1]
        if "DVS128" in name:
            return "dvs128"
        if "DAVIS" in name.upper():
            return "davis"
    what = f"AEChip {chip!r}" if chip is not None else "no '# AEChip:' header line"
    raise AedatFormatError(
        f"{path}: cannot tell the address layout ({what}); pass layout='dvs128' or layout='davis'"
    )


def read_jaer(path: str | Path, layout: str | None = None) -> np.ndarray:
    """The DVS events of a jAER AEDAT 2.0 file, in file order (:data:`EVENT_DTYPE`).

    ``layout`` is ``"dvs128"`` or ``"davis"``; ``None`` picks it from the ``# AEChip:`` line.
    """
    path = Path(path)
    if layout is not None and layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS} or None, not {layout!r}")
    buf = np.fromfile(path, dtype=np.uint8)
    lines, start = _split_header(buf, path)
    if layout is None:
        layout = chip_layout(lines, path)
    body = buf.size - start
    n = body // RECORD_SIZE
    if body % RECORD_SIZE:
        raise AedatFormatError(
            f"{path}: truncated record at byte offset {start + n * RECORD_SIZE}: the body "
            f"({body} bytes from offset {start}) is not a multiple of {RECORD_SIZE} (file size {buf.size})"
        )
    if layout == "dvs128":
        ev = np.empty(n, dtype=EVENT_DTYPE)
        _decode_dvs128(buf, start, n, ev["t"], ev["x"], ev["y"], ev["p"])
    else:
        ev = np.empty(_count_davis_dvs(buf, start, n), dtype=EVENT_DTYPE)
        _fill_davis_dvs(buf, start, n, ev["t"], ev["x"], ev["y"], ev["p"])
    return ev
