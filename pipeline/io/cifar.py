"""CIFAR-10's Python batches (``cifar-10-batches-py/data_batch_1`` ... ``test_batch``).

Each batch is a Python 2 pickle (protocol 2) of a dict with bytes keys: ``b"data"`` a uint8
array (N, 3072), each row a 32x32 image as 1024 red, 1024 green then 1024 blue bytes in row
order, and ``b"labels"`` a list of N ints 0..9 (also ``b"batch_label"``, ``b"filenames"``).
Batches that users re-saved from Python 3 read too (protocols 2 to 5: bytes written as
``_codecs.encode(str, "latin1")`` at protocol 2, numpy's ``_frombuffer`` at protocol 5, str
keys as well as bytes keys).

A pickle is a program, and Python's unpickler runs the callables it names, recurses into
what it builds and allocates what the file asks for. So the file is not given to it: a small
machine here runs the opcodes (as :func:`pickletools.genops` parses them, which finds
truncated or malformed opcodes at their byte offset) with only what a CIFAR-10 batch needs:
containers, bytes, strings, small ints, the memo, and five globals, each a guard that accepts
only the arguments numpy and Python pickle these batches with and builds nothing larger than
the file. Any other global or opcode is refused, naming the file, the byte offset and what it
was, before anything is called. The machine's own bounds:

- values nest at most :data:`MAX_DEPTH` deep (Python hashes a tuple key recursively: a file of
  10**6 nested tuples used to crash the process), as :class:`pipeline.core.picklecheck.Bounds`
  measures them on each opcode run (models and checkpoints are bounded by the same before
  ``torch.load``), and nothing here recurses into the result;
- memory: every object the pickle builds is charged against a budget of
  :data:`BUDGET_FACTOR` times the file's size plus :data:`BUDGET_BASE` bytes (a file of empty
  dicts used to take 90 times its size);
- memo indices are bounded by the opcodes read; numbers in error messages are shown by size.
"""

from __future__ import annotations

import io
import pickletools
from pathlib import Path

import numpy as np

from ..core.errors import ImageFormatError
from ..core.picklecheck import Bounds, Limits, PickleRefused

CLASSES = 10
CHANNELS, HEIGHT, WIDTH = 3, 32, 32
ROW = CHANNELS * HEIGHT * WIDTH                  # 3072 bytes per image
MAX_DEPTH = 32                                   # tuples, lists, dicts within each other
BUDGET_FACTOR, BUDGET_BASE = 3, 64 << 20         # bytes the built objects may take: 3 x file + 64 MiB
ALLOWED = (("numpy.core.multiarray", "_reconstruct"),    # numpy 1.x (the official files)
           ("numpy._core.multiarray", "_reconstruct"),   # numpy 2.x
           ("numpy", "ndarray"), ("numpy", "dtype"),
           ("_codecs", "encode"),                        # Python 3's bytes at protocol 2
           ("numpy.core.numeric", "_frombuffer"),        # numpy's arrays at protocol 5
           ("numpy._core.numeric", "_frombuffer"))
_MEMO_OPS = ("PUT", "BINPUT", "LONG_BINPUT")
_PY2_STR = ("STRING", "BINSTRING", "SHORT_BINSTRING")  # a Python 2 str: bytes (encoding="bytes")
_BYTES = ("SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "BYTEARRAY8")
_UNICODE = ("BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8")
_DTYPE_STATE = (3, "|", None, None, None, -1, -1, 0)   # numpy's state of dtype("u1")


def _shown(v, width: int = 40) -> str:
    """A value of the file, for a message: short, whatever the file holds."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        return repr(v) if v.bit_length() <= 64 else f"an int of {v.bit_length()} bits"
    if isinstance(v, (bytes, bytearray, str)):
        return repr(v[:width]) + ("..." if len(v) > width else "")
    return f"a {type(v).__name__}"


class _NdarrayToken:
    """Stands for ``numpy.ndarray``: the argument of ``_reconstruct``, and nothing else."""


class _Dtype:
    """A ``numpy.dtype("u1")`` to be: usable once BUILD gave it numpy's state for uint8."""
    built = False


class _Array:
    """A uint8 array to be: ``_reconstruct`` makes it, BUILD fills it (``value``)."""
    value = None


class _Machine:
    def __init__(self, path: Path, size: int):
        self.path, self.size = path, size
        self.budget = BUDGET_FACTOR * size + BUDGET_BASE
        self.stack: list = []
        self.marks: list[int] = []
        self.memo: dict[int, object] = {}
        self.bounds = Bounds(Limits(depth=MAX_DEPTH))     # the opcode count: bounded by the budget
        self.pos = 0
        self.globals = {("numpy.core.multiarray", "_reconstruct"): self.reconstruct,
                        ("numpy._core.multiarray", "_reconstruct"): self.reconstruct,
                        ("numpy", "ndarray"): _NDARRAY, ("numpy", "dtype"): self.dtype,
                        ("_codecs", "encode"): self.encode,
                        ("numpy.core.numeric", "_frombuffer"): self.frombuffer,
                        ("numpy._core.numeric", "_frombuffer"): self.frombuffer}

    # --- bounds ---------------------------------------------------------------------------

    def refuse(self, what: str) -> ImageFormatError:
        return ImageFormatError(f"{self.path}: byte offset {self.pos}: {what}")

    def charge(self, nbytes: int) -> None:
        self.budget -= nbytes
        if self.budget < 0:
            raise self.refuse(f"the pickle builds more than {BUDGET_FACTOR} times its own size "
                              f"({self.size} bytes) plus {BUDGET_BASE >> 20} MiB of objects; "
                              "not a CIFAR-10 batch (refused before memory ran out)")

    def push(self, v, nbytes: int = 32) -> None:
        self.charge(nbytes + 8)
        self.stack.append(v)

    def pop(self):
        if not self.stack or (self.marks and len(self.stack) <= self.marks[-1]):
            raise ValueError("stack underflow")
        return self.stack.pop()

    def pop_mark(self) -> list:
        if not self.marks:
            raise ValueError("no MARK to pop to")
        at = self.marks.pop()
        items, self.stack[at:] = self.stack[at:], []
        return items

    def tuple(self, items) -> tuple:
        t = tuple(items)                         # its depth: checked by self.bounds before any hash of it
        self.charge(56 + 8 * len(t))
        return t

    # --- the globals: guards that build placeholders or bounded arrays -----------------------

    def not_numpy(self, call: str) -> ImageFormatError:
        return self.refuse(f"{call} is not how numpy pickles a CIFAR-10 batch's uint8 array; refused")

    def dtype(self, obj=None, align=False, copy=False, *rest):
        # numpy pickles uint8 as dtype("u1", False, True), then BUILDs its state
        if rest or obj not in (b"u1", "u1") or align not in (0, 1) or copy not in (0, 1):
            raise self.not_numpy(f"numpy.dtype({_shown(obj)}, {_shown(align)}, {_shown(copy)})")
        return _Dtype()

    def reconstruct(self, subtype=None, shape=None, typecode=None, *rest):
        # numpy pickles an array as _reconstruct(ndarray, (0,), b"b"), an empty array that BUILD fills
        if rest or subtype is not _NDARRAY or typecode not in (b"b", "b") or type(shape) is not tuple or \
                not all(type(d) is int and 0 <= d <= self.size for d in shape) or \
                int(np.prod(shape, dtype=object)) > self.size:
            shape_s = f"({', '.join(_shown(d) for d in shape)},)" if type(shape) is tuple else _shown(shape)
            kind = "function" if callable(subtype) else type(subtype).__name__
            raise self.not_numpy(f"numpy array reconstruction with {kind}, shape {shape_s:.60}, "
                                 f"type code {_shown(typecode)}")
        return _Array()

    def encode(self, text=None, encoding=None, *rest):
        # Python 3 writes bytes at protocol 2 as _codecs.encode(text, "latin1")
        if rest or type(text) is not str or encoding not in ("latin1", "latin-1"):
            raise self.refuse(f"_codecs.encode({_shown(text)}, {_shown(encoding)}) is not how Python pickles "
                              "bytes; refused")
        try:
            data = text.encode("latin-1")
        except UnicodeEncodeError:
            raise self.refuse("_codecs.encode of a string beyond latin-1: not pickled bytes; refused") from None
        self.charge(len(data) + 33)
        return data

    def frombuffer(self, buf=None, dtype=None, shape=None, order=None, *rest):
        # numpy >= 1.16 at protocol 5: _frombuffer(buffer, dtype, shape, order)
        ok = (not rest and type(buf) in (bytes, bytearray) and type(dtype) is _Dtype and dtype.built
              and type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape) and order in ("C", b"C")
              and int(np.prod(shape, dtype=object)) == len(buf))
        if not ok:
            raise self.not_numpy(f"numpy._frombuffer({_shown(buf)}, {_shown(dtype)}, {_shown(shape)}, "
                                 f"{_shown(order)})")
        self.charge(len(buf) + 112)
        return np.frombuffer(bytes(buf), np.uint8).reshape(shape).copy()

    def build(self, obj, state) -> None:
        if type(obj) is _Dtype:
            ok = type(state) is tuple and len(state) == len(_DTYPE_STATE) and all(
                (s == e.encode() if isinstance(e, str) else False) if type(s) is bytes else
                (type(s) is type(e) and s == e) for s, e in zip(state, _DTYPE_STATE))
            if not ok:
                raise self.not_numpy("a dtype state other than uint8's")
            obj.built = True
            return
        if type(obj) is _Array and obj.value is None:
            ok = (type(state) is tuple and len(state) == 5 and state[0] == 1 and type(state[1]) is tuple
                  and all(type(d) is int and d >= 0 for d in state[1]) and type(state[2]) is _Dtype
                  and state[2].built and state[3] in (0, False) and type(state[4]) in (bytes, str))
            data = state[4] if ok else b""
            if ok and type(data) is str:
                data = data.encode("latin-1", "strict") if max(data, default="\0") <= "\xff" else None
            if not ok or data is None or int(np.prod(state[1], dtype=object)) != len(data):
                raise self.not_numpy("an array state other than a C-ordered uint8 array's with its bytes")
            self.charge(len(data) + 112)
            obj.value = np.frombuffer(data, np.uint8).reshape(state[1]).copy()
            return
        raise self.refuse(f"BUILD on {_shown(obj)}: not how a CIFAR-10 batch is pickled; refused")

    # --- the opcodes ------------------------------------------------------------------------

    def run(self, raw: bytes):
        f = io.BytesIO(raw)
        count = 0
        for op, arg, pos in pickletools.genops(f):
            self.pos = pos                           # errors name the opcode being run ...
            name = op.name
            if name in _MEMO_OPS and not 0 <= arg <= count:
                raise self.refuse(f"memo index {arg} after {count} opcodes; not a pickle as Python writes one")
            count += 1
            if name == "STOP":
                return self.pop()
            self.step(name, arg)
            try:
                self.bounds.step(op, arg, pos)
            except PickleRefused as e:
                raise self.refuse(f"{e.what}; not how a CIFAR-10 batch is pickled") from None
            self.pos = f.tell()                      # ... or the one genops fails to parse
        raise ValueError("no STOP opcode")

    def step(self, name: str, arg) -> None:
        if name in ("PROTO", "FRAME"):
            if name == "PROTO" and not 2 <= arg <= 5:
                raise self.refuse(f"pickle protocol {arg}; CIFAR-10 batches use 2 (Python 2), or 3 to 5")
        elif name == "MARK":
            self.charge(8)
            self.marks.append(len(self.stack))
        elif name == "POP":
            self.pop()
        elif name == "POP_MARK":
            self.pop_mark()
        elif name in ("NONE", "NEWTRUE", "NEWFALSE"):
            self.push({"NONE": None, "NEWTRUE": True, "NEWFALSE": False}[name])
        elif name in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"):
            self.push(arg, 32 + (arg.bit_length() // 8 if isinstance(arg, int) else 0))
        elif name in _PY2_STR:
            self.push(arg.encode("latin-1"), 33 + len(arg))
        elif name in _BYTES:
            self.push(bytes(arg) if name != "BYTEARRAY8" else bytearray(arg), 57 + len(arg))
        elif name in _UNICODE:
            top = max(arg, default="\0")              # CPython stores 1, 2 or 4 bytes a character
            self.push(arg, 49 + len(arg) * (1 if top <= "\xff" else 2 if top <= "\uffff" else 4))
        elif name in ("EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE"):
            self.push({"EMPTY_DICT": {}, "EMPTY_LIST": [], "EMPTY_TUPLE": ()}[name], 64)
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            items = [self.pop() for _ in range(n)][::-1]
            self.push(self.tuple(items), 0)
        elif name == "TUPLE":
            self.push(self.tuple(self.pop_mark()), 0)
        elif name == "LIST":
            items = self.pop_mark()
            self.push(items, 56 + 8 * len(items))
        elif name == "DICT":
            items = self.pop_mark()
            self.push(self.setitems({}, items), 64)
        elif name in ("APPEND", "APPENDS"):
            items = [self.pop()] if name == "APPEND" else self.pop_mark()
            target = self.pop()
            if type(target) is not list:
                raise self.refuse(f"{name} to {_shown(target)}, not a list")
            self.charge(8 * len(items))
            target.extend(items)
            self.stack.append(target)
        elif name in ("SETITEM", "SETITEMS"):
            items = [self.pop(), self.pop()][::-1] if name == "SETITEM" else self.pop_mark()
            target = self.pop()
            if type(target) is not dict:
                raise self.refuse(f"{name} to {_shown(target)}, not a dict")
            self.stack.append(self.setitems(target, items))
        elif name in _MEMO_OPS or name == "MEMOIZE":
            if not self.stack:
                raise ValueError("memo of an empty stack")
            self.charge(72)
            self.memo[len(self.memo) if name == "MEMOIZE" else arg] = self.stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if arg not in self.memo:
                raise self.refuse(f"memo index {arg} was never stored")
            self.push(self.memo[arg], 0)
        elif name in ("GLOBAL", "STACK_GLOBAL"):
            if name == "GLOBAL":
                module, _, attr = arg.partition(" ")
            else:
                attr, module = self.pop(), self.pop()
                if type(module) is not str or type(attr) is not str:
                    raise self.refuse("STACK_GLOBAL of names that are not strings")
            if (module, attr) not in self.globals:
                raise _forbidden(self.path, self.pos, f"{module}.{attr}"[:120])
            self.push(self.globals[(module, attr)])
        elif name == "REDUCE":
            args, fn = self.pop(), self.pop()
            if type(args) is not tuple or not callable(fn) or fn is _NDARRAY:
                raise TypeError(f"REDUCE of {_shown(fn)} with {_shown(args)}")
            self.push(fn(*args), 0)
        elif name == "BUILD":
            state = self.pop()
            self.build(self.stack[-1] if self.stack else None, state)
        elif name == "READONLY_BUFFER":
            pass
        else:
            raise self.refuse(f"opcode {name}, which a CIFAR-10 batch never uses: not a pickle of one; refused")

    def setitems(self, target: dict, items: list) -> dict:
        if len(items) % 2:
            raise ValueError("odd number of items for a dict")
        for k in items[::2]:
            if type(k) not in (bytes, str, int, tuple, bool) and k is not None:
                raise self.refuse(f"a dict key that is {_shown(k)}; refused")
        self.charge(72 * (len(items) // 2))
        for k, v in zip(items[::2], items[1::2]):
            target[k] = v
        return target


_NDARRAY = _NdarrayToken()


def _forbidden(path: Path, offset: int, name: str) -> ImageFormatError:
    allowed = ", ".join(f"{m}.{n}" for m, n in ALLOWED)
    return ImageFormatError(f"{path}: byte offset {offset}: the pickle asks for the global {name}, which a "
                            "CIFAR-10 batch never uses; refused without calling it (a pickle's globals "
                            f"run code; allowed: {allowed})")


def _load(raw: bytes, path: Path):
    machine = _Machine(path, len(raw))
    try:
        return machine.run(raw)
    except ImageFormatError:
        raise
    except Exception as e:        # noqa: BLE001 - genops' ValueError for a bad opcode, a count past the end, ...
        text = f"{type(e).__name__}: {e}"
        raise ImageFormatError(f"{path}: byte offset {machine.pos}: not a readable pickle "
                               f"({text[:200]}); a damaged or foreign file") from None


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of one batch: uint8 (N, 3, 32, 32) and int64 (N,) in file order;
    :class:`ImageFormatError` naming the file when it is not a well-formed CIFAR-10 batch."""
    path = Path(path)
    obj = _load(path.read_bytes(), path)

    def bad(what: str) -> ImageFormatError:
        return ImageFormatError(f"{path}: {what}; not a CIFAR-10 batch, or a damaged one")

    if type(obj) is not dict:
        raise bad(f"the pickle holds {_shown(obj)}, not a dict")
    keys = {(k.encode("latin-1", "replace") if type(k) is str else k): k for k in obj}
    missing = [k for k in (b"data", b"labels") if k not in keys]
    if missing:
        shown = sorted(_shown(k) for k in list(keys)[:8])
        raise bad(f"no {' or '.join(map(repr, missing))} key (keys: {shown})")
    data, raw_labels = obj[keys[b"data"]], obj[keys[b"labels"]]
    if type(data) is _Array and data.value is None:
        raise bad("b'data' is an array the pickle never filled (no BUILD)")
    if type(data) is _Array:
        data = data.value
    if type(data) is not np.ndarray or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != ROW:
        what = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise bad(f"b'data' is a {what}, expected a uint8 array of shape (N, {ROW})")
    n = data.shape[0]
    if type(raw_labels) is not list or len(raw_labels) != n:
        what = f"a list of {len(raw_labels)}" if type(raw_labels) is list else f"a {type(raw_labels).__name__}"
        raise bad(f"b'labels' is {what}, expected a list of {n} ints (one per image)")
    for i, v in enumerate(raw_labels):
        if type(v) is not int or not 0 <= v < CLASSES:
            raise bad(f"label {i} is {_shown(v)}, expected an int in 0..{CLASSES - 1}")
    images = np.ascontiguousarray(data).reshape(n, CHANNELS, HEIGHT, WIDTH)
    return images, np.array(raw_labels, dtype=np.int64).reshape(n)
