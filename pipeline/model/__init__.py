"""PLIF spiking neurons and the paper's convolutional networks."""

from .backends import BACKENDS, plif_forward, resolve_backend
from .compile_plif import plif_multistep_compiled
from .eager_plif import plif_multistep
from .firing import PAPER, Firing
from .network import SeqDropout, SpikingConvNet, build_model, loss_fn
from .neuron import PLIF
from .numba_plif import plif_multistep_fused
from .surrogate import ATanSpike, atan_spike

__all__ = ["BACKENDS", "PAPER", "PLIF", "ATanSpike", "Firing", "SeqDropout", "SpikingConvNet", "atan_spike",
           "build_model", "loss_fn", "plif_forward", "plif_multistep", "plif_multistep_compiled", "plif_multistep_fused",
           "resolve_backend"]
