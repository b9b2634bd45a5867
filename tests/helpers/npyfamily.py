"""A dataset family defined outside the pipeline, in one module: a folder of ``.npy`` event
arrays (structured: t, x, y, p) with ``labels.csv`` (``file,label,split``). Used by
tests/end_to_end/test_new_family.py to show that a family is its layout type, its family class and a
registry entry, with no branch anywhere else."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pipeline import datasets
from pipeline.core.errors import LayoutError
from pipeline.core.events import make_events
from pipeline.datasets.spec import DatasetSpec, Layout, Remote
from pipeline.frames import families
from pipeline.frames.families.base import Family, Item, Unit


@dataclass(frozen=True)
class NpyFolder(Layout):
    family: ClassVar[str] = "npyfolder"
    labels: str = "labels.csv"


class NpyFolderFamily(Family):
    def splits(self):
        found = sorted(self.raw_dir.rglob(self.spec.layout.labels))
        if len(found) != 1:
            raise LayoutError(f"{self.raw_dir}: expected one {self.spec.layout.labels}, found {len(found)}")
        folder = found[0].parent
        out = {"train": [], "test": []}
        with open(found[0], newline="") as f:
            for row in csv.DictReader(f):
                path = folder / row["file"]
                rel = path.relative_to(self.raw_dir).as_posix()
                out[row["split"]].append(Unit(str(path), (Item(int(row["label"]), rel),), path))
        return out

    def read(self, unit):
        a = np.load(unit.ref)
        return make_events(a["t"], a["x"], a["y"], a["p"])


def register(name: str, files: tuple[Remote, ...], classes, sensor_size, expected, setitem=None) -> DatasetSpec:
    """The family, and one dataset of it as a registry entry (returns its spec). ``setitem``
    (``monkeypatch.setitem``) makes both undone after a test."""
    setitem = setitem or (lambda d, k, v: d.__setitem__(k, v))
    setitem(families.FAMILIES, NpyFolder.family, NpyFolderFamily)
    spec = DatasetSpec(name=name, classes=tuple(classes), sensor_size=sensor_size, layout=NpyFolder(),
                       files=files, expected=expected)
    setitem(datasets.DATASETS, name, spec)
    return spec
