"""The ``eager`` PLIF backend: the neuron (Fang et al., ICCV 2021) as plain autograd, the
reference every backend equals.

tau = 1 / sigmoid(w) with one w per layer; each step charges
``v <- v + (x - (v - v_reset)) * sigmoid(w)`` (v_reset = 0), fires ``s = [v >= v_th]`` and
hard-resets ``v <- v * (1 - s)``, the spike detached from the graph in the reset when
``detach_reset`` (the paper's choice). Gradients flow through the ATan surrogate. ``v_th``,
``alpha`` and ``detach_reset`` travel together as a :class:`~pipeline.model.firing.Firing`.
"""

from __future__ import annotations

import torch

from .firing import PAPER, Firing
from .surrogate import atan_spike


def plif_multistep(x_seq: torch.Tensor, w: torch.Tensor, firing: Firing = PAPER) -> torch.Tensor:
    """Spikes ``(T, ...)`` of a PLIF layer driven by ``x_seq`` ``(T, ...)``; v starts at 0."""
    return plif_loop(x_seq, torch.sigmoid(w), firing.v_th, firing.alpha, firing.detach_reset)


def plif_loop(x_seq: torch.Tensor, k: torch.Tensor, v_th: float, alpha: float, detach_reset: bool) -> torch.Tensor:
    """The reference time loop given ``k = sigmoid(w)``, the firing record unpacked: what the
    ``compile`` backend compiles (plain floats and a bool are constants to its tracer)."""
    v = torch.zeros_like(x_seq[0])
    spikes = []
    for x in x_seq:
        v = v + (x - v) * k
        s = atan_spike(v - v_th, alpha)
        v = v * (1.0 - (s.detach() if detach_reset else s))
        spikes.append(s)
    return torch.stack(spikes)
