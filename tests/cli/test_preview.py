"""Previews: colours, grid geometry, the GIF, files in, and the ``python -m pipeline`` CLI."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.core.events import make_events
from pipeline.download.demo.aedat3_write import write_aedat3
from pipeline.cli.preview import (
    OFF_COLOUR,
    ON_COLOUR,
    SEPARATOR,
    grid,
    infer_sensor_size,
    preview_file,
    render_frames,
    save_preview,
)
from pipeline.core.store import FrameWriter

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ["rotate_clockwise", "swipe_left", "clap"]


def sample_frames(T=3, H=6, W=5):
    """Frames whose non-zero counts are mostly 5 (so the robust maximum is 5)."""
    f = np.zeros((T, 2, H, W), np.uint32)
    f[:, 1, 0, 0] = 5   # ON only, at the maximum
    f[:, 0, 0, 1] = 5   # OFF only, at the maximum
    f[:, 1, 0, 2] = 1   # dim ON
    f[:, 1, 0, 3] = 5   # both, equally
    f[:, 0, 0, 3] = 5
    f[:, 1, 1, :] = 5
    return f


def px(im, x, y):
    return im.getpixel((x, y))


def test_colours():
    f = sample_frames()
    ims = render_frames(f, scale=1)
    assert len(ims) == 3 and ims[0].mode == "RGB" and ims[0].size == (5, 6)
    im = ims[0]
    assert px(im, 0, 0) == ON_COLOUR
    assert px(im, 1, 0) == OFF_COLOUR
    assert px(im, 4, 0) == (0, 0, 0)
    assert px(im, 0, 5) == (0, 0, 0)
    dim = px(im, 2, 0)
    assert sum(dim) > 0 and sum(dim) < sum(ON_COLOUR)
    assert all(d <= o for d, o in zip(dim, ON_COLOUR))
    both = px(im, 3, 0)
    assert both not in (ON_COLOUR, OFF_COLOUR)
    for c in range(3):  # a blend lies between the two colours
        assert min(ON_COLOUR[c], OFF_COLOUR[c]) <= both[c] <= max(ON_COLOUR[c], OFF_COLOUR[c])


def test_one_hot_pixel_does_not_blank_the_rest():
    f = np.zeros((1, 2, 20, 20), np.uint32)
    f[0, 1, 5:15, 5:15] = 3            # 100 ordinary pixels
    f[0, 1, 0, 0] = 10_000             # one hot pixel
    im = render_frames(f)[0]
    assert px(im, 0, 0) == ON_COLOUR
    assert sum(px(im, 7, 7)) > 0.9 * sum(ON_COLOUR)


def test_scale_is_nearest_neighbour():
    f = sample_frames()
    im1, im3 = render_frames(f, 1)[1], render_frames(f, 3)[1]
    assert im3.size == (15, 18)
    big = np.asarray(im3)
    assert np.array_equal(big, np.asarray(im1).repeat(3, 0).repeat(3, 1))
    with pytest.raises(ValueError):
        render_frames(f, 0)
    with pytest.raises(ValueError):
        render_frames(np.zeros((2, 3, 4, 4)))


@pytest.mark.parametrize("n, cols", [(8, 4), (7, 3), (5, 5), (3, 1)])
def test_grid_size(n, cols):
    H, W, scale = 6, 5, 4
    ims = render_frames(np.ones((n, 2, H, W), np.uint32), scale)
    g = grid(ims, cols)
    rows = -(-n // cols)
    sep = SEPARATOR
    assert g.size == (cols * W * scale + (cols - 1) * sep, rows * H * scale + (rows - 1) * sep)


def test_grid_writes_the_index():
    ims = render_frames(np.zeros((2, 2, 16, 16), np.uint32), 4)
    g = grid(ims, 2)
    # the label in cell 1's top-left corner is drawn in a non-black colour
    corner = np.asarray(g)[:16, 64 + SEPARATOR:64 + SEPARATOR + 20]
    assert corner.max() > 0
    assert np.asarray(g)[40:64, 20:64].max() == 0  # the rest of an empty frame stays black


def test_save_preview(tmp_path):
    T = 5
    f = np.zeros((T, 2, 8, 8), np.uint32)  # empty frames: still T frames in the GIF
    f[2, 1, 3, 3] = 2
    png, gif = save_preview(f, tmp_path / "a.png", tmp_path / "sub" / "a.gif", scale=4, cols=3, fps=5)
    with Image.open(png) as im:
        im.load()
        assert im.format == "PNG" and im.size == (3 * 32 + 2 * SEPARATOR, 2 * 32 + SEPARATOR)
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == T
        assert im.info.get("loop") == 0
        assert im.info.get("duration") == 200
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.gif", "a.png", "sub"]  # no temp files left


def gesture_events(n=4000, H=128, W=128):
    t = np.arange(n, dtype=np.int64) * 50 + 1_000
    ang = np.linspace(0, 2 * np.pi, n)
    x = (W / 2 + 40 * np.cos(ang)).astype(np.uint16)
    y = (H / 2 + 40 * np.sin(ang)).astype(np.uint16)
    p = (np.arange(n) % 3 == 0).astype(np.uint8)
    return make_events(t, x, y, p)


def test_infer_sensor_size():
    ev = gesture_events()
    assert infer_sensor_size(ev) == (128, 128)
    ev = make_events([0, 1], [33, 0], [10, 20], [0, 1])
    assert infer_sensor_size(ev) == (34, 34)
    ev = make_events([0], [330], [250], [1])
    assert infer_sensor_size(ev) == (260, 346)
    ev = make_events([0], [5000], [3], [1])
    assert infer_sensor_size(ev) == (4, 5001)


def test_preview_aedat3(tmp_path):
    path = tmp_path / "user01_led.aedat"
    write_aedat3(path, gesture_events())
    png, gif = preview_file(path, tmp_path / "out", T=4)
    assert png.parent == tmp_path / "out" and png.suffix == ".png" and gif.suffix == ".gif"
    assert "user01_led" in png.name
    with Image.open(gif) as im:
        assert im.n_frames == 4 and im.height >= 256
    with Image.open(png) as im:
        im.load()
        assert im.width >= 4 * 256
    png2, _ = preview_file(path, tmp_path / "out2", T=2, split_by="number", sensor_size=(130, 140), scale=1)
    with Image.open(png2) as im:
        assert im.width == 2 * 140 + SEPARATOR
    with pytest.raises(ValueError, match="outside the sensor"):
        preview_file(path, tmp_path / "out3", sensor_size=(64, 64))


def write_h5(path, n=3, T=4, H=8, W=8):
    frames = np.zeros((n, T, 2, H, W), np.uint32)
    for i in range(n):
        frames[i, :, 1, i, :] = i + 1
    with FrameWriter(path, n, (T, 2, H, W), dict(dataset="toy", split_by="time", classes=CLASSES)) as w:
        for i in range(n):
            w.write(frames[i], label=[2, 0, 1][i], recording="r.aedat", label_row=i, n_events=10)


def test_preview_h5(tmp_path):
    path = tmp_path / "train.h5"
    write_h5(path)
    png, gif = preview_file(path, tmp_path / "out", index=1)
    assert "rotate_clockwise" in png.name and "0001" in png.name
    with Image.open(gif) as im:
        assert im.n_frames == 4 and im.height == 256  # 8 px rows scaled to 256
    png, gif = preview_file(path, tmp_path / "out", index=0, T=2, name="x")
    assert png.name == "x.png"
    with Image.open(gif) as im:
        assert im.n_frames == 2
    with pytest.raises(ValueError, match="out of range"):
        preview_file(path, tmp_path / "out", index=3)
    with pytest.raises(ValueError, match="does not divide"):
        preview_file(path, tmp_path / "out", T=3)


def run_cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_cli(tmp_path):
    path = tmp_path / "g.aedat"
    write_aedat3(path, gesture_events())
    r = run_cli("preview", path, "--out", tmp_path / "o", "--T", 3, "--sensor", 128, 128, "--scale", 1)
    assert r.returncode == 0, r.stderr
    printed = r.stdout.split()
    assert len(printed) == 2 and printed[0].endswith(".png") and printed[1].endswith(".gif")
    assert all(Path(p).is_file() for p in printed)

    missing = tmp_path / "missing.aedat"
    r = run_cli("preview", missing, "--out", tmp_path / "o")
    assert r.returncode != 0
    assert str(missing) in r.stderr and "Traceback" not in r.stderr

    r = run_cli()
    assert r.returncode == 2 and "preview" in (r.stdout + r.stderr)


# --- the polarity legend in the title strip -------------------------------------------------


def pure_colours():
    """The colours an ON-only and an OFF-only pixel at full brightness get in a frame, read
    from a rendered frame (what a user sees in the grid, not the module's constants)."""
    f = np.zeros((1, 2, 1, 2), np.uint32)
    f[0, 1, 0, 0] = 7   # ON only
    f[0, 0, 0, 1] = 7   # OFF only
    im = render_frames(f)[0]
    on, off = px(im, 0, 0), px(im, 1, 0)
    assert on[0] > 200 and on[0] > on[1] > 0 and on[0] > on[2]     # red (orange)
    assert off[2] > 200 and off[2] > off[1] > off[0]               # blue
    return on, off


def boxes_of(a: np.ndarray, colour) -> tuple[int, int, int, int, int]:
    """``(x0, y0, x1, y1, count)`` of the pixels of ``a`` (H, W, 3) exactly equal to ``colour``."""
    ys, xs = np.nonzero(np.all(a == np.array(colour, np.uint8), axis=-1))
    assert xs.size, f"no pixel of colour {colour}"
    return xs.min(), ys.min(), xs.max(), ys.max(), xs.size


def assert_legend(a: np.ndarray, strip_bottom: int):
    """A solid square of each polarity's colour in rows ``[0, strip_bottom)``, ON left of OFF,
    each followed by light text on its right, as in the title strip."""
    on, off = pure_colours()
    squares = []
    for colour in (on, off):
        x0, y0, x1, y1, n = boxes_of(a[:strip_bottom], colour)
        assert n == (x1 - x0 + 1) * (y1 - y0 + 1), "the legend mark is a solid block"
        assert 6 <= x1 - x0 + 1 == y1 - y0 + 1 <= 20, "a square, big enough to see"
        # its name, right of the square and level with it: grey text pixels (r = g = b, not dark)
        right = a[y0:y1 + 1, x1 + 2:x1 + 30].astype(int)
        grey = (right[..., 0] == right[..., 1]) & (right[..., 1] == right[..., 2]) & (right[..., 0] > 100)
        assert grey.sum() >= 10, f"no label right of the {colour} square"
        squares.append((x0, y0, x1, y1))
    (on_x0, on_y0, on_x1, _), (off_x0, off_y0, _, _) = squares
    assert on_x1 < off_x0 and on_y0 == off_y0
    return squares


def test_title_strip_has_a_polarity_legend_in_the_frames_colours():
    """Empty frames (black cells): every pixel of an ON or OFF colour is the legend's."""
    H, W, scale, n, cols = 16, 16, 8, 8, 4
    ims = render_frames(np.zeros((n, 2, H, W), np.uint32), scale)
    g = grid(ims, cols, title="train.h5 #4: rotate_clockwise (label 0)")
    a = np.asarray(g)
    cells = 2 * H * scale + SEPARATOR                      # two rows of cells below the strip
    strip = a.shape[0] - cells
    assert 12 <= strip <= 40
    (on_x0, _, _, on_y1), (_, _, off_x1, _) = assert_legend(a, strip)
    on, off = pure_colours()
    assert boxes_of(a, on)[3] < strip and boxes_of(a, off)[3] < strip    # nowhere but the strip
    assert off_x1 > a.shape[1] - 40                       # right-aligned ...
    title = a[:strip, :on_x0 - 8]                          # ... clear of the title on the left
    assert (title.max(axis=-1) > 100).sum() > 100
    assert a[:strip, on_x0 - 8:on_x0].max() == 0


def test_a_narrow_grid_puts_the_legend_under_the_title():
    title = "user01_led.aedat: 4000 events, 128x128, T=1 by time"
    one = render_frames(np.zeros((1, 2, 16, 16), np.uint32), 16)     # 256 px wide
    narrow = np.asarray(grid(one, title=title))
    wide = np.asarray(grid(one * 8, 8, title=title))
    (_, on_y0, _, _), _ = assert_legend(narrow, narrow.shape[0] - 256)
    # above the legend, the narrow strip holds the title drawn as in the wide one: not overdrawn
    rows = min(on_y0 - 1, wide.shape[0] - 256)
    assert np.array_equal(narrow[:rows], wide[:rows, :narrow.shape[1]])
    assert (narrow[:rows].max(axis=-1) > 100).sum() > 100
    # no title, no strip and no legend
    bare = np.asarray(grid(one))
    assert bare.shape == (256, 256, 3) and bare[..., 0].max() < 250


def test_the_cli_png_has_the_legend(tmp_path):
    path = tmp_path / "train.h5"
    write_h5(path)
    r = run_cli("preview", path, "--out", tmp_path / "o", "--index", 1)
    assert r.returncode == 0, r.stderr
    png = Path(r.stdout.split()[0])
    with Image.open(png) as im:
        a = np.asarray(im.convert("RGB"))
    # 4 frames of 8 x 8 scaled to 256 px: one row of cells under the strip
    assert_legend(a, a.shape[0] - 256)


# --- preview --augment: a sample as train.augment transforms it, epoch by epoch ---------------


@pytest.fixture(scope="module")
def aug_file(tmp_path_factory):
    """A frames file of 6 tiny samples (4 frames of 16 x 16, classes a-d in turn)."""
    from tinyframes import write_frames

    return write_frames(tmp_path_factory.mktemp("augment") / "train.h5", 6, T=4, size=16, seed=3)


def file_sample(path, i):
    from pipeline.core.store import open_frames, read_frames

    with open_frames(path) as f:
        return read_frames(f, i).astype(np.float32)


def params_file(folder, augment, seed=0):
    import yaml

    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump({"train": {"augment": augment, "seed": seed}}))
    return path


def test_augment_flip_p1_mirrors_every_epoch(aug_file):
    from pipeline.cli.preview import augmented_sample

    a = augmented_sample(aug_file, 1, [{"flip": {"p": 1}}], seed=0, epochs=3)
    orig = file_sample(aug_file, 1)
    assert a.frames.shape == (4, *orig.shape) and a.batch == [1, 2, 3, 4]
    assert np.array_equal(a.frames[0], orig)
    for row in a.frames[1:]:
        assert np.array_equal(row, np.flip(orig, -1))            # left-right, all T and both polarities
    assert np.array_equal(a.targets, np.eye(4, dtype=np.float32)[[1, 1, 1]])     # one-hot, class b


def test_augment_roll_epochs_differ_and_match_training_alone(aug_file):
    import torch

    from pipeline.cli.preview import augmented_sample
    from pipeline.train.augment import augment_events

    ops = [{"roll": {"max_shift": 3}}]
    a = augmented_sample(aug_file, 5, ops, seed=7, epochs=4)
    orig = file_sample(aug_file, 5)
    assert a.batch == [5, 0, 1, 2]                                # the next samples, wrapping at the end
    shifts = []
    for e, row in enumerate(a.frames[1:], 1):
        found = [(sy, sx) for sy in range(-3, 4) for sx in range(-3, 4)
                 if np.array_equal(row, np.roll(orig, (sy, sx), axis=(-2, -1)))]
        assert found, f"epoch {e} is no roll of the original within 3 px"
        shifts.append(found[0])
        # what training gives the sample in any batch: here a batch of it alone
        alone, _ = augment_events(torch.from_numpy(orig[None]), torch.tensor([1]), ops, seed=7, epoch=e,
                                  indices=torch.tensor([5]), num_classes=4)
        assert np.array_equal(row, alone[0].numpy())
    assert len(set(shifts)) > 1, "every epoch drew the same shift"


def test_augment_cutmix_takes_from_a_partner_and_mixes_the_target(aug_file):
    from pipeline.cli.preview import augmented_sample
    from pipeline.cli.preview.augmented import row_labels

    a = augmented_sample(aug_file, 0, [{"cutmix": {"p": 1, "weight": "area"}}], seed=1, epochs=6)
    orig = file_sample(aug_file, 0)
    partners = [file_sample(aug_file, i) for i in a.batch[1:]]
    assert np.allclose(a.targets.sum(1), 1)
    for row, t in zip(a.frames[1:], a.targets):
        differs = np.any(row != orig, axis=(0, 1))                  # (H, W): pixels not the original's
        from_partner = [k for k, p in enumerate(partners) if np.array_equal(row[:, :, differs], p[:, :, differs])]
        assert from_partner, "mixed pixels come from one partner of the batch"
        k = from_partner[0]
        # weight area: the partner's share is its rectangle's area, the pixels that changed and at
        # most those the two samples hold alike (classes a, b, c, d: the target mixes two classes)
        share, same = 1 - t[0], np.all(orig == partners[k], axis=(0, 1)).mean()
        assert differs.mean() - 1e-6 <= share <= differs.mean() + same + 1e-6
        if share:
            assert t[a.batch[1 + k] % 4] == pytest.approx(share)
    labels = row_labels(a)
    assert labels[0] == "original" and [s.split("\n")[0] for s in labels[1:]] == [f"epoch {e}" for e in range(1, 7)]
    assert any("\n" in s and " a" in s for s in labels[1:])         # a shown share: "0.63 a, 0.37 b"


def test_augment_png_rows_are_the_mirrored_original(aug_file, tmp_path):
    from pipeline.cli.preview import preview_augmented

    params = params_file(tmp_path, [{"flip": {"p": 1}}])
    png, gif = preview_augmented(aug_file, tmp_path / "o", params=params, epochs=2, index=2, scale=4, title=False)
    assert png.name == "train_0002_c_augment.png" and gif.name == "train_0002_c_augment.gif"
    with Image.open(png) as im:
        a = np.asarray(im.convert("RGB"))
    cell, T, rows = 64, 4, 3
    assert a.shape == (rows * cell + (rows - 1) * SEPARATOR, T * cell + (T - 1) * SEPARATOR, 3)

    def cells(r):    # row r's cells, below their labels (the top 20 px), side by side
        y = r * (cell + SEPARATOR)
        return [a[y + 20:y + cell, t * (cell + SEPARATOR):t * (cell + SEPARATOR) + cell] for t in range(T)]
    original = cells(0)
    assert any(c.max() > 0 for c in original)
    for r in (1, 2):
        assert all(np.array_equal(c, o[:, ::-1]) for c, o in zip(cells(r), original))
    with Image.open(gif) as im:
        assert im.n_frames == rows and im.info.get("loop") == 0


def test_augment_refusals(aug_file, tmp_path):
    from pipeline.cli.preview import PreviewError, preview_augmented
    from pipeline.core.errors import ParamsError

    empty = params_file(tmp_path, [])
    with pytest.raises(PreviewError, match=rf"^train\.augment is empty in {empty}: nothing to show$"):
        preview_augmented(aug_file, tmp_path / "o", params=empty)
    events = tmp_path / "g.aedat"
    write_aedat3(events, gesture_events(200))
    with pytest.raises(PreviewError, match="g.aedat: not an HDF5 frames file; --augment"):
        preview_augmented(events, tmp_path / "o", params=params_file(tmp_path, [{"flip": {"p": 1}}]))
    with pytest.raises(ParamsError, match=r"train\.augment\[0\]: unknown op 'flop'"):
        preview_augmented(aug_file, tmp_path / "o", params=params_file(tmp_path, [{"flop": {}}]))
    with pytest.raises(PreviewError, match="--epochs 17"):
        preview_augmented(aug_file, tmp_path / "o", params=params_file(tmp_path, [{"flip": {"p": 1}}]), epochs=17)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def cli_inprocess(capsys, *args):
    """``(status, stdout, stderr)`` of ``python -m pipeline ARGS`` run in this process."""
    from pipeline.cli.main import main

    try:
        status = main([str(a) for a in args])
    except SystemExit as e:
        status = e.code
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_augment(aug_file, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)                                     # the default params.yaml: this folder's
    params_file(tmp_path, [{"roll": {"max_shift": 2}}, {"cutmix": {"p": 0.5}}])
    status, out, err = cli_inprocess(capsys, "preview", aug_file, "--index", 3, "--augment", "--epochs", 2,
                                     "--out", "o", "--scale", 2)
    assert status == 0, err
    png, gif = out.split()
    assert png == str(Path("o") / "train_0003_d_augment.png") and gif.endswith("_augment.gif")
    with Image.open(png) as im:
        assert im.height > 3 * 32                                     # 3 rows of 16 px scaled 2, and the title

    params_file(tmp_path, [])
    status, _, err = cli_inprocess(capsys, "preview", aug_file, "--augment")
    assert status == 1
    assert err == "python -m pipeline preview: error: train.augment is empty in params.yaml: nothing to show\n"
    events = tmp_path / "g.aedat"
    write_aedat3(events, gesture_events(200))
    status, _, err = cli_inprocess(capsys, "preview", events, "--augment")
    assert status == 1 and len(err.splitlines()) == 1 and "not an HDF5 frames file" in err
    for args in (["--epochs", 2], ["--params", "p.yaml"]):               # meaningless without --augment
        status, _, err = cli_inprocess(capsys, "preview", aug_file, *args)
        assert status == 1 and "only with --augment" in err
    status, _, err = cli_inprocess(capsys, "preview", aug_file, "--augment", "--epochs", 17)
    assert status == 2 and "--epochs" in err


def test_cli_augment_bad_op_is_one_line(aug_file, tmp_path):
    bad = params_file(tmp_path, [{"flip": {"p": 2}}])
    r = run_cli("preview", aug_file, "--augment", "--params", bad, "--out", tmp_path / "o")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    (line,) = r.stderr.splitlines()
    assert line.startswith("python -m pipeline preview: error: ") and "train.augment[0]" in line and "p" in line
    # the same line as the check stage's
    check = run_cli("check", bad)
    assert check.returncode == 1 and check.stderr.strip().split("error: ", 1)[1] == line.split("error: ", 1)[1]
