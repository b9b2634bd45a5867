"""The frames stage's core: recordings -> samples -> T frames -> one HDF5 file per split.

Recordings are read, integrated and compressed in worker processes, in chunks; the parent
stores their compressed samples in the split's fixed order, so the file is byte-identical
whatever the worker count.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from .dvsgesture import LayoutError, cut
from .events import empty_events
from .frames import frame_shape, integrate
from .readers import READERS
from .store import ChunkEncoder, FrameWriter
from .transforms import TRANSFORMS


@dataclass(frozen=True)
class FrameSpec:
    T: int
    split_by: str
    sensor_size: tuple[int, int]
    downsample: int
    reader: str = "aedat3"
    reader_args: dict = field(default_factory=dict)
    transform: str | None = None


@dataclass
class SplitSummary:
    samples: int
    events: int
    seconds: float

    def line(self, name: str) -> str:
        rate = self.events / self.seconds if self.seconds > 0 else float("nan")
        return (f"frames[{name}]: {self.samples} samples, {self.events:,} events in {self.seconds:.1f} s "
                f"({rate / 1e6:.1f} M events/s)")


_ENCODERS: dict[tuple[int, ...], ChunkEncoder] = {}


def _encoder(shape: tuple[int, ...]) -> ChunkEncoder:
    """This process's chunk encoder for frames of ``shape`` (one per worker, reused)."""
    if shape not in _ENCODERS:
        _ENCODERS[shape] = ChunkEncoder(shape)
    return _ENCODERS[shape]


def _chunk_samples(args):
    """Worker: every sample of a chunk of recordings as (chunk, label, row, n_events) lists,
    ``chunk`` being the sample's frames compressed as the file stores them."""
    chunk, spec = args
    read = READERS[spec.reader]
    transform = TRANSFORMS[spec.transform] if spec.transform else None
    encode = _encoder(frame_shape(spec.T, spec.sensor_size, spec.downsample)).encode
    out = []
    for path, samples in chunk:
        events = read(path, **spec.reader_args)
        if transform is not None:
            events = transform(events, path)
        if samples[0][1] is None:            # the whole file is one sample
            pieces = [events]
        else:
            pieces = cut(events, [(s[1], s[2]) for s in samples])
        res = []
        for piece, (label, _, _, row) in zip(pieces, samples):
            frames = integrate(piece, spec.T, spec.split_by, spec.sensor_size, spec.downsample)
            res.append((encode(frames), label, row, piece.size))
        del events, pieces
        out.append(res)
    return out


def _ordered(pool, jobs, window):
    """``pool.map`` in submission order, with at most ``window`` chunks in flight (bounded memory)."""
    pending = deque()
    for job in jobs:
        pending.append(pool.submit(_chunk_samples, job))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _chunks(recordings, size):
    return [recordings[i:i + size] for i in range(0, len(recordings), size)]


def build_split(recordings, spec: FrameSpec, out: str | Path, attrs: dict, workers: int = 0,
                expected: int | None = None, desc: str = "frames", root: str | Path | None = None) -> SplitSummary:
    """Write every sample of ``recordings`` (from :mod:`pipeline.layouts`) to the HDF5 file ``out``."""
    n = sum(len(samples) for _, samples in recordings)
    if expected is not None and n != expected:
        raise LayoutError(f"{desc}: found {n} samples, expected {expected}; "
                          "the download is incomplete or not the official one")
    workers = workers or os.cpu_count() or 1
    # recordings of several samples (DvsGesture: ~11) go to the workers one by one; files of
    # one sample each travel in chunks of up to 64, small enough to keep every worker busy
    if n > len(recordings):
        per_chunk = 1
    else:
        per_chunk = max(1, min(64, len(recordings) // (8 * workers)))
    chunks = _chunks(recordings, per_chunk)
    workers = min(workers, max(len(chunks), 1))
    started = time.perf_counter()
    events = 0
    shape = frame_shape(spec.T, spec.sensor_size, spec.downsample)
    jobs = [(c, spec) for c in chunks]
    if workers > 1:
        # start Numba here (~0.2 s of CPU: its typing context, the cached kernels) so that the
        # forked workers inherit it instead of each paying it again
        integrate(empty_events(0), spec.T, spec.split_by, spec.sensor_size, spec.downsample)
    with FrameWriter(out, n, shape, attrs) as writer, tqdm(total=n, desc=desc, unit="sample") as bar:
        pool = ProcessPoolExecutor(workers) if workers > 1 else None
        results = map(_chunk_samples, jobs) if pool is None else _ordered(pool, jobs, 4 * workers)
        try:
            for chunk, chunk_result in zip(chunks, results):
                for (path, _), samples in zip(chunk, chunk_result):
                    name = path.relative_to(root).as_posix() if root is not None else path.name
                    for encoded, label, row, n_events in samples:
                        writer.write_encoded(encoded, label, name, row, n_events)
                        events += n_events
                        bar.update()
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    return SplitSummary(n, events, time.perf_counter() - started)


def make_frames(params, raw_dir: str | Path, out_dir: str | Path, spec=None) -> dict[str, SplitSummary]:
    """Both splits of the unpacked dataset in ``raw_dir`` -> ``out_dir/{train,test}.h5``."""
    from .acquire import read_source  # the download stage's record of what was unpacked
    from .datasets import get
    from .layouts import split_recordings

    source = read_source(raw_dir)
    spec = spec or get(source["dataset"])
    if source["dataset"] != params.dataset:
        raise LayoutError(f"{raw_dir} holds {source['dataset']!r} but params.yaml asks for "
                          f"{params.dataset!r}: run the download stage (dvc repro) first")
    fp = params.frames
    fspec = FrameSpec(fp.T, fp.split_by, spec.sensor_size, fp.downsample, spec.reader,
                      dict(spec.reader_args), spec.transform)
    attrs = dict(dataset=spec.name, split_by=fp.split_by, downsample=fp.downsample,
                 sensor_height=spec.sensor_size[0], sensor_width=spec.sensor_size[1],
                 classes=list(spec.classes), source_archives=[a["name"] for a in source["archives"]],
                 source_md5=[a["md5"] for a in source["archives"]],
                 # every param the frames depend on (frames.workers cannot change them)
                 params=json.dumps({"dataset": spec.name, "frames": {"T": fp.T, "split_by": fp.split_by,
                                                                     "downsample": fp.downsample}}, sort_keys=True))
    out = {}
    for split in ("train", "test"):
        expected = (source.get("expected") or {}).get(split)
        recordings = split_recordings(raw_dir, spec, split)
        s = out[split] = build_split(recordings, fspec, Path(out_dir) / f"{split}.h5", dict(attrs, split=split),
                                     fp.workers, expected, desc=f"frames[{split}]", root=raw_dir)
        print(s.line(split))
    return out
