"""Tonic's other fixed-T representations, as Numba kernels: the voxel grid and Bina-Rep.

**Voxel grid** (:func:`voxel_grid`) equals Tonic 1.7's ``ToVoxelGrid(sensor_size=(W, H, 2),
n_time_bins=T)`` (Zhu et al. 2019): with ``s_k = T * (t_k - t_0) / (t_{N-1} - t_0)`` (float64),
event k adds its polarity (+1 ON, -1 OFF) times ``1 - (s_k - floor(s_k))`` to bin
``floor(s_k)`` and times ``s_k - floor(s_k)`` to the next bin, where those bins exist. Shape
``(T, 1, H', W')``, float32: the sums are Tonic's float64 ones, added in Tonic's order (every
left share, then every right share), rounded once to float32. Edges:

* the events at the last timestamp have ``s = T``: both their bins are past the end, so they
  add nothing (Tonic's; the original E2VID code scales by ``T - 1`` instead);
* equal first and last timestamps (one event included): Tonic divides 0 by 0, and the NaN times
  cast to an integer make indices that wrap: an IndexError, or NaN written into some bins,
  depending on the sensor size. Here every event adds its whole polarity to bin 0;
* no events: all zeros (Tonic fails on ``t[0]``);
* Tonic turns polarity 0 into -1 in the polarity column's own type: on a ``bool`` column (its
  own datasets' type) that gives True, so OFF events add +1 like ON ones; on a ``uint8`` column
  (ours) NumPy 2 refuses it with an OverflowError. This module always uses -1 and +1, which is
  what Tonic gives on a signed polarity column.

Timestamps must be sorted (``t_0`` and ``t_{N-1}`` are the range).

**Bina-Rep** (:func:`binarep`, Barchid et al. 2022) equals Tonic 1.7's ``ToBinaRep(n_frames=T,
n_bits=n_bits)`` applied to ``ToFrame(sensor_size=(W, H, 2), n_event_bins=T * n_bits)``: the
events are cut into ``T * n_bits`` event bins (:func:`~pipeline.frames.bins.event_bin_windows`:
the ``N % (T * n_bits)`` last events are in none), and frame i's pixel is the n_bits-bit number
whose bit ``n_bits - 1 - b`` says whether event bin ``i * n_bits + b`` has an event there, divided
by ``2**n_bits - 1``. :func:`binarep_codes` gives those numbers as uint8 (what the frames stage
stores, ``2 <= n_bits <= 8``); :func:`binarep` the float32 values Tonic gives, bit for bit.

Both take ``downsample`` (``x // f``, ``y // f``; 1 is Tonic's) and check their input as
:func:`~pipeline.frames.integration.integrate` does (:mod:`pipeline.frames.columns`).

**Time surfaces are left out.** Tonic's ``ToTimesurface(sensor_size, dt, tau)`` makes one
surface per ``dt`` µs of the recording, so its number of frames follows each recording's
length; a fixed T would need a per-sample ``dt = span / T``, which is not a transform Tonic
users have, so no output of ours could equal theirs.
"""

from __future__ import annotations

import numba
import numpy as np

from ..core.frameparams import N_BITS, REPRESENTATIONS, binarep_scale, frame_shape, is_n_bits
from .bins import event_bin_windows
from .columns import check_shape, checked_columns

__all__ = ["N_BITS", "REPRESENTATIONS", "binarep", "binarep_codes", "binarep_scale", "voxel_grid"]


@numba.njit(cache=True)
def _voxel(t, x, y, p, T, W, H, f, acc):
    """Tonic's voxel grid into the float64 ``acc`` (T * H' * W'), left shares then right shares.
    ``xoff[x] = x // f`` and ``yoff[y] = (y // f) * W'``: look-up tables, no division per event.
    Unchecked: the events must have passed :func:`~pipeline.frames.columns.checked_columns`."""
    n = x.shape[0]
    if n == 0:
        return
    Wf = -(-W // f)
    plane = -(-H // f) * Wf
    xoff = np.arange(W) // f
    yoff = (np.arange(H) // f) * Wf
    t0 = np.float64(t[0])
    span = np.float64(t[n - 1] - t[0])
    Tf = np.float64(T)
    scaled = np.zeros(n, dtype=np.float64)      # s of every event, once (a loop of divisions alone)
    if span != 0.0:
        for k in range(n):
            scaled[k] = Tf * (np.float64(t[k]) - t0) / span
    for side in range(2):
        for k in range(n):
            s = scaled[k]
            ti = np.int64(s)
            d = s - ti
            pol = 1.0 if p[k] != 0 else -1.0
            b = ti + side
            if b < T:
                v = pol * (1.0 - d) if side == 0 else pol * d
                acc[b * plane + yoff[np.int64(y[k])] + xoff[np.int64(x[k])]] += v


def voxel_grid(events: np.ndarray, T: int, sensor_size: tuple[int, int] = (128, 128),
               downsample: int = 1) -> np.ndarray:
    """Tonic's ``ToVoxelGrid(sensor_size=(W, H, 2), n_time_bins=T)``, shape ``(T, 1, H', W')``
    float32; the module docstring gives the edges. Bad events (outside the sensor, a polarity
    other than 0/1, unsorted timestamps) raise ``ValueError("voxel_grid: event {k}: ...")``."""
    H, W = check_shape("voxel_grid", T, sensor_size, downsample)
    cols = checked_columns("voxel_grid", events, H, W, ordered=True)
    shape = frame_shape(int(T), (H, W), int(downsample), "voxel_grid")
    acc = np.zeros(int(np.prod(shape)), dtype=np.float64)
    _voxel(cols["t"], cols["x"], cols["y"], cols["p"], int(T), W, H, int(downsample), acc)
    return acc.astype(np.float32).reshape(shape)


@numba.njit(cache=True)
def _bits(x, y, p, starts, ends, n_bits, W, H, f, out):
    """Frame ``i // n_bits`` gets bit ``n_bits - 1 - i % n_bits`` where event bin i has an event.
    Unchecked: the events must have passed :func:`~pipeline.frames.columns.checked_columns`."""
    Wf = -(-W // f)
    plane = -(-H // f) * Wf
    xoff = np.arange(W) // f
    yoff = (np.arange(H) // f) * Wf
    for i in range(starts.shape[0]):
        base = (i // n_bits) * 2 * plane
        bit = np.uint8(1 << (n_bits - 1 - i % n_bits))
        if f == 1:
            for k in range(starts[i], ends[i]):
                out[base + np.int64(p[k]) * plane + np.int64(y[k]) * W + np.int64(x[k])] |= bit
        else:
            for k in range(starts[i], ends[i]):
                out[base + np.int64(p[k]) * plane + yoff[np.int64(y[k])] + xoff[np.int64(x[k])]] |= bit


def _check_bits(who: str, n_bits) -> int:
    if not is_n_bits(n_bits):
        lo, hi = N_BITS
        raise ValueError(f"{who}: n_bits must be an integer from {lo} to {hi}, got {n_bits!r}")
    return int(n_bits)


def binarep_codes(events: np.ndarray, T: int, n_bits: int, sensor_size: tuple[int, int] = (128, 128),
                  downsample: int = 1) -> np.ndarray:
    """Bina-Rep as n_bits-bit numbers, uint8 ``(T, 2, H', W')``: :func:`binarep` times ``2**n_bits - 1``."""
    H, W = check_shape("binarep", T, sensor_size, downsample)
    n_bits = _check_bits("binarep", n_bits)
    cols = checked_columns("binarep", events, H, W, ordered=False)
    out = np.zeros(frame_shape(int(T), (H, W), int(downsample), "binarep"), dtype=np.uint8)
    starts, ends = event_bin_windows(cols["x"].shape[0], int(T) * n_bits)
    _bits(cols["x"], cols["y"], cols["p"], starts, ends, n_bits, W, H, int(downsample), out.reshape(-1))
    return out


def binarep(events: np.ndarray, T: int, n_bits: int, sensor_size: tuple[int, int] = (128, 128),
            downsample: int = 1) -> np.ndarray:
    """Tonic's ``ToBinaRep(n_frames=T, n_bits=n_bits)`` of ``ToFrame(sensor_size=(W, H, 2),
    n_event_bins=T * n_bits)``, float32 ``(T, 2, H', W')`` in [0, 1], equal bit for bit.
    Bad events raise ``ValueError("binarep: event {k}: ...")``; timestamps are not used."""
    return binarep_codes(events, T, n_bits, sensor_size, downsample).astype(np.float32) / binarep_scale(n_bits)
