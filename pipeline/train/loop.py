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

Feeding the device: samples come from :class:`~pipeline.train.data.H5Frames` as narrow integers
(uint8, int16 or int32), are copied to the device (pinned, non-blocking on CUDA) and cast there
to float32, the same floats as a cast on the host. With ``train.data_on_device`` (or ``auto`` on
CUDA when they fit, :func:`data_on_device`) a split is loaded onto the device once
(:class:`~pipeline.train.data.DeviceFrames`) and each epoch's batches are indexed from it, with the
very positions, order and batch boundaries the DataLoader would give: the same results.

:func:`train` reads top to bottom: :func:`start_run`, :func:`resume_run`, then per epoch
:func:`train_epoch`, :func:`score_epoch`, :func:`select_epoch`, :func:`save_checkpoint`,
and :func:`finish_run`.
"""

from __future__ import annotations

import csv
import io
import random
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from . import distributed
from .augment import build_augmentation
from ..core.atomic import write_json, write_text
from .checkpoint import FORMAT, atomic_save, load_resumable, rng_state, set_rng_state
from .data import DeviceFrames, H5Frames, paper_split, seed_worker, validation_split
from ..core.device import configure_torch
from .distributed import Context
from ..core.errors import LayoutError
from ..model import SpikingConvNet, build_model, loss_fn, resolve_backend
from ..core.params import DATA_ON_DEVICE_FRACTION, ModelParams, TrainParams

__all__ = ["Run", "amp_dtype", "better", "data_on_device", "device_batches", "network_input", "prepare_model",
           "train", "train_loader"]

#: batches each DataLoader worker keeps ready (workers > 0)
PREFETCH_FACTOR = 4


# --- set-up ---------------------------------------------------------------------------------


def amp_dtype(tp: TrainParams, device: torch.device) -> torch.dtype | None:
    """Autocast dtype: ``auto`` is bf16 on CUDA that has it, else fp16 on CUDA, off on CPU."""
    amp = tp.amp
    if amp == "auto":
        amp = "off" if device.type != "cuda" else "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def network_input(data: H5Frames) -> tuple[tuple[int, ...], dict | None]:
    """``(input_shape, image)`` of the network for a frames file: ``(T, C, H, W)``, and for a
    file of static images (stored once, with the metadata ``image``: the steps T the network
    repeats each, its normalisation) that normalisation ``{"mean", "std"}`` (else None)."""
    image = data.attrs.get("image")
    if image:
        return (int(image["steps"]), *map(int, data.frame_shape)), {"mean": list(image["mean"]),
                                                                      "std": list(image["std"])}
    return tuple(map(int, data.frame_shape)), None


def channels_last(tp: TrainParams, mp: ModelParams, device: torch.device) -> bool:
    """``train.channels_last``; ``auto`` is on for CUDA with joint BatchNorm only. Per-step
    BatchNorm runs as one call over a batch-major NCHW batch (``network.per_step_batch_norm``)
    and the max-pool's Triton kernels take NCHW: on an H200 the paper's step took 139 ms with
    channels_last and 45 ms without (python -m benchmarks --device cuda, section 6b)."""
    if tp.channels_last != "auto":
        return tp.channels_last
    return device.type == "cuda" and mp.bn == "joint"


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
    if channels_last(tp, mp, ctx.device):
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
                        pin_memory=ctx.device.type == "cuda", **_worker_options(tp.workers))
    return loader, sampler, generator


def _worker_options(workers: int) -> dict:
    """Workers kept from epoch to epoch, each with PREFETCH_FACTOR batches ready."""
    return {"persistent_workers": True, "prefetch_factor": PREFETCH_FACTOR} if workers > 0 else {}


def score_loader(data: H5Frames, share, batch_size: int, workers: int, device: torch.device) -> DataLoader:
    """Batches of ``data[share]`` in order (a rank's share of a split to score); its own
    generator (worker seeds only): :func:`split_batches` keeps the global draw of a pass."""
    workers = workers if len(share) else 0
    return DataLoader(Subset(data, [int(i) for i in share]), batch_size=batch_size, num_workers=workers,
                      pin_memory=device.type == "cuda", worker_init_fn=seed_worker,
                      generator=torch.Generator().manual_seed(0), **_worker_options(workers))


def data_on_device(choice, device: torch.device, sizes: list[int], free: int | None = None) -> list[bool]:
    """Which of the splits of ``sizes`` bytes (train, validation, test: this rank's) are loaded
    onto ``device`` for ``train.data_on_device = choice``: every one for true (on CPU: into
    memory), none for false; for auto none on CPU, and on CUDA each in turn while those loaded
    fit together in :data:`~pipeline.core.params.DATA_ON_DEVICE_FRACTION` of the device's ``free``
    bytes (default: ``torch.cuda.mem_get_info``'s, with the model already there)."""
    if choice is True:
        return [True] * len(sizes)
    if choice is False or device.type != "cuda":
        return [False] * len(sizes)
    if free is None:
        free = torch.cuda.mem_get_info(device)[0]
    budget, plan = DATA_ON_DEVICE_FRACTION * free, []
    for n in sizes:
        plan.append(n <= budget)
        budget -= n if plan[-1] else 0
    return plan


@dataclass
class Run:
    """One training run: its data, model and optimiser, and what it has learnt so far."""

    ctx: Context
    tp: TrainParams
    classes: list[str]
    data: H5Frames
    test: H5Frames
    train_idx: np.ndarray
    val_idx: np.ndarray
    model: SpikingConvNet
    net: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    augment: torch.nn.Module | None   # the dataset's training augmentation (static images), on device
    batches: int | None               # training batches per epoch (drop_last: the full ones), None: all
    loader: DataLoader
    sampler: DistributedSampler
    loader_gen: torch.Generator
    dtype: torch.dtype | None
    model_config: dict                # what evaluate needs to rebuild the model
    run_config: dict                  # what a checkpoint must match to be resumed
    scoring: dict                     # "val", "test": this rank's share, a DataLoader or DeviceFrames
    on_device: DeviceFrames | None = None   # the training split on the device (data_on_device)
    history: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"A": None, "B": None})
    selected: dict | None = None      # weights of the epoch the protocol keeps (rank 0)
    start: int = 1                    # first epoch to run

    def say(self, *args) -> None:
        if self.ctx.main:
            print(*args)


def start_run(ctx: Context, train_h5: Path, test_h5: Path, classes: list[str], mp: ModelParams,
              tp: TrainParams) -> Run:
    """Open the frames, hold out the validation split, build the model, optimiser and loader."""
    configure_torch(tp.threads, tp.deterministic, ctx.device)
    data, test = H5Frames(train_h5), H5Frames(test_h5)
    if len(test) == 0:
        raise LayoutError(f"{test_h5} has no samples to score")
    if tp.protocol == "B":
        if tp.val_split == "paper":
            train_idx, val_idx = paper_split(data.labels, tp.val_fraction)
        else:
            train_idx, val_idx = validation_split(data.labels, tp.val_fraction, tp.seed)
        if len(val_idx) == 0:
            raise LayoutError(f"protocol B: no class of {train_h5} has enough samples to hold one out "
                              f"(train.val_split: {tp.val_split}, val_fraction {tp.val_fraction}); "
                              "use train.protocol: A")
    else:
        train_idx, val_idx = np.arange(len(data)), np.array([], dtype=np.int64)
    batches = None
    if tp.drop_last:
        batches = len(train_idx) // tp.batch_size
        if batches == 0:
            raise LayoutError(f"train.drop_last: the {len(train_idx)} training samples of {train_h5} do not fill "
                              f"one batch of train.batch_size = {tp.batch_size}")
    input_shape, image = network_input(data)
    model, net = prepare_model(mp, tp, input_shape, len(classes), ctx, image)
    opt = torch.optim.Adam(model.parameters(), lr=tp.lr)
    dtype = amp_dtype(tp, ctx.device)
    augment = None
    if image is not None:
        augment = build_augmentation(data.attrs["image"].get("augment"))
        augment = augment.to(ctx.device) if augment is not None else None
    loader, sampler, loader_gen = train_loader(data, train_idx, tp, ctx)
    on_device, scoring = place_data(data, test, train_idx, val_idx, tp, ctx)
    model_config = {"model": mp.model_dump(), "classes": classes, "frame_shape": list(input_shape),
                    "image": image, "frames_attrs": data.attrs}
    run_config = {**model_config, "train": tp.model_dump(exclude={"workers", "threads", "nproc", "data_on_device"}),
                  "samples": [len(data), len(test)]}
    # a fresh run seeds each rank (dropout masks differ across ranks); a resumed one restores
    torch.manual_seed(tp.seed + ctx.rank)
    np.random.seed(tp.seed + ctx.rank)
    random.seed(tp.seed + ctx.rank)
    return Run(ctx, tp, classes, data, test, train_idx, val_idx, model, net, opt,
               torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=tp.T_max),
               torch.amp.GradScaler(ctx.device.type, enabled=dtype == torch.float16),
               augment, batches, loader, sampler, loader_gen, dtype, model_config, run_config, scoring, on_device)


def place_data(data: H5Frames, test: H5Frames, train_idx, val_idx, tp: TrainParams, ctx: Context):
    """``(train, scoring)``: the training split as DeviceFrames (or None: it streams), and per
    split scored ("val", "test") this rank's share as DeviceFrames or a DataLoader."""
    batch = max(1, tp.batch_size // ctx.world_size)
    splits = {"train": (data, np.asarray(train_idx)),
              "val": (data, np.asarray(val_idx)[ctx.rank::ctx.world_size]),
              "test": (test, np.arange(len(test))[ctx.rank::ctx.world_size])}
    sizes = [d.nbytes(len(i)) + 8 * len(i) for d, i in splits.values()]
    plan = dict(zip(splits, data_on_device(tp.data_on_device, ctx.device, sizes)))
    placed = {name: DeviceFrames(d, i, ctx.device, tp.workers) for name, (d, i) in splits.items() if plan[name]}
    if placed and ctx.main:
        mib = sum(f.nbytes for f in placed.values()) / 2**20
        print(f"train: {', '.join(placed)} frames held on {ctx.device} ({mib:.0f} MiB as {data.dtype}, "
              f"rank 0's share)")
    scoring = {name: placed[name] if name in placed else score_loader(d, i, batch, tp.workers, ctx.device)
               for name, (d, i) in splits.items() if name != "train"}
    return placed.get("train"), scoring


def resume_run(run: Run, checkpoint: Path) -> None:
    """Continue from ``checkpoint`` when it is of this configuration (rank 0 decides)."""
    ctx = run.ctx
    ckpt, why = load_resumable(checkpoint, run.run_config, ctx.world_size) if ctx.main else (None, "")
    ckpt = distributed.broadcast_object(ckpt, ctx)    # only rank 0 may see the file
    run.say(f"train: {why}")
    if ckpt is None:
        return
    run.model.load_state_dict(ckpt["model"])
    run.opt.load_state_dict(ckpt["optimizer"])
    run.sched.load_state_dict(ckpt["scheduler"])
    run.scaler.load_state_dict(ckpt["scaler"])
    set_rng_state(ckpt["rng"][ctx.rank], run.loader_gen)
    run.history, run.best, run.selected = ckpt["history"], ckpt["best"], ckpt["selected"]
    run.start = ckpt["epoch"] + 1


# --- one epoch ------------------------------------------------------------------------------


def train_epoch(run: Run, epoch: int) -> dict:
    """One pass over this rank's share of the training set; loss and accuracy over all ranks."""
    ctx = run.ctx
    run.sampler.set_epoch(epoch)
    run.net.train()
    loss_sum = correct = torch.zeros((), dtype=torch.float64, device=ctx.device)
    seen = 0
    batches = run.loader if run.on_device is None else \
        device_batches(run.on_device, run.sampler, run.loader.batch_size, run.loader_gen)
    for k, (x, y) in enumerate(batches):
        if run.batches is not None and k == run.batches:
            break   # drop_last: rank-local batch k is part of global batch k, so every rank stops here
        x, y = x.to(ctx.device, non_blocking=True).float(), y.to(ctx.device, non_blocking=True)
        if run.augment is not None:
            x = run.augment(x)
        with autocast(ctx.device, run.dtype):
            rate = run.net(x)
        loss = loss_fn(rate.float(), y, len(run.classes))
        run.opt.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()          # DDP averages the gradients over the ranks here
        run.scaler.step(run.opt)
        run.scaler.update()
        loss_sum = loss_sum + loss.detach() * len(y)
        correct = correct + (rate.argmax(1) == y).sum()
        seen += len(y)
    loss_sum, correct, seen = distributed.all_sum([loss_sum.item(), correct.item(), seen], ctx)
    lr = run.opt.param_groups[0]["lr"]
    run.sched.step()
    return {"loss": loss_sum / seen, "accuracy": correct / seen, "lr": lr}


def device_batches(frames: DeviceFrames, sampler: DistributedSampler, batch_size: int,
                   generator: torch.Generator | None = None):
    """An epoch's training batches indexed from ``frames`` (the split ``sampler`` samples): the
    positions the sampler gives this rank (its permutation for the epoch, padded as it pads), cut
    every ``batch_size``: exactly the batches of a DataLoader over the split with this sampler
    (``train_epoch`` stops at ``run.batches`` either way)."""
    if generator is not None:
        # a DataLoader draws its workers' base seed from its generator as each pass starts; so
        # does this, so that the generator (kept in checkpoints) moves as with workers = 0 (with
        # persistent workers the DataLoader draws once per process: worker seeds, no result)
        torch.empty((), dtype=torch.int64).random_(generator=generator)
    positions = torch.tensor(list(sampler), dtype=torch.int64).to(frames.x.device)
    for start in range(0, len(positions), batch_size):
        yield frames.batch(positions[start:start + batch_size])


def split_batches(source: DataLoader | DeviceFrames, batch_size: int):
    """A scored split's batches, in order: from its DataLoader, or sliced from DeviceFrames.

    Each pass draws one number from torch's global generator, as the DataLoader made afresh
    for every scoring pass by earlier versions did (for its workers' base seed): that keeps the
    global random stream, hence the dropout masks of the epochs after, what they were, whether
    the split streams (through persistent workers or none) or sits on the device."""
    torch.empty((), dtype=torch.int64).random_()
    if isinstance(source, DeviceFrames):
        return (source.batch(slice(s, s + batch_size)) for s in range(0, len(source), batch_size))
    return source


@torch.no_grad()
def score_batches(model, batches, n: int, ctx: Context, dtype):
    """``(accuracy, mean loss)`` of ``model`` over ``batches`` (this rank's ``n`` samples); the
    sums are all-reduced over the ranks (None, None when no rank has a sample)."""
    model.eval()
    n_classes = model.classes
    loss_sum = correct = torch.zeros((), dtype=torch.float64, device=ctx.device)
    for x, y in batches:
        x, y = x.to(ctx.device, non_blocking=True).float(), y.to(ctx.device, non_blocking=True)
        with autocast(ctx.device, dtype):
            rate = model(x)
        loss_sum = loss_sum + loss_fn(rate.float(), y, n_classes) * len(y)
        correct = correct + (rate.argmax(1) == y).sum()
    loss_sum, correct, n = distributed.all_sum([loss_sum.item(), correct.item(), n], ctx)
    return (correct / n, loss_sum / n) if n else (None, None)


def score_epoch(run: Run) -> dict:
    """Validation (protocol B) and test accuracy and loss, with rank 0's BatchNorm statistics."""
    ctx, tp = run.ctx, run.tp
    distributed.broadcast_buffers(run.model, ctx)
    batch = max(1, tp.batch_size // ctx.world_size)
    scores = {}
    for name in ("val", "test"):
        source = run.scoring[name]
        n = len(source) if isinstance(source, DeviceFrames) else len(source.dataset)
        scores[name] = score_batches(run.model, split_batches(source, batch), n, ctx, run.dtype)
    (val_acc, val_loss), (test_acc, test_loss) = scores["val"], scores["test"]
    return {"val_loss": val_loss, "val_accuracy": val_acc, "test_loss": test_loss, "test_accuracy": test_acc}


def better(accuracy, loss, best: dict | None) -> bool:
    return accuracy is not None and (best is None or (accuracy, -loss) > (best["accuracy"], -best["loss"]))


def select_epoch(run: Run, epoch: int, scores: dict) -> None:
    """Update the best epochs of protocols A and B; keep the weights of the protocol's."""
    best = run.best
    if better(scores["test_accuracy"], scores["test_loss"], best["A"]):
        best["A"] = {"epoch": epoch, "accuracy": scores["test_accuracy"], "loss": scores["test_loss"]}
    if better(scores["val_accuracy"], scores["val_loss"], best["B"]):
        best["B"] = {"epoch": epoch, "accuracy": scores["val_accuracy"], "loss": scores["val_loss"],
                     "test_accuracy": scores["test_accuracy"]}
    if best[run.tp.protocol]["epoch"] == epoch and run.ctx.main:
        run.selected = {k: v.detach().to("cpu", copy=True) for k, v in run.model.state_dict().items()}


def save_checkpoint(run: Run, epoch: int, path: Path, log_csv: Path) -> None:
    """The resume checkpoint (every rank's random states included) and the per-epoch log."""
    rngs = distributed.gather_objects(rng_state(run.loader_gen), run.ctx)
    if run.ctx.main:
        atomic_save({"format": FORMAT, "config": run.run_config, "world_size": run.ctx.world_size,
                     "epoch": epoch, "model": run.model.state_dict(), "optimizer": run.opt.state_dict(),
                     "scheduler": run.sched.state_dict(), "scaler": run.scaler.state_dict(), "rng": rngs,
                     "history": run.history, "best": run.best, "selected": run.selected}, path)
        write_log(log_csv, run.history)


def write_log(path: Path, history: list[dict]) -> None:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(history[0].keys())
    for row in history:
        w.writerow(["" if v is None else f"{v:.6g}" if isinstance(v, float) else v for v in row.values()])
    write_text(path, out.getvalue())


# --- the end --------------------------------------------------------------------------------


def finish_run(run: Run, model_dir: Path, metrics_json: Path, checkpoint: Path) -> dict:
    """Write the selected epoch's model and the metrics; the last checkpoint moves to the models."""
    tp, best, last = run.tp, run.best, run.history[-1]
    chosen = best[tp.protocol]
    metrics = {"protocol": tp.protocol, "selected_epoch": chosen["epoch"],
               "accuracy_A_test_best_epoch": round(best["A"]["accuracy"], 4), "best_epoch_A": best["A"]["epoch"]}
    if tp.protocol == "B":
        metrics |= {"accuracy_B_test_at_best_val_epoch": round(best["B"]["test_accuracy"], 4),
                    "best_epoch_B": best["B"]["epoch"], "val_accuracy_best": round(best["B"]["accuracy"], 4)}
    metrics |= {"train_loss": last["loss"], "train_accuracy": last["accuracy"], "epochs": tp.epochs,
                "train_samples": len(run.train_idx), "val_samples": len(run.val_idx),
                "train_seconds": round(sum(r["seconds"] for r in run.history), 2),
                "tau": [round(t, 4) for t in run.model.taus()], "device": run.ctx.device.type,
                "processes": run.ctx.world_size,
                "amp": str(run.dtype).removeprefix("torch.") if run.dtype else "off"}
    if run.ctx.main:
        atomic_save({"model": run.selected, "epoch": chosen["epoch"], "config": run.model_config},
                    model_dir / "model.pt")
        write_json(metrics_json, metrics)
        shutil.move(checkpoint, model_dir / "checkpoint.pt")      # the run is complete: nothing to resume
        run.say(f"train: {tp.epochs} epochs on {len(run.train_idx)} samples ({len(run.val_idx)} held out) by "
                f"{run.ctx.world_size} process(es) on {run.ctx.device.type} in {metrics['train_seconds']:.0f} s; "
                f"protocol {tp.protocol} keeps epoch {chosen['epoch']}; final loss {last['loss']:.4f}, "
                f"train accuracy {last['accuracy']:.3f}, tau {metrics['tau']}")
    return metrics


def train(train_h5: str | Path, test_h5: str | Path, classes: list[str], mp: ModelParams, tp: TrainParams,
          model_dir: str | Path, log_csv: str | Path, metrics_json: str | Path,
          resume: str | Path | None = None) -> dict:
    """Train on ``train_h5``, score on ``test_h5``; write ``model_dir/model.pt`` (the selected
    epoch), ``model_dir/checkpoint.pt`` (the last epoch's full state), the log and the metrics.

    ``resume`` (default ``model_dir/../checkpoints/train.pt``) is the checkpoint rewritten every
    epoch; at the end it moves to ``model_dir/checkpoint.pt``. It should lie outside the
    stage's DVC outputs, which DVC deletes before it runs the stage.
    """
    model_dir, log_csv, metrics_json = Path(model_dir), Path(log_csv), Path(metrics_json)
    checkpoint = Path(resume) if resume is not None else model_dir.parent / "checkpoints" / "train.pt"
    ctx = distributed.setup(tp.device)
    try:
        run = start_run(ctx, Path(train_h5), Path(test_h5), list(classes), mp, tp)
        resume_run(run, checkpoint)
        for p in (model_dir, log_csv.parent, metrics_json.parent):
            p.mkdir(parents=True, exist_ok=True)
        bar = tqdm(range(run.start, tp.epochs + 1), desc="train", unit="epoch", disable=not ctx.main)
        for epoch in bar:
            t0 = time.perf_counter()
            trained = train_epoch(run, epoch)
            scores = score_epoch(run)
            select_epoch(run, epoch, scores)
            run.history.append({"epoch": epoch, "loss": trained["loss"], "accuracy": trained["accuracy"],
                                **scores, "lr": trained["lr"], "seconds": time.perf_counter() - t0,
                                **{f"tau_{i}": t for i, t in enumerate(run.model.taus())}})
            save_checkpoint(run, epoch, checkpoint, log_csv)
            bar.set_postfix(loss=f"{trained['loss']:.4f}", acc=f"{trained['accuracy']:.3f}",
                            test=f"{scores['test_accuracy']:.3f}",
                            **({"val": f"{scores['val_accuracy']:.3f}"} if run.val_idx.size else {}))
        return finish_run(run, model_dir, metrics_json, checkpoint)
    finally:
        distributed.cleanup()
