"""The training loop: frames HDF5 -> PLIF network, with a per-epoch log and checkpoints."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from .data import H5Frames
from .model import SpikingConvNet, loss_fn
from .params import ModelParams, TrainParams


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_model(mp: ModelParams, frame_shape, classes: int) -> SpikingConvNet:
    _, C, H, W = frame_shape
    return SpikingConvNet(in_channels=C, input_size=(H, W), channels=mp.channels, blocks=mp.blocks,
                          hidden=mp.hidden, classes=classes, votes=mp.votes, neuron=mp.neuron,
                          pooling=mp.pooling, tau0=mp.tau0, dropout=mp.dropout)


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(train_h5: str | Path, classes: list[str], mp: ModelParams, tp: TrainParams,
          model_dir: str | Path, log_csv: str | Path, metrics_json: str | Path) -> dict:
    """Train on ``train_h5``; write ``model_dir/model.pt``, the epoch log and the metrics."""
    model_dir, log_csv, metrics_json = Path(model_dir), Path(log_csv), Path(metrics_json)
    for p in (model_dir, log_csv.parent, metrics_json.parent):
        p.mkdir(parents=True, exist_ok=True)
    if tp.threads:
        torch.set_num_threads(tp.threads)
    torch.manual_seed(tp.seed)
    device = pick_device()
    data = H5Frames(train_h5)
    loader = DataLoader(data, batch_size=tp.batch_size, shuffle=True, num_workers=tp.workers,
                        generator=torch.Generator().manual_seed(tp.seed), drop_last=False,
                        persistent_workers=tp.workers > 0)
    model = build_model(mp, data.frame_shape, len(classes)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=tp.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=tp.T_max)
    n_tau = len(model.taus())
    header = ["epoch", "loss", "accuracy", "lr", "seconds"] + [f"tau_{i}" for i in range(n_tau)]
    config = {"model": mp.model_dump(), "classes": list(classes), "frame_shape": list(data.frame_shape),
              "frames_attrs": data.attrs}
    started = time.perf_counter()
    with open(log_csv, "w", newline="") as f:
        log = csv.writer(f)
        log.writerow(header)
        bar = tqdm(range(1, tp.epochs + 1), desc="train", unit="epoch")
        for epoch in bar:
            model.train()
            t0 = time.perf_counter()
            total_loss, correct, seen = 0.0, 0, 0
            for x, y in loader:
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                rate = model(x)
                loss = loss_fn(rate, y, len(classes))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total_loss += loss.item() * y.numel()
                correct += (rate.argmax(1) == y).sum().item()
                seen += y.numel()
            lr = opt.param_groups[0]["lr"]
            sched.step()
            row = [epoch, total_loss / seen, correct / seen, lr, time.perf_counter() - t0] + model.taus()
            log.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
            f.flush()
            bar.set_postfix(loss=f"{row[1]:.4f}", acc=f"{row[2]:.3f}")
            atomic_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                         "scheduler": sched.state_dict(), "epoch": epoch, "config": config},
                        model_dir / "checkpoint.pt")
    atomic_save({"model": model.state_dict(), "config": config}, model_dir / "model.pt")
    metrics = {"train_loss": row[1], "train_accuracy": row[2], "epochs": tp.epochs,
               "train_seconds": round(time.perf_counter() - started, 2),
               "tau": [round(t, 4) for t in model.taus()], "device": device.type}
    tmp = metrics_json.with_name(metrics_json.name + ".tmp")
    tmp.write_text(json.dumps(metrics, indent=2) + "\n")
    os.replace(tmp, metrics_json)
    print(f"train: {tp.epochs} epochs on {len(data)} samples in {metrics['train_seconds']:.0f} s, "
          f"final loss {row[1]:.4f}, train accuracy {row[2]:.3f}, tau {metrics['tau']}")
    return metrics
