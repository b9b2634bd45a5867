"""``preview --augment``: a frames file's sample as params' ``train.augment`` transforms it in
epochs 1..N, drawn as the rows of one PNG grid (the original first) and a GIF cycling through them.

What is drawn is what training feeds the network: :func:`pipeline.train.augment.augment_events`
with ``train.seed``, the epoch and the samples' indices in the file. Every op but ``cutmix``
draws from ``(seed, epoch, index)`` alone, so those rows are exactly training's for that sample,
whatever its batch. ``cutmix`` takes a rectangle from a partner in the same batch: here the
sample is augmented in a batch of itself and the next :data:`PARTNERS` samples of the file (in
that order, wrapping at the end), so a mixed row is what training does when the sample's batch
is that one; in training its batch is a shuffled draw of the training set, so its partner and
the share differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...core.atomic import check_target
from ...core.store import open_frames, read_field, read_frames, read_meta
from .render import (PreviewError, check_fps, check_name, check_size, default_scale, default_vmax, draw_label, grid,
                     legend, render_frames, safe_name, write_outputs)
from .sources import check_input, frames_sample, is_hdf5, merge_bins, shown_values

__all__ = ["MAX_EPOCHS", "PARTNERS", "Augmented", "augment_rows", "augmented_sample", "batch_indices",
           "preview_augmented"]

PARTNERS = 3          # samples augmented with the shown one, so that cutmix has partners
DEFAULT_EPOCHS = 4
MAX_EPOCHS = 16       # rows of augmented epochs, at most


class Augmented(NamedTuple):
    """A sample and its augmented epochs, ready to draw."""

    frames: np.ndarray          # (1 + epochs, T, C, H, W) float32: the original, then epochs 1..N
    targets: np.ndarray         # (epochs, num_classes) float32: each epoch's training target
    label: int                  # the sample's label
    batch: list[int]            # the file indices augmented together, the sample's first
    classes: list[str] | None   # class names of the file, where it has them
    base: str                   # the plain preview's output base name of the sample
    title: str                  # and its caption
    representation: str = "counts"   # what the values are (Bina-Rep: already in [0, 1], as training sees them)


def batch_indices(index: int, n: int, partners: int = PARTNERS) -> list[int]:
    """The sample ``index`` of a file of ``n`` samples and the next ``partners`` ones, wrapping
    at the end; fewer where the file holds fewer."""
    return [(index + k) % n for k in range(min(n, partners + 1))]


def augment_rows(frames: np.ndarray, labels, indices, ops, *, seed: int, epochs: int,
                 num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(frames, targets)`` of the batch's first sample after ``ops`` at epochs ``1..epochs``:
    ``(epochs, T, C, H, W)`` float32 and ``(epochs, num_classes)``. ``frames`` ``(B, T, C, H, W)``
    is a batch (the sample first), ``labels`` and ``indices`` its samples' labels and file
    indices; each epoch runs :func:`~pipeline.train.augment.augment_events` on the whole batch,
    as training does."""
    import torch

    from ...train.augment import augment_events

    x = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))
    y = torch.as_tensor(np.asarray(labels, np.int64))
    idx = torch.as_tensor(np.asarray(indices, np.int64))
    rows, targets = [], []
    for epoch in range(1, int(epochs) + 1):
        out, t = augment_events(x, y, ops, seed=int(seed), epoch=epoch, indices=idx, num_classes=int(num_classes))
        rows.append(out[0].numpy())
        targets.append(t[0].numpy())
    return np.stack(rows), np.stack(targets)


def check_epochs(epochs) -> int:
    try:
        value = int(epochs)
    except (TypeError, ValueError):
        raise PreviewError(f"--epochs {epochs!r}: not an integer") from None
    if not 1 <= value <= MAX_EPOCHS:
        raise PreviewError(f"--epochs {epochs}: must be from 1 to {MAX_EPOCHS}")
    return value


def load_augment(params: str | Path):
    """``(ops, seed)`` of a params file's ``train.augment`` and ``train.seed``, the file validated
    as every stage validates it; an empty list is refused (nothing to show)."""
    from ...params import load_params

    p = load_params(params)
    if not p.train.augment:
        raise PreviewError(f"train.augment is empty in {params}: nothing to show")
    return p.train.augment, p.train.seed


def augmented_sample(path: str | Path, index: int, ops, *, seed: int, epochs: int = DEFAULT_EPOCHS,
                     partners: int = PARTNERS) -> Augmented:
    """Sample ``index`` of the frames file ``path`` (negative counts from the end) and what
    ``ops`` make of it at epochs ``1..epochs`` in a batch with the next ``partners`` samples."""
    path = Path(path)
    epochs = check_epochs(epochs)
    shown = frames_sample(path, int(index), None)    # checks the index and refuses image files
    with open_frames(path) as f:
        n = f["frames"].shape[0]
        index = int(index) % n
        all_labels = read_field(f, "labels")
        meta = read_meta(f)
        classes = meta.get("classes")
        batch = batch_indices(index, n, partners)
        frames = np.stack([shown.frames] + [shown_values(read_frames(f, i), meta, path)[0] for i in batch[1:]])
    labels = np.asarray(all_labels, np.int64)[batch]
    classes = [str(c) for c in classes] if isinstance(classes, list) else None
    num_classes = max(len(classes) if classes else 0, int(np.max(all_labels)) + 1 if len(all_labels) else 1)
    rows, targets = augment_rows(frames, labels, batch, ops, seed=seed, epochs=epochs, num_classes=num_classes)
    return Augmented(np.concatenate([frames[:1].astype(np.float32), rows]), targets, int(labels[0]), batch, classes,
                     shown.base, shown.title, shown.representation)


def _class_name(k: int, classes: list[str] | None) -> str:
    return classes[k] if classes and 0 <= k < len(classes) else f"label {k}"


def row_labels(aug: Augmented) -> list[str]:
    """"original", then "epoch e" for each augmented row; a row whose target is not one-hot (cutmix
    mixed it with a partner of another class) adds the target's shares on a second line."""
    out = ["original"]
    for e, t in enumerate(aug.targets, 1):
        text = f"epoch {e}"
        if t.max() < 1:
            shares = sorted(((float(v), k) for k, v in enumerate(t) if v > 0), reverse=True)
            text += "\n" + ", ".join(f"{v:.2f} {_class_name(k, aug.classes)}" for v, k in shares)
        out.append(text)
    return out


def save_augmented(aug: Augmented, out_png: Path, out_gif: Path, *, T: int | None = None, scale: int | None = None,
                   fps: float = 4.0, title: str | None = None, path: Path | None = None) -> tuple[Path, Path]:
    """Write the PNG grid (one row per row of ``aug``, one column per time step, the first cell of
    a row labelled with the row's name, the others with their time step) and a looping GIF of one
    frame per row, its T frames summed. ``T`` (a divisor of the file's) sums adjacent frames for
    the drawing, after the augmentation (which, as training, runs on the file's frames)."""
    fps = check_fps(fps)
    frames = aug.frames
    if T is not None:
        frames = np.stack([merge_bins(r, int(T), path or Path("frames"), aug.representation) for r in frames])
    R, T, _, H, W = frames.shape
    scale = default_scale(H) if scale is None else int(scale)
    if scale < 1:
        raise PreviewError(f"--scale {scale}: must be at least 1")
    try:
        check_size(R * T, H, W, scale, T, title)
    except PreviewError as e:
        raise PreviewError(f"--augment: {R} rows of {T} frames: {e}") from None
    out_png, out_gif = check_target(out_png, "file"), check_target(out_gif, "file")
    names = row_labels(aug)

    kind = aug.representation
    vmax = default_vmax(frames[0], kind)               # the original's scale for every row: comparable
    cells = []
    for r, row in enumerate(frames):
        for t, im in enumerate(render_frames(row, scale, vmax, kind)):
            draw_label(im, names[r] if t == 0 else str(t))
            cells.append(im)
    sheet = grid(cells, T, title=title, labels=False, key=legend(kind))
    sums = frames.sum(axis=1)                          # (R, C, H, W): each row's T frames in one
    # a sum of Bina-Rep values is no Bina-Rep value: drawn as counts are, to its robust maximum
    sum_kind = "counts" if kind == "binarep" else kind
    svmax = default_vmax(sums[0][None], sum_kind)
    anim = []
    for r, s in enumerate(sums):
        (im,) = render_frames(s[None], scale, svmax, sum_kind)
        draw_label(im, names[r].replace("\n", ": ") + (f" ({r}/{R - 1})" if r else ""))
        anim.append(im)
    return write_outputs(sheet, anim, out_png, out_gif, fps)


def preview_augmented(path: str | Path, out_dir: str | Path, *, params: str | Path = "params.yaml",
                      epochs: int = DEFAULT_EPOCHS, index: int = 0, T: int | None = None,
                      scale: int | None = None, fps: float = 4.0, name: str | None = None,
                      title: bool = True) -> tuple[Path, Path]:
    """``preview FILE --augment``: sample ``index`` of the frames file ``path`` as ``params``'
    ``train.augment`` transforms it at epochs ``1..epochs``; write ``<base>_augment.png`` (or
    ``<name>.png``) and its ``.gif`` in ``out_dir``, return both paths."""

    if name is not None:
        check_name(name)
    epochs = check_epochs(epochs)
    out_dir = check_target(out_dir, "folder", "--out")
    path = check_input(path)
    if not is_hdf5(path):
        raise PreviewError(f"{path}: not an HDF5 frames file; --augment shows a sample of a frames file "
                           "(e.g. data/frames/train.h5) as training augments it")
    ops, seed = load_augment(params)
    aug = augmented_sample(path, index, ops, seed=seed, epochs=epochs)
    stem = safe_name(name if name is not None else f"{aug.base}_augment")
    caption = None
    if title:
        caption = f"{aug.title}, train.augment of {Path(params).name}, seed {seed}, epochs 1-{epochs}"
        if any("cutmix" in op for op in ops):
            caption += ("; cutmix partners: " + " ".join(f"#{i}" for i in aug.batch[1:])) if len(aug.batch) > 1 \
                else "; cutmix: no partner (one sample)"
    return save_augmented(aug, out_dir / f"{stem}.png", out_dir / f"{stem}.gif", T=T, scale=scale, fps=fps,
                          title=caption, path=path)
