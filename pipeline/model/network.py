"""The paper's convolutional spiking networks, sized by parameters.

``blocks`` x [``convs`` x (Conv3x3(channels, bias=False) -> BN -> neuron), pool 2] (``blocks``
0: none, a fully-connected network, e.g. for a 1-D audio sensor), Flatten,
Dropout, Linear(-> hidden, bias=False), neuron, Dropout (``dropout_hidden``; 0: none),
Linear(-> classes * votes, bias=False), neuron; the output is each class's mean firing rate
over T and its votes. Stateless layers run on all T steps at once (T*B as the batch);
neurons loop over T, by the PLIF ``backend`` (:mod:`pipeline.model.backends`; ``auto``: numba on
CPU, triton on CUDA).

Event frames ``(B, T, C, H, W)`` enter step by step. A static image ``(B, C, H, W)`` (MNIST,
CIFAR-10: ``image_steps`` = T) is normalised, passed once through the first Conv + BN (the
paper's encoder), and that output drives the first neurons at every one of the T steps.

BatchNorm (``bn``): ``joint`` normalises with statistics over all T x B inputs of a batch;
``per_step`` (the paper's code, which calls the network once per time step) with each step's
own batch statistics, updating the running statistics T times per batch. In eval mode both
use the running statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import backends
from .neuron import PLIF

try:
    from . import triton_pool
except ImportError:               # no Triton: torch's max-pool everywhere
    triton_pool = None


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


def fold(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``(T, B, ...)`` as one batch ``(T*B, ...)`` or ``(B*T, ...)``, whichever its memory holds
    (a view, no copy), and whether that is batch-major (``B*T``: each sample's steps together,
    as frames arrive and as the Triton PLIF keeps them). Stateless layers do not mind the order."""
    T, B = x.shape[:2]
    if T > 1 and B > 1 and x.stride(1) == T * x.stride(0) and x.stride(0) > 0:
        return x.transpose(0, 1).flatten(0, 1), True
    return x.flatten(0, 1), False


def unfold(y: torch.Tensor, T: int, B: int, batch_major: bool) -> torch.Tensor:
    """The inverse of :func:`fold`: ``(T, B, ...)``, a view."""
    if batch_major:
        return y.reshape(B, T, *y.shape[1:]).transpose(0, 1)
    return y.reshape(T, B, *y.shape[1:])


class SeqToBatch(nn.Module):
    """Apply a stateless module to ``(T, B, ...)`` by folding T into the batch."""

    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B = x.shape[:2]
        y, batch_major = fold(x)
        return unfold(self.body(y), T, B, batch_major)


def per_step_batch_norm(y: torch.Tensor, bn: nn.BatchNorm2d, T: int) -> torch.Tensor:
    """Training-mode BatchNorm of ``y`` ``(B*T, C, H, W)`` (batch-major, contiguous) with each
    step's own batch statistics, as one call over ``(B, T*C, H, W)``; ``bn``'s running
    statistics then take the T momentum updates that T calls would make, in closed form:
    ``r <- (1-m)^T r + sum_t m (1-m)^(T-1-t) stat_t``."""
    BT, C = y.shape[:2]
    B = BT // T
    m = bn.momentum
    stats_mean = torch.zeros(T * C, dtype=bn.running_mean.dtype, device=y.device)
    stats_var = torch.ones(T * C, dtype=bn.running_var.dtype, device=y.device)
    # momentum 1: the buffers receive this batch's mean and unbiased variance per (step, channel)
    out = F.batch_norm(y.view(B, T * C, *y.shape[2:]), stats_mean, stats_var, bn.weight.repeat(T),
                       bn.bias.repeat(T), True, 1.0, bn.eps)
    with torch.no_grad():
        decay = (1.0 - m) ** torch.arange(T - 1, -1, -1, dtype=torch.float64, device=y.device)
        weights = (m * decay).to(stats_mean.dtype).reshape(T, 1)
        bn.running_mean.mul_((1.0 - m) ** T).add_((weights * stats_mean.view(T, C)).sum(0))
        bn.running_var.mul_((1.0 - m) ** T).add_((weights * stats_var.view(T, C)).sum(0))
        bn.num_batches_tracked.add_(T)
    return out.view(BT, C, *y.shape[2:])


class ConvBN(nn.Module):
    """Conv3x3 (no bias) then BatchNorm on ``(T, B, C, H, W)``: the convolution over all steps
    at once, the BatchNorm per step or jointly (see the module docstring)."""

    def __init__(self, c_in: int, c_out: int, bn: str = "joint"):
        super().__init__()
        if bn not in ("joint", "per_step"):
            raise ValueError(f"bn must be 'joint' or 'per_step', got {bn!r}")
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.per_step = bn == "per_step"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B = x.shape[:2]
        flat, batch_major = fold(x)
        y = self.conv(flat)
        if not (self.per_step and self.training):
            return unfold(self.bn(y), T, B, batch_major)
        if batch_major and y.is_contiguous() and type(self.bn) is nn.BatchNorm2d and self.bn.momentum is not None:
            return unfold(per_step_batch_norm(y, self.bn, T), T, B, True)
        # one call per step (a channels_last or time-major batch, or a synchronised BatchNorm)
        steps = unfold(y, T, B, batch_major)
        return torch.stack([self.bn(steps[t]) for t in range(T)])

    def extra_repr(self) -> str:
        return f"bn={'per_step' if self.per_step else 'joint'}"


class MaxPool2x2(nn.MaxPool2d):
    """``nn.MaxPool2d(2)``, on CUDA by the Triton kernels of :mod:`.triton_pool` (the same values
    and gradients, ties included; a byte of index per window, no zero-fill), elsewhere torch's."""

    def __init__(self):
        super().__init__(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if triton_pool is not None and backends.device_type(x.device) == "cuda":
            return triton_pool.max_pool_2x2(x)
        return super().forward(x)


class Normalize(nn.Module):
    """``(x / 255 - mean) / std`` per channel: raw 0..255 pixels to the paper's inputs."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(-1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(-1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x / 255.0 - self.mean) / self.std


class SpikingConvNet(nn.Module):
    def __init__(self, in_channels: int = 2, input_size=(128, 128), channels: int = 128, blocks: int = 5,
                 hidden: int = 512, classes: int = 11, votes: int = 10, neuron: str = "plif",
                 pooling: str = "max", tau0: float = 2.0, dropout: float = 0.5, dropout_hidden: float | None = None,
                 convs: int = 1, bn: str = "joint", image_steps: int | None = None, mean=None, std=None,
                 backend: str = "auto"):
        super().__init__()
        if neuron not in ("plif", "lif"):
            raise ValueError(f"neuron must be 'plif' or 'lif', got {neuron!r}")
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
        if convs < 1:
            raise ValueError(f"convs must be at least 1, got {convs}")
        if image_steps is not None and (image_steps < 1 or blocks < 1):
            raise ValueError(f"image inputs need image_steps >= 1 and blocks >= 1, got {image_steps}, {blocks}")
        H, W = input_size
        if H >> blocks < 1 or W >> blocks < 1:
            raise ValueError(f"{blocks} pooling blocks shrink a {H}x{W} input to nothing")
        self.classes, self.votes, self.image_steps = classes, votes, image_steps
        dropout_hidden = dropout if dropout_hidden is None else dropout_hidden

        def spiking():
            return PLIF(tau0, learnable=neuron == "plif", backend=backend)

        pool = MaxPool2x2 if pooling == "max" else (lambda: nn.AvgPool2d(2))
        self.normalize = self.encoder = None
        if image_steps is not None:
            self.normalize = Normalize(mean if mean is not None else [0.0] * in_channels,
                                       std if std is not None else [1.0] * in_channels)
            # the paper's encoder: the first Conv + BN, applied once to the image
            self.encoder = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                         nn.BatchNorm2d(channels))
        layers: list[nn.Module] = []
        c = in_channels
        for b in range(blocks):
            for k in range(convs):
                if not (b == 0 and k == 0 and self.encoder is not None):
                    layers.append(ConvBN(c, channels, bn))
                layers.append(spiking())
                c = channels
            layers.append(SeqToBatch(pool()))
            H, W = H // 2, W // 2
        layers += [SeqToBatch(nn.Flatten()), SeqDropout(dropout),
                   SeqToBatch(nn.Linear(c * H * W, hidden, bias=False)), spiking()]
        if dropout_hidden > 0:
            layers.append(SeqDropout(dropout_hidden))
        layers += [SeqToBatch(nn.Linear(hidden, classes * votes, bias=False)), spiking()]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, currents: bool = False):
        """``x``: frames ``(B, T, C, H, W)``, or images ``(B, C, H, W)`` of raw 0..255 values
        when the network repeats them (``image_steps``) -> firing rate per class ``(B, classes)``.
        With ``currents``, ``(rate, currents)``: ``currents`` ``(T, B, classes)`` is each step's
        input to the last spiking layer (its Linear layer's output) averaged over the class's
        votes, the non-spiking per-step logits that cross-entropy and TET take."""
        if self.encoder is not None:
            y = self.encoder(self.normalize(x))             # (B, channels, H, W), once
            seq = y.unsqueeze(0).expand(self.image_steps, *y.shape).contiguous()
        else:
            seq = x.transpose(0, 1)
        if currents:
            current = self.layers[:-1](seq)                  # (T, B, classes * votes)
            spikes = self.layers[-1](current)
        else:
            spikes = self.layers(seq)                        # (T, B, classes * votes)
        rate = spikes.mean(0)
        rate = rate.reshape(rate.shape[0], self.classes, self.votes).mean(2)
        if currents:
            return rate, current.reshape(*current.shape[:2], self.classes, self.votes).mean(3)
        return rate

    def taus(self) -> list[float]:
        return [m.tau for m in self.modules() if isinstance(m, PLIF)]


@dataclass(frozen=True)
class Layer:
    """One layer of a :class:`SpikingConvNet` as the code that reads a network sees it (its
    costs, its NIR form): ``role`` ``conv`` (``module`` the Conv2d, ``bn`` its BatchNorm),
    ``spiking``, ``pool``, ``flatten``, ``fc``, ``dropout`` or ``unknown``; ``name`` numbers
    each role in order (``conv_1``, ``spiking_1``, ``pool_1``, ``fc_1``, ...); ``index`` is the
    position in ``model.layers`` (None: the image encoder)."""

    index: int | None
    role: str
    name: str
    module: nn.Module
    bn: nn.BatchNorm2d | None = None


def walk(model: SpikingConvNet) -> Iterator[Layer]:
    """The layers of ``model`` in the order a sample passes them, the image encoder first; a
    stateless layer is the module that :class:`SeqToBatch` wraps."""
    counts: dict[str, int] = {}

    def layer(index, role, module, bn=None) -> Layer:
        counts[role] = counts.get(role, 0) + 1
        return Layer(index, role, f"{role}_{counts[role]}", module, bn)

    if model.encoder is not None:
        yield layer(None, "conv", model.encoder[0], model.encoder[1])
    for i, m in enumerate(model.layers):
        if isinstance(m, SeqToBatch) and len(m.body) == 1:
            m = m.body[0]
        if isinstance(m, ConvBN):
            yield layer(i, "conv", m.conv, m.bn)
        elif isinstance(m, PLIF):
            yield layer(i, "spiking", m)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            yield layer(i, "pool", m)
        elif isinstance(m, nn.Flatten):
            yield layer(i, "flatten", m)
        elif isinstance(m, nn.Linear):
            yield layer(i, "fc", m)
        elif isinstance(m, SeqDropout):
            yield layer(i, "dropout", m)
        else:
            yield layer(i, "unknown", m)


def build_model(mp, input_shape, classes: int, image: dict | None = None) -> SpikingConvNet:
    """The network that ``model`` params (:class:`pipeline.params.ModelParams`) describe, for
    inputs of ``input_shape`` ``(T, C, H, W)`` and ``classes`` classes. ``image``
    (``{"mean": [...], "std": [...]}``): the inputs are static images repeated T times."""
    T, C, H, W = input_shape
    extra = {}
    if image is not None:
        extra = dict(image_steps=T, mean=image["mean"], std=image["std"])
    return SpikingConvNet(in_channels=C, input_size=(H, W), channels=mp.channels, blocks=mp.blocks,
                          hidden=mp.hidden, classes=classes, votes=mp.votes, neuron=mp.neuron,
                          pooling=mp.pooling, tau0=mp.tau0, dropout=mp.dropout,
                          dropout_hidden=mp.dropout_hidden, convs=mp.convs, bn=mp.bn, backend=mp.backend,
                          **extra)


def loss_fn(rate: torch.Tensor, labels: torch.Tensor, classes: int) -> torch.Tensor:
    """MSE between the output firing rates and the one-hot labels."""
    return F.mse_loss(rate, F.one_hot(labels, classes).to(rate.dtype))
