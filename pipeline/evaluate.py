"""Test-set evaluation: accuracy, per-class accuracy and a confusion matrix."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from .data import H5Frames
from .params import ModelParams
from .train import build_model, pick_device


def load_model(path: str | Path, device=None):
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    cfg = ckpt["config"]
    model = build_model(ModelParams(**cfg["model"]), cfg["frame_shape"], len(cfg["classes"]))
    model.load_state_dict(ckpt["model"])
    cfg = {**cfg, "epoch": ckpt.get("epoch")}
    return model.to(device or pick_device()).eval(), cfg


@torch.no_grad()
def predict(model, h5: str | Path, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(labels, predictions) for every sample of ``h5``."""
    device = next(model.parameters()).device
    data = H5Frames(h5)
    labels, preds = [], []
    for x, y in tqdm(DataLoader(data, batch_size=batch_size), desc="evaluate", unit="batch"):
        preds.append(model(x.to(device)).argmax(1).cpu().numpy())
        labels.append(y.numpy())
    return np.concatenate(labels), np.concatenate(preds)


def confusion(labels: np.ndarray, preds: np.ndarray, n: int) -> np.ndarray:
    """``m[i, j]`` = samples of class i predicted as j."""
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (labels, preds), 1)
    return m


def summarise(labels: np.ndarray, preds: np.ndarray, classes: list[str]) -> dict:
    m = confusion(labels, preds, len(classes))
    support = m.sum(1)
    per_class = {c: (round(float(m[i, i] / support[i]), 4) if support[i] else None)
                 for i, c in enumerate(classes)}
    return {"test_accuracy": round(float((labels == preds).mean()), 4) if labels.size else None,
            "test_samples": int(labels.size), "per_class_accuracy": per_class}


def evaluate(model_path, test_h5, train_metrics, metrics_json, confusion_csv) -> dict:
    """Evaluate ``model_path`` (the epoch that train's protocol selected) on ``test_h5``; merge
    with the training metrics into ``metrics_json``."""
    model, cfg = load_model(model_path)
    classes = cfg["classes"]
    labels, preds = predict(model, test_h5)
    metrics = {**json.loads(Path(train_metrics).read_text()), "model_epoch": cfg["epoch"],
               **summarise(labels, preds, classes)}
    for path in (Path(metrics_json), Path(confusion_csv)):
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(confusion_csv).with_name(Path(confusion_csv).name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["actual", "predicted"])
        w.writerows((classes[a], classes[b]) for a, b in zip(labels, preds))
    os.replace(tmp, confusion_csv)
    tmp = Path(metrics_json).with_name(Path(metrics_json).name + ".tmp")
    tmp.write_text(json.dumps(metrics, indent=2) + "\n")
    os.replace(tmp, metrics_json)
    print(f"evaluate: test accuracy {metrics['test_accuracy']} on {metrics['test_samples']} samples "
          f"(model of epoch {cfg['epoch']})")
    return metrics
