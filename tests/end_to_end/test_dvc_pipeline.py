"""`dvc repro` of a tiny demo configuration in a temporary copy of the repository.

Checks the whole chain (download -> frames -> train -> evaluate), that changing frames.T
skips `download` and reruns the rest, and that putting T back restores every stage from
DVC's run-cache with byte-identical frames; then what the finished run gives: the metrics and
plots, `verify`, the NIR export, and `check` reading params as DVC records them.

The pipeline's other `dvc repro` checks are split by what they change, each module with its
own copy of the repository (so that pytest-xdist runs them side by side):
test_dvc_pipeline_reruns.py (params that rerun frames or training and come back from the
run-cache), test_dvc_pipeline_checks.py (what `dvc status` and `check` name: every module
touched, run-only knobs, typos).
"""

import json
import os

import h5py
import pytest

from dvcrepo import copy_pipeline_repo, repro_if_stale, run, set_params
from pipeline.core.store import read_meta

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return copy_pipeline_repo(tmp_path_factory.mktemp("clone") / "repo")


def test_repro_T_change_and_run_cache(repo):
    set_params(repo, {"frames": {"T": 16}})
    out = run(["dvc", "repro"], repo)
    for stage in ("download", "frames", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out
    metrics = json.loads((repo / "results/evaluation.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_samples"] == 16
    assert len(metrics["tau"]) == 2 + 2 and metrics["epochs"] == 2
    # the costs of the kept model: one rate per spiking layer, the weight layers' operations
    costs = metrics["costs"]
    assert sorted(costs["firing_rate"]) == [f"spiking_{i}" for i in range(1, 5)]
    assert sorted(costs["accumulates"]) == sorted(costs["ann_macs"]) == ["conv_1", "conv_2", "fc_1", "fc_2"]
    assert costs["energy_uJ"] > 0 and costs["ann_energy_uJ"] > 0
    # protocol B: the model kept is that of the best validation epoch, scored again by evaluate
    assert metrics["protocol"] == "B" and (metrics["train_samples"], metrics["val_samples"]) == (8, 8)
    assert metrics["model_epoch"] == metrics["selected_epoch"] == metrics["best_epoch_B"]
    assert metrics["test_accuracy"] == metrics["accuracy_B_test_at_best_val_epoch"]
    assert 0.0 <= metrics["accuracy_A_test_best_epoch"] <= 1.0 and metrics["best_epoch_A"] in (1, 2)
    assert not any((repo / "checkpoints").iterdir())    # a completed run leaves nothing to resume
    with h5py.File(repo / "data/frames/train.h5") as f:
        assert f["frames"].shape == (16, 16, 2, 32, 32) and read_meta(f)["T"] == 16
    first = (repo / "data/frames/train.h5").read_bytes()
    # outputs are hard links to the cache: the cache does not double the disk used
    for f in ("data/frames/train.h5", "data/raw/SOURCE.json", "models/model.pt", "models/checkpoint.pt"):
        assert (repo / f).stat().st_nlink >= 2, f
    # nothing the stages left behind (bytecode, Numba caches) makes DVC think code changed
    assert "up to date" in run(["dvc", "status"], repo)
    log = (repo / "results/train_log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy,test_loss,test_accuracy")
    assert log[0].split(",")[-4:] == ["tau_1", "tau_2", "tau_3", "tau_4"] and len(log) == 3

    set_params(repo, {"frames": {"T": 20}})
    out = run(["dvc", "repro"], repo)
    assert "Stage 'download' didn't change, skipping" in out
    for stage in ("frames", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out
    with h5py.File(repo / "data/frames/train.h5") as f:
        assert read_meta(f)["T"] == 20

    set_params(repo, {"frames": {"T": 16}})
    out = run(["dvc", "repro"], repo)
    assert "Running stage" not in out, out
    for stage in ("frames", "train", "evaluate"):
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in out
    assert (repo / "data/frames/train.h5").read_bytes() == first

    # a training-only param leaves the frames alone
    set_params(repo, {"train": {"epochs": 1}})
    out = run(["dvc", "repro"], repo)
    assert "Stage 'frames' didn't change, skipping" in out and "Running stage 'train'" in out


def test_the_first_run_reads_at_a_glance(repo):
    """After the quick start and the README's commit of dvc.lock: one metrics file whose table
    fits a terminal, no revision DVC cannot read, and the declared plots (accuracy, loss, tau
    per layer), not DVC's default of a CSV's last column."""
    from dvcrepo import ROOT, commit

    readme = (ROOT / "README.md").read_text()
    assert "git add dvc.lock" in readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    run(["dvc", "repro", "-q"], repo)
    run(["git", "add", "dvc.lock"], repo)
    commit(repo, "demo run")
    shown = run(["dvc", "metrics", "show"], repo).strip().splitlines()
    assert len(shown) == 2 and shown[1].startswith("results/metrics.json"), shown
    assert max(map(len, shown)) <= 150, shown
    full = json.loads((repo / "results/evaluation.json").read_text())
    headline = json.loads((repo / "results/metrics.json").read_text())
    assert headline == {"test_accuracy": full["test_accuracy"], "test_samples": 16,
                        "model_epoch": full["selected_epoch"], "val_accuracy_best": full["val_accuracy_best"],
                        "energy_uJ": full["costs"]["energy_uJ"], "ann_energy_uJ": full["costs"]["ann_energy_uJ"]}
    diff = run(["dvc", "metrics", "diff"], repo)
    assert "failed to load" not in diff, diff
    exp = run(["dvc", "exp", "show", "--no-pager"], repo)
    assert not any(line.split()[:1] == ["main"] and " ! " in line for line in exp.splitlines()), exp

    plots = json.loads(run(["dvc", "plots", "show", "--json"], repo))["data"]
    assert {"accuracy", "loss", "tau"} <= set(plots), sorted(plots)
    fields = lambda plot: {row["field"] for row in plots[plot][0]["content"]["data"]["values"]}
    assert fields("accuracy") == {"accuracy", "val_accuracy", "test_accuracy"}
    assert fields("loss") == {"loss", "val_loss", "test_loss"}
    rows = plots["tau"][0]["content"]["data"]["values"]
    last = [row for row in rows if int(row["epoch"]) == full["epochs"]]
    assert [row["layer"] for row in last] == [f"spiking_{i}" for i in range(1, 5)]
    assert [float(row["tau"]) for row in last] == pytest.approx(full["tau"], abs=1e-4)
    # what the first commands write is git-ignored: nothing new for `git status` to show
    run(["dvc", "plots", "show"], repo)
    run(["python", "-m", "pipeline", "preview", "data/frames/train.h5"], repo)
    assert (repo / "dvc_plots" / "index.html").is_file() and any((repo / "previews").iterdir())
    untracked = run(["git", "status", "--porcelain", "--untracked-files=all"], repo).splitlines()
    assert not [line for line in untracked if line.startswith("??")], untracked


def test_verify_finds_a_damaged_output_and_its_advice_restores_it(repo):
    import re

    from damage import damage_sample

    repro_if_stale(repo)
    assert "verify: 11 of 11 outputs match dvc.lock" in run(["python", "-m", "pipeline", "verify"], repo)
    path = repo / "data/frames/train.h5"
    good = path.read_bytes()
    stat = path.stat()
    damage_sample(path, 1, 0x01)                       # in place, through the hard link
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))   # as a disk error would: same mtime
    out = run(["python", "-m", "pipeline", "verify"], repo, check=False)
    assert "DAMAGED  data/frames (frames)" in out and "file data/frames/train.h5 differs" in out
    assert "its cache copy" in out and "verify: 10 of 11 outputs match dvc.lock; 1 damaged" in out
    # the HDF5 checksum names the sample when the file is read
    r = run(["python", "-c", "from pipeline.core.store import read_sample; read_sample('data/frames/train.h5', 1)"],
            repo, check=False)
    assert "sample 1 cannot be read" in r and "damaged" in r
    # follow the advice: drop the damaged cache copy, then recompute (no remote here)
    rm = re.search(r"rm -f (\S+)", out).group(1)
    assert "dvc repro --force --single-item frames" in out
    os.remove(rm)
    run(["dvc", "repro", "--force", "--single-item", "frames"], repo)
    assert path.read_bytes() == good
    assert "verify: 11 of 11 outputs match dvc.lock" in run(["python", "-m", "pipeline", "verify"], repo)


@pytest.mark.parametrize("lock", [
    "stages: [a, b]\n",
    "stages:\n  frames: 3\n",
    "stages:\n  frames:\n    outs: {path: x}\n",
    "stages:\n  frames:\n    outs:\n    - 5\n",
    "stages:\n  frames:\n    outs:\n    - path: ../../etc/passwd\n      md5: 0123456789abcdef0123456789abcdef\n",
    "stages:\n  frames:\n    outs:\n    - path: data/frames\n      md5: [1]\n",
    "- just\n- a list\n",
    "stages: &s {a: *s}\n",
    "\xff\xfe",
])
def test_verify_on_a_malformed_lock_is_one_line(tmp_path, lock):
    """`python -m pipeline verify` on dvc.lock files DVC never writes: one line naming the file
    (3 of 5 such files gave a traceback before)."""
    import subprocess
    import sys

    from dvcrepo import ROOT

    (tmp_path / "dvc.lock").write_bytes(lock.encode("utf-8", "surrogateescape") if lock != "\xff\xfe"
                                        else b"\xff\xfe")
    r = subprocess.run([sys.executable, "-m", "pipeline", "verify"], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "dvc.lock" in lines[0], lines


def test_export_nir_gives_evaluates_predictions_through_an_independent_executor(repo):
    """The demo's max-pooling model, exported with the real CLI, run by the NIR executor written
    from the specification on the demo's test frames: the predictions in evaluate's
    confusion.csv and our model's spikes, layer by layer."""
    import csv
    import sys

    import numpy as np
    import torch
    from nirexec import Executor, model_spikes
    import nir

    from pipeline.evaluate.stage import load_model

    repro_if_stale(repo)
    out = run([sys.executable, "-m", "pipeline", "export", "--nir"], repo)
    assert "export: exports/model.nir: NIR graph of" in out
    assert "changed" not in run(["dvc", "status"], repo)                # it wrote into no DVC output
    graph = nir.read(repo / "exports" / "model.nir")
    assert "pool_1.sum" in graph.nodes and "pool_1.any" in graph.nodes     # max pooling over spikes
    with h5py.File(repo / "data/frames/test.h5") as f:
        x = torch.from_numpy(f["frames"][:].astype(np.float32))
    model, cfg = load_model(repo / "models" / "model.pt", torch.device("cpu"))
    ours, _ = model_spikes(model, x)
    ex = Executor(graph, dt=1.0, dtype=torch.float32)
    runs = [ex.run(sample) for sample in x]
    for i, layer in enumerate(ours):
        theirs = torch.stack([r[f"spiking_{i + 1}"] for r in runs], 1)
        assert torch.equal(layer, theirs), f"spiking_{i + 1}"
    predicted = [cfg["classes"][int(r["vote"].mean(0).argmax())] for r in runs]
    with open(repo / "results" / "confusion.csv") as f:
        assert predicted == [row["predicted"] for row in csv.DictReader(f)]


def test_check_reads_params_as_dvc_records_them(repo):
    """`frames.T: 010` was 8 for check and the stages (YAML 1.1) and 10 in dvc.lock and `dvc
    params diff` (YAML 1.2); `1:00` was 60 against DVC's string "1:00". Our value is DVC's, or
    refused in one line naming the param."""
    import re

    from dvc.utils.serialize import load_yaml

    repro_if_stale(repo)
    before = (repo / "params.yaml").read_text()
    edited, n = re.subn(r"\n  T: \d+\n", "\n  T: 010\n", before, count=1)
    assert n == 1
    (repo / "params.yaml").write_text(edited)
    try:
        run(["dvc", "repro", "check"], repo)
        recorded = load_yaml(repo / "dvc.lock")["stages"]["check"]["params"]["params.yaml"]["frames"]["T"]
        diff = json.loads(run(["dvc", "params", "diff", "--json"], repo))["params.yaml"]["frames.T"]["new"]
        assert recorded == diff == 10
        assert json.loads((repo / "data/params.json").read_text())["frames"]["T"] == recorded
        assert json.loads((repo / "data/params/frames.json").read_text())["frames"]["T"] == recorded

        (repo / "params.yaml").write_text(edited.replace("\n  T: 010\n", "\n  T: 1:00\n"))
        out = run(["dvc", "repro", "check"], repo, check=False)
        errors = [line for line in out.splitlines() if line.startswith("check: error: ")]
        assert len(errors) == 1 and "params.yaml: invalid parameters: frames.T: " in errors[0], out
        assert "failed to reproduce 'check'" in out and "Traceback" not in out, out
    finally:
        (repo / "params.yaml").write_text(before)
    run(["dvc", "repro"], repo)
