"""train.deterministic: two runs with one seed give identical metrics, logs and weights (CPU),
with DataLoader worker processes and dropout on."""

import json
from pathlib import Path

import pytest
import torch

from workspace import run_stage


def outputs(folder: Path) -> tuple[dict, list[list[str]], dict]:
    metrics = json.loads((folder / "results/train.json").read_text())
    metrics.pop("train_seconds")
    log = [row.split(",") for row in (folder / "results/train_log.csv").read_text().splitlines()]
    seconds = log[0].index("seconds")
    return metrics, [r[:seconds] + r[seconds + 1:] for r in log], \
        torch.load(folder / "models/checkpoint.pt", weights_only=True)["model"]


def test_two_runs_are_identical(train_workspace):
    runs = []
    for name in ("a", "b"):
        folder = train_workspace(name, model={"dropout": 0.5}, epochs=2, T_max=2, workers=2, deterministic=True)
        run_stage("train", folder)
        runs.append(outputs(folder))
    (m1, log1, w1), (m2, log2, w2) = runs
    assert m1 == m2 and log1 == log2
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert len(log1) == 3 and m1["train_loss"] > 0
    # the tiny network's 4 spiking layers (2 conv blocks, 2 linear), named as the network walk
    # names them (spiking_1 ... spiking_4): tau_1 ... tau_4; train.json's list, index 0 = spiking_1
    assert [c for c in log1[0] if c.startswith("tau")] == ["tau_1", "tau_2", "tau_3", "tau_4"]
    last = dict(zip(log1[0], log1[-1]))
    assert m1["tau"] == [pytest.approx(float(last[f"tau_{k}"]), abs=1e-4) for k in range(1, 5)]
