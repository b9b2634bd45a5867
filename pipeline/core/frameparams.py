"""The frames stage's choices by name (no kernels here, so checking params does not start Numba):
how counts are binned, what a frame holds, Bina-Rep's bits and the divisor of its codes.

One home for these facts: ``frames.*`` params (:mod:`pipeline.core.params`), the kernels
(:mod:`pipeline.frames.integration`, :mod:`pipeline.frames.bins`,
:mod:`pipeline.frames.representations`) and the readers of frames files
(:mod:`pipeline.train.data`) all take them from here.
"""

from __future__ import annotations

import numpy as np

#: Tonic's fixed-T binnings (``ToFrame(n_time_bins=T)`` / ``ToFrame(n_event_bins=T)``): the
#: split modes that take an ``overlap``.
BIN_MODES = ("time_bins", "event_bins")
#: ``frames.split_by``: SpikingJelly's two, then Tonic's.
SPLIT_MODES = ("number", "time", *BIN_MODES)
#: What a frame holds whose values are not event counts: real numbers for the network (the first
#: layer multiplies them; :mod:`pipeline.model.costs` counts it as MACs).
REAL_VALUED = ("voxel_grid", "binarep")
#: ``frames.representation``; ``counts`` is every file's that names none.
REPRESENTATIONS = ("counts", *REAL_VALUED)
#: Bina-Rep's bits per frame: Tonic asks for 2 or more; the stored uint8 codes hold 8.
N_BITS = (2, 8)


def binarep_scale(n_bits: int) -> np.float32:
    """What a Bina-Rep code is divided by: ``2**n_bits - 1`` (float32, as Tonic divides)."""
    return np.float32(2**n_bits - 1)
