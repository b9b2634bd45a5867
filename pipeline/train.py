"""The training loop: frames HDF5 -> PLIF network; one process, or DDP under ``torchrun``.

``python stages/train.py`` runs one process; ``torchrun --nproc_per_node N stages/train.py``
runs N, each on 1/N of every global batch of ``train.batch_size`` samples (DistributedSampler,
gradients averaged by DDP, BatchNorm statistics over the global batch when ``sync_bn``).
Rank 0 alone writes files and prints.

Every epoch ends with a scoring of the validation split (protocol B) and of the test set,
and a resume checkpoint written atomically; a run that finds a checkpoint of the same
configuration continues from it and ends with the weights an uninterrupted run would have.
The model kept is the one of the epoch the protocol selects:

* A (the paper's "accuracy A"): the epoch with the best test accuracy, trained on the whole
  training set. Optimistic: the test set chooses the epoch.
* B (default): ``val_fraction`` of each class of the training set is held out; the epoch with
  the best validation accuracy is kept and its test accuracy reported. The best test epoch
  of the same run is reported too, as accuracy A of that run.

Ties between epochs go to the lower loss, then to the earlier epoch.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from . import distributed
from .checkpoint import FORMAT, atomic_save, load_resumable, rng_state, set_rng_state
from .data import H5Frames, seed_worker, validation_split
from .distributed import Context, pick_device
from .model import SpikingConvNet, loss_fn
from .params import ModelParams, TrainParams

__all__ = ["atomic_save", "build_model", "pick_device", "train"]


def build_model(mp: ModelParams, frame_shape, classes: int) -> SpikingConvNet:
    _, C, H, W = frame_shape
    return SpikingConvNet(in_channels=C, input_size=(H, W), channels=mp.channels, blocks=mp.blocks,
                          hidden=mp.hidden, classes=classes, votes=mp.votes, neuron=mp.neuron,
                          pooling=mp.pooling, tau0=mp.tau0, dropout=mp.dropout)


def configure_torch(tp: TrainParams, device: torch.device) -> None:
    if tp.threads:
        torch.set_num_threads(tp.threads)
    if tp.deterministic and device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")   # before the first cuBLAS call
    torch.use_deterministic_algorithms(tp.deterministic)
    torch.backends.cudnn.benchmark = device.type == "cuda" and not tp.deterministic


def amp_dtype(tp: TrainParams, device: torch.device) -> torch.dtype | None:
    """Autocast dtype: ``auto`` is bf16 on CUDA that has it, else fp16 on CUDA, off on CPU."""
    amp = tp.amp
    if amp == "auto":
        amp = "off" if device.type != "cuda" else "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def prepare_model(mp: ModelParams, tp: TrainParams, frame_shape, classes: int, ctx: Context):
    """``(model, net)``: the model on its device, and what to call in training (DDP-wrapped
    when distributed). Every rank builds the same initial weights from ``tp.seed``."""
    torch.manual_seed(tp.seed)
    model = build_model(mp, frame_shape, classes)
    if ctx.distributed and tp.sync_bn:
        model = distributed.convert_batchnorm(model, ctx.device)
    model = model.to(ctx.device)
    if tp.channels_last is True or (tp.channels_last == "auto" and ctx.device.type == "cuda"):
        model = model.to(memory_format=torch.channels_last)
    net = model
    if ctx.distributed:
        net = DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None,
                                      forward_sync_buffers=not tp.sync_bn)
    return model, net


def train_loader(data: H5Frames, indices: np.ndarray, tp: TrainParams, ctx: Context):
    """``(loader, sampler, generator)``: this rank's share of each global batch. Epoch e's
    order is a permutation drawn from ``tp.seed + e`` (``sampler.set_epoch(e)``), the same
    for any number of ranks: global batch k is samples ``perm[k*B:(k+1)*B]``."""
    if tp.batch_size % ctx.world_size:
        raise ValueError(f"train.batch_size {tp.batch_size} (the global batch) does not split evenly "
                         f"over {ctx.world_size} processes")
    subset = Subset(data, indices.tolist())
    sampler = DistributedSampler(subset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True,
                                 seed=tp.seed, drop_last=False)
    generator = torch.Generator().manual_seed(tp.seed + ctx.rank)   # DataLoader worker seeds
    loader = DataLoader(subset, batch_size=tp.batch_size // ctx.world_size, sampler=sampler,
                        num_workers=tp.workers, worker_init_fn=seed_worker, generator=generator,
                        pin_memory=ctx.device.type == "cuda")
    return loader, sampler, generator


@torch.no_grad()
def score(model, data: H5Frames, indices, ctx: Context, batch_size: int, dtype, workers: int = 0):
    """``(accuracy, mean loss)`` of ``model`` on ``data[indices]`` (None, None when empty);
    each rank scores every world_size-th sample, the sums are all-reduced."""
    model.eval()
    share = Subset(data, list(indices)[ctx.rank::ctx.world_size])
    n_classes = model.classes
    loss_sum = correct = torch.zeros((), dtype=torch.float64, device=ctx.device)
    for x, y in DataLoader(share, batch_size=batch_size, num_workers=workers):
        x, y = x.to(ctx.device, non_blocking=True), y.to(ctx.device, non_blocking=True)
        with autocast(ctx.device, dtype):
            rate = model(x)
        loss_sum = loss_sum + loss_fn(rate.float(), y, n_classes) * len(y)
        correct = correct + (rate.argmax(1) == y).sum()
    loss_sum, correct, n = distributed.all_sum([loss_sum.item(), correct.item(), len(share)], ctx)
    return (correct / n, loss_sum / n) if n else (None, None)


def better(accuracy, loss, best: dict | None) -> bool:
    return accuracy is not None and (best is None or (accuracy, -loss) > (best["accuracy"], -best["loss"]))


def write_log(path: Path, history: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(history[0].keys())
        for row in history:
            w.writerow(["" if v is None else f"{v:.6g}" if isinstance(v, float) else v for v in row.values()])
    os.replace(tmp, path)


def write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def train(train_h5: str | Path, test_h5: str | Path, classes: list[str], mp: ModelParams, tp: TrainParams,
          model_dir: str | Path, log_csv: str | Path, metrics_json: str | Path,
          resume: str | Path | None = None) -> dict:
    """Train on ``train_h5``, score on ``test_h5``; write ``model_dir/model.pt`` (the selected
    epoch), ``model_dir/checkpoint.pt`` (the last epoch's full state), the log and the metrics.

    ``resume`` (default ``model_dir/../checkpoints/train.pt``) is the checkpoint rewritten every
    epoch; at the end it moves to ``model_dir/checkpoint.pt``. It should lie outside the
    stage's DVC outputs, which DVC deletes before it runs the stage.
    """
    model_dir = Path(model_dir)
    resume = Path(resume) if resume is not None else model_dir.parent / "checkpoints" / "train.pt"
    ctx = distributed.setup(tp.device)
    try:
        return _train(ctx, Path(train_h5), Path(test_h5), list(classes), mp, tp, model_dir,
                      Path(log_csv), Path(metrics_json), resume)
    finally:
        distributed.cleanup()


def _train(ctx: Context, train_h5, test_h5, classes, mp, tp, model_dir, log_csv, metrics_json, resume):
    say = print if ctx.main else (lambda *a, **k: None)
    configure_torch(tp, ctx.device)
    dtype = amp_dtype(tp, ctx.device)
    data, test = H5Frames(train_h5), H5Frames(test_h5)
    if len(test) == 0:
        raise ValueError(f"{test_h5} has no samples to score")
    if tp.protocol == "B":
        train_idx, val_idx = validation_split(data.labels, tp.val_fraction, tp.seed)
        if len(val_idx) == 0:
            raise ValueError(f"protocol B: no class of {train_h5} has 2 samples to hold one out; use protocol A")
    else:
        train_idx, val_idx = np.arange(len(data)), np.array([], dtype=np.int64)
    test_idx = np.arange(len(test))

    model, net = prepare_model(mp, tp, data.frame_shape, len(classes), ctx)
    opt = torch.optim.Adam(model.parameters(), lr=tp.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=tp.T_max)
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=dtype == torch.float16)
    loader, sampler, loader_gen = train_loader(data, train_idx, tp, ctx)
    eval_batch = max(1, tp.batch_size // ctx.world_size)

    model_config = {"model": mp.model_dump(), "classes": classes, "frame_shape": list(data.frame_shape),
                    "frames_attrs": data.attrs}
    run_config = {**model_config, "train": tp.model_dump(exclude={"workers", "threads", "nproc"}),
                  "samples": [len(data), len(test)]}

    # a fresh run seeds each rank (dropout masks differ across ranks); a resumed one restores
    torch.manual_seed(tp.seed + ctx.rank)
    np.random.seed(tp.seed + ctx.rank)
    random.seed(tp.seed + ctx.rank)
    history: list[dict] = []
    best: dict = {"A": None, "B": None}
    selected_state = None
    start = 1
    ckpt, why = load_resumable(resume, run_config, ctx.world_size) if ctx.main else (None, "")
    ckpt = distributed.broadcast_object(ckpt, ctx)    # rank 0 decides (only it may see the file)
    say(f"train: {why}")
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"][ctx.rank], loader_gen)
        history, best, selected_state = ckpt["history"], ckpt["best"], ckpt["selected"]
        start = ckpt["epoch"] + 1
        del ckpt

    for p in (model_dir, log_csv.parent, metrics_json.parent):
        p.mkdir(parents=True, exist_ok=True)
    bar = tqdm(range(start, tp.epochs + 1), desc="train", unit="epoch", disable=not ctx.main)
    for epoch in bar:
        t0 = time.perf_counter()
        sampler.set_epoch(epoch)
        net.train()
        loss_sum = correct = torch.zeros((), dtype=torch.float64, device=ctx.device)
        seen = 0
        for x, y in loader:
            x, y = x.to(ctx.device, non_blocking=True), y.to(ctx.device, non_blocking=True)
            with autocast(ctx.device, dtype):
                rate = net(x)
            loss = loss_fn(rate.float(), y, len(classes))
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()          # DDP averages the gradients over the ranks here
            scaler.step(opt)
            scaler.update()
            loss_sum = loss_sum + loss.detach() * len(y)
            correct = correct + (rate.argmax(1) == y).sum()
            seen += len(y)
        loss_sum, correct, seen = distributed.all_sum([loss_sum.item(), correct.item(), seen], ctx)
        lr = opt.param_groups[0]["lr"]
        sched.step()

        distributed.broadcast_buffers(model, ctx)   # all ranks score with rank 0's BN statistics
        val_acc, val_loss = score(model, data, val_idx, ctx, eval_batch, dtype, tp.workers)
        test_acc, test_loss = score(model, test, test_idx, ctx, eval_batch, dtype, tp.workers)
        if better(test_acc, test_loss, best["A"]):
            best["A"] = {"epoch": epoch, "accuracy": test_acc, "loss": test_loss}
        if better(val_acc, val_loss, best["B"]):
            best["B"] = {"epoch": epoch, "accuracy": val_acc, "loss": val_loss, "test_accuracy": test_acc}
        if best[tp.protocol]["epoch"] == epoch and ctx.main:
            selected_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        history.append({"epoch": epoch, "loss": loss_sum / seen, "accuracy": correct / seen,
                        "val_loss": val_loss, "val_accuracy": val_acc, "test_loss": test_loss,
                        "test_accuracy": test_acc, "lr": lr, "seconds": time.perf_counter() - t0,
                        **{f"tau_{i}": t for i, t in enumerate(model.taus())}})

        rngs = distributed.gather_objects(rng_state(loader_gen), ctx)
        if ctx.main:
            atomic_save({"format": FORMAT, "config": run_config, "world_size": ctx.world_size,
                         "epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(),
                         "scheduler": sched.state_dict(), "scaler": scaler.state_dict(), "rng": rngs,
                         "history": history, "best": best, "selected": selected_state}, resume)
            write_log(log_csv, history)
        bar.set_postfix(loss=f"{history[-1]['loss']:.4f}", acc=f"{history[-1]['accuracy']:.3f}",
                        test=f"{test_acc:.3f}", **({"val": f"{val_acc:.3f}"} if val_idx.size else {}))

    chosen = best[tp.protocol]
    last = history[-1]
    metrics = {"protocol": tp.protocol, "selected_epoch": chosen["epoch"],
               "accuracy_A_test_best_epoch": round(best["A"]["accuracy"], 4), "best_epoch_A": best["A"]["epoch"]}
    if tp.protocol == "B":
        metrics |= {"accuracy_B_test_at_best_val_epoch": round(best["B"]["test_accuracy"], 4),
                    "best_epoch_B": best["B"]["epoch"], "val_accuracy_best": round(best["B"]["accuracy"], 4)}
    metrics |= {"train_loss": last["loss"], "train_accuracy": last["accuracy"], "epochs": tp.epochs,
                "train_samples": len(train_idx), "val_samples": len(val_idx),
                "train_seconds": round(sum(r["seconds"] for r in history), 2),
                "tau": [round(t, 4) for t in model.taus()], "device": ctx.device.type,
                "processes": ctx.world_size, "amp": str(dtype).removeprefix("torch.") if dtype else "off"}
    if ctx.main:
        atomic_save({"model": selected_state, "epoch": chosen["epoch"], "config": model_config},
                    model_dir / "model.pt")
        write_json(metrics_json, metrics)
        shutil.move(resume, model_dir / "checkpoint.pt")      # the run is complete: nothing to resume
        say(f"train: {tp.epochs} epochs on {len(train_idx)} samples ({len(val_idx)} held out) by "
            f"{ctx.world_size} process(es) on {ctx.device.type} in {metrics['train_seconds']:.0f} s; "
            f"protocol {tp.protocol} keeps epoch {chosen['epoch']}; final loss {last['loss']:.4f}, "
            f"train accuracy {last['accuracy']:.3f}, tau {metrics['tau']}")
    return metrics
