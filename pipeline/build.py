"""The frames stage's core: DvsGesture-layout recordings -> samples -> T frames -> HDF5.

Recordings are read and integrated in worker processes; the parent writes their samples
in trial-list order, so the file is byte-identical whatever the worker count.
"""

from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .dvsgesture import LayoutError, cut, labels_path, read_labels, read_trials
from .frames import frame_shape, integrate
from .io import read_aedat3
from .store import FrameWriter


@dataclass(frozen=True)
class FrameSpec:
    T: int
    split_by: str
    sensor_size: tuple[int, int]
    downsample: int
    n_classes: int


@dataclass
class SplitSummary:
    samples: int
    events: int
    seconds: float

    def line(self, name: str) -> str:
        rate = self.events / self.seconds if self.seconds > 0 else float("nan")
        return (f"frames[{name}]: {self.samples} samples, {self.events:,} events in {self.seconds:.1f} s "
                f"({rate / 1e6:.1f} M events/s)")


def _recording_samples(args):
    """Worker: every sample of one recording as (frames, label, row, n_events)."""
    path, spec = args
    events = read_aedat3(path)
    rows = read_labels(labels_path(path), spec.n_classes)
    out = []
    for r, (sample, cls) in enumerate(zip(cut(events, rows), rows[:, 0])):
        frames = integrate(sample, spec.T, spec.split_by, spec.sensor_size, spec.downsample)
        out.append((frames, int(cls) - 1, r, sample.size))
    return out


def _ordered(pool, jobs, window):
    """``pool.map`` in submission order, with at most ``window`` recordings in flight (bounded memory)."""
    pending = deque()
    for job in jobs:
        pending.append(pool.submit(_recording_samples, job))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def split_recordings(root: str | Path, split: str) -> list[Path]:
    """The recordings of ``split`` ("train"/"test") listed in ``trials_to_<split>.txt``."""
    root = Path(root)
    paths = [root / name for name in read_trials(root / f"trials_to_{split}.txt")]
    for p in paths:
        if not p.is_file():
            raise LayoutError(f"{root / f'trials_to_{split}.txt'} lists {p.name}, which is not in {root}")
    return paths


def build_split(recordings: list[Path], spec: FrameSpec, out: str | Path, attrs: dict,
                workers: int = 0, expected: int | None = None, desc: str = "frames") -> SplitSummary:
    """Write every labelled sample of ``recordings`` to the HDF5 file ``out``."""
    n = sum(len(read_labels(labels_path(p), spec.n_classes)) for p in recordings)
    if expected is not None and n != expected:
        raise LayoutError(f"{desc}: the labels files list {n} samples, expected {expected}; "
                          "the archive is incomplete or not the official one")
    workers = min(workers or os.cpu_count() or 1, max(len(recordings), 1))
    started = time.perf_counter()
    events = 0
    shape = frame_shape(spec.T, spec.sensor_size, spec.downsample)
    jobs = [(p, spec) for p in recordings]
    with FrameWriter(out, n, shape, attrs) as writer, tqdm(total=n, desc=desc, unit="sample") as bar:
        pool = ProcessPoolExecutor(workers) if workers > 1 else None
        results = map(_recording_samples, jobs) if pool is None else _ordered(pool, jobs, 2 * workers)
        try:
            for path, samples in zip(recordings, results):
                for frames, label, row, n_events in samples:
                    writer.write(frames, label, path.name, row, n_events)
                    events += n_events
                    bar.update()
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    return SplitSummary(n, events, time.perf_counter() - started)



def make_frames(params, raw_dir: str | Path, out_dir: str | Path) -> dict[str, SplitSummary]:
    """Both splits of the unpacked dataset in ``raw_dir`` -> ``out_dir/{train,test}.h5``."""
    from .acquire import read_source  # the download stage's record of what was unpacked
    from .datasets import get

    source = read_source(raw_dir)
    spec = get(source["dataset"])
    if source["dataset"] != params.dataset:
        raise LayoutError(f"{raw_dir} holds {source['dataset']!r} but params.yaml asks for "
                          f"{params.dataset!r}: run the download stage (dvc repro) first")
    fp = params.frames
    fspec = FrameSpec(fp.T, fp.split_by, spec.sensor_size, fp.downsample, len(spec.classes))
    attrs = dict(dataset=spec.name, split_by=fp.split_by, downsample=fp.downsample,
                 sensor_height=spec.sensor_size[0], sensor_width=spec.sensor_size[1],
                 classes=list(spec.classes), source_archive=source["archive"], source_md5=source["md5"])
    root = Path(raw_dir) / "DvsGesture"
    out = {}
    for split in ("train", "test"):
        expected = (source.get("expected") or {}).get(split)
        s = out[split] = build_split(split_recordings(root, split), fspec, Path(out_dir) / f"{split}.h5",
                                     dict(attrs, split=split), fp.workers, expected, desc=f"frames[{split}]")
        print(s.line(split))
    return out
