"""The PLIF neuron (Fang et al., ICCV 2021): functional core and its nn.Module wrapper.

tau = 1 / sigmoid(w) with one w per layer; each step charges
``v <- v + (x - (v - v_reset)) * sigmoid(w)`` (v_reset = 0), fires ``s = [v >= v_th]`` and
hard-resets ``v <- v * (1 - s)`` with the spike detached from the graph in the reset.
:func:`plif_multistep` is the reference (plain autograd through the time loop). The layer runs
one of several implementations of it, the *backends* (:func:`plif_forward`), all with the
reference's spikes and its gradients to float rounding:

- ``eager``: :func:`plif_multistep` itself;
- ``numba``: :func:`~pipeline.model.fused.plif_multistep_fused`, a hand-written forward and
  backward: Numba kernels on CPU (float32/float64); elsewhere (CUDA, half precision) the
  fused module's torch-ops loops, still without autograd's per-step graph;
- ``compile``: the reference loop through ``torch.compile``
  (:func:`~pipeline.model.compiled.plif_multistep_compiled`; Triton kernels on CUDA, C++ on
  CPU; compiled once per input shape, on first use).

``auto`` (:func:`resolve_backend`) picks ``numba`` on CPU and ``compile`` on CUDA.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .compiled import plif_multistep_compiled
from .fused import plif_multistep_fused
from .surrogate import atan_spike

BACKENDS = ("eager", "numba", "compile")


def plif_multistep(x_seq: torch.Tensor, w: torch.Tensor, v_th: float = 1.0, alpha: float = 2.0,
                   detach_reset: bool = True) -> torch.Tensor:
    """Spikes ``(T, ...)`` of a PLIF layer driven by ``x_seq`` ``(T, ...)``; v starts at 0."""
    return plif_loop(x_seq, torch.sigmoid(w), v_th, alpha, detach_reset)


def plif_loop(x_seq: torch.Tensor, k: torch.Tensor, v_th: float = 1.0, alpha: float = 2.0,
              detach_reset: bool = True) -> torch.Tensor:
    """The reference time loop given ``k = sigmoid(w)`` (what the ``compile`` backend compiles)."""
    v = torch.zeros_like(x_seq[0])
    spikes = []
    for x in x_seq:
        v = v + (x - v) * k
        s = atan_spike(v - v_th, alpha)
        v = v * (1.0 - (s.detach() if detach_reset else s))
        spikes.append(s)
    return torch.stack(spikes)


def resolve_backend(name: str, device: torch.device | str) -> str:
    """The backend (one of :data:`BACKENDS`) that ``name`` (a backend or ``"auto"``) runs on ``device``.

    ``auto``: ``numba`` on CPU, ``compile`` on CUDA (and any other device). ``numba`` stays
    ``numba`` everywhere: off the CPU (or in half precision) it runs the fused module's
    torch-ops loops instead of the Numba kernels.
    """
    if name == "auto":
        return "numba" if torch.device(device).type == "cpu" else "compile"
    if name not in BACKENDS:
        raise ValueError(f"PLIF backend must be 'auto' or one of {BACKENDS}, got {name!r}")
    return name


def plif_forward(x_seq: torch.Tensor, w: torch.Tensor, v_th: float = 1.0, alpha: float = 2.0,
                 detach_reset: bool = True, backend: str = "eager") -> torch.Tensor:
    """Spikes ``(T, ...)`` of a PLIF layer, as :func:`plif_multistep`, by ``backend``
    (one of :data:`BACKENDS`, or ``"auto"`` for :func:`resolve_backend`'s choice on ``x_seq``'s device)."""
    backend = resolve_backend(backend, x_seq.device)
    if backend == "numba":
        # the Numba kernels where they apply (CPU float32/float64), the fused torch-ops loops elsewhere
        return plif_multistep_fused(x_seq, w, v_th, alpha, detach_reset)
    if backend == "compile":
        return plif_multistep_compiled(x_seq, w, v_th, alpha, detach_reset)
    if x_seq.shape[0] == 0 or x_seq[0].numel() == 0:
        return torch.zeros_like(x_seq)
    return plif_multistep(x_seq, w, v_th, alpha, detach_reset)


class PLIF(nn.Module):
    """A layer of PLIF neurons (``learnable=False``: plain LIF with the fixed ``tau0``).

    ``backend``: ``"auto"`` or one of :data:`BACKENDS`, resolved at each call on the input's
    device (:func:`resolve_backend`), so a model moved between devices follows.
    """

    def __init__(self, tau0: float = 2.0, learnable: bool = True, v_th: float = 1.0, alpha: float = 2.0,
                 detach_reset: bool = True, backend: str = "auto"):
        super().__init__()
        if not tau0 > 1.0:
            raise ValueError(f"PLIF: tau0 must be > 1, got {tau0}")
        resolve_backend(backend, "cpu")                 # fail early on a bad name
        self.backend = backend
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
        # every backend: the spikes of plif_multistep (the reference), its gradients to float rounding
        return plif_forward(x_seq, self.w, self.v_th, self.alpha, self.detach_reset, self.backend)

    def extra_repr(self) -> str:
        return (f"tau={self.tau:.4f}, learnable={isinstance(self.w, nn.Parameter)}, v_th={self.v_th}, "
                f"backend={self.backend}")
