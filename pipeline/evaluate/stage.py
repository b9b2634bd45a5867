"""The evaluate stage's core: the selected model on the test set; accuracy, per-class accuracy,
the confusion matrix as DVC plots it (one ``actual,predicted`` row per sample), and what the
network costs to run (``costs``: firing rate per spiking layer, synaptic operations per weight
layer, energy against the same network as an ANN; :mod:`pipeline.model.costs`).

The model is scored as training scored it (``pipeline.train.scoring``): the same cast on the
device, the autocast and memory format that ``train.amp`` and ``train.channels_last`` chose
(resolved for the device here), deterministic algorithms when training used them.

The test file must hold the representation the model was trained on (its ``frames_attrs``):
Bina-Rep codes are scaled as training scaled them (:func:`pipeline.train.scoring.on_device`),
and the costs count the first layer as MACs over the non-zero inputs for real-valued frames
(a voxel grid, Bina-Rep), as accumulates per event for counts (:mod:`pipeline.model.costs`)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..core.atomic import write_json, write_text
from ..core.device import configure_torch, pick_device
from ..core.errors import DamagedFileError, LayoutError, ParamsError
from ..core.frameparams import REAL_VALUED, representation, values_kind
from ..params import ModelParams
from ..core.store import read_attrs
from ..model import build_model, resolve_backend
from ..model.costs import CostMeter
from ..train.checkpoint import load_checked
from ..train.data import H5Frames
from ..train.placement import score_loader
from ..train.scoring import amp_dtype, channels_last
from ..train.scoring import predict as predict_batches

#: test samples per batch (eval mode: a sample's prediction does not depend on its batch)
BATCH_SIZE = 32


def load_model(path: str | Path, device=None):
    """``(model, config)`` of a ``model.pt`` that the train stage wrote, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise LayoutError(f"{path} not found: run the train stage first (dvc repro)")
    device = device or pick_device()
    try:
        ckpt = load_checked(path)
        cfg = ckpt["config"]
        mp = ModelParams(**cfg["model"])
        try:
            resolve_backend(mp.backend, device)
        except ParamsError:
            # the PLIF backend is how, not what: every backend gives the same spikes, so a model
            # trained with one that cannot run here (triton on a CPU machine) is scored with auto's
            mp = mp.model_copy(update={"backend": "auto"})
        model = build_model(mp, cfg["frame_shape"], len(cfg["classes"]), cfg.get("image"))
        model.load_state_dict(ckpt["model"])
        scoring = cfg.get("scoring", {})
        cfg = {**cfg, "epoch": ckpt.get("epoch"), "amp": amp_dtype(scoring.get("amp", "off"), device),
               "deterministic": bool(scoring.get("deterministic", True))}
        model = model.to(device)
        if channels_last(scoring.get("channels_last", False), mp, device):
            model = model.to(memory_format=torch.channels_last)
    except Exception as e:  # noqa: BLE001 - the file is input: whatever fails to decode it, it is damaged
        raise DamagedFileError(f"{path}: not a model the train stage wrote, or a damaged one "
                               f"({type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}); "
                               "rerun the train stage: dvc repro --force --single-item train") from None
    return model.eval(), cfg


def predict(model, h5: str | Path, dtype: torch.dtype | None = None,
            batch_size: int = BATCH_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(labels, predictions) for every sample of ``h5``, under ``dtype``'s autocast (the model's
    costs are counted meanwhile where a :class:`~pipeline.model.costs.CostMeter` is open on it);
    the frames cast (and Bina-Rep codes scaled) as training did."""
    device = next(model.parameters()).device
    data = H5Frames(h5)
    batches = tqdm(score_loader(data, range(len(data)), batch_size, 0, device), desc="evaluate", unit="batch")
    labels, preds = predict_batches(model, batches, device, dtype, data.scale)
    return labels.numpy(), preds.numpy()


def check_representation(cfg: dict, model_path, test_h5) -> str:
    """The representation the model was trained on (its config's ``frames_attrs``; counts for
    a model from before representations), which ``test_h5`` must hold too, Bina-Rep with the
    same ``n_bits``: else a LayoutError naming both."""
    trained = cfg.get("frames_attrs") or {}
    attrs = read_attrs(test_h5)
    want, got = values_kind(trained, model_path), values_kind(attrs, test_h5)
    if want != got:
        raise LayoutError(f"{test_h5} holds {got} frames but {model_path} was trained on {want}: "
                          "rerun the frames stage, or train on these frames")
    return representation(trained)


def confusion(labels: np.ndarray, preds: np.ndarray, n: int) -> np.ndarray:
    """``m[i, j]`` = samples of class i predicted as j."""
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (np.asarray(labels, np.int64), np.asarray(preds, np.int64)), 1)
    return m


def summarise(labels: np.ndarray, preds: np.ndarray, classes: list[str]) -> dict:
    """Test accuracy, sample count, and each class's accuracy (None for a class with no sample)."""
    m = confusion(labels, preds, len(classes))
    support = m.sum(1)
    per_class = {c: (round(float(m[i, i] / support[i]), 4) if support[i] else None)
                 for i, c in enumerate(classes)}
    return {"test_accuracy": round(float((labels == preds).mean()), 4) if labels.size else None,
            "test_samples": int(labels.size), "per_class_accuracy": per_class}


def confusion_csv(labels: np.ndarray, preds: np.ndarray, classes: list[str]) -> str:
    """``actual,predicted`` class names, one row per sample in file order (DVC's confusion plot)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["actual", "predicted"])
    w.writerows((classes[a], classes[b]) for a, b in zip(labels, preds))
    return out.getvalue()


def costs_record(summary: dict) -> dict:
    """:meth:`CostMeter.summary` as evaluation.json keeps it: rates to 6 decimals, operations per
    sample to 0.1 (the ANN's are whole), energies to 6 significant digits."""
    def sig(x):
        return None if x is None else float(f"{x:.6g}")

    out = {"firing_rate": {k: round(v, 6) for k, v in summary["firing_rate"].items()}}
    for key in ("accumulates", "macs"):
        out[key] = {k: round(float(v), 1) for k, v in summary[key].items()}
    out["ann_macs"] = {k: int(v) for k, v in summary["ann_macs"].items()}
    for key in ("synaptic_ops_per_sample", "macs_per_sample"):
        out[key] = round(float(summary[key]), 1)
    out["ann_macs_per_sample"] = int(summary["ann_macs_per_sample"])
    for key in ("energy_uJ", "ann_energy_uJ", "ann_to_snn_energy"):
        out[key] = sig(summary[key])
    return out


def _train_metrics(path: Path) -> dict:
    """The train stage's metrics (results/train.json), merged into evaluate's."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        raise DamagedFileError(f"{path}: not the train stage's metrics ({type(e).__name__}); "
                               "rerun the train stage: dvc repro --force --single-item train") from None
    if not isinstance(obj, dict):
        raise DamagedFileError(f"{path}: not the train stage's metrics (a JSON {type(obj).__name__}, not an "
                               "object); rerun the train stage: dvc repro --force --single-item train")
    return obj


#: results/metrics.json, the one file DVC shows as metrics (``dvc metrics show``, ``dvc exp show``):
#: the headline of the full record, short enough for a terminal's table
HEADLINE = ("test_accuracy", "test_samples", "model_epoch", "val_accuracy_best", "energy_uJ", "ann_energy_uJ")


def headline(record: dict) -> dict:
    """The :data:`HEADLINE` keys of a full evaluation record (energies from its ``costs``; a key
    the record lacks, such as ``val_accuracy_best`` under protocol A, is left out)."""
    flat = {**record, **{k: (record.get("costs") or {}).get(k) for k in ("energy_uJ", "ann_energy_uJ")}}
    return {k: flat[k] for k in HEADLINE if flat.get(k) is not None}


def evaluate(model_path, test_h5, train_metrics, record_json, confusion_path, metrics_json=None) -> dict:
    """Evaluate ``model_path`` (the epoch that train's protocol selected) on ``test_h5``; merge
    with the training metrics into ``record_json`` (the full record: results/evaluation.json)
    and, where given, write its :func:`headline` to ``metrics_json``."""
    device = pick_device()
    model, cfg = load_model(model_path, device)
    configure_torch(0, cfg["deterministic"], device)
    classes = cfg["classes"]
    kind = check_representation(cfg, model_path, test_h5)
    with CostMeter(model, real_input=kind in REAL_VALUED) as meter:
        labels, preds = predict(model, test_h5, cfg["amp"])
    costs = costs_record(meter.summary()) if meter.samples else None
    metrics = {**_train_metrics(Path(train_metrics)), "model_epoch": cfg["epoch"],
               **summarise(labels, preds, classes), "costs": costs}
    write_text(confusion_path, confusion_csv(labels, preds, classes))
    write_json(record_json, metrics)
    if metrics_json is not None:
        write_json(metrics_json, headline(metrics))
    print(f"evaluate: test accuracy {metrics['test_accuracy']} on {metrics['test_samples']} samples "
          f"(model of epoch {cfg['epoch']})" + (
              f"; per sample {costs['synaptic_ops_per_sample']:,.0f} synaptic ops, {costs['energy_uJ']:.4g} uJ "
              f"(the ANN: {costs['ann_energy_uJ']:.4g} uJ)" if costs else ""))
    return metrics
