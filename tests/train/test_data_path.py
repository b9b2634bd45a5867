"""Feeding the device: narrow samples from the host, float32 on the device, the same numbers;
``train.data_on_device`` gives the streaming loader's batches, bit for bit, and the same run."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from pipeline.train.data import DeviceFrames, H5Frames, narrow_dtype, validation_split
from pipeline.train.distributed import Context
from pipeline.params import DATA_ON_DEVICE_FRACTION
from pipeline.core.store import FIELDS, FrameWriter, meta_bytes, read_frames
from pipeline.train.placement import data_on_device, device_batches, train_loader
from tinyframes import TRAIN
from workspace import run_stage

SHAPE = (3, 2, 6, 5)


def counts_file(path: Path, top: int, n: int = 4, seed: int = 0) -> Path:
    """``n`` samples of uint32 counts, the largest ``top`` (in the last sample), many zeros."""
    rng = np.random.default_rng(seed)
    with FrameWriter(path, n, SHAPE, {"dataset": "t"}) as w:
        for i in range(n):
            frames = np.minimum(rng.poisson(2.0, SHAPE), top).astype(np.uint32)
            frames[0, 0, 0, :2] = 0
            if i == n - 1:
                frames[1, 1, 2, 3] = top
            w.write(frames, i % 2, f"r{i}", i, int(frames.sum()))
    return path


def images_file(path: Path, n: int = 3) -> Path:
    rng = np.random.default_rng(1)
    with FrameWriter(path, n, (3, 8, 8), {"dataset": "t", "kind": "images", "T": 2}, dtype=np.uint8) as w:
        for i in range(n):
            image = rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)
            image[0, 0, 0] = 255
            w.write(image, i % 2, f"r{i}", i, 0)
    return path


def plain_file(path: Path, frames: np.ndarray) -> Path:
    """A frames file without the store's filters (no scale-offset header to read)."""
    n = len(frames)
    with h5py.File(path, "w") as f:
        f["frames"] = frames
        f["labels"] = np.zeros(n, np.int64)
        for name in set(FIELDS) - {"labels"}:
            f[name] = np.zeros(n, np.int64)
        f["meta"] = np.frombuffer(meta_bytes({"dataset": "plain"}), np.uint8)
    return path


def old_cast(path: Path, i: int) -> np.ndarray:
    """What H5Frames gave before: the stored values cast to float32 on the host."""
    with h5py.File(path) as f:
        return read_frames(f, i).astype(np.float32)


def assert_same_floats(data: H5Frames) -> None:
    for i in range(len(data)):
        x, _ = data[i]
        want = torch.from_numpy(old_cast(data.path, i))
        got = x.float()
        assert got.dtype == torch.float32 and torch.equal(got.view(torch.int32), want.view(torch.int32))


@pytest.mark.parametrize("top,dtype", [(0, np.uint8), (200, np.uint8), (255, np.uint8), (256, np.int16),
                                       (32767, np.int16), (32768, np.int32), (70000, np.int32),
                                       (2**31 - 1, np.int32), (2**31, np.int64)])
def test_counts_come_at_the_narrowest_type_of_the_files_largest_count(tmp_path, top, dtype):
    path = counts_file(tmp_path / "c.h5", top)
    data = H5Frames(path)
    assert data.dtype == np.dtype(dtype) and narrow_dtype(path) == np.dtype(dtype)
    x, y = data[len(data) - 1]
    assert x.dtype == torch.from_numpy(np.zeros(0, dtype)).dtype and int(x.max()) == top and y == 1
    assert_same_floats(data)


def test_images_stay_uint8_and_tiny_counts_narrow(tmp_path, tiny_frames):
    data = H5Frames(images_file(tmp_path / "i.h5"))
    assert data.dtype == np.uint8 and data[0][0].dtype == torch.uint8
    assert_same_floats(data)
    for path in tiny_frames:                       # Poisson counts of a few events: uint8
        data = H5Frames(path)
        assert data.dtype == np.uint8 and data[0][0].dtype == torch.uint8 and data.torch_dtype == torch.uint8
        assert_same_floats(data)


@pytest.mark.parametrize("top,dtype", [(255, np.uint8), (300, np.int16), (40000, np.int32)])
def test_a_file_without_the_stores_filters_is_decoded_to_decide(tmp_path, top, dtype):
    frames = np.zeros((3, *SHAPE), np.uint32)
    frames[1, 0, 0, 1, 1] = top
    data = H5Frames(plain_file(tmp_path / f"p{top}.h5", frames))
    assert data.dtype == np.dtype(dtype)
    assert_same_floats(data)


def test_the_type_is_decided_per_file(tmp_path):
    small, large = counts_file(tmp_path / "s.h5", 9), counts_file(tmp_path / "l.h5", 40000)
    assert (H5Frames(small).dtype, H5Frames(large).dtype) == (np.uint8, np.int32)


# --- the same batches ------------------------------------------------------------------------


def streamed(loader, sampler, epoch: int, batches: int | None):
    sampler.set_epoch(epoch)
    out = []
    for k, (x, y) in enumerate(loader):
        if batches is not None and k == batches:
            break
        out.append((x, y))
    return out


def indexed(frames, sampler, batch_size, generator, epoch: int, batches: int | None):
    sampler.set_epoch(epoch)
    out = []
    for k, (x, y) in enumerate(device_batches(frames, sampler, batch_size, generator)):
        if batches is not None and k == batches:
            break
        out.append((x, y))
    return out


@pytest.mark.parametrize("world_size,batch_size,drop_last,held_out,workers", [
    (1, 8, False, True, 0), (1, 8, True, True, 0), (1, 5, False, False, 0),
    (2, 8, False, True, 0), (2, 8, True, True, 0), (2, 6, True, False, 0), (2, 8, True, True, 2)])
def test_device_batches_are_the_streaming_loaders_bit_for_bit(tiny_frames, world_size, batch_size, drop_last,
                                                              held_out, workers):
    data = H5Frames(tiny_frames[0])
    idx = validation_split(data.labels, 0.15, 0)[0] if held_out else np.arange(len(data))
    tp = TRAIN.model_copy(update={"batch_size": batch_size, "drop_last": drop_last, "workers": workers})
    batches = len(idx) // batch_size if drop_last else None          # as start_run counts them
    frames = DeviceFrames(data, idx, torch.device("cpu"))
    assert frames.x.dtype == torch.uint8 and frames.y.dtype == torch.int64 and len(frames) == len(idx)
    for rank in range(world_size):
        ctx = Context(rank=rank, world_size=world_size)
        loader, s_sampler, s_gen = train_loader(data, idx, tp, ctx)
        _, d_sampler, d_gen = train_loader(data, idx, tp, ctx)
        for epoch in (1, 2, 3):
            a = streamed(loader, s_sampler, epoch, batches)
            b = indexed(frames, d_sampler, loader.batch_size, d_gen, epoch, batches)
            assert len(a) == len(b) == (batches if drop_last else -(-len(s_sampler) // loader.batch_size))
            for (xa, ya), (xb, yb) in zip(a, b):
                assert xa.dtype == xb.dtype == torch.uint8 and ya.dtype == yb.dtype == torch.int64
                assert xa.shape == xb.shape and torch.equal(xa, xb) and torch.equal(ya, yb)
                assert torch.equal(xa.float().view(torch.int32), xb.float().view(torch.int32))
            if workers == 0:      # the loader's generator moves as the DataLoader's does
                assert torch.equal(s_gen.get_state(), d_gen.get_state())
        if workers:
            del loader            # its persistent workers


def test_scored_share_batches_are_the_loaders(tiny_frames):
    from pipeline.train.placement import score_loader, split_batches
    test = H5Frames(tiny_frames[1])
    for rank in range(2):
        share = np.arange(len(test))[rank::2]
        a = list(split_batches(score_loader(test, share, 3, 0, torch.device("cpu")), 3))
        b = list(split_batches(DeviceFrames(test, share, torch.device("cpu")), 3))
        assert len(a) == len(b) == 2
        for (xa, ya), (xb, yb) in zip(a, b):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)
    empty = DeviceFrames(test, np.array([], np.int64), torch.device("cpu"))   # protocol A's validation
    assert len(empty) == 0 and list(split_batches(empty, 3)) == []


# --- when the data goes to the device --------------------------------------------------------


def test_auto_on_cpu_is_false_and_true_false_are_what_they_say():
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert data_on_device("auto", cpu, [1, 2, 3]) == [False] * 3
    assert data_on_device(True, cpu, [1 << 60, 2]) == [True, True]      # on CPU: in memory
    assert data_on_device(False, cuda, [1, 2], free=1 << 40) == [False, False]
    assert data_on_device(True, cuda, [1 << 60], free=1) == [True]       # asked for: no check


def test_auto_on_cuda_loads_the_splits_that_fit_in_the_fraction_of_free_memory(monkeypatch):
    cuda = torch.device("cuda", 0)
    free = 1_000_000
    budget = int(DATA_ON_DEVICE_FRACTION * free)
    assert 0 < DATA_ON_DEVICE_FRACTION < 1
    assert data_on_device("auto", cuda, [budget], free=free) == [True]
    assert data_on_device("auto", cuda, [budget + 1], free=free) == [False]
    # together: train and validation fit, the test set no longer does
    assert data_on_device("auto", cuda, [budget - 100, 100, 1], free=free) == [True, True, False]
    # a split too large streams; the smaller ones after it may still go
    assert data_on_device("auto", cuda, [budget + 1, 10, 20], free=free) == [False, True, True]
    # the free memory is torch.cuda.mem_get_info's (a fake device's here)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free, 4 * free))
    assert data_on_device("auto", cuda, [budget, 1]) == [True, False]


# --- a whole run -----------------------------------------------------------------------------


def outputs(folder: Path) -> dict:
    metrics = json.loads((folder / "results/train.json").read_text())
    metrics.pop("train_seconds")
    log = [row.split(",") for row in (folder / "results/train_log.csv").read_text().splitlines()]
    seconds = log[0].index("seconds")
    ckpt = torch.load(folder / "models/checkpoint.pt", weights_only=True)
    for row in ckpt["history"]:
        row.pop("seconds")
    model = torch.load(folder / "models/model.pt", weights_only=True)
    return {"metrics": metrics, "log": [r[:seconds] + r[seconds + 1:] for r in log], "ckpt": ckpt, "model": model}


def assert_same_tree(a, b, where="") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same_tree(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tree(x, y, f"{where}/{i}")
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), where
    else:
        assert a == b, where


def test_a_run_on_device_is_the_streaming_run(train_workspace):
    runs = {}
    for on in (False, True):
        folder = train_workspace(f"on-{on}", model={"dropout": 0.5}, epochs=3, T_max=3, drop_last=True,
                                 data_on_device=on)
        r = run_stage("train", folder)
        assert ("frames held on cpu" in r.stdout) == on, r.stdout
        runs[on] = outputs(folder)
    a, b = runs[False], runs[True]
    assert a["metrics"] == b["metrics"] and a["log"] == b["log"] and len(a["log"]) == 4
    assert_same_tree(a["model"], b["model"])
    assert_same_tree(a["ckpt"], b["ckpt"])      # weights, optimiser, every random state, history


def test_a_value_beyond_the_chosen_type_is_an_error_not_a_wrap(tmp_path, monkeypatch):
    """If the scan ever chose too narrow a type (a changed file, a misread header), reading
    the sample fails naming it instead of wrapping 300 to 44 in uint8."""
    import pipeline.train.data
    from pipeline.core.errors import DamagedFileError

    path = counts_file(tmp_path / "c.h5", 300)
    monkeypatch.setattr(pipeline.train.data, "narrow_dtype", lambda p: np.dtype(np.uint8))
    data = H5Frames(path)
    with pytest.raises(DamagedFileError, match=rf"{path}: sample {len(data) - 1} holds the value 300"):
        data[len(data) - 1]
