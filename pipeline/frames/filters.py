"""Event filters: Tonic 1.7's event filters as Numba kernels, with exactly Tonic's results.

A filter list is written in ``params.yaml`` as an ordered list of one-key mappings, and
:func:`apply` runs them in that order on an :data:`~pipeline.core.events.EVENT_DTYPE` array::

    filters:
      - denoise: {filter_time: 10000}
      - refractory_period: {refractory_period: 1000}

Each filter gives, event for event, what the Tonic function named in its entry of
:data:`FILTERS` gives on the same events (Tonic's numpy functions walk the events in Python;
these kernels are the same algorithms in one compiled pass). Like Tonic's, they process the
events in array order and never sort: unsorted input gives Tonic's result for that order.
What Tonic does that may surprise (each is what Tonic's code does, kept on purpose):

* ``denoise``: a pixel that has not fired counts as having fired at ``t = 0`` (Tonic's
  memory starts at ``filter_time``), so events with ``t < filter_time`` survive whenever
  they have a neighbour at all. The neighbourhood is the 4 pixels left, right, above,
  below (not the diagonals, not the pixel itself), clipped to the *data's* bounding box
  ``[0, max x] x [0, max y]`` (not the sensor's): a neighbour beyond the largest x or y in
  the sample does not exist. A neighbour counts if its last event before this one in array
  order has ``t_n > t - filter_time`` (strict; a neighbour's event with the same timestamp
  counts only if it comes earlier in the array).
* ``refractory_period``: keeps ``t - t_last > refractory_period`` (strict) per pixel, where
  ``t_last`` is the pixel's previous event *dropped or not* (a pixel firing faster than the
  period keeps only its first event); a pixel's first event is kept iff ``t > 0`` (so an
  event at ``t = 0`` is always dropped).
* ``drop_pixel`` with ``hot_pixel_frequency``: a pixel is hot if its event count is
  ``> hot_pixel_frequency * (t[-1] - t[0]) * 1e-6`` (the last minus the first timestamp in
  array order, not max - min): a sample whose events all have one timestamp loses every
  event. Tonic's ``DropPixel`` ignores ``coordinates`` when ``hot_pixel_frequency`` is given
  too; here the two are united. (Its ``hot_pixel_frequency=0`` means "off"; here it is refused.)
* ``crop_time``: keeps ``min_time <= t <= max_time`` (both inclusive); ``min_time`` defaults
  to 0 as in Tonic's ``CropTime`` (negative timestamps are dropped), no ``max_time`` means
  no upper bound. (Tonic's ``CropTime`` with ``max=None`` stores the first sample's
  largest ``t`` and crops every later sample to it; this one does not.)
* ``decimate``: keeps the n-th, 2n-th, ... event of each pixel (polarity ignored).
* ``time_skew``: ``t' = int64(t * coefficient + offset)``, truncated toward zero when the
  arithmetic is floating point (a float ``coefficient`` or ``offset``), in int64 otherwise.
  ``coefficient`` must be > 0 (Tonic takes any; a negative one would reverse the order).

Where Tonic fails we return a result: an empty input gives an empty output (Tonic's
``denoise``, ``refractory_period`` and ``decimate`` raise on it) and ``decimate`` keeping
nothing gives an empty EVENT_DTYPE array (Tonic's is a ``float64`` array).

Arithmetic is exact int64 (Tonic's memories are float64: the results are the same while
timestamps and ``t + argument`` stay below 2**53 µs, 285 years). Filter arguments are
integers (microseconds, counts, pixels) except ``hot_pixel_frequency`` (Hz) and
``time_skew``'s (numbers). A timestamp for which ``t + refractory_period``,
``t - filter_time`` or ``t * coefficient + offset`` would leave int64 is refused
(:class:`~pipeline.core.errors.FilterError`). Before any filter runs, :func:`apply` checks
every event once with :func:`pipeline.frames.columns.checked_columns` (the check every frame
kernel's input passes): an event outside the sensor or with a polarity other than 0/1 is
refused, naming the first one. The kernels index their per-pixel tables without checks (Numba
does not bounds-check): the filters keep or drop events and change only ``t``, so every
filter of the list gets events that check passed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from ..core.errors import FilterError
from ..core.events import EVENT_DTYPE
from ..core.filterparams import SPECS, Arg, FilterSpec, check_sensor, validate
from .columns import OK, T_RANGE, checked_columns

__all__ = ["FILTERS", "Arg", "Filter", "apply", "validate"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


# --------------------------------------------------------------------------- kernels
#
# Each takes the columns of the events (views of the structured array), the sensor size and
# the filter's arguments, writes ``keep[i]`` and returns ``(error, event, kept)``: ``error``
# is OK or T_RANGE for the first event whose timestamp the filter's arithmetic cannot take
# (in array order), and the kernel stops there. Every event must be inside the sensor: the
# kernels do not check it (apply checked every event with columns.checked_columns).


@numba.njit(cache=True)
def _denoise(t, x, y, W, H, filter_time, keep):
    """tonic.functional.denoise_numpy: keep an event if one of its 4 neighbours (inside the
    data's bounding box) fired at ``t_n`` with ``t_n + filter_time > t``; unfired = ``t_n = 0``."""
    n = t.shape[0]
    t_low = _INT64_MIN + filter_time      # t_n + filter_time > t is computed as t_n > t - filter_time
    w = 0
    h = 0
    for i in range(n):           # the data's bounding box (Tonic: max x + 1, max y + 1; not W, H), t's range
        xi = np.int64(x[i])
        yi = np.int64(y[i])
        if t[i] < t_low:
            return T_RANGE, i, 0
        if xi >= w:
            w = xi + 1
        if yi >= h:
            h = yi + 1
    # last event time per pixel of the box, with a frame of pixels outside it that never count
    # (INT64_MIN > t - filter_time is false): no bounds tests, no branches in the loop
    w2 = w + 2
    last = np.full(w2 * (h + 2), _INT64_MIN, np.int64)
    for yy in range(1, h + 1):
        last[yy * w2 + 1:yy * w2 + 1 + w] = 0
    kept = 0
    for i in range(n):
        ti = t[i]
        k = (np.int64(y[i]) + 1) * w2 + np.int64(x[i]) + 1
        last[k] = ti
        lim = ti - filter_time
        ok = (last[k - 1] > lim) | (last[k + 1] > lim) | (last[k - w2] > lim) | (last[k + w2] > lim)
        keep[i] = ok
        kept += ok
    return OK, -1, kept


@numba.njit(cache=True)
def _refractory_period(t, x, y, W, H, period, keep):
    """tonic.functional.refractory_period_numpy: keep ``t > t_last + period`` per pixel, where
    ``t_last`` is the pixel's previous event (kept or not), initially ``-period``."""
    n = t.shape[0]
    t_limit = _INT64_MAX - period
    last = np.full(W * H, -period, np.int64)
    kept = 0
    for i in range(n):
        xi = np.int64(x[i])
        yi = np.int64(y[i])
        ti = t[i]
        if ti > t_limit:
            return T_RANGE, i, 0
        k = yi * W + xi
        ok = ti > last[k] + period
        last[k] = ti
        keep[i] = ok
        kept += ok
    return OK, -1, kept


@numba.njit(cache=True)
def _decimate(x, y, W, H, every, keep):
    """tonic.functional.decimate_numpy: keep the every-th, 2*every-th, ... event of each pixel."""
    n = x.shape[0]
    count = np.zeros(W * H, np.int64)
    kept = 0
    for i in range(n):
        k = np.int64(y[i]) * W + np.int64(x[i])
        c = count[k] + 1
        if c >= every:
            count[k] = 0
            keep[i] = True
            kept += 1
        else:
            count[k] = c
            keep[i] = False
    return OK, -1, kept


@numba.njit(cache=True)
def _drop_pixel(x, y, W, H, use_hot, max_occur, drop, keep):
    """tonic.functional.identify_hot_pixel (a pixel with ``count > max_occur``, when ``use_hot``)
    then drop_pixel_numpy: drop every event of a pixel marked in ``drop`` (``H * W``, row-major)."""
    n = x.shape[0]
    if use_hot:
        count = np.zeros(W * H, np.int64)
        for i in range(n):
            count[np.int64(y[i]) * W + np.int64(x[i])] += 1
        for k in range(W * H):
            if count[k] > max_occur:       # int64 against Tonic's float64 threshold, as Tonic compares
                drop[k] = True
    kept = 0
    for i in range(n):
        ok = not drop[np.int64(y[i]) * W + np.int64(x[i])]
        keep[i] = ok
        kept += ok
    return OK, -1, kept


@numba.njit(cache=True)
def _crop_time(t, lo, hi, keep):
    """Tonic's CropTime: keep ``lo <= t <= hi``. Sorted input: returns (True, a, b), the events
    ``[a, b)`` (binary search, ``keep`` untouched); otherwise (False, -1, kept) and ``keep``."""
    n = t.shape[0]
    ordered = True
    for i in range(1, n):
        if t[i] < t[i - 1]:
            ordered = False
            break
    if ordered:
        a, b = 0, n                       # first t >= lo
        while a < b:
            m = (a + b) // 2
            if t[m] < lo:
                a = m + 1
            else:
                b = m
        first = a
        a, b = first, n                   # first t > hi
        while a < b:
            m = (a + b) // 2
            if t[m] <= hi:
                a = m + 1
            else:
                b = m
        return True, first, max(first, a)
    kept = 0
    for i in range(n):
        ok = t[i] >= lo and t[i] <= hi
        keep[i] = ok
        kept += ok
    return False, -1, kept


@numba.njit(cache=True)
def _time_skew(t, coefficient, offset, out):
    """tonic.functional.time_skew_numpy: ``int64(t * coefficient + offset)`` (numpy's types:
    int64 arithmetic for integer arguments, float64 from a float one on, truncated)."""
    for i in range(t.shape[0]):
        out[i] = np.int64(t[i] * coefficient + offset)


# --------------------------------------------------------------------------- running them

def _raise_t_range(where: str, events: np.ndarray, k: int, extra: str) -> None:
    raise FilterError(f"{where}: event {k}: t = {events['t'][k]}: {extra} is outside the int64 range")


# Copies and selections go through a plain ``V13`` view of the records: numpy copies a
# structured dtype field by field (~10x slower than copying the records as bytes).
_RECORD = np.dtype((np.void, EVENT_DTYPE.itemsize))


def _copy(events: np.ndarray) -> np.ndarray:
    return events.view(_RECORD).copy().view(EVENT_DTYPE)


def _select(events: np.ndarray, keep: np.ndarray, kept: int) -> np.ndarray:
    if kept == events.size:
        return _copy(events)
    return events.view(_RECORD)[keep].view(EVENT_DTYPE)


def _by_mask(events, sensor, where, kernel, columns, *args, extra=""):
    """The events a keep-mask kernel keeps: ``kernel(*columns, W, H, *args, keep)`` returns
    ``(error, event, kept)``; a T_RANGE error names the event (``extra``: the arithmetic that
    failed). ``events`` must be inside ``sensor`` (:func:`apply` checked them)."""
    H, W = sensor
    keep = np.empty(events.size, np.bool_)
    err, k, kept = kernel(*(events[c] for c in columns), W, H, *args, keep)
    if err != OK:
        _raise_t_range(where, events, k, extra)
    return _select(events, keep, kept)


def _run_denoise(events, args, sensor, where):
    ft = args["filter_time"]
    return _by_mask(events, sensor, where, _denoise, "txy", ft, extra=f"t - filter_time {ft}")


def _run_refractory_period(events, args, sensor, where):
    rp = args["refractory_period"]
    return _by_mask(events, sensor, where, _refractory_period, "txy", rp, extra=f"t + refractory_period {rp}")


def _run_decimate(events, args, sensor, where):
    return _by_mask(events, sensor, where, _decimate, "xy", args["n"])


def _run_drop_pixel(events, args, sensor, where):
    H, W = sensor
    if events.size == 0:                  # Tonic's DropPixel returns an empty input as it is
        return _copy(events)
    drop = np.zeros(H * W, np.bool_)
    for x, y in args["coordinates"] or ():
        drop[y * W + x] = True            # validate() checked each pair against the sensor
    hpf = args["hot_pixel_frequency"]
    max_occur = 0.0
    if hpf is not None:
        # Tonic's expression, on the same numpy scalar types (so the same float64 threshold)
        with np.errstate(over="raise", invalid="raise"):
            try:
                total_time = events["t"][-1] - events["t"][0]
                max_occur = float(hpf * total_time * 1e-6)
            except FloatingPointError:
                raise FilterError(f"{where}: t[-1] - t[0] = {int(events['t'][-1]) - int(events['t'][0])} "
                                  f"(times hot_pixel_frequency {hpf}) exceeds the int64 range") from None
    return _by_mask(events, sensor, where, _drop_pixel, "xy", hpf is not None, max_occur, drop)


def _run_crop_time(events, args, sensor, where):
    lo = args["min_time"]
    hi = _INT64_MAX if args["max_time"] is None else args["max_time"]
    keep = np.empty(events.size, np.bool_)
    ordered, a, b = _crop_time(events["t"], lo, hi, keep)
    if ordered:
        return _copy(events[a:b])
    return _select(events, keep, b)


def _run_time_skew(events, args, sensor, where):
    coef, offset = args["coefficient"], args["offset"]
    out = _copy(events)
    if events.size == 0:
        return out
    t = events["t"]
    # the result at the extremes (t * coefficient + offset is monotone for coefficient > 0)
    floating = isinstance(coef, float) or isinstance(offset, float)
    for tv in (int(t.min()), int(t.max())):
        if isinstance(coef, float):
            r = tv * coef + offset        # float64(t) * coef, as numpy and the kernel compute it
        else:
            prod = tv * coef
            if not _INT64_MIN <= prod <= _INT64_MAX:
                r = None
            else:
                r = float(prod) + offset if floating else prod + offset
        ok = r is not None and (-(2.0**63) <= r < 2.0**63 if floating else _INT64_MIN <= r <= _INT64_MAX)
        if not ok:
            raise FilterError(f"{where}: t = {tv} * coefficient {coef} + offset {offset} is outside the int64 range")
    _time_skew(t, np.float64(coef) if isinstance(coef, float) else np.int64(coef),
               np.float64(offset) if isinstance(offset, float) else np.int64(offset), out["t"])
    return out


# --------------------------------------------------------------------------- the registry

@dataclass(frozen=True)
class Filter:
    """A filter of :data:`FILTERS`: its :class:`~pipeline.core.filterparams.FilterSpec` (name,
    arguments, summary, Tonic's counterpart; its attributes are the Filter's), its runner
    (checks, kernel, output) and its Numba kernel. Both take only events :func:`apply` has
    checked (inside the sensor): call :func:`apply`."""

    spec: FilterSpec
    run: Callable                      # (events, args, (H, W), where) -> new events
    kernel: Callable                   # the @njit kernel run calls

    def __getattr__(self, name):
        return getattr(self.spec, name)


_RUNNERS = {"denoise": (_run_denoise, _denoise), "refractory_period": (_run_refractory_period, _refractory_period),
            "drop_pixel": (_run_drop_pixel, _drop_pixel), "crop_time": (_run_crop_time, _crop_time),
            "decimate": (_run_decimate, _decimate), "time_skew": (_run_time_skew, _time_skew)}

#: The filters by name, in the order the docs list them.
FILTERS: dict[str, Filter] = {name: Filter(spec, *_RUNNERS[name]) for name, spec in SPECS.items()}


def _inferred(events: np.ndarray, steps) -> tuple[tuple[int, int], list]:
    """With no sensor given, as Tonic infers one: ``(H, W)`` one past the largest y and x of the
    events (1 x 1 for none), and the steps with any listed pixel beyond it left out (no event
    can be there: ``drop_pixel``'s ``coordinates`` then match nothing, as in Tonic)."""
    x_max = int(events["x"].max()) if events.size else 0
    y_max = int(events["y"].max()) if events.size else 0
    out = []
    for name, args in steps:
        if args.get("coordinates"):
            args = {**args, "coordinates": [(x, y) for x, y in args["coordinates"] if x <= x_max and y <= y_max]}
        out.append((name, args))
    return (y_max + 1, x_max + 1), out


def apply(events: np.ndarray, filters, sensor_size: tuple[int, int] | None = None) -> np.ndarray:
    """``events`` (an :data:`EVENT_DTYPE` array) after the filters of ``filters``, in order;
    a new array (the input is never modified). ``sensor_size`` is ``(H, W)``; omitted, it is
    inferred from the events as Tonic does (one past their largest y and x). No filter's
    result depends on the sensor beyond which pixels exist (``denoise`` clips its
    neighbourhood to the events' own largest x and y either way), so both give the same events.

    The list is checked first (:func:`validate`, :class:`~pipeline.core.errors.ParamsError`),
    then the events: anything but a 1-D EVENT_DTYPE array, an event outside a given sensor or
    a polarity other than 0/1 raises :class:`~pipeline.core.errors.FilterError` before any
    filter runs (:func:`pipeline.frames.columns.checked_columns`, once for the whole list).
    """
    sensor = None if sensor_size is None else check_sensor(sensor_size, FilterError)
    steps = validate(filters, sensor)
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        got = (f"a {events.ndim}-D array of {events.dtype}" if isinstance(events, np.ndarray)
               else type(events).__name__)
        raise FilterError(f"filters: events must be a 1-D pipeline.core.events.EVENT_DTYPE array "
                          f"(make_events builds one), got {got}")
    if sensor is None:
        sensor, steps = _inferred(events, steps)
    if steps:
        checked_columns("filters", events, *sensor, ordered=False, error=FilterError)
    out = events
    for i, (name, args) in enumerate(steps):
        out = FILTERS[name].run(out, args, sensor, f"filters[{i}] {name}")
    return _copy(out) if out is events else out
