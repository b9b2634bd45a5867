"""Damaging a file in place, as a disk error or an edit through a DVC hard link would."""

import zipfile
from pathlib import Path

import h5py


def flip_byte(path: Path, offset: int, mask: int = 0x10) -> None:
    """XOR the byte at ``offset`` of ``path`` with ``mask``, in place."""
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ mask]))


def damage_sample(path: Path, i: int, mask: int = 0x10) -> None:
    """Flip a byte in the middle of sample ``i``'s stored frames chunk."""
    with h5py.File(path) as f:
        chunk = f["frames"].id.get_chunk_info(i)
    flip_byte(path, chunk.byte_offset + chunk.size // 2, mask)


#: data.pkl of ``{((...(),)...,): 1}``, the key a tuple 10**6 deep: torch.load hashed it and died of SIGSEGV
DEEP_KEY = b"\x80\x02})" + b"\x85" * 10**6 + b"K\x01s."


def with_pickle(path: Path, pkl: bytes) -> Path:
    """``path``, a zip that torch.save wrote, with its ``*/data.pkl`` member replaced by ``pkl``;
    the other members kept, every CRC right (zipfile computes them): only the pickle is wrong."""
    with zipfile.ZipFile(path) as z:
        members = [(i.filename, z.read(i)) for i in z.infolist()]
    assert sum(name.endswith("/data.pkl") for name, _ in members) == 1
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            z.writestr(name, pkl if name.endswith("/data.pkl") else data)
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    return path
