"""7. Training augmentation (``train.augment``) against the training step it runs in, on CPU.

The demo's training batch (``configs/demo.yaml``: batch 16, T = 16, 2 x 32 x 32 frames after
downsample 4 of 128, the network of its ``model`` section (32 channels, 3 blocks, hidden 128,
10 votes, 11 classes) as training builds it (``pipeline.train.stage.prepare_model``), its
``train.deterministic``), Poisson(0.3) counts. In turns, so that load changes hit all alike:

- the ``nda`` chain (``augment_events(x, y, [{"nda": {}}], ...)``: NDA's policy, per sample one
  of roll, rotate, shear), a new epoch each call (new draws), as ``train_epoch`` calls it;
- one training step of the same batch: zero_grad, forward, MSE-on-rates loss, backward, Adam;
- a longer chain for information (:data:`LONG`: flip, roll, rotate, cutout, drop, cutmix).

Target: the ``nda`` chain at most :data:`TARGET_CPU_PCT` % of the step (issue #25). The device
group times the same chain on the paper's step batch on CUDA (``benchmarks/gpu.py``, 6b, target
:data:`TARGET_GPU_PCT` %) with :func:`augment_call`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .common import Section, Target, measure_interleaved, row

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"
CLASSES = 11
NDA = [{"nda": {}}]
LONG = [{"flip": {"p": 0.5}}, {"roll": {"max_shift": 5}}, {"rotate": {"degrees": 15}}, {"cutout": {"size": 0.25}},
        {"drop": {"p": 0.1}}, {"cutmix": {"p": 0.5}}]
TARGET_CPU_PCT = 10.0      # the nda chain / the demo's training step on CPU
TARGET_GPU_PCT = 5.0       # the nda chain / the paper's training step on CUDA (gpu.py, 6b)
TRAIN_SAMPLES = 1000       # indices are drawn from a training set of this size


def chain_name(ops) -> str:
    return " + ".join(next(iter(op)) for op in ops)


def batch(B: int, T: int, H: int, W: int, dev: torch.device, seed: int = 0):
    """``(x, y, indices)``: Poisson(0.3) counts float32 ``(B, T, 2, H, W)`` and labels on ``dev``,
    training-set indices on the CPU (as the loader gives them)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.poisson(torch.full((B, T, 2, H, W), 0.3), generator=g)
    y = torch.randint(0, CLASSES, (B,), generator=g)
    indices = torch.randperm(TRAIN_SAMPLES, generator=g)[:B]
    return x.to(dev), y.to(dev), indices


def augment_call(x, y, indices, ops, dev: torch.device, classes: int = CLASSES, seed: int = 0):
    """A call of ``augment_events(x, y, ops, ...)`` as ``train_epoch`` makes it, one epoch further
    each call (fresh draws); on CUDA it waits for the GPU. Returns ``(frames, targets)``."""
    from pipeline.train.augment import augment_events

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    epoch = [0]

    def call():
        epoch[0] += 1
        out = augment_events(x, y, ops, seed=seed, epoch=epoch[0], indices=indices, num_classes=classes)
        sync()
        return out
    return call


def demo_config(quick: bool) -> dict:
    from pipeline.params import load_params

    p = load_params(DEMO_CONFIG)
    mp, tp = p.model, p.train
    if quick:
        return {"label": "small (quick)", "B": 2, "T": 4, "size": (32, 32), "tp": tp,
                "mp": mp.model_copy(update={"channels": 8, "blocks": 2, "hidden": 32})}
    size = 128 // p.frames.downsample
    return {"label": f"the demo's ({DEMO_CONFIG.name})", "B": tp.batch_size, "T": p.frames.T, "size": (size, size),
            "mp": mp, "tp": tp}


def run(args) -> Section:
    from pipeline.core.device import configure_torch
    from pipeline.model import loss_fn
    from pipeline.train.distributed import Context
    from pipeline.train.stage import prepare_model

    dev = torch.device("cpu")
    cfg = demo_config(args.quick)
    mp, tp = cfg["mp"], cfg["tp"]
    B, T, (H, W) = cfg["B"], cfg["T"], cfg["size"]
    sec = Section(f"7. Training augmentation vs the training step on CPU: {cfg['label']} batch {B}, T={T}, "
                  f"2x{H}x{W}")
    sec.inputs = {"batch": B, "T": T, "input": f"2x{H}x{W}", "channels": mp.channels, "blocks": mp.blocks,
                  "hidden": mp.hidden, "votes": mp.votes, "classes": CLASSES, "deterministic": tp.deterministic,
                  "torch_threads": torch.get_num_threads(), "input_values": "Poisson(0.3) counts, float32",
                  "long_chain": LONG, "repeats": args.repeats}
    before = (torch.are_deterministic_algorithms_enabled(),
              getattr(getattr(torch.utils, "deterministic", None), "fill_uninitialized_memory", None))
    configure_torch(0, tp.deterministic, dev)
    try:
        x, y, indices = batch(B, T, H, W, dev)
        model, net = prepare_model(mp, tp, (T, 2, H, W), CLASSES, Context(device=dev))
        net.train()
        opt = torch.optim.Adam(model.parameters(), lr=tp.lr)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y, CLASSES)
            loss.backward()
            opt.step()
            return loss.detach()

        names = {"nda": "ours nda chain (augment_events [{nda: {}}])", "step": "ours training step (fwd + bwd + Adam)",
                 "long": f"ours longer chain ({chain_name(LONG)})"}
        measured = measure_interleaved({names["nda"]: augment_call(x, y, indices, NDA, dev),
                                        names["step"]: step,
                                        names["long"]: augment_call(x, y, indices, LONG, dev)},
                                       args.repeats, warmup=2)
    finally:
        torch.use_deterministic_algorithms(before[0])
        if before[1] is not None:
            torch.utils.deterministic.fill_uninitialized_memory = before[1]
    step_s = measured[names["step"]][0].median
    pct = {k: 100 * measured[names[k]][0].median / step_s for k in ("nda", "long")}
    for k in ("nda", "step", "long"):
        t = measured[names[k]][0]
        extra = {"step_share_pct": pct[k]} if k in pct else {}
        note = f"{pct[k]:.1f} % of the step" if k in pct else f"{model.__class__.__name__}, {tp.loss} loss"
        sec.rows.append(row(names[k], t, items=B, unit="samples", note=note, **extra))
    for k in ("nda", "long"):
        frames, targets = measured[names[k]][1]
        ok = (frames.shape == x.shape and frames.dtype == x.dtype and targets.shape == (B, CLASSES)
              and torch.allclose(targets.sum(1), torch.ones(B)))
        changed = int((frames != x).flatten(1).any(1).sum())
        sec.checks[f"{k}: shape, dtype, targets sum to 1"] = ok
        sec.checks[f"{k}: samples changed"] = f"{changed} of {B}"
    sec.notes.append("the three run in turns, one call each per repeat; each augmentation call draws a new "
                     "epoch's parameters, as train_epoch does")
    sec.targets.append(Target("nda chain / training step (CPU, demo batch)", pct["nda"], TARGET_CPU_PCT, "<", "%",
                              "issue #25"))
    return sec
