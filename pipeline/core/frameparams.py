"""The frames stage's choices by name (no kernels here, so checking params does not start Numba):
how counts are binned, what a frame holds, Bina-Rep's bits and the divisor of its codes.

One home for these facts: ``frames.*`` params (:mod:`pipeline.params`), the kernels
(:mod:`pipeline.frames.integration`, :mod:`pipeline.frames.bins`,
:mod:`pipeline.frames.representations`) and the readers of frames files
(:mod:`pipeline.train.data`, ``preview``, ``info``, ``evaluate``) all take them from here, and
read a frames file's metadata with :func:`representation` and :func:`input_scale`.
"""

from __future__ import annotations

import numpy as np

from .errors import LayoutError
from .oplist import is_int

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
#: The channels of each representation's frames: OFF and ON polarities, or (the voxel grid) one
#: channel of signed polarity.
CHANNELS = {"counts": 2, "voxel_grid": 1, "binarep": 2}


def frame_shape(T: int, sensor_size: tuple[int, int], downsample: int = 1,
                representation: str = "counts") -> tuple[int, int, int, int]:
    """One sample's frames, ``(T, C, ceil(H / f), ceil(W / f))`` for ``sensor_size = (H, W)`` and
    ``downsample = f``: what the frame kernels write, the frames file stores and the network
    takes (the one home of this formula; an image dataset's shape is its layout's)."""
    H, W = sensor_size
    return (T, CHANNELS[representation], -(-H // downsample), -(-W // downsample))


def is_n_bits(v) -> bool:
    """Whether ``v`` is a Bina-Rep bit count: an integer (not a bool) in :data:`N_BITS`."""
    return is_int(v) and N_BITS[0] <= v <= N_BITS[1]


def binarep_scale(n_bits: int) -> np.float32:
    """What a Bina-Rep code is divided by: ``2**n_bits - 1`` (float32, as Tonic divides)."""
    return np.float32(2**n_bits - 1)


def representation(attrs: dict) -> str:
    """The representation a frames file's metadata ``attrs`` names (``counts`` where it names
    none: every file written before representations, and static images)."""
    return str(attrs.get("representation") or "counts")


def values_kind(attrs: dict, where="") -> str:
    """What kind of numbers a frames file with metadata ``attrs`` holds, as the messages name it
    and as train and test frames (or a model and its test frames) must agree on it: the
    representation, with ``n_bits`` for Bina-Rep (``binarep (n_bits 4)``). Checked as
    :func:`input_scale` checks it (a LayoutError naming ``where``)."""
    scale = input_scale(attrs, where)
    kind = representation(attrs)
    return kind if scale is None else f"{kind} (n_bits {attrs.get('n_bits')})"


def input_scale(attrs: dict, where="") -> float | None:
    """What the stored values of a frames file with metadata ``attrs`` are divided by before
    the network sees them: ``2**n_bits - 1`` for Bina-Rep codes
    (:func:`binarep_scale`), None (nothing) otherwise. An
    unknown representation, or a Bina-Rep file without a usable ``n_bits``, is a LayoutError
    naming ``where`` (the file)."""
    kind = representation(attrs)
    if kind not in REPRESENTATIONS:
        raise LayoutError(f"{where}: frames of representation {kind!r}; train knows {', '.join(REPRESENTATIONS)}")
    if kind != "binarep":
        return None
    n_bits, (lo, hi) = attrs.get("n_bits"), N_BITS
    if not is_n_bits(n_bits):
        raise LayoutError(f"{where}: Bina-Rep frames need the metadata n_bits (an integer from {lo} to {hi}), "
                          f"got {n_bits!r}")
    return float(binarep_scale(n_bits))
