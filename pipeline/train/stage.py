"""The train stage's core: frames HDF5 -> PLIF network; one process, or DDP under ``torchrun``.

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

A run has three parts besides its settings: its :class:`~pipeline.train.placement.Feed` (the
frames, the splits, their loaders or their copies on the device: ``placement.py``), its
:class:`Learner` (the model, optimiser, scheduler, gradient scaler, autocast dtype and augmentation)
and its :class:`Progress` (the epochs' history, the best epochs, the weights kept: what a
checkpoint restores). Scoring, shared with the evaluate stage, is in ``scoring.py``.

:func:`train` reads top to bottom: :func:`start_run`, :func:`resume_run`, then per epoch
:func:`train_epoch`, :func:`score_epoch`, :func:`select_epoch`, :func:`save_checkpoint`,
and :func:`finish_run`.
"""

from __future__ import annotations

import csv
import io
import random
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ..core.atomic import write_json, write_text
from ..core.device import configure_torch
from ..core.errors import LayoutError
from ..params import ModelParams, TrainParams
from ..datasets.spec import normalisation
from ..model import SpikingConvNet, build_model, resolve_backend
from ..model.network import walk
from . import distributed
from .augment import augment_events, build_augmentation
from .checkpoint import FORMAT, atomic_save, load_resumable, rng_state, set_rng_state
from .data import H5Frames
from .distributed import Context
from .losses import training_loss, uses_logits
from .placement import Feed, full_batches, hold_out, make_feed, same_representation, split_batches, split_size
from .scoring import amp_dtype, autocast, channels_last, on_device, score_batches

__all__ = ["Learner", "Progress", "Run", "better", "network_input", "prepare_model", "train"]


# --- set-up ---------------------------------------------------------------------------------


def network_input(data: H5Frames) -> tuple[tuple[int, ...], dict | None]:
    """``(input_shape, image)`` of the network for a frames file: ``(T, C, H, W)``, and for a
    file of static images (stored once, with the metadata ``image``: the steps T the network
    repeats each, its normalisation) that normalisation ``{"mean", "std"}`` (else None).

    C is the file's: 2 polarities for counts and Bina-Rep, 1 for a voxel grid (its signed
    polarity in one channel), so the first convolution takes what the file holds."""
    image = data.attrs.get("image")
    if image:
        return (int(image["steps"]), *map(int, data.frame_shape)), normalisation(image["mean"], image["std"])
    return tuple(map(int, data.frame_shape)), None


def prepare_model(mp: ModelParams, tp: TrainParams, input_shape, classes: int, ctx: Context,
                  image: dict | None = None):
    """``(model, net)``: the model on its device, and what to call in training (DDP-wrapped
    when distributed). Every rank builds the same initial weights from ``tp.seed``."""
    resolve_backend(mp.backend, ctx.device)      # a backend that cannot run here: one line, before any work
    torch.manual_seed(tp.seed)
    model = build_model(mp, input_shape, classes, image)
    if ctx.distributed and tp.sync_bn:
        model = distributed.convert_batchnorm(model, ctx.device)
    model = model.to(ctx.device)
    if channels_last(tp.channels_last, mp, ctx.device):
        model = model.to(memory_format=torch.channels_last)
    net = model
    if ctx.distributed:
        net = DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None,
                                      forward_sync_buffers=not tp.sync_bn)
    return model, net


@dataclass
class Learner:
    """The model and what trains it."""

    model: SpikingConvNet
    net: torch.nn.Module              # what training calls: the model, DDP-wrapped when distributed
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    dtype: torch.dtype | None         # autocast's, None: float32
    augment: torch.nn.Module | None   # the dataset's training augmentation (static images), on device


@dataclass
class Progress:
    """What the epochs so far have left: a checkpoint keeps it, a resumed run restores it."""

    history: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"A": None, "B": None})
    selected: dict | None = None      # weights of the epoch the protocol keeps (rank 0)
    start: int = 1                    # first epoch to run


@dataclass
class Run:
    """One training run: its settings, data, learner and progress."""

    ctx: Context
    tp: TrainParams
    classes: list[str]
    feed: Feed
    learner: Learner
    progress: Progress
    model_config: dict                # what evaluate needs to rebuild the model and score as training did
    run_config: dict                  # what a checkpoint must match to be resumed

    def say(self, *args) -> None:
        if self.ctx.main:
            print(*args)


def new_learner(mp: ModelParams, tp: TrainParams, data: H5Frames, classes: int, ctx: Context) -> Learner:
    """The model (seeded by ``tp.seed``), Adam, the cosine schedule, the scaler, the augmentation."""
    input_shape, image = network_input(data)
    model, net = prepare_model(mp, tp, input_shape, classes, ctx, image)
    opt = torch.optim.Adam(model.parameters(), lr=tp.lr)
    dtype = amp_dtype(tp.amp, ctx.device)
    augment = None
    if image is not None:
        augment = build_augmentation(data.attrs["image"].get("augment"))
        augment = augment.to(ctx.device) if augment is not None else None
    return Learner(model, net, opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=tp.T_max),
                   torch.amp.GradScaler(ctx.device.type, enabled=dtype == torch.float16), dtype, augment)


def start_run(ctx: Context, train_h5: Path, test_h5: Path, classes: list[str], mp: ModelParams,
              tp: TrainParams) -> Run:
    """Open the frames, hold out the validation split, build the learner, place the data."""
    configure_torch(tp.threads, tp.deterministic, ctx.device)
    data, test = H5Frames(train_h5), H5Frames(test_h5)
    if len(test) == 0:
        raise LayoutError(f"{test_h5} has no samples to score")
    same_representation(data, test)
    train_idx, val_idx = hold_out(data, tp, train_h5)
    batches = full_batches(len(train_idx), tp, train_h5)
    learner = new_learner(mp, tp, data, len(classes), ctx)
    feed = make_feed(data, test, train_idx, val_idx, batches, tp, ctx)
    input_shape, image = network_input(data)
    model_config = {"model": mp.model_dump(), "classes": classes, "frame_shape": list(input_shape),
                    "image": image, "frames_attrs": data.attrs,
                    "scoring": {"amp": tp.amp, "channels_last": tp.channels_last, "deterministic": tp.deterministic}}
    run_config = {**model_config, "train": tp.model_dump(exclude={"workers", "threads", "nproc", "data_on_device"}),
                  "samples": [len(data), len(test)]}
    # a fresh run seeds each rank (dropout masks differ across ranks); a resumed one restores
    torch.manual_seed(tp.seed + ctx.rank)
    np.random.seed(tp.seed + ctx.rank)
    random.seed(tp.seed + ctx.rank)
    return Run(ctx, tp, classes, feed, learner, Progress(), model_config, run_config)


def resume_run(run: Run, checkpoint: Path) -> None:
    """Continue from ``checkpoint`` when it is of this configuration. Each machine's first
    process looks at its own file (machines need not share a disk, and global rank 0, which
    writes it, may have been on another machine before a restart); the newest one is resumed."""
    ctx, learner = run.ctx, run.learner
    mine, why = load_resumable(checkpoint, run.run_config, ctx.world_size) if ctx.local_rank == 0 else (None, "")
    found = distributed.gather_objects((mine["epoch"] if mine is not None else -1, why), ctx)
    src = max(range(len(found)), key=lambda r: (found[r][0], -r))     # the newest; ties: the lowest rank
    ckpt = distributed.broadcast_object(mine if ctx.rank == src else None, ctx, src)
    if ctx.main:
        where = f" (rank {src}'s machine)" if src != 0 else ""
        print(f"train: {found[src][1]}{where}" if ckpt is not None else f"train: {found[0][1]}")
    if ckpt is None:
        return
    learner.model.load_state_dict(ckpt["model"])
    learner.opt.load_state_dict(ckpt["optimizer"])
    learner.sched.load_state_dict(ckpt["scheduler"])
    learner.scaler.load_state_dict(ckpt["scaler"])
    set_rng_state(ckpt["rng"][ctx.rank], run.feed.generator)
    run.progress = Progress(renamed_taus(ckpt["history"]), ckpt["best"], ckpt["selected"], ckpt["epoch"] + 1)


def tau_columns(model: SpikingConvNet) -> dict[str, float]:
    """The learned tau of each spiking layer, as the log's columns: ``tau_<k>`` for the layer
    the network walk names ``spiking_<k>`` (:func:`pipeline.model.network.walk`, 1-based)."""
    return {"tau_" + layer.name.removeprefix("spiking_"): layer.module.tau
            for layer in walk(model) if layer.role == "spiking"}


def renamed_taus(history: list[dict]) -> list[dict]:
    """A checkpoint's per-epoch rows with their tau columns as :func:`tau_columns` names them:
    a checkpoint written before the columns took the walk's names counts them from ``tau_0``."""
    if not any("tau_0" in row for row in history):
        return history

    def name(key: str) -> str:
        return f"tau_{int(key[4:]) + 1}" if key.startswith("tau_") and key[4:].isdigit() else key
    return [{name(k): v for k, v in row.items()} for row in history]


# --- one epoch ------------------------------------------------------------------------------


def augment_batch(x: torch.Tensor, y: torch.Tensor, tp: TrainParams, epoch: int, indices: torch.Tensor,
                  classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(frames, targets)``: ``train.augment`` applied to a cast training batch (images
    ``(B, C, H, W)`` as one frame each), seeded by ``(train.seed, epoch, indices)``; the targets
    one-hot unless ``cutmix`` mixed them."""
    if not tp.augment:
        return x, F.one_hot(y, classes).to(torch.float32)
    image = x.dim() == 4
    x, targets = augment_events(x.unsqueeze(1) if image else x, y, tp.augment, seed=tp.seed, epoch=epoch,
                                indices=indices, num_classes=classes)
    return (x.squeeze(1) if image else x), targets



def train_epoch(run: Run, epoch: int) -> dict:
    """One pass over this rank's share of the training set; loss and accuracy over all ranks."""
    ctx, learner, feed = run.ctx, run.learner, run.feed
    learner.net.train()
    loss_sum = correct = torch.zeros((), dtype=torch.float64, device=ctx.device)
    seen = 0
    tp, logits = run.tp, uses_logits(run.tp.loss)
    for k, (x, y, indices) in enumerate(feed.epoch(epoch)):
        if feed.batches is not None and k == feed.batches:
            break   # drop_last: rank-local batch k is part of global batch k, so every rank stops here
        x, y = on_device(x, y, ctx.device, feed.scale)
        if learner.augment is not None:
            x = learner.augment(x)
        x, targets = augment_batch(x, y, tp, epoch, indices, len(run.classes))
        with autocast(ctx.device, learner.dtype):
            rate, steps = learner.net(x, currents=True) if logits else (learner.net(x), None)
        loss = training_loss(tp.loss, rate.float(), None if steps is None else steps.float(), targets,
                             tp.tet_lambda)
        learner.opt.zero_grad(set_to_none=True)
        learner.scaler.scale(loss).backward()          # DDP averages the gradients over the ranks here
        learner.scaler.step(learner.opt)
        learner.scaler.update()
        loss_sum = loss_sum + loss.detach() * len(y)
        correct = correct + (rate.argmax(1) == y).sum()
        seen += len(y)
    loss_sum, correct, seen = distributed.all_sum([loss_sum.item(), correct.item(), seen], ctx)
    lr = learner.opt.param_groups[0]["lr"]
    learner.sched.step()
    return {"loss": loss_sum / seen, "accuracy": correct / seen, "lr": lr}


def score_epoch(run: Run) -> dict:
    """Validation (protocol B) and test accuracy and loss, with rank 0's BatchNorm statistics."""
    ctx, model = run.ctx, run.learner.model
    distributed.broadcast_buffers(model, ctx)
    batch = max(1, run.tp.batch_size // ctx.world_size)
    scores = {}
    for name in ("val", "test"):
        source = run.feed.scoring[name]
        scores[name] = score_batches(model, split_batches(source, batch), split_size(source), ctx,
                                     run.learner.dtype, run.feed.scale)
    (val_acc, val_loss), (test_acc, test_loss) = scores["val"], scores["test"]
    return {"val_loss": val_loss, "val_accuracy": val_acc, "test_loss": test_loss, "test_accuracy": test_acc}


def better(accuracy, loss, best: dict | None) -> bool:
    return accuracy is not None and (best is None or (accuracy, -loss) > (best["accuracy"], -best["loss"]))


def select_epoch(run: Run, epoch: int, scores: dict) -> None:
    """Update the best epochs of protocols A and B; keep the weights of the protocol's."""
    best = run.progress.best
    if better(scores["test_accuracy"], scores["test_loss"], best["A"]):
        best["A"] = {"epoch": epoch, "accuracy": scores["test_accuracy"], "loss": scores["test_loss"]}
    if better(scores["val_accuracy"], scores["val_loss"], best["B"]):
        best["B"] = {"epoch": epoch, "accuracy": scores["val_accuracy"], "loss": scores["val_loss"],
                     "test_accuracy": scores["test_accuracy"]}
    if best[run.tp.protocol]["epoch"] == epoch and run.ctx.main:
        run.progress.selected = {k: v.detach().to("cpu", copy=True)
                                 for k, v in run.learner.model.state_dict().items()}


def save_checkpoint(run: Run, epoch: int, path: Path, log_csv: Path, tau_csv: Path | None = None) -> None:
    """The resume checkpoint (every rank's random states included) and the per-epoch log."""
    rngs = distributed.gather_objects(rng_state(run.feed.generator), run.ctx)
    if run.ctx.main:
        learner, progress = run.learner, run.progress
        atomic_save({"format": FORMAT, "config": run.run_config, "world_size": run.ctx.world_size,
                     "epoch": epoch, "model": learner.model.state_dict(), "optimizer": learner.opt.state_dict(),
                     "scheduler": learner.sched.state_dict(), "scaler": learner.scaler.state_dict(), "rng": rngs,
                     "history": progress.history, "best": progress.best, "selected": progress.selected}, path)
        write_log(log_csv, progress.history, tau_csv)


def _cell(v) -> str:
    return "" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v)


def _write_csv(path: Path, rows) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    write_text(path, out.getvalue())


def write_log(path: Path, history: list[dict], tau_path: Path | None = None) -> None:
    """The per-epoch log, one row per epoch; with ``tau_path``, its tau columns again in long
    form (``epoch,layer,tau``, one row per epoch and spiking layer), which DVC's plot template
    ``.dvc/plots/layers.json`` draws as one line per layer whatever the number of layers."""
    _write_csv(path, [list(history[0]), *([_cell(v) for v in row.values()] for row in history)])
    if tau_path is not None:
        _write_csv(tau_path, [["epoch", "layer", "tau"],
                              *([row["epoch"], "spiking_" + k.removeprefix("tau_"), _cell(v)]
                                for row in history for k, v in row.items() if k.startswith("tau_"))])


# --- the end --------------------------------------------------------------------------------


def finish_run(run: Run, model_dir: Path, metrics_json: Path, checkpoint: Path) -> dict:
    """Write the selected epoch's model and the metrics; the last checkpoint moves to the models."""
    tp, best, last = run.tp, run.progress.best, run.progress.history[-1]
    feed, dtype = run.feed, run.learner.dtype
    chosen = best[tp.protocol]
    metrics = {"protocol": tp.protocol, "selected_epoch": chosen["epoch"],
               "accuracy_A_test_best_epoch": round(best["A"]["accuracy"], 4), "best_epoch_A": best["A"]["epoch"]}
    if tp.protocol == "B":
        metrics |= {"accuracy_B_test_at_best_val_epoch": round(best["B"]["test_accuracy"], 4),
                    "best_epoch_B": best["B"]["epoch"], "val_accuracy_best": round(best["B"]["accuracy"], 4)}
    metrics |= {"train_loss": last["loss"], "train_accuracy": last["accuracy"], "epochs": tp.epochs,
                "train_samples": len(feed.train_idx), "val_samples": len(feed.val_idx),
                "train_seconds": round(sum(r["seconds"] for r in run.progress.history), 2),
                "tau": [round(t, 4) for t in tau_columns(run.learner.model).values()],   # [0]: spiking_1
                "device": run.ctx.device.type,
                "processes": run.ctx.world_size,
                "amp": str(dtype).removeprefix("torch.") if dtype else "off"}
    host0 = distributed.broadcast_object(socket.gethostname(), run.ctx)
    if run.ctx.main:
        atomic_save({"model": run.progress.selected, "epoch": chosen["epoch"], "config": run.model_config},
                    model_dir / "model.pt")
        write_json(metrics_json, metrics)
        shutil.move(checkpoint, model_dir / "checkpoint.pt")      # the run is complete: nothing to resume
        run.say(f"train: {tp.epochs} epochs on {len(feed.train_idx)} samples ({len(feed.val_idx)} held out) by "
                f"{run.ctx.world_size} process(es) on {run.ctx.device.type} in {metrics['train_seconds']:.0f} s; "
                f"protocol {tp.protocol} keeps epoch {chosen['epoch']}; final loss {last['loss']:.4f}, "
                f"train accuracy {last['accuracy']:.3f}, tau {metrics['tau']}")
    distributed.barrier(run.ctx)
    if not run.ctx.main and run.ctx.local_rank == 0:
        # another machine's checkpoint of this run (rank 0 was there before a restart) is stale now
        Path(checkpoint).unlink(missing_ok=True)
        print(f"train: done; global rank 0 wrote the outputs on {host0}")
    return metrics


def train(train_h5: str | Path, test_h5: str | Path, classes: list[str], mp: ModelParams, tp: TrainParams,
          model_dir: str | Path, log_csv: str | Path, metrics_json: str | Path,
          resume: str | Path | None = None, tau_csv: str | Path | None = None) -> dict:
    """Train on ``train_h5``, score on ``test_h5``; write ``model_dir/model.pt`` (the selected
    epoch), ``model_dir/checkpoint.pt`` (the last epoch's full state), the log and the metrics.

    ``resume`` (default ``model_dir/../checkpoints/train.pt``) is the checkpoint rewritten every
    epoch; at the end it moves to ``model_dir/checkpoint.pt``. It should lie outside the
    stage's DVC outputs, which DVC deletes before it runs the stage. ``tau_csv``: the log's tau
    columns in long form as well (:func:`write_log`).
    """
    model_dir, log_csv, metrics_json = Path(model_dir), Path(log_csv), Path(metrics_json)
    tau_csv = None if tau_csv is None else Path(tau_csv)
    checkpoint = Path(resume) if resume is not None else model_dir.parent / "checkpoints" / "train.pt"
    ctx = distributed.setup(tp.device)
    try:
        run = start_run(ctx, Path(train_h5), Path(test_h5), list(classes), mp, tp)
        resume_run(run, checkpoint)
        if ctx.main:                                   # only global rank 0 writes outputs
            for p in (model_dir, log_csv.parent, metrics_json.parent, *([tau_csv.parent] if tau_csv else [])):
                p.mkdir(parents=True, exist_ok=True)
        bar = tqdm(range(run.progress.start, tp.epochs + 1), desc="train", unit="epoch", disable=not ctx.main)
        for epoch in bar:
            t0 = time.perf_counter()
            trained = train_epoch(run, epoch)
            scores = score_epoch(run)
            select_epoch(run, epoch, scores)
            run.progress.history.append({"epoch": epoch, "loss": trained["loss"], "accuracy": trained["accuracy"],
                                         **scores, "lr": trained["lr"], "seconds": time.perf_counter() - t0,
                                         **tau_columns(run.learner.model)})
            save_checkpoint(run, epoch, checkpoint, log_csv, tau_csv)
            bar.set_postfix(loss=f"{trained['loss']:.4f}", acc=f"{trained['accuracy']:.3f}",
                            test=f"{scores['test_accuracy']:.3f}",
                            **({"val": f"{scores['val_accuracy']:.3f}"} if run.feed.val_idx.size else {}))
        return finish_run(run, model_dir, metrics_json, checkpoint)
    finally:
        distributed.cleanup()
