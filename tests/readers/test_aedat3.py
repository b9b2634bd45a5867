"""AEDAT 3.1 reader against bytes built by hand with ``struct`` (independent of our writer)."""

import struct

import numpy as np
import pytest

from pipeline.core.events import EVENT_DTYPE, make_events
from pipeline.io import AedatFormatError, read_aedat3
from pipeline.download.demo.aedat3_write import write_aedat3

HEADER = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"


def packet(etype, events, overflow=0, esize=8, capacity=None, number=None, valid=None, ts_offset=4):
    """events: list of (x, y, p, valid, ts) for polarity, raw 8-byte tuples otherwise.

    The header says ``number`` (default: all) events in use of ``capacity`` (default: as
    many as given) and ``valid`` (default: ``number``) valid ones; the body holds every event given.
    """
    n = len(events)
    number = n if number is None else number
    head = struct.pack("<HHIIIIII", etype, 1, esize, ts_offset, overflow, n if capacity is None else capacity,
                       number, number if valid is None else valid)
    body = b""
    for e in events:
        if etype == 1:
            x, y, p, valid_bit, ts = e
            body += struct.pack("<II", (x << 17) | (y << 2) | (p << 1) | valid_bit, ts)
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


def test_packet_stride_is_event_capacity(tmp_path):
    # 2 events in use out of room for 5: the 3 spare slots hold event-like bytes that must
    # be skipped (the next packet starts 28 + 5 * 8 bytes on), not read as a packet header
    spare = [(100, 100, 1, 1, 1000)] * 3
    data = HEADER + packet(1, [(1, 2, 1, 1, 10), (3, 4, 0, 1, 11)] + spare, number=2)
    data += packet(1, [(5, 6, 1, 1, 12)])
    path = tmp_path / "stride.aedat"
    path.write_bytes(data)
    assert read_aedat3(path).tolist() == [(10, 1, 2, 1), (11, 3, 4, 0), (12, 5, 6, 1)]


def test_packet_with_no_events_in_use(tmp_path):
    # capacity 2, number 0: a 16-byte body to skip; eventSize 0 with capacity 0: no body at all
    data = HEADER + packet(1, [(7, 7, 1, 1, 1), (8, 8, 1, 1, 2)], number=0)
    data += packet(9, [], esize=0) + packet(1, [(9, 9, 0, 1, 3)])
    path = tmp_path / "unused.aedat"
    path.write_bytes(data)
    assert read_aedat3(path).tolist() == [(3, 9, 9, 0)]


GOOD = packet(1, [(1, 1, 1, 1, 1)])            # 36 bytes: the bad packet starts at len(HEADER) + 36


@pytest.mark.parametrize("bad, match", [
    (packet(1, [(1, 1, 1, 1, 1)] * 2, valid=3), r"eventValid larger than eventNumber.*eventNumber 2, eventValid 3"),
    (packet(5, [(1, 2)] * 3, esize=0), r"eventSize 0 but eventCapacity > 0.*eventCapacity 3"),
    (packet(1, [(1, 1, 1, 1, 1)], ts_offset=0), r"eventTSOffset != 4.*eventTSOffset 0"),
    (packet(1, [(1, 1, 1, 1, 1)], esize=4), r"eventSize != 8.*eventSize 4"),
    # room for 10 events (80 bytes), but only 8 + 36 bytes follow the header
    (packet(1, [(1, 1, 1, 1, 1)], capacity=10),
     r"past the end of the file.*eventCapacity 10, eventNumber 1.*44 bytes after"),
    (packet(1, [(1, 1, 1, 1, 1)] * 2, number=3), r"eventNumber larger than eventCapacity"),
    # (2**32 - 1) * 2**31 bytes, just under 2**63: compared as capacity > bytes_left // eventSize
    (packet(3, [(1, 2)], esize=2**31, capacity=2**32 - 1, number=1), r"past the end.*eventSize 2147483648"),
], ids=["valid>number", "size0", "tsoffset", "polarity-size", "capacity-past-end", "number>capacity",
        "nearly-2**63-bytes"])
def test_packet_fields_that_disagree(tmp_path, bad, match):
    path = tmp_path / "disagree.aedat"
    path.write_bytes(HEADER + GOOD + bad + GOOD)
    with pytest.raises(AedatFormatError, match=match) as err:
        read_aedat3(path)
    assert "disagree.aedat" in str(err.value)
    assert f"byte offset {len(HEADER) + 36} " in str(err.value)


def test_truncated_header_names_bytes_left(tmp_path):
    path = tmp_path / "short.aedat"
    path.write_bytes(HEADER + GOOD + GOOD[:27])
    match = rf"truncated packet header at byte offset {len(HEADER) + 36} \(27 bytes left"
    with pytest.raises(AedatFormatError, match=match):
        read_aedat3(path)
