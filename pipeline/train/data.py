"""A torch ``Dataset`` streaming samples from a frames HDF5 file, and a split held in one tensor.

The file is opened lazily, once per process (each DataLoader worker gets its own handle,
as h5py handles must not cross a fork). A sample that fails its checksum raises
:class:`~pipeline.core.errors.DamagedFileError` naming the file and the sample.

The host decodes narrow, the device casts: a sample comes as the narrowest integer tensor that
holds every value of its file (:func:`narrow_dtype`: uint8 for images; for event counts uint8,
int16 or int32), a quarter of float32's bytes or less to pin, copy and keep; training casts it
with ``.float()`` on the device, which gives the float32 of the same integers as casting on
the host did, bit for bit. :class:`DeviceFrames` holds a whole split so, on its device.

A file's representation (its metadata ``representation``, :func:`representation`) says what
the numbers are: ``counts`` (the default: events per polarity, integers), ``voxel_grid``
(float32, one signed channel: kept as float32, cast to nothing) or ``binarep`` (uint8 codes
of ``n_bits`` bits, kept as uint8; the network sees ``code / (2**n_bits - 1)``, Tonic's
``ToBinaRep`` values, and that division is done on the device by
:func:`pipeline.train.scoring.on_device`, with the divisor :attr:`H5Frames.scale` names).
"""

from __future__ import annotations

import functools
import math
import os
import random
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from ..core.errors import DamagedFileError, LayoutError
from ..core.frameparams import input_scale, representation
from ..core.store import H5_ERRORS, chunk_bounds, damaged, open_frames, read_field, read_frames, read_meta

#: What a file of stored integers may be narrowed to, narrowest first. Not uint16: torch has
#: no uint16 arithmetic worth relying on. int64 only for a count over int32's range.
COUNT_DTYPES = tuple(np.dtype(t) for t in (np.uint8, np.int16, np.int32, np.int64))

@functools.lru_cache(maxsize=256)
def _narrow_dtype(path: str, size: int, mtime_ns: int) -> np.dtype:
    with open_frames(path) as f:
        ds = f["frames"]
        stored = ds.dtype
        if stored.kind != "u":
            return np.dtype(np.float32) if stored.kind == "f" else stored
        if stored.itemsize == 1:
            return stored                                  # images: uint8 as stored
        bounds = chunk_bounds(ds)
        exact: dict[int, int] = {}

        def top(i: int) -> int:                            # sample i's largest value, decoded
            if i not in exact:
                frames = read_frames(f, i)
                exact[i] = int(frames.max()) if frames.size else 0
            return exact[i]

        for t in COUNT_DTYPES:
            limit = np.iinfo(t).max
            if limit >= np.iinfo(stored).max:
                return t
            if all(b is not None and b <= limit or top(i) <= limit for i, b in enumerate(bounds)):
                return t
    return np.dtype(np.float32)                            # uint64 values beyond int64: as before




def narrow_dtype(path: str | Path) -> np.dtype:
    """The dtype :class:`H5Frames` gives the samples of the frames file ``path``: the narrowest
    of :data:`COUNT_DTYPES` that holds the file's largest value (decided once per file, cached
    by path, size and modification time).

    uint8 frames (images) stay uint8. uint32 event counts: each sample's stored chunk names an
    upper bound of its values in its scale-offset header, read without decompressing the
    sample (a few bytes of each chunk: cheap next to decoding the file); only the samples whose
    bound does not settle the choice (over a type's limit) are decoded for their exact maximum.
    So the type is the narrowest for the file's exact maximum, found mostly from headers; a file
    written otherwise than by :mod:`pipeline.core.store` is decoded sample by sample. Floats
    (voxel grids) come as float32; other types are left as stored. uint8 Bina-Rep codes stay
    uint8 (their scaling is the device's: :attr:`H5Frames.scale`)."""
    path = Path(path).resolve()
    st = path.stat()
    return _narrow_dtype(str(path), st.st_size, st.st_mtime_ns)


class H5Frames(Dataset):
    """Sample ``i`` is ``(frames, label)``: the frames as a tensor of :attr:`dtype` (the file's
    :func:`narrow_dtype`), cast to float32 on the device by the training code (and divided by
    :attr:`scale` there, where it is not None: Bina-Rep codes)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with open_frames(self.path) as f:
            self.labels = read_field(f, "labels")
            self.attrs = read_meta(f)
            try:
                self.frame_shape = f["frames"].shape[1:]
                stored = f["frames"].dtype
            except H5_ERRORS as e:
                raise damaged(self.path, "the frames dataset", e) from None
        #: ``counts``, ``voxel_grid`` or ``binarep`` (:func:`representation`)
        self.representation = representation(self.attrs)
        #: what the network's input is the stored values divided by (:func:`input_scale`), or None
        self.scale = input_scale(self.attrs, self.path)
        if self.scale is not None and stored.kind not in "ui":
            raise LayoutError(f"{self.path}: Bina-Rep frames stored as {stored}, not as integer codes")
        #: the samples' numpy dtype; every stored value fits in it (checked on each read)
        self.dtype = narrow_dtype(self.path)
        narrowed = (stored.kind in "ui" and self.dtype.kind in "ui"
                    and np.iinfo(self.dtype).max < np.iinfo(stored).max)
        self._limit = int(np.iinfo(self.dtype).max) if narrowed else None
        self._file = None
        self._pid = None

    @property
    def torch_dtype(self) -> torch.dtype:
        return torch.from_numpy(np.zeros(0, self.dtype)).dtype

    def nbytes(self, n: int | None = None) -> int:
        """Bytes of ``n`` samples' frames (default: all) at :attr:`dtype`."""
        return (len(self) if n is None else n) * math.prod(self.frame_shape) * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self.labels)

    def _handle(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            try:
                self._file = h5py.File(self.path, "r")
            except H5_ERRORS as e:
                raise damaged(self.path, "the HDF5 file", e) from None
            self._pid = os.getpid()
        return self._file

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        frames = read_frames(self._handle(), i)
        if self._limit is not None and frames.size and frames.max() > self._limit:
            raise DamagedFileError(f"{self.path}: sample {i} holds the value {frames.max()}, beyond the "
                                   f"{self.dtype} its file's scan chose: the file changed after it was opened")
        return torch.from_numpy(frames.astype(self.dtype, copy=False)), int(self.labels[i])

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"] = None
        return state


def validation_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, val)`` sample indices: ``fraction`` of each class held out for validation.

    Within a class (its indices sorted), a permutation drawn from ``(seed, class)`` picks the
    held-out samples: ``round(fraction * n)`` of them, at least 1 when the class has 2 or more,
    none when it has 1. Each class's choice depends only on the seed and on that class.
    """
    labels = np.asarray(labels)
    train, val = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = 0 if len(idx) < 2 else min(len(idx) - 1, max(1, round(fraction * len(idx))))
        perm = np.random.default_rng([seed, int(c)]).permutation(idx)
        val.append(perm[:k])
        train.append(perm[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def paper_split(labels: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """``(train, val)`` as the paper held out its validation set (``split_dataset`` in its
    ``train_val.py``): within each class, in dataset order, the first ``ceil((1 - fraction) n)``
    samples train and the rest validate. No randomness."""
    labels = np.asarray(labels)
    train, val = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        pos = math.ceil(len(idx) * (1.0 - fraction))
        train.append(idx[:pos])
        val.append(idx[pos:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: numpy and ``random`` seeded from the worker's torch seed
    (which the loader derives from its generator), so workers are reproducible."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class DeviceFrames:
    """The frames and labels of ``data[indices]`` (in that order) loaded once into one tensor
    each on ``device``: ``x`` at the file's narrow dtype, ``y`` int64, as the DataLoader's
    batches have them. :meth:`batch` indexes them; a batch equals, bit for bit, the batch a
    DataLoader over ``Subset(data, indices)`` makes of the same positions. :attr:`scale` is the
    file's (:attr:`H5Frames.scale`): its batches take the same cast on the device.

    Read through a DataLoader of ``workers`` processes in blocks of ``block`` samples, each
    copied into place as it comes (pinned and non-blocking on CUDA): the host holds a few
    blocks, never the split."""

    def __init__(self, data: H5Frames, indices, device: torch.device, workers: int = 0, block: int = 64):
        indices = [int(i) for i in indices]
        device = torch.device(device)
        self.scale = data.scale
        self.x = torch.empty((len(indices), *data.frame_shape), dtype=data.torch_dtype, device=device)
        self.y = torch.as_tensor(np.asarray(data.labels, np.int64)[indices], dtype=torch.int64).to(device)
        cuda = device.type == "cuda"
        loader = DataLoader(Subset(data, indices), batch_size=block, num_workers=workers, pin_memory=cuda,
                            worker_init_fn=seed_worker, generator=torch.Generator().manual_seed(0))
        start = 0
        for x, _ in loader:
            self.x[start:start + len(x)].copy_(x, non_blocking=cuda)
            start += len(x)
        assert start == len(indices)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def nbytes(self) -> int:
        return self.x.nbytes + self.y.nbytes

    def batch(self, positions) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)`` of the samples at ``positions`` (a slice, or a tensor of positions)."""
        if isinstance(positions, slice):
            return self.x[positions], self.y[positions]
        positions = torch.as_tensor(positions, dtype=torch.int64).to(self.x.device)
        return self.x.index_select(0, positions), self.y.index_select(0, positions)
