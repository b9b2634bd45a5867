"""The ``compile`` PLIF backend: the reference loop through ``torch.compile`` (Inductor): fused
Triton kernels on CUDA, C++ loops on CPU, and the backward derived by AOTAutograd from the same
graph.

What is traced: the time loop of :func:`pipeline.model.eager_plif.plif_multistep` with the
ATan surrogate (:class:`~pipeline.model.surrogate.ATanSpike`, which Dynamo traces whole:
``fullgraph=True`` makes any graph break an error), unrolled over T. ``k = sigmoid(w)`` is
computed outside, in eager mode, so the compiled loop sees the very ``k`` the reference
sees (Inductor's own sigmoid may round differently, and one ulp of ``k`` can move a spike).

Compilation is lazy (the first call), once per process, with ``dynamic=False``: one graph
per input shape (and dtype, device, grad mode, ``v_th``, ``alpha``, ``detach_reset``), e.g.
one per layer plus one more for a last partial batch, each compiled once and reused every
epoch after. Dynamo's default of 8 graphs per function would leave a network with more
layer shapes than that running eagerly, so the limit is raised to
:data:`RECOMPILE_LIMIT` around these calls only. The seconds the first call of each new
shape took (the forward's compilation) and its first backward (compiled lazily) are
printed once to stderr and kept in :data:`COMPILE_SECONDS`.
"""

from __future__ import annotations

import sys
import time

import torch

from .firing import PAPER, Firing
from .eager_plif import plif_loop

RECOMPILE_LIMIT = 256           # graphs of the compiled loop per process, at most
COMPILE_SECONDS: dict[tuple, dict[str, float]] = {}   # key (see _key) -> {"forward": s, "backward": s}

_compiled = None                # the torch.compile'd loop, made on first use


def compiled_loop():
    """The compiled :func:`~pipeline.model.eager_plif.plif_loop` (compiled on the first call of each shape)."""
    global _compiled
    if _compiled is None:
        _compiled = torch.compile(plif_loop, dynamic=False, fullgraph=True)
    return _compiled


def _key(x_seq: torch.Tensor, k: torch.Tensor, v_th: float, alpha: float, detach_reset: bool) -> tuple:
    return (tuple(x_seq.shape), x_seq.dtype, x_seq.device, k.dtype, x_seq.requires_grad, k.requires_grad,
            torch.is_grad_enabled(), v_th, alpha, detach_reset)


def _report(key: tuple, what: str, seconds: float) -> None:
    COMPILE_SECONDS.setdefault(key, {})[what] = seconds
    shape, dtype, device = key[:3]
    print(f"plif compile: {what} for {tuple(shape)} {str(dtype).removeprefix('torch.')} on {device}: "
          f"{seconds:.1f} s (first call, compilation included)", file=sys.stderr, flush=True)


def _time_first_backward(s: torch.Tensor, key: tuple) -> None:
    """Print how long the first backward through ``s``'s compiled node takes (AOTAutograd
    compiles the backward graph on its first run)."""
    node = s.grad_fn
    if node is None:
        return
    start = []
    node.register_prehook(lambda grad_outputs: start.append(time.perf_counter()) and None)
    node.register_hook(lambda grad_inputs, grad_outputs:
                       _report(key, "backward", time.perf_counter() - start[0]) if start else None)


def plif_multistep_compiled(x_seq: torch.Tensor, w: torch.Tensor, firing: Firing = PAPER) -> torch.Tensor:
    """Spikes ``(T, ...)`` of a PLIF layer, as :func:`~pipeline.model.eager_plif.plif_multistep`,
    through ``torch.compile``."""
    if x_seq.shape[0] == 0 or x_seq[0].numel() == 0:
        return torch.zeros_like(x_seq)
    v_th, alpha, detach_reset = firing.v_th, firing.alpha, firing.detach_reset
    k = torch.sigmoid(w)
    fn = compiled_loop()
    key = _key(x_seq, k, v_th, alpha, detach_reset)
    with torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT):
        if key in COMPILE_SECONDS:
            return fn(x_seq, k, v_th, alpha, detach_reset)
        start = time.perf_counter()
        s = fn(x_seq, k, v_th, alpha, detach_reset)
    _report(key, "forward", time.perf_counter() - start)
    if s.requires_grad:
        _time_first_backward(s, key)
    return s
