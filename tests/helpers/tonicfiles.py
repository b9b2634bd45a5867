"""Files in the layouts Tonic's dataset classes read, and the checks of our frames against
Tonic's own parsing of them (the independent reference)."""

import os
from pathlib import Path

import h5py
import numpy as np

from conftest import real_file
from pipeline.params import Params
from pipeline.core.sourcerecord import SourceRecord, write_source
from pipeline.frames.integration import integrate

# the real N-MNIST recordings of ../shared/data/real/nmnist/slayerPytorch_NMNISTsmall and their digits
NMNIST_FILES = {"1.bs2": 5, "2.bs2": 0, "3.bs2": 4, "4.bs2": 1, "5.bs2": 9, "6.bs2": 2, "8.bs2": 3, "60001.bs2": 7}


def params(tmp_path, dataset, **frames):
    return Params.model_validate({"dataset": dataset, "download": {"archive_dir": str(tmp_path / "downloads")},
                                  "frames": {"T": 4, "downsample": 1, "workers": 1, **frames}})


def real_nmnist():
    """{digit: path} of the real N-MNIST recordings (skip, or fail in CI, when absent)."""
    return {d: real_file(f"nmnist/slayerPytorch_NMNISTsmall/{name}") for name, d in NMNIST_FILES.items()}


def link_many(sources: list[tuple[Path, Path]]) -> None:
    for src, dst in sources:
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            dst.write_bytes(src.read_bytes())


def tonic_by_recording(ds, raw_dir):
    """{recording as we store it: Tonic's index}, for a Tonic dataset over ``raw_dir``."""
    return {Path(os.path.relpath(p, raw_dir)).as_posix(): i for i, p in enumerate(ds.data)}


def assert_matches_tonic(h5, ds, index_of, spec, T, samples, downsample=1):
    """Stored frames of ``samples`` == integrate(Tonic's ds[i]); labels == Tonic's targets."""
    with h5py.File(h5) as f:
        recordings = [r.decode() for r in f["recording"][:]]
        labels = f["labels"][:]
        for k in samples:
            i = index_of[recordings[k]]
            events, target = ds[i]
            events = events.reshape(-1)          # ASLDVS: (N, 1) arrays from MATLAB columns
            want = integrate(events, T, "number", spec.sensor_size, downsample)
            assert np.array_equal(f["frames"][k], want), (k, recordings[k])
            label = spec.classes.index(target) if isinstance(target, str) else int(target)
            assert labels[k] == label
            assert f["n_events"][k] == events.size


def write_raw_source(raw: Path, name: str, archives=(), expected=None):
    write_source(raw, SourceRecord(name, tuple(archives), expected))
