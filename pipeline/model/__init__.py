"""PLIF spiking neurons and the paper's convolutional networks."""

from .network import SeqDropout, SpikingConvNet, build_model, loss_fn
from .fused import plif_multistep_fused
from .neuron import PLIF, plif_multistep
from .surrogate import ATanSpike, atan_spike

__all__ = ["ATanSpike", "PLIF", "SeqDropout", "SpikingConvNet", "atan_spike", "build_model", "loss_fn",
           "plif_multistep", "plif_multistep_fused"]
