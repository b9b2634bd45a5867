"""The documented ablation sweep (the paper's Table 2), run as written with DVC's experiment
machinery on a tiny demo: five finished experiments that `python -m pipeline report` lists.
(That the documented commands are the paper's five configurations: tests/test_docs.py.)"""

import csv
import re
import shlex
import sys

import h5py
import numpy as np
import pytest
import torch

from docs import ablation_blocks, snntorch_snippet
from dvcrepo import commit, copy_repo, repro_in_process, run
from nirexec import model_spikes, snntorch_run

from pipeline.evaluate.stage import load_model


TINY = {
    "demo": {"train_users": 1, "test_users": 1, "lightings": ["fluorescent"], "repeats": 2,
             "gesture_ms": 300, "gap_ms": 200},
    "frames": {"T": 4, "downsample": 4, "workers": 1},
    "model": {"channels": 4, "blocks": 2, "hidden": 16},
    "train": {"epochs": 2, "T_max": 2, "batch_size": 4, "threads": 1},
}


@pytest.mark.slow
def test_the_queued_sweep_runs_as_documented(tmp_path):
    repo = copy_repo(tmp_path / "repo", TINY)
    repro_in_process(repo)
    commit(repo, "baseline")
    _, queued = ablation_blocks()
    for cmd in queued:
        for part in cmd.split("&&"):
            args = shlex.split(part)
            if args[0] == "python":
                args[0] = sys.executable
            run(args, repo)
    report = (repo / "reports" / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| ") and "demo" in line]
    labels = {"PLIF τ0=2, max", "PLIF τ0=16, max", "LIF τ=2, max", "LIF τ=16, max", "PLIF τ0=2, avg"}
    assert {label for label in labels if any(label in r for r in rows)} == labels
    assert len(rows) >= 5
    # the average-pooling experiment's model, exported for snnTorch and read by snnTorch's own
    # importer, on the demo's test frames: evaluate's predictions and our spikes, layer by layer
    run(["dvc", "exp", "apply", "plif-avg"], repo)
    out = run([sys.executable, "-m", "pipeline", "export", "--nir", "--for", "snntorch"], repo)
    assert 'snnTorch: import_from_nir(nir.read("exports/model.nir"))' in out
    with h5py.File(repo / "data/frames/test.h5") as f:
        x = torch.from_numpy(f["frames"][:].astype(np.float32))
    model, cfg = load_model(repo / "models" / "model.pt", torch.device("cpu"))
    assert cfg["model"]["pooling"] == "avg"
    ours, _ = model_spikes(model, x)
    theirs, rates = snntorch_run(repo / "exports" / "model.nir", x)
    assert len(ours) == len(theirs) and all(torch.equal(a, b) for a, b in zip(ours, theirs))
    with open(repo / "results" / "confusion.csv") as f:
        evaluated = [r["predicted"] for r in csv.DictReader(f)]
    assert [cfg["classes"][int(i)] for i in rates.argmax(1)] == evaluated
    # the README's snnTorch snippet, run as written in that project: sample 0, snnTorch against evaluate
    printed = run([sys.executable, "-c", snntorch_snippet()], repo).splitlines()
    said = [m.groups() for m in map(re.compile(r"sample 0: snnTorch (\S+), evaluate (\S+)").fullmatch, printed) if m]
    assert said == [(cfg["classes"][int(rates[0].argmax())], evaluated[0])], printed[-5:]
    assert said[0][0] == said[0][1]
