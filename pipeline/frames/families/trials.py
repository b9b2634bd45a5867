"""The trials family (DVS128 Gesture, the demo): recordings listed in ``trials_to_<split>.txt``,
each cut into samples by its ``<name>_labels.csv`` (class from 1, start and end in µs).

A unit is a recording: it is read once and the driver cuts it into its samples' windows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.errors import LayoutError
from ...io import READERS
from .base import Family, Item, Unit

LABELS_HEADER = "class,startTime_usec,endTime_usec"


def read_trials(path: str | Path) -> list[str]:
    """Recording file names listed in ``trials_to_train.txt`` / ``trials_to_test.txt``."""
    path = Path(path)
    if not path.is_file():
        raise LayoutError(f"{path}: trial list not found")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    for n in names:
        if not n.endswith(".aedat") or "/" in n or "\\" in n:
            raise LayoutError(f"{path}: {n!r} is not an .aedat file name")
    return names


def labels_path(recording: str | Path) -> Path:
    recording = Path(recording)
    return recording.with_name(recording.stem + "_labels.csv")


def read_labels(path: str | Path, n_classes: int) -> np.ndarray:
    """Rows ``(class, start_us, end_us)`` as an int64 array (classes from 1 as in the file)."""
    path = Path(path)
    if not path.is_file():
        raise LayoutError(f"{path}: labels file not found")
    lines = path.read_text().splitlines()
    if not lines or lines[0].strip().replace(" ", "") != LABELS_HEADER:
        raise LayoutError(f"{path}: line 1 must be '{LABELS_HEADER}'")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            cls, start, end = (int(v) for v in line.split(","))
        except ValueError:
            raise LayoutError(f"{path}: line {number}: expected three integers, got {line!r}") from None
        if not 1 <= cls <= n_classes:
            raise LayoutError(f"{path}: line {number}: class {cls} outside 1..{n_classes}")
        if end <= start:
            raise LayoutError(f"{path}: line {number}: end {end} <= start {start}")
        rows.append((cls, start, end))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)



def split_recordings(root: str | Path, classes: int, split: str) -> list[Unit]:
    """The recordings ``trials_to_<split>.txt`` under ``root`` lists, each with its samples."""
    root = Path(root)
    lists = sorted(root.rglob(f"trials_to_{split}.txt"))
    if len(lists) != 1:
        raise LayoutError(f"{root}: expected one trials_to_{split}.txt, found {len(lists)}")
    folder = lists[0].parent
    out = []
    for name in read_trials(lists[0]):
        path = folder / name
        if not path.is_file():
            raise LayoutError(f"{lists[0]} lists {name}, which is not in {folder}")
        rows = read_labels(labels_path(path), classes)
        recording = path.relative_to(root).as_posix()
        items = tuple(Item(int(c) - 1, recording, r, int(a), int(b)) for r, (c, a, b) in enumerate(rows))
        out.append(Unit(str(path), items, path))
    return out


class TrialsFamily(Family):
    def splits(self) -> dict[str, list[Unit]]:
        return {split: split_recordings(self.raw_dir, len(self.spec.classes), split) for split in ("train", "test")}

    def read(self, unit: Unit) -> np.ndarray:
        return READERS[self.spec.layout.reader](unit.ref)
