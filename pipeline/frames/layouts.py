"""Where a dataset's samples are in its unpacked files, split by split, in a fixed order.

A split is a list of :class:`~pipeline.frames.samples.Recording` s, each with its
:class:`~pipeline.frames.samples.Sample` s. The order is deterministic (sorted), so the frames file
never depends on directory listing order.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..datasets import DatasetSpec
from .dvsgesture import labels_path, read_labels, read_trials
from ..core.errors import LayoutError
from .samples import Recording, Sample

_INDEX = re.compile(r"(\d+)$")


def split_recordings(root: str | Path, spec: DatasetSpec, split: str) -> list[Recording]:
    kind = spec.layout["kind"]
    if kind == "trials":
        return _trials(Path(root), spec, split)
    if kind == "files":
        return _files(Path(root), spec, split)
    raise LayoutError(f"dataset {spec.name}: unknown layout kind {kind!r}")


def _trials(root: Path, spec: DatasetSpec, split: str) -> list[Recording]:
    lists = sorted(root.rglob(f"trials_to_{split}.txt"))
    if len(lists) != 1:
        raise LayoutError(f"{root}: expected one trials_to_{split}.txt, found {len(lists)}")
    folder = lists[0].parent
    out = []
    for name in read_trials(lists[0]):
        path = folder / name
        if not path.is_file():
            raise LayoutError(f"{lists[0]} lists {name}, which is not in {folder}")
        rows = read_labels(labels_path(path), len(spec.classes))
        out.append(Recording(path, [Sample(int(c) - 1, int(a), int(b), r) for r, (c, a, b) in enumerate(rows)]))
    return out


def _files(root: Path, spec: DatasetSpec, split: str) -> list[Recording]:
    layout = spec.layout
    rule = layout["split"]
    keyed = []
    for path in root.rglob(layout["pattern"]):
        rel = path.relative_to(root)
        # root/<archive stem>/.../<folder>/<file>
        name = rel.parts[0] if layout["label"] == "archive" else path.parent.name
        if name not in spec.classes:
            raise LayoutError(f"{path}: cannot tell its class ({name!r} is not one of {list(spec.classes)})")
        label = spec.classes.index(name)
        if rule["by"] == "folder":
            if rule[split] not in rel.parts[:-1]:
                continue
            key = (label, str(rel))
        elif rule["by"] == "index":
            m = _INDEX.search(path.stem)
            if m is None:
                raise LayoutError(f"{path}: no sample index at the end of the file name")
            index = int(m.group(1))
            lo, hi = rule[split]
            if not lo <= index <= hi:
                continue
            key = (label, index, str(rel))          # numeric order: 9 < 10 < 100
        else:
            raise LayoutError(f"dataset {spec.name}: unknown split rule {rule!r}")
        keyed.append((key, path, label))
    keyed.sort(key=lambda k: k[0])
    return [Recording(path, [Sample(label)]) for _, path, label in keyed]
