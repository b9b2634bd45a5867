"""Event-to-frame integration: per-pixel event counts in ``T`` frames (Numba kernels).

``split_by="number"``: with N events and ``di = N // T``, frame i takes events
``[i*di, (i+1)*di)`` and the last frame ends at N (it takes the remainder).

``split_by="time"``: with ``dt = (t[N-1] - t[0]) // T``, frame i takes events with
``t[0] + i*dt <= t < t[0] + (i+1)*dt`` and the last frame also ends at N. An empty
window is an all-zero frame. Events must be sorted by time in this mode.

Coordinates are divided by ``downsample`` (``x // f``, ``y // f``); the output is
``(T, 2, ceil(H/f), ceil(W/f))`` with channel 0 = polarity 0 (OFF), channel 1 = ON.

Input types (all checked in Python before a kernel runs, so no input can make a kernel
read or write outside its arrays):

* ``events`` is a 1-D numpy structured array with (at least) the fields ``t``, ``x``,
  ``y``, ``p``, each a scalar bool, integer or floating-point field.
* Native-byte-order integer ``x``, ``y``, ``p`` columns of any width and signedness (the
  :data:`~pipeline.core.events.EVENT_DTYPE` ones, Tonic's ``int64``), bool columns and a native
  ``int64`` ``t`` are used in place, without a copy (one compiled kernel per combination of types).
* Any other column -- big-endian (non-native byte order), float, or a ``t`` of another
  integer type -- is converted to a native ``int64`` copy first. Float columns are accepted
  when every value is integral (``3.0``); NaN, inf and non-integral values (``2.5``) are
  refused with the event's index, as are timestamps outside the int64 range.
* Negative coordinates and polarities are refused like too large ones (a ``uint64`` value
  of 2**63 or more reads as negative in the kernel: it is refused too).
"""

from __future__ import annotations

import numba
import numpy as np

from ..core.events import FRAME_DTYPE

SPLIT_MODES = ("number", "time")
FIELDS = ("t", "x", "y", "p")

_OK, _X_RANGE, _Y_RANGE, _P_RANGE, _UNSORTED = 0, 1, 2, 3, 4
_T_VALUE = 5      # a timestamp no int64 can hold (found in Python, not by a kernel)

_INT64_MAX = 2**63 - 1


@numba.njit(cache=True, inline="always")
def _check(xk, yk, pk, W, H):
    if xk < 0 or xk >= W:
        return _X_RANGE
    if yk < 0 or yk >= H:
        return _Y_RANGE
    if pk < 0 or pk > 1:
        return _P_RANGE
    return _OK


@numba.njit(cache=True)
def _add(x, y, p, a, b, W, H, xoff, yoff, plane, base, out):
    """Count events ``[a, b)`` into the flat output at ``base``; returns (error, event) or (_OK, -1).

    ``xoff[x] = x // f`` and ``yoff[y] = (y // f) * W'`` (look-up tables: no division per event).
    Every index is checked to be in ``[0, W)``, ``[0, H)``, ``[0, 1]`` before it is used
    (for unsigned columns the ``< 0`` tests compile to nothing).
    """
    for k in range(a, b):
        xk = np.int64(x[k])
        yk = np.int64(y[k])
        pk = np.int64(p[k])
        if xk >= W or yk >= H or pk > 1 or xk < 0 or yk < 0 or pk < 0:
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


def _is_int(v) -> bool:
    """A Python or numpy integer, not a bool (``True`` is an ``int`` to Python)."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _check_events(events) -> None:
    """One-line ``ValueError`` unless ``events`` is a 1-D structured array with usable t, x, y, p."""
    expected = "a 1-D numpy structured array with fields t, x, y, p"
    if not isinstance(events, np.ndarray):
        raise ValueError(f"integrate: events must be {expected}, got {type(events).__name__}")
    names = events.dtype.names
    if names is None:
        raise ValueError(f"integrate: events must be {expected}, got a plain {events.dtype} array "
                         f"of shape {events.shape}")
    if events.ndim != 1:
        raise ValueError(f"integrate: events must be {expected}, got a {events.ndim}-D array of shape "
                         f"{events.shape}")
    missing = [f for f in FIELDS if f not in names]
    if missing:
        raise ValueError(f"integrate: events must be {expected}; missing {', '.join(missing)} "
                         f"(fields: {', '.join(names)})")
    for name in FIELDS:
        ftype = events.dtype.fields[name][0]
        if ftype.shape != () or ftype.kind not in "biuf":
            raise ValueError(f"integrate: field {name!r} has type {ftype}; expected a scalar bool, "
                             "integer or float")


def _as_int64(name: str, col: np.ndarray, limit: int) -> tuple[np.ndarray, int]:
    """``col`` as a contiguous native int64 column, and the first event whose timestamp cannot
    be one (-1: none).

    Values of ``x``, ``y``, ``p`` that are not integers in ``[0, limit)`` become -1, which the
    kernel reports (in file order) as out of range; the message then describes the original value.
    """
    if col.dtype.kind in "biu":
        if name == "t" and col.dtype.kind == "u" and col.dtype.itemsize == 8 and col.size:
            big = col > np.uint64(_INT64_MAX)
            if big.any():
                return col.astype(np.int64), int(np.argmax(big))
        return col.astype(np.int64), -1       # an out-of-range uint64 coordinate wraps negative: refused
    with np.errstate(invalid="ignore", over="ignore"):
        good = np.isfinite(col) & (np.floor(col) == col)
        if name == "t":
            good &= (col >= -(2.0**63)) & (col < 2.0**63)
        else:
            good &= (col >= 0) & (col < limit)
        if name == "t" and not good.all():
            return np.where(good, col, 0).astype(np.int64), int(np.argmin(good))
        return np.where(good, col, -1).astype(np.int64), -1


def _describe(name: str, v, limit: int) -> str:
    """What is wrong with value ``v`` of field ``name`` (the kernel found it out of range)."""
    if np.asarray(v).dtype.kind == "f" and not (np.isfinite(v) and v == np.floor(v)):
        problem = "is not an integer"
    elif name == "t":
        problem = "is outside the int64 range"
    elif name == "p":
        problem = "is not 0 or 1"
    elif v < 0:
        problem = "is negative"
    else:
        problem = f"outside the sensor {'width' if name == 'x' else 'height'} {limit}"
    return f"{'polarity ' if name == 'p' else ''}{name} = {v!s} {problem}"  # str: numpy's float32 digits


def integrate(events: np.ndarray, T: int, split_by: str = "number",
              sensor_size: tuple[int, int] = (128, 128), downsample: int = 1) -> np.ndarray:
    """Integrate events into ``T`` frames of per-pixel counts, shape ``(T, 2, H', W')``.

    ``events``: a 1-D structured array with fields ``t``, ``x``, ``y``, ``p`` of bool, integer
    (any width or signedness, either byte order) or float type; see the module docstring for
    which are used in place and which are converted. ``T`` and ``downsample``: positive
    integers (``bool`` and ``float`` are refused).

    Coordinates are validated against ``sensor_size = (H, W)`` before any pixel is
    written; coordinates outside ``[0, W)`` / ``[0, H)`` (negative ones too), polarities
    other than 0/1, float values that are NaN, infinite or not integral and (for ``time``)
    unsorted timestamps raise ``ValueError("integrate: event {k}: ...")`` naming the first
    such event in file order. A malformed ``events`` array raises a one-line ``ValueError``.
    """
    if not _is_int(T) or T < 1:
        raise ValueError(f"integrate: T must be a positive integer, got {T!r}")
    if split_by not in SPLIT_MODES:
        raise ValueError(f"integrate: split_by must be one of {SPLIT_MODES}, got {split_by!r}")
    if not _is_int(downsample) or downsample < 1:
        raise ValueError(f"integrate: downsample must be a positive integer, got {downsample!r}")
    if len(sensor_size) != 2 or not all(_is_int(s) and s >= 1 for s in sensor_size):
        raise ValueError(f"integrate: sensor_size must be two positive integers (H, W), got {sensor_size!r}")
    H, W = (int(s) for s in sensor_size)
    _check_events(events)
    if events.size >= 2**32:
        raise ValueError("integrate: more than 2**32 - 1 events in one sample")
    limits = {"t": 0, "x": W, "y": H, "p": 2}
    cols, bad_t = {}, -1
    for name in FIELDS:
        col = np.asarray(events[name])
        if col.dtype.kind == "b":
            col = col.view(np.uint8)
        if col.dtype.kind in "iu" and col.dtype.isnative and (name != "t" or col.dtype == np.int64):
            cols[name] = col                   # in place: the kernel checks every value's range
        else:
            cols[name], bad = _as_int64(name, col, limits[name])
            bad_t = bad if name == "t" else bad_t
    n = events.size if bad_t < 0 else bad_t    # a bad timestamp: first look for an earlier error
    out = np.zeros(frame_shape(int(T), (H, W), int(downsample)), dtype=FRAME_DTYPE)
    err, k = _integrate(cols["t"][:n], cols["x"][:n], cols["y"][:n], cols["p"][:n], split_by == "time",
                        int(T), W, H, int(downsample), out.reshape(-1))
    if err == _OK and bad_t >= 0:
        err, k = _T_VALUE, bad_t
    if err != _OK:
        e = events[k]
        if err == _UNSORTED:
            what = f"timestamps not sorted (t[{k}] = {e['t']} < t[{k - 1}] = {events['t'][k - 1]})"
        else:
            name = {_T_VALUE: "t", _X_RANGE: "x", _Y_RANGE: "y", _P_RANGE: "p"}[err]
            what = _describe(name, e[name], limits[name])
        raise ValueError(f"integrate: event {k}: {what}")
    return out
