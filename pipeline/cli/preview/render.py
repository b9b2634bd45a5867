"""Drawing T-frame samples: a PNG grid and a looping GIF.

Colours: black background, ON events (channel 1) red-orange, OFF events (channel 0)
blue; a pixel with both gets the count-weighted blend of the two hues. Brightness is
proportional to the count divided by a robust maximum over the whole sample (the 99th
percentile of the non-zero counts, at least 1), so a single hot pixel does not dim
everything else; counts at or above it are drawn at full brightness. The PNG's title strip
carries a legend of the two colours: a square of each, labelled "ON" and "OFF".
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ...core.atomic import atomic_path

ON_COLOUR = (255, 80, 40)
OFF_COLOUR = (40, 160, 255)
SEPARATOR = 2  # pixels between grid cells
SEPARATOR_COLOUR = (70, 70, 70)
LABEL_COLOUR = (200, 200, 200)
TITLE_HEIGHT = 20  # one row of the title strip (two where the title and the legend do not fit side by side)
LEGEND = (("ON", ON_COLOUR), ("OFF", OFF_COLOUR))  # the title strip's polarity legend, right-aligned
SWATCH = 11  # side of a legend square, px
MIN_HEIGHT = 256  # default scale makes each frame at least this tall


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

    Each cell gets its index written in the top-left corner; ``title`` adds a black strip above
    the grid holding the title (left) and the polarity legend (right, :data:`LEGEND`):
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
    legend_w = _legend_width(legend_font)
    two_rows = bool(title) and 4 + title_font.getlength(title) + 16 + legend_w + 4 > width
    top = (2 if two_rows else 1) * TITLE_HEIGHT if title else 0
    out = Image.new("RGB", (width, top + rows * h + (rows - 1) * SEPARATOR), SEPARATOR_COLOUR)
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
        draw.text((4, 3), title, fill=LABEL_COLOUR, font=title_font)
        if two_rows:
            _draw_legend(draw, 4, TITLE_HEIGHT, legend_font)
        else:
            _draw_legend(draw, out.width - 4 - legend_w, 0, legend_font)
    return out


def _legend_width(font) -> int:
    """Width in px of :func:`_draw_legend`'s legend in ``font``."""
    return math.ceil(sum(SWATCH + 3 + font.getlength(text) for text, _ in LEGEND) + 10 * (len(LEGEND) - 1))


def _draw_legend(draw: ImageDraw.ImageDraw, x: float, y: int, font) -> None:
    """The polarity legend from ``x`` in the ``TITLE_HEIGHT`` px row at ``y``: for each of
    :data:`LEGEND` a ``SWATCH`` px square of its colour, then its name."""
    for text, colour in LEGEND:
        x0, y0 = round(x), y + (TITLE_HEIGHT - SWATCH) // 2
        draw.rectangle((x0, y0, x0 + SWATCH - 1, y0 + SWATCH - 1), fill=colour)
        x += SWATCH + 3
        _, t0, _, t1 = draw.textbbox((0, 0), text, font=font)
        draw.text((x, y + (TITLE_HEIGHT - (t1 - t0)) // 2 - t0), text, fill=LABEL_COLOUR, font=font)
        x += font.getlength(text) + 10


# --- writing ------------------------------------------------------------------------


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
    with atomic_path(out_png) as tmp:
        sheet.save(tmp, format="PNG", optimize=True)

    T = len(images)
    anim = []
    for i, im in enumerate(images):
        im = im.copy()
        _label(im, f"{i + 1}/{T}")  # also keeps consecutive frames distinct, so none are merged
        anim.append(im)
    duration = max(20, round(1000 / fps))
    with atomic_path(out_gif) as tmp:
        anim[0].save(tmp, format="GIF", save_all=True, append_images=anim[1:], duration=duration, loop=0)
    return out_png, out_gif
