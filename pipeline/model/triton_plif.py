"""The PLIF layer as two hand-written Triton kernels: the time loop forward, its reverse backward.

Same spikes as :func:`pipeline.model.eager_plif.plif_multistep` (the reference) bit for bit in
float32, gradients to float rounding (the recurrences are those of :mod:`.numba_plif`). The input
``(T, ...)`` is seen as ``(T, N)``: N neurons, each a sequential loop over t; one program
runs a block of neurons.

Memory traffic, per neuron and step (float32 input): the forward reads ``x`` and writes the
spike and the charged potential ``h`` (kept for the backward only when a gradient is wanted);
the backward reads the incoming gradient and ``h`` and writes ``grad x``: 24 bytes in all, the
floor for a layer that keeps one state per step. Nothing else is saved: the reset state is
``v_{t-1} = h_{t-1} [h_{t-1} < v_th]``, and since ``h_t - v_{t-1} = k (x_t - v_{t-1})`` the
gradient of ``w`` (``k = sigmoid(w)``, ``dk/dw = k (1 - k)``) needs no ``x``::

    d loss / d w = (1 - k) * sum over t, n of  g_h[t, n] * (h[t, n] - v[t-1, n])

Each program sums its block's share in registers and writes one partial; the partials are
added in a fixed order (no atomics: the result does not depend on scheduling).

State in float32 whatever the input (float64 stays float64): under bf16 autocast the input
and the spikes are bf16 (spikes are exactly 0 or 1), ``h``, ``v`` and the threshold test are
float32, so bf16 training no longer moves spikes through the state's rounding.

Compiled once per (input dtype, ``detach_reset``, whether ``h`` is saved), never per shape:
``T`` and ``N`` are runtime arguments that Triton is told not to specialise on, and pointers
are not specialised on their alignment. The kernels are launched with floating-point
contraction off (no fused multiply-add), so ``h = v + (x - v) k`` rounds as torch's separate
operations do.

Under ``TRITON_INTERPRET=1`` (read when this module is imported) Triton's interpreter runs
the same kernels on CPU tensors: that is how the tests run them without a GPU.
"""

from __future__ import annotations

import functools
import inspect
import math
import os

import torch
import triton
import triton.language as tl

from .firing import PAPER, Firing

#: neurons per program, and warps per program (4 warps: 8 neurons per thread, 128-bit accesses)
BLOCK = 1024
NUM_WARPS = 4

#: the kernels run in Triton's interpreter (CPU tensors), not compiled for a GPU
INTERPRETED = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")

_RUNTIME = ["T", "M", "N"]     # runtime sizes: one compiled kernel serves every shape
_JIT = {"do_not_specialize": _RUNTIME}
if "do_not_specialize_on_alignment" in inspect.signature(triton.jit).parameters:
    _JIT["do_not_specialize_on_alignment"] = ["x_ptr", "s_ptr", "h_ptr", "gs_ptr", "gx_ptr"]

# Layout: every tensor a kernel touches is R rows of T steps of M neurons, (R, T, M) contiguous:
# R = 1 when the input is time-major (all of step 0, then step 1, ...), R = B when it is
# batch-major (each sample's T steps together, as frames arrive and a convolution over them
# writes). Neuron n < N = R M is row n // M, column n % M; step t of it lies at
# (n // M) T M + t M + n % M.


@triton.jit
def _first(offs, T, M):
    """Offsets of step 0 of neurons ``offs`` (64-bit)."""
    r = offs // M
    return r.to(tl.int64) * M * T + (offs - r * M)


@triton.jit(**_JIT)
def _forward_kernel(x_ptr, s_ptr, h_ptr, k_ptr, vth_ptr, T, M, N,
                    SAVE_H: tl.constexpr, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    at = _first(offs, T, M)
    k = tl.load(k_ptr)
    v_th = tl.load(vth_ptr)
    v = tl.zeros([BLOCK], dtype=h_ptr.dtype.element_ty)
    x_at, s_at, h_at = x_ptr + at, s_ptr + at, h_ptr + at          # step t of each neuron
    for t in range(T):
        x = tl.load(x_at, mask=mask, other=0.0).to(h_ptr.dtype.element_ty)
        h = v + (x - v) * k
        spiked = (h - v_th) >= 0
        s = tl.where(spiked, 1.0, 0.0).to(h_ptr.dtype.element_ty)
        tl.store(s_at, s.to(s_ptr.dtype.element_ty), mask=mask)
        if SAVE_H:
            tl.store(h_at, h, mask=mask)
        v = h * (1.0 - s)
        x_at += M
        s_at += M
        h_at += M


@triton.jit(**_JIT)
def _backward_kernel(gs_ptr, h_ptr, gx_ptr, part_ptr, k_ptr, vth_ptr, c, half_alpha, T, M, N,
                     DETACH_RESET: tl.constexpr, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    at = _first(offs, T, M)
    k = tl.load(k_ptr)
    v_th = tl.load(vth_ptr)
    f = h_ptr.dtype.element_ty
    gv = tl.zeros([BLOCK], dtype=f)          # d loss / d v_t, carried backwards in time
    acc = tl.zeros([BLOCK], dtype=f)         # sum over t of g_h (h_t - v_{t-1}), per neuron
    gs_at, h_at, gx_at = gs_ptr + at, h_ptr + at, gx_ptr + at
    for _ in range(T - 1):                   # to the last step (64-bit pointers: no 32-bit t * M)
        gs_at += M
        h_at += M
        gx_at += M
    h = tl.load(h_at, mask=mask, other=0.0)
    for i in range(T):
        gs = tl.load(gs_at, mask=mask, other=0.0).to(f)
        u = h - v_th
        cu = c * u
        sg = half_alpha / (1.0 + cu * cu)
        s = tl.where(u >= 0, 1.0, 0.0).to(f)
        gh = gs * sg + gv * (1.0 - s)
        if not DETACH_RESET:
            gh -= gv * h * sg
        tl.store(gx_at, (gh * k).to(gx_ptr.dtype.element_ty), mask=mask)
        h_at -= M
        hp = tl.load(h_at, mask=mask & (offs * 0 + i < T - 1), other=0.0)   # h_{t-1}; v_{-1} = 0
        vp = hp * (1.0 - tl.where(hp - v_th >= 0, 1.0, 0.0).to(f))
        acc += gh * (h - vp)
        gv = gh * (1.0 - k)
        h = hp
        gs_at -= M
        gx_at -= M
    tl.store(part_ptr + pid, tl.sum(acc, axis=0))


def _launch(kernel, grid, *args, **meta):
    if not INTERPRETED:
        meta["enable_fp_fusion"] = False     # h = v + (x - v) k rounded as torch rounds it
    kernel[grid](*args, BLOCK=BLOCK, num_warps=NUM_WARPS, **meta)


def state_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype of the state (``h``, ``v``, the threshold test) for inputs of ``dtype``."""
    return torch.float64 if dtype == torch.float64 else torch.float32


@functools.lru_cache(maxsize=64)
def _constant(value: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor([value], dtype=dtype, device=device)


def _layout(x: torch.Tensor) -> list[int]:
    """A permutation of ``x``'s dims under which it is contiguous: time-major ``[0, 1, ...]``
    or batch-major ``[1, 0, ...]`` (the other dims in memory order, e.g. channels_last);
    time-major ``[0, 1, ...]`` when neither fits (the caller then copies)."""
    rest = sorted(range(2, x.dim()), key=lambda d: -x.stride(d))
    for perm in ([0, 1, *rest], [1, 0, *rest]):
        if x.permute(perm).is_contiguous():
            return perm
    return list(range(x.dim()))


def _rows(x: torch.Tensor, perm: list[int]) -> tuple[torch.Tensor, int]:
    """``(x laid out by perm, contiguous and 16-byte aligned (a copy if need be), M)``."""
    y = x.permute(perm)
    if not y.is_contiguous() or y.data_ptr() % 16:
        y = y.contiguous()
        if y.data_ptr() % 16:
            y = y.clone()
    T = x.shape[0]
    rows = x.shape[1] if perm[0] == 1 else 1
    return y, x.numel() // max(1, T * rows)


def _empty(shape, perm: list[int], dtype: torch.dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(out, storage)``: a new tensor of ``shape`` laid out by ``perm``, and its contiguous
    permuted view (what the kernel indexes)."""
    storage = torch.empty([shape[d] for d in perm], dtype=dtype, device=device)
    inverse = [0] * len(perm)
    for i, d in enumerate(perm):
        inverse[d] = i
    return storage.permute(inverse), storage


def _grid(n: int) -> tuple[int]:
    return (triton.cdiv(n, BLOCK),)


def _forward(x: torch.Tensor, k: torch.Tensor, v_th: float, save_h: bool):
    """``(spikes like x, h (laid out by perm) or None, perm)``."""
    if x.dim() == 1:
        x = x.unsqueeze(1)
        s, h, perm = _forward(x, k, v_th, save_h)
        return s.squeeze(1), h, perm
    perm = _layout(x)
    xs, M = _rows(x, perm)
    T, N = x.shape[0], x.numel() // x.shape[0]
    f = state_dtype(x.dtype)
    s, ss = _empty(x.shape, perm, x.dtype, x.device)
    h = torch.empty(xs.shape if save_h else (1,), dtype=f, device=x.device)
    _launch(_forward_kernel, _grid(N), xs, ss, h, k, _constant(v_th, f, x.device), T, M, N, SAVE_H=save_h)
    return s, (h if save_h else None), perm


class _TritonPLIF(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x_seq, w, v_th, alpha, detach_reset):
        f = state_dtype(x_seq.dtype)
        k = torch.sigmoid(w.detach()).to(device=x_seq.device, dtype=f).reshape(1)
        s, h, perm = _forward(x_seq.detach(), k, v_th, save_h=True)
        ctx.save_for_backward(h, k)
        ctx.perm, ctx.x_dtype, ctx.x_shape = perm, x_seq.dtype, x_seq.shape
        ctx.v_th, ctx.alpha, ctx.detach_reset, ctx.w_dtype = v_th, alpha, detach_reset, w.dtype
        return s

    @staticmethod
    def backward(ctx, grad_s):
        h, k = ctx.saved_tensors
        shape, perm = ctx.x_shape, ctx.perm
        one_d = len(shape) == 1
        if one_d:
            shape, grad_s = (shape[0], 1), grad_s.unsqueeze(1)
        gss, M = _rows(grad_s, perm)                 # the incoming gradient in x's layout
        gx, gxs = _empty(shape, perm, ctx.x_dtype, h.device)
        T, N = shape[0], h.numel() // shape[0]
        grid = _grid(N)
        parts = torch.empty(grid[0], dtype=h.dtype, device=h.device)
        _launch(_backward_kernel, grid, gss, h, gxs, parts, k, _constant(ctx.v_th, h.dtype, h.device),
                math.pi / 2.0 * ctx.alpha, ctx.alpha / 2.0, T, M, N, DETACH_RESET=ctx.detach_reset)
        kd = k.double()
        gw = (parts.sum(dtype=torch.float64) * (1.0 - kd)).reshape(()).to(ctx.w_dtype)
        gx = gx.squeeze(1) if one_d else gx
        return (gx if ctx.needs_input_grad[0] else None), (gw if ctx.needs_input_grad[1] else None), \
            None, None, None


def plif_multistep_triton(x_seq: torch.Tensor, w: torch.Tensor, firing: Firing = PAPER) -> torch.Tensor:
    """Spikes ``(T, ...)`` of a PLIF layer, as :func:`~pipeline.model.eager_plif.plif_multistep`, by
    the Triton kernels (a CUDA tensor; a CPU tensor under ``TRITON_INTERPRET=1``)."""
    if x_seq.dtype not in (torch.float32, torch.float64, torch.bfloat16, torch.float16):
        raise ValueError(f"plif_multistep_triton: floating-point input needed, got {x_seq.dtype}")
    if x_seq.shape[0] == 0 or x_seq[0].numel() == 0:
        return torch.zeros_like(x_seq)
    v_th, alpha, detach_reset = firing.v_th, firing.alpha, firing.detach_reset
    if torch.is_grad_enabled() and (x_seq.requires_grad or w.requires_grad):
        return _TritonPLIF.apply(x_seq, w, v_th, alpha, detach_reset)
    k = torch.sigmoid(w.detach()).to(device=x_seq.device, dtype=state_dtype(x_seq.dtype)).reshape(1)
    return _forward(x_seq.detach(), k, v_th, save_h=False)[0]


def compiled_variants() -> int | None:
    """How many GPU binaries the two kernels hold now (None under the interpreter): a check
    that new shapes reuse them."""
    if INTERPRETED:
        return None
    n = 0
    for kernel in (_forward_kernel, _backward_kernel):
        caches = getattr(kernel, "device_caches", None)
        if caches is not None:
            n += sum(len(entry[0]) for entry in caches.values())
        else:
            n += sum(len(c) for c in getattr(kernel, "cache", {}).values())
    return n
