"""2x2 max-pooling (stride 2) as two Triton kernels: ``F.max_pool2d(x, 2)``'s values and gradients.

Why: on a GPU, torch's NCHW max-pool keeps int64 indices, zero-fills the whole input gradient
and then scatters into it; on the paper's DVS128 Gesture network (20 x 16 maps of 128 x 128 x
128 in the first block) that was the largest item of a training step (8.5 ms of 45 ms on an
H200, plus the fills). Here the forward keeps one byte per window (which of its 4 inputs won)
and the backward writes every input gradient once (the winner's gradient or 0): no fill, no
atomics, the same result on every run.

Ties go where torch sends them: the first maximum in the window's row-major order (binary
spikes tie all the time), and a NaN wins over any number (the last NaN, as torch's
``val > max || isnan(val)`` scan does). An odd last row or column is not pooled (torch's
floor), and its gradient is 0.

Inputs: a contiguous ``(N, C, H, W)`` tensor (float32, bf16, fp16) on CUDA, or on
the CPU under ``TRITON_INTERPRET=1`` (the tests). :func:`max_pool_2x2` falls back to
``F.max_pool2d`` for anything else (channels_last, other devices).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import triton
import triton.language as tl

from .triton_plif import INTERPRETED

BLOCK = 1024
NUM_WARPS = 4
_JIT = {"do_not_specialize": ["n_out", "Wo", "HWo", "W", "HW"]}


@triton.jit
def _window(o, Wo, HWo, W, HW):
    """The input offset of output ``o``'s window's top-left element (64-bit)."""
    o = o.to(tl.int64)
    nc = o // HWo
    r = o - nc * HWo
    i = r // Wo
    j = r - i * Wo
    return nc * HW + 2 * i * W + 2 * j


@triton.jit(**_JIT)
def _pool_forward(x_ptr, y_ptr, idx_ptr, n_out, Wo, HWo, W, HW, BLOCK: tl.constexpr):
    o = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = o < n_out
    at = x_ptr + _window(o, Wo, HWo, W, HW)
    f = tl.float32                               # compared in float32: exact for bf16 and fp16 values
    m = tl.load(at, mask=mask, other=0.0).to(f)
    idx = tl.zeros([BLOCK], dtype=tl.int32)
    b = tl.load(at + 1, mask=mask, other=0.0).to(f)
    take = (b > m) | (b != b)
    m = tl.where(take, b, m)
    idx = tl.where(take, 1, idx)
    c = tl.load(at + W, mask=mask, other=0.0).to(f)
    take = (c > m) | (c != c)
    m = tl.where(take, c, m)
    idx = tl.where(take, 2, idx)
    d = tl.load(at + W + 1, mask=mask, other=0.0).to(f)
    take = (d > m) | (d != d)
    m = tl.where(take, d, m)
    idx = tl.where(take, 3, idx)
    tl.store(y_ptr + o, m.to(y_ptr.dtype.element_ty), mask=mask)
    tl.store(idx_ptr + o, idx.to(tl.uint8), mask=mask)


@triton.jit(**_JIT)
def _pool_backward(gy_ptr, idx_ptr, gx_ptr, n_out, Wo, HWo, W, HW, BLOCK: tl.constexpr):
    o = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = o < n_out
    g = tl.load(gy_ptr + o, mask=mask, other=0.0)
    idx = tl.load(idx_ptr + o, mask=mask, other=0).to(tl.int32)
    zero = tl.zeros([BLOCK], dtype=g.dtype)
    at = gx_ptr + _window(o, Wo, HWo, W, HW)
    tl.store(at, tl.where(idx == 0, g, zero), mask=mask)
    tl.store(at + 1, tl.where(idx == 1, g, zero), mask=mask)
    tl.store(at + W, tl.where(idx == 2, g, zero), mask=mask)
    tl.store(at + W + 1, tl.where(idx == 3, g, zero), mask=mask)


def _launch(kernel, n: int, *args) -> None:
    kernel[(triton.cdiv(n, BLOCK),)](*args, BLOCK=BLOCK, num_warps=NUM_WARPS)


def _sizes(shape) -> tuple[int, int, int, int, int]:
    N, C, H, W = shape
    Ho, Wo = H // 2, W // 2
    return N * C * Ho * Wo, Wo, Ho * Wo, W, H * W


class _MaxPool2x2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        N, C, H, W = x.shape
        n, *rest = _sizes(x.shape)
        y = torch.empty((N, C, H // 2, W // 2), dtype=x.dtype, device=x.device)
        idx = torch.empty(y.shape, dtype=torch.uint8, device=x.device)
        if n:
            _launch(_pool_forward, n, x, y, idx, n, *rest)
        ctx.save_for_backward(idx)
        ctx.shape = x.shape
        return y

    @staticmethod
    def backward(ctx, gy):
        (idx,) = ctx.saved_tensors
        N, C, H, W = ctx.shape
        odd = H % 2 or W % 2                       # rows or columns no window covers: gradient 0
        gx = (torch.zeros if odd else torch.empty)((N, C, H, W), dtype=gy.dtype, device=gy.device)
        n, *rest = _sizes(ctx.shape)
        if n:
            _launch(_pool_backward, n, gy.contiguous(), idx, gx, n, *rest)
        return gx


def usable(x: torch.Tensor) -> bool:
    """Whether the kernels take ``x`` (else :func:`max_pool_2x2` calls ``F.max_pool2d``)."""
    on = x.device.type == "cuda" or (x.device.type == "cpu" and INTERPRETED)
    return (on and x.dim() == 4 and x.is_contiguous() and x.dtype in (torch.float32, torch.bfloat16, torch.float16)
            and x.data_ptr() % 16 == 0
            and x.shape[2] >= 2 and x.shape[3] >= 2 and x.numel() // 4 < 2**31)


def max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(x, 2)`` (values and gradients), by the kernels where :func:`usable`."""
    if usable(x):
        return _MaxPool2x2.apply(x)
    return F.max_pool2d(x, 2)
