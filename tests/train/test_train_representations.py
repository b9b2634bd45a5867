"""Training, scoring and evaluate on the frames of other representations (issue #26): a voxel
grid (float32, one signed channel) and Bina-Rep (uint8 codes of n_bits bits, which the network
must see as code / (2**n_bits - 1), Tonic's ToBinaRep values). The tensor the network receives
is recorded by a forward pre-hook and compared, bit for bit, with values computed here with
numpy, for the training batches and the scored test split, streamed and held on the device.

The files are written with pipeline.core.store.FrameWriter (float32 for the voxel grid: the
store's float support of issue #26)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import pipeline.evaluate.stage
import pipeline.train.stage
from pipeline.core.errors import LayoutError
from pipeline.core.store import FrameWriter
from pipeline.evaluate.stage import evaluate
from pipeline.train.data import DeviceFrames, H5Frames
from pipeline.train.stage import train
from pipeline.train.scoring import on_device
from tinyframes import CLASSES, MODEL, TRAIN

T, SIZE = 4, 16
N_TRAIN, N_TEST = 8, 4


def voxel_samples(n: int, seed: int) -> np.ndarray:
    """``(n, T, 1, SIZE, SIZE)`` float32: signed values, most of them zero, class c stronger in
    its quadrant."""
    rng = np.random.default_rng(seed)
    x = (rng.normal(0, 1, (n, T, 1, SIZE, SIZE)) * (rng.random((n, T, 1, SIZE, SIZE)) < 0.3)).astype(np.float32)
    half = SIZE // 2
    for i in range(n):
        r, q = divmod(i % len(CLASSES), 2)
        x[i, :, :, r * half:(r + 1) * half, q * half:(q + 1) * half] *= 3
    return x


def binarep_samples(n: int, seed: int, n_bits: int) -> np.ndarray:
    """``(n, T, 2, SIZE, SIZE)`` uint8 codes from 0 to 2**n_bits - 1, many zeros, the top one included."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2**n_bits, (n, T, 2, SIZE, SIZE)) * (rng.random((n, T, 2, SIZE, SIZE)) < 0.4)
    x[0, 0, 0, 0, 0] = 2**n_bits - 1
    return x.astype(np.uint8)


def write(path: Path, samples: np.ndarray, attrs: dict) -> Path:
    attrs = {"dataset": "tiny", "split": path.stem, "classes": CLASSES, **attrs}
    with FrameWriter(path, len(samples), samples.shape[1:], attrs, dtype=samples.dtype) as w:
        for i, frames in enumerate(samples):
            w.write(frames, i % len(CLASSES), f"rec{i}", i, int(np.count_nonzero(frames)))
    return path


def voxel_files(folder: Path):
    """``(train.h5, test.h5, train values, test values)``: the values the network must see."""
    folder.mkdir(parents=True, exist_ok=True)
    a, b = voxel_samples(N_TRAIN, 1), voxel_samples(N_TEST, 2)
    attrs = {"representation": "voxel_grid"}
    return write(folder / "train.h5", a, attrs), write(folder / "test.h5", b, attrs), a, b


def tonic_binarep(codes: np.ndarray, n_bits: int) -> np.ndarray:
    """Tonic's ToBinaRep values of the codes, computed here: float32 codes over the float32 2**n - 1."""
    return codes.astype(np.float32) / np.float32(2**n_bits - 1)


def binarep_files(folder: Path, n_bits: int = 3, test_bits: int | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    a, b = binarep_samples(N_TRAIN, 1, n_bits), binarep_samples(N_TEST, 2, test_bits or n_bits)
    return (write(folder / "train.h5", a, {"representation": "binarep", "n_bits": n_bits}),
            write(folder / "test.h5", b, {"representation": "binarep", "n_bits": test_bits or n_bits}),
            tonic_binarep(a, n_bits), tonic_binarep(b, test_bits or n_bits))


def bits(x) -> torch.Tensor:
    """float32 values as their bit patterns: equal bit for bit, -0.0 and 0.0 told apart."""
    x = torch.as_tensor(x)
    assert x.dtype == torch.float32
    return x.contiguous().view(torch.int32)


# --- the dataset and the one cast ------------------------------------------------------------


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (benchmarks/gpu_check.sh runs it)")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
@pytest.mark.parametrize("n_bits", [2, 3, 8])
def test_binarep_codes_stay_uint8_and_reach_the_network_as_tonics_values(tmp_path, n_bits, device):
    """On the device the network runs on: CUDA divides by a host scalar as a multiplication by
    its reciprocal, which misses some codes by an ulp; on_device divides by a device tensor."""
    device = torch.device(device)
    train_h5, _, want, _ = binarep_files(tmp_path, n_bits)
    data = H5Frames(train_h5)
    assert data.representation == "binarep" and data.dtype == np.uint8 and data.scale == 2**n_bits - 1
    x, _ = data[0]
    assert x.dtype == torch.uint8
    got, _ = on_device(x[None], torch.zeros(1, dtype=torch.int64), device, data.scale)
    got = got.cpu()
    assert torch.equal(bits(got[0]), bits(want[0]))
    assert float(got.max()) == 1.0 and float(got.min()) == 0.0
    if n_bits >= 3:     # the comparison has teeth: a multiplication by the reciprocal misses some codes
        reciprocal = x[None].float() * (1 / torch.full((), 2.0**n_bits - 1))
        assert not torch.equal(bits(reciprocal[0]), bits(want[0]))
    frames = DeviceFrames(data, range(len(data)), device)                    # data_on_device: the same
    assert frames.x.dtype == torch.uint8 and frames.scale == data.scale
    held, _ = on_device(*frames.batch(slice(0, len(data))), device, frames.scale)
    assert torch.equal(bits(held.cpu()), bits(want))


def test_a_voxel_grid_comes_as_its_stored_float32_in_one_channel(tmp_path):
    train_h5, _, want, _ = voxel_files(tmp_path)
    data = H5Frames(train_h5)
    assert data.representation == "voxel_grid" and data.dtype == np.float32 and data.scale is None
    assert data.frame_shape == (T, 1, SIZE, SIZE) and (want < 0).any()
    got, _ = on_device(torch.stack([data[i][0] for i in range(len(data))]), torch.zeros(len(data), dtype=torch.int64),
                       torch.device("cpu"))
    assert torch.equal(bits(got), bits(want))


def test_binarep_without_n_bits_and_an_unknown_representation_are_refused(tmp_path):
    codes = binarep_samples(2, 0, 3)
    with pytest.raises(LayoutError, match=r"n_bits \(an integer from 2 to 8\), got None"):
        H5Frames(write(tmp_path / "b.h5", codes, {"representation": "binarep"}))
    with pytest.raises(LayoutError, match="representation 'timesurface'"):
        H5Frames(write(tmp_path / "t.h5", codes, {"representation": "timesurface"}))


# --- a whole run -----------------------------------------------------------------------------


def recording(monkeypatch, module, name: str) -> list:
    """Replace ``module.name`` (a function returning the model first) by one that records, per
    forward pass, ``(training, input)`` of the model it returns."""
    seen, original = [], getattr(module, name)

    def wrapped(*args, **kwargs):
        out = original(*args, **kwargs)
        model = out[0]
        model.register_forward_pre_hook(lambda m, a: seen.append((m.training, a[0].detach().cpu().clone())))
        return out
    monkeypatch.setattr(module, name, wrapped)
    return seen


def assert_trained_on(received: list, want: np.ndarray) -> None:
    """The training batches of one epoch: every sample of ``want`` once, each bit for bit."""
    rows = torch.cat([x for training, x in received if training])
    assert len(rows) == len(want)
    want_bits = bits(torch.from_numpy(want)).flatten(1)
    matched = sorted(int(torch.nonzero((want_bits == r).all(1))[0]) for r in bits(rows).flatten(1))
    assert matched == list(range(len(want)))


def run(tmp_path: Path, files, on_device_: bool, monkeypatch) -> tuple[list, Path]:
    train_h5, test_h5 = files[:2]
    received = recording(monkeypatch, pipeline.train.stage, "prepare_model")
    tp = TRAIN.model_copy(update={"epochs": 1, "T_max": 1, "protocol": "A", "batch_size": N_TRAIN,
                                  "data_on_device": on_device_, "device": "cpu"})
    out = tmp_path / f"run-{on_device_}"
    metrics = train(train_h5, test_h5, CLASSES, MODEL, tp, out / "models", out / "log.csv", out / "train.json")
    assert metrics["epochs"] == 1 and metrics["train_samples"] == N_TRAIN
    return received, out


@pytest.mark.parametrize("kind", ["voxel_grid", "binarep"])
@pytest.mark.parametrize("held", [False, True])
def test_a_tiny_run_trains_and_scores_on_exactly_the_reference_values(tmp_path, monkeypatch, kind, held):
    files = voxel_files(tmp_path / "data") if kind == "voxel_grid" else binarep_files(tmp_path / "data", 3)
    received, out = run(tmp_path, files, held, monkeypatch)
    want_train, want_test = files[2], files[3]
    model = torch.load(out / "models/model.pt", weights_only=True)
    first = model["model"]["layers.0.conv.weight"]
    assert first.shape[1] == (1 if kind == "voxel_grid" else 2)         # input channels follow the file
    assert model["config"]["frames_attrs"]["representation"] == kind
    assert_trained_on(received, want_train)
    scored = torch.cat([x for training, x in received if not training])
    assert torch.equal(bits(scored), bits(want_test))                  # the test split, in order

    # evaluate: the same input, and the first layer's costs as MACs over the non-zero inputs
    seen = recording(monkeypatch, pipeline.evaluate.stage, "load_model")
    record = evaluate(out / "models/model.pt", files[1], out / "train.json", out / "eval.json", out / "confusion.csv")
    assert torch.equal(bits(torch.cat([x for _, x in seen])), bits(want_test))
    costs = record["costs"]
    assert "conv_1" in costs["macs"] and "conv_1" not in costs["accumulates"]
    # conv_1: 3x3, padding 1 over SIZE x SIZE: each non-zero input drives channels x (windows covering it)
    cover = np.zeros((SIZE + 2, SIZE + 2))
    for dy in range(3):
        for dx in range(3):
            cover[dy:dy + SIZE, dx:dx + SIZE] += 1
    fan_out = MODEL.channels * cover[1:-1, 1:-1]
    expected = float((np.count_nonzero(want_test, axis=2) * fan_out).sum()) / N_TEST
    assert costs["macs"]["conv_1"] == pytest.approx(expected, abs=0.05)
    assert json.loads((out / "eval.json").read_text())["costs"] == costs


def test_train_and_evaluate_refuse_frames_of_another_kind(tmp_path, monkeypatch):
    vox = voxel_files(tmp_path / "vox")
    mixed = binarep_files(tmp_path / "bin", 3, test_bits=4)
    tp = TRAIN.model_copy(update={"epochs": 1, "T_max": 1, "protocol": "A", "device": "cpu"})
    with pytest.raises(LayoutError, match=r"holds binarep \(n_bits 3\) but .*test.h5 holds binarep \(n_bits 4\)"):
        train(mixed[0], mixed[1], CLASSES, MODEL, tp, tmp_path / "m", tmp_path / "l.csv", tmp_path / "t.json")
    _, out = run(tmp_path, vox, False, monkeypatch)
    with pytest.raises(LayoutError, match=r"holds binarep \(n_bits 4\) frames but .* was trained on voxel_grid"):
        evaluate(out / "models/model.pt", mixed[1], out / "train.json", out / "e.json", out / "c.csv")
