"""Seeing the data: ``python -m pipeline preview`` draws a sample as a PNG grid and a looping GIF.

:mod:`.sources` finds the frames (a frames file's sample, or an event file integrated into
frames); :mod:`.render` draws them; :mod:`.augmented` (``preview --augment``) draws a sample as
params' ``train.augment`` transforms it, epoch by epoch.
"""

from __future__ import annotations

from pathlib import Path

from .render import (
    check_name,
    safe_name,
    LABEL_COLOUR,
    LEGEND,
    MAX_FPS,
    MAX_FRAMES,
    MAX_PIXELS,
    MAX_SIDE,
    MIN_FPS,
    MIN_HEIGHT,
    DIVERGING,
    OFF_COLOUR,
    ON_COLOUR,
    PreviewError,
    SEPARATOR,
    SEPARATOR_COLOUR,
    TITLE_HEIGHT,
    default_cols,
    default_scale,
    default_vmax,
    diverging,
    grid,
    render_frames,
    render_rgb,
    robust_max,
    save_preview,
)
from .augmented import MAX_EPOCHS, PARTNERS, augment_rows, augmented_sample, preview_augmented
from .sources import COMMON_SENSORS, DEFAULT_T, check_input, event_file, frames_sample, infer_sensor_size, is_hdf5
from ...core.atomic import check_target

__all__ = [
    "COMMON_SENSORS", "DEFAULT_T", "DIVERGING", "LABEL_COLOUR", "LEGEND", "MAX_EPOCHS", "MAX_FPS", "MAX_FRAMES",
    "MAX_PIXELS", "MAX_SIDE", "MIN_FPS", "MIN_HEIGHT", "OFF_COLOUR", "ON_COLOUR", "PARTNERS", "SEPARATOR",
    "SEPARATOR_COLOUR", "TITLE_HEIGHT", "PreviewError", "augment_rows", "augmented_sample", "check_name", "default_cols",
    "default_scale", "default_vmax", "diverging", "grid", "infer_sensor_size", "preview_augmented", "preview_file",
    "render_frames", "render_rgb", "robust_max", "save_preview",
]


def preview_file(path: str | Path, out_dir: str | Path, *, T: int | None = None, split_by: str = "time",
                 sensor_size: tuple[int, int] | None = None, index: int = 0, scale: int | None = None,
                 cols: int | None = None, fps: float = 4.0, name: str | None = None,
                 title: bool = True) -> tuple[Path, Path]:
    """Preview an HDF5 frames file's sample ``index`` or an event file; return ``(png, gif)``.

    Event files are integrated into ``T`` frames (default 8) with ``split_by`` over
    ``sensor_size`` (default: inferred, see :func:`infer_sensor_size`). For a frames
    file ``T`` defaults to the file's own; a smaller ``T`` that divides it sums adjacent
    frames (not for Bina-Rep). A voxel-grid file is drawn in a diverging colormap centred at 0,
    Bina-Rep's values in [0, 1] (:mod:`.render`). ``name`` overrides the output base name.
    """
    if name is not None:
        check_name(name)
    out_dir = check_target(out_dir, "folder", "--out")     # before any work: a file or FIFO there is refused
    path = check_input(path)
    if is_hdf5(path):
        shown = frames_sample(path, int(index), T)
    else:
        shown = event_file(path, T, split_by, sensor_size)
    base = safe_name(name if name is not None else shown.base)
    return save_preview(shown.frames, out_dir / f"{base}.png", out_dir / f"{base}.gif", scale=scale,
                        cols=cols, fps=fps, title=shown.title if title else None,
                        representation=shown.representation)
