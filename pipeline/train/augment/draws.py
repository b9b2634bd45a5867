"""Counter-based random numbers for augmentation: each sample's draws are a function of
``(seed, epoch, index)`` alone, computed on the batch's device with integer tensor arithmetic.

No generator state: a draw is a hash of its coordinates (the sample's key, the op's position in
the chain, a slot number, an element number). So a sample is augmented the same whatever its
batch, the number of processes, the device or the loader's workers, and a resumed run draws what
an uninterrupted one drew. The hash is Chris Wellons' ``lowbias32`` (a bijection of 32-bit
integers with low bias, https://nullprogram.com/blog/2018/07/31/), chained over 32-bit words:
``h = lowbias32(h ^ word)``. Products are taken modulo 2**32 in 16-bit halves, so no int64
product ever overflows, on any device. Floats come from the top 24 bits: exact in float32.
"""

from __future__ import annotations

import torch

__all__ = ["Draws", "lowbias32"]

_MASK = 0xFFFFFFFF
_MUL1, _MUL2 = 0x7FEB352D, 0x846CA68B


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """``x * c mod 2**32`` for int64 ``x`` in [0, 2**32): ``lo * c + (hi * (c mod 2**16)) << 16``,
    each term under 2**48."""
    lo, hi = x & 0xFFFF, x >> 16
    return (lo * c + ((hi * (c & 0xFFFF)) << 16)) & _MASK


def lowbias32(x: torch.Tensor) -> torch.Tensor:
    """The ``lowbias32`` hash of each 32-bit value of the int64 tensor ``x``."""
    x = x & _MASK
    x = x ^ (x >> 16)
    x = _mul32(x, _MUL1)
    x = x ^ (x >> 15)
    x = _mul32(x, _MUL2)
    return x ^ (x >> 16)


def _chain(h: torch.Tensor, *words: int) -> torch.Tensor:
    for w in words:
        h = lowbias32(h ^ (w & _MASK))
    return h


class Draws:
    """The random numbers of a batch of samples: ``indices`` (int64, ``(B,)``, each sample's index
    in the training set) at ``epoch`` of a run seeded ``seed``. Every draw is addressed by the op's
    position in the chain (``op``) and a ``slot``; its values depend on nothing else."""

    def __init__(self, seed: int, epoch: int, indices: torch.Tensor, device: torch.device | None = None):
        """``indices`` are checked where they are (on the host, no device sync, as the loader
        gives them); the draws are made on ``device`` (default: the indices')."""
        if not 0 <= seed < 2**64 or not 0 <= epoch < 2**32:
            raise ValueError(f"augment: seed {seed} or epoch {epoch} out of range (0 <= seed < 2**64, "
                             "0 <= epoch < 2**32)")
        if indices.dtype != torch.int64 or indices.dim() != 1:
            raise ValueError(f"augment: indices must be an int64 vector, got {indices.dtype} {tuple(indices.shape)}")
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= 2**32):
            raise ValueError("augment: indices must lie in [0, 2**32)")
        self.device = indices.device if device is None else torch.device(device)
        indices = indices.to(self.device, non_blocking=True)
        head = _chain(torch.zeros((), dtype=torch.int64, device=self.device), seed, seed >> 32, epoch)
        self.keys = lowbias32(head ^ indices)            # (B,): one key per sample

    def __len__(self) -> int:
        return len(self.keys)

    def bits(self, op: int, slot: int, n: int = 1) -> torch.Tensor:
        """``(B, n)`` 32-bit integers (int64) of draw ``(op, slot)``, element numbers 0..n-1."""
        key = _chain(self.keys, op, slot)                # (B,)
        counter = torch.arange(n, dtype=torch.int64, device=self.device)
        return lowbias32(key[:, None] ^ counter)

    def uniform(self, op: int, slot: int, n: int = 1) -> torch.Tensor:
        """``(B, n)`` float32 uniform in [0, 1): the top 24 bits over 2**24 (exact)."""
        return (self.bits(op, slot, n) >> 8).to(torch.float32) * (1.0 / (1 << 24))

    def integers(self, op: int, slot: int, low: int, high: int, n: int = 1) -> torch.Tensor:
        """``(B, n)`` int64 uniform in ``low..high`` (inclusive): ``low + (bits * m) >> 32``
        with ``m = high - low + 1`` (Lemire's multiply-shift; ``m`` <= 2**31)."""
        m = high - low + 1
        if not 1 <= m <= 2**31:
            raise ValueError(f"augment: integer range {low}..{high} out of bounds")
        return low + ((self.bits(op, slot, n) * m) >> 32)
