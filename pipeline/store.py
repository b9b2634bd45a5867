"""The HDF5 frames file: one sample per chunk, written under a temporary name then renamed.

Layout::

    frames     (N, T, 2, H, W) uint32, chunk (1, T, 2, H, W), gzip + shuffle
    labels     (N,) int64        class index from 0
    recording  (N,) str          source recording file name
    label_row  (N,) int32        row of the recording's labels file (from 0)
    n_events   (N,) int64        events integrated into the sample
    attrs: dataset, T, split_by, height, width, downsample, version, and the caller's extras
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import h5py
import numpy as np

from . import __version__
from .frames import FRAME_DTYPE

COMPRESSION = dict(compression="gzip", compression_opts=4, shuffle=True)


class FrameWriter:
    """Stream ``n`` samples into ``path``; nothing appears at ``path`` unless all were written."""

    def __init__(self, path: str | Path, n: int, frame_shape: tuple[int, ...], attrs: dict):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f"{self.path.name}.tmp-{uuid.uuid4().hex[:8]}")
        self.n, self.written = n, 0
        f = self.file = h5py.File(self.tmp, "w", libver=("earliest", "v110"), track_order=True)
        # fill_value and explicit chunking keep the file a pure function of its contents
        f.create_dataset("frames", (n, *frame_shape), dtype=FRAME_DTYPE,
                         chunks=(1, *frame_shape), fillvalue=0, **COMPRESSION)
        f.create_dataset("labels", (n,), dtype=np.int64)
        f.create_dataset("recording", (n,), dtype=h5py.string_dtype())
        f.create_dataset("label_row", (n,), dtype=np.int32)
        f.create_dataset("n_events", (n,), dtype=np.int64)
        T, _, H, W = frame_shape
        base = dict(T=T, height=H, width=W, version=__version__)
        for k, v in {**base, **attrs}.items():
            f.attrs[k] = v

    def write(self, frames: np.ndarray, label: int, recording: str, label_row: int, n_events: int) -> None:
        i = self.written
        if i >= self.n:
            raise IndexError(f"{self.path}: more than the {self.n} samples announced")
        f = self.file
        f["frames"][i] = frames
        f["labels"][i] = label
        f["recording"][i] = recording
        f["label_row"][i] = label_row
        f["n_events"][i] = n_events
        self.written += 1

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.file.close()
        if exc_type is None and self.written == self.n:
            os.replace(self.tmp, self.path)
            return False
        self.tmp.unlink(missing_ok=True)
        if exc_type is None:
            raise RuntimeError(f"{self.path}: wrote {self.written} of {self.n} samples")
        return False


def read_sample(path: str | Path, i: int) -> tuple[np.ndarray, int]:
    """One ``(frames, label)`` pair, for inspection; training uses :mod:`pipeline.data`."""
    with h5py.File(path, "r") as f:
        return f["frames"][i], int(f["labels"][i])


def plain_attrs(attrs) -> dict:
    """HDF5 attributes as plain Python values (numpy scalars and arrays become int/str/list)."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.ndarray):
            v = [x.decode() if isinstance(x, bytes) else x for x in v.tolist()]
        elif isinstance(v, np.generic):
            v = v.item()
        out[k] = v.decode() if isinstance(v, bytes) else v
    return out


def read_attrs(path: str | Path) -> dict:
    with h5py.File(path, "r") as f:
        return plain_attrs(f.attrs)
