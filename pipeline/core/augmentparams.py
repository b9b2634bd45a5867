"""The training augmentation ops' names and arguments, and the check of ``train.augment``
(no kernels here: :mod:`pipeline.train.augment.events` runs them).

``train.augment`` is an ordered list of one-key mappings, as ``frames.filters`` is
(:mod:`.oplist`): ``[{flip: {p: 0.5}}, {roll: {max_shift: 5}}]``. Each op transforms a whole
sample (all T frames, both polarities) the same way; each sample draws its own parameters.
"""

from __future__ import annotations

from .oplist import Arg, OpSpec, check_list

__all__ = ["MAX_SHIFT", "SPECS", "validate"]

#: the largest roll shift (pixels); frames are at most 65536 wide
MAX_SHIFT = 65536

_P = Arg("p", "number", "probability", min=0, max=1)

_SPEC_LIST = [
    OpSpec("flip", "left-right flip with probability p", "NDA, TET (torch.flip)", (_P,)),
    OpSpec("roll", "shift x and y by integers drawn independently from U{-k..k}, wrapping around (torch.roll)",
           "TET, NDA", (Arg("max_shift", "int", "pixels", min=0, max=MAX_SHIFT),)),
    OpSpec("rotate", "rotate about the centre by an angle from U(-d, d) degrees, nearest neighbour, zeros outside",
           "NDA (RandomRotation)", (Arg("degrees", "number", "degrees", min=0, max=180),)),
    OpSpec("shear", "x-shear about the centre row by a factor from U(-m, m), nearest neighbour, zeros outside",
           "NDA (RandomAffine shear)", (Arg("max", "number", "shear factor", min=0, max=100),)),
    OpSpec("cutout", "zero one rectangle of round(size H) x round(size W) pixels with a uniform centre, "
           "clipped at the border", "Cutout (DeVries & Taylor 2017)",
           (Arg("size", "number", "fraction of H and of W", min=0, max=1),)),
    OpSpec("drop", "EventDrop on frames: zero each time step (by: frames) or each pixel across all T and "
           "polarities (by: pixels) with probability p", "EventDrop (Gu et al. 2021)",
           (_P, Arg("by", "choice", "", required=False, default="frames", choices=("frames", "pixels")))),
    OpSpec("cutmix", "with probability p, a partner's rectangle (area from Beta(1, 1)) replaces this sample's in "
           "all T; targets mixed by the share of events (weight: events) or of area",
           "CutMix (Yun et al. 2019), EventMix (Shen et al. 2023)",
           (_P, Arg("weight", "choice", "", required=False, default="events", choices=("events", "area")))),
    OpSpec("nda", "NDA's policy: per sample one of roll (5/48 of the size), rotate (+-30 deg), x-shear "
           "(+-30 deg), each with probability 1/3", "NDA (Li et al. 2022), NDA_SNN functions/data_loaders.py", ()),
]

#: The ops by name, in the order the docs list them.
SPECS: dict[str, OpSpec] = {s.name: s for s in _SPEC_LIST}


def validate(ops, where: str = "augment") -> list[tuple[str, dict]]:
    """Check a whole ``train.augment`` list before any work; returns ``[(name, arguments with
    defaults filled in), ...]`` in order. Raises :class:`~pipeline.core.errors.ParamsError` in one
    line naming the entry, the op and the value: an unknown op or argument, p outside [0, 1],
    a negative shift or size, a size over 1, a ``by`` or ``weight`` not in its list."""
    return check_list(ops, SPECS, where, "op", "[{flip: {p: 0.5}}, {roll: {max_shift: 5}}]")
