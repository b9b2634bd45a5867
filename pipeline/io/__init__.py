"""Readers for event-camera file formats, and the one registry of them by name.

Every reader returns a :data:`pipeline.core.events.EVENT_DTYPE` array in file order and raises
:class:`EventFormatError` (a ``ValueError``; :class:`AedatFormatError` for the AEDAT
family) naming the file, and the byte offset where one is known.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .aedat3 import read_aedat3
from .aedat4 import read_aedat4
from .errors import AedatFormatError, EventFormatError
from .jaer import read_jaer, read_jaer_header
from .nmnist import read_nmnist

__all__ = [
    "READERS", "AedatFormatError", "EventFormatError", "read_aedat3", "read_aedat4", "read_events",
    "read_jaer", "read_jaer_header", "read_nmnist", "sniff_format",
]

#: Readers by name, as the dataset registry (``DatasetSpec.reader``) and :func:`read_events` name them.
READERS = {"aedat3": read_aedat3, "jaer": read_jaer, "aedat4": read_aedat4, "nmnist": read_nmnist}

#: ``#!AER-DAT<major>`` header → format name used by :func:`read_events`.
_AEDAT_VERSIONS = {b"2": "jaer", b"3": "aedat3", b"4": "aedat4"}
_NMNIST_SUFFIXES = (".bin", ".bs2")


def sniff_format(path: str | Path) -> str:
    """``"aedat3"``, ``"jaer"``, ``"aedat4"`` or ``"nmnist"``, from the first bytes and the name."""
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(b"#!AER-DAT"):
        version = head[len(b"#!AER-DAT"):len(b"#!AER-DAT") + 1]
        if version in _AEDAT_VERSIONS:
            return _AEDAT_VERSIONS[version]
        first_line = head.split(b"\n")[0].strip()
        raise EventFormatError(
            f"{path}: unsupported AEDAT version {first_line!r} at byte offset 0 "
            "(supported: AEDAT 2.0 jAER, 3.1, 4.0)"
        )
    if path.suffix.lower() in _NMNIST_SUFFIXES and not head.startswith(b"#!AER"):
        return "nmnist"
    raise EventFormatError(
        f"{path}: unrecognised event file: no '#!AER-DAT2/3/4' header at byte offset 0 "
        f"and not a {'/'.join(_NMNIST_SUFFIXES)} N-MNIST file (first bytes {head[:10]!r})"
    )


def read_events(path: str | Path) -> np.ndarray:
    """Read any supported event file, picking the reader with :func:`sniff_format`."""
    return READERS[sniff_format(path)](path)
