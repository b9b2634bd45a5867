"""The HDF5 frames file: one sample per chunk, written under a temporary name then renamed.

Chunks are compressed by :class:`ChunkEncoder` (HDF5's own filter pipeline, run on an
in-memory file, so worker processes can compress in parallel) and stored as they are with
``write_direct_chunk``: the file is the same, byte for byte, whichever process compressed.

Layout::

    frames     (N, T, 2, H, W) uint32, chunk (1, T, 2, H, W), scale-offset + gzip
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

# Scale-offset (lossless for integers with 0: each chunk stored with the fewest bits its
# range needs, a handful for event counts) then deflate level 3: about the size of gzip 4 +
# shuffle, read ~2.4x and written ~1.9x faster (python -m benchmarks, section 4). Both
# filters are built into libhdf5: any h5py reads the file.
COMPRESSION = dict(scaleoffset=0, compression="gzip", compression_opts=3)


def _create_frames(f: h5py.File, n: int, frame_shape: tuple[int, ...]) -> h5py.Dataset:
    # fill_value and explicit chunking keep the file a pure function of its contents
    return f.create_dataset("frames", (n, *frame_shape), dtype=FRAME_DTYPE,
                            chunks=(1, *frame_shape), fillvalue=0, **COMPRESSION)


class ChunkEncoder:
    """One sample's frames -> its stored chunk ``(filter_mask, bytes)``, through HDF5's filters.

    The sample is written to a one-sample dataset, created exactly as the file's, in an
    in-memory HDF5 file and its chunk read back raw: the bytes are what writing it into the
    file would have stored.
    """

    def __init__(self, frame_shape: tuple[int, ...]):
        self.frame_shape = tuple(int(s) for s in frame_shape)
        self._file = h5py.File(f"chunk-encoder-{uuid.uuid4().hex}", "w", driver="core", backing_store=False)
        self._dataset = _create_frames(self._file, 1, self.frame_shape)
        self._origin = (0,) * (len(self.frame_shape) + 1)

    def encode(self, frames: np.ndarray) -> tuple[int, bytes]:
        if frames.shape != self.frame_shape:
            raise ValueError(f"frames of shape {frames.shape}, expected {self.frame_shape}")
        self._dataset[0] = frames
        mask, raw = self._dataset.id.read_direct_chunk(self._origin)
        return int(mask), bytes(raw)

    def close(self) -> None:
        self._file.close()


class FrameWriter:
    """Stream ``n`` samples into ``path``; nothing appears at ``path`` unless all were written."""

    def __init__(self, path: str | Path, n: int, frame_shape: tuple[int, ...], attrs: dict):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f"{self.path.name}.tmp-{uuid.uuid4().hex[:8]}")
        self.n, self.written = n, 0
        self.frame_shape = tuple(int(s) for s in frame_shape)
        self._encoder = None
        f = self.file = h5py.File(self.tmp, "w", libver=("earliest", "v110"), track_order=True)
        self._frames = _create_frames(f, n, self.frame_shape)
        self._chunk_origin = (0,) * len(self.frame_shape)
        # the per-sample fields are gathered here and written once, when all samples are in
        self._fields = {"labels": np.zeros(n, np.int64), "recording": np.empty(n, dtype=object),
                        "label_row": np.zeros(n, np.int32), "n_events": np.zeros(n, np.int64)}
        f.create_dataset("labels", (n,), dtype=np.int64)
        f.create_dataset("recording", (n,), dtype=h5py.string_dtype())
        f.create_dataset("label_row", (n,), dtype=np.int32)
        f.create_dataset("n_events", (n,), dtype=np.int64)
        T, _, H, W = frame_shape
        base = dict(T=T, height=H, width=W, version=__version__)
        for k, v in {**base, **attrs}.items():
            f.attrs[k] = v

    def write(self, frames: np.ndarray, label: int, recording: str, label_row: int, n_events: int) -> None:
        """Compress one sample here and store it (see :meth:`write_encoded`)."""
        if self._encoder is None:
            self._encoder = ChunkEncoder(self.frame_shape)
        self.write_encoded(self._encoder.encode(frames), label, recording, label_row, n_events)

    def write_encoded(self, chunk: tuple[int, bytes], label: int, recording: str, label_row: int,
                      n_events: int) -> None:
        """Store one sample whose frames a :class:`ChunkEncoder` of the same shape compressed."""
        i = self.written
        if i >= self.n:
            raise IndexError(f"{self.path}: more than the {self.n} samples announced")
        mask, raw = chunk
        self._frames.id.write_direct_chunk((i, *self._chunk_origin), raw, mask)
        fields = self._fields
        fields["labels"][i] = label
        fields["recording"][i] = recording
        fields["label_row"][i] = label_row
        fields["n_events"][i] = n_events
        self.written += 1

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._encoder is not None:
            self._encoder.close()
        if exc_type is None and self.written == self.n:
            for name, values in self._fields.items():
                self.file[name][...] = values
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
