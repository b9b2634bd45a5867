"""Bounds on a pickle, checked opcode by opcode before (or while) anything builds it.

Python's unpickler builds whatever the file describes, and some of what then touches the result
recurses in C without a bound: a dict key that is a tuple nested 10**6 deep is hashed to its
bottom, which ends the process with SIGSEGV (no message, no traceback). :class:`Bounds` follows
the pickle's stack as :func:`pickletools.genops` parses it (which finds a truncated or malformed
opcode at its byte offset), knowing of each value only how deep it is nested, and refuses with
:class:`PickleRefused`, naming the byte offset:

- a value nested deeper than :attr:`Limits.depth`. A value's depth is 0 when nothing the pickle
  built went into it (a number, a string, a global, an empty container), else one more than the
  deepest value it was built from (TUPLE, LIST, DICT, REDUCE, NEWOBJ, ...) or given afterwards
  (APPEND(S), SETITEM(S), ADDITEMS, BUILD): the depth of a tuple, list or dict, and a bound on
  whatever a global builds from its arguments;
- more than :attr:`Limits.opcodes` opcodes, or a pickle longer than :attr:`Limits.size` bytes
  (what the unpickler builds grows with both);
- with ``Limits.cycles`` False, a value changed after it went into another: a cycle, or a
  hand-made pickle (``torch.save`` writes neither). With ``cycles`` True such a change is not
  counted again in what holds the value, so the depth bounds only what cannot change: tuples
  within tuples, all that hashing a dict key walks.

It builds nothing and calls nothing, so any pickle can be checked, whatever globals it names:
:func:`check_pickle` walks a whole pickle (a model's or a checkpoint's ``data.pkl``, before
``torch.load``: :func:`pipeline.train.checkpoint.load_checked`); :mod:`pipeline.io.cifar`'s
machine calls :meth:`Bounds.step` after each opcode it runs, so a value too deep is refused as
soon as it is built, before anything hashes it.
"""

from __future__ import annotations

import io
import pickletools
from dataclasses import dataclass

_MARK = pickletools.markobject
_SAME = frozenset({"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"})   # change the value below
_MEMO_PUT = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_MEMO_GET = frozenset({"GET", "BINGET", "LONG_BINGET"})


class PickleRefused(ValueError):
    """A pickle beyond its :class:`Limits`, or not a readable one: ``[where, ]byte offset N: what``
    on one line (``where``: the file or member, where a caller knows it)."""

    def __init__(self, offset: int, what: str, where: str = ""):
        super().__init__(f"{where}, byte offset {offset}: {what}" if where else f"byte offset {offset}: {what}")
        self.offset, self.what = offset, what


@dataclass(frozen=True)
class Limits:
    depth: int                  # values nested at most this deep (see the module's doc)
    opcodes: int | None = None  # None: as many as the pickle has
    size: int | None = None     # bytes of the pickle; None: any
    cycles: bool = True         # False: refuse a value changed after it went into another


@dataclass(frozen=True)
class Measured:
    """What :func:`check_pickle` found in a pickle that passed."""
    depth: int
    opcodes: int
    size: int


class _Shared:
    """A value that the memo (or DUP) refers to as well as the stack: how deep it is nested, and
    whether it went into another. Any other value on the stack is just its depth, an int: nothing
    else can refer to it, so once it goes into another it is gone."""
    __slots__ = ("depth", "held")

    def __init__(self, depth: int):
        self.depth, self.held = depth, False


def _depth(v) -> int:
    return v if type(v) is int else v.depth


def _shape(op: pickletools.OpcodeInfo) -> tuple[int, bool, int]:
    """(values taken below a MARK or in all, whether it takes a MARK's slice, values it pushes)."""
    before = op.stack_before
    if _MARK in before:
        return before.index(_MARK), True, len(op.stack_after)
    return len(before), False, len(op.stack_after)


_SHAPES = {op.name: _shape(op) for op in pickletools.opcodes}


class Bounds:
    """Follows one pickle's stack, one opcode at a time (:meth:`step`), within ``limits``."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.stack: list = []                    # an int (a depth) or a _Shared, per value
        self.marks: list[int] = []
        self.memo: dict[int, _Shared] = {}
        self.opcodes = self.deepest = 0

    def step(self, op: pickletools.OpcodeInfo, arg, pos: int) -> None:
        """Account for opcode ``op`` (as genops yields it) at byte offset ``pos``; raises
        :class:`PickleRefused` beyond the limits or for an opcode the stack cannot take."""
        self.opcodes += 1
        if self.limits.opcodes is not None and self.opcodes > self.limits.opcodes:
            raise PickleRefused(pos, f"more than {self.limits.opcodes} opcodes")
        name, stack = op.name, self.stack
        if name in ("PROTO", "FRAME", "READONLY_BUFFER"):
            return
        if name == "MARK":
            self.marks.append(len(stack))
        elif name in _MEMO_PUT or name == "MEMOIZE" or name == "DUP":
            if not stack or (self.marks and len(stack) <= self.marks[-1]):
                raise PickleRefused(pos, f"{name} of nothing: not a readable pickle")
            if type(stack[-1]) is int:
                stack[-1] = _Shared(stack[-1])
            if name == "DUP":
                stack.append(stack[-1])
            else:
                self.memo[len(self.memo) if name == "MEMOIZE" else arg] = stack[-1]
        elif name in _MEMO_GET:
            if arg not in self.memo:
                raise PickleRefused(pos, f"memo index {arg} was never stored: not a readable pickle")
            stack.append(self.memo[arg])
        else:
            below, marked, after = _SHAPES[name]
            items = []
            if marked:
                if not self.marks:
                    raise PickleRefused(pos, f"{name} without a MARK: not a readable pickle")
                at = self.marks.pop()
                items, stack[at:] = stack[at:], []
            if len(stack) < below or (self.marks and len(stack) - below < self.marks[-1]):
                raise PickleRefused(pos, f"{name} on too short a stack: not a readable pickle")
            if below:
                items[:0], stack[-below:] = stack[-below:], []
            if name == "STACK_GLOBAL":               # a global holds nothing the pickle built
                stack.append(0)
            elif name in _SAME:
                self._change(items[0], items[1:], pos)
            elif after:
                stack.append(self._into(items, pos))

    def _into(self, items: list, pos: int) -> int:
        """The depth of a value that ``items`` go into; they are held from now on."""
        if not items:
            return 0
        depth = 1 + max(map(_depth, items))
        if depth > self.limits.depth:
            raise PickleRefused(pos, f"values nested more than {self.limits.depth} deep (tuples, lists, "
                                     "dicts or objects within each other)")
        self.deepest = max(self.deepest, depth)
        for v in items:
            if type(v) is not int:
                v.held = True
        return depth

    def _change(self, target, items: list, pos: int) -> None:
        """``items`` go into ``target`` (APPEND, SETITEM, BUILD, ...), which stays on the stack."""
        if type(target) is int:
            self.stack.append(max(target, self._into(items, pos)))
            return
        if not self.limits.cycles and (target.held or any(v is target for v in items)):
            raise PickleRefused(pos, "a value changed after it went into another (a cycle, or a "
                                     "hand-made pickle)")
        target.depth = max(target.depth, self._into(items, pos))
        self.stack.append(target)


def check_pickle(raw: bytes, limits: Limits) -> Measured:
    """Walk the whole pickle ``raw`` within ``limits`` without building it: what it measured,
    or :class:`PickleRefused` (also for a pickle that genops cannot parse, or without STOP)."""
    if limits.size is not None and len(raw) > limits.size:
        raise PickleRefused(0, f"a pickle of {len(raw)} bytes, more than {limits.size}")
    bounds, f, pos = Bounds(limits), io.BytesIO(raw), 0
    try:
        for op, arg, pos in pickletools.genops(f):
            bounds.step(op, arg, pos)
            if op.name == "STOP":
                return Measured(bounds.deepest, bounds.opcodes, len(raw))
            pos = f.tell()
    except PickleRefused:
        raise
    except Exception as e:      # noqa: BLE001 - genops' ValueError for a bad or truncated opcode, ...
        raise PickleRefused(pos, f"not a readable pickle ({type(e).__name__}: {str(e)[:100]})") from None
    raise PickleRefused(pos, "no STOP opcode: not a readable pickle")
