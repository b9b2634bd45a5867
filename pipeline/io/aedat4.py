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

import mmap
from pathlib import Path

import numpy as np

from ..core.events import EVENT_DTYPE
from .errors import AedatFormatError

MAGIC = b"#!AER-DAT4.0\r\n"
PACKET_HEADER_SIZE = 8              # int32 stream id, int32 size
COMPRESSIONS = range(5)             # NONE, LZ4, LZ4_HIGH, ZSTD, ZSTD_HIGH


def _ioheader(head: bytes, path: Path, base: int) -> tuple[int, int]:
    """``(compression, dataTablePosition)`` of the IOHeader flatbuffer ``head`` (found at byte
    ``base`` of the file), after checking every offset it holds lies inside it and that its
    description is UTF-8 text.

    The ``aedat`` decoder (2.3.0) reads this table without the flatbuffers verifier: a bad
    offset there is a Rust panic, and a description that is not UTF-8 aborts the whole
    process (its error message cannot become a Python string), so these checks come first.
    Packets themselves are verified by the decoder.
    """
    size = len(head)

    def bad(what: str, offset: int):
        raise AedatFormatError(f"{path}: malformed IOHeader: {what} at byte offset {base + offset}")

    def u16(i):
        return int.from_bytes(head[i:i + 2], "little")

    def u32(i):
        return int.from_bytes(head[i:i + 4], "little")

    if size < 8:
        bad(f"{size} bytes, too short for a flatbuffer", 0)
    root = u32(0)                                       # uoffset of the root table
    if root + 4 > size:
        bad(f"root table offset {root} outside the {size}-byte header", 0)
    vtable = root - int.from_bytes(head[root:root + 4], "little", signed=True)
    if vtable < 0 or vtable + 4 > size:
        bad(f"vtable position {vtable} outside the {size}-byte header", root)
    vt_size, table_size = u16(vtable), u16(vtable + 2)
    if vt_size < 4 or vt_size % 2 or vtable + vt_size > size:
        bad(f"vtable size {vt_size}", vtable)
    if table_size < 4 or root + table_size > size:
        bad(f"table size {table_size}", vtable + 2)

    def field(index: int, width: int) -> int | None:
        if 4 + 2 * index + 2 > vt_size:
            return None
        offset = u16(vtable + 4 + 2 * index)
        if offset == 0:
            return None
        if offset + width > table_size:
            bad(f"field {index} at table offset {offset} outside the {table_size}-byte table", vtable + 4 + 2 * index)
        return root + offset

    at = field(0, 4)
    compression = int.from_bytes(head[at:at + 4], "little", signed=True) if at is not None else 0
    if compression not in COMPRESSIONS:
        bad(f"unknown compression {compression}", at)
    at = field(1, 8)
    table_position = int.from_bytes(head[at:at + 8], "little", signed=True) if at is not None else -1
    at = field(2, 4)
    if at is None:
        bad("no description (the DV XML of the streams)", vtable)
    text = at + u32(at)
    if text + 4 > size:
        bad(f"description offset {text} outside the {size}-byte header", at)
    length = u32(text)
    if length + 1 > size - text - 4:                     # the string and its terminating NUL
        bad(f"description of {length} bytes runs past the end of the {size}-byte header", text)
    try:
        head[text + 4:text + 4 + length].decode("utf-8")
    except UnicodeDecodeError as exc:
        bad(f"description is not UTF-8 ({exc.reason})", text + 4 + exc.start)
    return compression, table_position


def _check_container(path: Path) -> None:
    """Checks the decoder would otherwise answer with a Rust panic, a process abort or a
    huge allocation: the magic, the IOHeader (:func:`_ioheader`), and every packet's
    ``int32 stream id, int32 size`` header against the bytes left in the file."""
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
        pos = len(MAGIC) + 4 + header_size
        _compression, table_position = _ioheader(f.read(header_size), path, len(MAGIC) + 4)
        if table_position < -1 or table_position > size:
            raise AedatFormatError(
                f"{path}: IOHeader dataTablePosition {table_position} is outside the file (file size {size})"
            )
        end = size if table_position == -1 else table_position
        if end < pos:
            raise AedatFormatError(
                f"{path}: IOHeader dataTablePosition {table_position} points inside the header "
                f"(packets start at byte offset {pos})"
            )
        try:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):                   # a file system without mmap
            mm = None

        def size_field(at: int) -> int:                 # the decoder reads it as u32
            if mm is not None:
                return int.from_bytes(mm[at:at + 4], "little")
            f.seek(at)
            return int.from_bytes(f.read(4), "little")

        try:
            while pos < end:
                before = "the end of the file" if end == size else f"the data table at {end}"
                if end - pos < PACKET_HEADER_SIZE:
                    raise AedatFormatError(
                        f"{path}: truncated packet header at byte offset {pos} ({end - pos} bytes left "
                        f"before {before}, file size {size})"
                    )
                length = size_field(pos + 4)
                if length > end - pos - PACKET_HEADER_SIZE:
                    raise AedatFormatError(
                        f"{path}: packet at byte offset {pos} declares {length} bytes but only "
                        f"{end - pos - PACKET_HEADER_SIZE} are left before {before} (file size {size})"
                    )
                pos += PACKET_HEADER_SIZE + length
        finally:
            if mm is not None:
                mm.close()


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
    except Exception as exc:  # noqa: BLE001 - the Rust decoder's errors arrive as assorted Python
        # exceptions (OSError, RuntimeError, ValueError, ...); the container was checked above, so
        # whatever it raises is about this file's packets
        raise AedatFormatError(f"{path}: AEDAT 4 decoder: {exc}") from exc
    except BaseException as exc:       # a Rust panic is a BaseException (pyo3's PanicException)
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
