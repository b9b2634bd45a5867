"""What a frames file is: its provenance and contents, for ``python -m pipeline info``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.frameparams import binarep_scale, is_n_bits, representation
from ..core.store import H5_ERRORS, damaged, open_frames, read_field, read_meta


def describe(path: str | Path) -> str:
    """A human-readable summary of an HDF5 frames file, event frames or images (params, source
    archives and md5s, counts)."""
    path = Path(path)
    with open_frames(path) as f:
        a = read_meta(f)
        try:
            shape, dtype = f["frames"].shape, f["frames"].dtype
        except H5_ERRORS as e:
            raise damaged(path, "the frames dataset", e) from None
        labels = read_field(f, "labels")
        n_events = read_field(f, "n_events")
    classes = a.get("classes") or []
    counts = np.bincount(labels, minlength=len(classes)) if labels.size else np.zeros(len(classes), int)
    params = json.loads(a["params"]) if "params" in a else {}
    lines = [
        f"file:        {path} ({path.stat().st_size / 1e6:.1f} MB)",
        f"dataset:     {a.get('dataset')} ({a.get('split', '?')} split), made by dvs-pipeline {a.get('version')}",
        f"params:      {json.dumps(params, sort_keys=True)}",
    ]
    if a.get("image"):
        lines.append(f"images:      {shape[0]} x {shape[1:]} {dtype} (channel, height, width), pixels 0..255; "
                     f"the network sees each T = {a.get('T')} times")
    else:
        kind = representation(a)                # absent: counts (files before issue 26)
        channel = "signed polarity" if kind == "voxel_grid" else "polarity"
        lines += [f"frames:      {shape[0]} samples x {shape[1:]} {dtype} (T, {channel}, height, width)",
                  "values:      " + _representation(a, kind),
                  (f"events:      {int(n_events.sum()):,} in all, "
                   f"{int(n_events.mean()) if n_events.size else 0:,} per sample")]
        filters = json.loads(a["filters"]) if "filters" in a else []
        lines.append("filters:     " + (" -> ".join(
            f"{name}({', '.join(f'{k}={v}' for k, v in args.items() if v is not None)})"
            for step in filters for name, args in step.items()) if filters else "none")
                     + ("" if filters else " (events integrated as read)"))
    for name, md5 in zip(a.get("source_archives", []), a.get("source_md5", [])):
        lines.append(f"source:      {name} md5 {md5}")
    lines.append("classes:     " + ", ".join(f"{c} {n}" for c, n in zip(classes, counts.tolist())))
    return "\n".join(lines)


def _representation(a: dict, representation) -> str:
    """What each frame holds and how the events were cut into frames, from the metadata."""
    split_by, overlap = a.get("split_by", "?"), a.get("overlap", 0.0)
    if representation == "counts":
        return f"representation counts, split_by {split_by}, overlap {overlap}"
    if representation == "voxel_grid":
        return ("representation voxel_grid (Tonic's ToVoxelGrid: T time bins, float32 sums; split_by and "
                "overlap do not apply)")
    if representation == "binarep":
        n_bits = a.get("n_bits")
        known = is_n_bits(n_bits)
        scale = int(binarep_scale(n_bits)) if known else "2**n_bits - 1"
        return (f"representation binarep, n_bits {n_bits if known else '?'} (Tonic's ToBinaRep of T x n_bits "
                f"event bins, stored as codes: divide by {scale} for Tonic's values; split_by and overlap do "
                "not apply)")
    return f"representation {str(representation)[:60]}"
