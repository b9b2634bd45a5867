"""Per-dataset event transforms, by name, as the dataset registry refers to them."""

from __future__ import annotations

import numpy as np

from ..core.errors import EventFormatError


def cifar10_dvs_orientation(events: np.ndarray, path) -> np.ndarray:
    """CIFAR10-DVS as recorded -> upright images: x = 127 - y, y = 127 - x, p = 1 - p."""
    if events.size and (events["x"].max() > 127 or events["y"].max() > 127 or events["p"].max() > 1):
        raise EventFormatError(f"{path}: CIFAR10-DVS events must have x, y <= 127 and p in {{0, 1}} "
                         f"(max x {events['x'].max()}, y {events['y'].max()}, p {events['p'].max()})")
    out = events.copy()
    out["x"] = 127 - events["y"]
    out["y"] = 127 - events["x"]
    out["p"] = 1 - events["p"]
    return out


TRANSFORMS = {"cifar10_dvs": cifar10_dvs_orientation}
