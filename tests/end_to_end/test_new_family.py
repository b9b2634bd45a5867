"""A new dataset family (tests/helpers/npyfamily.py: a folder of .npy event arrays with a labels CSV)
runs through download, frames, train and evaluate with nothing but its own module and its
registry entry: the stages branch on no family."""

import hashlib
import io
import tarfile

import numpy as np

from pipeline import datasets
from pipeline.params import validate_params
from pipeline.download.stage import download
from pipeline.evaluate.stage import evaluate
from pipeline.frames.stage import make_frames
from pipeline.train.stage import train
from pipeline.core.store import read_attrs, read_sample
from pipeline.frames import integrate

import npyfamily

CLASSES = ("left", "right")


def archive(rng) -> tuple[bytes, dict]:
    """``npy-events.tar.gz``: 12 recordings (8 train, 4 test) and labels.csv; the events of each."""
    buf, events = io.BytesIO(), {}
    rows = ["file,label,split"]
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for i in range(12):
            label, split = i % 2, "train" if i < 8 else "test"
            n = 400
            x = rng.integers(0, 8, n) if label == 0 else rng.integers(8, 16, n)
            ev = np.zeros(n, [("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "<i1")])
            ev["t"], ev["x"], ev["y"], ev["p"] = np.arange(n) * 10, x, rng.integers(0, 16, n), rng.integers(0, 2, n)
            data = io.BytesIO()
            np.save(data, ev)
            info = tarfile.TarInfo(f"npy-events/rec{i:02d}.npy")
            info.size = len(data.getvalue())
            tar.addfile(info, io.BytesIO(data.getvalue()))
            rows.append(f"rec{i:02d}.npy,{label},{split}")
            events[f"rec{i:02d}.npy"] = ev
        text = ("\n".join(rows) + "\n").encode()
        info = tarfile.TarInfo("npy-events/labels.csv")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    return buf.getvalue(), events


def test_a_family_defined_outside_runs_through_the_four_stages(tmp_path, monkeypatch):
    data, events = archive(np.random.default_rng(0))
    placed = tmp_path / "downloads" / "npy-events.tar.gz"
    placed.parent.mkdir()
    placed.write_bytes(data)                                  # placed by hand, md5-checked
    remote = datasets.Remote(placed.name, hashlib.md5(data).hexdigest(), (), len(data))
    spec = npyfamily.register("npy", (remote,), CLASSES, (16, 16), {"train": 8, "test": 4}, monkeypatch.setitem)
    params = validate_params({"dataset": "npy", "download": {"archive_dir": str(tmp_path / "downloads")},
                              "frames": {"T": 4, "downsample": 1, "workers": 1},
                              "model": {"channels": 4, "blocks": 2, "hidden": 16, "votes": 2},
                              "train": {"epochs": 2, "T_max": 2, "batch_size": 4, "protocol": "A", "threads": 1}})
    raw = tmp_path / "raw"
    download(params, raw, spec)
    out = make_frames(params, raw, tmp_path / "frames", spec)
    assert (out["train"].samples, out["test"].samples) == (8, 4)
    meta = read_attrs(tmp_path / "frames" / "test.h5")
    assert meta["dataset"] == "npy" and meta["classes"] == list(CLASSES)
    # the frames are the integration of each file's events, by hand
    for i in range(4):
        frames, label = read_sample(tmp_path / "frames" / "test.h5", i)
        ev = events[f"rec{8 + i:02d}.npy"]
        want = integrate(npyfamily.make_events(ev["t"], ev["x"], ev["y"], ev["p"]), 4, "number", (16, 16))
        assert label == i % 2 and np.array_equal(frames, want)
    metrics = train(tmp_path / "frames" / "train.h5", tmp_path / "frames" / "test.h5", list(CLASSES), params.model,
                    params.train, tmp_path / "models", tmp_path / "results" / "log.csv",
                    tmp_path / "results" / "train.json", resume=tmp_path / "ckpt.pt")
    assert metrics["epochs"] == 2
    final = evaluate(tmp_path / "models" / "model.pt", tmp_path / "frames" / "test.h5", tmp_path / "results" / "train.json",
                     tmp_path / "results" / "metrics.json", tmp_path / "results" / "confusion.csv")
    assert final["test_samples"] == 4 and 0 <= final["test_accuracy"] <= 1
