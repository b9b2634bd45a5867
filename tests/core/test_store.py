"""The HDF5 frames file and the torch Dataset reading it."""

import h5py
import numpy as np
import pytest
from torch.utils.data import DataLoader

from damage import damage_sample, flip_byte
from pipeline.train.data import H5Frames
from pipeline.core.store import FrameWriter, read_attrs, read_sample

SHAPE = (3, 2, 4, 5)


def samples(n):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 70000, SHAPE).astype(np.uint32) for _ in range(n)]


def write(path, frames, attrs=None):
    with FrameWriter(path, len(frames), SHAPE, attrs or {"dataset": "x", "classes": ["a", "b"]}) as w:
        for i, f in enumerate(frames):
            w.write(f, i % 2, f"rec{i}.aedat", i, int(f.sum()))


def test_round_trip(tmp_path):
    frames = samples(5)
    path = tmp_path / "s.h5"
    write(path, frames)
    for i in range(5):
        got, label = read_sample(path, i)
        np.testing.assert_array_equal(got, frames[i])     # values above 2**16 survive
        assert label == i % 2
    with h5py.File(path) as f:
        assert f["frames"].compression == "gzip" and f["frames"].chunks == (1, *SHAPE)
        assert f["recording"][3].decode() == "rec3.aedat" and f["label_row"][4] == 4
    attrs = read_attrs(path)
    assert attrs["classes"] == ["a", "b"] and attrs["T"] == 3 and attrs["height"] == 4 and attrs["width"] == 5
    assert attrs["version"]


def test_failure_leaves_nothing(tmp_path):
    path = tmp_path / "s.h5"
    with pytest.raises(ZeroDivisionError):
        with FrameWriter(path, 2, SHAPE, {}) as w:
            w.write(samples(1)[0], 0, "r", 0, 1)
            1 / 0
    with pytest.raises(RuntimeError, match="wrote 1 of 2 samples"):
        with FrameWriter(path, 2, SHAPE, {}) as w:
            w.write(samples(1)[0], 0, "r", 0, 1)
    assert list(tmp_path.iterdir()) == []


def test_same_content_same_bytes(tmp_path):
    write(tmp_path / "a.h5", samples(3))
    write(tmp_path / "b.h5", samples(3))
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


@pytest.mark.parametrize("workers", [0, 2])
def test_dataset_through_dataloader(tmp_path, workers):
    frames = samples(6)
    path = tmp_path / "s.h5"
    write(path, frames)
    ds = H5Frames(path)
    assert len(ds) == 6 and ds.frame_shape == SHAPE and ds.attrs["classes"] == ["a", "b"]
    seen = {}
    for x, y in DataLoader(ds, batch_size=4, num_workers=workers):
        assert x.dtype == ds.torch_dtype and not x.dtype.is_floating_point and x.shape[1:] == SHAPE
        for xi, yi in zip(x, y):
            seen[len(seen)] = (xi.numpy(), int(yi))
    for i, (x, y) in seen.items():
        np.testing.assert_array_equal(x, frames[i].astype(np.float32))
        assert y == i % 2


@pytest.mark.parametrize("fill", ["zeros", "small", "large", "constant", "extremes"])
def test_encoded_chunk_is_what_hdf5_stores(tmp_path, fill):
    """ChunkEncoder's bytes are those a plain h5py write into the file's dataset stores."""
    from pipeline.core.store import LIBVER, ChunkEncoder, _create_frames

    rng = np.random.default_rng(1)
    frames = {"zeros": np.zeros(SHAPE, np.uint32), "small": rng.poisson(0.7, SHAPE).astype(np.uint32),
              "large": rng.integers(0, 2**32 - 1, SHAPE, dtype=np.uint64).astype(np.uint32),
              "constant": np.full(SHAPE, 7, np.uint32),
              "extremes": np.where(rng.random(SHAPE) < 0.5, 0, 2**32 - 1).astype(np.uint32)}[fill]
    with h5py.File(tmp_path / "plain.h5", "w", libver=LIBVER) as f:
        d = _create_frames(f, 2, SHAPE)
        d[1] = frames                     # HDF5's own filter pipeline, not a direct chunk write
        stored = d.id.read_direct_chunk((1, 0, 0, 0, 0))
    enc = ChunkEncoder(SHAPE)
    assert enc.encode(frames) == (stored[0], bytes(stored[1]))
    enc.close()
    write(tmp_path / "s.h5", [frames, frames])
    np.testing.assert_array_equal(read_sample(tmp_path / "s.h5", 1)[0], frames)


def test_every_dataset_carries_a_checksum(tmp_path):
    write(tmp_path / "s.h5", samples(3))
    with h5py.File(tmp_path / "s.h5") as f:
        assert {name: f[name].fletcher32 for name in f} == dict.fromkeys(
            ["frames", "labels", "recording", "label_row", "n_events", "meta"], True)
        assert not f.attrs.keys()                  # the metadata is the checksummed meta dataset
        assert f["frames"].scaleoffset == 0 and f["frames"].compression == "gzip"


VOXEL_SHAPE = (3, 1, 4, 5)


def voxel_samples(n):
    """Voxel-grid-like float32 frames: signed, fractional, zeros, a -0.0 and float32 extremes."""
    rng = np.random.default_rng(2)
    out = []
    for _ in range(n):
        f = (rng.normal(0, 3, VOXEL_SHAPE) * (rng.random(VOXEL_SHAPE) < 0.6)).astype(np.float32)
        f.flat[:4] = [-0.0, np.finfo(np.float32).max, np.finfo(np.float32).tiny, -1e-45]
        out.append(f)
    return out


def test_float32_frames_round_trip_through_shuffle_and_deflate(tmp_path):
    """The voxel grid's float32 frames: no scale-offset (lossy for floats) but shuffle + deflate +
    Fletcher-32; stored exactly, bit for bit, checksummed, the same bytes for the same content,
    and read as float32 by training (narrow_dtype keeps floats)."""
    from pipeline.core.errors import DamagedFileError
    from pipeline.core.store import ChunkEncoder
    from pipeline.core.store import chunk_bounds
    from pipeline.train.data import narrow_dtype

    frames = voxel_samples(4)
    paths = [tmp_path / "v.h5", tmp_path / "w.h5"]
    for path in paths:
        with FrameWriter(path, 4, VOXEL_SHAPE, {"dataset": "x", "classes": ["a", "b"]}, dtype=np.float32) as w:
            for i, f in enumerate(frames):
                w.write(f, i % 2, f"rec{i}", i, 10 * i)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    path = paths[0]
    for i in range(4):
        got, label = read_sample(path, i)
        assert got.dtype == np.float32 and got.tobytes() == frames[i].tobytes() and label == i % 2
    with h5py.File(path) as f:
        d = f["frames"]
        assert d.dtype == np.float32 and d.chunks == (1, *VOXEL_SHAPE)
        assert d.shuffle and d.compression == "gzip" and d.compression_opts == 3 and d.fletcher32
        assert d.scaleoffset is None
        assert chunk_bounds(d) == [None] * 4                  # no scale-offset header to read bounds from
        stored = d.id.read_direct_chunk((2, 0, 0, 0, 0))
    enc = ChunkEncoder(VOXEL_SHAPE, np.float32)
    assert enc.encode(frames[2]) == (stored[0], bytes(stored[1]))
    enc.close()
    assert read_attrs(path)["T"] == 3 and narrow_dtype(path) == np.float32
    ds = H5Frames(path)
    x, y = ds[1]
    assert ds.frame_shape == VOXEL_SHAPE and np.array_equal(np.asarray(x), frames[1]) and int(y) == 1
    damage_sample(path, 3)
    with pytest.raises(DamagedFileError, match=rf"{path}: sample 3 cannot be read .* damaged"):
        read_sample(path, 3)


def test_uint8_codes_keep_the_integer_filters(tmp_path):
    """Bina-Rep's uint8 codes: scale-offset + deflate + Fletcher-32, as counts; read as uint8."""
    from pipeline.train.data import narrow_dtype

    rng = np.random.default_rng(3)
    frames = [rng.integers(0, 256, SHAPE).astype(np.uint8) for _ in range(3)]
    path = tmp_path / "b.h5"
    with FrameWriter(path, 3, SHAPE, {"classes": ["a"]}, dtype=np.uint8) as w:
        for f in frames:
            w.write(f, 0, "r", 0, 1)
    with h5py.File(path) as f:
        assert f["frames"].dtype == np.uint8 and f["frames"].scaleoffset == 0 and f["frames"].fletcher32
        assert not f["frames"].shuffle
    for i in range(3):
        np.testing.assert_array_equal(read_sample(path, i)[0], frames[i])
    assert narrow_dtype(path) == np.uint8


def test_a_damaged_sample_or_label_fails_naming_the_file_and_sample(tmp_path):
    """A byte flipped in place (what a disk error or an edit through a DVC hard link does) is
    caught on read; before the checksums a flipped label trained silently on the wrong class."""
    from pipeline.core.errors import DamagedFileError

    frames = samples(4)
    path = tmp_path / "s.h5"
    write(path, frames)
    with h5py.File(path) as f:
        labels = f["labels"].id.get_chunk_info(0)
    damage_sample(path, 2)
    with pytest.raises(DamagedFileError, match=rf"{path}: sample 2 cannot be read .* damaged"):
        read_sample(path, 2)
    np.testing.assert_array_equal(read_sample(path, 3)[0], frames[3])     # the others still read
    with pytest.raises(DamagedFileError, match="sample 2"):
        H5Frames(path)[2]

    path2 = tmp_path / "t.h5"
    write(path2, frames)
    flip_byte(path2, labels.byte_offset + 8 * 1)                   # label of sample 1: 1 -> 17
    with pytest.raises(DamagedFileError, match=rf"{path2}: dataset 'labels' cannot be read"):
        H5Frames(path2)


def test_a_failing_close_leaves_nothing(tmp_path, monkeypatch):
    """The last flush (where a full disk shows) fails: no temporary file is left behind."""
    real_close = h5py.File.close

    def failing_close(self):
        real_close(self)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(h5py.File, "close", failing_close)
    with pytest.raises(OSError, match="No space left"):
        write(tmp_path / "s.h5", samples(2))
    assert list(tmp_path.iterdir()) == []


def test_a_real_write_error_leaves_nothing(tmp_path):
    """Writing past a file-size limit (EFBIG, as on a full disk) in a child process: an error,
    and neither the file nor a temporary."""
    import subprocess
    import sys
    from pathlib import Path

    code = f"""
import resource, signal, sys
import numpy as np
sys.path.insert(0, {str(Path(__file__).parent)!r})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
from pipeline.core.store import FrameWriter
rng = np.random.default_rng(0)
try:
    with FrameWriter({str(tmp_path / 'big.h5')!r}, 20, (4, 2, 32, 32), {{}}) as w:
        for i in range(20):
            w.write(rng.integers(0, 2**31, (4, 2, 32, 32)).astype(np.uint32), 0, "r", i, 1)
except OSError as e:
    print("OSError", e)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "OSError" in r.stdout, r.stdout + r.stderr
    assert list(tmp_path.iterdir()) == []
