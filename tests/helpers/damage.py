"""Damaging a file in place, as a disk error or an edit through a DVC hard link would."""

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
