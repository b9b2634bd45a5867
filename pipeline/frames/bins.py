"""Tonic's fixed-T windows: which events each of T frames takes, as Tonic 1.7's
``SliceByTimeBins`` (``ToFrame(n_time_bins=T, overlap=...)``) and ``SliceByEventBins``
(``ToFrame(n_event_bins=T, overlap=...)``) cut them, to the event.

Both return ``(starts, ends)``, two int64 arrays of T event indices with
``0 <= start <= end <= N``: frame i takes events ``[starts[i], ends[i])``. Windows overlap
when ``overlap > 0`` (an event then counts in more than one frame).

**time_bins.** With ``span = t[N-1] - t[0]`` (integer µs), ``window = span // T * (1 + overlap)``
and ``stride = window * (1 - overlap)`` (float64, as Tonic computes them), frame i takes the
events with ``t0 + i*stride <= t < t0 + i*stride + window``. Edges, all Tonic's:

* without overlap the last window ends at ``t0 + T * (span // T) <= t[N-1]``, so the events at
  the last timestamp (and any after that end when T does not divide the span) are in no frame:
  19,181 of 19,182 events on the DVS128 recording ``aedat2_jaer/dvs128/alex_walking_again.aedat`` of ``../shared/data/real``;
* with overlap o the stride is ``d * (1 - o**2)`` with ``d = span // T``, not ``d``, and the last
  window ends at ``t0 + T*d + d*o*(1 + o - T*o)``: before ``t0 + T*d`` when ``T*o > 1 + o`` (for
  o = 0.5, T >= 4: more events are left out), at or past it for smaller T (at T = 1 with o = 0.5,
  all 19,182 events of that recording are counted);
* when ``span < T`` (one event, equal first and last timestamps) every window is empty.

Timestamps must be sorted (the windows are found by binary search). The comparison is Tonic's
``searchsorted`` of float64 bounds among the timestamps as float64, done exactly so.

**event_bins.** With ``count = int(N // T * (1 + overlap))`` and ``stride = int(count * (1 - overlap))``
(Python floats, as Tonic), frame i takes events ``[i*stride, i*stride + count)``, cut at N.
The ``N % T`` events at the end are in no frame without overlap; when ``T > N`` every frame
is empty. Timestamps are not used.
"""

from __future__ import annotations

import numba
import numpy as np

from ..core.frameparams import BIN_MODES

__all__ = ["BIN_MODES", "check_overlap", "event_bin_windows", "time_bin_windows", "windows"]


def check_overlap(who: str, overlap) -> float:
    """``overlap`` as a float in ``[0, 1)`` (one-line ValueError otherwise)."""
    ok = isinstance(overlap, (int, float, np.integer, np.floating)) and not isinstance(overlap, (bool, np.bool_))
    if not ok or not 0 <= float(overlap) < 1:
        raise ValueError(f"{who}: overlap must be a number in [0, 1), got {overlap!r}")
    return float(overlap)


@numba.njit(cache=True)
def _search(t, bounds):
    """For each float64 bound, the first index whose timestamp (as float64) is ``>= bound``:
    numpy's ``searchsorted(t, bounds, side="left")`` on float64, without the float64 copy of ``t``."""
    n = t.shape[0]
    out = np.empty(bounds.shape[0], dtype=np.int64)
    for i in range(bounds.shape[0]):
        v = bounds[i]
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) >> 1
            if np.float64(t[mid]) < v:
                lo = mid + 1
            else:
                hi = mid
        out[i] = lo
    return out


def time_bin_windows(t: np.ndarray, T: int, overlap: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Tonic's ``SliceByTimeBins(T, overlap)`` windows of the sorted int64 timestamps ``t``."""
    n = t.shape[0]
    if n == 0:
        return np.zeros(T, np.int64), np.zeros(T, np.int64)
    span = int(t[-1]) - int(t[0])
    if span > 2**63 - 1:
        raise ValueError(f"the timestamps span {span} µs, more than an int64 holds")
    window = np.int64(span) // T * (1 + overlap)           # np.float64, as Tonic's
    stride = window * (1 - overlap)
    starts = np.arange(T) * stride + t[0]
    return _search(t, starts), _search(t, starts + window)


def event_bin_windows(n: int, T: int, overlap: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Tonic's ``SliceByEventBins(T, overlap)`` windows of ``n`` events."""
    count = int(n // T * (1 + overlap))
    stride = int(count * (1 - overlap))
    starts = np.arange(T, dtype=np.int64) * stride
    return np.minimum(starts, n), np.minimum(starts + count, n)


def windows(split_by: str, t: np.ndarray, T: int, overlap: float) -> tuple[np.ndarray, np.ndarray]:
    """The windows of ``split_by`` (one of :data:`BIN_MODES`)."""
    if split_by == "time_bins":
        return time_bin_windows(t, T, overlap)
    return event_bin_windows(t.shape[0], T, overlap)
