"""The evaluate stage: confusion matrix, per-class accuracy and confusion.csv against hand counts."""

import csv
import json
import re

import numpy as np
import pytest
import torch

from pipeline.evaluate.stage import confusion, confusion_csv, evaluate, load_model, summarise
from pipeline.core.errors import DamagedFileError, LayoutError
from pipeline.model import build_model
from pipeline.train.checkpoint import atomic_save
from tinyframes import CLASSES, MODEL, write_frames
from workspace import ROOT, run
from damage import DEEP_KEY, with_pickle

# 7 samples of 3 classes:        a  a  a  b  b  c  c
LABELS = np.array([0, 0, 0, 1, 1, 2, 2])
PREDS = np.array([0, 1, 0, 1, 1, 0, 1])


def test_confusion_matrix_by_hand():
    # row = actual, column = predicted: a -> a twice, a -> b once; b -> b twice; c -> a, c -> b
    assert confusion(LABELS, PREDS, 3).tolist() == [[2, 1, 0], [0, 2, 0], [1, 1, 0]]
    assert confusion(np.array([], np.int64), np.array([], np.int64), 2).tolist() == [[0, 0], [0, 0]]


def test_summary_by_hand():
    s = summarise(LABELS, PREDS, ["a", "b", "c", "d"])
    assert s["test_accuracy"] == round(4 / 7, 4) == 0.5714
    assert s["test_samples"] == 7
    # a: 2 of 3, b: 2 of 2, c: 0 of 2, d: no sample at all (None, not 0)
    assert s["per_class_accuracy"] == {"a": 0.6667, "b": 1.0, "c": 0.0, "d": None}


def test_confusion_csv_rows_are_the_samples_in_order():
    text = confusion_csv(LABELS, PREDS, ["a", "b", "c"])
    assert text.splitlines() == ["actual,predicted", "a,a", "a,b", "a,a", "b,b", "b,b", "c,a", "c,b"]


def test_evaluate_writes_metrics_and_confusion(tmp_path):
    """A saved model on a tiny test file: the files agree with each other and with the model."""
    test_h5 = write_frames(tmp_path / "test.h5", 12, seed=3)
    torch.manual_seed(0)
    model = build_model(MODEL, (4, 2, 16, 16), len(CLASSES))
    torch.save({"model": model.state_dict(), "epoch": 3,
                "config": {"model": MODEL.model_dump(), "classes": CLASSES, "frame_shape": [4, 2, 16, 16]}},
               tmp_path / "model.pt")
    (tmp_path / "train.json").write_text(json.dumps({"protocol": "A", "selected_epoch": 3}))
    m = evaluate(tmp_path / "model.pt", test_h5, tmp_path / "train.json", tmp_path / "metrics.json",
                 tmp_path / "confusion.csv")
    with open(tmp_path / "confusion.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and [r["actual"] for r in rows] == [CLASSES[i % 4] for i in range(12)]
    hits = sum(r["actual"] == r["predicted"] for r in rows)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved == m and saved["protocol"] == "A" and saved["model_epoch"] == 3     # merged with train's
    assert saved["test_samples"] == 12 and saved["test_accuracy"] == round(hits / 12, 4)
    # the predictions are the model's: rerun it on the file's frames by hand
    import h5py
    with h5py.File(test_h5) as f:
        x = torch.from_numpy(f["frames"][:].astype(np.float32))
    reloaded, _ = load_model(tmp_path / "model.pt", torch.device("cpu"))
    with torch.no_grad():
        preds = reloaded(x).argmax(1).tolist()
    assert [r["predicted"] for r in rows] == [CLASSES[p] for p in preds]
    assert not list(tmp_path.glob("*.tmp-*"))


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(LayoutError, match="model.pt not found: run the train stage"):
        load_model(tmp_path / "model.pt")


def _saved_model(tmp_path):
    torch.manual_seed(0)
    model = build_model(MODEL, (4, 2, 16, 16), len(CLASSES))
    path = tmp_path / "model.pt"
    torch.save({"model": model.state_dict(), "epoch": 3,
                "config": {"model": MODEL.model_dump(), "classes": CLASSES, "frame_shape": [4, 2, 16, 16]}}, path)
    return path


@pytest.mark.parametrize("amp, expected", [("off", torch.float32), ("bf16", torch.bfloat16),
                                           ("auto", torch.float32), (None, torch.float32)])
def test_evaluate_scores_under_the_autocast_training_chose(tmp_path, monkeypatch, amp, expected):
    """train.amp travels in model.pt and is resolved for this device as training resolves it
    (auto: off on CPU); the network's convolutions then run in that dtype, as in training's
    scoring. A model file without it (None: older ones) is scored in float32."""
    import pipeline.evaluate.stage as stage

    path = _saved_model(tmp_path)
    if amp is not None:
        ckpt = torch.load(path, weights_only=True)
        ckpt["config"]["scoring"] = {"amp": amp, "channels_last": False, "deterministic": True}
        torch.save(ckpt, path)
    test_h5 = write_frames(tmp_path / "test.h5", 4, seed=3)
    (tmp_path / "train.json").write_text("{}")
    seen = []
    real = stage.load_model

    def spying(*args, **kwargs):
        model, cfg = real(*args, **kwargs)
        conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
        return model, cfg

    monkeypatch.setattr(stage, "load_model", spying)
    stage.evaluate(path, test_h5, tmp_path / "train.json", tmp_path / "m.json", tmp_path / "c.csv")
    assert seen and set(seen) == {expected}


def test_a_damaged_model_file_is_one_line(tmp_path):
    """Every 97th byte flipped in turn, and cut short: a model that loads is the same model
    (its weights are checked by the zip's CRCs), anything else one DamagedFileError naming the
    file (a UnicodeDecodeError escaped before)."""
    path = _saved_model(tmp_path)
    good = path.read_bytes()
    reference = {k: v.clone() for k, v in torch.load(path, weights_only=True)["model"].items()}
    outcomes = {"loaded": 0, "refused": 0}
    variants = [good[:n] for n in (0, 10, len(good) // 2, len(good) - 1)]
    for pos in range(0, len(good), 97):
        variants.append(good[:pos] + bytes([good[pos] ^ 0xFF]) + good[pos + 1:])
    for data in variants:
        path.write_bytes(data)
        try:
            model, _ = load_model(path, torch.device("cpu"))
        except DamagedFileError as e:
            assert str(e).startswith(f"{path}: not a model the train stage wrote") and "\n" not in str(e)
            outcomes["refused"] += 1
            continue
        state = model.state_dict()
        assert all(torch.equal(state[k], reference[k]) for k in reference)
        outcomes["loaded"] += 1
    assert outcomes["refused"] > 0 and outcomes["loaded"] > 0, outcomes


def _written_model(tmp_path):
    """model.pt as the train stage writes it (pipeline.train.checkpoint.atomic_save), and its state."""
    torch.manual_seed(0)
    model = build_model(MODEL, (4, 2, 16, 16), len(CLASSES))
    path = tmp_path / "model.pt"
    atomic_save({"model": model.state_dict(), "epoch": 3,
                 "config": {"model": MODEL.model_dump(), "classes": CLASSES, "frame_shape": [4, 2, 16, 16]}}, path)
    return path, model.state_dict()


def test_a_model_nested_too_deep_is_one_line(tmp_path):
    """A data.pkl whose dict key is a tuple 10**6 deep (the process died of SIGSEGV, rc -11): one
    DamagedFileError naming the file, the member and the byte offset, before torch unpickles it.
    The same file as written loads, the same weights (torch.load of it is the reference)."""
    path, state = _written_model(tmp_path)
    model, _ = load_model(path, torch.device("cpu"))
    reference = torch.load(path, weights_only=True)["model"]
    assert model.state_dict().keys() == reference.keys() == state.keys()
    assert all(torch.equal(model.state_dict()[k], reference[k]) for k in reference)

    with_pickle(path, DEEP_KEY)
    code = ("import torch\nfrom pipeline.core.errors import DamagedFileError\n"
            "from pipeline.evaluate.stage import load_model\n"
            f"try:\n    load_model({str(path)!r}, torch.device('cpu'))\n"
            "except DamagedFileError as e:\n    print(e)\n")
    r = run(["-c", code], tmp_path, check=False, timeout=120)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-2000:]}"
    (line,) = r.stdout.splitlines()
    assert line.startswith(f"{path}: not a model the train stage wrote, or a damaged one (PickleRefused: "
                           f"member model.pt/data.pkl, byte offset 104: values nested more than 100 deep"), line


def test_export_of_a_model_nested_too_deep_is_one_line(tmp_path):
    """``python -m pipeline export --nir`` of that file: exit 1, one line on stderr, nothing written."""
    path = with_pickle(_written_model(tmp_path)[0], DEEP_KEY)
    r = run(["-m", "pipeline", "export", "--nir", "--model", path, "--out", tmp_path / "x.nir"], tmp_path,
            check=False, timeout=120)
    assert r.returncode == 1, f"exit {r.returncode}: {r.stderr[-2000:]}"
    (line,) = r.stderr.splitlines()
    assert re.fullmatch(rf"python -m pipeline export: error: {re.escape(str(path))}: not a model the train "
                        r"stage wrote, .*member model\.pt/data\.pkl, byte offset 104: values nested more than "
                        r"100 deep.*; rerun the train stage: dvc repro --force --single-item train", line), line
    assert not list(tmp_path.glob("x.nir*"))


def test_a_legacy_model_file_is_not_unpickled(tmp_path):
    """torch.save's format before 1.6 (a bare pickle, not a zip) is refused without unpickling it."""
    path, state = _written_model(tmp_path)
    torch.save({"model": state, "epoch": 3}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(DamagedFileError, match=r"model\.pt: not a model the train stage wrote, .*not a zip archive "
                                               r"as torch\.save writes \(a legacy or foreign file is not unpickled\)"):
        load_model(path, torch.device("cpu"))


@pytest.mark.parametrize("text", ["", "[1, 2]", "{", "\xff", "[" * 100_000])
def test_damaged_train_metrics_are_one_line(tmp_path, text):
    test_h5 = write_frames(tmp_path / "test.h5", 4, seed=3)
    (tmp_path / "train.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(DamagedFileError, match="train.json: not the train stage's metrics"):
        evaluate(_saved_model(tmp_path), test_h5, tmp_path / "train.json", tmp_path / "metrics.json",
                 tmp_path / "confusion.csv")
    assert not (tmp_path / "metrics.json").exists()


def test_evaluate_writes_the_costs_of_the_network(tmp_path):
    """metrics.json's ``costs``: the first layer's accumulates against a count in numpy (each event
    of the test file once per synapse it drives), the ANN's MACs from the layer sizes, the energy
    from the two per-operation figures."""
    import h5py
    test_h5 = write_frames(tmp_path / "test.h5", 6, seed=5)
    (tmp_path / "train.json").write_text(json.dumps({"protocol": "A", "selected_epoch": 3}))
    costs = evaluate(_saved_model(tmp_path), test_h5, tmp_path / "train.json", tmp_path / "metrics.json",
                     tmp_path / "confusion.csv")["costs"]
    with h5py.File(test_h5) as f:
        frames = f["frames"][:].astype(np.int64)                  # (N, T, 2, 16, 16)
    # a 3x3 window with padding 1 covers a pixel from as many output positions as it has
    # neighbours (itself included) inside the 16x16 frame: 4 at a corner, 6 on an edge, 9 inside
    inside = np.array([2] + [3] * 14 + [2])
    fan_out = MODEL.channels * np.outer(inside, inside)
    assert costs["accumulates"]["conv_1"] == round(float((frames * fan_out).sum() / len(frames)), 1)
    C, H = MODEL.channels, 16
    convs = [C * (H >> b) ** 2 * (2 if b == 0 else C) * 9 for b in range(MODEL.blocks)]
    flat = C * (H >> MODEL.blocks) ** 2
    fcs = [flat * MODEL.hidden, MODEL.hidden * len(CLASSES) * MODEL.votes]
    assert costs["ann_macs_per_sample"] == sum(convs) + sum(fcs)
    assert sorted(costs["firing_rate"]) == [f"spiking_{i}" for i in range(1, MODEL.blocks + 3)]
    assert all(0.0 <= r <= 1.0 for r in costs["firing_rate"].values())
    assert costs["macs_per_sample"] == 0 and costs["macs"] == {}
    acs = costs["synaptic_ops_per_sample"]
    assert acs == pytest.approx(sum(costs["accumulates"].values()), abs=0.5)
    assert costs["energy_uJ"] == pytest.approx(0.9e-6 * acs, rel=1e-5)
    assert costs["ann_energy_uJ"] == pytest.approx(4.6e-6 * costs["ann_macs_per_sample"], rel=1e-5)
