"""The PLIF neuron (Fang et al., ICCV 2021) as a layer: :class:`PLIF`.

The functional reference is :func:`~pipeline.model.eager_plif.plif_multistep`; the layer runs
it through one of the *backends* of :mod:`pipeline.model.backends` (``auto``: the fused Numba
kernels on CPU, the Triton kernels on CUDA), all with the reference's spikes and its gradients
to float rounding.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..core.plifbackends import check_backend_name
from .backends import BACKENDS, plif_forward, resolve_backend
from .eager_plif import plif_loop, plif_multistep
from .firing import PAPER, Firing

__all__ = ["BACKENDS", "PLIF", "Firing", "plif_forward", "plif_loop", "plif_multistep", "resolve_backend"]


class PLIF(nn.Module):
    """A layer of PLIF neurons (``learnable=False``: plain LIF with the fixed ``tau0``).

    ``firing``: threshold, surrogate and reset (:class:`~pipeline.model.firing.Firing`; the
    paper's by default). ``backend``: ``"auto"`` or one of :data:`BACKENDS`, resolved at each
    call on the input's device (:func:`resolve_backend`), so a model moved between devices follows.
    """

    def __init__(self, tau0: float = 2.0, learnable: bool = True, firing: Firing = PAPER,
                 backend: str = "auto"):
        super().__init__()
        if not tau0 > 1.0:
            raise ValueError(f"PLIF: tau0 must be > 1, got {tau0}")
        check_backend_name(backend)                      # fail early on a bad name
        self.backend = backend
        w = torch.tensor(-math.log(tau0 - 1.0))
        if learnable:
            self.w = nn.Parameter(w)
        else:
            self.register_buffer("w", w)
        if not isinstance(firing, Firing):
            raise TypeError(f"PLIF: firing must be a Firing, got {type(firing).__name__}")
        self.firing = firing

    @property
    def tau(self) -> float:
        return float(1.0 / torch.sigmoid(self.w.detach()))

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        # every backend: the spikes of plif_multistep (the reference), its gradients to float rounding
        return plif_forward(x_seq, self.w, self.firing, self.backend)

    def extra_repr(self) -> str:
        f = self.firing
        return (f"tau={self.tau:.4f}, learnable={isinstance(self.w, nn.Parameter)}, v_th={f.v_th}, "
                f"alpha={f.alpha}, detach_reset={f.detach_reset}, backend={self.backend}")
