"""Event-to-frame integration: per-pixel event counts in ``T`` frames (Numba kernels).

``split_by="number"``: with N events and ``di = N // T``, frame i takes events
``[i*di, (i+1)*di)`` and the last frame ends at N (it takes the remainder).

``split_by="time"``: with ``dt = (t[N-1] - t[0]) // T``, frame i takes events with
``t[0] + i*dt <= t < t[0] + (i+1)*dt`` and the last frame also ends at N. An empty
window is an all-zero frame. Events must be sorted by time in this mode.

Coordinates are divided by ``downsample`` (``x // f``, ``y // f``); the output is
``(T, 2, ceil(H/f), ceil(W/f))`` with channel 0 = polarity 0 (OFF), channel 1 = ON.
"""

from __future__ import annotations

import numba
import numpy as np

SPLIT_MODES = ("number", "time")
FRAME_DTYPE = np.uint32  # a count can never exceed N < 2**32 events

_OK, _X_RANGE, _Y_RANGE, _P_RANGE, _UNSORTED = 0, 1, 2, 3, 4


@numba.njit(cache=True, inline="always")
def _check(x, y, p, k, W, H):
    if x[k] >= W:
        return _X_RANGE
    if y[k] >= H:
        return _Y_RANGE
    if p[k] > 1:
        return _P_RANGE
    return _OK


@numba.njit(cache=True)
def _by_number(x, y, p, T, W, H, f, out):
    n = x.shape[0]
    di = n // T
    i = 0
    bound = di  # end of frame i (exclusive); the last frame ends at n
    for k in range(n):
        err = _check(x, y, p, k, W, H)
        if err != _OK:
            return err, k
        while i < T - 1 and k >= bound:
            i += 1
            bound += di
        out[i, p[k], y[k] // f, x[k] // f] += 1
    return _OK, -1


@numba.njit(cache=True)
def _by_time(t, x, y, p, T, W, H, f, out):
    n = t.shape[0]
    if n == 0:
        return _OK, -1
    t0 = t[0]
    dt = (t[n - 1] - t0) // T
    i = 0
    bound = t0 + dt  # end of frame i (exclusive); the last frame has no end
    for k in range(n):
        if k > 0 and t[k] < t[k - 1]:
            return _UNSORTED, k
        err = _check(x, y, p, k, W, H)
        if err != _OK:
            return err, k
        while i < T - 1 and t[k] >= bound:
            i += 1
            bound += dt
        out[i, p[k], y[k] // f, x[k] // f] += 1
    return _OK, -1


def frame_shape(T: int, sensor_size: tuple[int, int], downsample: int = 1) -> tuple[int, int, int, int]:
    """Output shape of :func:`integrate`."""
    H, W = sensor_size
    return (T, 2, -(-H // downsample), -(-W // downsample))


def integrate(events: np.ndarray, T: int, split_by: str = "number",
              sensor_size: tuple[int, int] = (128, 128), downsample: int = 1) -> np.ndarray:
    """Integrate events into ``T`` frames of per-pixel counts, shape ``(T, 2, H', W')``.

    Coordinates are validated against ``sensor_size = (H, W)`` before any pixel is
    written; out-of-range coordinates, polarities other than 0/1 and (for ``time``)
    unsorted timestamps raise ``ValueError``.
    """
    if not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"integrate: T must be a positive integer, got {T!r}")
    if split_by not in SPLIT_MODES:
        raise ValueError(f"integrate: split_by must be one of {SPLIT_MODES}, got {split_by!r}")
    if not isinstance(downsample, (int, np.integer)) or downsample < 1:
        raise ValueError(f"integrate: downsample must be a positive integer, got {downsample!r}")
    H, W = (int(s) for s in sensor_size)
    if H < 1 or W < 1:
        raise ValueError(f"integrate: sensor_size must be positive, got {sensor_size!r}")
    if events.size >= 2**32:
        raise ValueError("integrate: more than 2**32 - 1 events in one sample")
    out = np.zeros(frame_shape(int(T), (H, W), int(downsample)), dtype=FRAME_DTYPE)
    x, y, p = events["x"], events["y"], events["p"]
    if split_by == "number":
        err, k = _by_number(x, y, p, int(T), W, H, int(downsample), out)
    else:
        err, k = _by_time(events["t"], x, y, p, int(T), W, H, int(downsample), out)
    if err != _OK:
        e = events[k]
        what = {
            _X_RANGE: f"x = {e['x']} outside the sensor width {W}",
            _Y_RANGE: f"y = {e['y']} outside the sensor height {H}",
            _P_RANGE: f"polarity p = {e['p']} is not 0 or 1",
            _UNSORTED: f"timestamps not sorted (t[{k}] = {e['t']} < t[{k - 1}] = {events['t'][k - 1]})",
        }[err]
        raise ValueError(f"integrate: event {k}: {what}")
    return out
