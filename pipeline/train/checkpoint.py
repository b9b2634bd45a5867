"""Checkpoints: atomic writes, random-number-generator states, and the resume decision.

A resume checkpoint holds everything a run needs to continue as if it had never stopped:
model, optimizer, scheduler, gradient scaler, the epoch, the per-epoch log, the best epochs
so far (with the selected weights), and the RNG states of every rank (torch CPU and CUDA,
numpy, python ``random``, the DataLoader's generator). The data order needs no state of its
own: DistributedSampler draws epoch e's permutation from ``seed + e``.

Every value is a tensor or plain Python data, so ``torch.load(weights_only=True)`` reads it;
:func:`load_checked`, which the train stage (a checkpoint) and the evaluate stage and the NIR
export (a model) read with, first checks the zip's CRCs and bounds the pickle (:data:`PICKLE_LIMITS`).
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..core.atomic import atomic_path
from ..core.picklecheck import Limits, PickleRefused, check_pickle

FORMAT = 2

#: bounds on a model's or checkpoint's ``data.pkl`` before torch unpickles it (a tuple nested 10**6
#: deep ended the process with SIGSEGV). Measured on files the train stage wrote: a checkpoint of
#: the paper's largest network after 1024 epochs on 16 processes nests 8 deep in 75,248 opcodes and
#: 465 KB, its model.pt 6 deep in 1,659 opcodes; nothing torch.save writes holds a cycle.
PICKLE_LIMITS = Limits(depth=100, opcodes=2_000_000, size=64 << 20, cycles=False)


def atomic_save(obj, path: str | Path) -> None:
    """``torch.save`` under a temporary name, flushed to disk, then renamed over ``path``."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checked(path: str | Path):
    """``torch.load(path, weights_only=True)`` of a zip (``torch.save``'s format) whose every
    member first passed its zip CRC-32 (torch's reader does not check them: a flipped byte in a
    tensor loaded as a different weight) and whose every pickle (``*/data.pkl``) is within
    :data:`PICKLE_LIMITS` (:mod:`pipeline.core.picklecheck`). Raises ``ValueError`` (a
    :class:`~pipeline.core.picklecheck.PickleRefused` for a pickle) naming the member and what is
    wrong, on one line, or what torch raises."""
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError("not a zip archive as torch.save writes (a legacy or foreign file is not "
                         "unpickled)") from None
    with z:
        damaged = z.testzip()
        if damaged is not None:
            raise ValueError(f"member {damaged} fails its CRC-32")
        for info in z.infolist():
            if info.filename.endswith(".pkl"):
                if info.file_size > PICKLE_LIMITS.size:
                    raise ValueError(f"member {info.filename}: a pickle of {info.file_size} bytes, more "
                                     f"than {PICKLE_LIMITS.size}; refused before torch.load")
                try:
                    check_pickle(z.read(info), PICKLE_LIMITS)
                except PickleRefused as e:
                    raise PickleRefused(e.offset, f"{e.what}; refused before torch.load",
                                        f"member {info.filename}") from None
    return torch.load(path, map_location="cpu", weights_only=True)


def rng_state(loader_generator: torch.Generator) -> dict:
    """This process's random states, as tensors and lists."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
            "python": [version, list(internal), gauss_next],
            "loader": loader_generator.get_state()}


def set_rng_state(state: dict, loader_generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    loader_generator.set_state(state["loader"])


def load_resumable(path: str | Path, config: dict, world_size: int) -> tuple[dict | None, str]:
    """The checkpoint at ``path`` if it continues a run of ``config`` on ``world_size`` ranks,
    else None; and a line saying why."""
    path = Path(path)
    if not path.is_file():
        return None, "no checkpoint, starting fresh"
    try:
        ckpt = load_checked(path)
    except Exception as e:                      # noqa: BLE001 - a damaged file means start over
        return None, f"{path} unreadable ({type(e).__name__}: {e}), starting fresh"
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or ckpt.get("config") != config:
        return None, f"{path} is from another configuration, starting fresh"
    if ckpt.get("world_size") != world_size:
        return None, (f"{path} was written by {ckpt.get('world_size')} processes, this run has "
                      f"{world_size}: starting fresh (random states are per process)")
    return ckpt, f"resuming from {path} after epoch {ckpt['epoch']}"
