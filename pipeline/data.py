"""A torch ``Dataset`` streaming samples from a frames HDF5 file.

The file is opened lazily, once per process (each DataLoader worker gets its own handle,
as h5py handles must not cross a fork).
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from .store import plain_attrs


class H5Frames(Dataset):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        with h5py.File(self.path, "r") as f:
            self.labels = f["labels"][:]
            self.attrs = plain_attrs(f.attrs)
            self.frame_shape = f["frames"].shape[1:]
        self._file = None
        self._pid = None

    def __len__(self) -> int:
        return len(self.labels)

    def _frames(self):
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file["frames"]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        frames = self._frames()[i].astype(np.float32)
        return torch.from_numpy(frames), int(self.labels[i])

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"] = None
        return state
