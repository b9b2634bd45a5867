"""What a spiking network costs to run: each spiking layer's firing rate, the synaptic
operations each weight layer performs, and an energy estimate against the same network run as
an ANN (:class:`CostMeter`, opened around any forward passes of a :class:`SpikingConvNet`).

The conventions, as SNN papers count:

- **Firing rate** of a spiking layer: its spikes per neuron per time step.
- **Accumulates (synaptic operations)**: each spike is counted once per synapse it drives, in
  the weight layer (convolution or linear) it reaches. Through a max-pool, the spikes of one
  window reach that layer as one; through an average pool each still drives its synapses (the
  pool's 1/k² folds into the weights), so an average-pooled input counts k² times its value.
  Event frames (counts) into the first layer are accumulates too: each event once per synapse.
- **Multiply-accumulates**: the encoder of a static image (the first Conv, run once on the
  image) is dense, ``C_out · H_out · W_out · C_in · kh · kw`` per sample. Real-valued frames
  (``CostMeter(model, real_input=True)``: a voxel grid's signed values, Bina-Rep's values in
  [0, 1]) are not events to accumulate: the first layer multiplies each input by its weights,
  so it is counted as MACs over the **non-zero** inputs, each once per synapse it drives
  (its fan-out, as for events): ``sum over inputs of [x != 0] · fan-out``, per time step; a
  zero input is skipped as an absent event is. BatchNorm folds into the convolution before it
  and costs nothing; membrane updates are not counted.
- **The ANN**: the same layers run once per sample, every weight layer dense.
- **Energy**: 0.9 pJ per accumulate and 4.6 pJ per multiply-accumulate, 32-bit float at 45 nm
  (Horowitz, ISSCC 2014).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .network import walk

__all__ = ["PJ_PER_AC", "PJ_PER_MAC", "CostMeter", "accumulates", "dense_macs", "sparse_macs"]

#: energy per operation, 32-bit float, 45 nm (Horowitz, ISSCC 2014), in picojoules
PJ_PER_AC = 0.9
PJ_PER_MAC = 4.6


def accumulates(layer: nn.Module, x: torch.Tensor) -> float:
    """The accumulates ``layer`` (a Conv2d or Linear) performs on ``x`` when each unit of ``x``
    is an event or spike counted once per synapse it drives: ``sum(x * fan-out)``, where a
    convolution's fan-out at an input position is ``C_out`` times the output positions whose
    window covers it (fewer at the borders)."""
    x = x.detach().to(torch.float64)
    if isinstance(layer, nn.Linear):
        return float(layer.out_features * x.sum())
    if isinstance(layer, nn.Conv2d):
        _check_conv(layer)
        ones = torch.ones(1, 1, *layer.kernel_size, dtype=torch.float64, device=x.device)
        covered = F.conv2d(x.sum(1, keepdim=True), ones, stride=layer.stride, padding=layer.padding,
                           dilation=layer.dilation)
        return float(layer.out_channels * covered.sum())
    raise TypeError(f"accumulates: {type(layer).__name__} is not a Conv2d or a Linear")


def sparse_macs(layer: nn.Module, x: torch.Tensor) -> float:
    """The multiply-accumulates ``layer`` (a Conv2d or Linear) performs on real-valued ``x``
    when zero inputs are skipped: each non-zero unit once per synapse it drives (its fan-out,
    as :func:`accumulates` counts it), whatever its value or sign."""
    return accumulates(layer, x.detach() != 0)


def dense_macs(layer: nn.Module, out: torch.Tensor) -> int:
    """Multiply-accumulates of one dense pass of ``layer`` for one input of a batch whose
    output is ``out``."""
    if isinstance(layer, nn.Linear):
        return layer.in_features * layer.out_features
    _check_conv(layer)
    kh, kw = layer.kernel_size
    return math.prod(out.shape[1:]) * layer.in_channels * kh * kw


def _check_conv(layer: nn.Conv2d) -> None:
    if layer.groups != 1 or layer.padding_mode != "zeros" or isinstance(layer.padding, str):
        raise ValueError(f"costs: a Conv2d with groups={layer.groups}, padding={layer.padding!r}, "
                         f"padding_mode={layer.padding_mode!r} is not counted (only groups 1, zero padding)")


@dataclass
class _Weights:
    name: str
    layer: nn.Module
    dense: bool          # the encoder: multiply-accumulates, once per sample
    scale: int           # units of input per spike: k*k after an average pool of k, else 1
    real: bool = False   # real-valued input frames into the first layer: MACs over non-zero inputs
    ops: float = 0.0     # accumulates, or multiply-accumulates, over every pass
    macs_per_pass: int = 0

    @property
    def macs(self) -> bool:
        """Its operations are multiply-accumulates (else accumulates)."""
        return self.dense or self.real


@dataclass
class _Spiking:
    name: str
    layer: nn.Module
    spikes: float = 0.0
    neuron_steps: int = 0


class CostMeter:
    """Counts, over every forward pass of ``model`` while open (``with CostMeter(model) as m``),
    each spiking layer's spikes and each weight layer's operations; :meth:`summary` gives them
    per sample. The model runs as it would: forward hooks only read.

    ``real_input``: the model's input frames are real numbers (a voxel grid, Bina-Rep), not
    event counts: its first weight layer is counted as multiply-accumulates over the non-zero
    inputs (:func:`sparse_macs`) instead of accumulates per event. An image encoder is dense
    whatever this says."""

    def __init__(self, model, real_input: bool = False):
        self.model = model
        self.real_input = bool(real_input)
        self.samples = 0
        self.weights: list[_Weights] = []
        self.spiking: list[_Spiking] = []
        scale = 1
        for layer in walk(model):
            if layer.role in ("conv", "fc"):
                first = not self.weights
                self.weights.append(_Weights(layer.name, layer.module, layer.index is None, scale,
                                             real=first and self.real_input and layer.index is not None))
            elif layer.role == "spiking":
                self.spiking.append(_Spiking(layer.name, layer.module))
                scale = 1
            elif layer.role == "pool" and isinstance(layer.module, nn.AvgPool2d):
                k = layer.module.kernel_size
                scale *= k * k if isinstance(k, int) else math.prod(k)
            elif layer.role == "unknown":
                raise ValueError(f"costs: layer {layer.index} ({type(layer.module).__name__}) is not one we can count")
        self._hooks: list = []

    def __enter__(self) -> CostMeter:
        self._hooks.append(self.model.register_forward_pre_hook(self._sample))
        for w in self.weights:
            self._hooks.append(w.layer.register_forward_hook(self._weights_hook(w)))
        for s in self.spiking:
            self._hooks.append(s.layer.register_forward_hook(self._spiking_hook(s)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    def _sample(self, module, args):
        self.samples += args[0].shape[0]

    @staticmethod
    def _weights_hook(w: _Weights):
        def hook(layer, args, out):
            w.macs_per_pass = dense_macs(layer, out)
            if w.dense:
                w.ops += w.macs_per_pass * out.shape[0]
            elif w.real:
                w.ops += w.scale * sparse_macs(layer, args[0])
            else:
                w.ops += w.scale * accumulates(layer, args[0])
        return hook

    @staticmethod
    def _spiking_hook(s: _Spiking):
        def hook(layer, args, out):
            s.spikes += float(out.detach().to(torch.float64).sum())
            s.neuron_steps += out.numel()
        return hook

    def summary(self) -> dict:
        """Per sample, over the samples seen: ``firing_rate`` per spiking layer;
        ``accumulates``, ``macs`` and ``ann_macs`` per weight layer; their totals; the energy
        of both in µJ and the ANN's over the SNN's."""
        n = self.samples
        if not n:
            raise ValueError("costs: no sample was run through the model")
        acs = {w.name: w.ops / n for w in self.weights if not w.macs}
        macs = {w.name: w.ops / n for w in self.weights if w.macs}
        ann = {w.name: w.macs_per_pass for w in self.weights}
        snn_pj = PJ_PER_AC * sum(acs.values()) + PJ_PER_MAC * sum(macs.values())
        ann_pj = PJ_PER_MAC * sum(ann.values())
        return {
            "firing_rate": {s.name: s.spikes / s.neuron_steps if s.neuron_steps else 0.0 for s in self.spiking},
            "accumulates": acs, "macs": macs, "ann_macs": ann,
            "synaptic_ops_per_sample": sum(acs.values()), "macs_per_sample": sum(macs.values()),
            "ann_macs_per_sample": sum(ann.values()),
            "energy_uJ": snn_pj * 1e-6, "ann_energy_uJ": ann_pj * 1e-6,
            "ann_to_snn_energy": ann_pj / snn_pj if snn_pj else None,
        }
