"""Event columns as the frame kernels take them, the one check of every event, and the
one-line errors for bad events.

This module holds the only per-event bounds check of :mod:`pipeline.frames`
(:func:`out_of_range`, :func:`check_event`, :func:`first_bad`; a structure test keeps it so).
Every kernel of :mod:`~pipeline.frames.integration`, :mod:`~pipeline.frames.representations`
and :mod:`~pipeline.frames.filters` indexes its arrays by ``x``, ``y``, ``p`` only after
:func:`checked_columns` checked every event (by :func:`first_bad`, or by a kernel that runs
:func:`out_of_range` on each event before it uses it, as integration's counting does), and
the frames driver checks a whole file with :func:`find_bad`: Numba does not bounds-check, so
no input can make a kernel read or write outside its arrays. An event is usable when:

* ``0 <= x < W``, ``0 <= y < H`` and ``p`` is 0 or 1;
* ``t`` holds in an int64 and (where order matters) is not before its predecessor's.

The input types:

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

from ..core.oplist import is_int

FIELDS = ("t", "x", "y", "p")

#: What a kernel found wrong with an event: one set for every frame kernel, the filters'
#: (:mod:`pipeline.frames.filters`) included.
OK, X_RANGE, Y_RANGE, P_RANGE, UNSORTED = 0, 1, 2, 3, 4
T_VALUE = 5      # a timestamp no int64 can hold (found in Python, not by a kernel)
T_RANGE = 6      # a filter's arithmetic on a timestamp leaves the int64 range

_INT64_MAX = 2**63 - 1


@numba.njit(cache=True, inline="always")
def out_of_range(xk, yk, pk, W, H):
    """Whether an event (its values as int64) is outside the ``W x H`` sensor or has a
    polarity other than 0/1. One unsigned comparison per value, without branches: a negative
    value reads as 2**63 or more, so it is refused like a too large one."""
    return (np.uint64(xk) >= np.uint64(W)) | (np.uint64(yk) >= np.uint64(H)) | (np.uint64(pk) > np.uint64(1))


@numba.njit(cache=True, inline="always")
def check_event(xk, yk, pk, W, H):
    """The error code of an event :func:`out_of_range` refused: which value is wrong."""
    if xk < 0 or xk >= W:
        return X_RANGE
    if yk < 0 or yk >= H:
        return Y_RANGE
    if pk < 0 or pk > 1:
        return P_RANGE
    return OK


@numba.njit(cache=True)
def first_bad(t, x, y, p, W, H, ordered):
    """``(error, event)`` of the first event in file order that is outside the sensor, has a
    polarity other than 0/1 or (``ordered``) a timestamp before its predecessor's; ``(OK, -1)``."""
    for k in range(x.shape[0]):
        xk = np.int64(x[k])
        yk = np.int64(y[k])
        pk = np.int64(p[k])
        if out_of_range(xk, yk, pk, W, H):
            return check_event(xk, yk, pk, W, H), k
        if ordered and k > 0 and t[k] < t[k - 1]:
            return UNSORTED, k
    return OK, -1


def check_events(events, who: str) -> None:
    """One-line ``ValueError`` unless ``events`` is a 1-D structured array with usable t, x, y, p."""
    expected = "a 1-D numpy structured array with fields t, x, y, p"
    if not isinstance(events, np.ndarray):
        raise ValueError(f"{who}: events must be {expected}, got {type(events).__name__}")
    names = events.dtype.names
    if names is None:
        raise ValueError(f"{who}: events must be {expected}, got a plain {events.dtype} array "
                         f"of shape {events.shape}")
    if events.ndim != 1:
        raise ValueError(f"{who}: events must be {expected}, got a {events.ndim}-D array of shape "
                         f"{events.shape}")
    missing = [f for f in FIELDS if f not in names]
    if missing:
        raise ValueError(f"{who}: events must be {expected}; missing {', '.join(missing)} "
                         f"(fields: {', '.join(names)})")
    for name in FIELDS:
        ftype = events.dtype.fields[name][0]
        if ftype.shape != () or ftype.kind not in "biuf":
            raise ValueError(f"{who}: field {name!r} has type {ftype}; expected a scalar bool, "
                             "integer or float")
    if events.size >= 2**32:
        raise ValueError(f"{who}: more than 2**32 - 1 events in one sample")


def check_shape(who: str, T, sensor_size, downsample) -> tuple[int, int]:
    """``(H, W)`` after checking ``T``, ``sensor_size`` and ``downsample`` (one-line ValueErrors)."""
    if not is_int(T) or T < 1:
        raise ValueError(f"{who}: T must be a positive integer, got {T!r}")
    if not is_int(downsample) or downsample < 1:
        raise ValueError(f"{who}: downsample must be a positive integer, got {downsample!r}")
    if len(sensor_size) != 2 or not all(is_int(s) and s >= 1 for s in sensor_size):
        tonic = " (Tonic's sensor_size is (W, H, P); ours is (H, W))" if len(sensor_size) == 3 else ""
        raise ValueError(f"{who}: sensor_size must be two positive integers (H, W), got {sensor_size!r}{tonic}")
    H, W = (int(s) for s in sensor_size)
    return H, W


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


def columns(events: np.ndarray, H: int, W: int) -> tuple[dict, int]:
    """``({field: column}, bad_t)``: the kernels' columns (see the module docstring) and the
    first event whose timestamp no int64 holds (-1: none; the kernels must stop before it)."""
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
    return cols, bad_t


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
        problem = f"is outside the sensor {'width' if name == 'x' else 'height'} {limit}"
    return f"{'polarity ' if name == 'p' else ''}{name} = {v!s} {problem}"  # str: numpy's float32 digits


def describe_bad(events: np.ndarray, err: int, k: int, H: int, W: int) -> str:
    """What is wrong with event ``k`` of ``events`` (``err``: what :func:`find_bad` found), as the
    error messages say it: ``x = 9 is outside the sensor width 4``."""
    e = events[k]
    if err == UNSORTED:
        return f"timestamps not sorted (t[{k}] = {e['t']} < t[{k - 1}] = {events['t'][k - 1]})"
    name = {T_VALUE: "t", X_RANGE: "x", Y_RANGE: "y", P_RANGE: "p"}[err]
    return _describe(name, e[name], {"t": 0, "x": W, "y": H, "p": 2}[name])


def find_bad(who: str, events: np.ndarray, H: int, W: int, ordered: bool = False,
             kernel=None) -> tuple[dict, int, int]:
    """``(columns, error, event)``: the kernels' columns of ``events`` (:func:`columns`) and the
    first event in file order that is not usable (see the module docstring), ``(OK, -1)`` when
    all are. ``kernel(t, x, y, p) -> (error, event)`` checks the events, :func:`first_bad` by
    default (``ordered``: its timestamp check); another kernel must give first_bad's answer
    (integration's counts the events as it checks them, with :func:`out_of_range`). ``who``
    names the caller in the ValueError of a malformed array."""
    check_events(events, who)
    cols, bad_t = columns(events, H, W)
    n = events.size if bad_t < 0 else bad_t    # a bad timestamp: first look for an earlier error
    t, x, y, p = (cols[f][:n] for f in FIELDS)
    err, k = kernel(t, x, y, p) if kernel is not None else first_bad(t, x, y, p, W, H, ordered)
    if err == OK and bad_t >= 0:
        err, k = T_VALUE, bad_t
    return cols, err, k


def checked_columns(who: str, events: np.ndarray, H: int, W: int, ordered: bool,
                    error: type[Exception] = ValueError, kernel=None) -> dict:
    """The kernels' columns of ``events`` after every event was checked (:func:`find_bad`):
    inside the sensor, polarity 0/1, an int64 timestamp, and (``ordered``) sorted timestamps.
    The first bad event in file order is refused: ``error("{who}: event {k}: {what}")``."""
    cols, err, k = find_bad(who, events, H, W, ordered, kernel)
    if err != OK:
        raise error(f"{who}: event {k}: {describe_bad(events, err, k, H, W)}")
    return cols
