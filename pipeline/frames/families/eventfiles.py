"""The event-files family (N-MNIST, CIFAR10-DVS): one event file per sample.

Files matching the layout's ``pattern`` under ``data/raw``; the class is the folder a file is
in (``label: folder``) or the archive it was unpacked from (``archive``); the split is a
folder on its path (:class:`~pipeline.datasets.spec.ByFolder`) or the index at the end of its
name (:class:`~pipeline.datasets.spec.ByIndex`). The order is fixed (by class, then path or
numeric index), so the frames file never depends on directory listing order. A file is read
by the layout's reader and, where the layout names one, transformed (CIFAR10-DVS's
orientation).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ...core.errors import LayoutError
from ...datasets.spec import ByFolder, ByIndex, DatasetSpec
from ...io import READERS
from ..transforms import TRANSFORMS
from .base import Family, Item, Unit

_INDEX = re.compile(r"(\d+)$")


def split_files(root: str | Path, spec: DatasetSpec, split: str) -> list[Unit]:
    """The split's files under ``root``, one unit (and sample) each, in the fixed order."""
    root = Path(root)
    layout = spec.layout
    rule = layout.split
    keyed = []
    for path in root.rglob(layout.pattern):
        rel = path.relative_to(root)
        # root/<archive stem>/.../<folder>/<file>
        name = rel.parts[0] if layout.label == "archive" else path.parent.name
        if name not in spec.classes:
            raise LayoutError(f"{path}: cannot tell its class ({name!r} is not one of {list(spec.classes)})")
        label = spec.classes.index(name)
        if isinstance(rule, ByFolder):
            if getattr(rule, split) not in rel.parts[:-1]:
                continue
            key = (label, str(rel))
        elif isinstance(rule, ByIndex):
            m = _INDEX.search(path.stem)
            if m is None:
                raise LayoutError(f"{path}: no sample index at the end of the file name")
            index = int(m.group(1))
            lo, hi = getattr(rule, split)
            if not lo <= index <= hi:
                continue
            key = (label, index, str(rel))          # numeric order: 9 < 10 < 100
        else:
            raise LayoutError(f"dataset {spec.name}: unknown split rule {rule!r}")
        keyed.append((key, path, label))
    keyed.sort(key=lambda k: k[0])
    return [Unit(str(path), (Item(label, path.relative_to(root).as_posix()),), path) for _, path, label in keyed]


class EventFilesFamily(Family):
    def splits(self) -> dict[str, list[Unit]]:
        return {split: split_files(self.raw_dir, self.spec, split) for split in ("train", "test")}

    def read(self, unit: Unit) -> np.ndarray:
        layout = self.spec.layout
        events = READERS[layout.reader](unit.ref, **dict(layout.reader_args))
        if layout.transform:
            events = TRANSFORMS[layout.transform](events, unit.ref)
        return events
