"""The ``numba`` PLIF backend: the time loop forward and its reverse loop backward, written by hand
(fused: one pass over memory each) as Numba kernels.

Same numbers as :func:`pipeline.model.eager_plif.plif_multistep` (the reference, plain autograd),
in far fewer passes over memory and with nothing saved but the input: the forward reads ``x``
once and writes the spikes; the backward, a block of neurons at a time, recomputes the
block's charged potentials ``h`` into a scratch that stays in cache, then runs the reverse
loop, reading ``x`` and the incoming gradient once and writing ``grad x``. Per time step and
neuron, with ``k = sigmoid(w)``::

    forward:   h_t = v_{t-1} + (x_t - v_{t-1}) k      s_t = [h_t - v_th >= 0]     v_t = h_t (1 - s_t)
    backward:  g_h = g_s_t sg(h_t - v_th) + g_v (1 - s_t)   (- g_v h_t sg(h_t - v_th) without detach_reset)
               g_x_t = g_h k      g_k += g_h (x_t - v_{t-1})      g_v <- g_h (1 - k)

with the ATan surrogate ``sg(u) = alpha / (2 (1 + (pi/2 alpha u)^2))`` and ``g_w = g_k k (1 - k)``.

Where the Numba kernels take the input (CPU float32/float64: the ``numba`` row of
:data:`pipeline.core.plifbackends.BACKENDS`, read by :func:`kernels_take`) the loops are
Numba kernels over blocks of neurons (parallel over blocks, with as many threads as torch
uses; ``g_k`` is summed per block in a fixed order, so results do not depend on the thread
count). Elsewhere (CPU half precision; CUDA, when called directly) the same loops run as torch
operations (saving ``h``), still without autograd's per-step graph.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

from ..core import plifbackends
from .firing import PAPER, Firing

_BLOCK = 4096  # neurons per block: a block's state stays in L1/L2 while the time loop runs


@numba.njit(cache=True)
def _forward_block(x, k, v_th, s, a, b):
    """Neurons ``[a, b)`` of ``x, s`` ``(T, N)``: the time loop, branch-free over the block."""
    T = x.shape[0]
    one = k * 0 + 1
    zero = k * 0
    v = np.zeros(b - a, x.dtype)
    for t in range(T):
        xt, st = x[t, a:b], s[t, a:b]
        for n in range(b - a):
            vn = v[n]
            hn = vn + (xt[n] - vn) * k
            sn = one if hn - v_th >= zero else zero
            st[n] = sn
            v[n] = hn * (one - sn)


@numba.njit(cache=True)
def _backward_block(gs, x, k, v_th, c, half_alpha, detach_reset, gx, a, b):
    """Neurons ``[a, b)``: writes their ``gx`` and returns their part of d loss / d k.

    The block first recomputes its charged potentials ``h`` (bit for bit the forward's) into
    a small scratch that stays in cache, then runs the reverse loop: nothing but the input is
    kept from the forward. ``c = pi/2 * alpha``.
    """
    T = x.shape[0]
    one = k * 0 + 1
    zero = k * 0
    m = b - a
    h = np.empty((T, m), x.dtype)
    v = np.zeros(m, x.dtype)
    for t in range(T):
        xt, ht = x[t, a:b], h[t]
        for n in range(m):
            vn = v[n]
            hn = vn + (xt[n] - vn) * k
            ht[n] = hn
            v[n] = hn * (one - (one if hn - v_th >= zero else zero))
    gv = v                                     # reused: d loss / d v_t, carried backwards in time
    gv[:] = zero
    acc = np.zeros(m, np.float64)              # d loss / d k, per neuron
    for t in range(T - 1, -1, -1):
        ht, xt, gst, gxt = h[t], x[t, a:b], gs[t, a:b], gx[t, a:b]
        hp = h[t - 1] if t > 0 else ht
        first = zero if t > 0 else one         # v_{-1} = 0
        for n in range(m):
            hn = ht[n]
            u = hn - v_th
            cu = c * u
            sg = half_alpha / (one + cu * cu)
            g = gv[n]
            sn = one if u >= zero else zero
            gh = gst[n] * sg + g * (one - sn)
            if not detach_reset:
                gh -= g * hn * sg
            gxt[n] = gh * k
            hpn = hp[n]
            vp = hpn * (one - (one if hpn - v_th >= zero else zero)) * (one - first)
            acc[n] += gh * (xt[n] - vp)
            gv[n] = gh * (one - k)
    total = 0.0
    for n in range(m):
        total += acc[n]
    return total


# Drivers over the blocks: in parallel for large layers, in a plain loop for small ones
# (a parallel region costs tens of microseconds to start). Same blocks, same sums, either way.

@numba.njit(cache=True, parallel=True)
def _forward_parallel(x, k, v_th, s):
    N = x.shape[1]
    for blk in numba.prange((N + _BLOCK - 1) // _BLOCK):
        _forward_block(x, k, v_th, s, blk * _BLOCK, min(N, (blk + 1) * _BLOCK))


@numba.njit(cache=True)
def _forward_serial(x, k, v_th, s):
    N = x.shape[1]
    for blk in range((N + _BLOCK - 1) // _BLOCK):
        _forward_block(x, k, v_th, s, blk * _BLOCK, min(N, (blk + 1) * _BLOCK))


@numba.njit(cache=True, parallel=True)
def _backward_parallel(gs, x, k, v_th, c, half_alpha, detach_reset, gx, gk):
    N = x.shape[1]
    for blk in numba.prange((N + _BLOCK - 1) // _BLOCK):
        gk[blk] = _backward_block(gs, x, k, v_th, c, half_alpha, detach_reset, gx, blk * _BLOCK,
                                  min(N, (blk + 1) * _BLOCK))


@numba.njit(cache=True)
def _backward_serial(gs, x, k, v_th, c, half_alpha, detach_reset, gx, gk):
    N = x.shape[1]
    for blk in range((N + _BLOCK - 1) // _BLOCK):
        gk[blk] = _backward_block(gs, x, k, v_th, c, half_alpha, detach_reset, gx, blk * _BLOCK,
                                  min(N, (blk + 1) * _BLOCK))


_PARALLEL_BLOCKS = 4   # fewer blocks than this run in the calling thread


def _set_numba_threads(threads: int) -> None:
    """``numba.set_num_threads(threads)``, leaving torch's thread count as it was.

    Numba's OpenMP threading layer shares the OpenMP runtime with torch, and starting it sets
    the calling thread's OpenMP thread count to ``NUMBA_NUM_THREADS`` (every core): torch, which
    reads that count, would then run on every core too, e.g. under ``torchrun`` where each
    rank was given fewer. Torch's count is put back at once.
    """
    before = torch.get_num_threads()
    numba.set_num_threads(threads)
    if torch.get_num_threads() != before:
        torch.set_num_threads(before)


def _kernels(n: int):
    """(forward, backward) drivers for ``n`` neurons, with the Numba threads set to torch's."""
    threads = max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    if threads > 1 and (n + _BLOCK - 1) // _BLOCK >= _PARALLEL_BLOCKS:
        _set_numba_threads(threads)
        return _forward_parallel, _backward_parallel
    return _forward_serial, _backward_serial


def _empty(x: torch.Tensor) -> torch.Tensor:
    """An uninitialised CPU tensor like ``x`` whose memory numpy allocates: numpy asks for
    transparent huge pages on large arrays, so first touching it faults 2 MB pages instead
    of 4 KB ones (measured 5x faster for a 168 MB output here; torch.empty's are 4 KB)."""
    return torch.from_numpy(np.empty(tuple(x.shape), dtype=x.numpy().dtype))


def kernels_take(x: torch.Tensor) -> bool:
    """Whether the Numba kernels take ``x`` (the table's ``numba`` devices and dtypes: CPU
    float32/float64); any other input runs the same loops as torch operations."""
    return plifbackends.kernels_take("numba", x.device.type, str(x.dtype).removeprefix("torch."))


def _torch_forward(x, k, v_th):
    h = torch.empty_like(x)
    s = torch.empty_like(x)
    v = torch.zeros_like(x[0])
    for t in range(x.shape[0]):
        h[t] = v + (x[t] - v) * k
        s[t] = (h[t] - v_th >= 0).to(x.dtype)
        v = h[t] * (1.0 - s[t])
    return s, h


def _torch_backward(gs, x, h, k, v_th, alpha, detach_reset):
    gx = torch.empty_like(x)
    gk = torch.zeros((), dtype=torch.float64, device=x.device)
    gv = torch.zeros_like(x[0])
    c = math.pi / 2.0 * alpha
    for t in range(x.shape[0] - 1, -1, -1):
        u = h[t] - v_th
        sg = alpha / (2.0 * (1.0 + (c * u) ** 2))
        spiked = (u >= 0).to(x.dtype)
        gh = gs[t] * sg + gv * (1.0 - spiked)
        if not detach_reset:
            gh = gh - gv * h[t] * sg
        gx[t] = gh * k
        vp = h[t - 1] * (1.0 - (h[t - 1] - v_th >= 0).to(x.dtype)) if t > 0 else torch.zeros_like(gh)
        gk += (gh * (x[t] - vp)).sum(dtype=torch.float64)
        gv = gh * (1.0 - k)
    return gx, gk


class _FusedPLIF(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_seq, w, v_th, alpha, detach_reset, backend):
        k = torch.sigmoid(w.detach()).to(x_seq.dtype)
        x = x_seq.detach().contiguous()
        T = x.shape[0]
        if backend == "numba":
            x2 = x.reshape(T, -1)
            s = _empty(x2)
            f = x2.numpy().dtype.type
            forward, _ = _kernels(x2.shape[1])
            forward(x2.numpy(), f(k.item()), f(v_th), s.numpy())
            s = s.reshape(x.shape)
            ctx.save_for_backward(x, k)
        else:
            s, h = _torch_forward(x, k, v_th)
            ctx.save_for_backward(x, k, h)
        ctx.v_th, ctx.alpha, ctx.detach_reset, ctx.backend = v_th, alpha, detach_reset, backend
        ctx.w_dtype = w.dtype
        return s

    @staticmethod
    def backward(ctx, grad_s):
        x, k, *h = ctx.saved_tensors
        gs = grad_s.to(x.dtype).contiguous()
        if ctx.backend == "numba":
            T = x.shape[0]
            x2, gs2 = x.reshape(T, -1), gs.reshape(T, -1)
            gx = _empty(x2)
            gk = np.zeros((x2.shape[1] + _BLOCK - 1) // _BLOCK, np.float64)
            f = x2.numpy().dtype.type
            _, backward = _kernels(x2.shape[1])
            backward(gs2.numpy(), x2.numpy(), f(k.item()), f(ctx.v_th), f(math.pi / 2.0 * ctx.alpha),
                      f(ctx.alpha / 2.0), ctx.detach_reset, gx.numpy(), gk)
            gx = gx.reshape(x.shape)
            gk = torch.tensor(gk.sum(), dtype=torch.float64)
        else:
            gx, gk = _torch_backward(gs, x, h[0], k, ctx.v_th, ctx.alpha, ctx.detach_reset)
        kd = k.double()
        gw = (gk.to(kd.device) * ((1.0 - kd) * kd)).to(ctx.w_dtype)
        return (gx if ctx.needs_input_grad[0] else None), (gw if ctx.needs_input_grad[1] else None), \
            None, None, None, None


def plif_multistep_fused(x_seq: torch.Tensor, w: torch.Tensor, firing: Firing = PAPER,
                         backend: str | None = None) -> torch.Tensor:
    """Spikes ``(T, ...)`` of a PLIF layer, as :func:`plif_multistep`, with a hand-written backward.

    ``backend``: ``"numba"`` (CPU, float32/float64), ``"torch"`` (any device), or None to
    choose (Numba where it applies).
    """
    if backend is None:
        backend = "numba" if kernels_take(x_seq) else "torch"
    elif backend == "numba" and not kernels_take(x_seq):
        raise ValueError(f"plif_multistep_fused: the numba backend needs a CPU float32/float64 input, "
                         f"got {x_seq.dtype} on {x_seq.device}")
    elif backend not in ("numba", "torch"):
        raise ValueError(f"plif_multistep_fused: backend must be 'numba', 'torch' or None, got {backend!r}")
    if x_seq.shape[0] == 0 or x_seq[0].numel() == 0:
        return torch.zeros_like(x_seq)
    return _FusedPLIF.apply(x_seq, w, firing.v_th, firing.alpha, firing.detach_reset, backend)
