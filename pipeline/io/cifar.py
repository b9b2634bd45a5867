"""CIFAR-10's Python batches (``cifar-10-batches-py/data_batch_1`` ... ``test_batch``).

Each batch is a Python 2 pickle (protocol 2) of a dict with bytes keys: ``b"data"`` a uint8
array (N, 3072), each row a 32x32 image as 1024 red, 1024 green then 1024 blue bytes in row
order, and ``b"labels"`` a list of N ints 0..9 (also ``b"batch_label"``, ``b"filenames"``).

A pickle is a program: unpickling runs the callables it names. The file is first parsed
opcode by opcode without running anything (:func:`pickletools.genops`), which finds truncated
or malformed opcodes at their byte offset, every global it names outside numpy's array globals
(``_reconstruct``, ``ndarray``, ``dtype``), and lengths or memo indices that would make the
unpickler allocate more than the file holds. Then the unpickler here resolves only those
globals, as guards that accept only the arguments numpy pickles a uint8 array with (so no
array larger than the file, nor of another type, is ever built), and refuses any other global,
naming the file and the global, before anything is called.
"""

from __future__ import annotations

import io
import pickle
import pickletools
from pathlib import Path

import numpy as np

from ..errors import ImageFormatError

CLASSES = 10
CHANNELS, HEIGHT, WIDTH = 3, 32, 32
ROW = CHANNELS * HEIGHT * WIDTH                  # 3072 bytes per image
ALLOWED = (("numpy.core.multiarray", "_reconstruct"),    # numpy 1.x (the official files)
           ("numpy._core.multiarray", "_reconstruct"),   # numpy 2.x
           ("numpy", "ndarray"), ("numpy", "dtype"))
_MEMO_OPS = ("PUT", "BINPUT", "LONG_BINPUT")

try:                                             # numpy >= 2 (numpy.core is an alias of it)
    from numpy._core.multiarray import _reconstruct
except ImportError:                              # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct


class _NdarrayToken:
    """Stands for ``numpy.ndarray`` in the pickle: the argument of ``_reconstruct``, and
    nothing else (the class itself would build an array of any size when called)."""


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles Python 2 pickles (bytes stay bytes) allowing only numpy's uint8 array globals."""

    def __init__(self, file: io.BytesIO, path: Path):
        super().__init__(file, encoding="bytes")
        self._file, self._path = file, path
        size = len(file.getbuffer())
        ndarray = _NdarrayToken()

        def refuse(call: str) -> ImageFormatError:
            return ImageFormatError(f"{path}: byte offset {file.tell()}: {call} is not how numpy pickles "
                                    "a CIFAR-10 batch's uint8 array; refused")

        def dtype(obj, align=False, copy=False):
            # numpy pickles uint8 as dtype("u1", False, True)
            if obj not in (b"u1", "u1") or align not in (0, 1) or copy not in (0, 1):
                raise refuse(f"numpy.dtype({obj!r:.40}, {align!r:.20}, {copy!r:.20})")
            return np.dtype("u1", False, True)    # a copy: its state is set next, never numpy's own

        def reconstruct(subtype, shape, typecode):
            # numpy pickles an array as _reconstruct(ndarray, (0,), b"b"), an empty array that
            # the state then fills (its length checked against the data); a large shape here
            # would allocate from nothing
            if subtype is not ndarray or typecode not in (b"b", "b") or type(shape) is not tuple or \
                    not all(type(d) is int and 0 <= d <= size for d in shape) or \
                    int(np.prod(shape, dtype=object)) > size:
                raise refuse(f"numpy array reconstruction with {type(subtype).__name__}, shape {shape!r:.60}, "
                             f"type code {typecode!r:.20}")
            return _reconstruct(np.ndarray, shape, b"b")

        self._allowed = dict(zip(ALLOWED, (reconstruct, reconstruct, ndarray, dtype)))

    def find_class(self, module: str, name: str):
        if (module, name) not in self._allowed:
            raise _forbidden(self._path, self._file.tell(), f"{module}.{name}")
        return self._allowed[(module, name)]


def _forbidden(path: Path, offset: int, name: str) -> ImageFormatError:
    allowed = ", ".join(f"{m}.{n}" for m, n in ALLOWED)
    return ImageFormatError(f"{path}: byte offset {offset}: the pickle asks for the global {name}, which a "
                            "CIFAR-10 batch never uses; refused without calling it (a pickle's globals "
                            f"run code; allowed: {allowed})")


def _scan(data: bytes, path: Path) -> None:
    """Parse the pickle without running it: refuse malformed opcodes, globals other than
    :data:`ALLOWED`, and memo indices past the opcodes read (each would allocate from nothing)."""
    f = io.BytesIO(data)
    start = 0                     # where the opcode being parsed starts
    try:
        for count, (op, arg, pos) in enumerate(pickletools.genops(f)):
            if op.name == "GLOBAL" and tuple(arg.split(" ", 1)) not in ALLOWED:
                raise _forbidden(path, pos, arg.replace(" ", "."))
            if op.name in _MEMO_OPS and not 0 <= arg <= count:
                raise ImageFormatError(f"{path}: byte offset {pos}: memo index {arg} after {count} opcodes; "
                                       "not a pickle as Python writes one")
            start = f.tell()
    except ImageFormatError:
        raise
    except Exception as e:        # noqa: BLE001 - genops' ValueError for a bad opcode, a count past the end, ...
        raise ImageFormatError(f"{path}: byte offset {start}: not a readable pickle "
                               f"({type(e).__name__}: {e}); a damaged or foreign file") from None


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of one batch: uint8 (N, 3, 32, 32) and int64 (N,) in file order;
    :class:`ImageFormatError` naming the file when it is not a well-formed CIFAR-10 batch."""
    path = Path(path)
    raw = path.read_bytes()
    _scan(raw, path)
    buf = io.BytesIO(raw)
    try:
        obj = _BatchUnpickler(buf, path).load()
    except ImageFormatError:
        raise
    except Exception as e:        # noqa: BLE001 - any failure to decode untrusted bytes is a format error
        raise ImageFormatError(f"{path}: byte offset {buf.tell()}: not a readable pickle "
                               f"({type(e).__name__}: {e}); a damaged or foreign file") from None

    def bad(what: str) -> ImageFormatError:
        return ImageFormatError(f"{path}: {what}; not a CIFAR-10 batch, or a damaged one")

    if not isinstance(obj, dict):
        raise bad(f"the pickle holds a {type(obj).__name__}, not a dict")
    missing = [k for k in (b"data", b"labels") if k not in obj]
    if missing:
        raise bad(f"no {' or '.join(map(repr, missing))} key (keys: {sorted(map(repr, obj))[:8]})")
    data, raw_labels = obj[b"data"], obj[b"labels"]
    if type(data) is not np.ndarray or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != ROW:
        what = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                else type(data).__name__)
        raise bad(f"b'data' is a {what}, expected a uint8 array of shape (N, {ROW})")
    n = data.shape[0]
    if not isinstance(raw_labels, list) or len(raw_labels) != n:
        what = f"a list of {len(raw_labels)}" if isinstance(raw_labels, list) else f"a {type(raw_labels).__name__}"
        raise bad(f"b'labels' is {what}, expected a list of {n} ints (one per image)")
    for i, v in enumerate(raw_labels):
        if type(v) is not int or not 0 <= v < CLASSES:
            raise bad(f"label {i} is {v!r}, expected an int in 0..{CLASSES - 1}")
    images = np.ascontiguousarray(data).reshape(n, CHANNELS, HEIGHT, WIDTH)
    return images, np.array(raw_labels, dtype=np.int64).reshape(n)
