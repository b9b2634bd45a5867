"""Surrogate gradients for the spike non-linearity."""

import math

import torch


class ATanSpike(torch.autograd.Function):
    """Heaviside forward; ATan surrogate backward: alpha / (2 (1 + (pi/2 alpha x)^2))."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (x,) = ctx.saved_tensors
        a = ctx.alpha
        return grad_out * (a / (2.0 * (1.0 + (math.pi / 2.0 * a * x) ** 2))), None


def atan_spike(x: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    return ATanSpike.apply(x, alpha)
