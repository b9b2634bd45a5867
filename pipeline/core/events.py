"""The event record shared by every reader, writer and integrator."""

import numpy as np

#: One DVS event: timestamp in microseconds, pixel column ``x``, pixel row ``y``,
#: polarity ``p`` (1 = ON / brighter, 0 = OFF / darker). Field order is public API.
EVENT_DTYPE = np.dtype([("t", np.int64), ("x", np.uint16), ("y", np.uint16), ("p", np.uint8)])

#: Per-pixel event counts in a frame: a count can never exceed N < 2**32 events.
FRAME_DTYPE = np.dtype(np.uint32)


def empty_events(n: int = 0) -> np.ndarray:
    """A zero-filled event array of length ``n``."""
    return np.zeros(n, dtype=EVENT_DTYPE)


def make_events(t, x, y, p) -> np.ndarray:
    """Pack four equally long columns into an :data:`EVENT_DTYPE` array."""
    t = np.asarray(t)
    ev = np.empty(t.shape[0], dtype=EVENT_DTYPE)
    ev["t"], ev["x"], ev["y"], ev["p"] = t, x, y, p
    return ev
