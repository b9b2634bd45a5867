"""A torch ``Dataset`` streaming samples from a frames HDF5 file.

The file is opened lazily, once per process (each DataLoader worker gets its own handle,
as h5py handles must not cross a fork). A sample that fails its checksum raises
:class:`~pipeline.errors.DamagedFileError` naming the file and the sample.
"""

from __future__ import annotations

import math
import os
import random
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from .store import open_frames, plain_attrs, read_field, read_frames


class H5Frames(Dataset):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        with open_frames(self.path) as f:
            self.labels = read_field(f, "labels")
            self.attrs = plain_attrs(f.attrs)
            self.frame_shape = f["frames"].shape[1:]
        self._file = None
        self._pid = None

    def __len__(self) -> int:
        return len(self.labels)

    def _handle(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        frames = read_frames(self._handle(), i).astype(np.float32)
        return torch.from_numpy(frames), int(self.labels[i])

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
