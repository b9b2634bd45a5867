"""train.deterministic: two runs with one seed give identical metrics, logs and weights (CPU),
with DataLoader worker processes and dropout on."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
import yaml

from tinyframes import MODEL, TRAIN, write_dataset

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "stages" / "train.py"


def run(folder: Path, data) -> tuple[dict, list[list[str]], dict]:
    (folder / "data" / "frames").mkdir(parents=True)
    for src in data:
        os.link(src, folder / "data" / "frames" / src.name)
    params = {"model": {**MODEL.model_dump(), "dropout": 0.5},
              "train": {**TRAIN.model_dump(), "epochs": 2, "T_max": 2, "workers": 2, "deterministic": True}}
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    r = subprocess.run([sys.executable, str(STAGE)], cwd=folder, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = json.loads((folder / "results/train.json").read_text())
    metrics.pop("train_seconds")
    log = [row.split(",") for row in (folder / "results/train_log.csv").read_text().splitlines()]
    seconds = log[0].index("seconds")
    return metrics, [r[:seconds] + r[seconds + 1:] for r in log], \
        torch.load(folder / "models/checkpoint.pt", weights_only=True)["model"]


def test_two_runs_are_identical(tmp_path):
    data = write_dataset(tmp_path / "frames", n_train=32, n_test=8)
    m1, log1, w1 = run(tmp_path / "a", data)
    m2, log2, w2 = run(tmp_path / "b", data)
    assert m1 == m2 and log1 == log2
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert len(log1) == 3 and m1["train_loss"] > 0
