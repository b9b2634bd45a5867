"""The PLIF layer's implementations (*backends*), in one table, and which one runs where.

Every backend gives the spikes of :func:`~pipeline.model.reference.plif_multistep` (the
reference) bit for bit in float32 and float64, and its gradients to float rounding:

============  ==========================================================================
``eager``     the reference itself: autograd through the time loop (any device)
``numba``     :mod:`.fused`: a hand-written forward and backward as Numba kernels, parallel
              over blocks of neurons (CPU only; half precision on CPU runs the same loops as
              torch operations)
``triton``    :mod:`.triton_plif`: a hand-written forward and backward as two Triton
              kernels, compiled once per dtype (CUDA; CPU tensors under ``TRITON_INTERPRET=1``);
              the state is float32 under bf16/fp16 autocast
``compile``   the reference loop through ``torch.compile`` (:mod:`.compiled`): one compilation
              per input shape, seconds each; only when asked for by name
============  ==========================================================================

``auto`` (:func:`resolve_backend`): ``numba`` on CPU; ``triton`` on CUDA when Triton imports
(it ships with every CUDA build of torch), else ``eager``; ``eager`` on any other device.
"""

from __future__ import annotations

import torch

from ..core.errors import ParamsError
from .compiled import plif_multistep_compiled
from .firing import PAPER, Firing
from .fused import plif_multistep_fused
from .reference import plif_multistep

try:
    from . import triton_plif
except ImportError:               # no Triton (a CPU-only torch without `pip install triton`)
    triton_plif = None


def _eager(x_seq, w, firing):
    if x_seq.shape[0] == 0 or x_seq[0].numel() == 0:
        return torch.zeros_like(x_seq)
    return plif_multistep(x_seq, w, firing)


def _triton(x_seq, w, firing):
    return triton_plif.plif_multistep_triton(x_seq, w, firing)


#: name -> implementation ``(x_seq, w, firing) -> spikes``
IMPLEMENTATIONS = {
    "eager": _eager,
    "numba": plif_multistep_fused,      # Numba kernels on CPU float32/float64, torch-ops loops for CPU half
    "compile": plif_multistep_compiled,
    "triton": _triton,
}
BACKENDS = tuple(IMPLEMENTATIONS)


def triton_available(device_type: str) -> bool:
    """Whether the Triton kernels can run on ``device_type`` here."""
    if triton_plif is None:
        return False
    return device_type == "cuda" or (device_type == "cpu" and triton_plif.INTERPRETED)


def device_type(device: torch.device | str) -> str:
    """``"cpu"``, ``"cuda"``, ...: what a backend is chosen by."""
    return torch.device(device).type


def resolve_backend(name: str, device: torch.device | str) -> str:
    """The backend (one of :data:`BACKENDS`) that ``name`` (a backend or ``"auto"``) runs on
    ``device``; a :class:`~pipeline.core.errors.ParamsError` (one line, with advice) when it cannot."""
    kind = device_type(device)
    if name == "auto":
        if kind == "cpu":
            return "numba"
        return "triton" if kind == "cuda" and triton_available(kind) else "eager"
    if name not in IMPLEMENTATIONS:
        raise ParamsError(f"model.backend must be 'auto' or one of {', '.join(BACKENDS)}, got {name!r}")
    if name == "numba" and kind != "cpu":
        raise ParamsError(f"model.backend: numba runs Numba kernels on the CPU only, not on {kind}; "
                          "use auto (triton on CUDA) or triton")
    if name == "triton" and not triton_available(kind):
        why = ("Triton does not import here (pip install triton)" if triton_plif is None else
               "it runs on CUDA, or on the CPU under TRITON_INTERPRET=1 (slow: for tests)")
        raise ParamsError(f"model.backend: triton cannot run on {kind}: {why}; use auto")
    return name


def check_backend_name(name: str) -> None:
    if name != "auto" and name not in IMPLEMENTATIONS:
        raise ParamsError(f"model.backend must be 'auto' or one of {', '.join(BACKENDS)}, got {name!r}")


def plif_forward(x_seq: torch.Tensor, w: torch.Tensor, firing: Firing = PAPER,
                 backend: str = "eager") -> torch.Tensor:
    """Spikes ``(T, ...)`` of a PLIF layer, as :func:`plif_multistep`, by ``backend`` (one of
    :data:`BACKENDS`, or ``"auto"`` for :func:`resolve_backend`'s choice on ``x_seq``'s device)."""
    run = IMPLEMENTATIONS[resolve_backend(backend, x_seq.device)]
    return run(x_seq, w, firing)
