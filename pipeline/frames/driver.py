"""The frames driver: one split's units (from a family) -> one HDF5 file, for every family.

Units are read, checked and turned into stored samples in worker processes, in chunks
(:func:`~pipeline.core.parallel.ordered_map`); the parent stores them in the split's fixed
order, so the file is byte-identical whatever the worker count. For event datasets each
unit's events are checked against the sensor (naming the file, the event and the sample it
falls in), cut into its samples, filtered (``frames.filters``, on each sample's own clock),
turned into T frames of ``frames.representation`` (counts:
:func:`~pipeline.frames.integration.integrate`; the voxel grid and Bina-Rep:
:mod:`~pipeline.frames.representations`) and compressed; an image dataset's images are
compressed as they are. Which of the two (and the stored shape and dtype) is the family's to
say (:meth:`pipeline.frames.families.base.Family.samples` and the methods beside it): the
driver has one path for all. The sample count is checked against the
download's record before anything is written.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..core.errors import EventFormatError, FilterError, LayoutError
from ..core.events import FRAME_DTYPE
from ..core.frameparams import frame_shape
from ..params import frames_problems
from ..core.parallel import ordered_map
from ..core.store import FrameWriter, encoder
from .columns import OK, describe_bad, find_bad
from .families.base import Family, Item, Unit  # noqa: F401 - Item: the record written
from .filters import apply as apply_filters
from .integration import integrate
from .representations import binarep_codes, voxel_grid
from .samples import sample_events

#: The stored dtype of each representation: counts as uint32, the voxel grid's float32 sums,
#: Bina-Rep's n_bits-bit codes as uint8 (Tonic's values times 2**n_bits - 1, exactly)
REPRESENTATION_DTYPES = {"counts": np.dtype(FRAME_DTYPE), "voxel_grid": np.dtype(np.float32),
                         "binarep": np.dtype(np.uint8)}


@dataclass(frozen=True)
class FrameJob:
    """What a worker needs to turn a family's units into stored samples: the family, and the
    params of event frames (which a family that stores images ignores)."""

    family: Family
    T: int
    split_by: str = "number"
    sensor_size: tuple[int, int] = (1, 1)
    downsample: int = 1
    filters: tuple = ()              # validated [{name: arguments}], applied to each sample (pipeline.frames.filters)
    overlap: float = 0.0             # counts with split_by time_bins / event_bins only
    representation: str = "counts"   # counts | voxel_grid | binarep (pipeline.frames.representations)
    n_bits: int | None = None        # binarep only

    def __post_init__(self):
        self.family.check_job(self)

    def check_frames(self) -> None:
        """A ValueError for frames params that make no frames (an event family's :meth:`~Family.check_job`)."""
        if self.representation not in REPRESENTATION_DTYPES:
            raise ValueError(f"frames: unknown representation {self.representation!r}; "
                             f"one of {', '.join(REPRESENTATION_DTYPES)}")
        problems = frames_problems(self.split_by, self.overlap, self.representation, self.n_bits)
        if problems:
            raise ValueError("; ".join(f"{k}: {m}" for k, m in problems))

    @property
    def shape(self) -> tuple[int, ...]:
        """One stored sample's shape, as the family stores it."""
        return self.family.sample_shape(self)

    @property
    def dtype(self) -> np.dtype:
        """The stored samples' dtype, as the family stores them."""
        return self.family.sample_dtype(self)

    @property
    def frames_shape(self) -> tuple[int, ...]:
        """One sample's frames ``(T, C, H', W')``."""
        return frame_shape(self.T, self.sensor_size, self.downsample, self.representation)

    @property
    def frames_dtype(self) -> np.dtype:
        return REPRESENTATION_DTYPES[self.representation]

    def frames(self, events: np.ndarray) -> np.ndarray:
        """One sample's frames (:attr:`frames_shape`, :attr:`frames_dtype`); the kernels' ValueError for bad events."""
        if self.representation == "voxel_grid":
            return voxel_grid(events, self.T, self.sensor_size, self.downsample)
        if self.representation == "binarep":
            return binarep_codes(events, self.T, self.n_bits, self.sensor_size, self.downsample)
        return integrate(events, self.T, self.split_by, self.sensor_size, self.downsample, self.overlap)

    def event_samples(self, unit: Unit, events: np.ndarray, encode) -> list[tuple[tuple[int, bytes], int]]:
        """A unit's events as its stored samples (:func:`event_samples`)."""
        return event_samples(unit, events, self, encode)


@dataclass
class SplitSummary:
    samples: int
    events: int
    seconds: float
    images: tuple[int, int, int] | None = None    # (C, H, W) of an image dataset

    def line(self, name: str) -> str:
        if self.images is not None:
            rate = self.samples / self.seconds if self.seconds > 0 else float("nan")
            C, H, W = self.images
            return (f"frames[{name}]: {self.samples} images of {C}x{H}x{W} uint8 in {self.seconds:.1f} s "
                    f"({rate:,.0f} images/s)")
        rate = self.events / self.seconds if self.seconds > 0 else float("nan")
        return (f"frames[{name}]: {self.samples} samples, {self.events:,} events in {self.seconds:.1f} s "
                f"({rate / 1e6:.1f} M events/s)")


def check_events(events: np.ndarray, sensor_size: tuple[int, int], unit: Unit) -> None:
    """Refuse a unit with an event outside the sensor or a polarity other than 0/1 (the check of
    :func:`~pipeline.frames.columns.find_bad`), naming the file, the event's index in it and the
    sample it falls in."""
    H, W = sensor_size
    _, err, k = find_bad("frames", events, H, W)
    if err == OK:
        return
    what = describe_bad(events, err, k, H, W)
    t = int(events["t"][k])
    inside = [it for it in unit.items if it.whole_file or it.start <= t < it.end]
    sample = f"in {inside[0].describe()}" if inside else "in no sample's window"
    raise EventFormatError(f"{unit.path}: event {k} (t = {t} us, {sample}): {what}; the file is "
                           "corrupt or not of this dataset")


def filter_sample(piece: np.ndarray, item: Item, job: FrameJob) -> np.ndarray:
    """A sample's events after ``job.filters``, on the sample's own clock: a sample cut from a
    recording has its window start subtracted first (so ``crop_time`` bounds count from the
    sample's start); a whole-file sample keeps the file's timestamps. Frames do not depend on
    the clock's origin."""
    if not item.whole_file:
        piece = piece.copy()
        piece["t"] -= item.start
    return apply_filters(piece, list(job.filters), job.sensor_size)


def unit_samples(unit: Unit, job: FrameJob, encode) -> list[tuple[tuple[int, bytes], int]]:
    """One unit's samples as ``(compressed sample, events integrated)``, as its family stores them."""
    return job.family.samples(unit, job, encode)


def event_samples(unit: Unit, events: np.ndarray, job: FrameJob, encode) -> list[tuple[tuple[int, bytes], int]]:
    """One unit's events as its samples' ``(compressed frames, events integrated)``: checked
    against the sensor, cut into the samples, filtered, turned into the job's frames."""
    family = job.family
    check_events(events, job.sensor_size, unit)
    out = []
    for item, piece in zip(unit.items, sample_events(events, unit.items)):
        if job.filters:
            try:
                piece = filter_sample(piece, item, job)
            except FilterError as e:
                raise FilterError(f"{family.where(unit, item)}: {e}") from None
        try:
            frames = job.frames(piece)
        except ValueError as e:      # checked above: only unsorted timestamps (time, time_bins, voxel_grid) remain
            raise EventFormatError(f"{family.where(unit, item)}: {e}") from None
        out.append((encode(frames), int(piece.size)))
    return out


def _chunk(args):
    """Worker: every sample of a chunk of units, as lists per unit."""
    units, job = args
    encode = encoder(job.shape, job.dtype).encode
    return [unit_samples(unit, job, encode) for unit in units]


def check_count(units: list[Unit], expected: int | None, what: str, desc: str) -> int:
    """The number of samples in ``units``; a LayoutError when the download recorded another."""
    n = sum(len(u.items) for u in units)
    if expected is not None and n != expected:
        raise LayoutError(f"{desc}: found {n} {what}, expected {expected}; the download is incomplete "
                          "or not the official one (rerun the download stage: dvc repro --force download)")
    return n


def write_split(units: list[Unit], job: FrameJob, out: str | Path, meta: dict, workers: int = 0,
                expected: int | None = None, desc: str = "frames") -> SplitSummary:
    """Every sample of ``units`` (a family's split, in order) into the HDF5 file ``out``."""
    n = check_count(units, expected, job.family.what, desc)
    workers = workers or os.cpu_count() or 1
    # units of several samples (a DvsGesture recording: ~11, a block of images) go to the
    # workers one by one; units of one sample each travel in chunks of up to 64, small enough
    # to keep every worker busy
    per_chunk = 1 if n > len(units) else max(1, min(64, len(units) // (8 * workers)))
    chunks = [units[i:i + per_chunk] for i in range(0, len(units), per_chunk)]
    workers = min(workers, max(len(chunks), 1))
    if workers > 1:
        # start what every worker would (Numba, for event frames) here, so that the forked
        # workers inherit it instead of each paying it again
        job.family.warm_up(job)
        job.family.before_workers()
    started, events = time.perf_counter(), 0
    with FrameWriter(out, n, job.shape, meta, job.dtype) as writer, \
            tqdm(total=n, desc=desc, unit=job.family.unit) as bar, \
            ordered_map(_chunk, [(c, job) for c in chunks], workers) as results:
        for chunk, stored in zip(chunks, results):
            for unit, samples in zip(chunk, stored):
                for item, (encoded, n_events) in zip(unit.items, samples):
                    writer.write_encoded(encoded, item.label, item.recording, item.row, n_events)
                    events += n_events
                    bar.update()
    return SplitSummary(n, events, time.perf_counter() - started, job.family.summary_shape(job))
