"""Resumable training: a run killed mid-epoch, rerun, ends with the weights, log and metrics
of an uninterrupted run (dropout on, so the restored random states matter; augmentation on,
cutmix included, and the cross-entropy loss on soft targets)."""

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from pipeline.core.picklecheck import check_pickle
from pipeline.train.checkpoint import PICKLE_LIMITS, atomic_save, load_checked, load_resumable
from workspace import ROOT, HELPERS, make_workspace, run
from damage import DEEP_KEY, with_pickle

STAGE = ROOT / "stages" / "train.py"
# 32 train samples: 28 trained on in batches of 8 (4 batches), 4 held out; 32 reads an epoch
MODEL, TRAIN = {"dropout": 0.5}, {"epochs": 4, "T_max": 4, "loss": "ce",
                                  "augment": [{"nda": {}}, {"cutout": {"size": 0.3}}, {"cutmix": {"p": 0.5}}]}


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


@pytest.fixture(scope="module")
def whole(tmp_path_factory, tiny_frames):
    """The uninterrupted run of MODEL and TRAIN, once for the tests that hold other runs against
    it (and read the files it wrote); they only read its folder."""
    folder = make_workspace(tmp_path_factory.mktemp("resume") / "whole", tiny_frames, MODEL, **TRAIN)
    r = python([STAGE], folder)
    assert r.returncode == 0, r.stderr[-3000:]
    return folder


def test_killed_run_resumes_to_the_uninterrupted_result(train_workspace, whole):
    killed = train_workspace("killed", MODEL, **TRAIN)
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


def test_a_checkpoint_from_before_the_walk_names_resumes_with_them():
    """A checkpoint whose log counts tau from tau_0 (written before the columns took the network
    walk's names) continues with tau_1...: one header for old and new epochs."""
    from pipeline.train.stage import renamed_taus

    old = [{"epoch": 1, "loss": 0.5, "tau_0": 2.0, "tau_1": 1.9}, {"epoch": 2, "loss": 0.4, "tau_0": 1.8, "tau_1": 1.7}]
    assert renamed_taus(old) == [{"epoch": 1, "loss": 0.5, "tau_1": 2.0, "tau_2": 1.9},
                                 {"epoch": 2, "loss": 0.4, "tau_1": 1.8, "tau_2": 1.7}]
    new = [{"epoch": 1, "loss": 0.5, "tau_1": 2.0, "tau_2": 1.9}]
    assert renamed_taus(new) == new


def same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return type(a) is type(b) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


def test_the_train_stages_files_pass_the_pickle_check(whole):
    """A checkpoint and a model the train stage wrote (the uninterrupted run's): far within the
    bounds on their pickle, and load_checked reads what torch.load reads."""
    folder = whole
    for name in ("models/checkpoint.pt", "models/model.pt"):
        path = folder / name
        with zipfile.ZipFile(path) as z:
            (pkl,) = [z.read(n) for n in z.namelist() if n.endswith("/data.pkl")]
        m = check_pickle(pkl, PICKLE_LIMITS)
        assert 3 <= m.depth <= PICKLE_LIMITS.depth // 10 and m.opcodes <= PICKLE_LIMITS.opcodes // 100, (name, m)
        assert same(load_checked(path), torch.load(path, weights_only=True)), name


def test_a_checkpoint_nested_too_deep_restarts_the_run(train_workspace, whole):
    """checkpoints/train.pt whose data.pkl holds a tuple 10**6 deep (the stage died of SIGSEGV on
    every rerun until someone deleted it): one line saying so, then a fresh run, which ends with
    what a run that never had the file ends with."""
    planted = train_workspace("planted", MODEL, **TRAIN)
    (planted / "checkpoints").mkdir()
    with_pickle(Path(shutil.copy(whole / "models/checkpoint.pt", planted / "checkpoints/train.pt")), DEEP_KEY)

    r = python([STAGE], planted)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-3000:]}"
    (line,) = [row for row in r.stdout.splitlines() if "checkpoints/train.pt" in row]
    assert re.fullmatch(r"train: checkpoints/train\.pt unreadable \(PickleRefused: member [\w.]+/data\.pkl, byte "
                        r"offset 104: values nested more than 100 deep [^\n]*\), starting fresh", line), line
    a, b = outputs(whole), outputs(planted)
    assert a["metrics"] == b["metrics"] and a["log"] == b["log"] and a["epoch"] == b["epoch"]
    for key in ("last", "selected"):
        assert a[key].keys() == b[key].keys()
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key]), key
    assert not (planted / "checkpoints/train.pt").exists()
