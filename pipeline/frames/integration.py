"""Event-to-frame integration: per-pixel event counts in ``T`` frames (Numba kernels).

SpikingJelly's two modes:

``split_by="number"``: with N events and ``di = N // T``, frame i takes events
``[i*di, (i+1)*di)`` and the last frame ends at N (it takes the remainder).

``split_by="time"``: with ``dt = (t[N-1] - t[0]) // T``, frame i takes events with
``t[0] + i*dt <= t < t[0] + (i+1)*dt`` and the last frame also ends at N. An empty
window is an all-zero frame. Events must be sorted by time in this mode.

Tonic's two fixed-T modes, equal to Tonic 1.7's ``ToFrame`` counts to the event, edges
included (:mod:`pipeline.frames.bins` says which events each frame takes):

``split_by="time_bins"``: ``ToFrame(sensor_size=(W, H, 2), n_time_bins=T, overlap=overlap)``.
Without overlap the events at the last timestamp are in no frame (19,181 of 19,182 events
counted on the real DVS128 recording of ``../shared/data/real``); a span shorter than T µs gives T empty frames. Sorted timestamps.

``split_by="event_bins"``: ``ToFrame(..., n_event_bins=T, overlap=overlap)``. The ``N % T``
last events are in no frame without overlap; T > N gives T empty frames.

Only these two take an ``overlap`` in ``[0, 1)`` (a fraction of a bin, as Tonic's); ``number``
and ``time`` refuse one. Tonic counts in int16, which wraps past 32,767 events on one pixel in
one frame; these counts do not (uint32).

Coordinates are divided by ``downsample`` (``x // f``, ``y // f``); the output is
``(T, 2, ceil(H/f), ceil(W/f))`` with channel 0 = polarity 0 (OFF), channel 1 = ON.

Input types and checks: :mod:`pipeline.frames.columns` (so no input can make a kernel read
or write outside its arrays).
"""

from __future__ import annotations

import numba
import numpy as np

from ..core.events import FRAME_DTYPE
from ..core.frameparams import BIN_MODES, SPLIT_MODES, frame_shape
from .bins import check_overlap, windows
from .columns import OK, UNSORTED, check_event, check_shape, checked_columns, out_of_range

@numba.njit(cache=True)
def _add(x, y, p, a, b, W, H, xoff, yoff, plane, base, out):
    """Count events ``[a, b)`` into the flat output at ``base``; returns (error, event) or (OK, -1).

    ``xoff[x] = x // f`` and ``yoff[y] = (y // f) * W'`` (look-up tables: no division per event).
    The check is fused with the counting (one pass): each event goes through
    :func:`~pipeline.frames.columns.out_of_range` before it is used as an index, and the first
    bad one stops the kernel with its code (so :func:`_integrate` answers as ``first_bad`` does).
    """
    for k in range(a, b):
        xk = np.int64(x[k])
        yk = np.int64(y[k])
        pk = np.int64(p[k])
        if out_of_range(xk, yk, pk, W, H):
            return check_event(xk, yk, pk, W, H), k
        out[base + pk * plane + yoff[yk] + xoff[xk]] += 1
    return OK, -1


@numba.njit(cache=True)
def _integrate(t, x, y, p, by_time, T, W, H, f, out):
    """Both split modes on the flat ``(T * 2 * H' * W')`` output; returns (error, event)."""
    n = x.shape[0]
    Hf, Wf = -(-H // f), -(-W // f)
    plane = Hf * Wf
    xoff = np.arange(W) // f
    yoff = (np.arange(H) // f) * Wf
    if n == 0:
        return OK, -1
    di = n // T
    t0 = t[0]
    # dt and the bounds in wrapping uint64 arithmetic: exact for sorted timestamps whatever
    # their span (t[N-1] - t[0] may not fit in int64; t0 + (i+1)*dt <= t[N-1] always does)
    ut0 = np.uint64(t0)
    dt = (np.uint64(t[n - 1]) - ut0) // np.uint64(T)
    prev = t0
    a = 0
    for i in range(T):
        if not by_time:
            b = n if i == T - 1 else a + di
        else:
            # the frame ends at the first event at or past its bound (the last one at n);
            # the scan also checks the order of the timestamps it passes
            bound = np.int64(ut0 + np.uint64(i + 1) * dt)
            last = i == T - 1
            b = a
            while b < n:
                tb = t[b]
                if tb < prev:
                    # report the first bad event in file order: a range error before b wins
                    err, k = _add(x, y, p, a, b, W, H, xoff, yoff, plane, i * 2 * plane, out)
                    return (err, k) if err != OK else (UNSORTED, b)
                if tb >= bound and not last:
                    break
                prev = tb
                b += 1
        err, k = _add(x, y, p, a, b, W, H, xoff, yoff, plane, i * 2 * plane, out)
        if err != OK:
            return err, k
        a = b
    return OK, -1


@numba.njit(cache=True)
def _add_windows(x, y, p, starts, ends, W, H, f, out):
    """Frame i counts events ``[starts[i], ends[i])``. Unchecked: every event must have passed
    :func:`~pipeline.frames.columns.checked_columns` (and ``0 <= start <= end <= N``, checked in
    Python); Numba does not bounds-check."""
    Hf, Wf = -(-H // f), -(-W // f)
    plane = Hf * Wf
    xoff = np.arange(W) // f
    yoff = (np.arange(H) // f) * Wf
    for i in range(starts.shape[0]):
        base = i * 2 * plane
        if f == 1:                   # no look-ups: a fifth less time per event
            for k in range(starts[i], ends[i]):
                out[base + np.int64(p[k]) * plane + np.int64(y[k]) * W + np.int64(x[k])] += 1
        else:
            for k in range(starts[i], ends[i]):
                out[base + np.int64(p[k]) * plane + yoff[np.int64(y[k])] + xoff[np.int64(x[k])]] += 1


def integrate(events: np.ndarray, T: int, split_by: str = "number",
              sensor_size: tuple[int, int] = (128, 128), downsample: int = 1,
              overlap: float = 0.0) -> np.ndarray:
    """Integrate events into ``T`` frames of per-pixel counts, shape ``(T, 2, H', W')``.

    ``split_by``: ``number`` or ``time`` (SpikingJelly's), ``time_bins`` or ``event_bins``
    (Tonic's ``ToFrame(n_time_bins=T)`` / ``ToFrame(n_event_bins=T)``, with ``overlap`` in
    ``[0, 1)``); the module docstring gives each mode's windows and edges.

    ``events``: a 1-D structured array with fields ``t``, ``x``, ``y``, ``p`` of bool, integer
    (any width or signedness, either byte order) or float type; see
    :mod:`pipeline.frames.columns` for which are used in place and which are converted. ``T``
    and ``downsample``: positive integers (``bool`` and ``float`` are refused).

    Coordinates are validated against ``sensor_size = (H, W)`` before any pixel is
    written; coordinates outside ``[0, W)`` / ``[0, H)`` (negative ones too), polarities
    other than 0/1, float values that are NaN, infinite or not integral and (for ``time`` and
    ``time_bins``) unsorted timestamps raise ``ValueError("integrate: event {k}: ...")`` naming
    the first such event in file order. A malformed ``events`` array raises a one-line ``ValueError``.
    """
    H, W = check_shape("integrate", T, sensor_size, downsample)
    if split_by not in SPLIT_MODES:
        raise ValueError(f"integrate: split_by must be one of {SPLIT_MODES}, got {split_by!r}")
    overlap = check_overlap("integrate", overlap)
    if overlap and split_by not in BIN_MODES:
        raise ValueError(f"integrate: split_by {split_by!r} takes no overlap (only {' and '.join(BIN_MODES)} do), "
                         f"got {overlap!r}")
    out = np.zeros(frame_shape(int(T), (H, W), int(downsample)), dtype=FRAME_DTYPE)
    if split_by in BIN_MODES:
        cols = checked_columns("integrate", events, H, W, ordered=split_by == "time_bins")
        try:
            starts, ends = windows(split_by, cols["t"], int(T), overlap)
        except ValueError as e:
            raise ValueError(f"integrate: {e}") from None
        _add_windows(cols["x"], cols["y"], cols["p"], starts, ends, W, H, int(downsample), out.reshape(-1))
        return out
    by_time, flat = split_by == "time", out.reshape(-1)

    def count(t, x, y, p):        # checks each event as it counts it: one pass
        return _integrate(t, x, y, p, by_time, int(T), W, H, int(downsample), flat)

    checked_columns("integrate", events, H, W, ordered=by_time, kernel=count)
    return out
