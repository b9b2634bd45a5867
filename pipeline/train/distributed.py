"""One process or many: what `train` needs to run under ``torchrun`` (PyTorch DDP).

torchrun starts one process per rank and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (and
``MASTER_ADDR``/``MASTER_PORT``); without them the same code runs as a single process and
no process group is created. Backend: nccl on CUDA, gloo on CPU.

Several machines (``torchrun --nnodes N --rdzv-backend c10d ...`` on each) are the same code:
sharding, BatchNorm statistics, epoch selection and checkpoints follow the global rank, and
each machine reads the frames from its own folder. Which machine hosts global rank 0 is the
rendezvous' choice (c10d sorts the machines by address), so the code never assumes it.

BatchNorm across ranks: ``nn.SyncBatchNorm`` only runs on GPUs (torch 2.13 raises
"SyncBatchNorm expected input tensor to be on GPU" for CPU tensors), so on CPU we use
:class:`GlobalBatchNorm2d`, a BatchNorm2d whose training statistics are summed over all ranks
with autograd-aware all-reduces. Either way the statistics are those of the global batch,
so N processes compute what one process computes on the whole batch.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..core.device import pick_device


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """Only the main rank writes files and prints."""
        return self.rank == 0


def setup(device: str = "auto") -> Context:
    """Join the process group that torchrun describes in the environment, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo",
                                rank=rank, world_size=world)
    return Context(rank, world, local_rank, dev)


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def relaunch_under_torchrun(nproc: int) -> None:
    """Replace this process by ``torchrun --standalone --nproc_per_node nproc`` of the same
    script, unless it is already a torchrun worker or ``nproc`` is 1."""
    if nproc <= 1 or "RANK" in os.environ:
        return
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={nproc}", sys.argv[0], *sys.argv[1:]]
    sys.stdout.flush()
    os.execv(sys.executable, argv)


def all_sum(values: list[float], ctx: Context) -> list[float]:
    """Element-wise sum over ranks (float64, so counts stay exact)."""
    t = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    if ctx.distributed:
        dist.all_reduce(t)
    return t.tolist()


def gather_objects(obj, ctx: Context) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank."""
    if not ctx.distributed:
        return [obj]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj, ctx: Context, src: int = 0):
    """Rank ``src``'s ``obj`` on every rank."""
    if not ctx.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()


def broadcast_buffers(model: nn.Module, ctx: Context) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics) before evaluating."""
    if ctx.distributed:
        for b in model.buffers():
            dist.broadcast(b, 0)


class _AllSum(torch.autograd.Function):
    """``y = sum over ranks of x`` on every rank; the gradient of x is the sum over ranks of
    the gradients of y (each rank's loss depends on every rank's x)."""

    @staticmethod
    def forward(ctx, x):
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        g = grad.clone()
        dist.all_reduce(g)
        return g


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d with statistics over the batches of all ranks (any device, any backend).

    Two passes, each one all-reduce of ``channels + 1`` numbers: the mean, then the biased
    variance about it. Outside training or a process group it is plain BatchNorm2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()
                and dist.get_world_size() > 1):
            return super().forward(x)
        self._check_input_dim(x)
        dims, shape = [0, 2, 3], (1, -1, 1, 1)
        xf = x.float()                            # statistics in float32, also under autocast
        count = torch.full((1,), x.numel() / x.shape[1], dtype=xf.dtype, device=x.device)
        s = _AllSum.apply(torch.cat([xf.sum(dims), count]))
        n = s[-1]
        mean = s[:-1] / n
        xc = xf - mean.view(shape)
        var = _AllSum.apply((xc * xc).sum(dims)) / n
        y = xc * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        y = y.to(x.dtype)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                f = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - f).add_(mean.detach(), alpha=f)
                self.running_var.mul_(1 - f).add_(var.detach() * (n / (n - 1)), alpha=f)
        return y


def convert_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm2d of ``module`` synchronised across ranks (weights and buffers kept)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if type(module) is nn.BatchNorm2d:
        new = GlobalBatchNorm2d(module.num_features, module.eps, module.momentum, module.affine,
                                module.track_running_stats)
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        return new
    for name, child in module.named_children():
        module.add_module(name, convert_batchnorm(child, device))
    return module
