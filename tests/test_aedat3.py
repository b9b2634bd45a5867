"""AEDAT 3.1 reader against bytes built by hand with ``struct`` (independent of our writer)."""

import struct

import numpy as np
import pytest

from pipeline.events import EVENT_DTYPE, make_events
from pipeline.io import AedatFormatError, read_aedat3
from pipeline.demo.aedat3_write import write_aedat3

HEADER = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"


def packet(etype, events, overflow=0, esize=8, capacity=None):
    """events: list of (x, y, p, valid, ts) for polarity, raw 8-byte tuples otherwise."""
    n = len(events)
    head = struct.pack("<HHIIIIII", etype, 1, esize, 4, overflow, n if capacity is None else capacity, n, n)
    body = b""
    for e in events:
        if etype == 1:
            x, y, p, valid, ts = e
            body += struct.pack("<II", (x << 17) | (y << 2) | (p << 1) | valid, ts)
        else:
            body += struct.pack("<II", *e)
    return head + body


def test_reader_hand_built_packets(tmp_path):
    data = HEADER
    data += packet(0, [(3, 100)])                                   # special event packet: skipped
    data += packet(1, [(0, 0, 1, 1, 10), (127, 5, 0, 1, 20), (9, 9, 1, 0, 25), (64, 127, 0, 1, 30)])
    data += packet(2, [(1, 2), (3, 4)])                             # frame-ish packet type: skipped
    data += packet(1, [(5, 6, 1, 1, 7)], overflow=1)                # ts overflow: t = 7 + 2**31
    data += packet(1, [(1, 1, 1, 0, 99)])                           # only an invalid event
    data += packet(1, [(2, 3, 0, 1, 2**31 - 1)], overflow=2)
    path = tmp_path / "hand.aedat"
    path.write_bytes(data)

    ev = read_aedat3(path)
    assert ev.dtype == EVENT_DTYPE
    assert ev.dtype.names == ("t", "x", "y", "p")
    expected = [(10, 0, 0, 1), (20, 127, 5, 0), (30, 64, 127, 0), (7 + 2**31, 5, 6, 1),
                (2**31 - 1 + 2 * 2**31, 2, 3, 0)]
    assert ev.tolist() == expected


def test_empty_body(tmp_path):
    path = tmp_path / "empty.aedat"
    path.write_bytes(HEADER)
    assert read_aedat3(path).size == 0


@pytest.mark.parametrize("cut", [5, 20, 28 + 4])
def test_truncated_file_names_file_and_offset(tmp_path, cut):
    data = HEADER + packet(1, [(1, 1, 1, 1, 1)] * 3)
    path = tmp_path / "cut.aedat"
    path.write_bytes(data[: len(HEADER) + cut])
    with pytest.raises(AedatFormatError) as err:
        read_aedat3(path)
    assert "cut.aedat" in str(err.value)
    assert f"offset {len(HEADER)}" in str(err.value)


def test_bad_event_size_and_capacity(tmp_path):
    path = tmp_path / "bad.aedat"
    path.write_bytes(HEADER + packet(1, [(1, 1, 1, 1, 1)], esize=12))
    with pytest.raises(AedatFormatError, match="eventSize"):
        read_aedat3(path)
    path.write_bytes(HEADER + packet(1, [(1, 1, 1, 1, 1)] * 2, capacity=1))
    with pytest.raises(AedatFormatError, match="eventCapacity"):
        read_aedat3(path)


def test_not_aedat3(tmp_path):
    path = tmp_path / "v2.aedat"
    path.write_bytes(b"#!AER-DAT2.0\r\n" + b"\0" * 16)
    with pytest.raises(AedatFormatError, match="v2.aedat.*AEDAT 3"):
        read_aedat3(path)
    path.write_bytes(b"#!AER-DAT3.1\r\n#no end\r\n")
    with pytest.raises(AedatFormatError, match="END-HEADER"):
        read_aedat3(path)


def test_writer_round_trip_across_overflow(tmp_path):
    rng = np.random.default_rng(1)
    n = 10_000
    t = np.sort(rng.integers(2**31 - 5_000, 2**31 + 5_000, n))
    ev = make_events(t, rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n))
    path = tmp_path / "rt.aedat"
    write_aedat3(path, ev, packet_events=777)
    back = read_aedat3(path)
    np.testing.assert_array_equal(back, ev)
    # the writer really produced several packets, split at the overflow
    raw = path.read_bytes()
    assert raw.count(b"\x01\x00\x01\x00\x08\x00\x00\x00") > n // 777


def test_packets_off_word_boundaries_and_invalid_events(tmp_path):
    # an odd-sized packet (eventSize 3) shifts every later packet off the 4-byte grid: those
    # bodies are read byte by byte, the aligned ones a word at a time; both give the same events
    odd = struct.pack("<HHIIIIII", 7, 1, 3, 0, 0, 1, 1, 1) + b"abc"
    data = HEADER + packet(1, [(1, 2, 1, 1, 5), (3, 4, 0, 0, 6)]) + odd
    data += packet(1, [(5, 6, 1, 1, 7), (7, 8, 0, 1, 8)], overflow=1) + odd + packet(1, [(9, 10, 1, 0, 9)])
    path = tmp_path / "odd.aedat"
    path.write_bytes(data)
    assert read_aedat3(path).tolist() == [(5, 1, 2, 1), (7 + 2**31, 5, 6, 1), (8 + 2**31, 7, 8, 0)]


def test_empty_file_is_not_aedat3(tmp_path):
    path = tmp_path / "zero.aedat"
    path.write_bytes(b"")
    with pytest.raises(AedatFormatError, match="not an AEDAT 3 file"):
        read_aedat3(path)
