"""Readers (and the writer the demo sensor needs) for event-camera file formats."""

from .aedat3 import AedatFormatError, read_aedat3

__all__ = ["AedatFormatError", "read_aedat3"]
