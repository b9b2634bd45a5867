"""A list of named operations with typed, bounded arguments, and its check (no kernels here).

``params.yaml`` writes such lists as ordered one-key mappings, ``[{name: {argument: value}}]``:
``frames.filters`` (:mod:`.filterparams`) and ``train.augment`` (:mod:`.augmentparams`). Each
list's table of :class:`OpSpec` names its operations and their :class:`Arg` s; :func:`check_list`
checks a list against it before any work, in one line naming the entry and the argument.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .errors import ParamsError

__all__ = ["MAX_OPS", "Arg", "OpSpec", "check_list", "did_you_mean", "is_int", "short"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: the most entries one list may have
MAX_OPS = 64


@dataclass(frozen=True)
class Arg:
    """One argument of an operation: ``kind`` "int" (a whole number, not bool), "number" (int or
    finite float), "pixels" (a list of ``[x, y]`` pairs inside the sensor) or "choice" (one of
    ``choices``), bounded by ``min`` and ``max`` where given."""

    name: str
    kind: str
    doc: str
    required: bool = True
    default: object = None
    min: float | None = None          # inclusive lower bound ...
    min_exclusive: bool = False       # ... or exclusive
    max: float | None = None          # inclusive upper bound
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "choice":
            kind = " | ".join(self.choices)
        else:
            kind = {"int": "integer", "number": "number", "pixels": "[[x, y], ...]"}[self.kind]
        if self.min is not None and self.max is not None:
            kind += f" in {'(' if self.min_exclusive else '['}{self.min:g}, {self.max:g}]"
        elif self.min is not None:
            kind += f" {'>' if self.min_exclusive else '>='} {self.min:g}"
        elif self.max is not None:
            kind += f" <= {self.max:g}"
        opt = "" if self.required else f", optional (default {self.default})"
        return f"{self.name}: {kind}{opt}"


@dataclass(frozen=True)
class OpSpec:
    """An operation's name, what it does, where its meaning comes from and its arguments."""

    name: str
    summary: str
    reference: str
    args: tuple[Arg, ...]
    needs_one_of: tuple[str, ...] = ()  # at least one of these optional arguments must be given

    def usage(self) -> str:
        """``name {arg: type, ...}``, as params.yaml writes it."""
        return f"{self.name} {{{', '.join(a.describe() for a in self.args)}}}"


def is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def did_you_mean(word, known, prefix: str = "") -> str:
    """`` (did you mean 'x'?)`` for the name of ``known`` closest to ``word`` (difflib, case
    ignored: ``frames.t`` finds ``T``), with ``prefix`` before it; "" when none is close."""
    by_lower = {str(k).lower(): str(k) for k in known}
    close = difflib.get_close_matches(str(word).lower(), by_lower, n=1)
    return f" (did you mean {prefix + by_lower[close[0]]!r}?)" if close else ""


def short(v, limit: int = 60) -> str:
    text = repr(v).replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _pixels(where: str, arg: Arg, v, sensor) -> list[tuple[int, int]]:
    if not isinstance(v, (list, tuple)):
        raise ParamsError(f"{where}: argument {arg.name!r} must be a list of [x, y] pairs, got {short(v)}")
    pairs = []
    for j, pair in enumerate(v):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(is_int(c) for c in pair)):
            raise ParamsError(f"{where}: argument {arg.name!r}[{j}] must be an [x, y] pair of integers, "
                              f"got {short(pair)}")
        x, y = int(pair[0]), int(pair[1])
        if x < 0 or y < 0:
            raise ParamsError(f"{where}: argument {arg.name!r}[{j}] = [{x}, {y}] is negative")
        if sensor is not None and (x >= sensor[1] or y >= sensor[0]):
            raise ParamsError(f"{where}: argument {arg.name!r}[{j}] = [{x}, {y}] is outside the sensor "
                              f"(width {sensor[1]}, height {sensor[0]})")
        pairs.append((x, y))
    return pairs


def value(where: str, arg: Arg, v, sensor=None):
    """``v`` checked against ``arg`` and normalised (Python int / float / str / list of (x, y))."""
    if arg.kind == "pixels":
        return _pixels(where, arg, v, sensor)
    if arg.kind == "choice":
        if not isinstance(v, str) or v not in arg.choices:
            raise ParamsError(f"{where}: argument {arg.name!r} = {short(v)} must be one of "
                              f"{', '.join(arg.choices)}{did_you_mean(v, arg.choices)}")
        return v
    if arg.kind == "int":
        if not is_int(v):
            raise ParamsError(f"{where}: argument {arg.name!r} must be an integer ({arg.doc}), "
                              f"got {type(v).__name__} {short(v)}")
        v = int(v)
        if not _INT64_MIN <= v <= _INT64_MAX:
            raise ParamsError(f"{where}: argument {arg.name!r} = {v} is outside the int64 range")
    else:
        if not (is_int(v) or isinstance(v, (float, np.floating))):
            raise ParamsError(f"{where}: argument {arg.name!r} must be a number ({arg.doc}), "
                              f"got {type(v).__name__} {short(v)}")
        v = int(v) if is_int(v) else float(v)
        if isinstance(v, float) and not math.isfinite(v):
            raise ParamsError(f"{where}: argument {arg.name!r} = {v} is not finite")
        if isinstance(v, int) and not _INT64_MIN <= v <= _INT64_MAX:
            raise ParamsError(f"{where}: argument {arg.name!r} = {v} is outside the int64 range")
    if arg.min is not None and (v <= arg.min if arg.min_exclusive else v < arg.min):
        raise ParamsError(f"{where}: argument {arg.name!r} = {v} must be {'>' if arg.min_exclusive else '>='} "
                          f"{arg.min:g}")
    if arg.max is not None and v > arg.max:
        raise ParamsError(f"{where}: argument {arg.name!r} = {v} must be <= {arg.max:g}")
    return v


def check_list(entries, specs: Mapping[str, OpSpec], where: str, noun: str, example: str, sensor=None,
               extra: Callable[[str, str, dict], None] | None = None) -> list[tuple[str, dict]]:
    """Check a whole list (as params.yaml writes it) against ``specs``; returns ``[(name,
    arguments with defaults filled in), ...]`` in order. ``None`` is an empty list.

    Raises :class:`~pipeline.core.errors.ParamsError` with a one-line message naming the entry
    (``where[i] name``) and the argument: not a list of one-key mappings, more than
    :data:`MAX_OPS` entries, an unknown ``noun``, a missing, unknown, mistyped or out-of-range
    argument. ``extra(at, name, args)`` checks what arguments cannot do together.
    """
    if entries is None:
        return []
    if not isinstance(entries, (list, tuple)):
        raise ParamsError(f"{where}: expected a list of one-key mappings like {example}, "
                          f"got {type(entries).__name__} {short(entries)}")
    if len(entries) > MAX_OPS:
        raise ParamsError(f"{where}: {len(entries)} entries, more than the {MAX_OPS} allowed")
    out = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ParamsError(f"{at}: expected a one-key mapping {{{noun}_name: {{arguments}}}}, got "
                              f"{type(entry).__name__} {short(entry)}")
        (name, raw), = entry.items()
        spec = specs.get(name) if isinstance(name, str) else None
        if spec is None:
            raise ParamsError(f"{at}: unknown {noun} {short(name)}{did_you_mean(name, specs)}; "
                              f"{noun}s: {', '.join(specs)}")
        at = f"{at} {name}"
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            args_hint = ", ".join(a.name + ": ..." for a in spec.args)
            raise ParamsError(f"{at}: arguments must be a mapping {{{args_hint}}}, got {type(raw).__name__} {short(raw)}")
        known = {a.name: a for a in spec.args}
        for key in raw:
            if key not in known:
                listed = f"arguments: {', '.join(known)}" if known else "it takes no arguments"
                raise ParamsError(f"{at}: unknown argument {short(key)}{did_you_mean(key, known)}; {listed}")
        args = {}
        for a in spec.args:
            if a.name not in raw or (raw[a.name] is None and not a.required and a.default is None):
                if a.required:
                    raise ParamsError(f"{at}: missing argument {a.name!r} ({a.describe()})")
                args[a.name] = a.default
            else:
                args[a.name] = value(at, a, raw[a.name], sensor)
        if spec.needs_one_of and all(args[k] is None for k in spec.needs_one_of):
            raise ParamsError(f"{at}: give {' and/or '.join(repr(k) for k in spec.needs_one_of)}")
        if extra is not None:
            extra(at, name, args)
        out.append((name, args))
    return out
