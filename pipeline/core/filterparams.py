"""The event filters' names and arguments, and the check of a filter list (no kernels here).

``params.yaml`` lists filters as ordered one-key mappings (``frames.filters``); every stage
checks them with :func:`validate` when it loads the params, before any work, without
importing the kernels (:mod:`pipeline.frames.filters`, which runs them).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np

from .errors import ParamsError

__all__ = ["SPECS", "Arg", "FilterSpec", "check_sensor", "did_you_mean", "validate"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Arg:
    """One argument of a filter: ``kind`` "int" (a whole number, not bool), "number" (int or
    finite float) or "pixels" (a list of ``[x, y]`` pairs inside the sensor)."""

    name: str
    kind: str
    doc: str
    required: bool = True
    default: object = None
    min: float | None = None          # inclusive lower bound ...
    min_exclusive: bool = False       # ... or exclusive

    def describe(self) -> str:
        kind = {"int": "integer", "number": "number", "pixels": "[[x, y], ...]"}[self.kind]
        if self.min is not None:
            kind += f" {'>' if self.min_exclusive else '>='} {self.min:g}"
        opt = "" if self.required else f", optional (default {self.default})"
        return f"{self.name}: {kind}{opt}"


@dataclass(frozen=True)
class FilterSpec:
    """A filter's name, what it does, Tonic's counterpart and its arguments."""

    name: str
    summary: str
    tonic: str
    args: tuple[Arg, ...]
    needs_one_of: tuple[str, ...] = ()  # at least one of these optional arguments must be given

    def usage(self) -> str:
        """``name {arg: type, ...}``, as params.yaml writes it."""
        return f"{self.name} {{{', '.join(a.describe() for a in self.args)}}}"


_SPEC_LIST = [
    FilterSpec("denoise", "drop an event unless one of its 4 neighbouring pixels fired less than filter_time "
               "µs before it", "tonic.functional.denoise_numpy / tonic.transforms.Denoise",
               (Arg("filter_time", "int", "µs", min=1),)),
    FilterSpec("refractory_period", "drop an event less than or exactly refractory_period µs after its pixel's "
               "previous event (dropped or not)",
               "tonic.functional.refractory_period_numpy / tonic.transforms.RefractoryPeriod",
               (Arg("refractory_period", "int", "µs", min=0),)),
    FilterSpec("drop_pixel", "drop every event of the given pixels and/or of the pixels firing above "
               "hot_pixel_frequency Hz on average over the sample",
               "tonic.functional.identify_hot_pixel + drop_pixel_numpy / tonic.transforms.DropPixel",
               (Arg("hot_pixel_frequency", "number", "Hz", required=False, min=0, min_exclusive=True),
                Arg("coordinates", "pixels", "[[x, y], ...]", required=False)),
               needs_one_of=("hot_pixel_frequency", "coordinates")),
    FilterSpec("crop_time", "keep the events with min_time <= t <= max_time", "tonic.transforms.CropTime",
               (Arg("min_time", "int", "µs", required=False, default=0),
                Arg("max_time", "int", "µs", required=False, default=None))),
    FilterSpec("decimate", "keep every n-th event of each pixel", "tonic.functional.decimate_numpy / "
               "tonic.transforms.Decimation", (Arg("n", "int", "events", min=1),)),
    FilterSpec("time_skew", "t = int(t * coefficient + offset)", "tonic.functional.time_skew_numpy / "
               "tonic.transforms.TimeSkew",
               (Arg("coefficient", "number", "", min=0, min_exclusive=True),
                Arg("offset", "number", "µs", required=False, default=0))),
]

#: The filters by name, in the order the docs list them.
SPECS: dict[str, FilterSpec] = {f.name: f for f in _SPEC_LIST}


# --------------------------------------------------------------------------- validation

def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def did_you_mean(word, known, prefix: str = "") -> str:
    """`` (did you mean 'x'?)`` for the name of ``known`` closest to ``word`` (difflib, case
    ignored: ``frames.t`` finds ``T``), with ``prefix`` before it; "" when none is close."""
    by_lower = {str(k).lower(): str(k) for k in known}
    close = difflib.get_close_matches(str(word).lower(), by_lower, n=1)
    return f" (did you mean {prefix + by_lower[close[0]]!r}?)" if close else ""


def _short(v, limit: int = 60) -> str:
    text = repr(v).replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_sensor(sensor_size, error=ParamsError) -> tuple[int, int]:
    try:
        ok = len(sensor_size) == 2 and all(_is_int(s) and 1 <= s <= 65536 for s in sensor_size)
    except TypeError:
        ok = False
    if not ok:
        raise error(f"filters: sensor_size must be two integers (H, W) in [1, 65536], got {_short(sensor_size)}")
    return int(sensor_size[0]), int(sensor_size[1])


def _value(where: str, arg: Arg, v, sensor):
    """``v`` checked against ``arg`` and normalised (Python int / float / list of (x, y))."""
    if arg.kind == "pixels":
        if not isinstance(v, (list, tuple)):
            raise ParamsError(f"{where}: argument {arg.name!r} must be a list of [x, y] pairs, got {_short(v)}")
        pairs = []
        for j, pair in enumerate(v):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(_is_int(c) for c in pair)):
                raise ParamsError(f"{where}: argument {arg.name!r}[{j}] must be an [x, y] pair of integers, "
                                  f"got {_short(pair)}")
            x, y = int(pair[0]), int(pair[1])
            if x < 0 or y < 0:
                raise ParamsError(f"{where}: argument {arg.name!r}[{j}] = [{x}, {y}] is negative")
            if sensor is not None and (x >= sensor[1] or y >= sensor[0]):
                raise ParamsError(f"{where}: argument {arg.name!r}[{j}] = [{x}, {y}] is outside the sensor "
                                  f"(width {sensor[1]}, height {sensor[0]})")
            pairs.append((x, y))
        return pairs
    if arg.kind == "int":
        if not _is_int(v):
            raise ParamsError(f"{where}: argument {arg.name!r} must be an integer ({arg.doc}), "
                              f"got {type(v).__name__} {_short(v)}")
        v = int(v)
        if not _INT64_MIN <= v <= _INT64_MAX:
            raise ParamsError(f"{where}: argument {arg.name!r} = {v} is outside the int64 range")
    else:
        if not (_is_int(v) or isinstance(v, (float, np.floating))):
            raise ParamsError(f"{where}: argument {arg.name!r} must be a number ({arg.doc}), "
                              f"got {type(v).__name__} {_short(v)}")
        v = int(v) if _is_int(v) else float(v)
        if isinstance(v, float) and not math.isfinite(v):
            raise ParamsError(f"{where}: argument {arg.name!r} = {v} is not finite")
        if isinstance(v, int) and not _INT64_MIN <= v <= _INT64_MAX:
            raise ParamsError(f"{where}: argument {arg.name!r} = {v} is outside the int64 range")
    if arg.min is not None and (v <= arg.min if arg.min_exclusive else v < arg.min):
        raise ParamsError(f"{where}: argument {arg.name!r} = {v} must be {'>' if arg.min_exclusive else '>='} "
                          f"{arg.min:g}")
    return v


def validate(filters, sensor_size=None, where: str = "filters") -> list[tuple[str, dict]]:
    """Check a whole filter list (as params.yaml writes it) before any work; returns
    ``[(name, arguments with defaults filled in), ...]`` in order.

    Raises :class:`~pipeline.core.errors.ParamsError` with a one-line message naming the entry
    (``filters[i] name``) and the argument: a list that is not a list of one-key mappings,
    an unknown filter, a missing, unknown, mistyped or out-of-range argument. ``None`` is an
    empty list. With ``sensor_size = (H, W)``, pixel coordinates are checked against it.
    """
    sensor = None if sensor_size is None else check_sensor(sensor_size)
    if filters is None:
        return []
    if not isinstance(filters, (list, tuple)):
        raise ParamsError(f"{where}: expected a list of one-key mappings like "
                          f"[{{denoise: {{filter_time: 10000}}}}], got {type(filters).__name__} {_short(filters)}")
    out = []
    for i, entry in enumerate(filters):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ParamsError(f"{at}: expected a one-key mapping {{filter_name: {{arguments}}}}, got "
                              f"{type(entry).__name__} {_short(entry)}")
        (name, raw), = entry.items()
        spec = SPECS.get(name) if isinstance(name, str) else None
        if spec is None:
            raise ParamsError(f"{at}: unknown filter {_short(name)}{did_you_mean(name, SPECS)}; "
                              f"filters: {', '.join(SPECS)}")
        at = f"{at} {name}"
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ParamsError(f"{at}: arguments must be a mapping {{{', '.join(a.name + ': ...' for a in spec.args)}}}"
                              f", got {type(raw).__name__} {_short(raw)}")
        known = {a.name: a for a in spec.args}
        for key in raw:
            if key not in known:
                raise ParamsError(f"{at}: unknown argument {_short(key)}{did_you_mean(key, known)}; "
                                  f"arguments: {', '.join(known)}")
        args = {}
        for a in spec.args:
            if a.name not in raw or (raw[a.name] is None and not a.required and a.default is None):
                if a.required:
                    raise ParamsError(f"{at}: missing argument {a.name!r} ({a.describe()})")
                args[a.name] = a.default
            else:
                args[a.name] = _value(at, a, raw[a.name], sensor)
        if spec.needs_one_of and all(args[k] is None for k in spec.needs_one_of):
            raise ParamsError(f"{at}: give {' and/or '.join(repr(k) for k in spec.needs_one_of)}")
        if name == "crop_time" and args["max_time"] is not None and args["min_time"] > args["max_time"]:
            raise ParamsError(f"{at}: min_time {args['min_time']} > max_time {args['max_time']} "
                              "would drop every event")
        out.append((name, args))
    return out


