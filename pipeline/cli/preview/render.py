"""Drawing T-frame samples: a PNG grid and a looping GIF.

Colours: black background, ON events (channel 1) red-orange, OFF events (channel 0)
blue; a pixel with both gets the count-weighted blend of the two hues. Brightness is
proportional to the count divided by a robust maximum over the whole sample (the 99th
percentile of the non-zero counts, at least 1), so a single hot pixel does not dim
everything else; counts at or above it are drawn at full brightness. The PNG's title strip
carries a legend of the two colours: a square of each, labelled "ON" and "OFF".

Other representations (the frames file's metadata ``representation``, issue #26):

* ``voxel_grid`` ``(T, 1, H, W)``, signed real values: the diverging colormap
  :data:`DIVERGING` (matplotlib's), centred at 0 with symmetric limits ``±max|v|`` over the
  sample: 0 is the map's centre colour (near-white), positive values go red, negative blue;
  the legend shows ``+``, ``0`` and ``-``.
* ``binarep`` ``(T, 2, H, W)``, the Bina-Rep values in [0, 1] (the codes divided by
  ``2**n_bits - 1``, as the network sees them): the two polarity colours as for counts, each a
  sequential map from black (0) to its full colour (1) over the fixed range [0, 1], not the
  sample's robust maximum.

What is drawn is bounded before anything is allocated (:func:`check_size`): at most
:data:`MAX_FRAMES` frames, :data:`MAX_PIXELS` pixels in the GIF's frames together and in the
PNG grid, :data:`MAX_SIDE` pixels a side (a GIF's 16-bit limit); a frame rate between
:data:`MIN_FPS` and :data:`MAX_FPS`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ...core.atomic import atomic_path, check_target
from ...core.errors import PipelineError
from ...core.frameparams import CHANNELS


class PreviewError(PipelineError, ValueError):
    """A preview's input cannot be shown, or its output not written; the message names the file
    or the argument and why."""


ON_COLOUR = (255, 80, 40)
OFF_COLOUR = (40, 160, 255)
SEPARATOR = 2  # pixels between grid cells
SEPARATOR_COLOUR = (70, 70, 70)
LABEL_COLOUR = (200, 200, 200)
TITLE_HEIGHT = 20  # one row of the title strip (two where the title and the legend do not fit side by side)
LEGEND = (("ON", ON_COLOUR), ("OFF", OFF_COLOUR))  # the title strip's polarity legend, right-aligned
SWATCH = 11  # side of a legend square, px
MIN_HEIGHT = 256  # default scale makes each frame at least this tall
MAX_FRAMES = 1024  # frames in a preview (the GIF's frames, the grid's cells)
MAX_PIXELS = 2 ** 24  # pixels of the GIF's frames together, and of the PNG grid (~50 MB of RGB each)
MAX_SIDE = 65535  # pixels, a frame's width or height: a GIF stores them in 16 bits
#: matplotlib's diverging colormap for a voxel grid's signed values, centred at 0
DIVERGING = "RdBu_r"
MIN_FPS, MAX_FPS = 0.01, 50.0  # GIF frame delays are centiseconds: 100 s down to 20 ms (browsers slow shorter ones)


# --- rendering ----------------------------------------------------------------------


def robust_max(frames: np.ndarray) -> float:
    """The 99th percentile of the non-zero counts of ``frames``, at least 1."""
    nz = np.asarray(frames)[np.asarray(frames) > 0]
    if nz.size == 0:
        return 1.0
    return max(1.0, float(np.percentile(nz, 99)))


def _check_frames(frames, representation: str = "counts") -> np.ndarray:
    frames = np.asarray(frames)
    C = CHANNELS[representation]
    if frames.ndim != 4 or frames.shape[1] != C:
        raise ValueError(f"{representation} frames must have shape (T, {C}, H, W), got {frames.shape}")
    return frames


def default_vmax(frames, representation: str = "counts") -> float:
    """The value drawn at full colour: for counts :func:`robust_max`; for a voxel grid its
    largest ``|v|`` (1 where all are 0), drawn at both ends of :data:`DIVERGING`; for Bina-Rep 1."""
    if representation == "voxel_grid":
        top = float(np.max(np.abs(frames))) if np.size(frames) else 0.0
        return top if top > 0 else 1.0
    return 1.0 if representation == "binarep" else robust_max(frames)


def diverging(values) -> np.ndarray:
    """``(..., 3)`` uint8 colours of :data:`DIVERGING` for ``values`` in [-1, 1]: -1 its first
    colour, 0 its centre (``cmap(0.5)``), 1 its last; beyond, clipped."""
    from matplotlib import colormaps

    v = np.clip(np.asarray(values, np.float64), -1.0, 1.0)
    return np.asarray(colormaps[DIVERGING]((v + 1.0) / 2.0, bytes=True), np.uint8)[..., :3]


def legend(representation: str = "counts") -> tuple:
    """The title strip's legend for ``representation``: ``((text, colour), ...)``."""
    if representation == "voxel_grid":
        return tuple((text, tuple(int(c) for c in diverging(v))) for text, v in (("+", 1.0), ("0", 0.0), ("-", -1.0)))
    return LEGEND


def render_rgb(frames, vmax: float | None = None, representation: str = "counts") -> np.ndarray:
    """``(T, H, W, 3)`` uint8 colours of ``frames`` ``(T, C, H, W)`` (no upscaling): event counts
    or Bina-Rep values ``(T, 2, H, W)`` in the polarity colours, full at ``vmax``; a voxel grid
    ``(T, 1, H, W)`` in :data:`DIVERGING` from ``-vmax`` to ``vmax`` (default: :func:`default_vmax`)."""
    frames = _check_frames(frames, representation)
    vmax = default_vmax(frames, representation) if vmax is None else float(vmax)
    if representation == "voxel_grid":
        return diverging(frames[:, 0].astype(np.float64) / vmax)
    off = np.minimum(frames[:, 0].astype(np.float64) / vmax, 1.0)[..., None]
    on = np.minimum(frames[:, 1].astype(np.float64) / vmax, 1.0)[..., None]
    total = on + off
    weight = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
    # hue: the blend of the two colours weighted by count; brightness: the larger share
    hue = (on * np.array(ON_COLOUR) + off * np.array(OFF_COLOUR)) * weight
    rgb = hue * np.maximum(on, off)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def render_frames(frames, scale: int = 1, vmax: float | None = None,
                  representation: str = "counts") -> list[Image.Image]:
    """One RGB image per frame, each pixel a ``scale`` x ``scale`` block (nearest neighbour)."""
    scale = int(scale)
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    rgb = render_rgb(frames, vmax, representation)
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


def draw_label(im: Image.Image, text: str) -> None:
    """Write ``text`` small in the top-left corner, on a dark backing so it stays legible."""
    draw = ImageDraw.Draw(im)
    font = _font(max(8, min(11, im.height // 3)))
    x0, y0, x1, y1 = draw.textbbox((2, 1), text, font=font)
    draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), fill=(0, 0, 0))
    draw.text((2, 1), text, fill=LABEL_COLOUR, font=font)


def grid(images: list[Image.Image], cols: int | None = None, *, title: str | None = None,
         labels: bool = True, key: tuple = LEGEND) -> Image.Image:
    """Tile ``images`` (all the same size) ``cols`` per row, ``SEPARATOR`` px apart.

    Each cell gets its index written in the top-left corner; ``title`` adds a black strip above
    the grid holding the title (left) and the legend ``key`` (right; default :data:`LEGEND`):
    ``TITLE_HEIGHT`` px, or twice that with the legend on a second row where the grid is too
    narrow for both side by side.
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
    width = cols * w + (cols - 1) * SEPARATOR
    title_font = legend_font = _font(13)
    legend_w = _legend_width(legend_font, key)
    two_rows = bool(title) and 4 + title_font.getlength(title) + 16 + legend_w + 4 > width
    top = (2 if two_rows else 1) * TITLE_HEIGHT if title else 0
    out = Image.new("RGB", (width, top + rows * h + (rows - 1) * SEPARATOR), SEPARATOR_COLOUR)
    for i, im in enumerate(images):
        cell = im.convert("RGB")
        if labels:
            cell = cell.copy()
            draw_label(cell, str(i))
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
        draw.text((4, 3), title, fill=LABEL_COLOUR, font=title_font)
        if two_rows:
            _draw_legend(draw, 4, TITLE_HEIGHT, legend_font, key)
        else:
            _draw_legend(draw, out.width - 4 - legend_w, 0, legend_font, key)
    return out


def _legend_width(font, key: tuple = LEGEND) -> int:
    """Width in px of :func:`_draw_legend`'s legend ``key`` in ``font``."""
    return math.ceil(sum(SWATCH + 3 + font.getlength(text) for text, _ in key) + 10 * (len(key) - 1))


def _draw_legend(draw: ImageDraw.ImageDraw, x: float, y: int, font, key: tuple = LEGEND) -> None:
    """The legend ``key`` (default the polarities, :data:`LEGEND`) from ``x`` in the
    ``TITLE_HEIGHT`` px row at ``y``: for each entry a ``SWATCH`` px square of its colour, then its name."""
    for text, colour in key:
        x0, y0 = round(x), y + (TITLE_HEIGHT - SWATCH) // 2
        draw.rectangle((x0, y0, x0 + SWATCH - 1, y0 + SWATCH - 1), fill=colour)
        x += SWATCH + 3
        _, t0, _, t1 = draw.textbbox((0, 0), text, font=font)
        draw.text((x, y + (TITLE_HEIGHT - (t1 - t0)) // 2 - t0), text, fill=LABEL_COLOUR, font=font)
        x += font.getlength(text) + 10


# --- bounds -------------------------------------------------------------------------


def check_fps(fps: float) -> float:
    """``fps`` as a float when it is a frame rate a GIF can hold (:data:`MIN_FPS` to :data:`MAX_FPS`)."""
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise PreviewError(f"--fps {fps!r}: not a number") from None
    if not MIN_FPS <= value <= MAX_FPS:          # NaN fails both
        raise PreviewError(f"--fps {fps}: the GIF frame rate must be a number from {MIN_FPS:g} to {MAX_FPS:g}")
    return value


def _pixels(n: int) -> str:
    return f"{n:,}" if n < 10 ** 15 else f"{n:.3g}"


def check_frames(T: int, H: int, W: int, what: str = "") -> None:
    """Refuse ``T`` frames of ``H`` x ``W`` (unscaled) beyond the bounds, before the counts are
    allocated: at most :data:`MAX_FRAMES` frames, :data:`MAX_SIDE` a side, :data:`MAX_PIXELS`
    pixels in all. ``what`` (the input file) starts the message."""
    prefix = f"{what}: " if what else ""
    if T > MAX_FRAMES:
        raise PreviewError(f"{prefix}--T {T}: a preview draws at most {MAX_FRAMES} frames")
    if max(H, W) > MAX_SIDE:
        raise PreviewError(f"{prefix}frames of {H} x {W} (--sensor): a preview frame is at most {MAX_SIDE} px a side "
                           "(a GIF's limit)")
    if T * H * W > MAX_PIXELS:
        raise PreviewError(f"{prefix}{T} frames of {H} x {W} (--T, --sensor) are {_pixels(T * H * W)} pixels; "
                           f"a preview draws at most {MAX_PIXELS:,}: lower --T or --sensor")


def grid_size(n: int, w: int, h: int, cols: int | None = None, title: str | None = None) -> tuple[int, int]:
    """The size :func:`grid` gives ``n`` cells of ``w`` x ``h`` px, ``cols`` per row, computed
    without drawing (the title strip counted at its tallest, two rows)."""
    cols = min(default_cols(n) if cols is None else int(cols), n)
    rows = math.ceil(n / cols)
    top = 2 * TITLE_HEIGHT if title else 0
    return cols * w + (cols - 1) * SEPARATOR, top + rows * h + (rows - 1) * SEPARATOR


def check_size(T: int, H: int, W: int, scale: int, cols: int | None = None, title: str | None = None) -> None:
    """Refuse a preview of ``T`` frames of ``H`` x ``W`` drawn ``scale`` times larger (and its
    grid, ``cols`` per row) beyond the bounds, before anything is drawn."""
    check_frames(T, H, W)
    h, w = H * scale, W * scale
    gw, gh = grid_size(T, w, h, cols, title)
    if max(h, w) > MAX_SIDE:
        raise PreviewError(f"--scale {scale}: frames of {h} x {w} px ({H} x {W} scaled); a preview frame is at most "
                           f"{MAX_SIDE} px a side (a GIF's limit): lower --scale")
    if T * h * w > MAX_PIXELS:
        raise PreviewError(f"--scale {scale}: {T} frames of {h} x {w} px are {_pixels(T * h * w)} pixels; a preview "
                           f"draws at most {MAX_PIXELS:,}: lower --scale or --T")
    if gw * gh > MAX_PIXELS:
        raise PreviewError(f"--cols {cols}: a grid of {gw} x {gh} px is {_pixels(gw * gh)} pixels; a preview draws at "
                           f"most {MAX_PIXELS:,}: lower --scale or change --cols")


# --- writing ------------------------------------------------------------------------


def save_preview(frames, out_png: str | Path, out_gif: str | Path, *, scale: int | None = None,
                 cols: int | None = None, fps: float = 4.0, title: str | None = None,
                 representation: str = "counts") -> tuple[Path, Path]:
    """Write the PNG grid and a looping GIF (one frame per time bin) of ``frames`` (drawn as
    ``representation``'s values: module docstring)."""
    frames = _check_frames(frames, representation)
    fps = check_fps(fps)
    scale = default_scale(frames.shape[2]) if scale is None else int(scale)
    if scale < 1:
        raise PreviewError(f"--scale {scale}: must be at least 1")
    if cols is not None and int(cols) < 1:
        raise PreviewError(f"--cols {cols}: must be at least 1")
    check_size(frames.shape[0], frames.shape[2], frames.shape[3], scale, cols, title)
    out_png, out_gif = check_target(out_png, "file"), check_target(out_gif, "file")
    images = render_frames(frames, scale, representation=representation)
    sheet = grid(images, cols, title=title, key=legend(representation))
    T = len(images)
    anim = []
    for i, im in enumerate(images):
        im = im.copy()
        draw_label(im, f"{i + 1}/{T}")  # also keeps consecutive frames distinct, so none are merged
        anim.append(im)
    return write_outputs(sheet, anim, out_png, out_gif, fps)


def write_outputs(sheet: Image.Image, anim: list[Image.Image], out_png: Path, out_gif: Path,
                  fps: float) -> tuple[Path, Path]:
    """Write the PNG ``sheet`` and the looping GIF of ``anim`` at ``fps`` (checked), each under a
    temporary name and renamed; returns ``(out_png, out_gif)``."""
    duration = max(20, round(1000 / fps))
    with atomic_path(out_png, "file") as tmp:
        sheet.save(tmp, format="PNG", optimize=True)
    with atomic_path(out_gif, "file") as tmp:
        anim[0].save(tmp, format="GIF", save_all=True, append_images=anim[1:], duration=duration, loop=0)
    return out_png, out_gif


def safe_name(name: str) -> str:
    """``name`` with every character but letters, digits and ``-_.`` replaced by ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def check_name(name: str) -> str:
    """``--name``: a plain file name (the outputs are ``<name>.png`` and ``<name>.gif`` in the
    output folder), not empty, not a path (no separator, not ``.`` or ``..``)."""
    seps = dict.fromkeys(s for s in (os.sep, os.altsep, "/") if s)
    if not name or name in (".", "..") or any(s in name for s in seps) or "\0" in name:
        raise PreviewError(f"--name {name!r}: must be a plain file name (no folder, no {' or '.join(seps)}, "
                           "not . or ..); the folder is --out")
    return name
