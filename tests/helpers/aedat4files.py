"""AEDAT 4 files built by hand (no `aedat` encoder involved): compression NONE, the IOHeader
and EventPacket flatbuffers laid out byte by byte with struct."""

import struct


def dv_xml(width: int = 34, height: int = 34) -> bytes:
    """The IOHeader's description: one event stream (EVTS) of a ``width`` x ``height`` sensor."""
    return (b'<dv version="2.0"><node name="outInfo" path="/o/"><node name="0" path="/o/0/">'
            b'<attr key="typeIdentifier" type="string">EVTS</attr><node name="info" path="/o/0/info/">'
            b'<attr key="sizeX" type="int">%d</attr><attr key="sizeY" type="int">%d</attr></node></node></node></dv>'
            % (width, height))


DV_XML = dv_xml()


def ioheader(compression=0, table_position=-1, xml=DV_XML):
    """IOHeader flatbuffer: root offset 24 and "IOHE" (0..8); vtable at 8 (size 10, table size
    20, fields at +4 compression, +8 dataTablePosition, +16 description); table at 24 (soffset
    16); description string at 44: u32 length, bytes from 48, NUL."""
    vtable = struct.pack("<HHHHH", 10, 20, 4, 8, 16) + b"\0" * 6
    table = struct.pack("<iiqI", 24 - 8, compression, table_position, 44 - 40)
    buf = struct.pack("<I", 24) + b"IOHE" + vtable + table + struct.pack("<I", len(xml)) + xml + b"\0"
    return buf + b"\0" * (-len(buf) % 4)


def event_packet(events, stream=0):
    """``int32 stream, int32 size`` + a size-prefixed EventPacket: prefix (0), root offset 16
    (4), "EVTS" (8), vtable at 12 (size 6, table size 8, elements at +4), table at 20
    (soffset 8, vector offset 12), vector at 36: u32 count, 16-byte events from 40."""
    fb = struct.pack("<I", 16) + b"EVTS" + struct.pack("<HHH", 6, 8, 4) + b"\0\0"
    fb += struct.pack("<iI", 8, 12) + b"\0" * 8 + struct.pack("<I", len(events))
    fb += b"".join(struct.pack("<qhhB3x", t, x, y, on) for t, x, y, on in events)
    fb = struct.pack("<I", len(fb)) + fb
    return struct.pack("<iI", stream, len(fb)) + fb


def aedat4_file(head=None, packets=()):
    head = ioheader() if head is None else head
    return b"#!AER-DAT4.0\r\n" + struct.pack("<i", len(head)) + head + b"".join(packets)
