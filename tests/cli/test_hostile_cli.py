"""Hostile command lines: every ``python -m pipeline`` command run in a child process with an
output path that is not a file or folder of its own (a FIFO, a device node through a symbolic
link, a folder, ``''``), or with arguments whose output would not fit in memory, ends with one
line on stderr and exit status 1 (2 for a usage error), no traceback, and leaves the path as it
was (a FIFO stays a FIFO).

The checks hold each result against what the test itself set up (the FIFO it made, the folder
it filled, the layer counts of a network worked out by hand), not against the code's output.
Children that could allocate without bound on the code before these checks run under an
address-space limit, so they fail fast instead of filling the machine.

Each command's contract is held in a child process at least once; its other cases call
``pipeline.cli.main.main`` in this process (``run_here``: the same exit status, stdout and
stderr, a traceback or a warning landing on stderr as in a child), since every child pays for
its imports (torch: ~3 s, with export's and report's).
"""

import contextlib
import io
import json
import os
import resource
import stat
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from tinyframes import CLASSES, MODEL

from pipeline.core.events import make_events
from pipeline.core.store import FrameWriter
from pipeline.download.demo.aedat3_write import write_aedat3
from pipeline.model import build_model

ROOT = Path(__file__).resolve().parents[2]
#: an address-space limit for children that, unchecked, allocate what they are told (torch and
#: numba load in well under it)
LIMIT_AS = 4 * 2 ** 30


def run(*args, module="pipeline", cwd=None, limit_as=None, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))

    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limit if limit_as else None)


def run_here(*args, cwd=None) -> subprocess.CompletedProcess:
    """``run(*args)``'s result, from ``pipeline.cli.main.main`` called in this process (in ``cwd``,
    by default the project, as a child would be): the exit status as ``sys.exit(main())`` gives
    it, stdout and stderr, with what a child would add to stderr: an uncaught exception's
    traceback (status 1) and the warnings Python shows by default."""
    from pipeline.cli.main import main

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")            # Python's own default filters, as in a child
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=category)
        try:
            os.chdir(cwd or ROOT)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    status = main(argv)
                except SystemExit as e:
                    status = e.code
                    if isinstance(status, str):     # sys.exit("message"): printed, status 1
                        print(status, file=sys.stderr)
                        status = 1
                    status = status or 0
                except BaseException:
                    traceback.print_exc()
                    status = 1
        finally:
            os.chdir(here)
    stderr = err.getvalue() + "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line)
                                      for w in caught)
    return subprocess.CompletedProcess(["python", "-m", "pipeline", *argv], status, out.getvalue(), stderr)


def one_line(r, status: int, *words) -> str:
    """The one line ``r`` printed on stderr, once its exit status is ``status`` and it holds
    every one of ``words``."""
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    lines = r.stderr.strip().splitlines()
    assert r.returncode == status, (r.returncode, r.stderr[-3000:])
    assert len(lines) == 1, r.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def is_fifo(path: Path) -> bool:
    return stat.S_ISFIFO(os.lstat(path).st_mode)


# --- the things an output path can be ---------------------------------------------------------

def hostile(tmp_path: Path, kind: str) -> tuple[str, callable]:
    """An output path of ``kind`` under ``tmp_path``, and a check that it is still what it was."""
    if kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
        return str(path), lambda: is_fifo(path)
    if kind == "device":                       # /dev/full as root: a device node, here through a link
        path = tmp_path / "null"
        path.symlink_to(os.devnull)
        return str(path), lambda: path.is_symlink() and os.readlink(path) == os.devnull
    if kind == "link-to-fifo":
        os.mkfifo(tmp_path / "pipe")
        path = tmp_path / "link"
        path.symlink_to(tmp_path / "pipe")
        return str(path), lambda: path.is_symlink() and is_fifo(tmp_path / "pipe")
    if kind == "under-fifo":
        os.mkfifo(tmp_path / "pipe")
        return str(tmp_path / "pipe" / "out"), lambda: is_fifo(tmp_path / "pipe")
    if kind == "folder":
        path = tmp_path / "folder"
        path.mkdir()
        (path / "mine.txt").write_text("mine")
        return str(path), lambda: [p.name for p in path.iterdir()] == ["mine.txt"]
    if kind == "empty":
        return "", lambda: True
    raise ValueError(kind)


def shown(path: str) -> str:
    return path or "''"


# --- export --nir --out -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """A model file as the train stage writes it (the tiny network of tinyframes)."""
    path = tmp_path_factory.mktemp("model") / "model.pt"
    torch.manual_seed(0)
    model = build_model(MODEL, (4, 2, 16, 16), len(CLASSES))
    torch.save({"model": model.state_dict(), "epoch": 1,
                "config": {"model": MODEL.model_dump(), "classes": CLASSES, "frame_shape": [4, 2, 16, 16]}}, path)
    return path


@pytest.mark.parametrize("kind, words", [
    ("fifo", ["FIFO"]),                       # was replaced by a regular file, exit 0
    ("device", ["character device"]),         # /dev/full, run as root, was replaced too
    ("link-to-fifo", ["FIFO"]),
    ("under-fifo", ["FIFO", "not a folder"]),
    ("folder", ["a folder"]),                 # was "[Errno 21] Is a directory: '....tmp-...' -> ..."
    ("empty", ["empty"]),                     # was a ValueError traceback
])
def test_export_refuses_an_output_that_is_not_a_file(tmp_path, model_file, kind, words):
    out, unchanged = hostile(tmp_path, kind)
    r = (run if kind == "fifo" else run_here)("export", "--nir", "--model", model_file, "--out", out)
    one_line(r, 1, "export", f"--out {shown(out)}", *words)
    assert r.stdout == "" and unchanged()
    assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name]


def test_export_refuses_a_file_name_ending_in_a_separator(tmp_path, model_file):
    r = run_here("export", "--nir", "--model", model_file, "--out", f"{tmp_path / 'new'}{os.sep}")
    one_line(r, 1, "separator")
    assert list(tmp_path.iterdir()) == []       # was a file named new


def test_export_still_replaces_a_regular_file_and_a_link_to_one(tmp_path, model_file):
    (tmp_path / "old.nir").write_bytes(b"old")
    (tmp_path / "link.nir").symlink_to(tmp_path / "old.nir")
    for out in ("old.nir", "link.nir"):
        r = run_here("export", "--nir", "--model", model_file, "--out", tmp_path / out)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / out).is_file() and not (tmp_path / out).is_symlink()
        assert (tmp_path / out).read_bytes()[:4] == b"\x89HDF"           # NIR graphs are HDF5 files


# --- preview --out / --name -------------------------------------------------------------------

def write_h5(path: Path, n=2, T=4, H=8, W=8) -> Path:
    frames = np.zeros((n, T, 2, H, W), np.uint32)
    frames[:, :, 1, 2, 3] = 1
    with FrameWriter(path, n, (T, 2, H, W), dict(dataset="toy", split_by="time", classes=["a", "b"])) as w:
        for i in range(n):
            w.write(frames[i], label=i, recording="r.aedat", label_row=i, n_events=10)
    return path


def write_events(path: Path, n=2000, H=128, W=128) -> Path:
    t = np.arange(n, dtype=np.int64) * 50 + 1_000
    ang = np.linspace(0, 2 * np.pi, n)
    x = (W / 2 + 40 * np.cos(ang)).astype(np.uint16)
    y = (H / 2 + 40 * np.sin(ang)).astype(np.uint16)
    write_aedat3(path, make_events(t, x, y, (np.arange(n) % 2).astype(np.uint8)))
    return path


@pytest.mark.parametrize("kind, words", [
    ("fifo", ["FIFO"]),                       # was "[Errno 17] File exists"
    ("device", ["character device"]),
    ("under-fifo", ["FIFO", "not a folder"]),
    ("empty", ["empty"]),                     # was: the files written in the working folder
])
def test_preview_refuses_an_out_folder_that_is_not_one(tmp_path, kind, words):
    h5 = write_h5(tmp_path / "in" / "train.h5")
    out, unchanged = hostile(tmp_path, kind)
    r = (run if kind == "fifo" else run_here)("preview", h5, "--out", out, cwd=tmp_path)
    one_line(r, 1, "preview", f"--out {shown(out)}", *words)
    assert unchanged() and sorted(p.name for p in tmp_path.glob("*.png")) == []


@pytest.mark.parametrize("name", ["../x", "sub/x", "..", ".", ""])
def test_preview_name_must_be_a_plain_file_name(tmp_path, name):
    h5 = write_h5(tmp_path / "train.h5")
    r = (run if name == "../x" else run_here)("preview", h5, "--out", tmp_path / "out", "--name", name)
    one_line(r, 1, "--name", repr(name))
    assert not (tmp_path / "out").exists()      # was: written as .._x.png, sub_x.png, ...png, ..png, .png


@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize("suffix", [".png", ".gif"])
def test_preview_refuses_an_output_file_that_is_not_a_file(tmp_path, kind, suffix):
    h5 = write_h5(tmp_path / "train.h5")
    out = tmp_path / "out"
    out.mkdir()
    target, unchanged = hostile(out, kind)
    os.rename(target, out / f"x{suffix}")
    r = (run if (kind, suffix) == ("fifo", ".png") else run_here)("preview", h5, "--out", out, "--name", "x")
    one_line(r, 1, str(out / f"x{suffix}"), "character device" if kind == "device" else "FIFO")
    assert sorted(p.name for p in out.iterdir()) == [f"x{suffix}"]      # nothing partial: no PNG without its GIF
    assert is_fifo(out / f"x{suffix}") if kind == "fifo" else os.readlink(out / f"x{suffix}") == os.devnull


# --- preview bounds ----------------------------------------------------------------------------

@pytest.mark.parametrize("fps", ["0", "-1", "nan", "inf", "1e-9", "1000", "x"])
def test_preview_fps_is_a_usage_error_in_one_line(tmp_path, fps):
    h5 = write_h5(tmp_path / "train.h5")
    r = (run if fps == "0" else run_here)("preview", h5, "--out", tmp_path / "out", "--fps", fps)
    one_line(r, 2, "preview", "--fps", fps)
    assert not (tmp_path / "out").exists()


def test_preview_fps_in_range_still_sets_the_gif_delay(tmp_path):
    from PIL import Image

    h5 = write_h5(tmp_path / "train.h5")
    for fps, ms in (("50", 20), ("0.5", 2000)):            # a GIF delay is 1000 / fps ms
        r = (run if fps == "50" else run_here)("preview", h5, "--out", tmp_path / "out", "--fps", fps,
                                               "--name", f"f{fps}")
        assert r.returncode == 0, r.stderr
        with Image.open(tmp_path / "out" / f"f{fps}.gif") as im:
            assert im.info["duration"] == ms


@pytest.mark.parametrize("source, args, words", [
    ("h5", ["--scale", "20000"], ["--scale 20000", "65535"]),                   # 8 x 8 frames as 160000 px
    ("h5", ["--scale", "300"], ["--scale 300", "16,777,216"]),                  # 4 frames of 2400 x 2400
    ("events", ["--sensor", "100000", "100000"], ["100000 x 100000", "65535"]),
    ("events", ["--sensor", "20000", "20000"], ["20000 x 20000", "16,777,216"]),
    ("events", ["--T", "1000000"], ["--T 1000000", "1024"]),
])
def test_preview_bounds_what_it_draws_before_allocating(tmp_path, source, args, words):
    """Each was an allocation error (a traceback; 17.9 TiB for --scale 20000), or, where the
    machine overcommits, a run until memory ran out; now one line saying the limit."""
    path = write_h5(tmp_path / "train.h5") if source == "h5" else write_events(tmp_path / "g.aedat")
    t0 = time.monotonic()
    r = run("preview", path, "--out", tmp_path / "out", *args, limit_as=LIMIT_AS, timeout=120)
    one_line(r, 1, "preview", *words)
    assert time.monotonic() - t0 < 60 and not (tmp_path / "out").exists()


# --- report --out -----------------------------------------------------------------------------

LOG = "epoch,loss,accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,seconds,tau_1\n" \
      "1,0.5,0.6,0.2,0.5,0.3,0.5,0.001,1.5,1.9\n2,0.4,0.7,0.2,0.6,0.3,0.6,0.001,1.5,1.8\n"
COSTS = {"firing_rate": {"spiking_1": 0.12, "spiking_2": 0.05},
         "accumulates": {"conv_1": 9000.0, "fc_1": 300.0}, "macs": {},
         "ann_macs": {"conv_1": 294912, "fc_1": 8192},
         "synaptic_ops_per_sample": 9300.0, "macs_per_sample": 0.0, "ann_macs_per_sample": 303104.0,
         "energy_uJ": 0.00837, "ann_energy_uJ": 1.394, "ann_to_snn_energy": 166.5}


def workspace(folder: Path, costs: dict | None = None, log: str = LOG) -> Path:
    """A finished (and, with ``costs``, evaluated) run, as the train and evaluate stages leave it."""
    (folder / "results").mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump({"dataset": "demo", "frames": {"T": 16}}), encoding="utf-8")
    (folder / "results" / "train_log.csv").write_text(log, encoding="utf-8")
    (folder / "results" / "train.json").write_text(json.dumps({"protocol": "B", "epochs": 2}), encoding="utf-8")
    if costs is not None:
        (folder / "results" / "evaluation.json").write_text(
            json.dumps({"test_accuracy": 0.6, "test_samples": 10, "costs": costs}), encoding="utf-8")
    return folder


def report(root: Path, out, *more, cwd=None, child=False):
    """``python -m pipeline report``, in this process (``run_here``) or, with ``child``, in a child."""
    if child:
        return run("report", "--root", root, "--out", out, "--no-experiments", *more, cwd=cwd)
    return run_here("report", "--root", root, "--out", out, "--no-experiments", *more, cwd=cwd)


@pytest.mark.parametrize("kind, words", [
    ("fifo", ["FIFO"]),                       # was "exists and is not a folder", not saying what
    ("device", ["character device"]),
    ("under-fifo", ["FIFO", "not a folder"]),
    ("empty", ["empty"]),                     # was '.', the working folder
])
def test_report_refuses_an_out_that_is_not_a_folder(tmp_path, kind, words):
    ws = workspace(tmp_path / "ws")
    out, unchanged = hostile(tmp_path, kind)
    r = report(ws, out, cwd=tmp_path, child=kind == "fifo")
    one_line(r, 1, "report", f"--out {shown(out)}", *words)
    assert unchanged()


def ours(folder: Path) -> Path:
    """A report folder as an earlier run of report left it."""
    folder.mkdir()
    (folder / "report.md").write_text("# Our runs beside Fang et al., ICCV 2021 (PLIF)\n\nold\n", encoding="utf-8")
    (folder / "accuracy_demo.png").write_bytes(b"old")
    return folder


def test_report_replaces_only_a_report_folder_it_wrote(tmp_path):
    """The folder is replaced whole: a folder with a report.md beside other files, or a
    report.md that is not ours, was deleted with everything in it."""
    ws = workspace(tmp_path / "ws")
    mixed = ours(tmp_path / "mixed")
    (mixed / "thesis.tex").write_text("mine")
    other = tmp_path / "notes"
    other.mkdir()
    (other / "report.md").write_text("# My notes\n")
    nested = ours(tmp_path / "nested")
    (nested / "sub").mkdir()
    for folder, words in ((mixed, ["thesis.tex"]), (other, ["report.md", "does not start with"]),
                          (nested, ["sub"])):
        before = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
        r = report(ws, folder)
        one_line(r, 1, f"--out {folder}", "not a report folder", "not replaced", *words)
        assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == before
    old = ours(tmp_path / "old")                   # a report folder of ours is replaced, whole
    r = report(ws, old)
    assert r.returncode == 0, r.stderr
    assert (old / "report.md").read_text(encoding="utf-8").splitlines()[2] != "old"
    assert (old / "accuracy_demo.png").read_bytes()[:4] == b"\x89PNG"


def test_report_refuses_the_project_a_parent_and_a_link(tmp_path):
    ws = workspace(tmp_path / "ws")
    link = tmp_path / "link"
    link.symlink_to(ours(tmp_path / "rep"))
    for out, words in ((ws, ["project folder"]), (tmp_path, ["project folder"]), ("/", ["/"]),
                       (link, ["symbolic link"])):        # the link was an ENOTDIR after the work
        r = report(ws, out)
        one_line(r, 1, f"--out {out}", *words)
    assert link.is_symlink() and (tmp_path / "rep" / "accuracy_demo.png").read_bytes() == b"old"


# --- report: hostile results ------------------------------------------------------------------

def test_report_a_401_digit_energy_is_one_line(tmp_path):
    """Valid JSON, but no float holds it: it was an OverflowError traceback."""
    ws = workspace(tmp_path / "ws", COSTS)
    record = ws / "results" / "evaluation.json"
    record.write_text(record.read_text().replace('"energy_uJ": 0.00837', '"energy_uJ": ' + "9" * 401))
    r = report(ws, tmp_path / "out")
    one_line(r, 1, "results/evaluation.json", "costs.energy_uJ")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("digits", [400, 5000])
def test_report_a_huge_tau_or_count_is_one_line(tmp_path, digits):
    ws = workspace(tmp_path / "ws")
    (ws / "results" / "train.json").write_text('{"protocol": "B", "epochs": 2, "tau": [' + "7" * digits + "]}")
    r = report(ws, tmp_path / "out")
    one_line(r, 1, "results/train.json")


def test_report_draws_names_as_plain_text(tmp_path):
    """A layer named $x^$ was a matplotlib ParseSyntaxException (mathtext) at savefig."""
    costs = json.loads(json.dumps(COSTS))
    costs["firing_rate"]["$x^$"] = 0.3
    costs["ann_macs"]["$\\frac{"] = 10
    ws = workspace(tmp_path / "ws", costs)
    params = yaml.safe_load((ws / "params.yaml").read_text())
    (ws / "params.yaml").write_text(yaml.safe_dump({**params, "dataset": "$a^$"}), encoding="utf-8")
    r = report(ws, tmp_path / "out")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert (tmp_path / "out" / "costs_workspace.png").read_bytes()[:4] == b"\x89PNG"


def test_report_names_are_drawn_as_written(tmp_path, drawn):
    """In the figure, the layer's tick label reads $x^$, and drawing it raises nothing."""
    from pipeline.cli.report import make_report

    costs = json.loads(json.dumps(COSTS))
    costs["firing_rate"]["$x^$"] = 0.3
    ws = workspace(tmp_path / "ws", costs)
    make_report(ws, tmp_path / "out", experiments=False, note=lambda line: None)
    fig = drawn["costs_workspace.png"]
    fig.canvas.draw()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["spiking_1", "spiking_2", "$x^$"]


def layers(n: int) -> dict:
    return {**COSTS, "firing_rate": {f"spiking_{i}": 0.1 for i in range(1, n + 1)},
            "accumulates": {f"conv_{i}": 5.0 for i in range(1, n + 1)},
            "ann_macs": {f"conv_{i}": 10 for i in range(1, n + 1)}}


def test_report_caps_the_layers_it_draws(tmp_path, drawn):
    """10,000 layers (all a results file may list) took 74 to 122 s to draw; the figures draw
    the first 64 and say so, in the figure and in the report's notes."""
    ws = workspace(tmp_path / "ws", layers(10_000))
    t0 = time.monotonic()
    r = report(ws, tmp_path / "out")
    took = time.monotonic() - t0
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert took < 30, took
    notes = [line for line in r.stderr.splitlines() if line.startswith("note:")]
    assert {"note: workspace: costs figure: the first 64 of 10,000 spiking layers drawn",
            "note: workspace: costs figure: the first 64 of 10,000 weight layers drawn"} <= set(notes)
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "the first 64 of 10,000 spiking layers drawn" in md

    from pipeline.cli.report import make_report

    make_report(ws, tmp_path / "out2", experiments=False, note=lambda line: None)
    left, right = drawn["costs_workspace.png"].axes[:2]
    assert [t.get_text() for t in left.get_xticklabels()] == [f"spiking_{i}" for i in range(1, 65)]
    assert len(right.get_xticklabels()) == 64 and right.get_xticklabels()[-1].get_text() == "conv_64"
    assert "64 of 10,000" in left.get_title() and "64 of 10,000" in right.get_title()


def test_report_caps_the_tau_layers_it_draws(tmp_path, drawn):
    head, rows = LOG.splitlines()[0].rsplit(",", 1)[0], [r.rsplit(",", 1)[0] for r in LOG.splitlines()[1:]]
    n = 10_000
    log = "\n".join([head + "".join(f",tau_{i}" for i in range(1, n + 1))]
                    + [r + ",1.9" * n for r in rows]) + "\n"
    ws = workspace(tmp_path / "ws", log=log)
    from pipeline.cli.report import make_report

    notes = []
    t0 = time.monotonic()
    make_report(ws, tmp_path / "out", experiments=False, note=notes.append)
    assert time.monotonic() - t0 < 30
    fig = drawn["tau_workspace.png"]
    assert len(fig.axes[0].get_lines()) == 64
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [f"spiking_{i}" for i in range(1, 65)]
    assert "the first 64 of 10,000 spiking layers drawn" in fig.get_suptitle()
    assert notes[-1] == "workspace: τ figure: the first 64 of 10,000 spiking layers drawn"


# --- summary ----------------------------------------------------------------------------------

def test_summary_of_an_8_gib_network_allocates_nothing(tmp_path):
    """Params that pass check but describe 2^31 weights in one Linear layer (8 GiB of float32):
    summary built the model (an allocation error under this limit; 8 GiB of memory without one)."""
    params = {"dataset": "demo", "frames": {"T": 16, "downsample": 1},
              "model": {"channels": 128, "blocks": 3, "convs": 1, "hidden": 65536, "votes": 10,
                        "neuron": "plif", "pooling": "max"}}
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    assert run_here("check", path).returncode == 0
    t0 = time.monotonic()
    r = run("summary", path, limit_as=LIMIT_AS, timeout=60)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert time.monotonic() - t0 < 30
    # by hand: the demo sensor, 128 x 128, 8 classes; three blocks of Conv3x3 (no bias) + BN (2 per
    # channel), PLIF (1), max pool; 128 x 16 x 16 = 32768 features into 65536, then 8 x 10 votes
    conv_1 = 2 * 128 * 9 + 2 * 128
    conv_k = 128 * 128 * 9 + 2 * 128
    fc_1 = 32768 * 65536
    fc_2 = 65536 * 80
    lines = r.stdout.splitlines()
    assert lines[-1] == f"parameters: {conv_1 + 2 * conv_k + 5 + fc_1 + fc_2}"
    row = next(line for line in lines if " fc_1 " in line)
    assert "Linear(32768->65536)" in row and row.split()[-1] == f"{fc_1:,}" == "2,147,483,648"


def test_summary_of_dev_zero_is_one_line():
    """An endless params file was a MemoryError traceback (after reading until memory ran out).
    The bounded, regular-file-only reader is pipeline/params.py's and yamlfile.py's."""
    r = run("summary", "/dev/zero", limit_as=LIMIT_AS, timeout=60)
    one_line(r, 1, "/dev/zero")
