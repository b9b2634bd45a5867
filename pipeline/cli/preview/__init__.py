"""Seeing the data: ``python -m pipeline preview`` draws a sample as a PNG grid and a looping GIF.

:mod:`.sources` finds the frames (a frames file's sample, or an event file integrated into
frames); :mod:`.render` draws them.
"""

from __future__ import annotations

from pathlib import Path

from .render import (
    LABEL_COLOUR,
    LEGEND,
    MIN_HEIGHT,
    OFF_COLOUR,
    ON_COLOUR,
    SEPARATOR,
    SEPARATOR_COLOUR,
    TITLE_HEIGHT,
    default_cols,
    default_scale,
    grid,
    render_frames,
    render_rgb,
    robust_max,
    save_preview,
)
from .sources import COMMON_SENSORS, DEFAULT_T, PreviewError, event_file, frames_sample, infer_sensor_size, is_hdf5

__all__ = [
    "COMMON_SENSORS", "DEFAULT_T", "LABEL_COLOUR", "LEGEND", "MIN_HEIGHT", "OFF_COLOUR", "ON_COLOUR", "SEPARATOR",
    "SEPARATOR_COLOUR", "TITLE_HEIGHT", "PreviewError", "default_cols", "default_scale", "grid",
    "infer_sensor_size", "preview_file", "render_frames", "render_rgb", "robust_max", "save_preview",
]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


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
        raise PreviewError(f"{path}: no such file")
    if not path.is_file():
        raise PreviewError(f"{path}: not a file")
    if is_hdf5(path):
        shown = frames_sample(path, int(index), T)
    else:
        shown = event_file(path, T, split_by, sensor_size)
    base = _safe(name if name is not None else shown.base)
    out_dir = Path(out_dir)
    return save_preview(shown.frames, out_dir / f"{base}.png", out_dir / f"{base}.gif", scale=scale,
                        cols=cols, fps=fps, title=shown.title if title else None)
