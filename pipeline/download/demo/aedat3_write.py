"""AEDAT 3.1 writer: the demo sensor records its files in the same format as DVS128 Gesture.

It lives with the demo, not with the readers in :mod:`pipeline.io`, so that the download stage
(which builds the demo archive) does not depend on the readers. The format constants are the
AEDAT 3.1 specification's; tests read every written file back with :func:`pipeline.io.read_aedat3`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.atomic import atomic_path

PACKET_HEADER_SIZE = 28
SPECIAL_EVENT = 0
POLARITY_EVENT = 1
_TIMESTAMP_RESET = 1  # special-event type code for "timestamp reset"


def _packet_header(etype, number, ts_overflow, source=1, event_size=8, ts_offset=4):
    return np.array(
        [(etype, source, event_size, ts_offset, ts_overflow, number, number, number)],
        dtype=[("type", "<u2"), ("source", "<u2"), ("size", "<u4"), ("tsoff", "<u4"),
               ("ovf", "<u4"), ("cap", "<u4"), ("num", "<u4"), ("valid", "<u4")],
    ).tobytes()


def encode_polarity(events: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """The 8-byte ``(data, ts)`` words of polarity events, timestamps modulo 2**31."""
    words = np.empty((events.size, 2), dtype="<u4")
    v = np.ones(events.size, np.uint32) if valid is None else valid.astype(np.uint32)
    words[:, 0] = (
        (events["x"].astype(np.uint32) << 17)
        | (events["y"].astype(np.uint32) << 2)
        | (events["p"].astype(np.uint32) << 1)
        | v
    )
    words[:, 1] = (events["t"] & 0x7FFFFFFF).astype(np.uint32)
    return words


def write_aedat3(path: str | Path, events: np.ndarray, *, packet_events: int = 4096,
                 source: str = "DVS128", start_time: str = "2017-01-01 00:00:00") -> None:
    """Write ``events`` (sorted by ``t``) as an AEDAT 3.1 file, atomically.

    Packets hold at most ``packet_events`` events and never straddle a 2**31 µs
    timestamp overflow. A special-event packet (timestamp reset) comes first, as jAER/cAER
    recordings do, so readers must skip non-polarity packets.
    """
    if events.size and np.any(np.diff(events["t"]) < 0):
        raise ValueError("write_aedat3: events must be sorted by timestamp")
    path = Path(path)
    header = (
        "#!AER-DAT3.1\r\n#Format: RAW\r\n"
        f"#Source 1: {source}\r\n#Start-Time: {start_time}\r\n#!END-HEADER\r\n"
    ).encode("ascii")
    t0 = int(events["t"][0]) if events.size else 0
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header)
        reset = np.array([[(_TIMESTAMP_RESET << 1) | 1, t0 & 0x7FFFFFFF]], dtype="<u4")
        f.write(_packet_header(SPECIAL_EVENT, 1, t0 >> 31))
        f.write(reset.tobytes())
        overflow = events["t"] >> 31
        # packet boundaries: every packet_events events and at each overflow change
        cuts = set(range(0, events.size, packet_events))
        cuts.update((np.flatnonzero(np.diff(overflow)) + 1).tolist())
        bounds = sorted(cuts) + [events.size]
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b <= a:
                continue
            chunk = events[a:b]
            f.write(_packet_header(POLARITY_EVENT, b - a, int(overflow[a])))
            f.write(encode_polarity(chunk).tobytes())


assert PACKET_HEADER_SIZE == len(_packet_header(1, 0, 0))
