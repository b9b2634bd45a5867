"""The training losses of ``train.loss``, on the network's outputs and soft targets.

* ``mse``, the paper's: MSE between the output firing rate ``(B, classes)`` and the target.
* ``ce``: cross-entropy of the firing rate (as logits) against the target distribution.
* ``tet``: TET (Deng et al., ICLR 2022), on each step's output ``(T, B, classes)``:
  ``(1 - lambda) mean_t CE(output_t, target) + lambda MSE(outputs, phi)``, phi = 1. This is
  ``TET_loss`` of brain-intelligence-lab/temporal_efficient_training, functions.py L39-51 at
  8217492: ``Loss_es / T`` (L44), ``MSELoss()(outputs, zeros_like(outputs).fill_(means))``
  (L46-48) and ``(1 - lamb) * Loss_es + lamb * Loss_mmd`` (L51), with ``means`` = 1.0 and
  ``lamb`` = 1e-3 the defaults of its main_training_parallel.py (L60-74). Their outputs are a
  non-spiking Linear layer's; here they are the output layer's spikes averaged over its votes,
  the same values the paper's firing rate averages over T.

Targets are ``(B, classes)`` rows summing to 1: one-hot, or mixed by ``cutmix``. With one-hot
targets ``mse`` is :func:`pipeline.model.loss_fn`, the loss scoring reports for every run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "TET_PHI", "per_step", "training_loss"]

LOSSES = ("mse", "ce", "tet")
#: TET's phi (``--means``, main_training_parallel.py L60-64)
TET_PHI = 1.0


def per_step(loss: str) -> bool:
    """Whether ``loss`` takes each step's output (the network called with ``per_step=True``)."""
    return loss == "tet"


def training_loss(loss: str, out: torch.Tensor, targets: torch.Tensor, tet_lambda: float = 1e-3) -> torch.Tensor:
    """``loss`` of ``out`` (the rate ``(B, K)``; for ``tet`` each step's ``(T, B, K)``)
    against ``targets`` ``(B, K)`` (float, rows summing to 1)."""
    if loss == "mse":
        return F.mse_loss(out, targets)
    if loss == "ce":
        return F.cross_entropy(out, targets)
    if loss == "tet":
        T = out.shape[0]
        ce = F.cross_entropy(out.flatten(0, 1), targets.expand(T, *targets.shape).flatten(0, 1))
        mse = F.mse_loss(out, torch.full_like(out, TET_PHI))
        return (1 - tet_lambda) * ce + tet_lambda * mse
    raise ValueError(f"unknown loss {loss!r}; losses: {', '.join(LOSSES)}")
