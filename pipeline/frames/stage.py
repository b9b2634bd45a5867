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
from ..params import Params
from ..core.sourcerecord import read_source
from ..datasets import DatasetSpec, get
from .driver import FrameJob, SplitSummary, check_count, write_split
from .families import family_for
from .families.base import representation_meta

__all__ = ["make_frames", "representation_meta"]


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
        # what the family makes of params.frames (the filters checked against the sensor before any work)
        job_args, frames_params, frames_meta = family.frames_settings(fp)
        job = FrameJob(family, fp.T, **job_args)
        meta = {"dataset": spec.name, **frames_meta}
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
