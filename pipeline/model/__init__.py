"""PLIF spiking neurons and the paper's convolutional networks."""

from .compiled import plif_multistep_compiled
from .fused import plif_multistep_fused
from .network import SeqDropout, SpikingConvNet, build_model, loss_fn
from .backends import BACKENDS, plif_forward, resolve_backend
from .firing import PAPER, Firing
from .neuron import PLIF
from .reference import plif_multistep
from .surrogate import ATanSpike, atan_spike

__all__ = ["BACKENDS", "PAPER", "PLIF", "ATanSpike", "Firing", "SeqDropout", "SpikingConvNet", "atan_spike",
           "build_model", "loss_fn", "plif_forward", "plif_multistep", "plif_multistep_compiled", "plif_multistep_fused",
           "resolve_backend"]
