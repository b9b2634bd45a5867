"""Worker of tests/train/test_ddp.py: a few training steps of the train stage's own pieces (one
process, or one rank of ``torchrun``); rank 0 saves every step's averaged gradients and weights.

    python tests/helpers/ddp_steps.py TRAIN_H5 OUT STEPS [SYNC_BN]           (one process)
    torchrun --nproc_per_node 2 tests/helpers/ddp_steps.py TRAIN_H5 OUT STEPS [SYNC_BN]
"""

import sys

import numpy as np
import torch

from pipeline.train import distributed
from pipeline.train.data import H5Frames
from pipeline.model import loss_fn
from pipeline.core.device import configure_torch
from pipeline.train.stage import prepare_model
from pipeline.train.placement import train_loader
from tinyframes import CLASSES, MODEL, TRAIN


def main(h5: str, out: str, steps: int, sync_bn: bool = True) -> None:
    tp = TRAIN.model_copy(update={"device": "cpu", "sync_bn": sync_bn})
    ctx = distributed.setup(tp.device)
    configure_torch(tp.threads, tp.deterministic, ctx.device)
    data = H5Frames(h5)
    model, net = prepare_model(MODEL, tp, data.frame_shape, len(CLASSES), ctx)
    opt = torch.optim.Adam(model.parameters(), lr=tp.lr)
    loader, sampler, _ = train_loader(data, np.arange(len(data)), tp, ctx)
    sampler.set_epoch(1)
    record = []
    net.train()
    for _, (x, y) in zip(range(steps), loader):
        loss = loss_fn(net(x.float()), y, len(CLASSES))   # the loader gives narrow integers
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
        opt.step()
        record.append({"grads": grads, "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
                       "batch": len(y) * ctx.world_size})
    if ctx.main:
        torch.save({"world_size": ctx.world_size, "steps": record}, out)
    distributed.cleanup()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:5] != ["false"])
