"""MNIST, Fashion-MNIST and CIFAR-10 files in their official formats, written by hand (struct
and pickle opcodes), independently of the project's readers."""

import gzip
import io
import struct
import tarfile

import numpy as np


def idx_bytes(array: np.ndarray) -> bytes:
    """An idx file: 0x00 0x00 0x08 <ndim>, big-endian uint32 dims, the bytes in C order."""
    array = np.asarray(array, np.uint8)
    return struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def py2_str(b: bytes) -> bytes:            # a Python 2 str: SHORT_BINSTRING / BINSTRING
    return b"U" + bytes([len(b)]) + b if len(b) < 256 else b"T" + struct.pack("<i", len(b)) + b


def py2_int(v: int) -> bytes:              # BININT1 / BININT2 / BININT
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)
    return b"J" + struct.pack("<i", v)


def py2_array(data: bytes, shape: tuple[int, int], module=b"numpy.core.multiarray") -> bytes:
    """A uint8 ndarray as Python 2's cPickle (protocol 2) wrote it with numpy 1.x (memo slots 2-4)."""
    return (b"c" + module + b"\n_reconstruct\nq\x02" + b"cnumpy\nndarray\nq\x03" + py2_int(0) + b"\x85" + py2_str(b"b")
            + b"\x87R" + b"(" + py2_int(1) + py2_int(shape[0]) + py2_int(shape[1]) + b"\x86"
            + b"cnumpy\ndtype\nq\x04" + py2_str(b"u1") + py2_int(0) + py2_int(1) + b"\x87R"
            + b"(" + py2_int(3) + py2_str(b"|") + b"NNN" + b"J\xff\xff\xff\xffJ\xff\xff\xff\xff" + py2_int(0) + b"tb"
            + b"\x89" + py2_str(data) + b"tb")


def cifar_batch_bytes(images: np.ndarray, labels, batch_label=b"training batch 1 of 5", data=None) -> bytes:
    """A CIFAR-10 batch: {b'batch_label', b'labels', b'data' (N, 3072), b'filenames'}."""
    n = len(images)
    data = py2_array(np.asarray(images, np.uint8).reshape(n, 3072).tobytes(), (n, 3072)) if data is None else data
    return (b"\x80\x02}q\x01(" + py2_str(b"batch_label") + py2_str(batch_label)
            + py2_str(b"labels") + b"](" + b"".join(py2_int(v) for v in labels) + b"e"
            + py2_str(b"data") + data
            + py2_str(b"filenames") + b"](" + b"".join(py2_str(b"img_%d.png" % k) for k in range(n)) + b"e"
            + b"u.")


def tar_bytes(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return buf.getvalue()


def rng_images(seed: int, shape) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


def cifar_files(per_batch=2, n_test=3):
    """{batch name: (images (n, 3, 32, 32), labels)} of a tiny CIFAR-10."""
    out = {}
    for k, name in enumerate(BATCHES + ["test_batch"]):
        n = n_test if name == "test_batch" else per_batch
        out[name] = (rng_images(10 + k, (n, 3, 32, 32)), [(3 * k + j) % 10 for j in range(n)])
    return out


def cifar_tarball(batches, extra=None, links=None) -> bytes:
    members = {f"cifar-10-batches-py/{name}": cifar_batch_bytes(im, lab) for name, (im, lab) in batches.items()}
    members["cifar-10-batches-py/batches.meta"] = b"\x80\x02}."           # never read
    members["cifar-10-batches-py/readme.html"] = b"<html></html>"
    members.update(extra or {})
    return tar_bytes(members, links)
