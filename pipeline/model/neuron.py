"""The PLIF neuron (Fang et al., ICCV 2021): functional core and its nn.Module wrapper.

tau = 1 / sigmoid(w) with one w per layer; each step charges
``v <- v + (x - (v - v_reset)) * sigmoid(w)`` (v_reset = 0), fires ``s = [v >= v_th]`` and
hard-resets ``v <- v * (1 - s)`` with the spike detached from the graph in the reset.
:func:`plif_multistep` is the reference (plain autograd through the time loop); the layer
runs :func:`~pipeline.model.fused.plif_multistep_fused`, which gives the same numbers.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .fused import plif_multistep_fused
from .surrogate import atan_spike


def plif_multistep(x_seq: torch.Tensor, w: torch.Tensor, v_th: float = 1.0, alpha: float = 2.0,
                   detach_reset: bool = True) -> torch.Tensor:
    """Spikes ``(T, ...)`` of a PLIF layer driven by ``x_seq`` ``(T, ...)``; v starts at 0."""
    k = torch.sigmoid(w)
    v = torch.zeros_like(x_seq[0])
    spikes = []
    for x in x_seq:
        v = v + (x - v) * k
        s = atan_spike(v - v_th, alpha)
        v = v * (1.0 - (s.detach() if detach_reset else s))
        spikes.append(s)
    return torch.stack(spikes)


class PLIF(nn.Module):
    """A layer of PLIF neurons (``learnable=False``: plain LIF with the fixed ``tau0``)."""

    def __init__(self, tau0: float = 2.0, learnable: bool = True, v_th: float = 1.0, alpha: float = 2.0,
                 detach_reset: bool = True):
        super().__init__()
        if not tau0 > 1.0:
            raise ValueError(f"PLIF: tau0 must be > 1, got {tau0}")
        w = torch.tensor(-math.log(tau0 - 1.0))
        if learnable:
            self.w = nn.Parameter(w)
        else:
            self.register_buffer("w", w)
        self.v_th, self.alpha, self.detach_reset = v_th, alpha, detach_reset

    @property
    def tau(self) -> float:
        return float(1.0 / torch.sigmoid(self.w.detach()))

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        # the fused loops: same spikes and gradients as plif_multistep (the reference), faster
        return plif_multistep_fused(x_seq, self.w, self.v_th, self.alpha, self.detach_reset)

    def extra_repr(self) -> str:
        return f"tau={self.tau:.4f}, learnable={isinstance(self.w, nn.Parameter)}, v_th={self.v_th}"
