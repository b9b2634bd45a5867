"""The paper's convolutional spiking networks, sized by parameters.

``blocks`` x [Conv3x3(channels, bias=False) -> BN -> neuron -> pool 2], Flatten,
Dropout, Linear(-> hidden, bias=False), neuron, Dropout, Linear(-> classes * votes,
bias=False), neuron; the output is each class's mean firing rate over T and its votes.
Stateless layers run on all T steps at once (T*B as the batch); neurons loop over T.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .neuron import PLIF


class SeqDropout(nn.Module):
    """Dropout on ``(T, B, ...)`` with one mask per sample shared by every time step."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        mask = torch.bernoulli(torch.full_like(x[:1], 1.0 - self.p)) / (1.0 - self.p)
        return x * mask


class SeqToBatch(nn.Module):
    """Apply a stateless module to ``(T, B, ...)`` by folding T into the batch."""

    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B = x.shape[:2]
        y = self.body(x.flatten(0, 1))
        return y.reshape(T, B, *y.shape[1:])


class SpikingConvNet(nn.Module):
    def __init__(self, in_channels: int = 2, input_size=(128, 128), channels: int = 128, blocks: int = 5,
                 hidden: int = 512, classes: int = 11, votes: int = 10, neuron: str = "plif",
                 pooling: str = "max", tau0: float = 2.0, dropout: float = 0.5):
        super().__init__()
        if neuron not in ("plif", "lif"):
            raise ValueError(f"neuron must be 'plif' or 'lif', got {neuron!r}")
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
        H, W = input_size
        if H >> blocks < 1 or W >> blocks < 1:
            raise ValueError(f"{blocks} pooling blocks shrink a {H}x{W} input to nothing")
        self.classes, self.votes = classes, votes

        def spiking():
            return PLIF(tau0, learnable=neuron == "plif")

        pool = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d
        layers: list[nn.Module] = []
        c = in_channels
        for _ in range(blocks):
            layers += [SeqToBatch(nn.Conv2d(c, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)),
                       spiking(), SeqToBatch(pool(2))]
            c = channels
            H, W = H // 2, W // 2
        layers += [SeqToBatch(nn.Flatten()), SeqDropout(dropout),
                   SeqToBatch(nn.Linear(c * H * W, hidden, bias=False)), spiking(), SeqDropout(dropout),
                   SeqToBatch(nn.Linear(hidden, classes * votes, bias=False)), spiking()]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: frames ``(B, T, C, H, W)`` -> firing rate per class ``(B, classes)``."""
        spikes = self.layers(x.transpose(0, 1))            # (T, B, classes * votes)
        rate = spikes.mean(0)
        return rate.reshape(rate.shape[0], self.classes, self.votes).mean(2)

    def taus(self) -> list[float]:
        return [m.tau for m in self.modules() if isinstance(m, PLIF)]


def build_model(mp, frame_shape, classes: int) -> SpikingConvNet:
    """The network that ``model`` params (:class:`pipeline.params.ModelParams`) describe, for
    frames of ``frame_shape`` ``(T, C, H, W)`` and ``classes`` classes."""
    _, C, H, W = frame_shape
    return SpikingConvNet(in_channels=C, input_size=(H, W), channels=mp.channels, blocks=mp.blocks,
                          hidden=mp.hidden, classes=classes, votes=mp.votes, neuron=mp.neuron,
                          pooling=mp.pooling, tau0=mp.tau0, dropout=mp.dropout)


def loss_fn(rate: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """MSE between the output firing rates and the one-hot labels."""
    return F.mse_loss(rate, F.one_hot(labels, classes).to(rate.dtype))
