"""Previews of the other representations (issue #26): a voxel grid in a diverging colormap
centred at 0, Bina-Rep's values in [0, 1] in the polarity colours over that fixed range."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from matplotlib import colormaps
from PIL import Image

from pipeline.cli.preview import DIVERGING, ON_COLOUR, PreviewError, preview_augmented, preview_file, render_frames
from pipeline.core.store import FrameWriter

SCALE = 10


def write(path: Path, samples: np.ndarray, attrs: dict) -> Path:
    with FrameWriter(path, len(samples), samples.shape[1:], {"dataset": "t", "classes": ["a", "b"], **attrs},
                     dtype=samples.dtype) as w:
        for i, frames in enumerate(samples):
            w.write(frames, i % 2, f"r{i}", i, int(np.count_nonzero(frames)))
    return path


def voxel_file(path: Path) -> Path:
    """Frame 0: 0 at (row 1, col 1), +2.5 (the largest |v|) at (2, 3), -2.5 at (4, 0), -1.25 at (0, 4)."""
    x = np.zeros((2, 2, 1, 6, 5), np.float32)
    x[0, 0, 0, 2, 3], x[0, 0, 0, 4, 0], x[0, 0, 0, 0, 4], x[0, 1, 0, 3, 3] = 2.5, -2.5, -1.25, 0.5
    x[1] = -x[0]
    return write(path, x, {"representation": "voxel_grid"})


def cmap(v: float) -> tuple:
    return tuple(int(c) for c in colormaps[DIVERGING](v, bytes=True)[:3])


def cell_pixel(png: Image.Image, row: int, col: int) -> tuple:
    """The colour of frame 0's pixel (row, col) in a grid without a title, drawn SCALE times
    larger (the middle of its block, away from the cell's label in the top-left corner)."""
    return png.getpixel((col * SCALE + SCALE // 2, row * SCALE + SCALE // 2))[:3]


def test_a_voxel_grid_preview_is_written_with_zero_at_the_diverging_maps_centre(tmp_path):
    path = voxel_file(tmp_path / "vox.h5")
    png, gif = preview_file(path, tmp_path / "out", scale=SCALE, title=False)
    assert png.is_file() and gif.is_file()
    im = Image.open(png).convert("RGB")
    centre = cmap(0.5)
    assert centre[0] > 200 and centre[1] > 200 and centre[2] > 200      # RdBu_r's centre: near-white
    assert cell_pixel(im, 1, 1) == centre                              # 0
    assert cell_pixel(im, 2, 3) == cmap(1.0)                           # +max|v|: the map's red end
    assert cell_pixel(im, 4, 0) == cmap(0.0)                           # -max|v|: its blue end
    assert cell_pixel(im, 0, 4) == cmap(0.25)                          # -max/2: half way to blue
    # the titled preview names the representation and its limits
    titled, _ = preview_file(path, tmp_path / "titled", scale=SCALE, name="t")
    assert Image.open(titled).size[1] > im.size[1]


def test_voxel_frames_render_symmetrically_about_zero():
    x = np.array([[[[-2.0, 0.0, 2.0, 1.0]]]], np.float32)                # (T, 1, H, W)
    (im,) = render_frames(x, representation="voxel_grid")
    assert [im.getpixel((i, 0)) for i in range(4)] == [cmap(0.0), cmap(0.5), cmap(1.0), cmap(0.75)]
    (im,) = render_frames(np.zeros((1, 1, 1, 2), np.float32), representation="voxel_grid")   # all zero
    assert im.getpixel((0, 0)) == cmap(0.5)
    with pytest.raises(ValueError, match=r"voxel_grid frames must have shape \(T, 1, H, W\)"):
        render_frames(np.zeros((1, 2, 1, 2), np.float32), representation="voxel_grid")


def test_binarep_is_drawn_over_the_fixed_range_0_to_1(tmp_path):
    codes = np.zeros((1, 1, 2, 4, 4), np.uint8)
    codes[0, 0, 1, 2, 2] = 3          # ON, the top code of 2 bits: value 1, full colour
    codes[0, 0, 1, 2, 3] = 1          # value 1/3
    path = write(tmp_path / "b.h5", codes, {"representation": "binarep", "n_bits": 2})
    png, _ = preview_file(path, tmp_path / "out", scale=SCALE, title=False)
    im = Image.open(png).convert("RGB")
    assert cell_pixel(im, 2, 2) == ON_COLOUR          # 1 is full colour, whatever the sample's maximum
    assert cell_pixel(im, 2, 3) == tuple(int(np.rint(c / 3)) for c in ON_COLOUR)
    assert cell_pixel(im, 3, 3) == (0, 0, 0)
    # a sum of Bina-Rep frames is no Bina-Rep value: --T other than the file's is refused
    two = write(tmp_path / "b2.h5", np.zeros((1, 2, 2, 4, 4), np.uint8), {"representation": "binarep", "n_bits": 2})
    with pytest.raises(PreviewError, match=r"Bina-Rep frames \(T = 2\) are drawn as they are; --T 1"):
        preview_file(two, tmp_path / "out", T=1)


def test_augment_preview_of_a_voxel_grid(tmp_path):
    path = voxel_file(tmp_path / "vox.h5")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": {"augment": [{"flip": {"p": 1}}], "seed": 0}}))
    png, gif = preview_augmented(path, tmp_path / "out", params=params, epochs=1, scale=SCALE, title=False)
    assert png.is_file() and gif.is_file()
    im = Image.open(png).convert("RGB")
    # row 0 the original, row 1 epoch 1 flipped left-right: +max|v| from column 3 to column 1
    row1 = 6 * SCALE + 2                               # a cell's height plus the separator
    assert cell_pixel(im, 2, 3) == cmap(1.0)
    assert im.getpixel((1 * SCALE + SCALE // 2, row1 + 2 * SCALE + SCALE // 2)) == cmap(1.0)
