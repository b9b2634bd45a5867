"""AEDAT 4.0 reader (iniVation DV: flatbuffers packets, LZ4/ZSTD compressed) via PyPI ``aedat``.

Layout: ``#!AER-DAT4.0\\r\\n``, a little-endian int32 size, an ``IOHeader`` flatbuffer of
that size (compression, data-table position, the DV XML description of the streams), then
packets ``int32 stream id, int32 size, compressed flatbuffer``. ``aedat.Decoder(path)``
yields one dict per packet: ``{"stream_id": int, "events": array}`` for polarity streams
(structured array ``t`` u64 µs, ``x`` u16, ``y`` u16, ``on`` bool titled ``p``), with
``"frame"``, ``"imus"`` or ``"triggers"`` for the other stream types, which we skip.

Events of every polarity stream are returned in file (packet) order, not re-sorted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..events import EVENT_DTYPE
from .errors import AedatFormatError

MAGIC = b"#!AER-DAT4.0\r\n"


def _check_container(path: Path) -> None:
    """Cheap checks the decoder would otherwise answer with a Rust panic."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(len(MAGIC) + 4)
    if not head.startswith(MAGIC[:10]):
        raise AedatFormatError(f"{path}: not an AEDAT 4 file (byte 0 does not start with '#!AER-DAT4')")
    if not head.startswith(MAGIC) or len(head) < len(MAGIC) + 4:
        raise AedatFormatError(f"{path}: truncated or malformed AEDAT 4 header at byte offset 0")
    header_size = int.from_bytes(head[len(MAGIC):], "little", signed=True)
    if header_size <= 0 or len(MAGIC) + 4 + header_size > size:
        raise AedatFormatError(
            f"{path}: bad IOHeader size {header_size} at byte offset {len(MAGIC)} (file size {size})"
        )


def _is_rust_panic(exc: BaseException) -> bool:
    # pyo3 turns a panic in the decoder into pyo3_runtime.PanicException, a BaseException.
    return type(exc).__name__ == "PanicException"


def read_aedat4(path: str | Path) -> np.ndarray:
    """Every polarity event of an AEDAT 4.0 file, in file order (:data:`EVENT_DTYPE`)."""
    import aedat

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(path)
    _check_container(path)
    chunks = []
    try:
        decoder = aedat.Decoder(str(path))
        for packet in decoder:
            events = packet.get("events")
            if events is not None and len(events):
                chunks.append(events)
    except Exception as exc:
        raise AedatFormatError(f"{path}: AEDAT 4 decoder: {exc}") from exc
    except BaseException as exc:
        if not _is_rust_panic(exc):
            raise
        raise AedatFormatError(f"{path}: AEDAT 4 decoder failed (malformed file): {exc}") from exc
    n = sum(len(c) for c in chunks)
    ev = np.empty(n, dtype=EVENT_DTYPE)
    i = 0
    for c in chunks:
        j = i + len(c)
        ev["t"][i:j] = c["t"]
        ev["x"][i:j] = c["x"]
        ev["y"][i:j] = c["y"]
        ev["p"][i:j] = c["on"]
        i = j
    return ev
