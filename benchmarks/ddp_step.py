"""Per-batch time of the paper's DVS128 Gesture network on one or more processes.

``python -m benchmarks.ddp_step`` (one process) or
``torchrun --standalone --nproc_per_node 2 -m benchmarks.ddp_step`` (DDP, each rank half of the
global batch of 16): T = 20, 128x128, 5 x conv128, 2048 -> 512 -> 110, Adam. Prints each
rank's time per step and torch's thread count before and after it (the fused PLIF must not
change it: starting Numba's OpenMP pool used to raise it to every core).
"""

from __future__ import annotations

import argparse
import time

import torch

from pipeline import distributed
from pipeline.model import loss_fn
from pipeline.params import ModelParams, TrainParams
from pipeline.train import prepare_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16, help="global batch (default: 16, the paper's)")
    args = ap.parse_args()
    ctx = distributed.setup("cpu")
    torch.manual_seed(0)
    model, net = prepare_model(ModelParams(channels=128, blocks=5, hidden=512), TrainParams(),
                               (20, 2, 128, 128), 11, ctx)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    b = args.batch // ctx.world_size
    x = (torch.rand(b, 20, 2, 128, 128, generator=torch.Generator().manual_seed(ctx.rank)) < 0.05).float() * 2
    y = torch.randint(0, 11, (b,), generator=torch.Generator().manual_seed(ctx.rank))
    for i in range(args.steps):
        before = torch.get_num_threads()
        t = time.perf_counter()
        loss = loss_fn(net(x), y, 11)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"rank {ctx.rank}/{ctx.world_size} step {i}: {time.perf_counter() - t:.1f} s for {b} samples, "
              f"torch threads {before} -> {torch.get_num_threads()}", flush=True)
    distributed.cleanup()


if __name__ == "__main__":
    main()
