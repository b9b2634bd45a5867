"""Seeing the data: T-frame samples as a PNG grid and a looping GIF.

Colours: black background, ON events (channel 1) red-orange, OFF events (channel 0)
blue; a pixel with both gets the count-weighted blend of the two hues. Brightness is
proportional to the count divided by a robust maximum over the whole sample (the 99th
percentile of the non-zero counts, at least 1), so a single hot pixel does not dim
everything else; counts at or above it are drawn at full brightness.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ON_COLOUR = (255, 80, 40)
OFF_COLOUR = (40, 160, 255)
SEPARATOR = 2  # pixels between grid cells
SEPARATOR_COLOUR = (70, 70, 70)
LABEL_COLOUR = (200, 200, 200)
TITLE_HEIGHT = 20
MIN_HEIGHT = 256  # default scale makes each frame at least this tall
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


# --- rendering ----------------------------------------------------------------------


def robust_max(frames: np.ndarray) -> float:
    """The 99th percentile of the non-zero counts of ``frames``, at least 1."""
    nz = np.asarray(frames)[np.asarray(frames) > 0]
    if nz.size == 0:
        return 1.0
    return max(1.0, float(np.percentile(nz, 99)))


def _check_frames(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[1] != 2:
        raise ValueError(f"frames must have shape (T, 2, H, W), got {frames.shape}")
    return frames


def render_rgb(frames, vmax: float | None = None) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 colours of ``frames`` ``(T, 2, H, W)`` (no upscaling)."""
    frames = _check_frames(frames)
    vmax = robust_max(frames) if vmax is None else float(vmax)
    off = np.minimum(frames[:, 0].astype(np.float64) / vmax, 1.0)[..., None]
    on = np.minimum(frames[:, 1].astype(np.float64) / vmax, 1.0)[..., None]
    total = on + off
    weight = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
    # hue: the blend of the two colours weighted by count; brightness: the larger share
    hue = (on * np.array(ON_COLOUR) + off * np.array(OFF_COLOUR)) * weight
    rgb = hue * np.maximum(on, off)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def render_frames(frames, scale: int = 1, vmax: float | None = None) -> list[Image.Image]:
    """One RGB image per frame, each pixel a ``scale`` x ``scale`` block (nearest neighbour)."""
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    rgb = render_rgb(frames, vmax)
    if scale > 1:
        rgb = rgb.repeat(scale, axis=1).repeat(scale, axis=2)
    return [Image.fromarray(np.ascontiguousarray(im), "RGB") for im in rgb]


def default_scale(height: int, min_height: int = MIN_HEIGHT) -> int:
    return max(1, math.ceil(min_height / max(1, int(height))))


def default_cols(n: int) -> int:
    return max(1, min(n, max(4, math.ceil(math.sqrt(n)))))


def _font(size: int = 11):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def _label(im: Image.Image, text: str) -> None:
    """Write ``text`` small in the top-left corner, on a dark backing so it stays legible."""
    draw = ImageDraw.Draw(im)
    font = _font(max(8, min(11, im.height // 3)))
    x0, y0, x1, y1 = draw.textbbox((2, 1), text, font=font)
    draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), fill=(0, 0, 0))
    draw.text((2, 1), text, fill=LABEL_COLOUR, font=font)


def grid(images: list[Image.Image], cols: int | None = None, *, title: str | None = None,
         labels: bool = True) -> Image.Image:
    """Tile ``images`` (all the same size) ``cols`` per row, ``SEPARATOR`` px apart.

    Each cell gets its index written in the top-left corner; ``title`` adds a
    ``TITLE_HEIGHT`` px strip above the grid.
    """
    if not images:
        raise ValueError("grid: no images")
    cols = default_cols(len(images)) if cols is None else int(cols)
    if cols < 1:
        raise ValueError(f"grid: cols must be a positive integer, got {cols}")
    cols = min(cols, len(images))
    rows = math.ceil(len(images) / cols)
    w, h = images[0].size
    if any(im.size != (w, h) for im in images):
        raise ValueError("grid: images differ in size")
    top = TITLE_HEIGHT if title else 0
    out = Image.new("RGB", (cols * w + (cols - 1) * SEPARATOR,
                            top + rows * h + (rows - 1) * SEPARATOR), SEPARATOR_COLOUR)
    for i, im in enumerate(images):
        cell = im.convert("RGB")
        if labels:
            cell = cell.copy()
            _label(cell, str(i))
        r, c = divmod(i, cols)
        out.paste(cell, (c * (w + SEPARATOR), top + r * (h + SEPARATOR)))
    if rows * cols > len(images):  # unused trailing cells: black, not separator grey
        for i in range(len(images), rows * cols):
            r, c = divmod(i, cols)
            x, y = c * (w + SEPARATOR), top + r * (h + SEPARATOR)
            out.paste((0, 0, 0), (x, y, x + w, y + h))
    if title:
        draw = ImageDraw.Draw(out)
        draw.rectangle((0, 0, out.width, top - 1), fill=(0, 0, 0))
        draw.text((4, 3), title, fill=LABEL_COLOUR, font=_font(13))
    return out


# --- writing ------------------------------------------------------------------------


def _atomic_save(path: Path, save) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_preview(frames, out_png: str | Path, out_gif: str | Path, *, scale: int | None = None,
                 cols: int | None = None, fps: float = 4.0, title: str | None = None) -> tuple[Path, Path]:
    """Write the PNG grid and a looping GIF (one frame per time bin) of ``frames``."""
    frames = _check_frames(frames)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    scale = default_scale(frames.shape[2]) if scale is None else int(scale)
    images = render_frames(frames, scale)
    out_png, out_gif = Path(out_png), Path(out_gif)
    sheet = grid(images, cols, title=title)
    _atomic_save(out_png, lambda p: sheet.save(p, format="PNG", optimize=True))

    T = len(images)
    anim = []
    for i, im in enumerate(images):
        im = im.copy()
        _label(im, f"{i + 1}/{T}")  # also keeps consecutive frames distinct, so none are merged
        anim.append(im)
    duration = max(20, round(1000 / fps))
    _atomic_save(out_gif, lambda p: anim[0].save(
        p, format="GIF", save_all=True, append_images=anim[1:], duration=duration, loop=0))
    return out_png, out_gif


# --- files --------------------------------------------------------------------------


def is_hdf5(path: str | Path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == HDF5_SIGNATURE


def infer_sensor_size(events: np.ndarray) -> tuple[int, int]:
    """``(max y + 1, max x + 1)`` rounded up to the smallest common sensor that holds it."""
    if events.size == 0:
        raise ValueError("cannot infer the sensor size from zero events; give it explicitly")
    h, w = int(events["y"].max()) + 1, int(events["x"].max()) + 1
    for H, W in COMMON_SENSORS:
        if h <= H and w <= W:
            return H, W
    return h, w


def read_events_any(path: str | Path) -> np.ndarray:
    """Events of ``path`` through :func:`pipeline.io.read_events` (AEDAT 3.1 only without it)."""
    try:
        from .io import read_events
    except ImportError:
        read_events = None
    if read_events is not None:
        return read_events(path)
    from .io import read_aedat3
    with open(path, "rb") as f:
        head = f.read(10)
    if head.startswith(b"#!AER-DAT3"):
        return read_aedat3(path)
    raise ValueError(f"{path}: not a recognised event file (this version reads AEDAT 3.1 and HDF5 frames)")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _load_h5(path: Path, index: int):
    import h5py

    from .store import plain_attrs

    with h5py.File(path, "r") as f:
        if "frames" not in f:
            raise ValueError(f"{path}: HDF5 file without a 'frames' dataset (not a frames file)")
        n = f["frames"].shape[0]
        if not -n <= index < n:
            raise ValueError(f"{path}: sample index {index} out of range (the file holds {n} samples)")
        index %= n
        frames = f["frames"][index]
        label = int(f["labels"][index]) if "labels" in f else None
        attrs = plain_attrs(f.attrs)
    return frames, label, attrs, index


def _merge_bins(frames: np.ndarray, T: int, path: Path) -> np.ndarray:
    """Sum adjacent frames of a ``T0``-frame sample into ``T`` frames (``T`` must divide ``T0``)."""
    T0 = frames.shape[0]
    if T == T0:
        return frames
    if T < 1 or T0 % T:
        raise ValueError(f"{path}: its samples have T = {T0} frames; T = {T} does not divide it")
    return frames.reshape(T, T0 // T, *frames.shape[1:]).sum(axis=1, dtype=frames.dtype)


def preview_file(path: str | Path, out_dir: str | Path, *, T: int | None = None, split_by: str = "time",
                 sensor_size: tuple[int, int] | None = None, index: int = 0, scale: int | None = None,
                 cols: int | None = None, fps: float = 4.0, name: str | None = None,
                 title: bool = True) -> tuple[Path, Path]:
    """Preview an HDF5 frames file's sample ``index`` or an event file; return ``(png, gif)``.

    Event files are integrated into ``T`` frames (default 8) with ``split_by`` over
    ``sensor_size`` (default: inferred, see :func:`infer_sensor_size`). For a frames
    file ``T`` defaults to the file's own; a smaller ``T`` that divides it sums adjacent
    frames. ``name`` overrides the output base name.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise ValueError(f"{path}: not a file")
    if is_hdf5(path):
        frames, label, attrs, index = _load_h5(path, int(index))
        if T is not None:
            frames = _merge_bins(frames, int(T), path)
        classes = attrs.get("classes")
        cls = classes[label] if isinstance(classes, list) and label is not None and 0 <= label < len(classes) else None
        tag = cls if cls is not None else (f"label{label}" if label is not None else "")
        base = f"{path.stem}_{index:04d}" + (f"_{tag}" if tag else "")
        text = f"{path.name} #{index}" + (f": {cls}" if cls else "") + (f" (label {label})" if label is not None else "")
    else:
        from .frames import integrate

        T = DEFAULT_T if T is None else int(T)
        events = read_events_any(path)
        if sensor_size is None:
            try:
                sensor_size = infer_sensor_size(events)
            except ValueError as e:
                raise ValueError(f"{path}: {e}") from None
        if split_by == "time" and events.size > 1 and np.any(np.diff(events["t"]) < 0):
            events = events[np.argsort(events["t"], kind="stable")]
        try:
            frames = integrate(events, T, split_by, tuple(int(s) for s in sensor_size))
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
        base = f"{path.stem}_T{T}_{split_by}"
        H, W = sensor_size
        text = f"{path.name}: {events.size} events, {H}x{W}, T={T} by {split_by}"
    base = _safe(name if name is not None else base)
    out_dir = Path(out_dir)
    return save_preview(frames, out_dir / f"{base}.png", out_dir / f"{base}.gif", scale=scale,
                        cols=cols, fps=fps, title=text if title else None)
