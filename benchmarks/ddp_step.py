"""Per-batch time of the paper's DVS128 Gesture network (or any params file's) on one or more processes.

``python -m benchmarks.ddp_step`` (one process) or
``torchrun --standalone --nproc_per_node 2 -m benchmarks.ddp_step`` (DDP, each rank half of the
global batch of 16): T = 20, 128x128, 5 x conv128, 2048 -> 512 -> 110, Adam. Prints each
rank's time per step and torch's thread count before and after it (the fused PLIF must not
change it: starting Numba's OpenMP pool used to raise it to every core).

``--config configs/cifar10-paper.yaml``: the network, T and BatchNorm mode of that params file
instead (random inputs of its shape: sparse event counts, or 0..255 images), and the time per
epoch that gives for its training set (the registry's sample count, less the held-out share).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pipeline.train import distributed
from pipeline.train.data import paper_split
from pipeline.datasets import get
from pipeline.params import load_params
from pipeline.cli.summary import image_norm
from pipeline.model import loss_fn
from pipeline.params import ModelParams, TrainParams
from pipeline.train.stage import prepare_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16, help="global batch (default: 16, the paper's)")
    ap.add_argument("--config", help="a params file whose network to time (default: the paper's DVS128 Gesture)")
    args = ap.parse_args()
    ctx = distributed.setup("cpu")
    torch.manual_seed(0)
    mp, shape, classes, image, n_train = ModelParams(channels=128, blocks=5, hidden=512), (20, 2, 128, 128), 11, None, 1176
    if args.config:
        p = load_params(args.config)
        spec = get(p.dataset)
        mp, shape, classes, image = p.model, p.frame_shape(), len(spec.classes), image_norm(p)
        n_train = (spec.expected or {}).get("train")
        if n_train and p.train.protocol == "B":
            n_train = len(paper_split(np.arange(n_train) % classes, p.train.val_fraction)[0])
    model, net = prepare_model(mp, TrainParams(), shape, classes, ctx, image)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    b = args.batch // ctx.world_size
    gen = torch.Generator().manual_seed(ctx.rank)
    T, C, H, W = shape
    if image is not None:
        x = torch.randint(0, 256, (b, C, H, W), generator=gen).float()
    else:
        x = (torch.rand(b, T, C, H, W, generator=gen) < 0.05).float() * 2
    y = torch.randint(0, classes, (b,), generator=gen)
    times = []
    for i in range(args.steps):
        before = torch.get_num_threads()
        t = time.perf_counter()
        loss = loss_fn(net(x), y, classes)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
        print(f"rank {ctx.rank}/{ctx.world_size} step {i}: {times[-1]:.2f} s for {b} samples, "
              f"torch threads {before} -> {torch.get_num_threads()}", flush=True)
    if ctx.main and n_train and len(times) > 1:
        step = float(np.median(times[1:]))            # the first step pays the one-off start-up
        batches = n_train // args.batch
        print(f"{args.config or 'DVS128 Gesture (paper)'}: {step:.2f} s per batch of {args.batch} -> "
              f"{batches} batches per epoch ({n_train} training samples): {step * batches / 3600:.1f} h per "
              f"training epoch on this machine", flush=True)
    distributed.cleanup()


if __name__ == "__main__":
    main()
