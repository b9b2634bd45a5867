"""jAER AEDAT 2.0, N-MNIST and AEDAT 4 readers and the dispatcher, on bytes built with ``struct``."""

import struct

import numpy as np
import pytest

from aedat4files import aedat4_file, event_packet, ioheader
from pipeline.core.events import EVENT_DTYPE
from pipeline.io import (
    AedatFormatError,
    EventFormatError,
    read_aedat3,
    read_aedat4,
    read_events,
    read_jaer,
    read_jaer_header,
    read_nmnist,
)
from pipeline.io import aedat3
from pipeline.io.jaer import chip_layout

DVS128_CHIP = "ch.unizh.ini.jaer.chip.retina.DVS128"
DAVIS_CHIP = "eu.seebetter.ini.chips.davis.DAVIS240C"


def jaer_header(chip=DVS128_CHIP, eol=b"\r\n", extra=()):
    lines = [b"#!AER-DAT2.0", b"# This is a raw AE data file - do not edit",
             b"# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event",
             b"# Timestamps tick is 1 us"]
    if chip is not None:
        lines.append(b"# AEChip: " + chip.encode())
    lines += [line.encode() for line in extra]
    return b"".join(line + eol for line in lines)


def dvs128_word(x, y, p, t):
    return struct.pack(">Ii", (y << 8) | (x << 1) | p, t)


def davis_word(x, y, p, t):
    return struct.pack(">Ii", (y << 22) | (x << 12) | (p << 11), t)


def aps_word(t, x=5, y=7, sample=0x2AB):
    """A DAVIS APS (frame) sample: bit 31 set, with other address bits in use."""
    return struct.pack(">Ii", (1 << 31) | (y << 22) | (x << 12) | (1 << 10) | sample, t)


def imu_word(t, value=0x1234):
    """A DAVIS IMU sample: bit 31 set plus the IMU marker bits (bits 10 and 11)."""
    return struct.pack(">Ii", (1 << 31) | (0x3 << 10) | (value << 12), t)


# --------------------------------------------------------------------------- jAER AEDAT 2.0

@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_jaer_dvs128_header_variants(tmp_path, eol):
    header = jaer_header(eol=eol, extra=["#Start of Preferences", "#<?xml version=\"1.0\"?>"])
    body = (dvs128_word(0, 0, 1, 10) + dvs128_word(127, 0, 0, 11) + dvs128_word(0, 127, 1, 12)
            + dvs128_word(127, 127, 0, 2**31 - 1) + dvs128_word(64, 33, 1, -5))
    path = tmp_path / "dvs.aedat"
    path.write_bytes(header + body)

    lines, offset = read_jaer_header(path)
    assert offset == len(header)
    assert lines[0] == "#!AER-DAT2.0"
    assert lines[4] == "# AEChip: " + DVS128_CHIP
    assert lines[-1] == "#<?xml version=\"1.0\"?>"
    assert not any(line.endswith(("\r", "\n")) for line in lines)

    ev = read_jaer(path)
    assert ev.dtype == EVENT_DTYPE
    assert ev.tolist() == [(10, 0, 0, 1), (11, 127, 0, 0), (12, 0, 127, 1),
                           (2**31 - 1, 127, 127, 0), (-5, 64, 33, 1)]
    assert np.array_equal(read_jaer(path, layout="dvs128"), ev)


def test_jaer_davis_skips_aps_and_imu(tmp_path):
    body = (aps_word(1) + davis_word(0, 0, 0, 2) + imu_word(3) + davis_word(345, 259, 1, 4)
            + aps_word(5, x=300, y=200) + aps_word(6) + davis_word(239, 179, 0, 7) + imu_word(8))
    path = tmp_path / "davis.aedat"
    path.write_bytes(jaer_header(chip=DAVIS_CHIP) + body)
    ev = read_jaer(path)
    assert ev.tolist() == [(2, 0, 0, 0), (4, 345, 259, 1), (7, 239, 179, 0)]
    assert np.array_equal(read_jaer(path, layout="davis"), ev)
    # the same words read as DVS128 keep every record (wrong layout, but no words dropped)
    assert read_jaer(path, layout="dvs128").size == 8


def test_jaer_only_aps_words_gives_no_events(tmp_path):
    path = tmp_path / "aps.aedat"
    path.write_bytes(jaer_header(chip=DAVIS_CHIP) + aps_word(1) + imu_word(2))
    assert read_jaer(path).size == 0


def test_jaer_body_starting_with_hash_byte_is_not_header(tmp_path):
    # A DAVIS event with y = 140 has 0x23 ('#') as its first byte.
    first = davis_word(3, 140, 1, 9)
    assert first[:1] == b"#"
    header = jaer_header(chip=DAVIS_CHIP)
    path = tmp_path / "hash.aedat"
    path.write_bytes(header + first + davis_word(4, 5, 0, 10))
    assert read_jaer_header(path)[1] == len(header)
    assert read_jaer(path).tolist() == [(9, 3, 140, 1), (10, 4, 5, 0)]


@pytest.mark.parametrize("chip, layout", [
    ("ch.unizh.ini.jaer.chip.retina.DVS128", "dvs128"),
    ("eu.seebetter.ini.chips.davis.DAVIS240C", "davis"),
    ("eu.seebetter.ini.chips.davis.Davis346red", "davis"),
    ("eu.seebetter.ini.chips.DAVIS346B", "davis"),
])
def test_jaer_layout_from_aechip(chip, layout):
    assert chip_layout(["#!AER-DAT2.0", "# AEChip: " + chip]) == layout


@pytest.mark.parametrize("chip", ["ch.unizh.ini.jaer.chip.retina.Tmpdiff128", None])
def test_jaer_unknown_chip_asks_for_layout(tmp_path, chip):
    path = tmp_path / "odd.aedat"
    path.write_bytes(jaer_header(chip=chip) + dvs128_word(1, 2, 1, 3))
    with pytest.raises(AedatFormatError, match=r"odd\.aedat.*layout="):
        read_jaer(path)
    assert read_jaer(path, layout="dvs128").tolist() == [(3, 1, 2, 1)]


def test_jaer_bad_layout_argument(tmp_path):
    path = tmp_path / "x.aedat"
    path.write_bytes(jaer_header())
    with pytest.raises(ValueError, match="layout"):
        read_jaer(path, layout="DVS346")


@pytest.mark.parametrize("cut", [1, 4, 7, 11, 23])
def test_jaer_truncated_body_names_file_and_offset(tmp_path, cut):
    header = jaer_header()
    path = tmp_path / "cut.aedat"
    path.write_bytes((header + dvs128_word(1, 1, 1, 1) * 3)[: len(header) + cut])
    partial = len(header) + (cut // 8) * 8          # where the trailing partial record starts
    with pytest.raises(AedatFormatError, match=rf"cut\.aedat.*byte offset {partial}\b"):
        read_jaer(path)


def test_jaer_not_aedat2(tmp_path):
    path = tmp_path / "v3.aedat"
    path.write_bytes(b"#!AER-DAT3.1\r\n#!END-HEADER\r\n")
    with pytest.raises(AedatFormatError, match=r"v3\.aedat.*#!AER-DAT2"):
        read_jaer(path)
    path.write_bytes(b"\x00" * 16)
    with pytest.raises(AedatFormatError, match="byte 0"):
        read_jaer_header(path)


@pytest.mark.parametrize("final_eol", [True, False])
def test_jaer_empty_body(tmp_path, final_eol):
    header = jaer_header(chip=DAVIS_CHIP)
    path = tmp_path / "empty.aedat"
    path.write_bytes(header if final_eol else header.rstrip(b"\r\n"))
    lines, offset = read_jaer_header(path)
    assert offset == path.stat().st_size
    assert lines[-1] == "# AEChip: " + DAVIS_CHIP
    ev = read_jaer(path)
    assert ev.size == 0 and ev.dtype == EVENT_DTYPE


@pytest.mark.parametrize("boundary", [1 << 16, 1 << 17])
def test_jaer_header_line_ending_at_lookahead_boundary(tmp_path, boundary):
    # the reader looks at the first 64 KiB, then doubles; a line ending exactly there must
    # not end the header: the '#' line after it is still header, not 17 bytes of records
    first = jaer_header()
    filler = b"#" + b"x" * (boundary - len(first) - 3) + b"\r\n"
    header = first + filler + b"# one more line\r\n"
    assert len(first + filler) == boundary
    path = tmp_path / "long_header.aedat"
    path.write_bytes(header + dvs128_word(3, 5, 1, 42) + dvs128_word(4, 6, 0, 43))
    lines, offset = read_jaer_header(path)
    assert offset == boundary + 17
    assert lines[-1] == "# one more line" and len(lines) == 7
    assert read_jaer(path).tolist() == [(42, 3, 5, 1), (43, 4, 6, 0)]


# --------------------------------------------------------------------------- N-MNIST

def nmnist_record(x, y, p, t):
    assert 0 <= t < 2**23
    return bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])


def test_nmnist_fields(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(nmnist_record(0, 0, 1, 0) + nmnist_record(33, 1, 0, 0x7ABCDE)
                     + nmnist_record(255, 239, 1, 2**23 - 1))
    ev = read_nmnist(path)
    assert ev.dtype == EVENT_DTYPE
    assert ev.tolist() == [(0, 0, 0, 1), (0x7ABCDE, 33, 1, 0), (2**23 - 1, 255, 239, 1)]


OVERFLOW_RECORDS = [    # (x, y, p, t); y == 240 marks a timestamp overflow
    (1, 240, 0, 5),         # a marker before any event: every event gets +8192
    (3, 4, 1, 100),
    (2, 240, 1, 7),         # the events after it get +8192 more
    (5, 6, 0, 50),
    (7, 8, 1, 60),
    (0, 240, 0, 0),         # two markers back to back
    (0, 240, 0, 0),
    (9, 10, 0, 1),
]


def overflow_file(tmp_path):
    path = tmp_path / "overflow.bin"
    path.write_bytes(b"".join(nmnist_record(*r) for r in OVERFLOW_RECORDS))
    return path


def test_nmnist_overflow_markers(tmp_path):
    ev = read_nmnist(overflow_file(tmp_path))
    assert ev.tolist() == [(100 + 8192, 3, 4, 1), (50 + 2 * 8192, 5, 6, 0), (60 + 2 * 8192, 7, 8, 1),
                           (1 + 4 * 8192, 9, 10, 0)]
    assert not (ev["y"] == 240).any()


def test_nmnist_overflow_matches_tonic(tmp_path):
    tonic_io = pytest.importorskip("tonic.io")
    path = overflow_file(tmp_path)
    ref = tonic_io.read_mnist_file(str(path), dtype=np.dtype([("x", np.int16), ("y", np.int16),
                                                             ("t", np.int64), ("p", bool)]))
    ev = read_nmnist(path)
    assert ev.size == ref.size
    for ours, theirs in [("t", "t"), ("x", "x"), ("y", "y"), ("p", "p")]:
        assert np.array_equal(ev[ours].astype(np.int64), ref[theirs].astype(np.int64)), ours


@pytest.mark.parametrize("extra", [1, 2, 4])
def test_nmnist_bad_size_names_file_and_offset(tmp_path, extra):
    path = tmp_path / "bad.bs2"
    path.write_bytes((nmnist_record(1, 2, 1, 3) * 4)[: 15 + extra])
    with pytest.raises(EventFormatError, match=r"bad\.bs2.*byte offset 15\b") as err:
        read_nmnist(path)
    assert isinstance(err.value, ValueError)


def test_nmnist_empty(tmp_path):
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    assert read_nmnist(path).size == 0


# --------------------------------------------------------------------------- AEDAT 4 (container checks)

@pytest.mark.parametrize("data, match", [
    (b"#!AER-DAT3.1\r\n", "AEDAT 4"),
    (b"#!AER-DAT4.0\r\n", "header"),
    (b"#!AER-DAT4.0\r\n" + struct.pack("<i", 0) + b"\0" * 64, "IOHeader size 0"),
    (b"#!AER-DAT4.0\r\n" + struct.pack("<i", 1000) + b"\0" * 64, "IOHeader size 1000"),
])
def test_aedat4_malformed_container(tmp_path, data, match):
    path = tmp_path / "bad.aedat4"
    path.write_bytes(data)
    with pytest.raises(AedatFormatError, match=rf"bad\.aedat4.*{match}"):
        read_aedat4(path)


EVENTS4 = [(10, 1, 2, 1), (20, 33, 0, 0), (2**40, 0, 33, 1)]


def test_aedat4_hand_built_file(tmp_path):
    path = tmp_path / "hand.aedat4"
    path.write_bytes(aedat4_file(packets=[event_packet(EVENTS4[:2]), event_packet(EVENTS4[2:])]))
    assert read_aedat4(path).tolist() == EVENTS4
    path.write_bytes(aedat4_file())                                  # header only
    assert read_aedat4(path).size == 0
    packets = event_packet(EVENTS4)
    path.write_bytes(aedat4_file(ioheader(table_position=18 + len(ioheader()) + len(packets)), [packets])
                     + b"table")                                     # a data table after the packets
    assert read_aedat4(path).tolist() == EVENTS4


def patched(buf, offset, fmt, value):
    buf = bytearray(buf)
    struct.pack_into(fmt, buf, offset, value)
    return bytes(buf)


HEAD = ioheader()
FIRST_PACKET = 18 + len(HEAD)       # the first packet's byte offset in the file


@pytest.mark.parametrize("data, match", [
    (aedat4_file(patched(HEAD, 0, "<I", 0xFFFF_FFF0)), r"IOHeader: root table offset 4294967280.*byte offset 18\b"),
    (aedat4_file(patched(HEAD, 24, "<i", -0x7FFF_0000)), r"IOHeader: vtable position .*byte offset 42\b"),
    (aedat4_file(patched(HEAD, 8, "<H", 0xFFF0)), r"IOHeader: vtable size 65520 at byte offset 26\b"),
    (aedat4_file(patched(HEAD, 16, "<H", 0xFFF0)), r"IOHeader: field 2 at table offset 65520.*byte offset 34\b"),
    (aedat4_file(patched(HEAD, 44, "<I", 0xFFFF_FFF0)), r"IOHeader: description of 4294967280 bytes.*byte offset 62\b"),
    (aedat4_file(patched(HEAD, 40, "<I", 0x7FFF_FFF0)), r"IOHeader: description offset .*byte offset 58\b"),
    (aedat4_file(patched(HEAD, 28, "<i", 9)), r"IOHeader: unknown compression 9 at byte offset 46\b"),
    (aedat4_file(patched(HEAD, 32, "<q", -5)), r"dataTablePosition -5 is outside the file"),
    (aedat4_file(patched(HEAD, 32, "<q", 10**12)), r"dataTablePosition 1000000000000 is outside the file"),
    (aedat4_file(patched(HEAD, 32, "<q", 8)), r"dataTablePosition 8 points inside the header"),
    (aedat4_file(packets=[struct.pack("<iI", 0, 0xFFFF_FFF0) + b"\0" * 40]),
     rf"packet at byte offset {FIRST_PACKET} declares 4294967280 bytes but only 40 are left"),
    (aedat4_file(packets=[event_packet(EVENTS4), struct.pack("<iI", 0, 0x8000_0000)]),
     rf"packet at byte offset {FIRST_PACKET + len(event_packet(EVENTS4))} declares 2147483648 bytes but only 0"),
    (aedat4_file(packets=[event_packet(EVENTS4), b"\0\0\0\0\1"]),
     rf"truncated packet header at byte offset {FIRST_PACKET + len(event_packet(EVENTS4))} \(5 bytes left"),
    # the data table is said to start 3 bytes into the only packet, or 20 bytes into it
    (aedat4_file(patched(HEAD, 32, "<q", FIRST_PACKET + 3), [event_packet(EVENTS4)]),
     rf"truncated packet header at byte offset {FIRST_PACKET} \(3 bytes left before the data table"),
    (aedat4_file(patched(HEAD, 32, "<q", FIRST_PACKET + 20), [event_packet(EVENTS4)]),
     rf"packet at byte offset {FIRST_PACKET} declares {len(event_packet(EVENTS4)) - 8} bytes but only 12 are "
     rf"left before the data table at {FIRST_PACKET + 20}"),
], ids=["root", "vtable-pos", "vtable-size", "field-offset", "string-length", "string-offset", "compression",
        "table<-1", "table>size", "table-in-header", "packet-size", "packet-size-2**31", "short-packet-header",
        "table-in-packet-header", "table-mid-packet"])
def test_aedat4_container_offsets_checked(tmp_path, data, match):
    path = tmp_path / "bad.aedat4"
    path.write_bytes(data)
    with pytest.raises(AedatFormatError, match=rf"bad\.aedat4: .*{match}"):
        read_aedat4(path)


def test_aedat4_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_aedat4(tmp_path / "nope.aedat4")


# --------------------------------------------------------------------------- errors and dispatch

def test_error_hierarchy():
    assert aedat3.AedatFormatError is AedatFormatError
    assert issubclass(AedatFormatError, EventFormatError)
    assert issubclass(EventFormatError, ValueError)


def test_read_events_dispatch(tmp_path):
    v3 = tmp_path / "a.aedat"
    packet = struct.pack("<HHIIIIII", 1, 1, 8, 4, 0, 1, 1, 1)        # one polarity event
    packet += struct.pack("<II", (5 << 17) | (6 << 2) | 3, 42)         # x 5, y 6, ON, valid
    v3.write_bytes(b"#!AER-DAT3.1\r\n#!END-HEADER\r\n" + packet)
    assert read_events(v3).tolist() == read_aedat3(v3).tolist() == [(42, 5, 6, 1)]

    v2 = tmp_path / "b.aedat"
    v2.write_bytes(jaer_header() + dvs128_word(1, 2, 0, 3))
    assert read_events(v2).tolist() == [(3, 1, 2, 0)]

    v2bin = tmp_path / "c.bin"                      # an AEDAT header wins over the suffix
    v2bin.write_bytes(v2.read_bytes())
    assert read_events(v2bin).tolist() == [(3, 1, 2, 0)]

    for name in ("d.bin", "e.BS2"):
        nm = tmp_path / name
        nm.write_bytes(nmnist_record(7, 8, 1, 9))
        assert read_events(nm).tolist() == [(9, 7, 8, 1)]


@pytest.mark.parametrize("name, data, match", [
    ("x.dat", b"\x00" * 10, "unrecognised"),
    ("x.aedat", b"#!AER-DAT1.0\r\n", "unsupported AEDAT version"),
    ("x.bin", b"#!AER-DAT9.0\r\n", "unsupported AEDAT version"),
    ("x.bin", b"#!AER-XYZ\r\n", "unrecognised"),
])
def test_read_events_rejects_unknown(tmp_path, name, data, match):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(EventFormatError, match=rf"x\.\w+.*{match}"):
        read_events(path)
