"""Event-frame augmentation on the training device, each sample seeded by ``(seed, epoch, index)``.

:func:`augment_events` runs ``train.augment``'s ops (:mod:`pipeline.core.augmentparams` names
them and checks their arguments) on a batch of frames ``(B, T, C, H, W)``. Each op transforms a
whole sample, all T frames and both polarities, the same way (as NDA does); each sample draws its
own parameters from :class:`~.draws.Draws`, so its result depends on ``(seed, epoch, its index)``
and on nothing else: not its batch, the number of processes, the device or the loader's workers.
``cutmix`` is the exception by nature: it takes a rectangle from a partner in the same batch.

How the ops run: every spatial op (flip, roll, rotate, shear, cutout, ``drop`` by pixels, nda) is
a map from each output pixel to the input pixel it copies, or to none (a zero), per sample:
``(B, H*W)`` integers, cheap to build. Consecutive maps compose exactly (nearest neighbour copies
values, so map after map is one map), and the frames are gathered once per run of spatial ops:
one pass over ``B T C H W`` values however long the chain. ``drop`` by frames is a ``(B, T)``
mask, applied with that gather. ``cutmix`` needs the frames as the ops before it left them, so
it applies what is pending first. No op loops over samples or time steps in Python.

Coordinates: pixel centres at integers, the image centre at ``((H - 1) / 2, (W - 1) / 2)``;
``x`` is the last axis (width), ``y`` the one before. A source coordinate is rounded to the
nearest pixel, half to even (``torch.round``), in float64; outside the frame gives 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ...core.augmentparams import validate
from .draws import Draws

__all__ = ["NDA_ROLL", "NDA_ROTATE", "NDA_SHEAR", "augment_events"]

#: NDA_SNN's CIFAR10-DVS policy (functions/data_loaders.py L136-145 at d355bcb): one op per sample,
#: ``np.random.choice(['roll', 'rotate', 'shear'])``; roll ``random.randint(-5, 5)`` per axis on
#: 48 x 48 frames (L120, L139-141; here 5/48 of each side, rounded), ``RandomRotation(degrees=30)``
#: (L121), ``RandomAffine(degrees=0, shear=(-30, 30))`` (L122: an x-shear by an angle in degrees)
NDA_ROLL = 5 / 48
NDA_ROTATE = 30.0
NDA_SHEAR = 30.0


# --- per-sample maps: (B, H*W) int64, the source pixel y*W + x of each output pixel, -1: zero ----


def _grid(B: int, H: int, W: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    ys = torch.arange(H, dtype=torch.int64, device=device).view(1, H, 1).expand(B, H, W)
    xs = torch.arange(W, dtype=torch.int64, device=device).view(1, 1, W).expand(B, H, W)
    return ys, xs


def _index(sy: torch.Tensor, sx: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """``(B, H*W)``: ``sy*W + sx`` where inside the frame, else -1."""
    inside = (sy >= 0) & (sy < H) & (sx >= 0) & (sx < W)
    return torch.where(inside, sy * W + sx, -1).flatten(1)


def _affine(ys, xs, H, W, a, b, c, d) -> torch.Tensor:
    """The map of ``source = [[a, b], [c, d]] (output - centre) + centre`` in (x, y), per sample
    ``a..d`` (float64 ``(B,)``), rounded to the nearest pixel."""
    cy, cx = (H - 1) / 2, (W - 1) / 2
    dx, dy = xs.double() - cx, ys.double() - cy
    v = lambda t: t.view(-1, 1, 1)   # noqa: E731
    sx = torch.round(v(a) * dx + v(b) * dy + cx).long()
    sy = torch.round(v(c) * dx + v(d) * dy + cy).long()
    return _index(sy, sx, H, W)


def flip_map(draws: Draws, op: int, H: int, W: int, p: float) -> torch.Tensor:
    ys, xs = _grid(len(draws), H, W, draws.device)
    flip = (draws.uniform(op, 0)[:, 0] < p).view(-1, 1, 1)
    return _index(ys, torch.where(flip, W - 1 - xs, xs), H, W)


def _roll(ys, xs, H, W, sy, sx) -> torch.Tensor:
    """``torch.roll`` by ``(sy, sx)`` (``(B,)`` each): output ``i`` copies input ``(i - s) mod n``."""
    return _index((ys - sy.view(-1, 1, 1)) % H, (xs - sx.view(-1, 1, 1)) % W, H, W)


def roll_map(draws: Draws, op: int, H: int, W: int, max_shift: int) -> torch.Tensor:
    ys, xs = _grid(len(draws), H, W, draws.device)
    sx = draws.integers(op, 0, -max_shift, max_shift)[:, 0]
    sy = draws.integers(op, 1, -max_shift, max_shift)[:, 0]
    return _roll(ys, xs, H, W, sy, sx)


def _rotation(ys, xs, H, W, degrees: torch.Tensor) -> torch.Tensor:
    """Counter-clockwise as displayed (y down) by ``degrees``: output (x', y') copies
    ``x = cx + cos (x' - cx) - sin (y' - cy)``, ``y = cy + sin (x' - cx) + cos (y' - cy)``."""
    rad = degrees.double() * (math.pi / 180)
    cos, sin = torch.cos(rad), torch.sin(rad)
    return _affine(ys, xs, H, W, cos, -sin, sin, cos)


def rotate_map(draws: Draws, op: int, H: int, W: int, degrees: float) -> torch.Tensor:
    ys, xs = _grid(len(draws), H, W, draws.device)
    angle = (draws.uniform(op, 0)[:, 0].double() * 2 - 1) * degrees
    return _rotation(ys, xs, H, W, angle)


def _shear(ys, xs, H, W, factor: torch.Tensor) -> torch.Tensor:
    """x-shear about the centre row: output (x', y') copies ``(x' - factor (y' - cy), y')``."""
    one, zero = torch.ones_like(factor), torch.zeros_like(factor)
    return _affine(ys, xs, H, W, one, -factor, zero, one)


def shear_map(draws: Draws, op: int, H: int, W: int, max: float) -> torch.Tensor:  # noqa: A002
    ys, xs = _grid(len(draws), H, W, draws.device)
    return _shear(ys, xs, H, W, (draws.uniform(op, 0)[:, 0].double() * 2 - 1) * max)


def _box(ys, xs, y0, x0, h, w) -> torch.Tensor:
    """``(B, H, W)`` bool: rows ``y0 <= y < y0 + h`` and columns ``x0 <= x < x0 + w`` (per sample
    ``(B,)`` starts, sizes scalars or ``(B,)``); rows and columns outside the frame simply miss."""
    v = lambda t: t.view(-1, 1, 1) if torch.is_tensor(t) else t   # noqa: E731
    return (ys >= v(y0)) & (ys < v(y0) + v(h)) & (xs >= v(x0)) & (xs < v(x0) + v(w))


def cutout_map(draws: Draws, op: int, H: int, W: int, size: float) -> torch.Tensor:
    """Zero a ``round(size H) x round(size W)`` box (half to even) centred on a uniform pixel
    ``(cy, cx)``: rows ``cy - h // 2`` to ``cy - h // 2 + h - 1``, clipped at the border."""
    ys, xs = _grid(len(draws), H, W, draws.device)
    h, w = round(size * H), round(size * W)
    cy = draws.integers(op, 0, 0, H - 1)[:, 0]
    cx = draws.integers(op, 1, 0, W - 1)[:, 0]
    box = _box(ys, xs, cy - h // 2, cx - w // 2, h, w)
    return torch.where(box, -1, ys * W + xs).flatten(1)


def drop_pixels_map(draws: Draws, op: int, H: int, W: int, p: float) -> torch.Tensor:
    ys, xs = _grid(len(draws), H, W, draws.device)
    drop = draws.uniform(op, 0, H * W).view(-1, H, W) < p
    return torch.where(drop, -1, ys * W + xs).flatten(1)


def nda_map(draws: Draws, op: int, H: int, W: int) -> torch.Tensor:
    """NDA's policy (:data:`NDA_ROLL` and the rest): per sample one of roll, rotate, x-shear."""
    ys, xs = _grid(len(draws), H, W, draws.device)
    choice = draws.integers(op, 0, 0, 2)[:, 0].view(-1, 1)
    ky, kx = round(NDA_ROLL * H), round(NDA_ROLL * W)
    roll = _roll(ys, xs, H, W, draws.integers(op, 1, -ky, ky)[:, 0], draws.integers(op, 2, -kx, kx)[:, 0])
    rotate = _rotation(ys, xs, H, W, (draws.uniform(op, 3)[:, 0].double() * 2 - 1) * NDA_ROTATE)
    angle = (draws.uniform(op, 4)[:, 0].double() * 2 - 1) * (NDA_SHEAR * math.pi / 180)
    shear = _shear(ys, xs, H, W, torch.tan(angle))
    return torch.where(choice == 0, roll, torch.where(choice == 1, rotate, shear))


_MAPS = {"flip": flip_map, "roll": roll_map, "rotate": rotate_map, "shear": shear_map, "cutout": cutout_map,
         "nda": nda_map}


def compose(first: torch.Tensor, then: torch.Tensor) -> torch.Tensor:
    """The map of applying ``first`` and then ``then``: output p copies ``first[then[p]]``."""
    return torch.where(then >= 0, first.gather(1, then.clamp(min=0)), -1)


def apply(x: torch.Tensor, source: torch.Tensor | None, keep: torch.Tensor | None) -> torch.Tensor:
    """Frames ``x`` ``(B, T, C, H, W)`` through the pixel map ``source`` ``(B, H*W)`` (None: the
    identity) and the frame mask ``keep`` ``(B, T)`` (None: all kept): one gather."""
    if source is None and keep is None:
        return x
    B, T, C, H, W = x.shape
    out = x.reshape(B, T, C, H * W)
    if source is not None:
        index = source.clamp(min=0).view(B, 1, 1, H * W).expand(B, T, C, H * W)
        out = torch.where((source >= 0).view(B, 1, 1, H * W), out.gather(3, index), 0)
    if keep is not None:
        out = torch.where(keep.view(B, T, 1, 1), out, 0)
    return out.reshape(B, T, C, H, W)


def cutmix(x: torch.Tensor, targets: torch.Tensor, draws: Draws, op: int, p: float, weight: str):
    """CutMix (Yun et al., ICCV 2019; ``rand_bbox`` of clovaai/CutMix-PyTorch's train.py): with
    probability p, ``lam ~ Beta(1, 1)``, a box of ``int(H sqrt(1 - lam)) x int(W sqrt(1 - lam))``
    centred on a uniform pixel, its corners clipped (``clip(c - cut // 2, 0, n)`` to
    ``clip(c + cut // 2, 0, n)``), taken from a partner (another position of the batch, uniform)
    in all T. Targets: ``(1 - s) own + s partner`` with ``s`` the partner's share of the mixed
    sample's events (``weight: events``, as EventMix; of its absolute values for a voxel grid; the
    area share when it has none) or of its area (``weight: area``, CutMix's corrected ``lam``)."""
    B, T, C, H, W = x.shape
    if B < 2 or p == 0:
        return x, targets
    ys, xs = _grid(B, H, W, x.device)
    mix = draws.uniform(op, 0)[:, 0] < p
    cut = torch.sqrt(1 - draws.uniform(op, 1)[:, 0].double())
    ch, cw = torch.floor(H * cut).long(), torch.floor(W * cut).long()
    cy, cx = draws.integers(op, 2, 0, H - 1)[:, 0], draws.integers(op, 3, 0, W - 1)[:, 0]
    y0, y1 = (cy - ch // 2).clamp(0, H), (cy + ch // 2).clamp(0, H)
    x0, x1 = (cx - cw // 2).clamp(0, W), (cx + cw // 2).clamp(0, W)
    box = _box(ys, xs, y0, x0, y1 - y0, x1 - x0) & mix.view(B, 1, 1)          # (B, H, W)
    partner = (torch.arange(B, device=x.device) + 1 + draws.integers(op, 4, 0, B - 2)[:, 0]) % B
    other = x.index_select(0, partner)
    inside = box.view(B, 1, 1, H, W)
    mixed = torch.where(inside, other, x)
    area = box.flatten(1).sum(1).double() / (H * W)
    if weight == "events":
        # magnitudes: a voxel grid's signed values weigh as much as counts do
        theirs = torch.where(inside, other, 0).double().abs().sum((1, 2, 3, 4))
        total = theirs + torch.where(inside, 0, x).double().abs().sum((1, 2, 3, 4))
        share = torch.where(total > 0, theirs / torch.where(total > 0, total, 1), area)
    else:
        share = area
    share = share.to(targets.dtype).view(B, 1)
    return mixed, (1 - share) * targets + share * targets.index_select(0, partner)


def augment_events(frames: torch.Tensor, labels: torch.Tensor, ops, *, seed: int, epoch: int,
                   indices: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment a training batch: ``ops`` (``train.augment``'s list, e.g. ``[{"flip": {"p": 0.5}},
    {"roll": {"max_shift": 5}}]``) run in order on ``frames``.

    ``frames``: float ``(B, T, C, H, W)`` on any device, returned with the same shape, dtype and
    device. ``labels``: int64 ``(B,)``. ``indices``: int64 ``(B,)``, each sample's index in the
    training set, on any device. Sample i's draws depend on ``(seed, epoch, indices[i])`` alone
    (:class:`~.draws.Draws`). Returns ``(frames, targets)``: ``targets`` float32 ``(B,
    num_classes)``, each row summing to 1 (one-hot unless ``cutmix`` mixed the sample).
    An empty ``ops`` returns ``frames`` itself.
    """
    chain = validate(ops, where="augment")
    if not torch.is_tensor(frames) or frames.dim() != 5 or not frames.is_floating_point():
        raise ValueError(f"augment: frames must be a float (B, T, C, H, W) tensor, got "
                         f"{getattr(frames, 'dtype', type(frames).__name__)} {tuple(getattr(frames, 'shape', ()))}")
    B, T, C, H, W = frames.shape
    if labels.shape != (B,) or labels.dtype != torch.int64 or indices.shape != (B,):
        raise ValueError(f"augment: labels and indices must be int64 ({B},), got {labels.dtype} "
                         f"{tuple(labels.shape)} and {indices.dtype} {tuple(indices.shape)}")
    if not 1 <= num_classes <= 2**20:
        raise ValueError(f"augment: num_classes {num_classes} out of range")
    draws = Draws(int(seed), int(epoch), indices.to(torch.int64), frames.device)
    targets = F.one_hot(labels.to(frames.device), num_classes).to(torch.float32)
    x, source, keep = frames, None, None
    for op, (name, args) in enumerate(chain):
        if name == "cutmix":
            x, source, keep = apply(x, source, keep), None, None
            x, targets = cutmix(x, targets, draws, op, **args)
        elif name == "drop" and args["by"] == "frames":
            kept = draws.uniform(op, 0, T) >= args["p"]
            keep = kept if keep is None else keep & kept
        else:
            if name == "drop":
                m = drop_pixels_map(draws, op, H, W, args["p"])
            else:
                m = _MAPS[name](draws, op, H, W, **args)
            source = m if source is None else compose(source, m)
    return apply(x, source, keep), targets
