"""The training losses of ``train.loss``, on the network's outputs and soft targets.

* ``mse``, the paper's: MSE between the output firing rate ``(B, classes)`` and the target.
* ``ce``: cross-entropy of the mean over T of the per-step logits against the target.
* ``tet``: TET (Deng et al., ICLR 2022) on the per-step logits ``(T, B, classes)``:
  ``(1 - lambda) mean_t CE(logits_t, target) + lambda MSE(logits, phi)``, phi = 1. This is
  ``TET_loss`` of brain-intelligence-lab/temporal_efficient_training, functions.py L39-51 at
  8217492: ``Loss_es / T`` (L44), ``MSELoss()(outputs, zeros_like(outputs).fill_(means))``
  (L46-48) and ``(1 - lamb) * Loss_es + lamb * Loss_mmd`` (L51), with ``means`` = 1.0 and
  ``lamb`` = 1e-3 the defaults of its main_training_parallel.py (L60-74).

The per-step logits are TET's: the output of a non-spiking last Linear layer at each step. Here
that is the last spiking layer's input (its Linear layer's output) averaged over each class's
votes (``SpikingConvNet(x, currents=True)``). Cross-entropy of the spikes themselves (0..1 per
step) learns poorly: on the demo with 2 training users, 30 epochs, seeds 1-3, TET on the spikes
averaged over the votes reached 20-25 % test accuracy with NDA and about 34 % without, on their
sum over the votes 37.5 %, on these logits 42-52 % (MSE on the rate: 53-61 %). Predictions
and scoring stay the firing rate's. The last spiking layer, which these losses skip, gets no
gradient: its tau keeps ``model.tau0``.

Targets are ``(B, classes)`` rows summing to 1: one-hot, or mixed by ``cutmix``. With one-hot
targets ``mse`` is :func:`pipeline.model.loss_fn`, the loss scoring reports for every run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "TET_PHI", "training_loss", "uses_logits"]

LOSSES = ("mse", "ce", "tet")
#: TET's phi (``--means``, main_training_parallel.py L60-64)
TET_PHI = 1.0


def uses_logits(loss: str) -> bool:
    """Whether ``loss`` takes the per-step logits (the network called with ``currents=True``)."""
    return loss != "mse"


def training_loss(loss: str, rate: torch.Tensor, logits: torch.Tensor | None, targets: torch.Tensor,
                  tet_lambda: float = 1e-3) -> torch.Tensor:
    """``loss`` against ``targets`` ``(B, K)`` (float, rows summing to 1): ``mse`` of the firing
    ``rate`` ``(B, K)``; ``ce`` and ``tet`` of the per-step ``logits`` ``(T, B, K)``, plus
    ``0 * rate.sum()``, which changes no value or gradient but keeps the last spiking layer in
    the graph (DDP expects every parameter to receive a gradient, zero or not)."""
    if loss == "mse":
        return F.mse_loss(rate, targets)
    if loss == "ce":
        value = F.cross_entropy(logits.mean(0), targets)
    elif loss == "tet":
        T = logits.shape[0]
        ce = F.cross_entropy(logits.flatten(0, 1), targets.expand(T, *targets.shape).flatten(0, 1))
        value = (1 - tet_lambda) * ce + tet_lambda * F.mse_loss(logits, torch.full_like(logits, TET_PHI))
    else:
        raise ValueError(f"unknown loss {loss!r}; losses: {', '.join(LOSSES)}")
    return value + 0.0 * rate.sum()
