"""CIFAR-10 batches that Python 3 re-saved read; hostile pickles end in one line, bounded.

The bombs run in a child process (a crash of the reader must fail the test, not the suite),
which reports its peak memory: every one must stay under 256 MB plus 4 times the file."""

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.core.errors import ImageFormatError
from pipeline.io.cifar import read_cifar_batch

ROOT = Path(__file__).resolve().parents[2]


def batch(n=3, seed=0, str_keys=False):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    key = (lambda k: k.decode()) if str_keys else (lambda k: k)
    return {key(b"batch_label"): b"training batch 1 of 5", key(b"labels"): labels, key(b"data"): images,
            key(b"filenames"): [b"img_%d.png" % i for i in range(n)]}, images, labels


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("str_keys", [False, True])
def test_batches_re_pickled_by_python3_read(tmp_path, protocol, str_keys):
    """Protocol 2 writes bytes as _codecs.encode(text, 'latin1'); 4 and 5 use STACK_GLOBAL and
    frames; 5 writes numpy's array as _frombuffer(bytearray, dtype, shape, order)."""
    obj, images, labels = batch(str_keys=str_keys)
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    got, got_labels = read_cifar_batch(path)
    np.testing.assert_array_equal(got.reshape(len(images), 3072), images)
    assert got_labels.tolist() == labels


def run_child(path: Path, timeout=120) -> dict:
    code = f"""
import json, sys
from pipeline.core.errors import ImageFormatError
from pipeline.io.cifar import read_cifar_batch
try:
    read_cifar_batch({str(path)!r})
    out = {{"error": None}}
except ImageFormatError as e:
    out = {{"error": str(e)}}
# VmHWM: this process's own peak (ru_maxrss would count the parent's size at fork)
out["peak"] = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps(out))
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"the reader crashed (exit {r.returncode}): {r.stderr[-1500:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def deep_tuple(depth: int) -> bytes:
    return b"\x80\x02})" + b"\x85" * depth + b"K\x01s."


@pytest.mark.parametrize("data, what", [
    (deep_tuple(10**6), r"byte offset 36: values nested more than 32 deep"),        # used to crash (SIGSEGV)
    (deep_tuple(10**5), "values nested more than 32 deep"),                         # used to raise RecursionError
    (b"\x80\x02" + b"}" * (16 << 20) + b".", "builds more than 3 times its own size"),   # 1.46 GB, 16-60 s before
    (b"\x80\x02(" + b"]" * (8 << 20) + b"l.", "builds more than 3 times its own size"),
], ids=["tuple-1e6", "tuple-1e5", "empty-dicts", "empty-lists"])
def test_bombs_end_in_one_line_within_memory(tmp_path, data, what):
    path = tmp_path / "data_batch_1"
    path.write_bytes(data)
    out = run_child(path)
    assert out["error"] is not None and out["error"].startswith(f"{path}: ")
    assert "\n" not in out["error"]
    assert re.search(what, out["error"]), out["error"]
    assert out["peak"] < (256 << 20) + 4 * len(data), out["peak"]


def batch_with_label(label_op: bytes) -> bytes:
    """A one-image batch pickled at protocol 2 whose one label is the given opcode."""
    obj, _, _ = batch(n=1)
    obj[b"labels"] = [200]                       # BININT1 200, replaced below
    data = pickle.dumps(obj, protocol=2)
    assert data.count(b"K\xc8") == 1
    return data.replace(b"K\xc8", label_op)


def test_a_huge_label_is_shown_by_size(tmp_path):
    big = (10**5000).to_bytes((10**5000).bit_length() // 8 + 1, "little", signed=True)
    path = tmp_path / "data_batch_1"
    path.write_bytes(batch_with_label(b"\x8b" + len(big).to_bytes(4, "little") + big))
    with pytest.raises(ImageFormatError, match=r"label 0 is an int of 16610 bits, expected an int in 0\.\.9"):
        read_cifar_batch(path)


def test_a_decimal_label_past_pythons_digit_limit(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(batch_with_label(b"I" + b"1" * 5000 + b"\n"))
    with pytest.raises(ImageFormatError, match="not a readable pickle .*ValueError"):
        read_cifar_batch(path)


def test_a_dtype_whose_state_holds_itself(tmp_path):
    """numpy.dtype('u1') BUILT with a state that refers back to the dtype (through the memo):
    refused before numpy sees it (it used to raise a traceback inside numpy)."""
    data = (b"\x80\x02cnumpy\ndtype\nq\x01U\x02u1K\x00K\x01\x87Rq\x02"
            b"(K\x03U\x01|h\x02NNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb.")
    path = tmp_path / "data_batch_1"
    path.write_bytes(data)
    with pytest.raises(ImageFormatError, match="a dtype state other than uint8's"):
        read_cifar_batch(path)


def test_a_list_appended_to_itself_is_harmless(tmp_path):
    """A list that contains itself (memo GET of it, then APPEND): nothing here recurses into it."""
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02]q\x01h\x01a.")
    with pytest.raises(ImageFormatError, match="holds a list, not a dict"):
        read_cifar_batch(path)


@pytest.mark.parametrize("data, what", [
    (b"\x80\x02cnumpy.core.numeric\n_frombuffer\n(C\x02abcnumpy\ndtype\nU\x02u1K\x00K\x01\x87R"
     b"K\x05\x85U\x01CtR.", r"numpy._frombuffer\(b'ab', a _Dtype, a tuple, b'C'\) is not how numpy pickles"),
    (b"\x80\x02U\x01xU\x01yb.", r"BUILD on b'x'"),
    (b"\x80\x02G\x00\x00\x00\x00\x00\x00\x00\x00.", "opcode BINFLOAT, which a CIFAR-10 batch never uses"),
    (b"\x80\x02c__builtin__\nset\n)R.", "global __builtin__.set"),
    (b"\x80\x06}.", "pickle protocol 6"),
    (b"\x80\x02h\x05.", "byte offset 2: memo index 5 was never stored"),
])
def test_more_refusals(tmp_path, data, what):
    path = tmp_path / "data_batch_1"
    path.write_bytes(data)
    with pytest.raises(ImageFormatError, match=what) as e:
        read_cifar_batch(path)
    assert str(e.value).startswith(f"{path}: byte offset ")
