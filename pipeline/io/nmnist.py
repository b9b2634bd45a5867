"""N-MNIST / N-Caltech101 binary reader (ATIS 40-bit events), Numba kernels.

Layout: no header; 5-byte records until the end of the file::

    byte 0: x            byte 1: y
    byte 2: bit 7 = polarity (1 = ON), bits 6..0 = timestamp bits 22..16
    byte 3: timestamp bits 15..8        byte 4: timestamp bits 7..0     (µs)

Timestamp-overflow markers: a record with ``y == 240`` is not an event. Each one adds
``2**13`` (8192) µs to the timestamp of every record from it to the end of the file, and
the markers are then dropped. That is the rule of Garrick Orchard's reference Python
reader, ``read_dataset()`` in ``eventvision.py`` of github.com/gorchard/event-Python
(master; ``tonic.io.read_mnist_file`` says it adapts that code and does the same): it
finds the indices where y is 240, adds ``time_increment = 2**13`` to the timestamps
from each such index on, and keeps only the records whose y is not 240.

His MATLAB ``Read_Ndataset.m`` (github.com/gorchard/Matlab_AER_vision_functions,
"N-dataset functions/") decodes the same fields (x, y as 1-based there) but, in the
versions we could read, has no marker handling; older event-Python versions tested
``y == 240 and x == 305``, which a one-byte x never matches. None of the real sample
files in ../shared/data/real holds a marker.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from ..core.events import EVENT_DTYPE
from .errors import EventFormatError

RECORD_SIZE = 5
OVERFLOW_Y = 240
OVERFLOW_INCREMENT = 1 << 13


@numba.njit(cache=True)
def _count_events(buf, n):
    """Number of the ``n`` records that are events (not overflow markers)."""
    count = 0
    for k in range(n):
        if buf[RECORD_SIZE * k + 1] != OVERFLOW_Y:
            count += 1
    return count


@numba.njit(cache=True)
def _fill_events(buf, n, t, x, y, p):
    """Second pass (sizes from _count_events): decode events, apply overflow markers."""
    offset = np.int64(0)
    j = 0
    for k in range(n):
        off = RECORD_SIZE * k
        yy = buf[off + 1]
        if yy == OVERFLOW_Y:
            offset += OVERFLOW_INCREMENT
            continue
        b2 = np.int64(buf[off + 2])
        t[j] = (((b2 & 0x7F) << 16) | (np.int64(buf[off + 3]) << 8) | np.int64(buf[off + 4])) + offset
        x[j] = buf[off]
        y[j] = yy
        p[j] = b2 >> 7
        j += 1
    return j


def read_nmnist(path: str | Path) -> np.ndarray:
    """The events of an N-MNIST / N-Caltech101 ``.bin`` (or slayer ``.bs2``) file, in file order."""
    path = Path(path)
    buf = np.fromfile(path, dtype=np.uint8)
    n = buf.size // RECORD_SIZE
    if buf.size % RECORD_SIZE:
        raise EventFormatError(
            f"{path}: truncated record at byte offset {n * RECORD_SIZE}: file size {buf.size} "
            f"is not a multiple of {RECORD_SIZE} (N-MNIST 40-bit events)"
        )
    ev = np.empty(_count_events(buf, n), dtype=EVENT_DTYPE)
    _fill_events(buf, n, ev["t"], ev["x"], ev["y"], ev["p"])
    return ev
