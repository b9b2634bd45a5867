"""The HDF5 frames file: one sample per chunk, every dataset checksummed, written atomically.

Chunks are compressed by :class:`ChunkEncoder` (HDF5's own filter pipeline, run on an
in-memory file, so worker processes can compress in parallel) and stored as they are with
``write_direct_chunk``: the file is the same, byte for byte, whichever process compressed.

Layout::

    frames     (N, T, C, H, W), chunk (1, T, C, H, W): the representation's dtype
                 counts uint32 (C = 2), Bina-Rep codes uint8 (C = 2)  scale-offset + gzip + Fletcher-32
                 voxel grid float32 (C = 1)                           shuffle + gzip + Fletcher-32
    labels     (N,) int64        class index from 0                              + Fletcher-32
    recording  (N,) str          source recording file (fixed-length UTF-8)      + Fletcher-32
    label_row  (N,) int32        row of the recording's labels file (from 0)     + Fletcher-32
    n_events   (N,) int64        events integrated into the sample               + Fletcher-32
    meta       (M,) uint8        the metadata: one JSON object (dataset, T, split_by, height,
                                 width, downsample, version, and the caller's extras: the
                                 frames stage adds representation, n_bits and overlap where
                                 they are not the defaults), a newline, and the SHA-256 of
                                 the JSON in hex                                   + Fletcher-32

The file has no HDF5 attributes: all metadata is the ``meta`` document, read by
:func:`read_meta`, which checks its digest. (Version 0.2 kept it in attributes: a flipped byte
there could change a class name silently, or hang h5py reading a string attribute.)

An image dataset (:mod:`pipeline.frames.families.images`) stores each image once: ``frames`` (N, C, H, W)
uint8, chunk (1, C, H, W), the same filters; ``T`` (the network's time steps) is an attribute.

Every dataset carries HDF5's Fletcher-32 checksum filter, and the file uses HDF5 1.10's object
format, whose metadata is checksummed too: a damaged byte makes reading fail with a
:class:`~pipeline.core.errors.DamagedFileError` naming the file and the sample, never a silently
wrong frame or label.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from .atomic import atomic_path
from .errors import DamagedFileError
from .events import FRAME_DTYPE

# Scale-offset (lossless for integers with 0: each chunk stored with the fewest bits its
# range needs, a handful for event counts) then deflate level 3: about the size of gzip 4 +
# shuffle, read ~2.4x and written ~1.9x faster (python -m benchmarks, section 4); then the
# Fletcher-32 checksum of the stored bytes. All three are built into libhdf5: any h5py
# reads the file.
COMPRESSION = dict(scaleoffset=0, compression="gzip", compression_opts=3, fletcher32=True)
LIBVER = ("v110", "v110")
FIELDS = ("labels", "recording", "label_row", "n_events")
META = "meta"
MAX_META_BYTES = 16 << 20
_FIELD_CHUNK = 1 << 16


def _create_frames(f: h5py.File, n: int, frame_shape: tuple[int, ...], dtype=FRAME_DTYPE) -> h5py.Dataset:
    """The ``frames`` dataset, through HDF5's own API: h5py refuses Fletcher-32 beside the
    scale-offset filter, which it calls lossy (it is for floats; integers with 0 bits of
    reduction are stored exactly). Floats (the voxel grid's float32) cannot take it losslessly:
    they are shuffled (their bytes grouped by significance) before deflate instead. Explicit
    chunking and fill value keep the file a pure function of its contents."""
    dtype = np.dtype(dtype)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((1, *frame_shape))
    dcpl.set_fill_value(np.zeros((), dtype))
    dcpl.set_obj_track_times(False)
    if dtype.kind == "f":
        dcpl.set_shuffle()
    else:
        dcpl.set_scaleoffset(h5py.h5z.SO_INT, COMPRESSION["scaleoffset"])
    dcpl.set_deflate(COMPRESSION["compression_opts"])
    dcpl.set_fletcher32()                        # last: checks the bytes as stored
    space = h5py.h5s.create_simple((n, *frame_shape))
    dsid = h5py.h5d.create(f.id, b"frames", h5py.h5t.py_create(np.dtype(dtype)), space, dcpl=dcpl)
    return h5py.Dataset(dsid)


def _create_field(f: h5py.File, name: str, values: np.ndarray) -> None:
    checked = dict(chunks=(min(len(values), _FIELD_CHUNK),), fletcher32=True) if len(values) else {}
    f.create_dataset(name, data=values, **checked)


class ChunkEncoder:
    """One sample's frames -> its stored chunk ``(filter_mask, bytes)``, through HDF5's filters.

    The sample is written to a one-sample dataset, created exactly as the file's, in an
    in-memory HDF5 file and its chunk read back raw: the bytes are what writing it into the
    file would have stored.
    """

    def __init__(self, frame_shape: tuple[int, ...], dtype=FRAME_DTYPE):
        self.frame_shape = tuple(int(s) for s in frame_shape)
        self.dtype = np.dtype(dtype)
        # the default (earliest) file format: its chunk index reads one chunk back where 1.10's
        # single-chunk index makes read_direct_chunk fail; the chunk's bytes are the same
        self._file = h5py.File(f"chunk-encoder-{uuid.uuid4().hex}", "w", driver="core", backing_store=False)
        self._dataset = _create_frames(self._file, 1, self.frame_shape, self.dtype)
        self._origin = (0,) * (len(self.frame_shape) + 1)

    def encode(self, frames: np.ndarray) -> tuple[int, bytes]:
        if frames.shape != self.frame_shape:
            raise ValueError(f"frames of shape {frames.shape}, expected {self.frame_shape}")
        self._dataset[0] = frames
        mask, raw = self._dataset.id.read_direct_chunk(self._origin)
        return int(mask), bytes(raw)

    def close(self) -> None:
        self._file.close()


_ENCODERS: dict[tuple, ChunkEncoder] = {}


def encoder(frame_shape: tuple[int, ...], dtype=FRAME_DTYPE) -> ChunkEncoder:
    """This process's :class:`ChunkEncoder` for samples of ``frame_shape`` and ``dtype``, made
    once and reused (each worker process of the frames stage keeps its own)."""
    key = (tuple(int(s) for s in frame_shape), np.dtype(dtype).str)
    if key not in _ENCODERS:
        _ENCODERS[key] = ChunkEncoder(key[0], dtype)
    return _ENCODERS[key]


class FrameWriter:
    """Stream ``n`` samples into ``path``; nothing appears at ``path`` unless all were written
    and the file was closed without error (a full disk included).

    ``frame_shape`` is (T, C, H, W) for event frames, whose T, height and width become
    attributes; for any other shape (an image's (C, H, W)) the caller's ``attrs`` say them."""

    def __init__(self, path: str | Path, n: int, frame_shape: tuple[int, ...], attrs: dict, dtype=FRAME_DTYPE):
        self.path = Path(path)
        self.n, self.written = n, 0
        self.frame_shape = tuple(int(s) for s in frame_shape)
        self.dtype = np.dtype(dtype)
        self._encoder = None
        self._commit = ExitStack()         # renames the temporary file into place when closed
        self.tmp = self._commit.enter_context(atomic_path(self.path))
        try:
            f = self.file = h5py.File(self.tmp, "w", libver=LIBVER, track_order=True)
            self._frames = _create_frames(f, n, self.frame_shape, self.dtype)
            if len(self.frame_shape) == 4:
                T, _, H, W = self.frame_shape
                shape_attrs = {"T": T, "height": H, "width": W}
            else:
                shape_attrs = {}
            self.meta = meta_bytes({**shape_attrs, "version": __version__, **attrs})
        except BaseException as e:     # anything, Ctrl-C included: drop the partial file, re-raise
            self._abort(e)
            raise
        self._chunk_origin = (0,) * len(self.frame_shape)
        # the per-sample fields are gathered here and written once, when all samples are in
        self._fields = {"labels": np.zeros(n, np.int64), "recording": [""] * n,
                        "label_row": np.zeros(n, np.int32), "n_events": np.zeros(n, np.int64)}

    def write(self, frames: np.ndarray, label: int, recording: str, label_row: int, n_events: int) -> None:
        """Compress one sample here and store it (see :meth:`write_encoded`)."""
        if self._encoder is None:
            self._encoder = ChunkEncoder(self.frame_shape, self.dtype)
        self.write_encoded(self._encoder.encode(frames), label, recording, label_row, n_events)

    def write_encoded(self, chunk: tuple[int, bytes], label: int, recording: str, label_row: int,
                      n_events: int) -> None:
        """Store one sample whose frames a :class:`ChunkEncoder` of the same shape compressed."""
        i = self.written
        if i >= self.n:
            raise IndexError(f"{self.path}: more than the {self.n} samples announced")
        mask, raw = chunk
        self._frames.id.write_direct_chunk((i, *self._chunk_origin), raw, mask)
        fields = self._fields
        fields["labels"][i] = label
        fields["recording"][i] = recording
        fields["label_row"][i] = label_row
        fields["n_events"][i] = n_events
        self.written += 1

    def _finish(self) -> None:
        fields = dict(self._fields)
        names = [r.encode() for r in fields["recording"]]
        fields["recording"] = np.array(names, dtype=h5py.string_dtype("utf-8", max(1, *map(len, names), 1)))
        for name in FIELDS:
            _create_field(self.file, name, fields[name])
        _create_field(self.file, META, np.frombuffer(self.meta, np.uint8))

    def __enter__(self):
        return self

    def _abort(self, error: BaseException) -> None:
        """Close what is open, ignoring its errors, and remove the temporary file."""
        for handle in (self._encoder, getattr(self, "file", None)):
            with suppress(Exception):
                if handle is not None:
                    handle.close()
        self._commit.__exit__(type(error), error, error.__traceback__)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:           # the caller failed: its error is the one to see
            self._abort(exc)
            return False
        try:
            if self._encoder is not None:
                self._encoder.close()
            if self.written != self.n:
                raise RuntimeError(f"{self.path}: wrote {self.written} of {self.n} samples")
            self._finish()
            try:
                self.file.close()          # the last flush: where a full disk shows
            except RuntimeError as e:      # which h5py reports as a RuntimeError
                raise OSError(f"{self.path}: cannot finish writing the file: {e}") from None
        except BaseException as e:     # anything, Ctrl-C included: drop the partial file, re-raise
            self._abort(e)
            raise
        self._commit.close()               # fsync, rename into place
        return False


def _plain(v):
    """A metadata value as JSON has it (numpy scalars and arrays become numbers and lists)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, bytes):
        return v.decode()
    raise TypeError(f"metadata value of type {type(v).__name__}")


def meta_bytes(attrs: dict) -> bytes:
    """``attrs`` as the ``meta`` dataset stores them: JSON, a newline, its SHA-256 in hex."""
    doc = json.dumps(attrs, default=_plain, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()
    return doc + b"\n" + hashlib.sha256(doc).hexdigest().encode()


def read_meta(f: h5py.File) -> dict:
    """The metadata of an open frames file, its digest checked: a DamagedFileError naming the
    file when it is missing, damaged or not a JSON object."""
    try:
        ds = f[META]
        if ds.dtype != np.uint8 or ds.ndim != 1 or not 65 <= ds.shape[0] <= MAX_META_BYTES:
            raise ValueError("not a metadata document")
        raw = ds[:].tobytes()
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as e:
        raise damaged(f.filename, "the metadata", e) from None
    doc, _, digest = raw.rpartition(b"\n")
    if hashlib.sha256(doc).hexdigest().encode() != digest:
        raise DamagedFileError(f"{f.filename}: the metadata fails its SHA-256: the file is damaged; "
                               "`python -m pipeline verify` says how to restore it")
    try:
        meta = json.loads(doc)
    except ValueError as e:
        raise damaged(f.filename, "the metadata", e) from None
    if not isinstance(meta, dict):
        raise DamagedFileError(f"{f.filename}: the metadata is not a JSON object: the file is damaged")
    return meta


def damaged(path, what: str, error: Exception) -> DamagedFileError:
    return DamagedFileError(f"{path}: {what} cannot be read ({error}): the file is damaged; "
                            "`python -m pipeline verify` says how to restore it")


@contextmanager
def open_frames(path: str | Path) -> Iterator[h5py.File]:
    """An HDF5 frames file opened for reading; a missing, foreign or damaged file is a
    :class:`~pipeline.core.errors.PipelineError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise DamagedFileError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        raise damaged(path, "the HDF5 file", e) from None
    with f:
        try:
            names = set(f)
            missing = {"frames", META, *FIELDS} - names
        except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
            raise damaged(path, "the HDF5 file's index", e) from None
        if missing:
            version = " (a file of an earlier version: rerun `dvc repro`)" if missing == {META} else ""
            raise DamagedFileError(f"{path}: not a frames file (no {', '.join(sorted(missing))} dataset){version}")
        yield f


#: what h5py raises on a damaged file, besides OSError: its index and headers decoded wrong
H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError, OverflowError)


def read_field(f: h5py.File, name: str) -> np.ndarray:
    """A whole per-sample dataset (``labels``, ``n_events``, ...), checksum verified."""
    try:
        return f[name][:]
    except H5_ERRORS as e:
        raise damaged(f.filename, f"dataset {name!r}", e) from None


def read_frames(f: h5py.File, i: int) -> np.ndarray:
    """Sample ``i``'s frames, checksum verified."""
    try:
        return f["frames"][i]
    except H5_ERRORS as e:
        raise damaged(f.filename, f"sample {i}", e) from None


def read_sample(path: str | Path, i: int) -> tuple[np.ndarray, int]:
    """One ``(frames, label)`` pair, for inspection; training uses :mod:`pipeline.train.data`."""
    with open_frames(path) as f:
        n = f["frames"].shape[0]
        if not -n <= i < n:
            raise IndexError(f"{path}: sample index {i} out of range (the file holds {n} samples)")
        return read_frames(f, i), int(read_field(f, "labels")[i])


def read_attrs(path: str | Path) -> dict:
    """The metadata of the frames file at ``path`` (see :func:`read_meta`)."""
    with open_frames(path) as f:
        return read_meta(f)


# --- reading the chunk headers this module's filters write -----------------------------------

# HDF5's filter ids, and the scale-offset filter's chunk header (H5Zscaleoffset.c): 4 bytes
# minbits, 1 byte the size of minval, minval (little-endian); 21 bytes in all
_SCALEOFFSET, _DEFLATE, _FLETCHER32 = 6, 1, 3
_SO_INT = 2
_SO_HEADER = 21


def _header_bound(raw: bytes, bits: int) -> int | None:
    """An upper bound of the values in a chunk stored by scale-offset (integers) + deflate +
    Fletcher-32, from its header alone: minval + 2**minbits - 1 (each value is minval plus a
    code of minbits bits, the all-ones code standing for the fill value 0). None when the
    header does not say (minbits of the full width: the values are stored as they are)."""
    d, head = zlib.decompressobj(), b""
    stream = memoryview(raw)[:-4]                          # the last 4 bytes: the checksum
    for pos in range(0, len(stream), 512):                 # inflate no more than the header needs
        head += d.decompress(d.unconsumed_tail + stream[pos:pos + 512], _SO_HEADER - len(head))
        if len(head) == _SO_HEADER:
            break
    if len(head) < _SO_HEADER:
        return None
    minbits, size = int.from_bytes(head[:4], "little"), head[4]
    if not 0 <= minbits < bits or not 1 <= size <= 16:
        return None
    return int.from_bytes(head[5:5 + min(size, 8)], "little") + (1 << minbits) - 1


def chunk_bounds(ds: h5py.Dataset) -> list[int | None]:
    """Per sample, an upper bound of its values read from its stored chunk's scale-offset
    header (no decompression beyond 21 bytes), or None where the chunk cannot say: a filter
    pipeline other than the store's, a chunk whose filters were skipped, a file whose chunk
    index ``read_direct_chunk`` cannot use, a header that does not parse."""
    n = ds.shape[0]
    none = [None] * n
    dcpl = ds.id.get_create_plist()
    filters = [dcpl.get_filter(i) for i in range(dcpl.get_nfilters())]
    if ([f[0] for f in filters] != [_SCALEOFFSET, _DEFLATE, _FLETCHER32] or filters[0][2][:1] != (_SO_INT,)
            or ds.chunks != (1, *ds.shape[1:])):
        return none
    bits, origin = ds.dtype.itemsize * 8, (0,) * (ds.ndim - 1)
    bounds = []
    try:
        for i in range(n):
            mask, raw = ds.id.read_direct_chunk((i, *origin))
            try:
                bounds.append(_header_bound(raw, bits) if mask == 0 and len(raw) > 4 else None)
            except zlib.error:
                bounds.append(None)
    except (OSError, RuntimeError, ValueError):
        return none
    return bounds
