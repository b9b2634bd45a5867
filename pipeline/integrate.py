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

from .events import FRAME_DTYPE

SPLIT_MODES = ("number", "time")

_OK, _X_RANGE, _Y_RANGE, _P_RANGE, _UNSORTED = 0, 1, 2, 3, 4


@numba.njit(cache=True, inline="always")
def _check(xk, yk, pk, W, H):
    if xk >= W:
        return _X_RANGE
    if yk >= H:
        return _Y_RANGE
    if pk > 1:
        return _P_RANGE
    return _OK


@numba.njit(cache=True)
def _add(x, y, p, a, b, W, H, xoff, yoff, plane, base, out):
    """Count events ``[a, b)`` into the flat output at ``base``; returns (error, event) or (_OK, -1).

    ``xoff[x] = x // f`` and ``yoff[y] = (y // f) * W'`` (look-up tables: no division per event).
    """
    for k in range(a, b):
        xk = np.int64(x[k])
        yk = np.int64(y[k])
        pk = np.int64(p[k])
        if xk >= W or yk >= H or pk > 1:
            return _check(xk, yk, pk, W, H), k
        out[base + pk * plane + yoff[yk] + xoff[xk]] += 1
    return _OK, -1


@numba.njit(cache=True)
def _integrate(t, x, y, p, by_time, T, W, H, f, out):
    """Both split modes on the flat ``(T * 2 * H' * W')`` output; returns (error, event)."""
    n = x.shape[0]
    Hf, Wf = -(-H // f), -(-W // f)
    plane = Hf * Wf
    xoff = np.arange(W) // f
    yoff = (np.arange(H) // f) * Wf
    if n == 0:
        return _OK, -1
    di = n // T
    t0 = t[0]
    dt = (t[n - 1] - t0) // T
    prev = t0
    a = 0
    for i in range(T):
        if not by_time:
            b = n if i == T - 1 else a + di
        else:
            # the frame ends at the first event at or past its bound (the last one at n);
            # the scan also checks the order of the timestamps it passes
            bound = t0 + (i + 1) * dt
            last = i == T - 1
            b = a
            while b < n:
                tb = t[b]
                if tb < prev:
                    # report the first bad event in file order: a range error before b wins
                    err, k = _add(x, y, p, a, b, W, H, xoff, yoff, plane, i * 2 * plane, out)
                    return (err, k) if err != _OK else (_UNSORTED, b)
                if tb >= bound and not last:
                    break
                prev = tb
                b += 1
        err, k = _add(x, y, p, a, b, W, H, xoff, yoff, plane, i * 2 * plane, out)
        if err != _OK:
            return err, k
        a = b
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
    err, k = _integrate(events["t"], events["x"], events["y"], events["p"], split_by == "time", int(T), W, H,
                        int(downsample), out.reshape(-1))
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
