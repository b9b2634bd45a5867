"""The frames stage for image datasets (MNIST, Fashion-MNIST, CIFAR-10): read, check, store.

Each split's images are read from the unpacked official files (:mod:`pipeline.io.idx`,
:mod:`pipeline.io.cifar`) in the official order, checked against the registry (image shape,
label range, sample counts) and stored once, as they are, in the frames file's HDF5 contract
(:mod:`pipeline.core.store`):

    frames     (N, C, H, W) uint8   the raw pixels 0..255, one image per chunk
    labels     (N,) int64           class index from 0
    recording  (N,) str             the file the image is in (``train-images-idx3-ubyte``, ``data_batch_3``)
    label_row  (N,) int32           the image's index in that file
    n_events   (N,) int64           0: an image has no events
    attrs      dataset, split, kind = "images", T, channels, height, width, classes,
               source_archives, source_md5, params, version

``T`` is ``frames.T``, the time steps the network repeats each image for: recorded here so
training reads it from the file, as for event frames. Normalisation and augmentation happen in
training, not here. Images are compressed in worker processes (``frames.workers``) and stored
in order, so the file is byte-identical whatever the worker count.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..datasets import DatasetSpec
from ..core.errors import ImageFormatError, LayoutError
from ..io.cifar import read_cifar_batch
from ..io.idx import read_idx
from ..core.parallel import ordered_map
from ..core.params import Params
from ..core.source import Source
from ..core.store import FrameWriter, encoder

IMAGE_DTYPE = np.uint8
_IDX_LABELS_HEADER = 8          # magic + one dimension: byte offset of label 0 in an idx file
_BLOCK = 1024                   # images per worker task


@dataclass(frozen=True)
class Part:
    """The images of one source file, with their labels."""

    path: Path                  # the file; its name is stored per image as ``recording``
    images: np.ndarray          # (n, C, H, W) uint8
    labels: np.ndarray          # (n,) int64


@dataclass
class ImageSummary:
    samples: int
    shape: tuple[int, int, int]
    seconds: float
    events: int = 0             # images have none (as make_frames' event summaries count them)

    def line(self, name: str) -> str:
        rate = self.samples / self.seconds if self.seconds > 0 else float("nan")
        C, H, W = self.shape
        return (f"frames[{name}]: {self.samples} images of {C}x{H}x{W} uint8 in {self.seconds:.1f} s "
                f"({rate:,.0f} images/s)")


def find_file(raw_dir: Path, name: str) -> Path:
    """The one file called ``name`` under ``raw_dir`` (where the download stage unpacked it)."""
    found = sorted(p for p in raw_dir.rglob(name) if p.is_file())
    if len(found) != 1:
        what = "no file" if not found else f"{len(found)} files ({', '.join(map(str, found[:3]))})"
        raise LayoutError(f"{raw_dir}: expected one file {name}, found {what}; rerun the download "
                          "stage (dvc repro --force download)")
    return found[0]


def _idx_part(raw_dir: Path, files: dict, spec: DatasetSpec) -> Part:
    images_path, labels_path = find_file(raw_dir, files["images"]), find_file(raw_dir, files["labels"])
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


def read_split(raw_dir: str | Path, spec: DatasetSpec, split: str) -> list[Part]:
    """The split's source files in the official order, read and checked against ``spec``."""
    raw_dir = Path(raw_dir)
    layout = spec.layout
    if layout.get("kind") == "idx":
        parts = [_idx_part(raw_dir, layout[split], spec)]
    elif layout.get("kind") == "cifar":
        parts = []
        for name in layout[split]:
            path = find_file(raw_dir, name)
            parts.append(Part(path, *read_cifar_batch(path)))
    else:
        raise LayoutError(f"dataset {spec.name}: unknown image layout {layout!r}")
    shape = (spec.channels, *spec.sensor_size)
    for part in parts:
        if part.images.shape[1:] != shape:
            raise ImageFormatError(f"{part.path}: images of shape {part.images.shape[1:]}, "
                                   f"{spec.name} has {'x'.join(map(str, shape))} (C x H x W)")
        if part.labels.size and part.labels.max() >= len(spec.classes):
            raise ImageFormatError(f"{part.path}: label {part.labels.max()} is outside "
                                   f"0..{len(spec.classes) - 1}")
    return parts


def _encode_block(images: np.ndarray) -> list[tuple[int, bytes]]:
    """Worker: each image of ``images`` (k, C, H, W) compressed as the file stores it."""
    encode = encoder(images.shape[1:], IMAGE_DTYPE).encode
    return [encode(image) for image in images]


def _blocks(parts: list[Part]) -> Iterator[np.ndarray]:
    for part in parts:
        for i in range(0, len(part.images), _BLOCK):
            yield part.images[i:i + _BLOCK]


def write_split(parts: list[Part], out: str | Path, attrs: dict, workers: int = 0,
                desc: str = "frames") -> ImageSummary:
    """Store the images of ``parts`` (in order) in the HDF5 file ``out``."""
    n = sum(len(p.images) for p in parts)
    shape = tuple(int(s) for s in parts[0].images.shape[1:]) if parts else (0, 0, 0)
    blocks = sum(-(-len(p.images) // _BLOCK) for p in parts)
    workers = min(workers or os.cpu_count() or 1, max(blocks, 1))
    started = time.perf_counter()
    with FrameWriter(out, n, shape, attrs, dtype=IMAGE_DTYPE) as writer, \
            tqdm(total=n, desc=desc, unit="image") as bar, \
            ordered_map(_encode_block, _blocks(parts), workers) as encoded:
        rows = ((p.path.name, i, int(label)) for p in parts for i, label in enumerate(p.labels))
        for block in encoded:
            for chunk, (recording, row, label) in zip(block, rows):
                writer.write_encoded(chunk, label, recording, row, 0)
            bar.update(len(block))
    return ImageSummary(n, shape, time.perf_counter() - started)


def make_images(params: Params, raw_dir: str | Path, out_dir: str | Path, spec: DatasetSpec,
                source: Source) -> dict[str, ImageSummary]:
    """Both splits of the image dataset unpacked in ``raw_dir`` -> ``out_dir/{train,test}.h5``."""
    T = params.frames.T
    C, (H, W) = spec.channels, spec.sensor_size
    attrs = {"dataset": spec.name, "kind": "images", "T": T, "channels": C, "height": H, "width": W,
             "classes": list(spec.classes), "source_archives": [a.name for a in source.archives],
             "source_md5": [a.md5 for a in source.archives],
             # every param the file depends on (split_by, downsample do not apply to images)
             "params": json.dumps({"dataset": spec.name, "frames": {"T": T}}, sort_keys=True)}
    out = {}
    for split in ("train", "test"):
        parts = read_split(raw_dir, spec, split)
        n = sum(len(p.images) for p in parts)
        expected = (source.expected or {}).get(split)
        if expected is not None and n != expected:
            raise LayoutError(f"frames[{split}]: found {n} images, expected {expected}; "
                              "the download is incomplete or not the official one")
        s = out[split] = write_split(parts, Path(out_dir) / f"{split}.h5", dict(attrs, split=split),
                                     params.frames.workers, desc=f"frames[{split}]")
        print(s.line(split))
    return out
