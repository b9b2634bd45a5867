"""The frames stage's core: recordings -> samples -> T frames -> one HDF5 file per split.

Image datasets (``spec.kind == "images"``) are stored as they are by :mod:`pipeline.frames.images`.

Recordings are read, checked against the sensor, cut into samples, integrated
(:func:`pipeline.frames.integration.integrate`) and compressed in worker processes, in chunks; the
parent stores their compressed samples in the split's fixed order, so the file is
byte-identical whatever the worker count.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..datasets import DatasetSpec, get
from ..core.errors import EventFormatError, LayoutError
from ..core.events import empty_events
from .filters import apply as apply_filters
from .filters import validate as validate_filters
from .images import ImageSummary, make_images
from .integration import frame_shape, integrate
from ..io import READERS
from .layouts import split_recordings
from ..core.parallel import ordered_map
from ..core.params import Params
from .samples import Recording, Sample, sample_events
from ..core.source import read_source
from ..core.store import FrameWriter, encoder
from .transforms import TRANSFORMS

__all__ = ["FrameJob", "SplitSummary", "build_split", "frame_shape", "integrate", "make_frames"]


@dataclass(frozen=True)
class FrameJob:
    """What a worker needs to turn recordings into stored samples."""

    T: int
    split_by: str
    sensor_size: tuple[int, int]
    downsample: int
    reader: str = "aedat3"
    reader_args: dict = field(default_factory=dict)
    transform: str | None = None
    filters: tuple = ()              # validated [{name: arguments}], applied to each sample (pipeline.frames.filters)


@dataclass
class SplitSummary:
    samples: int
    events: int
    seconds: float

    def line(self, name: str) -> str:
        rate = self.events / self.seconds if self.seconds > 0 else float("nan")
        return (f"frames[{name}]: {self.samples} samples, {self.events:,} events in {self.seconds:.1f} s "
                f"({rate / 1e6:.1f} M events/s)")


def check_events(events: np.ndarray, sensor_size: tuple[int, int], recording: Recording) -> None:
    """Refuse a recording with an event outside the sensor or a polarity other than 0/1, naming
    the file, the event's index in it and the sample it falls in."""
    H, W = sensor_size
    x, y, p = events["x"], events["y"], events["p"]
    if not events.size or (x.max() < W and y.max() < H and p.max() <= 1):
        return
    k = int(np.argmax((x >= W) | (y >= H) | (p > 1)))
    e = events[k]
    what = (f"x = {e['x']} is outside the sensor width {W}" if e["x"] >= W else
            f"y = {e['y']} is outside the sensor height {H}" if e["y"] >= H else
            f"polarity p = {e['p']} is not 0 or 1")
    t = int(e["t"])
    inside = [s for s in recording.samples if s.whole_file or s.start <= t < s.end]
    where = f"in {inside[0].describe()}" if inside else "in no sample's window"
    raise EventFormatError(f"{recording.path}: event {k} (t = {t} us, {where}): {what}; the file is "
                           "corrupt or not of this dataset")


def filter_sample(piece: np.ndarray, sample: Sample, job: FrameJob) -> np.ndarray:
    """A sample's events after ``job.filters``, on the sample's own clock: a sample cut from a
    recording has its window start subtracted first (so ``crop_time`` bounds count from the
    sample's start); a whole-file sample keeps the file's timestamps. Frames do not depend on
    the clock's origin."""
    if not sample.whole_file:
        piece = piece.copy()
        piece["t"] -= sample.start
    return apply_filters(piece, list(job.filters), job.sensor_size)


def _chunk_samples(args):
    """Worker: every sample of a chunk of recordings as (chunk, n_events) lists, ``chunk``
    being the sample's frames compressed as the file stores them."""
    chunk, job = args
    read = READERS[job.reader]
    transform = TRANSFORMS[job.transform] if job.transform else None
    encode = encoder(frame_shape(job.T, job.sensor_size, job.downsample)).encode
    out = []
    for recording in chunk:
        events = read(recording.path, **job.reader_args)
        if transform is not None:
            events = transform(events, recording.path)
        check_events(events, job.sensor_size, recording)
        res = []
        for sample, piece in zip(recording.samples, sample_events(events, recording.samples)):
            if job.filters:
                piece = filter_sample(piece, sample, job)
            try:
                frames = integrate(piece, job.T, job.split_by, job.sensor_size, job.downsample)
            except ValueError as e:      # checked above: only unsorted timestamps (split_by: time) remain
                raise EventFormatError(f"{recording.path}: {sample.describe()}: {e}") from None
            res.append((encode(frames), piece.size))
        del events
        out.append(res)
    return out


def _chunks(recordings, size):
    return [recordings[i:i + size] for i in range(0, len(recordings), size)]


def build_split(recordings: list[Recording], job: FrameJob, out: str | Path, attrs: dict, workers: int = 0,
                expected: int | None = None, desc: str = "frames", root: str | Path | None = None) -> SplitSummary:
    """Write every sample of ``recordings`` (from :mod:`pipeline.frames.layouts`) to the HDF5 file ``out``."""
    n = sum(len(r.samples) for r in recordings)
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
    shape = frame_shape(job.T, job.sensor_size, job.downsample)
    jobs = [(c, job) for c in chunks]
    if workers > 1:
        # start Numba here (~0.2 s of CPU: its typing context, the cached kernels) so that the
        # forked workers inherit it instead of each paying it again
        integrate(empty_events(0), job.T, job.split_by, job.sensor_size, job.downsample)
    with FrameWriter(out, n, shape, attrs) as writer, tqdm(total=n, desc=desc, unit="sample") as bar, \
            ordered_map(_chunk_samples, jobs, workers) as results:
        for chunk, chunk_result in zip(chunks, results):
            for recording, stored in zip(chunk, chunk_result):
                path = recording.path
                name = path.relative_to(root).as_posix() if root is not None else path.name
                for sample, (encoded, n_events) in zip(recording.samples, stored):
                    writer.write_encoded(encoded, sample.label, name, sample.row, n_events)
                    events += n_events
                    bar.update()
    return SplitSummary(n, events, time.perf_counter() - started)


def make_frames(params: Params, raw_dir: str | Path, out_dir: str | Path,
                spec: DatasetSpec | None = None) -> dict[str, SplitSummary | ImageSummary]:
    """Both splits of the unpacked dataset in ``raw_dir`` -> ``out_dir/{train,test}.h5``."""
    source = read_source(raw_dir)
    if source.dataset != params.dataset:
        raise LayoutError(f"{raw_dir} holds {source.dataset!r} but params.yaml asks for "
                          f"{params.dataset!r}: run the download stage (dvc repro) first")
    spec = spec or get(source.dataset)
    if spec.kind == "images":
        return make_images(params, raw_dir, out_dir, spec, source)
    if spec.source == "tonic":                 # Tonic's class parses the files
        from .tonic import make_tonic_frames
        return make_tonic_frames(params, raw_dir, out_dir, spec, source)
    fp = params.frames
    steps = validate_filters(fp.filters, spec.sensor_size, "frames.filters")    # before any work
    filters = [{name: args} for name, args in steps]
    job = FrameJob(fp.T, fp.split_by, spec.sensor_size, fp.downsample, spec.reader,
                   dict(spec.reader_args), spec.transform, tuple(filters))
    attrs = dict(dataset=spec.name, split_by=fp.split_by, downsample=fp.downsample, filters=json.dumps(filters),
                 sensor_height=spec.sensor_size[0], sensor_width=spec.sensor_size[1],
                 classes=list(spec.classes), source_archives=[a.name for a in source.archives],
                 source_md5=[a.md5 for a in source.archives],
                 # every param the frames depend on (frames.workers cannot change them)
                 params=json.dumps({"dataset": spec.name, "frames": {"T": fp.T, "split_by": fp.split_by,
                                                                     "downsample": fp.downsample,
                                                                     "filters": filters}}, sort_keys=True))
    out = {}
    for split in ("train", "test"):
        expected = (source.expected or {}).get(split)
        recordings = split_recordings(raw_dir, spec, split)
        s = out[split] = build_split(recordings, job, Path(out_dir) / f"{split}.h5", dict(attrs, split=split),
                                     fp.workers, expected, desc=f"frames[{split}]", root=raw_dir)
        print(s.line(split))
    return out
