"""Cutting a unit's events (a recording) into its samples' time windows."""

from __future__ import annotations

import numpy as np


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


def sample_events(events: np.ndarray, items) -> list[np.ndarray]:
    """The events of each of a unit's ``items`` (:class:`~pipeline.frames.families.base.Item`)."""
    if all(it.whole_file for it in items):
        return [events] * len(items)
    return cut(events, [(it.start, it.end) for it in items])
