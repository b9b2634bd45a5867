"""Samples: where each one is in its recording, and cutting a recording's events into them.

Every dataset's layout (:mod:`pipeline.frames.layouts`) lists a split as :class:`Recording` s, each
with its :class:`Sample` s; the frames stage reads a recording once and cuts it here.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np


class Sample(NamedTuple):
    label: int                 # class index from 0
    start: int | None = None   # window start (µs, inclusive); None: the whole file is the sample
    end: int | None = None     # window end (µs, exclusive)
    row: int = -1              # row of the recording's labels file (from 0); -1: the whole file

    @property
    def whole_file(self) -> bool:
        return self.start is None

    def describe(self) -> str:
        """Which sample of its recording this is, for messages."""
        return "the whole file" if self.whole_file else f"the sample of labels row {self.row}"


class Recording(NamedTuple):
    path: Path
    samples: list[Sample]


def cut(events: np.ndarray, windows) -> list[np.ndarray]:
    """For each ``(start, end)`` window, the events with ``start <= t < end`` in file order
    (windows may overlap). Sorted timestamps (the normal case) are cut by binary search,
    others by masks."""
    windows = np.asarray(windows, dtype=np.int64).reshape(-1, 2)
    t = events["t"]
    if t.size < 2 or np.all(t[1:] >= t[:-1]):
        # one call: searchsorted copies a strided column (events["t"]) to search it
        bounds = np.searchsorted(t, windows.ravel(), side="left").reshape(-1, 2)
        return [events[a:b] for a, b in bounds]
    return [events[(t >= start) & (t < end)] for start, end in windows]


def sample_events(events: np.ndarray, samples: list[Sample]) -> list[np.ndarray]:
    """The events of each of a recording's ``samples``."""
    if all(s.whole_file for s in samples):
        return [events] * len(samples)
    return cut(events, [(s.start, s.end) for s in samples])
