"""Resumable training: a run killed mid-epoch, rerun, ends with the weights, log and metrics
of an uninterrupted run (dropout on, so the restored random states matter)."""

import json
from pathlib import Path

import pytest
import torch

from pipeline.train.checkpoint import atomic_save, load_resumable
from workspace import ROOT, HELPERS, run

STAGE = ROOT / "stages" / "train.py"
# 32 train samples: 28 trained on in batches of 8 (4 batches), 4 held out; 32 reads an epoch
MODEL, TRAIN = {"dropout": 0.5}, {"epochs": 4, "T_max": 4}


def python(args, cwd):
    return run(args, cwd, check=False)


def outputs(folder: Path) -> dict:
    ckpt = torch.load(folder / "models/checkpoint.pt", weights_only=True)
    model = torch.load(folder / "models/model.pt", weights_only=True)
    metrics = json.loads((folder / "results/train.json").read_text())
    log = [row.split(",") for row in (folder / "results/train_log.csv").read_text().splitlines()]
    seconds = log[0].index("seconds")
    metrics.pop("train_seconds")
    return {"last": ckpt["model"], "optimizer": ckpt["optimizer"]["state"], "selected": model["model"],
            "epoch": model["epoch"], "metrics": metrics,
            "log": [r[:seconds] + r[seconds + 1:] for r in log]}


def test_killed_run_resumes_to_the_uninterrupted_result(train_workspace):
    whole, killed = (train_workspace(name, MODEL, **TRAIN) for name in ("whole", "killed"))
    r = python([STAGE], whole)
    assert r.returncode == 0, r.stderr[-3000:]

    r = python([HELPERS / "kill_after.py", 2 * 32 + 12, STAGE], killed)   # in epoch 3's second batch
    assert r.returncode == -9, r.stderr[-3000:]
    ckpt = torch.load(killed / "checkpoints/train.pt", weights_only=True)
    assert ckpt["epoch"] == 2 and not (killed / "models/model.pt").exists()
    assert not list((killed / "checkpoints").glob("*.tmp*"))

    r = python([STAGE], killed)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming from checkpoints/train.pt after epoch 2" in r.stdout
    a, b = outputs(whole), outputs(killed)
    assert a["metrics"] == b["metrics"] and a["log"] == b["log"] and a["epoch"] == b["epoch"]
    for key in ("last", "selected"):
        assert a[key].keys() == b[key].keys()
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    for i in a["optimizer"]:
        assert all(torch.equal(a["optimizer"][i][k], b["optimizer"][i][k]) for k in a["optimizer"][i])
    assert not (killed / "checkpoints/train.pt").exists()    # moved to models/checkpoint.pt


@pytest.mark.parametrize("change,why", [({"config": {"x": 2}}, "another configuration"),
                                        ({"world_size": 2}, "written by 2 processes")])
def test_other_runs_checkpoint_is_not_resumed(tmp_path, change, why):
    path = tmp_path / "train.pt"
    assert load_resumable(path, {"x": 1}, 1) == (None, "no checkpoint, starting fresh")
    atomic_save({"format": 2, "config": {"x": 1}, "world_size": 1, "epoch": 3, **change}, path)
    ckpt, msg = load_resumable(path, {"x": 1}, 1)
    assert ckpt is None and why in msg and "starting fresh" in msg
    path.write_bytes(b"truncated")
    assert load_resumable(path, {"x": 1}, 1)[0] is None
