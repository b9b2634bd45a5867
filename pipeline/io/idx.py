"""The idx format of MNIST and Fashion-MNIST (LeCun et al.): unsigned bytes in N dimensions.

Layout: a 4-byte magic ``0x00 0x00 <type> <ndim>``, ``ndim`` big-endian uint32 dimensions,
then the data in C order. Only the two kinds these datasets use are accepted: type ``0x08``
(unsigned byte) with 3 dimensions (images, magic 0x00000803) or 1 (labels, 0x00000801).
The data must fill the rest of the file exactly: a short file or trailing bytes are errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.errors import ImageFormatError

UBYTE = 0x08
NDIMS = (1, 3)                 # labels, images
_INT64_MAX = 2**63 - 1


def read_idx(path: str | Path) -> np.ndarray:
    """The array an idx file holds (uint8, read-only, its dimensions); :class:`ImageFormatError` naming the
    file and the byte offset when it is not a well-formed ubyte idx file of 1 or 3 dimensions."""
    path = Path(path)
    data = path.read_bytes()

    def bad(offset: int, what: str) -> ImageFormatError:
        return ImageFormatError(f"{path}: byte offset {offset}: {what}; not an MNIST idx file, "
                                "or a damaged one")

    if len(data) < 4:
        raise bad(0, f"{len(data)} bytes, too short for the 4-byte magic number")
    magic = int.from_bytes(data[:4], "big")
    if data[0] or data[1]:
        raise bad(0, f"magic number 0x{magic:08x} does not start with two zero bytes")
    if data[2] != UBYTE:
        raise bad(2, f"data type 0x{data[2]:02x}; only 0x08 (unsigned byte) is supported")
    ndim = data[3]
    if ndim not in NDIMS:
        raise bad(3, f"{ndim} dimensions (magic 0x{magic:08x}); expected 3 (images, 0x00000803) "
                     "or 1 (labels, 0x00000801)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise bad(len(data), f"the file ends inside the header of {ndim} dimensions ({header} bytes)")
    dims = [int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim)]
    count = nominal = 1
    for k, d in enumerate(dims):        # Python ints: the bound below is what 64 bits can hold
        count *= d
        nominal *= max(d, 1)            # numpy sizes an empty array by its other dimensions too
        if nominal > _INT64_MAX:
            raise bad(4 + 4 * k, f"dimensions {dims} hold more than 2**63 - 1 values")
    left = len(data) - header
    if left < count:
        raise bad(len(data), f"dimensions {dims} need {count} bytes of data after the "
                             f"{header}-byte header, the file has {left} (truncated?)")
    if left > count:
        raise bad(header + count, f"{left - count} trailing bytes after the {count} bytes "
                                  f"of dimensions {dims}")
    return np.frombuffer(data, np.uint8, count, header).reshape(dims)
