"""Fuzz one event-file reader with seeded mutations of valid files (run as a subprocess).

    python tests/helpers/fuzz_readers_worker.py READER SEED COUNT OUTDIR SOURCE [SOURCE ...]

READER is ``aedat3``, ``jaer``, ``nmnist`` or ``aedat4``. Each SOURCE must be a valid file
of that format: it is first read unchanged (which must succeed), then COUNT mutations of
the sources in turn (byte flips, truncation, 32-bit fields of packet / record / container
headers set to 0 or near 2**32, inserted and deleted bytes, header damage) are written to
OUTDIR and read. A read must return a 1-D :data:`EVENT_DTYPE` array or raise
:class:`EventFormatError`; any other exception is printed as ``FAIL`` and makes the exit
status 1. Before each read a ``case`` line naming the mutation is printed and flushed, so
that a crash (a segfault kills this process) can be traced to the mutation that caused it;
the mutated file is left in OUTDIR. The last line is a JSON summary.
"""

from __future__ import annotations

import json
import struct
import sys
import traceback
from pathlib import Path

import numpy as np

from pipeline.core.events import EVENT_DTYPE
from pipeline.io import EventFormatError, read_aedat3, read_aedat4, read_jaer, read_nmnist

# 32-bit values a length/count/offset field is set to: the edges of u32 and i32 arithmetic.
EDGE_U32 = (0, 1, 2, 7, 8, 28, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, 0xFFFF_FFFF, 0xFFFF_FFFE,
            0xFFFF_FFF8, 0xFFFF_FFE4, 0x2000_0000, 0x1_0000 - 1, 0x1000_0001)


# --------------------------------------------------------------------------- format layouts
# Each returns (body_start, fields): where the header ends, and (offset, width, byteorder)
# of the numeric fields worth setting to edge values.

def aedat3_layout(data: bytes):
    start = data.index(b"#!END-HEADER\r\n") + len(b"#!END-HEADER\r\n")
    fields, pos = [], start
    while pos + 28 <= len(data):
        esize, capacity = struct.unpack_from("<I", data, pos + 4)[0], struct.unpack_from("<I", data, pos + 16)[0]
        fields.append((pos, 2, "little"))                                   # eventType
        fields += [(pos + k, 4, "little") for k in (4, 8, 12, 16, 20, 24)]  # size .. valid
        pos += 28 + esize * capacity
    return start, fields


def jaer_layout(data: bytes):
    pos = 0
    while data.startswith(b"#", pos):
        nl = data.find(b"\n", pos)
        pos = len(data) if nl < 0 else nl + 1
    n = (len(data) - pos) // 8
    fields = [(pos + 8 * k + j, 4, "big") for k in range(min(n, 4096)) for j in (0, 4)]
    return pos, fields


def nmnist_layout(data: bytes):
    # no header: the "header" is the first records; fields are whole 5-byte records
    return min(len(data), 25), [(5 * k, 5, "big") for k in range(len(data) // 5)]


def aedat4_layout(data: bytes):
    size = struct.unpack_from("<i", data, 14)[0]
    start = 18 + size
    fields = [(14, 4, "little")]                                       # IOHeader size
    fields += [(18 + k, 4, "little") for k in range(0, min(size, 96), 4)]  # root, vtable, offsets
    fields += [(18 + k, 2, "little") for k in range(0, min(size, 96), 2)]  # vtable entries
    # the data table position: where the IOHeader's int64 field 1 points (packets end there)
    root = struct.unpack_from("<I", data, 18)[0]
    vtable = root - struct.unpack_from("<i", data, 18 + root)[0]
    off = struct.unpack_from("<H", data, 18 + vtable + 6)[0]
    fields += [(18 + root + off, 8, "little"), (18 + root + off + 4, 4, "little")]
    end = struct.unpack_from("<q", data, 18 + root + off)[0]
    end = len(data) if end < 0 else end
    pos = start
    while pos + 8 <= end:
        fields += [(pos, 4, "little"), (pos + 4, 4, "little")]          # stream id, size
        fields += [(pos + 8 + k, 4, "little") for k in (4, 8)]          # LZ4 frame descriptor / block size
        pos += 8 + struct.unpack_from("<I", data, pos + 4)[0]
    return start, fields


LAYOUTS = {"aedat3": aedat3_layout, "jaer": jaer_layout, "nmnist": nmnist_layout, "aedat4": aedat4_layout}
RECORD = {"aedat3": 8, "jaer": 8, "nmnist": 5, "aedat4": None}     # bytes per event at least


# --------------------------------------------------------------------------- mutations

def edge_value(rng, width: int, old: int) -> int:
    """A new value for a ``width``-byte field: random, near the old one, an edge value of
    u32 / i32 arithmetic, or near the field's own maximum."""
    top = (1 << (8 * width)) - 1
    choice = rng.integers(4)
    if choice == 0:
        return int(rng.integers(0, top + 1, dtype=np.uint64))
    if choice == 1:
        return (old + int(rng.integers(-64, 65))) & top
    if choice == 2:
        return EDGE_U32[rng.integers(len(EDGE_U32))] & top
    return top - int(rng.integers(0, 4))


def mutate(rng, data: bytes, start: int, fields) -> tuple[bytes, str]:
    buf = bytearray(data)
    n = len(buf)
    kind = ("flip", "flip_body", "truncate", "field", "field", "field2", "insert", "delete",
            "header")[rng.integers(9)]
    if kind == "field" and not fields:
        kind = "flip"
    if kind in ("flip", "flip_body"):
        lo = start if kind == "flip_body" and start < n else 0
        k = int(rng.integers(1, 9))
        spots = rng.integers(lo, n, k) if n > lo else []
        for i in spots:
            buf[i] ^= 1 << int(rng.integers(8))
        return bytes(buf), f"{kind} bits at {sorted(int(i) for i in spots)}"
    if kind == "truncate":
        cut = int(rng.integers(0, n)) if n else 0
        return bytes(buf[:cut]), f"truncate to {cut} bytes"
    if kind in ("field", "field2"):
        picks = [fields[rng.integers(len(fields))] for _ in range(1 if kind == "field" else 2)] if fields else []
        desc = []
        for off, width, order in picks:
            if off + width > n:
                continue
            old = int.from_bytes(buf[off:off + width], order)
            new = edge_value(rng, width, old)
            buf[off:off + width] = new.to_bytes(width, order)
            desc.append(f"{width}-byte field at {off}: {old:#x} -> {new:#x}")
        return bytes(buf), "set " + "; ".join(desc)
    if kind == "insert":
        at, k = int(rng.integers(0, n + 1)), int(rng.integers(1, 33))
        extra = bytes(rng.integers(0, 256, k, dtype=np.uint8))
        return bytes(buf[:at]) + extra + bytes(buf[at:]), f"insert {k} bytes at {at}"
    if kind == "delete":
        at, k = int(rng.integers(0, max(n, 1))), int(rng.integers(1, 33))
        return bytes(buf[:at]) + bytes(buf[at + k:]), f"delete {k} bytes at {at}"
    # header damage: overwrite, drop or duplicate bytes inside the header (first bytes for N-MNIST)
    hi = max(min(start, n), 1)
    at = int(rng.integers(0, hi))
    op = rng.integers(4)
    if op == 0:
        b = (0, 10, 13, 0x23, 0xFF, 0x20, int(rng.integers(256)))[rng.integers(7)]
        if at < n:
            buf[at] = b
        return bytes(buf), f"header byte {at} := {b:#x}"
    if op == 1:
        k = int(rng.integers(1, 40))
        return bytes(buf[:at]) + bytes(buf[at + k:]), f"header: delete {k} bytes at {at}"
    if op == 2:
        nl = data.find(b"\n", at, hi)
        cut = hi if nl < 0 else nl + 1
        return bytes(buf[:at]) + bytes(buf[cut:]), f"header: cut bytes {at}..{cut}"
    k = int(rng.integers(1, 40))
    return bytes(buf[:at + k]) + bytes(buf[at:]), f"header: repeat {k} bytes at {at}"


# --------------------------------------------------------------------------- the loop

def reader_for(name: str, layout: str | None):
    if name == "aedat3":
        return read_aedat3
    if name == "nmnist":
        return read_nmnist
    if name == "aedat4":
        return read_aedat4
    return lambda path: read_jaer(path, layout=layout)


def check(ev, size: int, record: int | None) -> str | None:
    """Why ``ev`` is not a valid reader result, or None."""
    if not isinstance(ev, np.ndarray):
        return f"returned {type(ev).__name__}, not an ndarray"
    if ev.dtype != EVENT_DTYPE or ev.ndim != 1:
        return f"returned dtype {ev.dtype} with {ev.ndim} dimensions"
    if record and ev.size > size // record:
        return f"{ev.size} events from a {size}-byte file"
    return None


def main(argv: list[str]) -> int:
    name, seed, count, outdir = argv[0], int(argv[1]), int(argv[2]), Path(argv[3])
    sources = [Path(p) for p in argv[4:]]
    rng = np.random.default_rng(seed)
    originals = []
    for src in sources:
        data = src.read_bytes()
        start, fields = LAYOUTS[name](data)
        layout = None
        if name == "jaer":
            layout = "davis" if b"davis" in data[:start].lower() else "dvs128"
        ev = reader_for(name, layout)(src)              # an unmutated file must read
        assert check(ev, len(data), RECORD[name]) is None and ev.size >= 0
        originals.append((src, data, start, fields, layout))

    outdir.mkdir(parents=True, exist_ok=True)
    stats = {"reader": name, "seed": seed, "cases": 0, "events": 0, "format_errors": 0, "failures": 0}
    for i in range(count):
        src, data, start, fields, layout = originals[i % len(originals)]
        mutated, desc = mutate(rng, data, start, fields)
        path = outdir / f"case{src.suffix}"
        path.write_bytes(mutated)
        print(f"case {i}: {src.name}: {desc} -> {path}", flush=True)
        read = reader_for(name, layout if i % 2 else None)
        try:
            ev = read(path)
        except EventFormatError:
            stats["format_errors"] += 1
        except BaseException as exc:      # noqa: BLE001 - anything else is what we look for
            stats["failures"] += 1
            print(f"FAIL case {i}: {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc(file=sys.stdout)
            (outdir / f"fail{i}{src.suffix}").write_bytes(mutated)
        else:
            why = check(ev, len(mutated), RECORD[name])
            if why:
                stats["failures"] += 1
                print(f"FAIL case {i}: {why}", flush=True)
                (outdir / f"fail{i}{src.suffix}").write_bytes(mutated)
            else:
                stats["events"] += 1
        stats["cases"] += 1
    print(json.dumps(stats), flush=True)
    return 1 if stats["failures"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
