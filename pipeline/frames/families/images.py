"""The images family (MNIST, Fashion-MNIST, CIFAR-10): static images, stored once as they are.

Each split's images are read from the unpacked official files (:mod:`pipeline.io.idx`,
:mod:`pipeline.io.cifar`) in the official order and checked against the registry (image shape,
label range). A unit is a block of up to :data:`BLOCK` images of one file; the family has the
driver store them as they are, :data:`IMAGE_DTYPE` ``(C, H, W)`` samples (``recording``: the
file, ``label_row``: the image's index in it, ``n_events``: 0), with none of the event frames'
params (``frames.T`` alone) and the metadata ``image`` (the steps T the network repeats each
image, its normalisation and training augmentation). Normalisation and augmentation happen in
training, not here.

The files are parsed once per process: in the parent while listing, and (forked) workers
find them parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.errors import ImageFormatError, LayoutError
from ...datasets.spec import DatasetSpec
from ...io.cifar import read_cifar_batch
from ...io.idx import read_idx
from .base import Family, Item, Unit

_IDX_LABELS_HEADER = 8          # magic + one dimension: byte offset of label 0 in an idx file
BLOCK = 1024                    # images per unit
IMAGE_DTYPE = np.uint8          # what an image is stored as


@dataclass(frozen=True)
class Part:
    """The images of one source file, with their labels."""

    path: Path                  # the file; its name is stored per image as ``recording``
    images: np.ndarray          # (n, C, H, W) uint8
    labels: np.ndarray          # (n,) int64


def find_file(raw_dir: Path, name: str) -> Path:
    """The one file called ``name`` under ``raw_dir`` (where the download stage unpacked it)."""
    found = sorted(p for p in raw_dir.rglob(name) if p.is_file())
    if len(found) != 1:
        what = "no file" if not found else f"{len(found)} files ({', '.join(map(str, found[:3]))})"
        raise LayoutError(f"{raw_dir}: expected one file {name}, found {what}; rerun the download "
                          "stage (dvc repro --force download)")
    return found[0]


def _idx_part(raw_dir: Path, files: tuple[str, str], spec: DatasetSpec) -> Part:
    images_path, labels_path = find_file(raw_dir, files[0]), find_file(raw_dir, files[1])
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise ImageFormatError(f"{images_path}: {images.ndim} dimensions, expected 3 (an images file)")
    if labels.ndim != 1:
        raise ImageFormatError(f"{labels_path}: {labels.ndim} dimensions, expected 1 (a labels file)")
    if len(labels) != len(images):
        raise ImageFormatError(f"{labels_path}: {len(labels)} labels for the {len(images)} images of "
                               f"{images_path}")
    bad = np.flatnonzero(labels >= len(spec.classes))
    if bad.size:
        i = int(bad[0])
        raise ImageFormatError(f"{labels_path}: byte offset {_IDX_LABELS_HEADER + i}: label {labels[i]} of "
                               f"image {i} is outside 0..{len(spec.classes) - 1}")
    return Part(images_path, images[:, None], labels.astype(np.int64))


_READERS = {"idx": lambda raw_dir, files, spec: [_idx_part(raw_dir, files, spec)],
            "cifar": lambda raw_dir, files, spec: [Part(find_file(raw_dir, n), *read_cifar_batch(find_file(raw_dir, n)))
                                                   for n in files]}


def read_split(raw_dir: str | Path, spec: DatasetSpec, split: str) -> list[Part]:
    """The split's source files in the official order, read and checked against ``spec``."""
    raw_dir = Path(raw_dir)
    layout = spec.layout
    reader = _READERS.get(layout.format)
    if reader is None:
        raise LayoutError(f"dataset {spec.name}: unknown image format {layout.format!r}")
    parts = reader(raw_dir, layout.files(split), spec)
    shape = (spec.channels, *spec.sensor_size)
    for part in parts:
        if part.images.shape[1:] != shape:
            raise ImageFormatError(f"{part.path}: images of shape {part.images.shape[1:]}, "
                                   f"{spec.name} has {'x'.join(map(str, shape))} (C x H x W)")
        if part.labels.size and part.labels.max() >= len(spec.classes):
            raise ImageFormatError(f"{part.path}: label {part.labels.max()} is outside "
                                   f"0..{len(spec.classes) - 1}")
    return parts


_PARTS: dict[str, Part] = {}     # this process's parsed files, by path


class ImagesFamily(Family):
    what = "images"
    unit = "image"

    def splits(self) -> dict[str, list[Unit]]:
        _PARTS.clear()
        out = {}
        for split in ("train", "test"):
            units = []
            for part in read_split(self.raw_dir, self.spec, split):
                _PARTS[str(part.path)] = part
                name = part.path.name
                for a in range(0, len(part.images), BLOCK):
                    b = min(a + BLOCK, len(part.images))
                    items = tuple(Item(int(part.labels[i]), name, i) for i in range(a, b))
                    units.append(Unit(str(part.path), items, (str(part.path), a, b)))
            out[split] = units
        return out

    def read(self, unit: Unit) -> np.ndarray:
        path, a, b = unit.ref
        if path not in _PARTS:                   # a worker that did not inherit the parent's parse
            for part in read_split(self.raw_dir, self.spec, "train") + read_split(self.raw_dir, self.spec, "test"):
                _PARTS[str(part.path)] = part
        return _PARTS[path].images[a:b]

    def meta(self) -> dict:
        layout = self.spec.layout
        C, (H, W) = self.spec.channels, self.spec.sensor_size
        T = self.params.frames.T
        # ``image``: what training needs to feed the network an image (the steps it repeats it,
        # the normalisation of x / 255, the training augmentation), so it needs no registry
        return {"kind": "images", "T": T, "channels": C, "height": H, "width": W,
                "image": {"steps": T, **layout.normalisation(), "augment": layout.augment}}

    def close(self) -> None:
        _PARTS.clear()

    # what is stored of a sample: the image as it is, not event frames

    def frames_settings(self, fp) -> tuple[dict, dict, dict]:
        # split_by, representation, downsample, filters do not apply to images
        return {}, {"T": fp.T}, {}

    def check_job(self, job) -> None:
        """Nothing to refuse: no frames param applies to images."""

    def sample_shape(self, job) -> tuple[int, ...]:
        return (self.spec.channels, *self.spec.sensor_size)

    def sample_dtype(self, job) -> np.dtype:
        return np.dtype(IMAGE_DTYPE)

    def samples(self, unit: Unit, job, encode) -> list[tuple[object, int]]:
        return [(encode(image), 0) for image in self.read(unit)]

    def warm_up(self, job) -> None:
        """No kernel to start."""

    def summary_shape(self, job) -> tuple[int, ...]:
        return tuple(job.shape)
