"""How a network is run on frames, for training, scoring and the evaluate stage alike: batches
cast on the device, the autocast dtype, and scoring (accuracy and mean loss over a split, or
one prediction per sample).

:func:`on_device` is the one place where stored frames become the network's input, for the
training batches (streamed or from :class:`~pipeline.train.data.DeviceFrames`), the scored
splits and the evaluate stage: a cast to float32, and for Bina-Rep files (``scale``, the file's
:func:`~pipeline.core.frameparams.input_scale`) the division of the codes by ``2**n_bits - 1``."""

from __future__ import annotations

from contextlib import nullcontext

import torch

from ..params import ModelParams
from ..model import loss_fn
from . import distributed
from .distributed import Context

__all__ = ["amp_dtype", "autocast", "channels_last", "on_device", "outputs", "predict", "score_batches"]


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype of ``train.amp``: ``auto`` is bf16 on CUDA that has it, else fp16 on
    CUDA, off on CPU."""
    if amp == "auto":
        amp = "off" if device.type != "cuda" else "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def channels_last(choice, mp: ModelParams, device: torch.device) -> bool:
    """``train.channels_last``; ``auto`` is on for CUDA with joint BatchNorm only. Per-step
    BatchNorm runs as one call over a batch-major NCHW batch (``network.per_step_batch_norm``)
    and the max-pool's Triton kernels take NCHW: on an H200 the paper's step took 139 ms with
    channels_last and 45 ms without (python -m benchmarks --device cuda, section 6b)."""
    if choice != "auto":
        return choice
    return device.type == "cuda" and mp.bn == "joint"


def on_device(x: torch.Tensor, y: torch.Tensor, device: torch.device,
              scale: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch as the network takes it: frames copied at their narrow dtype, cast to float32 on
    the device (the same floats as a cast on the host), labels beside them.

    ``scale`` (Bina-Rep: ``2**n_bits - 1``; None: nothing) divides the cast frames, in float32:
    ``code / scale`` correctly rounded, the float32 numbers Tonic's ``ToBinaRep`` gives (numpy's
    float32 division), bit for bit. The divisor is a tensor made on the device, not a Python
    number: CUDA divides by a host scalar as a multiplication by its reciprocal, which can miss
    the quotient by an ulp (in float32 ``3/7`` is not ``3 * (1/7)``, nor ``3/255`` ``3 * (1/255)``)."""
    x = x.to(device, non_blocking=True).float()
    if scale is not None:
        x = x / torch.full((), scale, dtype=torch.float32, device=x.device)
    return x, y.to(device, non_blocking=True)


def outputs(model, batches, device: torch.device, dtype: torch.dtype | None, scale: float | None = None):
    """``(labels, rates)`` of each batch, ``model`` in eval mode (from this call on) under
    ``dtype``'s autocast, without gradients; rates in float32. ``scale``: :func:`on_device`'s."""
    model.eval()
    return _outputs(model, batches, device, dtype, scale)


@torch.no_grad()
def _outputs(model, batches, device, dtype, scale):
    for x, y in batches:
        x, y = on_device(x, y, device, scale)
        with autocast(device, dtype):
            rate = model(x)
        yield y, rate.float()


def score_batches(model, batches, n: int, ctx: Context, dtype, scale: float | None = None):
    """``(accuracy, mean loss)`` of ``model`` over ``batches`` (this rank's ``n`` samples); the
    sums are all-reduced over the ranks (None, None when no rank has a sample)."""
    loss_sum = correct = torch.zeros((), dtype=torch.float64, device=ctx.device)
    for y, rate in outputs(model, batches, ctx.device, dtype, scale):
        loss_sum = loss_sum + loss_fn(rate, y, model.classes) * len(y)
        correct = correct + (rate.argmax(1) == y).sum()
    loss_sum, correct, n = distributed.all_sum([loss_sum.item(), correct.item(), n], ctx)
    return (correct / n, loss_sum / n) if n else (None, None)


def predict(model, batches, device: torch.device, dtype,
            scale: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(labels, predicted classes)`` of every sample of ``batches``, in order, on the CPU."""
    labels, preds = [torch.zeros(0, dtype=torch.int64)], [torch.zeros(0, dtype=torch.int64)]
    for y, rate in outputs(model, batches, device, dtype, scale):
        labels.append(y.cpu())
        preds.append(rate.argmax(1).cpu())
    return torch.cat(labels), torch.cat(preds)
