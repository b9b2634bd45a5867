"""4. Reading frames for training: our HDF5 (``pipeline.train.data.H5Frames``) vs one compressed
``.npz`` per sample (SpikingJelly's frames cache: ``np.savez_compressed(frames=float64 frames)``,
read back by its ``load_npz_frames``), both through the same ``DataLoader``; and their size
on disk. Both hold the same samples: the corpus's first ones, integrated as in 3.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from pipeline.train.data import H5Frames
from pipeline.frames import integrate
from pipeline.frames.samples import cut
from pipeline.io.aedat3 import read_aedat3
from pipeline.core.store import COMPRESSION, FrameWriter

from .common import Section, Target, fmt_bytes, measure_interleaved, row

T, SENSOR = 20, (128, 128)
BATCH = 16
TARGET_SPEEDUP = 5.0


def _npz_frames(path) -> np.ndarray:
    """SpikingJelly's ``load_npz_frames`` (the same three lines), where it cannot be imported."""
    with np.load(path) as f:
        return f["frames"].astype(np.float32)


class NpzFrames(Dataset):
    """One ``.npz`` per sample, as SpikingJelly's frames datasets read them (numpy out; the
    DataLoader's collate makes the tensor)."""

    def __init__(self, files, labels, load):
        self.files, self.labels, self.load = list(files), list(labels), load

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.load(self.files[i]), self.labels[i]


def _samples(corpus, k: int):
    """The first ``k`` samples of the corpus (train split order): (frames, label, recording, row, n)."""
    out = []
    for unit in corpus.splits()["train"]:
        events = read_aedat3(unit.ref)
        pieces = cut(events, [(it.start, it.end) for it in unit.items])
        for piece, it in zip(pieces, unit.items):
            out.append((integrate(piece, T, "number", SENSOR), it.label, Path(unit.ref).name, it.row, piece.size))
            if len(out) == k:
                return out
    return out


def _epoch(ds, workers: int, seed: int = 0) -> int:
    n = 0
    g = torch.Generator().manual_seed(seed)
    for x, _ in DataLoader(ds, batch_size=BATCH, shuffle=True, generator=g, num_workers=workers):
        n += x.shape[0]
    return n


def run(args, peers, corpus) -> Section:
    sec = Section(f"4. Reading frames for training through a DataLoader (batch {BATCH}, "
                  f"{args.loader_workers} loader workers, shuffled)")
    sj = peers["spikingjelly"]
    load = sj.get("load_npz_frames")
    k = args.load_samples
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        samples = _samples(corpus, k)
        k = len(samples)
        h5 = tmp / "frames.h5"
        with FrameWriter(h5, k, samples[0][0].shape, {"dataset": "bench"}) as w:
            for frames, label, rec, r, n in samples:
                w.write(frames, label, rec, r, n)
        files = []
        for i, (frames, *_rest) in enumerate(samples):
            f = tmp / "npz" / f"{i:05d}.npz"
            f.parent.mkdir(exist_ok=True)
            np.savez_compressed(f, frames=frames.astype(np.float64))   # SpikingJelly's integrate gives float64
            files.append(f)
        labels = [s[1] for s in samples]
        h5_bytes = h5.stat().st_size
        npz_bytes = sum(f.stat().st_size for f in files)
        sec.inputs = {"samples": k, "frame_shape": "x".join(map(str, samples[0][0].shape)),
                      "hdf5_compression": ",".join(f"{a}={b}" for a, b in COMPRESSION.items()),
                      "hdf5_bytes": h5_bytes, "npz_bytes": npz_bytes}
        del samples

        ours = H5Frames(h5)
        theirs = NpzFrames(files, labels, load or _npz_frames)
        # the same batches, bit for bit
        a = next(iter(DataLoader(ours, batch_size=BATCH)))
        b = next(iter(DataLoader(theirs, batch_size=BATCH)))
        same = torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        assert same, "HDF5 and .npz batches differ"
        sec.checks["first batch identical (HDF5 vs .npz)"] = same

        m = measure_interleaved({"ours": lambda: _epoch(ours, args.loader_workers),
                                 "npz": lambda: _epoch(theirs, args.loader_workers)}, args.repeats)
        sec.rows.append(row("ours H5Frames (HDF5, one chunk per sample)", m["ours"][0], items=k, unit="samples",
                            note=f"{fmt_bytes(h5_bytes)} on disk ({fmt_bytes(h5_bytes / k)}/sample)",
                            bytes=h5_bytes))
        loader = "spikingjelly load_npz_frames" if load else "same code (spikingjelly not importable)"
        sec.rows.append(row("spikingjelly-style .npz per sample", m["npz"][0], items=k, unit="samples",
                            note=f"{fmt_bytes(npz_bytes)} on disk ({fmt_bytes(npz_bytes / k)}/sample); "
                                 f"loader: {loader}", bytes=npz_bytes))
        sec.notes.append("the two loaders run in turns, one epoch each per repeat")
        if load is None:
            sec.notes.append(sj.missing("load_npz_frames") + "; its loader's code was used instead")
    speedup = sec.rows[0]["rate_per_s"] / sec.rows[1]["rate_per_s"]
    sec.targets += [Target("HDF5 read speed vs .npz", speedup, TARGET_SPEEDUP, ">=", "x"),
                    Target("HDF5 size / .npz size", h5_bytes / npz_bytes, 1.0, "<", "",
                           "(at no more disk: must be below 1)")]
    # make "<" mean "no more than": equal sizes would also pass
    if h5_bytes == npz_bytes:
        sec.targets[-1].threshold = 1.0 + 1e-12
    return sec

