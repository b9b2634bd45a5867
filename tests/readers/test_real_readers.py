"""The readers on the real sample files of ../shared/data/real (see its SOURCES.md).

Each file is checked against the counts and ranges recorded in SOURCES.md and, event by
event, against an independent decode written here with plain numpy / struct (never by
calling our readers twice); N-MNIST also against Tonic's reader.
"""

import shutil
import struct

import numpy as np
import pytest

from pipeline.core.events import EVENT_DTYPE
from pipeline.io import (
    AedatFormatError,
    read_aedat4,
    read_events,
    read_jaer,
    read_jaer_header,
    read_nmnist,
    sniff_format,
)

DVS128 = "aedat2_jaer/dvs128/alex_walking_again.aedat"
DAVIS240 = "aedat2_jaer/davis240c/IMU_translBoxes.aedat"
DAVIS346_HEADER = "aedat2_jaer/davis346red_header_only/sample_aedat_header.aedat"
NMNIST_TONIC = "nmnist/tonic/sample_nmnist.bin"
SLAYER = "nmnist/slayerPytorch_NMNISTsmall/"
SLAYER_COUNTS = {"1.bs2": 4681, "2.bs2": 5028, "3.bs2": 3307, "4.bs2": 2723, "5.bs2": 3913,
                 "6.bs2": 4921, "8.bs2": 5520, "60001.bs2": 3330}
AEDAT4 = "aedat4/sample.aedat4"


def assert_same(ev, t, x, y, p):
    assert ev.dtype == EVENT_DTYPE
    assert ev.size == len(t)
    for name, ref in (("t", t), ("x", x), ("y", y), ("p", p)):
        assert np.array_equal(ev[name].astype(np.int64), np.asarray(ref).astype(np.int64)), name


# --------------------------------------------------------------------------- jAER AEDAT 2.0

def numpy_jaer(path):
    """Header by a plain line walk; body as big-endian (uint32 address, int32 timestamp) pairs."""
    data = path.read_bytes()
    pos, lines = 0, 0
    while data.startswith(b"#", pos):
        nl = data.find(b"\n", pos)
        pos = len(data) if nl < 0 else nl + 1
        lines += 1
    words = np.frombuffer(data, dtype=np.dtype([("a", ">u4"), ("t", ">i4")]), offset=pos)
    return lines, pos, words["a"].astype(np.int64), words["t"].astype(np.int64)


def test_jaer_dvs128_alex_walking(real):
    path = real(DVS128)
    n_lines, offset, a, t = numpy_jaer(path)
    lines, data_offset = read_jaer_header(path)
    assert (len(lines), data_offset) == (n_lines, offset) == (84, 4612)
    assert lines[6] == "# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128"
    assert lines[-1] == "#End of Preferences for this AEChip"

    ev = read_jaer(path)                                   # layout from the AEChip line
    assert ev.size == 19182
    assert not (a >> 15).any()                             # no address bit above 14
    assert_same(ev, t, (a >> 1) & 0x7F, (a >> 8) & 0x7F, a & 1)
    assert ev["x"].min() == 0 and ev["x"].max() == 127
    assert ev["y"].min() == 0 and ev["y"].max() == 127
    assert round(ev["p"].mean(), 2) == 0.63
    assert (np.diff(ev["t"]) >= 0).all()
    assert 6.8e6 < ev["t"][-1] - ev["t"][0] < 7.0e6       # 6.89 s


def test_jaer_davis240c_imu_transl_boxes(real):
    path = real(DAVIS240)
    n_lines, offset, a, t = numpy_jaer(path)
    lines, data_offset = read_jaer_header(path)
    assert (len(lines), data_offset) == (n_lines, offset) == (2104, 175268)
    assert "# AEChip: eu.seebetter.ini.chips.davis.DAVIS240C" in lines
    assert a.size == 196608

    ev = read_jaer(path)
    dvs = (a >> 31) == 0
    assert dvs.sum() == 162771 and (~dvs).sum() == 33837
    a, t = a[dvs], t[dvs]
    assert_same(ev, t, (a >> 12) & 0x3FF, (a >> 22) & 0x1FF, (a >> 11) & 1)
    assert ev["x"].min() == 0 and ev["x"].max() == 239
    assert ev["y"].min() == 0 and ev["y"].max() == 179
    assert 0.50 < ev["p"].mean() < 0.52
    assert 2.0e6 < ev["t"].max() - ev["t"].min() < 2.1e6   # 2.07 s


def test_jaer_davis346_header_only(real):
    path = real(DAVIS346_HEADER)
    lines, offset = read_jaer_header(path)
    assert offset == path.stat().st_size == 599
    assert len(lines) == 12
    assert lines[0] == "#!AER-DAT2.0"
    assert "# AEChip: eu.seebetter.ini.chips.davis.Davis346red" in lines
    assert "# Timestamps tick: 1 us" in lines
    ev = read_jaer(path)                                   # Davis346red -> davis layout
    assert ev.size == 0 and ev.dtype == EVENT_DTYPE


def test_jaer_real_file_truncated(tmp_path, real):
    src = real(DVS128)
    path = tmp_path / "alex_cut.aedat"
    path.write_bytes(src.read_bytes()[:-3])
    with pytest.raises(AedatFormatError, match=rf"alex_cut\.aedat.*byte offset {4612 + 19181 * 8}\b"):
        read_jaer(path)


# --------------------------------------------------------------------------- N-MNIST

def numpy_nmnist(path):
    r = np.frombuffer(path.read_bytes(), dtype=np.uint8).reshape(-1, 5).astype(np.int64)
    assert not (r[:, 1] == 240).any()                      # these samples hold no overflow markers
    return (r[:, 2] & 0x7F) << 16 | r[:, 3] << 8 | r[:, 4], r[:, 0], r[:, 1], r[:, 2] >> 7


TONIC_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])


@pytest.mark.parametrize("name, count", [(NMNIST_TONIC, 4325)]
                         + [(SLAYER + f, n) for f, n in SLAYER_COUNTS.items()])
def test_nmnist_real(name, count, real):
    path = real(name)
    ev = read_nmnist(path)
    assert ev.size == count == path.stat().st_size // 5
    assert_same(ev, *numpy_nmnist(path))
    assert ev["x"].max() <= 33 and ev["y"].max() <= 33
    assert (np.diff(ev["t"]) >= 0).all()
    assert 0.48 < ev["p"].mean() < 0.53
    assert 300_000 < ev["t"][-1] < 312_000                 # three saccades, ~305-311 ms
    if name == NMNIST_TONIC:
        assert (ev["t"][0], ev["t"][-1]) == (654, 311175)

    tonic_io = pytest.importorskip("tonic.io")
    ref = tonic_io.read_mnist_file(str(path), dtype=TONIC_DTYPE)   # p: bool, True = ON (bit 7)
    assert_same(ev, ref["t"], ref["x"], ref["y"], ref["p"])


# --------------------------------------------------------------------------- AEDAT 4
# An independent AEDAT 4 decode: LZ4 frames and flatbuffers walked by hand (no `aedat`).

def _lz4_length(src, i, length):
    """An LZ4 length nibble, extended by 255-valued bytes when it is 15; returns (length, i)."""
    if length == 15:
        while True:
            b = src[i]
            i += 1
            length += b
            if b != 255:
                break
    return length, i


def _lz4_block(src, out):
    i, n = 0, len(src)
    while True:
        token = src[i]
        i += 1
        lit, i = _lz4_length(src, i, token >> 4)
        out += src[i:i + lit]
        i += lit
        if i >= n:                                         # the last sequence is literals only
            return
        off = src[i] | src[i + 1] << 8
        i += 2
        length, i = _lz4_length(src, i, token & 15)
        length += 4
        start = len(out) - off
        if off >= length:
            out += out[start:start + length]
        else:                                              # overlapping copy: a repeating pattern
            out += (out[start:] * (length // off + 1))[:length]


def _lz4_frame(src):
    assert src[:4] == b"\x04\x22\x4d\x18"
    flags = src[4]
    i = 7 + (8 if flags & 0x08 else 0) + (4 if flags & 0x01 else 0)
    out = bytearray()
    while True:
        size = struct.unpack_from("<I", src, i)[0]
        i += 4
        if size == 0:
            return bytes(out)
        if size >> 31:
            out += src[i:i + (size & 0x7FFFFFFF)]
        else:
            _lz4_block(src[i:i + size], out)               # linked blocks: `out` is the history
        i += (size & 0x7FFFFFFF) + (4 if flags & 0x10 else 0)


def _fb_field(fb, table, index):
    vtable = table - struct.unpack_from("<i", fb, table)[0]
    if 4 + 2 * index >= struct.unpack_from("<H", fb, vtable)[0]:
        return None
    off = struct.unpack_from("<H", fb, vtable + 4 + 2 * index)[0]
    return table + off if off else None


_DV_EVENT = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("on", "u1"), ("pad", "V3")])


def numpy_aedat4(path):
    buf = path.read_bytes()
    assert buf.startswith(b"#!AER-DAT4.0\r\n")
    size = struct.unpack_from("<i", buf, 14)[0]
    head = buf[18:18 + size]
    root = struct.unpack_from("<I", head, 0)[0]
    f = _fb_field(head, root, 0)                           # IOHeader.compression
    assert (struct.unpack_from("<i", head, f)[0] if f else 0) in (1, 2)     # LZ4, LZ4_HIGH
    f = _fb_field(head, root, 1)                           # IOHeader.dataTablePosition
    end = struct.unpack_from("<q", head, f)[0] if f else -1
    end = len(buf) if end < 0 else end
    pos, chunks = 18 + size, []
    while pos < end:
        _stream, size = struct.unpack_from("<ii", buf, pos)
        fb = _lz4_frame(buf[pos + 8:pos + 8 + size])
        pos += 8 + size
        assert struct.unpack_from("<I", fb, 0)[0] == len(fb) - 4     # size-prefixed flatbuffer
        fb = fb[4:]
        if fb[4:8] != b"EVTS":                             # IMU / trigger packets
            continue
        table = struct.unpack_from("<I", fb, 0)[0]
        f = _fb_field(fb, table, 0)                        # EventPacket.elements
        vec = f + struct.unpack_from("<I", fb, f)[0]
        chunks.append(np.frombuffer(fb, _DV_EVENT, struct.unpack_from("<I", fb, vec)[0], vec + 4))
    assert pos == end
    return np.concatenate(chunks)


def test_aedat4_sample(real):
    path = real(AEDAT4)
    ev = read_aedat4(path)
    ref = numpy_aedat4(path)
    assert ev.size == 111954
    assert_same(ev, ref["t"], ref["x"], ref["y"], ref["on"])
    assert ev["x"].min() == 0 and ev["x"].max() == 319
    assert ev["y"].min() == 0 and ev["y"].max() == 239
    assert (ev["t"][0], ev["t"][-1]) == (1605537493718345, 1605537494308262)
    assert (np.diff(ev["t"]) >= 0).all()
    assert 0.47 < ev["p"].mean() < 0.51


def test_aedat4_truncated_real_file(tmp_path, real):
    src = real(AEDAT4)
    path = tmp_path / "cut.aedat4"
    path.write_bytes(src.read_bytes()[:50_000])
    with pytest.raises(AedatFormatError, match=r"cut\.aedat4"):
        read_aedat4(path)


# --------------------------------------------------------------------------- dispatch

@pytest.mark.parametrize("name, fmt, count", [
    (DVS128, "jaer", 19182), (DAVIS240, "jaer", 162771), (DAVIS346_HEADER, "jaer", 0),
    (NMNIST_TONIC, "nmnist", 4325), (SLAYER + "1.bs2", "nmnist", 4681), (AEDAT4, "aedat4", 111954),
])
def test_read_events_dispatch_real(name, fmt, count, real):
    path = real(name)
    assert sniff_format(path) == fmt
    assert read_events(path).size == count


def test_read_events_renamed_nmnist_needs_suffix(tmp_path, real):
    path = tmp_path / "sample.dat"
    shutil.copy(real(NMNIST_TONIC), path)
    with pytest.raises(ValueError, match="unrecognised"):
        read_events(path)
