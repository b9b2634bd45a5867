"""What a family of datasets gives the frames driver (:mod:`pipeline.frames.driver`).

A family lists each split's samples in a fixed order, grouped into :class:`Unit` s (what one
read gives: a recording file, a file of images, one sample of Tonic's class), and reads a
unit in a worker process: its events (:data:`~pipeline.core.events.EVENT_DTYPE`, on the
unit's clock) or its images (uint8 ``(n, C, H, W)``). Everything else (sensor checks,
filters, integration or image encoding, the parallel ordered map, the file and its metadata,
the sample counts) is the driver's, once for every family.

What is stored of a sample is the family's to say, not a branch of the driver's: a family of
events (the default here) stores its events as the job's frames (the job,
:class:`pipeline.frames.driver.FrameJob`, knows the frames params and the kernels); a family
that stores something else (:class:`~.images.ImagesFamily`: images as they are) overrides
:meth:`Family.frames_settings`, :meth:`Family.check_job`, :meth:`Family.sample_shape`,
:meth:`Family.sample_dtype`, :meth:`Family.samples`, :meth:`Family.warm_up` and
:meth:`Family.summary_shape`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...core.events import empty_events
from ...params import FramesParams, Params
from ...datasets.spec import DatasetSpec
from ..filters import validate as validate_filters


class Item(NamedTuple):
    """One sample: the record every family lists and every frames file stores."""

    label: int                   # class index from 0
    recording: str               # stored as the sample's ``recording`` (its file, relative to data/raw)
    row: int = -1                # stored as ``label_row``: its row in its recording's labels / its index
    start: int | None = None     # window start on the unit's clock (µs, inclusive); None: the whole unit
    end: int | None = None       # window end (µs, exclusive)

    @property
    def whole_file(self) -> bool:
        return self.start is None

    def describe(self) -> str:
        """Which sample of its unit this is, for messages."""
        return "the whole file" if self.whole_file else f"the sample of labels row {self.row}"


@dataclass(frozen=True)
class Unit:
    """What one read gives: ``items`` in order. ``path`` names it in messages; ``ref`` is the
    family's own locator (a path, Tonic's index, a block of a file of images)."""

    path: str
    items: tuple[Item, ...]
    ref: object = None


def representation_meta(fp: FramesParams) -> dict:
    """``representation`` (and ``n_bits``) and ``overlap`` where not the defaults (counts, 0):
    what the frames file's metadata and its ``params`` record of them."""
    extra: dict = {}
    if fp.representation != "counts":
        extra["representation"] = fp.representation
        if fp.representation == "binarep":
            extra["n_bits"] = fp.n_bits
    if fp.overlap:
        extra["overlap"] = fp.overlap
    return extra


class Family:
    """One family's reading of one dataset (``spec``) unpacked in ``raw_dir``, with ``params``.

    Subclasses list the splits (:meth:`splits`, in the parent) and read units (:meth:`read`,
    in workers: the object is pickled to them). What the driver stores of a unit is the
    family's too (:meth:`samples` and the methods around it): by default its events as the
    job's frames."""

    what = "samples"                             # what a split holds, in messages ("images")
    unit = "sample"                              # one of them, in the progress bar ("image")

    def __init__(self, spec: DatasetSpec, raw_dir: str | Path, params: Params | None = None):
        self.spec, self.raw_dir, self.params = spec, Path(raw_dir), params

    def splits(self) -> dict[str, list[Unit]]:
        """``{"train": units, "test": units}``, each in the order the file stores them."""
        raise NotImplementedError

    def read(self, unit: Unit) -> np.ndarray:
        """The unit's events (EVENT_DTYPE, on its clock), or its images (uint8 (n, C, H, W))."""
        raise NotImplementedError

    def where(self, unit: Unit, item: Item) -> str:
        """One sample, for messages."""
        return f"{unit.path}: {item.describe()}"

    def meta(self) -> dict:
        """The family's own metadata for the frames file (after the common keys)."""
        return {}

    def param_meta(self) -> dict:
        """Params of the family's own that the frames depend on (recorded in ``params``)."""
        return {}

    def before_workers(self) -> None:
        """Called in the parent before worker processes start (drop handles that must not cross a fork)."""

    # ------------------------------------------------------------------ what is stored of a sample
    # By default a sample's events, as the job's frames; a family that stores anything else
    # (images) overrides all of these.

    def frames_settings(self, fp: FramesParams) -> tuple[dict, dict, dict]:
        """What ``fp`` (``params.frames``) makes of this family's frames: ``(the FrameJob's
        arguments after the family and T, the frames params the file's ``params`` records, its
        metadata keys)``. The filters are checked against the sensor here, before any work."""
        spec = self.spec
        steps = validate_filters(fp.filters, spec.sensor_size, "frames.filters")
        filters = [{name: args} for name, args in steps]
        job = dict(split_by=fp.split_by, sensor_size=tuple(spec.sensor_size), downsample=fp.downsample,
                   filters=tuple(filters), overlap=fp.overlap, representation=fp.representation, n_bits=fp.n_bits)
        frames_params = {"T": fp.T, "split_by": fp.split_by, "downsample": fp.downsample, "filters": filters}
        meta = dict(split_by=fp.split_by, downsample=fp.downsample, filters=json.dumps(filters),
                    sensor_height=spec.sensor_size[0], sensor_width=spec.sensor_size[1])
        # recorded only where not the default, so the files of the defaults keep their bytes
        # (a file without them holds counts, without overlap)
        extra = representation_meta(fp)
        frames_params |= extra
        meta |= extra
        if fp.representation != "counts":       # split_by bins counts only: not these frames' param
            del frames_params["split_by"], meta["split_by"]
        return job, frames_params, meta

    def check_job(self, job) -> None:
        """Refuse (ValueError) a job (:class:`pipeline.frames.driver.FrameJob`) whose frames
        params cannot make this family's samples."""
        job.check_frames()

    def sample_shape(self, job) -> tuple[int, ...]:
        """The shape of one stored sample: the job's frames ``(T, C, H', W')``."""
        return job.frames_shape

    def sample_dtype(self, job) -> np.dtype:
        """The dtype of the stored samples: the job's representation's."""
        return job.frames_dtype

    def samples(self, unit: Unit, job, encode) -> list[tuple[object, int]]:
        """In a worker: one unit's stored samples, ``(encode(sample), events in it)`` each in the
        unit's order: its events checked against the sensor, cut into its samples, filtered and
        turned into frames by the job."""
        return job.event_samples(unit, self.read(unit), encode)

    def warm_up(self, job) -> None:
        """In the parent before workers fork: start what each would otherwise start (Numba's
        typing context and the cached kernels, ~0.2 s of CPU), so that they inherit it."""
        job.frames(empty_events(0))

    def summary_shape(self, job) -> tuple[int, ...] | None:
        """The shape a split's summary line reports (an image's ``(C, H, W)``); None: it reports
        the events integrated instead."""
        return None

    def close(self) -> None:
        """Called when the stage ends, whatever happened."""
