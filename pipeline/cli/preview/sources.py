"""What a preview shows: a sample of an HDF5 frames file, or an event file integrated into frames."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...frames.integration import integrate
from ...io import read_events
from ...core.errors import LayoutError
from ...core.frameparams import input_scale, representation
from ...core.store import open_frames, read_field, read_frames, read_meta
from .render import PreviewError, check_frames


DEFAULT_T = 8

#: Sensor sizes (H, W) that an inferred size is rounded up to, smallest area first.
COMMON_SENSORS = (
    (34, 34),      # N-MNIST (ATIS saccades)
    (128, 128),    # DVS128
    (180, 240),    # DAVIS240
    (240, 304),    # ATIS (Gen1 automotive)
    (240, 320),
    (260, 346),    # DAVIS346
    (480, 640),    # DVXplorer, Samsung DVS Gen3
    (720, 1280),   # Prophesee Gen4
)

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class Shown(NamedTuple):
    """Frames to draw, with the name and caption they are drawn under, and what their values
    are (``counts``, ``voxel_grid``, ``binarep``: :mod:`.render` draws each its way)."""

    frames: np.ndarray
    base: str
    title: str
    representation: str = "counts"


def shown_values(frames: np.ndarray, meta: dict, path: Path) -> tuple[np.ndarray, str]:
    """``(values, representation)`` of a frames file's stored sample, as the network sees them:
    counts and voxel grids as stored, Bina-Rep codes divided by ``2**n_bits - 1`` (float32 in
    [0, 1], Tonic's values). An unknown representation or a Bina-Rep file without its
    ``n_bits`` is a PreviewError naming the file."""
    try:                                  # the reading training does (one check of the metadata)
        kind, scale = representation(meta), input_scale(meta, path)
    except LayoutError as e:
        raise PreviewError(str(e)) from None
    return (frames if scale is None else frames.astype(np.float32) / np.float32(scale)), kind


def check_input(path: str | Path) -> Path:
    """``path`` as a Path when it names an existing regular file, else a one-line refusal."""
    path = Path(path)
    if not path.exists():
        raise PreviewError(f"{path}: no such file")
    if not path.is_file():
        raise PreviewError(f"{path}: not a file")
    return path


def is_hdf5(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == HDF5_SIGNATURE


def infer_sensor_size(events: np.ndarray) -> tuple[int, int]:
    """``(max y + 1, max x + 1)`` rounded up to the smallest common sensor that holds it."""
    if events.size == 0:
        raise PreviewError("cannot infer the sensor size from zero events; give it explicitly")
    h, w = int(events["y"].max()) + 1, int(events["x"].max()) + 1
    for H, W in COMMON_SENSORS:
        if h <= H and w <= W:
            return H, W
    return h, w


def merge_bins(frames: np.ndarray, T: int, path: Path, representation: str = "counts") -> np.ndarray:
    """Sum adjacent frames of a ``T0``-frame sample into ``T`` frames (``T`` must divide ``T0``);
    Bina-Rep frames are not summed (a sum of them is no Bina-Rep value): only ``T = T0``."""
    T0 = frames.shape[0]
    if T == T0:
        return frames
    if representation == "binarep":
        raise PreviewError(f"{path}: Bina-Rep frames (T = {T0}) are drawn as they are; --T {T} would sum them")
    if T < 1 or T0 % T:
        raise PreviewError(f"{path}: its samples have T = {T0} frames; T = {T} does not divide it")
    return frames.reshape(T, T0 // T, *frames.shape[1:]).sum(axis=1, dtype=frames.dtype)


def frames_sample(path: Path, index: int, T: int | None) -> Shown:
    """Sample ``index`` of a frames file (negative counts from the end), its frames summed to ``T``."""
    with open_frames(path) as f:
        n = f["frames"].shape[0]
        if not -n <= index < n:
            raise PreviewError(f"{path}: sample index {index} out of range (the file holds {n} samples)")
        index %= n
        if read_meta(f).get("image"):
            raise PreviewError(f"{path}: a file of static images (dataset {read_meta(f).get('dataset')}), not event "
                               "frames; preview draws event frames only")
        meta = read_meta(f)
        frames, kind = shown_values(read_frames(f, index), meta, path)
        label = int(read_field(f, "labels")[index])
        classes = meta.get("classes")
    if T is not None:
        frames = merge_bins(frames, int(T), path, kind)
    cls = classes[label] if isinstance(classes, list) and 0 <= label < len(classes) else None
    base = f"{path.stem}_{index:04d}_" + (cls if cls is not None else f"label{label}")
    title = f"{path.name} #{index}" + (f": {cls}" if cls else "") + f" (label {label})"
    if kind == "voxel_grid":
        top = float(np.max(np.abs(frames))) if frames.size else 0.0
        title += f", voxel grid, colours ±{top:.3g}"
    elif kind == "binarep":
        title += f", Bina-Rep {meta['n_bits']} bits"
    return Shown(frames, base, title, kind)


def event_file(path: Path, T: int | None, split_by: str, sensor_size: tuple[int, int] | None) -> Shown:
    """Every event of an event file (any format :func:`pipeline.io.read_events` reads) in ``T`` frames."""
    T = DEFAULT_T if T is None else int(T)
    check_frames(T, *(int(s) for s in sensor_size or (1, 1)))     # before reading anything
    events = read_events(path)
    if sensor_size is None:
        try:
            sensor_size = infer_sensor_size(events)
        except PreviewError as e:
            raise PreviewError(f"{path}: {e}") from None
        check_frames(T, *sensor_size, what=f"{path}: inferred from its events")
    if split_by == "time" and events.size > 1 and np.any(np.diff(events["t"]) < 0):
        events = events[np.argsort(events["t"], kind="stable")]
    try:
        frames = integrate(events, T, split_by, tuple(int(s) for s in sensor_size))
    except ValueError as e:
        raise PreviewError(f"{path}: {e}") from None
    H, W = sensor_size
    return Shown(frames, f"{path.stem}_T{T}_{split_by}",
                 f"{path.name}: {events.size} events, {H}x{W}, T={T} by {split_by}")
