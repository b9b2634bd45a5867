"""The frames stage: the dataset unpacked in ``data/raw`` -> ``data/frames/{train,test}.h5``.

The dataset's family (:mod:`pipeline.frames.families`) lists each split's samples; the
driver (:mod:`pipeline.frames.driver`) does the rest, for every family alike: the filters
checked against the sensor before any work, the sample counts checked against the
download's record, the samples integrated (or images stored) in worker processes, and the
metadata every frames file carries (the dataset, its classes and source archives, every
param the frames depend on).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.errors import LayoutError
from ..core.params import FramesParams, Params
from ..core.source import read_source
from ..datasets import DatasetSpec, get
from .driver import FrameJob, SplitSummary, check_count, write_split
from .families import family_for
from .filters import validate as validate_filters

__all__ = ["make_frames", "representation_meta"]


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


def make_frames(params: Params, raw_dir: str | Path, out_dir: str | Path,
                spec: DatasetSpec | None = None) -> dict[str, SplitSummary]:
    """Both splits of the unpacked dataset in ``raw_dir`` -> ``out_dir/{train,test}.h5``."""
    source = read_source(raw_dir)
    if source.dataset != params.dataset:
        raise LayoutError(f"{raw_dir} holds {source.dataset!r} but params.yaml asks for "
                          f"{params.dataset!r}: run the download stage (dvc repro) first")
    spec = spec or get(source.dataset)
    fp = params.frames
    family = family_for(spec, raw_dir, params)
    try:
        meta = {"dataset": spec.name}
        if family.stores_images:
            job = FrameJob(family, fp.T)
            frames_params = {"T": fp.T}    # split_by, representation, downsample, filters do not apply to images
        else:
            steps = validate_filters(fp.filters, spec.sensor_size, "frames.filters")    # before any work
            filters = [{name: args} for name, args in steps]
            job = FrameJob(family, fp.T, fp.split_by, tuple(spec.sensor_size), fp.downsample, tuple(filters),
                           fp.overlap, fp.representation, fp.n_bits)
            frames_params = {"T": fp.T, "split_by": fp.split_by, "downsample": fp.downsample, "filters": filters}
            meta |= dict(split_by=fp.split_by, downsample=fp.downsample, filters=json.dumps(filters),
                         sensor_height=spec.sensor_size[0], sensor_width=spec.sensor_size[1])
            # recorded only where not the default, so the files of the defaults keep their bytes
            # (a file without them holds counts, without overlap)
            extra = representation_meta(fp)
            frames_params |= extra
            meta |= extra
            if fp.representation != "counts":       # split_by bins counts only: not these frames' param
                del frames_params["split_by"], meta["split_by"]
        splits = family.splits()
        meta |= dict(classes=list(spec.classes), source_archives=[a.name for a in source.archives],
                     source_md5=[a.md5 for a in source.archives], **family.meta())
        # every param the frames depend on (frames.workers cannot change them)
        meta["params"] = json.dumps({"dataset": spec.name, "frames": {**frames_params, **family.param_meta()}},
                                    sort_keys=True)
        expected = source.expected or {}
        for split in ("train", "test"):                 # every count before anything is written
            check_count(splits[split], expected.get(split), family.what, f"frames[{split}]")
        out = {}
        for split in ("train", "test"):
            s = out[split] = write_split(splits[split], job, Path(out_dir) / f"{split}.h5", dict(meta, split=split),
                                         fp.workers, desc=f"frames[{split}]")
            print(s.line(split))
        return out
    finally:
        family.close()
