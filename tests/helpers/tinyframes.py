"""Tiny frames HDF5 files (written with pipeline.core.store.FrameWriter) for training tests."""

from pathlib import Path

import numpy as np

from pipeline.params import ModelParams, TrainParams
from pipeline.core.store import FrameWriter

CLASSES = ["a", "b", "c", "d"]
MODEL = ModelParams(channels=8, blocks=2, hidden=32, votes=2, dropout=0.0)
TRAIN = TrainParams(epochs=4, T_max=4, batch_size=8, lr=0.01, threads=1)


def write_frames(path: Path, n: int, T: int = 4, size: int = 16, seed: int = 0) -> Path:
    """``n`` samples of ``len(CLASSES)`` classes in turn; class c fires more in its quadrant."""
    rng = np.random.default_rng(seed)
    half = size // 2
    attrs = {"dataset": "tiny", "split": path.stem, "split_by": "number", "downsample": 1,
             "classes": CLASSES}
    with FrameWriter(path, n, (T, 2, size, size), attrs) as w:
        for i in range(n):
            c = i % len(CLASSES)
            frames = rng.poisson(0.3, (T, 2, size, size)).astype(np.uint32)
            r, q = divmod(c, 2)
            frames[:, :, r * half:(r + 1) * half, q * half:(q + 1) * half] += rng.poisson(
                2.0, (T, 2, half, half)).astype(np.uint32)
            w.write(frames, c, f"rec{i}", i, int(frames.sum()))
    return path


def write_dataset(folder: Path, n_train: int = 32, n_test: int = 8) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return (write_frames(folder / "train.h5", n_train, seed=1),
            write_frames(folder / "test.h5", n_test, seed=2))
