"""The PLIF layer's implementations (*backends*), built from the table of
:mod:`pipeline.core.plifbackends`, and which one runs where.

============  ==========================================================================
``eager``     :mod:`.eager_plif`: the reference itself, autograd through the time loop (any device)
``numba``     :mod:`.numba_plif`: a hand-written forward and backward as Numba kernels, parallel
              over blocks of neurons (CPU only; half precision on CPU runs the same loops as
              torch operations)
``compile``   :mod:`.compile_plif`: the reference loop through ``torch.compile``, one compilation
              per input shape, seconds each; only when asked for by name
``triton``    :mod:`.triton_plif`: a hand-written forward and backward as two Triton kernels,
              compiled once per dtype (CUDA; CPU tensors under ``TRITON_INTERPRET=1``); the
              state is float32 under bf16/fp16 autocast
============  ==========================================================================

``auto`` (:func:`resolve_backend`): ``numba`` on CPU; ``triton`` on CUDA when Triton imports
(it ships with every CUDA build of torch), else ``eager``; ``eager`` on any other device
(:data:`pipeline.core.plifbackends.AUTO`).
"""

from __future__ import annotations

import torch

from ..core import plifbackends as table
from ..core.errors import ParamsError
from ..core.plifbackends import BACKEND_NAMES as BACKENDS
from .firing import PAPER, Firing

# every module the table names, imported by name (not through importlib) so that the stages'
# deps in dvc.yaml, derived from the imports, list them; a module of a backend whose row says
# it may not import (an optional package) is None where it does not
from . import compile_plif, eager_plif, numba_plif
try:
    from . import triton_plif
except ImportError:               # no Triton (a CPU-only torch without `pip install triton`)
    triton_plif = None

__all__ = ["BACKENDS", "IMPLEMENTATIONS", "MODULES", "device_type", "plif_forward", "resolve_backend", "runs_on"]

_IMPORTED = {m.__name__.rpartition(".")[2]: m for m in (compile_plif, eager_plif, numba_plif, triton_plif)
             if m is not None}


def _module(b: table.Backend):
    """``pipeline.model.<b.module>``, imported above, or None where its optional package does not
    import; an ImportError for a module the table names that is not imported here."""
    module = _IMPORTED.get(b.module)
    if module is None and not b.unimportable:
        raise ImportError(f"pipeline.model.{b.module} (the {b.name} backend) is not imported by {__name__}")
    return module


def _missing(b: table.Backend):
    def run(x_seq, w, firing):
        raise ParamsError("model.backend: " + b.unimportable.format(device=x_seq.device.type))
    return run


#: name -> its module (None: an optional package, e.g. Triton, does not import here)
MODULES = {b.name: _module(b) for b in table.BACKENDS}
#: name -> implementation ``(x_seq, w, firing) -> spikes``
IMPLEMENTATIONS = {b.name: getattr(MODULES[b.name], b.function) if MODULES[b.name] else _missing(b)
                   for b in table.BACKENDS}


def device_type(device: torch.device | str) -> str:
    """``"cpu"``, ``"cuda"``, ...: what a backend is chosen by."""
    return torch.device(device).type


def _refusal(name: str, kind: str) -> str | None:
    """Why ``name`` cannot run on device type ``kind`` here (None: it can); an unknown name: the
    table's :class:`~pipeline.core.errors.ParamsError`."""
    module = MODULES[table.backend(name).name]
    return table.refusal(name, kind, imported=module is not None,
                         interpreted=bool(getattr(module, "INTERPRETED", False)))


def runs_on(name: str, device: torch.device | str) -> bool:
    """Whether backend ``name`` can run on ``device`` here."""
    return _refusal(name, device_type(device)) is None


def resolve_backend(name: str, device: torch.device | str) -> str:
    """The backend (one of :data:`BACKENDS`) that ``name`` (a backend or ``"auto"``) runs on
    ``device``; a :class:`~pipeline.core.errors.ParamsError` (one line, with advice) when it cannot."""
    kind = device_type(device)
    if name == "auto":
        return next(b for b in table.auto_candidates(kind) if _refusal(b, kind) is None)
    why = _refusal(name, kind)
    if why is not None:
        raise ParamsError(f"model.backend: {why}")
    return name


def plif_forward(x_seq: torch.Tensor, w: torch.Tensor, firing: Firing = PAPER,
                 backend: str = "eager") -> torch.Tensor:
    """Spikes ``(T, ...)`` of a PLIF layer, as :func:`~pipeline.model.eager_plif.plif_multistep`, by
    ``backend`` (one of :data:`BACKENDS`, or ``"auto"`` for :func:`resolve_backend`'s choice on
    ``x_seq``'s device)."""
    run = IMPLEMENTATIONS[resolve_backend(backend, x_seq.device)]
    if x_seq.shape[0] == 0 or x_seq[0].numel() == 0:
        return torch.zeros_like(x_seq)
    return run(x_seq, w, firing)
