"""MNIST, Fashion-MNIST and CIFAR-10 through download -> frames, and their readers.

The official files are written here by hand, independently of the readers: idx files with
struct, CIFAR-10 batches as the Python 2 protocol-2 pickles the official tarball holds (opcode
by opcode), served from 127.0.0.1 at the registry's own URL paths.
"""

import dataclasses
import gzip
import hashlib
import json
import os
import struct

import h5py
import numpy as np
import pytest
import torch

from httpserver import send
from imagefiles import (
    BATCHES, cifar_batch_bytes, cifar_files, cifar_tarball, gz, idx_bytes, py2_array, py2_str, rng_images, tar_bytes,
)
from pipeline.frames.families import images as images_module
from pipeline.train.data import H5Frames
from pipeline.datasets import CIFAR10, FASHION_MNIST, MNIST, Remote
from pipeline.download.stage import download
from pipeline.core.errors import DownloadError, ImageFormatError, LayoutError, PipelineError
from pipeline.frames.stage import make_frames
from pipeline.cli.info import describe
from pipeline.io.cifar import read_cifar_batch
from pipeline.io.idx import read_idx
from pipeline.params import Params
from pipeline.core.store import read_meta
from pipeline.download.unpack import extract


def local(url: str, server) -> str:
    """https://host/path -> http://127.0.0.1:port/host/path (the same path, our server)."""
    return server.url("/" + url.split("://", 1)[1])


def serve(server, remote: Remote, data: bytes) -> Remote:
    """Serve ``data`` at the local copy of the remote's first URL; the Remote to download it."""
    url = local(remote.urls[0], server)
    server.routes[url[len(server.base_url):]] = lambda h, n: send(h, 200, data)
    return Remote(remote.name, hashlib.md5(data).hexdigest(), (url,), len(data))


def params(tmp_path, dataset: str, workers: int = 1, T: int = 4) -> Params:
    return Params.model_validate({"dataset": dataset, "download": {"archive_dir": str(tmp_path / "dl"), "retries": 0},
                                  "frames": {"T": T, "workers": workers}})


# --------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST
# --------------------------------------------------------------------------------------------

def idx_dataset(n_train=5, n_test=3, seed=0):
    """{file name: raw idx bytes} of a tiny dataset in MNIST's four files, and its arrays."""
    arrays = {"train-images-idx3-ubyte": rng_images(seed, (n_train, 28, 28)),
              "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
              "t10k-images-idx3-ubyte": rng_images(seed + 1, (n_test, 28, 28)),
              "t10k-labels-idx1-ubyte": (np.arange(n_test, dtype=np.uint8) * 3 + 1) % 10}
    return {name: idx_bytes(a) for name, a in arrays.items()}, arrays


def serve_idx(server, spec, files: dict[str, bytes], expected):
    remotes = tuple(serve(server, r, gz(files[r.name[:-3]])) for r in spec.files)
    return dataclasses.replace(spec, files=remotes, expected=expected)


@pytest.mark.parametrize("base", [MNIST, FASHION_MNIST], ids=["mnist", "fashion_mnist"])
def test_idx_dataset_download_frames(tmp_path, server, base):
    files, arrays = idx_dataset()
    spec = serve_idx(server, base, files, {"train": 5, "test": 3})
    p = params(tmp_path, base.name, T=6)
    source = download(p, tmp_path / "raw", spec=spec)
    assert [a.name for a in source.archives] == [r.name for r in base.files]
    for name, raw in files.items():                       # data/raw/<name>/<name>, decompressed
        assert (tmp_path / "raw" / name / name).read_bytes() == raw
    record = json.loads((tmp_path / "raw" / "SOURCE.json").read_text())
    assert record["dataset"] == base.name and record["expected"] == {"train": 5, "test": 3}
    # the .gz files kept, in a folder of their own: MNIST's and Fashion-MNIST's have the same names
    assert sorted(os.listdir(tmp_path / "dl" / base.name)) == sorted(r.name for r in base.files)

    summary = make_frames(p, tmp_path / "raw", tmp_path / "frames", spec=spec)
    assert summary["train"].samples == 5 and summary["test"].samples == 3
    for split, prefix, n in (("train", "train", 5), ("test", "t10k", 3)):
        path = tmp_path / "frames" / f"{split}.h5"
        with h5py.File(path) as f:
            frames = f["frames"]
            assert frames.shape == (n, 1, 28, 28) and frames.dtype == np.uint8
            assert frames.chunks == (1, 1, 28, 28) and frames.fletcher32
            np.testing.assert_array_equal(frames[:, 0], arrays[f"{prefix}-images-idx3-ubyte"])
            assert f["labels"][:].tolist() == arrays[f"{prefix}-labels-idx1-ubyte"].tolist()
            assert f["labels"].dtype == np.int64
            assert [r.decode() for r in f["recording"][:]] == [f"{prefix}-images-idx3-ubyte"] * n
            assert f["label_row"][:].tolist() == list(range(n))
            assert f["n_events"][:].tolist() == [0] * n
            a = read_meta(f)
            assert a["kind"] == "images" and a["dataset"] == base.name and a["split"] == split
            assert (a["T"], a["channels"], a["height"], a["width"]) == (6, 1, 28, 28)
            assert list(a["classes"]) == list(base.classes)
            assert list(a["source_archives"]) == [r.name for r in base.files]
            assert list(a["source_md5"]) == [r.md5 for r in spec.files]
            assert json.loads(a["params"]) == {"dataset": base.name, "frames": {"T": 6}}
            assert "version" in a
        data = H5Frames(path)                              # the training Dataset reads it
        x, label = data[n - 1]
        assert len(data) == n and tuple(data.frame_shape) == (1, 28, 28) and x.dtype == torch.uint8
        np.testing.assert_array_equal(x.numpy()[0], arrays[f"{prefix}-images-idx3-ubyte"][n - 1].astype(np.float32))
        assert label == int(arrays[f"{prefix}-labels-idx1-ubyte"][n - 1])
    text = describe(tmp_path / "frames" / "train.h5")
    assert "images:      5 x (1, 28, 28) uint8" in text and "T = 6" in text and "events:" not in text


def test_mnist_and_fashion_mnist_share_an_archive_dir(tmp_path, server):
    """Their files have the same names: each dataset keeps its own, in its own subfolder."""
    for k, base in enumerate((MNIST, FASHION_MNIST, MNIST)):
        files, arrays = idx_dataset(seed=10 * (k % 2))
        spec = serve_idx(server, base, files, {"train": 5, "test": 3})
        download(params(tmp_path, base.name), tmp_path / f"raw{k}", spec=spec)
        got = read_idx(tmp_path / f"raw{k}" / "train-images-idx3-ubyte" / "train-images-idx3-ubyte")
        np.testing.assert_array_equal(got, arrays["train-images-idx3-ubyte"])
    assert sorted(os.listdir(tmp_path / "dl")) == ["fashion_mnist", "mnist"]


def test_idx_label_out_of_range_names_the_file(tmp_path, server):
    files, arrays = idx_dataset()
    labels = arrays["t10k-labels-idx1-ubyte"].copy()
    labels[2] = 10
    files["t10k-labels-idx1-ubyte"] = idx_bytes(labels)
    spec = serve_idx(server, MNIST, files, {"train": 5, "test": 3})
    p = params(tmp_path, "mnist")
    download(p, tmp_path / "raw", spec=spec)
    with pytest.raises(ImageFormatError) as e:
        make_frames(p, tmp_path / "raw", tmp_path / "frames", spec=spec)
    msg = str(e.value)
    assert "t10k-labels-idx1-ubyte" in msg and "byte offset 10" in msg and "label 10 of image 2" in msg
    assert not (tmp_path / "frames" / "test.h5").exists()


def test_idx_counts_must_match(tmp_path, server):
    files, _ = idx_dataset()
    spec = serve_idx(server, MNIST, files, {"train": 6, "test": 3})
    p = params(tmp_path, "mnist")
    download(p, tmp_path / "raw", spec=spec)
    with pytest.raises(LayoutError, match=r"found 5 images, expected 6"):
        make_frames(p, tmp_path / "raw", tmp_path / "frames", spec=spec)
    files["t10k-labels-idx1-ubyte"] = idx_bytes(np.zeros(2, np.uint8))       # 2 labels, 3 images
    spec = serve_idx(server, MNIST, files, {"train": 5, "test": 3})
    p = params(tmp_path / "again", "mnist")
    download(p, tmp_path / "raw2", spec=spec)
    with pytest.raises(ImageFormatError, match=r"t10k-labels-idx1-ubyte: 2 labels for the 3 images"):
        make_frames(p, tmp_path / "raw2", tmp_path / "frames", spec=spec)


def test_idx_workers_give_byte_identical_files(tmp_path, server, monkeypatch):
    monkeypatch.setattr(images_module, "BLOCK", 3)         # several blocks for the workers
    files, _ = idx_dataset(n_train=20, n_test=7)
    spec = serve_idx(server, MNIST, files, {"train": 20, "test": 7})
    download(params(tmp_path, "mnist"), tmp_path / "raw", spec=spec)
    digests = []
    for workers in (1, 2):
        out = tmp_path / f"frames{workers}"
        make_frames(params(tmp_path, "mnist", workers), tmp_path / "raw", out, spec=spec)
        digests.append([hashlib.md5((out / f"{s}.h5").read_bytes()).hexdigest() for s in ("train", "test")])
    assert digests[0] == digests[1]


# --------------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------------

def serve_cifar(server, tarball: bytes, expected):
    return dataclasses.replace(CIFAR10, files=(serve(server, CIFAR10.files[0], tarball),), expected=expected)


def test_cifar10_download_frames(tmp_path, server):
    batches = cifar_files()
    spec = serve_cifar(server, cifar_tarball(batches), {"train": 10, "test": 3})
    p = params(tmp_path, "cifar10", T=2)
    download(p, tmp_path / "raw", spec=spec)
    assert (tmp_path / "raw" / "cifar-10-python" / "cifar-10-batches-py" / "data_batch_3").is_file()
    make_frames(p, tmp_path / "raw", tmp_path / "frames", spec=spec)
    with h5py.File(tmp_path / "frames" / "train.h5") as f:
        assert f["frames"].shape == (10, 3, 32, 32) and f["frames"].dtype == np.uint8
        np.testing.assert_array_equal(f["frames"][:], np.concatenate([batches[b][0] for b in BATCHES]))
        assert f["labels"][:].tolist() == [v for b in BATCHES for v in batches[b][1]]
        assert [r.decode() for r in f["recording"][:]] == [b for b in BATCHES for _ in range(2)]
        assert f["label_row"][:].tolist() == [0, 1] * 5
        a = read_meta(f)
        assert (a["kind"], a["T"], a["channels"], a["height"], a["width"]) == ("images", 2, 3, 32, 32)
        assert list(a["source_archives"]) == ["cifar-10-python.tar.gz"]
    with h5py.File(tmp_path / "frames" / "test.h5") as f:
        np.testing.assert_array_equal(f["frames"][:], batches["test_batch"][0])
        assert f["labels"][:].tolist() == batches["test_batch"][1]
    # a row is 1024 red, 1024 green, 1024 blue bytes, each a 32x32 image in row order
    im = batches["data_batch_1"][0]
    row = im.reshape(2, 3072)[0]
    x, _ = H5Frames(tmp_path / "frames" / "train.h5")[0]
    assert x[1, 2, 5] == row[1024 + 2 * 32 + 5]


def test_cifar10_tarball_with_a_link_is_refused(tmp_path, server):
    tarball = cifar_tarball(cifar_files(), links={"cifar-10-batches-py/evil": "/etc/passwd"})
    spec = serve_cifar(server, tarball, {"train": 10, "test": 3})
    with pytest.raises(DownloadError, match=r"unsafe member 'cifar-10-batches-py/evil' in .*cifar-10-python.tar.gz"):
        download(params(tmp_path, "cifar10"), tmp_path / "raw", spec=spec)
    assert not (tmp_path / "raw").exists()


def test_cifar10_batch_with_a_forbidden_global_never_runs_it(tmp_path, server, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    evil = b"\x80\x02cos\nsystem\nU\x0becho pwned\x85R."
    spec = serve_cifar(server, cifar_tarball(cifar_files(), extra={"cifar-10-batches-py/data_batch_2": evil}),
                       {"train": 10, "test": 3})
    p = params(tmp_path, "cifar10")
    download(p, tmp_path / "raw", spec=spec)
    with pytest.raises(ImageFormatError) as e:
        make_frames(p, tmp_path / "raw", tmp_path / "frames", spec=spec)
    assert "data_batch_2" in str(e.value) and "os.system" in str(e.value) and "refused" in str(e.value)
    assert calls == []
    assert not (tmp_path / "frames" / "train.h5").exists()


# --------------------------------------------------------------------------------------------
# the readers: refused inputs, each one error naming the file
# --------------------------------------------------------------------------------------------

GOOD_IDX = idx_bytes(rng_images(1, (2, 3, 4)))


@pytest.mark.parametrize("data, where, what", [
    (b"\x00\x00\x09\x03" + GOOD_IDX[4:], "byte offset 2", "data type 0x09"),
    (b"\x01\x00\x08\x03" + GOOD_IDX[4:], "byte offset 0", "magic number 0x01000803"),
    (b"\x00\x00\x08\x02" + GOOD_IDX[4:], "byte offset 3", "2 dimensions"),
    (b"\x00\x00\x08", "byte offset 0", "too short"),
    (GOOD_IDX[:10], "byte offset 10", "ends inside the header"),
    (GOOD_IDX[:-1], f"byte offset {len(GOOD_IDX) - 1}", "need 24 bytes of data .* has 23"),
    (GOOD_IDX + b"\x00\x07", f"byte offset {len(GOOD_IDX)}", "2 trailing bytes"),
    (b"\x00\x00\x08\x03" + struct.pack(">3I", 2**31, 2**31, 3), "byte offset 12",       # 3 * 2**62
     "more than 2\\*\\*63 - 1 values"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 2**32 - 1) + b"\x01\x02", "byte offset 10", "need 4294967295 bytes"),
    # no values, but numpy would size the array by the other two (it raised "array is too big")
    (b"\x00\x00\x08\x03" + struct.pack(">3I", 0, 2**32 - 1, 2**32 - 1), "byte offset 12",
     "more than 2\\*\\*63 - 1 values"),
])
def test_idx_refused(tmp_path, data, where, what):
    path = tmp_path / "bad-images-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(ImageFormatError, match=what) as e:
        read_idx(path)
    assert str(e.value).startswith(f"{path}: {where}:")


def test_idx_reads_the_official_layout(tmp_path):
    images = rng_images(2, (4, 28, 28))
    (tmp_path / "i").write_bytes(idx_bytes(images))
    (tmp_path / "l").write_bytes(idx_bytes(np.array([7, 0, 9, 1], np.uint8)))
    np.testing.assert_array_equal(read_idx(tmp_path / "i"), images)
    assert read_idx(tmp_path / "l").tolist() == [7, 0, 9, 1]
    (tmp_path / "e").write_bytes(idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    assert read_idx(tmp_path / "e").shape == (0, 28, 28)


def test_cifar_reads_the_official_layout(tmp_path):
    images = rng_images(3, (3, 3, 32, 32))
    for module in (b"numpy.core.multiarray", b"numpy._core.multiarray"):
        path = tmp_path / "data_batch_1"
        data = py2_array(images.reshape(3, 3072).tobytes(), (3, 3072), module)
        path.write_bytes(cifar_batch_bytes(images, [9, 0, 4], data=data))
        got, labels = read_cifar_batch(path)
        assert got.shape == (3, 3, 32, 32) and got.dtype == np.uint8 and labels.dtype == np.int64
        np.testing.assert_array_equal(got, images)
        assert labels.tolist() == [9, 0, 4]


def _batch(labels=(1, 2), n=2, data=None):
    return cifar_batch_bytes(rng_images(4, (n, 3, 32, 32)), list(labels), data=data)


@pytest.mark.parametrize("data, what", [
    (b"\x80\x02cos\nsystem\nU\x02id\x85R.", "global os.system"),
    (b"\x80\x02cposix\nsystem\nU\x02id\x85R.", "global posix.system"),
    (b"\x80\x02c__builtin__\neval\nU\x041+1\x85R.", "global __builtin__.eval"),
    (b"\x80\x02cbuiltins\ngetattr\n.", "global builtins.getattr"),
    (b"\x80\x02cnumpy\nload\n.", "global numpy.load"),
    (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00rot13\x86R.",
     r"_codecs.encode\('x', 'rot13'\) is not how Python pickles bytes"),
    (_batch(labels=(1, 10)), "label 1 is 10, expected an int in 0..9"),
    (_batch(labels=(1, -1)), "label 1 is -1"),
    (_batch(labels=(1,)), "b'labels' is a list of 1, expected a list of 2"),
    (_batch(data=py2_array(bytes(2 * 3071), (2, 3071))), r"b'data' is a uint8 array of shape \(2, 3071\)"),
    (_batch(data=py2_str(b"not an array")), "b'data' is a bytes"),
    (b"\x80\x02]q\x00.", "holds a list, not a dict"),
    (b"\x80\x02}(U\x04dataK\x01u.", r"no b'labels' key"),
    (_batch()[:-40], "not a readable pickle"),
    (b"", "not a readable pickle"),
    (b"GIF89a garbage", "not a (readable )?pickle"),
    (b"\x80\x03B\xff\xff\xff\x7fabc.", r"byte offset 2: not a readable pickle .*expected 2147483647 bytes"),
    (b"\x80\x02}r\xff\xff\xff\x7f.", "byte offset 3: memo index 2147483647 after 2 opcodes"),
    (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nJ\xff\xff\xff\x7f\x85U\x01b\x87R.",
     r"reconstruction with _NdarrayToken, shape \(2147483647,\).* is not how numpy pickles"),
    (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\ndtype\nK\x00\x85U\x01b\x87R.",
     "reconstruction with function, shape"),
    (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01O\x87R.",
     "type code b'O'"),
    (b"\x80\x02cnumpy\ndtype\nU\x02O8K\x00K\x01\x87R.", r"numpy.dtype\(b'O8', 0, 1\) is not how"),
    (b"\x80\x02cnumpy\nndarray\nJ\xff\xff\xff\x7f\x85R.", "not a readable pickle .*TypeError"),
])
def test_cifar_refused(tmp_path, data, what, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    path = tmp_path / "data_batch_1"
    path.write_bytes(data)
    with pytest.raises(ImageFormatError, match=what) as e:
        read_cifar_batch(path)
    assert str(e.value).startswith(f"{path}: ")
    assert calls == []


# --------------------------------------------------------------------------------------------
# single .gz files in unpack
# --------------------------------------------------------------------------------------------

def test_gz_file_unpacks_to_its_name(tmp_path):
    raw = idx_bytes(rng_images(5, (3, 28, 28)))
    (tmp_path / "x-idx3-ubyte.gz").write_bytes(gz(raw))
    out = extract(tmp_path / "x-idx3-ubyte.gz", tmp_path / "out")
    assert os.listdir(out) == ["x-idx3-ubyte"] and (out / "x-idx3-ubyte").read_bytes() == raw
    (tmp_path / "t.tar.gz").write_bytes(tar_bytes({"top/a": b"1"}))          # a tarball stays one
    assert (extract(tmp_path / "t.tar.gz", tmp_path / "t") / "top" / "a").read_bytes() == b"1"


@pytest.mark.parametrize("damage, what", [
    (lambda b: b[:-12], "corrupt or truncated|damaged archive"),    # the trailer's size is garbage then
    (lambda b: b[:-8] + b"\x00\x00\x00\x00" + b[-4:], "corrupt or truncated"),     # CRC-32
    (lambda b: b[:-4] + b"\x01\x00\x00\x00", "corrupt or truncated"),                # length
])
def test_damaged_gz_is_refused(tmp_path, damage, what):
    (tmp_path / "a.gz").write_bytes(damage(gz(os.urandom(5000))))
    with pytest.raises(DownloadError, match=what) as e:
        extract(tmp_path / "a.gz", tmp_path / "out")
    assert "a.gz" in str(e.value)
    assert sorted(os.listdir(tmp_path)) == ["a.gz"]


def test_gz_bomb_is_refused_while_streaming(tmp_path, monkeypatch):
    from pipeline.download import unpack

    monkeypatch.setattr(unpack, "RATIO_FLOOR", 1 << 16)
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(bytes(32 << 20), compresslevel=9))
    with pytest.raises(DownloadError, match=r"'bomb' decompresses to at least \d+ bytes, more than 100 times"):
        extract(tmp_path / "bomb.gz", tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == ["bomb.gz"]
    monkeypatch.setattr(unpack, "MAX_TOTAL", 1 << 20)
    (tmp_path / "big.gz").write_bytes(gz(os.urandom(3 << 19)))
    with pytest.raises(DownloadError, match=r"more than the 1048576-byte limit"):
        extract(tmp_path / "big.gz", tmp_path / "out")


# --------------------------------------------------------------------------------------------
# fuzz: mutated valid files give an array or the project's error, nothing else
# --------------------------------------------------------------------------------------------

def mutations(data: bytes, seed: int, count: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        b = bytearray(data)
        op = rng.integers(4)
        if op == 0:                                        # flip bytes
            for i in rng.integers(0, len(b), rng.integers(1, 5)):
                b[i] = int(rng.integers(256))
        elif op == 1:                                      # truncate
            del b[int(rng.integers(len(b))):]
        elif op == 2:                                      # insert
            i = int(rng.integers(len(b) + 1))
            b[i:i] = rng.integers(0, 256, int(rng.integers(1, 9)), dtype=np.uint8).tobytes()
        else:                                              # a byte of the header / opcodes
            b[int(rng.integers(min(len(b), 64)))] = int(rng.integers(256))
        yield bytes(b)


def fuzz(reader, data: bytes, path, seed: int, count: int, check) -> tuple[int, int]:
    """Read each mutation of ``data``: ``check(result)`` holds, or it raises the project's error."""
    ok = refused = 0
    for k, case in enumerate(mutations(data, seed, count)):
        path.write_bytes(case)
        try:
            result = reader(path)
        except PipelineError as e:
            assert str(e).startswith(f"{path}: "), (k, str(e))
            refused += 1
        except Exception as e:                             # noqa: BLE001 - the failure itself
            pytest.fail(f"case {k} ({case[:80]!r}...): {type(e).__name__}: {e}")
        else:
            assert check(result), (k, case[:80])
            ok += 1
    return ok, refused


def test_fuzz_idx_reader(tmp_path):
    ok, refused = fuzz(read_idx, idx_bytes(rng_images(6, (3, 28, 28))), tmp_path / "f-idx3-ubyte", 1, 400,
                       lambda a: a.dtype == np.uint8 and a.ndim in (1, 3))
    assert ok and refused


def test_fuzz_cifar_reader(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
    images = rng_images(7, (2, 3, 32, 32))
    ok, refused = fuzz(read_cifar_batch, cifar_batch_bytes(images, [3, 8]), tmp_path / "data_batch_1", 2, 600,
                       lambda r: r[0].dtype == np.uint8 and r[0].shape[1:] == (3, 32, 32) and r[1].dtype == np.int64
                       and len(r[0]) == len(r[1]) and r[1].min(initial=0) >= 0 and r[1].max(initial=0) <= 9)
    assert ok and refused and calls == []
    # numpy's own uint8 dtype is untouched (the pickles' dtype states only ever set copies)
    assert np.dtype(np.uint8).descr == [("", "|u1")] and np.dtype(np.uint8).names is None
    assert np.frombuffer(b"\x01\x02", np.uint8).tolist() == [1, 2]


def test_gz_bomb_stops_at_the_running_ratio_after_a_few_megabytes(tmp_path):
    """A gzip of 1 GiB of zeros (~1 MB): its trailer declares 1 GiB, past 100 x its size:
    refused before a byte is written. With the trailer lying (as a 4 GiB + 1 file's does,
    modulo 2**32), the running ratio stops it after a few megabytes (it wrote 400 MB before)."""
    import shutil
    import zlib

    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    with open(tmp_path / "bomb.gz", "wb") as f:
        for _ in range(1024):
            f.write(comp.compress(block))
        f.write(comp.flush())
    with pytest.raises(DownloadError, match=r"'bomb' decompresses to at least 1073741824 bytes"):
        extract(tmp_path / "bomb.gz", tmp_path / "out")
    data = bytearray((tmp_path / "bomb.gz").read_bytes())
    data[-4:] = (5).to_bytes(4, "little")                 # ISIZE: 5 bytes
    (tmp_path / "liar.gz").write_bytes(bytes(data))
    with pytest.raises(DownloadError, match=r"'liar' decompresses to \d+ bytes from the first \d+ compressed "
                                            r"\(ratio over 100:1\)") as e:
        extract(tmp_path / "liar.gz", tmp_path / "out")
    import re
    assert int(re.search(r"decompresses to (\d+) bytes", str(e.value)).group(1)) < 32 << 20
    assert sorted(os.listdir(tmp_path)) == ["bomb.gz", "liar.gz"]
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
